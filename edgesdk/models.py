"""Loading Keras models (.h5, .keras, SavedModel) and describing their tensors.

Which Keras loads a file is decided from the file itself, not from its name alone:
legacy Keras 2 HDF5 and tf_keras ``.keras`` archives load with tf_keras (so that
TF-MOT accepts them); files written by Keras 3 load with Keras 3.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ModelLoadError

Framework = Literal["tf_keras", "keras3", "saved_model"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SUPPORTED = "a Keras model saved as .h5 (Keras 2 or 3), .keras, or a SavedModel folder"

# Layers that do nothing at inference time and may precede the preprocessing layer.
_INFERENCE_NOOP_LAYERS = {
    "InputLayer",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RandomContrast",
    "RandomBrightness",
    "RandomCrop",
    "Dropout",
    "GaussianNoise",
}
_PREPROCESSING_LAYERS = {"Rescaling", "Normalization"}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model: name, shape (``None`` for unknown dims), dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    @property
    def is_image(self) -> bool:
        """``N x H x W x C`` with 1 (gray) or 3 (RGB) channels and known H, W."""
        s = self.shape
        return len(s) == 4 and s[3] in (1, 3) and s[1] is not None and s[2] is not None

    @property
    def channels(self) -> int | None:
        return self.shape[-1] if self.is_image else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model, which Keras loaded it, and its inputs and outputs."""

    path: Path
    framework: Framework
    model: Any
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    has_preprocessing_layer: bool
    preprocessing_layer: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.path.suffix else self.path.name


def _h5_keras_version(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version")
            config = f.attrs.get("model_config")
    except OSError as exc:
        raise ModelLoadError(
            f"could not read the HDF5 file {path}",
            received=f"{type(exc).__name__}: {exc}",
            supported=_SUPPORTED,
            fix="Check that the file is complete and was written by model.save()",
        ) from None
    if config is None:
        raise ModelLoadError(
            f"{path} is an HDF5 file but holds no Keras model (weights only?)",
            received="an HDF5 file without a 'model_config' attribute",
            supported=_SUPPORTED,
            fix="Save the whole model with model.save('model.h5'), not save_weights()",
        )
    if isinstance(version, bytes):
        version = version.decode()
    return str(version or "2")


def _keras_zip_version(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "metadata.json" in names:
                info = zf.getinfo("metadata.json")
                if info.file_size > 2**20:
                    raise ValueError(f"metadata.json declares {info.file_size} bytes")
                meta = json.loads(zf.read(info))
                if not isinstance(meta, dict):
                    raise ValueError("metadata.json is not a JSON object")
                return str(meta.get("keras_version", "3"))
            if "config.json" in names:
                return "3"
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError, NotImplementedError) as exc:
        raise ModelLoadError(
            f"{path} is not a valid .keras archive",
            received=f"{type(exc).__name__}: {exc}",
            supported=_SUPPORTED,
            fix="Save the model again with model.save('model.keras')",
        ) from None
    raise ModelLoadError(
        f"{path} is a zip file but not a .keras model archive",
        received=f"entries {sorted(names)[:5]}",
        supported=_SUPPORTED,
        fix="Save the model with model.save('model.keras')",
    )


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(8)
    except OSError as exc:
        raise ModelLoadError(
            f"could not read the model file {path}",
            received=f"{type(exc).__name__}: {exc}",
            supported=_SUPPORTED,
            fix="Check the file's permissions",
        ) from None


def keras_version(path: Path) -> str | None:
    """The Keras version that wrote a model file, read from the file without loading it.

    ``None`` for a folder or a file that is neither HDF5 nor a zip archive.
    """
    if path.is_dir():
        return None
    head = _head(path)
    if head == _HDF5_SIGNATURE:
        return _h5_keras_version(path)
    if head[:4] == b"PK\x03\x04":
        return _keras_zip_version(path)
    return None


def is_keras3(version: str | None) -> bool:
    """Whether a Keras version string (as :func:`keras_version` gives) is Keras 3 or later."""
    try:
        return version is not None and int(version.split(".")[0]) >= 3
    except ValueError:
        return False


def detect_framework(path: Path) -> Framework:
    """Which loader a model path needs, read from the file's own content."""
    if not path.exists():
        raise ModelLoadError(
            f"the model path {path} does not exist",
            received=str(path),
            supported=_SUPPORTED,
            fix="Check the path",
        )
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            return "saved_model"
        raise ModelLoadError(
            f"the folder {path} is not a SavedModel (it has no saved_model.pb)",
            received=f"folder containing {sorted(p.name for p in path.iterdir())[:6]}",
            supported=_SUPPORTED,
            fix="Point to the SavedModel folder itself, or to a .h5/.keras file",
        )
    version = keras_version(path)
    if version is not None:
        return "keras3" if is_keras3(version) else "tf_keras"
    head = _head(path)
    if len(head) >= 8 and head[4:8] == b"TFL3":
        raise ModelLoadError(
            f"{path} is already a TFLite model",
            received=path.name,
            supported=_SUPPORTED,
            fix="Pass the Keras model it came from; use 'edgesdk inspect' to look at a .tflite",
        )
    raise ModelLoadError(
        f"{path} is not a model file edgesdk can read",
        received=f"a file starting with bytes {head!r}",
        supported=_SUPPORTED,
        fix="Save the model with model.save('model.keras') or model.save('model.h5')",
    )


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    return str(name).replace("tf.", "")


def _find_preprocessing(model: Any) -> str | None:
    """Name of a Rescaling/Normalization layer at the start of the model, if any."""
    layers = list(getattr(model, "layers", []))
    for layer in layers:
        kind = type(layer).__name__
        if kind in _PREPROCESSING_LAYERS:
            return kind
        if kind in _INFERENCE_NOOP_LAYERS:
            continue
        if hasattr(layer, "layers"):  # nested Sequential / functional block
            found = _find_preprocessing(layer)
            if found:
                return found
        return None
    return None


def _specs_from_keras(tensors: Any, prefix: str) -> tuple[TensorSpec, ...]:
    specs = []
    for i, t in enumerate(tensors):
        name = getattr(t, "name", None) or f"{prefix}_{i}"
        name = str(name).split(":")[0]
        shape = tuple(None if d is None else int(d) for d in t.shape)
        specs.append(TensorSpec(name, shape, _dtype_name(t.dtype)))
    return tuple(specs)


def load_model(path: str | Path, *, trust_model: bool = False) -> LoadedModel:
    """Load a Keras model or SavedModel and describe it; raises :class:`ModelLoadError`.

    Unless ``trust_model``, the saved configuration or graph is checked first and a model
    that carries code is refused (:func:`edgesdk.model_safety.check_model`).
    """
    p = Path(path)
    framework = detect_framework(p)
    from . import _tf
    from .model_safety import check_model

    check_model(p, trust_model=trust_model, framework=framework)
    tf = _tf.tf()
    try:
        if framework == "tf_keras":
            model = _load_tf_keras(p, trust_model)  # checked above
        elif framework == "keras3":
            model = _load_keras3(p, trust_model)
        else:
            model = tf.saved_model.load(str(p))
    except ModelLoadError:
        raise
    except (OSError, ValueError, TypeError, KeyError, ImportError, AttributeError) as exc:
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"could not load the model {p}",
            received=f"{type(exc).__name__}: {detail}",
            supported=_SUPPORTED,
            fix="If the model uses custom layers, save it as a SavedModel folder instead; "
            "check that the file was written completely",
        ) from None

    if framework == "saved_model":
        fn = _serving_function(model, p)
        sig_inputs = fn.structured_input_signature[1]
        inputs = tuple(
            TensorSpec(
                k, tuple(None if d is None else int(d) for d in v.shape), _dtype_name(v.dtype)
            )
            for k, v in sorted(sig_inputs.items())
        )
        outs = fn.structured_outputs
        outputs = tuple(
            TensorSpec(
                k, tuple(None if d is None else int(d) for d in v.shape), _dtype_name(v.dtype)
            )
            for k, v in sorted(outs.items())
        )
        return LoadedModel(p, framework, model, inputs, outputs, False, None)

    inputs = _specs_from_keras(model.inputs, "input")
    outputs = _specs_from_keras(model.outputs, "output")
    pre = _find_preprocessing(model)
    return LoadedModel(p, framework, model, inputs, outputs, pre is not None, pre)


