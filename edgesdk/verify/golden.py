"""Golden vectors: raw pixels, and what Python computed from them, for the JVM and the phone.

``edgesdk package --target android`` writes N cases (default 16) into the app's
``androidTest`` assets, ``app/src/androidTest/assets/golden/``:

``golden.bin`` (little-endian; the machine-readable set, read by the generated Kotlin)::

    header      "EDGG" | u32 version (1) | u32 case count | u32 number of classes
    case table  per case, 76 bytes:
                u32 width | u32 height | u32 channels (3 = RGB, 1 = gray) | i32 expected top-1 |
                f32 tolerance | u32 pixels offset | u32 pixels length | u32 output offset |
                u32 output length | u32 scores offset | u32 scores length |
                32 bytes SHA-256 of the input tensor Python fed the interpreter
    data        per case: raw pixels (uint8, row-major, H x W x channels), the raw output tensor
                (float32 or int8/uint8), the dequantized scores (float32); each block starts on a
                4-byte boundary. For a float32 output the scores ARE the raw output: both entries
                point at the same bytes.

``golden.json`` is the same index for people and for Python, plus what the binary does not
need: the model's SHA-256, tensor types, mean/std, where each sample came from, the top-1
margin and the tolerance basis.

What is stored and why:

- **Raw pixels at their own size, as uint8**, not the float tensor: the device must run the
  resize itself. Samples come from ``--eval-data``, else the calibration data, else seeded
  synthetic images; every sample is shrunk (bilinear, same contract) to at most
  :data:`MAX_PIXELS` pixels so 16 cases of a 224 x 224 x 3 model stay well under 256 KB, and
  every other case whose size equals the model input is given another, non-square size, so
  both the resize and the same-size path run. Gray models get RGB pixels where the data has
  them, so the device also runs the gray formula.
- **The input tensor only as a SHA-256** (a float32 224 x 224 x 3 tensor is 588 KB per case):
  Python recomputes it from the pixels; the JVM and the device hash theirs and compare bits.
- **The reference outputs** from the LiteRT interpreter on the host (1 thread): the raw output
  tensor and the dequantized scores, the expected top-1 and a per-case tolerance that follows
  from the output type (see :func:`case_tolerance`).

A case passes when ``max |scores - reference| <= tolerance`` and the top-1 class equals the
expected one, or is tied with it within the tolerance in the reference (near-ties of a
1000-class softmax must not fail on a device whose float kernels round differently).

Writing is deterministic: the same model and samples give byte-identical files.
"""

from __future__ import annotations

from ..errors import DataError as DataError
from ..errors import VerificationError as VerificationError
from .golden_build import build_golden as build_golden
from .golden_build import case_tolerance as case_tolerance
from .golden_build import generated_samples as generated_samples
from .golden_build import model_pixels as model_pixels
from .golden_build import samples_from_data as samples_from_data
from .golden_build import stored_size as stored_size
from .golden_build import tolerance_basis as tolerance_basis
from .golden_build import top1_of as top1_of
from .golden_check import CaseCheck as CaseCheck
from .golden_check import GoldenVerification as GoldenVerification
from .golden_check import compare_case as compare_case
from .golden_check import verify_golden as verify_golden
from .golden_format import ANDROID_ASSET_DIR as ANDROID_ASSET_DIR
from .golden_format import DATA_NAME as DATA_NAME
from .golden_format import DEFAULT_CASES as DEFAULT_CASES
from .golden_format import FORMAT as FORMAT
from .golden_format import INDEX_NAME as INDEX_NAME
from .golden_format import MAGIC as MAGIC
from .golden_format import MAX_PIXELS as MAX_PIXELS
from .golden_format import VERSION as VERSION
from .golden_format import GoldenCase as GoldenCase
from .golden_format import GoldenSet as GoldenSet
from .golden_format import RawSample as RawSample
from .golden_format import TensorSpec as TensorSpec
from .golden_format import encode as encode
from .golden_format import golden_bytes as golden_bytes
from .golden_format import read_golden as read_golden
from .golden_format import write_golden as write_golden

__all__ = [
    "TensorSpec",
    "RawSample",
    "GoldenCase",
    "GoldenSet",
    "CaseCheck",
    "GoldenVerification",
    "build_golden",
    "samples_from_data",
    "generated_samples",
    "stored_size",
    "model_pixels",
    "case_tolerance",
    "encode",
    "write_golden",
    "read_golden",
    "golden_bytes",
    "compare_case",
    "verify_golden",
]
