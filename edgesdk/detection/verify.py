"""``edgesdk verify`` for an object detector's package folder (host, tier 1).

- **Golden detections**: every case stored in the app (``golden/golden.bin``, EDGD) is re-run
  from its raw pixels through the Python preprocessing and LiteRT, on the model the app ships
  (``android/app/src/main/assets/model.tflite``), and compared with the stored detections by
  the on-device test's own rule (:func:`.golden.compare`: same class, IoU >= the stored minimum,
  score within the stored tolerance, no missing and no unexpected detection). The input tensor's
  SHA-256 must equal the stored one.
- **Host parity**: the Keras model (``--reference``, else the one recorded in report.json) and
  the ``.tflite`` on the same images, measured as at package time (Keras detections reproduced
  with the same class and IoU >= 0.9, of those scoring >= 0.3, the ones an app shows; mAP when
  ``--data`` is a detection data set). Images:
  ``--data`` (COCO or VOC), else the golden pixels, else drawn shapes (as ``package``).

For tier ``arm64`` (:mod:`edgesdk.verify.arm64`), :func:`golden_detection_inputs` gives the
golden cases' input tensors, made here exactly as the host check makes them, and the judge of
the outputs aarch64 LiteRT computes from them: the four outputs mapped by the op's ports, then
decoded and compared by the same rule (:class:`DetectionCaseCheck` per case).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, ModelLoadError
from . import golden as dg
from .runner import DetectorRunner

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..tasks.base import GoldenInputs, GoldenJudgement, TaskChecks

#: Share of the Keras detections the ``.tflite`` must reproduce (as ``package`` warns below it).
MIN_AGREEMENT = 0.9


@dataclass(frozen=True)
class DetectionGoldenVerification:
    """The golden detections re-run on the host."""

    passed: bool
    model: str
    cases: tuple[dict[str, Any], ...]
    min_iou: float
    score_tolerance: float
    score_threshold: float
    problems: tuple[str, ...] = ()
    tier: str = "host"

    def describe(self) -> list[str]:
        ok = sum(1 for c in self.cases if c["passed"])
        lines = [
            f"Golden detections on the host (tier 1) {'passed' if self.passed else 'FAILED'}: "
            f"{ok}/{len(self.cases)} cases (same class, IoU >= {self.min_iou:.3g}, score within "
            f"{self.score_tolerance:g})"
        ]
        for c in self.cases:
            if not c["passed"]:
                lines.append(
                    f"  case {c['index']} ({c['width']}x{c['height']}): {c['expected']} expected, "
                    f"{c['got']} detected, {c['missing']} missing, {c['unexpected']} unexpected, "
                    f"input tensor {'same' if c['input_match'] else 'differs'}"
                )
        lines += [f"  {p}" for p in self.problems]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "status": "passed" if self.passed else "failed",
            "passed": self.passed,
            "task": "object_detector",
            "model": self.model,
            "rule": {
                "min_iou": round(self.min_iou, 6),
                "score_tolerance": self.score_tolerance,
                "score_threshold": self.score_threshold,
                "same_class": True,
            },
            "cases": list(self.cases),
            "failing_cases": [c["index"] for c in self.cases if not c["passed"]],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class DetectionParity:
    """Keras vs ``.tflite`` detections on the host, in the terms ``package`` records."""

    passed: bool
    reference: str
    source: str
    agreement: dict[str, Any]
    map: dict[str, Any] = field(default_factory=dict)
    recorded: dict[str, Any] = field(default_factory=dict)
    tier: str = "host"

    def describe(self) -> list[str]:
        a = self.agreement
        line = (
            f"Host parity (tier 1) {'passed' if self.passed else 'FAILED'}: "
            f"{a['matched']}/{a['reference_detections']} Keras detections scoring >= "
            f"{a.get('min_reference_score', 0.0):g} reproduced by the .tflite (same class, IoU "
            f">= 0.9; at least {MIN_AGREEMENT:.0%} needed), max score "
            f"diff {a['max_score_diff']:.2g}, on {a['images']} {self.source.replace('_', ' ')}"
        )
        if self.map:
            t, k = self.map["tflite"], self.map["keras"]
            line += (
                f"; mAP@0.5 {t['map50'] * 100:.1f} (Keras {k['map50'] * 100:.1f}), "
                f"mAP@[.5:.95] {t['map'] * 100:.1f} (Keras {k['map'] * 100:.1f})"
            )
        return [line]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "status": "passed" if self.passed else "failed",
            "passed": self.passed,
            "task": "object_detector",
            "reference": self.reference,
            "source": self.source,
            "box_agreement": self.agreement,
            "min_agreement": MIN_AGREEMENT,
            "map": self.map,
            "recorded_at_package": self.recorded,
        }


def _normalization(report: Mapping[str, Any]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = report.get("normalization") or {}
    mean, std = n.get("mean"), n.get("std")
    if not isinstance(mean, list) or not isinstance(std, list):
        raise ConfigError(
            "report.json does not record the detector's normalization",
            received=f"normalization: {n!r}",
            fix="Re-package the model with edgesdk package",
        )
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _app_model(out: Path) -> tuple[Path, bytes, list[str]]:
    """The model the app ships (what the device runs), and a problem when it is not
    ``model.tflite``."""
    top = out / "model.tflite"
    asset = out / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    path = asset if asset.is_file() else top
    if not path.is_file():
        raise ModelLoadError(
            f"no TFLite model at {top}",
            received=str(out),
            fix="Pass the folder written by 'edgesdk package'",
        )
    data = path.read_bytes()
    problems = []
    if path == asset and top.is_file() and top.read_bytes() != data:
        problems.append(
            f"the app's model {asset} differs from {top} "
            f"(SHA-256 {hashlib.sha256(data).hexdigest()[:12]}…)"
        )
    return path, data, problems


def verify_golden_detections(
    golden_dir: Path, model: bytes, model_name: str, mean: Any, std: Any
) -> DetectionGoldenVerification:
    try:
        golden = dg.read(golden_dir)
    except (ValueError, OSError) as exc:  # struct.error is a ValueError
        from ..errors import VerificationError

        raise VerificationError(
            f"the golden detections in {golden_dir} cannot be read",
            received=f"{type(exc).__name__}: {exc}",
            fix="Re-package with --target android --golden-cases N",
        ) from None
    runner = DetectorRunner(model, mean, std)
    cases = []
    for i, c in enumerate(golden.cases):
        pixels = c.pixels.astype(np.float32)
        sha = hashlib.sha256(runner.model_input(pixels).tobytes()).digest()
        boxes, classes, scores, count = runner.raw_outputs(pixels)
        raw = np.concatenate(
            [boxes.reshape(-1), classes.reshape(-1), scores.reshape(-1), [np.float32(count)]]
        ).astype(np.float32)
        got = dg.decode(raw, golden.rows, c.width, c.height, golden.max_results,
                        golden.score_threshold)  # fmt: skip
        res = dg.compare(
            c.expected, got, golden.score_threshold, golden.min_iou, golden.score_tolerance
        )
        input_match = sha == c.input_sha256
        cases.append(
            {
                "index": i,
                "width": c.width,
                "height": c.height,
                **res,
                "input_match": input_match,
                "passed": bool(res["passed"] and input_match),
            }
        )
    problems = [] if cases else [f"{golden_dir} holds no golden cases"]
    return DetectionGoldenVerification(
        passed=bool(cases) and all(c["passed"] for c in cases),
        model=model_name,
        cases=tuple(cases),
        min_iou=golden.min_iou,
        score_tolerance=golden.score_tolerance,
        score_threshold=golden.score_threshold,
        problems=tuple(problems),
    )


def _images(
    data: Path | None, golden_dir: Path, size: tuple[int, int], samples: int | None
) -> tuple[np.ndarray, Any, str]:
    from ..preprocess import resize_bilinear
    from .data import DetectionData, is_detection_data, load_detection_data
    from .package import EVAL_IMAGES

    limit = samples or EVAL_IMAGES
    if data is not None:
        if not is_detection_data(data):
            raise ConfigError(
                f"the object detector's --data {data} is not a detection data set",
                received=str(data),
                supported="a COCO folder (labels.json + images/) or a Pascal VOC folder "
                "(Annotations/ + JPEGImages/)",
                fix="Pass annotated images with boxes, or leave --data out to use the golden "
                "images",
            )
        gt = load_detection_data(data)
        sub = DetectionData(gt.samples[:limit], gt.class_names, "")
        images, _, _ = sub.resized(size[0])
        return np.asarray(images, np.float32), sub, "data_images"
    if not (golden_dir / "golden.bin").is_file():  # as package does without data
        from .data import draw_shapes

        return draw_shapes(8, size=size[0], seed=123).resized(size[0])[0], None, "generated_images"
    golden = dg.read(golden_dir)
    images = np.stack(
        [resize_bilinear(c.pixels.astype(np.float32), *size) for c in golden.cases[:limit]]
    )
    return images, None, "golden_images"


def verify_parity(
    reference: Path,
    model: bytes,
    report: Mapping[str, Any],
    images: np.ndarray,
    gt: Any,
    source: str,
    trust_model: bool,
) -> DetectionParity:
    from .._io import stdout_to_stderr
    from ..models import load_model
    from .metrics import mean_average_precision
    from .model import read_detector_info
    from .package import agreement, keras_detections
    from .postprocess import PostProcessOptions

    loaded = load_model(reference, trust_model=trust_model)
    info = read_detector_info(loaded.path)
    if info is None:
        raise ConfigError(
            "the Keras detector's anchors are unknown, so its detections cannot be computed",
            received=f"{reference} carries no anchors",
            supported="detectors trained by 'edgesdk train --task object_detector'",
            fix="Run verify without --reference (the golden detections are still checked)",
        )
    pp = (report.get("detection") or {}).get("postprocess") or {}
    opts = PostProcessOptions(
        max_detections=int(pp.get("max_detections", 10)),
        score_threshold=float(pp.get("score_threshold", 0.05)),
        iou_threshold=float(pp.get("iou_threshold", 0.5)),
    )
    mean, std = _normalization(report)
    with stdout_to_stderr():
        ref = keras_detections(loaded, images, info["anchors"], mean, std, opts)
    runner = DetectorRunner(model, mean, std)
    dets = [runner.detect(im) for im in images]
    agree = agreement(ref, dets)
    maps: dict[str, Any] = {}
    if gt is not None:
        boxes = [s.boxes for s in gt.samples]
        classes = [s.classes for s in gt.samples]
        n = len(gt.class_names)
        t = mean_average_precision(dets, boxes, classes, n)
        k = mean_average_precision(ref, boxes, classes, n)
        maps = {
            "tflite": {key: round(v, 4) for key, v in t.items()},
            "keras": {key: round(v, 4) for key, v in k.items()},
        }
    recorded = {
        k: v for k, v in (report.get("parity") or {}).items() if k in ("fraction", "matched",
                                                                        "reference_detections",
                                                                        "max_score_diff", "source")
    }  # fmt: skip
    return DetectionParity(
        passed=agree["fraction"] >= MIN_AGREEMENT,
        reference=str(reference),
        source=source,
        agreement=agree,
        map=maps,
        recorded=recorded,
    )


def verify_detector_output(
    out: Path,
    report: Mapping[str, Any],
    *,
    reference: str | Path | None,
    data: str | Path | None,
    samples: int | None,
    trust_model: bool,
    step: Callable[[str], None],
    warn: Callable[[str], None],
) -> TaskChecks:
    from ..tasks.base import TaskChecks
    from ..verify.golden_format import ANDROID_ASSET_DIR

    if reference is not None and not Path(reference).exists():
        raise ModelLoadError(
            f"the reference model {reference} does not exist",
            received=str(reference),
            fix="Pass the Keras detector the folder was packaged from",
        )
    golden_dir = out / "android" / ANDROID_ASSET_DIR
    has_golden = (golden_dir / "golden.bin").is_file()
    mean, std = _normalization(report)
    path, model, problems = _app_model(out)

    golden = golden_skipped = None
    if has_golden:
        step("Re-running the golden detections on the host (tier 1)")
        golden = verify_golden_detections(golden_dir, model, str(path), mean, std)
        if problems:
            golden = DetectionGoldenVerification(
                **{**golden.__dict__, "passed": False, "problems": (*golden.problems, *problems)}
            )
    else:
        golden_skipped = (
            "no golden detections in this folder (package with --target android and "
            "--golden-cases N)"
        )

    host = host_skipped = None
    recorded = (report.get("model") or {}).get("source")
    ref = Path(reference) if reference is not None else Path(recorded) if recorded else None
    if ref is None or not ref.exists():
        host_skipped = (
            "the Keras model is not available"
            + (f" (recorded: {recorded})" if recorded else "")
            + "; pass --reference MODEL to compare with it"
        )
        warn(f"host parity skipped: {host_skipped}")
    else:
        step("Verifying Keras vs TFLite detections on the host (tier 1)")
        size = _input_size(model)
        images, gt, source = _images(
            None if data is None else Path(data), golden_dir, size, samples
        )
        host = verify_parity(ref, model, report, images, gt, source, trust_model)
    return TaskChecks(host, host_skipped, golden, golden_skipped)


def _input_size(model: bytes) -> tuple[int, int]:
    r = DetectorRunner(model)
    return r.height, r.width


def recheck_device_case(
    reported: Mapping[str, Any],
    case: dg.GoldenCase,
    golden: dg.DetectionGolden,
    *,
    both_entry_points: bool = False,
) -> bool:
    """The host's verdict on one case line a Kotlin runner reported (``GoldenResult.toJson``:
    expected, got, missing, unexpected, min_iou, max_score_diff, input_match), never trusting
    its bare ``passed``: the stored detection count, none missing, none unexpected, the matched
    pairs within the stored IoU minimum and score tolerance, and the runner's input tensor not
    different from Python's.

    With ``both_entry_points`` (what ``GoldenSuite`` reports on a device and in tier
    android_host), the case line must also carry the check of ``detect(Bitmap)``
    (``bitmap_missing``, ``bitmap_unexpected``, ``bitmap_min_iou``, ``bitmap_max_score_diff``),
    which gets the same rule, and ``bitmap_agrees`` (the runner's comparison of the two lists of
    detections) must be true."""
    if not _rule_holds(reported, "", case, golden):
        return False
    if reported.get("input_match") is False:
        return False
    if not both_entry_points:
        return True
    return reported.get("bitmap_agrees") is True and _rule_holds(reported, "bitmap_", case, golden)


def _rule_holds(
    reported: Mapping[str, Any], prefix: str, case: dg.GoldenCase, golden: dg.DetectionGolden
) -> bool:
    try:
        expected = int(reported["expected"])
        missing = int(reported[prefix + "missing"])
        unexpected = int(reported[prefix + "unexpected"])
        worst_iou = reported.get(prefix + "min_iou")
        worst_diff = reported.get(prefix + "max_score_diff")
    except (KeyError, TypeError, ValueError):
        return False
    if expected != len(case.expected) or missing != 0 or unexpected != 0:
        return False
    if worst_iou is None or worst_diff is None:  # NaN on the device is reported as null
        return False
    try:
        return bool(
            np.float32(worst_iou) >= np.float32(golden.min_iou)
            and np.float32(worst_diff) <= np.float32(golden.score_tolerance)
        )
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class DetectionCaseCheck:
    """One golden detection case judged on a tier other than the host's (tier ``arm64``) by
    the host check's rule (:func:`.golden.compare`); ``min_iou`` and ``max_score_diff`` are
    over the matched expected detections (IoU 1 and 0 when none matched)."""

    index: int
    width: int
    height: int
    expected: int
    got: int
    missing: int
    unexpected: int
    min_iou: float
    max_score_diff: float
    input_match: bool
    passed: bool
    #: the largest |difference| between the raw outputs (locations, classes, scores, count)
    #: and the host's stored ones; information only (None when not finite)
    raw_max_abs_diff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def golden_detection_inputs(out: Path, model: bytes) -> GoldenInputs:
    """The golden detections of the package folder ``out`` as input tensors of ``model`` (the
    app's), prepared as :func:`verify_golden_detections` prepares them, with the judge of the
    raw outputs another runtime computes (:class:`edgesdk.tasks.base.GoldenInputs`): the four
    outputs are mapped by the post-processing op's ports (:func:`.export.output_order`), never
    by index, then decoded and compared exactly as on the host."""
    import json

    from ..errors import VerificationError
    from ..tasks.base import GoldenInputs, GoldenJudgement
    from ..verify.golden_format import ANDROID_ASSET_DIR
    from .export import PORT_NAMES, output_order

    folder = out / "android" / ANDROID_ASSET_DIR
    if not (folder / "golden.bin").is_file():
        raise ConfigError(
            f"this tier runs the golden detections, and {out} has none",
            received=str(folder),
            fix="Package with '--target android' and '--golden-cases N'",
        )
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {out / 'report.json'} (the detector's normalization)",
            received=str(exc),
            fix="Pass the folder written by 'edgesdk package'",
        ) from None
    mean, std = _normalization(report)
    try:
        golden = dg.read(folder)
    except (ValueError, OSError) as exc:
        raise VerificationError(
            f"the golden detections in {folder} cannot be read",
            received=f"{type(exc).__name__}: {exc}",
            fix="Re-package with --target android --golden-cases N",
        ) from None
    runner = DetectorRunner(model, mean, std)
    order = output_order(model)
    names = tuple(str(o["name"]) for o in runner.outputs)
    tensors = [runner.model_input(c.pixels.astype(np.float32))[0] for c in golden.cases]
    digests = [hashlib.sha256(t[None].tobytes()).digest() for t in tensors]
    top = out / "model.tflite"
    packaged = hashlib.sha256(top.read_bytes()).hexdigest() if top.is_file() else None

    def judge(outputs: Sequence[np.ndarray], got_names: Sequence[str]) -> GoldenJudgement:
        problems = []
        if tuple(got_names) != names:
            problems.append(
                f"the runtime's outputs are {list(got_names)}, the host interpreter's {list(names)}"
            )
        if len(outputs) != 4:
            return GoldenJudgement((), "", None, (*problems, f"{len(outputs)} outputs, not 4"))
        ports = [np.asarray(outputs[order.index_of(p)]) for p in range(4)]
        n, rows = len(golden.cases), golden.rows
        shapes = [(n, rows, 4), (n, rows), (n, rows), (n,)]
        got_shapes = [a.shape[:1] + tuple(d for d in a.shape[1:] if d != 1) for a in ports]
        if got_shapes != shapes:
            problems.append(
                f"the outputs by port ({', '.join(PORT_NAMES)}) have shapes "
                f"{[list(a.shape) for a in ports]}, not those of {n} cases of {rows} detections"
            )
            return GoldenJudgement((), "", None, tuple(problems))
        checks = []
        for i, c in enumerate(golden.cases):
            count = int(np.asarray(ports[3][i]).reshape(-1)[0])  # as DetectorRunner reads it
            raw = np.concatenate(
                [ports[0][i].reshape(-1), ports[1][i].reshape(-1), ports[2][i].reshape(-1),
                 [np.float32(count)]]
            ).astype(np.float32)  # fmt: skip
            got = dg.decode(raw, golden.rows, c.width, c.height, golden.max_results,
                            golden.score_threshold)  # fmt: skip
            res = dg.compare(
                c.expected, got, golden.score_threshold, golden.min_iou, golden.score_tolerance
            )
            match = digests[i] == c.input_sha256
            diff = np.abs(raw.astype(np.float64) - c.raw.astype(np.float64))
            checks.append(
                DetectionCaseCheck(
                    i, c.width, c.height, res["expected"], res["got"], res["missing"],
                    res["unexpected"], float(res["min_iou"]), float(res["max_score_diff"]),
                    match, bool(res["passed"] and match),
                    float(diff.max()) if diff.size and np.isfinite(diff).all() else None,
                )  # fmt: skip
            )
        dtypes = sorted({np.dtype(a.dtype).name for a in ports})
        return GoldenJudgement(tuple(checks), "/".join(dtypes), None, tuple(problems))

    rule = {
        "same_class": True,
        "min_iou": round(float(golden.min_iou), 6),
        "score_tolerance": float(golden.score_tolerance),
        "score_threshold": float(golden.score_threshold),
        "none_missing_or_unexpected": True,
        "outputs_by_port": list(order.names()),
    }
    stacked = np.stack(tensors) if tensors else np.zeros((0, runner.height, runner.width, 3))
    return GoldenInputs(folder, stacked, judge, rule, packaged)


@dataclass(frozen=True)
class ReportedDetectionCase:
    """One case line of the detector's ``GoldenSuite`` as a runner reported it; ``passed`` is
    the host's verdict once :class:`DetectionChecker` has re-checked it."""

    index: int
    fields: Mapping[str, Any]
    passed: bool

    @property
    def latency_ms(self) -> float | None:
        v = self.fields.get("latency_ms")
        return None if v is None else float(v)

    def to_dict(self) -> dict[str, Any]:
        return {**self.fields, "index": self.index, "passed": self.passed}

    #: the columns of :meth:`table_row`, for a table of reported cases
    TABLE_COLUMNS = ("case", "size", "expected", "got", "missing", "unexpected", "min IoU",
                     "max score diff", "input tensor", "bitmap", "latency (ms)")  # fmt: skip

    def table_row(self) -> list[str]:
        f = self.fields

        def num(key: str, fmt: str) -> str:
            v = f.get(key)
            return "-" if v is None else format(float(v), fmt)

        match = f.get("input_match")
        bitmap = "-"
        if "bitmap_missing" in f:
            ok = f.get("bitmap_agrees") is True and not f.get("bitmap_missing") and not (
                f.get("bitmap_unexpected")
            )
            bitmap = f"{f.get('bitmap_got')} found, " + ("same" if ok else "differs")
        return [
            str(self.index), f"{f.get('width')}x{f.get('height')}", str(f.get("expected")),
            str(f.get("got")), str(f.get("missing")), str(f.get("unexpected")),
            num("min_iou", ".3f"), num("max_score_diff", ".2e"),
            "-" if match is None else ("same" if match else "differs"), bitmap,
            num("latency_ms", ".2f"),
        ]  # fmt: skip


class DetectionChecker:
    """The golden detections stored in a detector app (``golden.bin``, EDGD) and
    :func:`recheck_device_case` with both entry points, for the Kotlin runners' case lines
    (:mod:`edgesdk.verify.reported`). On the GPU (a compiled-model app) the score tolerance is
    ``max(tolerance, GPU_RELATIVE_TOLERANCE)``, as the app's GoldenInstrumentation widens it."""

    task = "object_detector"

    def __init__(self, golden: dg.DetectionGolden) -> None:
        self.golden = golden

    @property
    def case_count(self) -> int:
        return len(self.golden.cases)

    @property
    def model_sha256(self) -> str | None:
        return None  # EDGD does not record the model; the summary's hash is compared instead

    def parse(self, data: dict[str, Any]) -> ReportedDetectionCase:
        passed = data["passed"]
        if not isinstance(passed, bool):
            raise TypeError(f"passed must be true or false, got {passed!r}")
        return ReportedDetectionCase(int(data["index"]), dict(data), passed)

    def has_case(self, index: int) -> bool:
        return 0 <= index < len(self.golden.cases)

    def recheck(self, case: ReportedDetectionCase, accelerator: str = "CPU") -> bool:
        golden = self.golden
        if accelerator == "GPU":  # as GoldenInstrumentation widens it on the GPU (fp16)
            from ..codegen.runtime import GPU_RELATIVE_TOLERANCE

            tolerance = max(float(golden.score_tolerance), GPU_RELATIVE_TOLERANCE)
            golden = dataclasses.replace(golden, score_tolerance=tolerance)
        return recheck_device_case(
            case.fields, golden.cases[case.index], golden, both_entry_points=True
        )

    def with_passed(self, case: ReportedDetectionCase, passed: bool) -> ReportedDetectionCase:
        return ReportedDetectionCase(case.index, case.fields, passed)


def read_checker(golden_dir: Path) -> DetectionChecker:
    """The :class:`DetectionChecker` of the golden detections in ``golden_dir``; a clear
    :class:`~edgesdk.errors.VerificationError` when they cannot be read."""
    try:
        return DetectionChecker(dg.read(golden_dir))
    except (ValueError, OSError) as exc:  # struct.error is a ValueError
        from ..errors import VerificationError

        raise VerificationError(
            f"the golden detections in {golden_dir} cannot be read",
            received=f"{type(exc).__name__}: {exc}",
            fix="Re-package with --target android --golden-cases N",
        ) from None