def load_tf_keras(path: Path, *, trust_model: bool = False) -> Any:
    """tf_keras load; models from quantization-aware training need TF-MOT's scope.

    Unless ``trust_model``, a model that carries code is refused before it is loaded.
    """
    from .model_safety import check_model

    check_model(path, trust_model=trust_model, framework="tf_keras")
    return _load_tf_keras(path, trust_model)


def _load_tf_keras(path: Path, trust_model: bool) -> Any:
    from . import _tf

    keras2 = _tf.tf_keras()
    kwargs: dict[str, Any] = {"compile": False}
    if trust_model and not Path(path).is_dir() and _head(Path(path))[:4] == b"PK\x03\x04":
        kwargs["safe_mode"] = False  # tf_keras's own lambda guard for .keras archives
    try:
        return keras2.models.load_model(path, **kwargs)
    except ValueError as exc:
        if "Quantize" not in str(exc):
            raise
    import tensorflow_model_optimization as tfmot

    with tfmot.quantization.keras.quantize_scope():
        return keras2.models.load_model(path, **kwargs)


def load_keras3(path: Path, *, trust_model: bool = False) -> Any:
    """Keras 3 load; with ``trust_model`` Keras's own safe mode is off too (lambdas load)."""
    from .model_safety import check_model

    check_model(path, trust_model=trust_model, framework="keras3")
    return _load_keras3(path, trust_model)


def _load_keras3(path: Path, trust_model: bool) -> Any:
    from . import _tf

    return _tf.keras3().saving.load_model(path, compile=False, safe_mode=not trust_model)


def _serving_function(obj: Any, path: Path) -> Any:
    sigs = getattr(obj, "signatures", {})
    if "serving_default" in sigs:
        return sigs["serving_default"]
    if sigs:
        return sigs[sorted(sigs)[0]]
    raise ModelLoadError(
        f"the SavedModel {path} has no serving signature",
        received="signatures: none",
        supported="a SavedModel with a 'serving_default' signature",
        fix="Export with tf.saved_model.save(model, path, signatures=...) or model.export(path)",
    )


__all__ = [
    "TensorSpec",
    "LoadedModel",
    "load_model",
    "load_tf_keras",
    "load_keras3",
    "detect_framework",
    "keras_version",
    "is_keras3",
]
