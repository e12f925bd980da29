"""Model files edgesdk trains and compresses: checked output paths, atomic saving with
the class names and what edgesdk knows inside the file, and reading them back.

Class names travel **inside the model file**: an HDF5 root attribute
``edgesdk_class_names`` (a JSON list) for ``.h5``, or a zip entry
``edgesdk_class_names.json`` for ``.keras``. :func:`read_class_names` reads them back
(falling back to a sidecar ``<model file>.labels.txt``, one name per line, for models
from elsewhere).
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._tf import tf_keras
from ..errors import ConfigError, ModelLoadError, OutputError
from ..models import is_keras3, keras_version, load_keras3, load_tf_keras
from .reports import jsonable

#: Model file suffixes train and compress write (tf_keras picks the format by suffix).
MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
H5_SUFFIXES = (".h5", ".hdf5")
#: HDF5 root attribute / ``.keras`` zip entry holding the class names (a JSON list).
CLASS_NAMES_ATTR = "edgesdk_class_names"
CLASS_NAMES_ENTRY = "edgesdk_class_names.json"
#: HDF5 root attribute / ``.keras`` zip entry with what edgesdk knows about the model.
INFO_ATTR = "edgesdk_info"
INFO_ENTRY = "edgesdk_info.json"
_KERAS3_FIX = (
    "Post-training quantization works for every model: edgesdk package MODEL "
    "--quantize dynamic|float16|int8 (or auto with --eval-data). To prune, cluster, run "
    "QAT or distill into it, retrain it with edgesdk train, which saves a tf_keras model"
)
#: Sidecar read by :func:`read_class_names` when the file itself carries no names.
LABELS_SIDECAR_SUFFIX = ".labels.txt"


def check_output(
    output: str | Path, *, force: bool, suffixes: Sequence[str] = MODEL_SUFFIXES
) -> Path:
    """Validate a model output path before any work is done."""
    out = Path(output)
    if out.suffix.lower() not in suffixes:
        raise ConfigError(
            "unsupported model file type for the output",
            received=f"output={str(output)!r}",
            supported=" or ".join(suffixes),
            fix="Name the output e.g. model.h5 or model.keras",
        )
    if out.is_dir():
        raise OutputError(
            "the output path is a folder",
            received=str(out),
            fix="Pass a file name such as model.h5",
        )
    if out.exists() and not force:
        raise OutputError(
            f"the output {out} already exists",
            received=str(out),
            fix="Pass --force to overwrite it, or choose another -o",
        )
    return out


def save_model(
    model: Any,
    path: str | Path,
    *,
    class_names: Sequence[str],
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``model`` with tf_keras (format by suffix), class names and info inside; atomic."""
    keras = tf_keras()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}{out.suffix}")
    # A fresh functional view over the same layers: no optimizer state is saved, so
    # the file holds exactly the weights (and compares across methods by size).
    view = keras.Model(model.inputs, model.outputs, name=model.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if out.suffix.lower() in H5_SUFFIXES:
                view.save(tmp, include_optimizer=False, save_format="h5")
            else:
                view.save(tmp)
        _embed(tmp, class_names=list(class_names), info=dict(info or {}))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _embed(path: Path, *, class_names: list[str], info: dict[str, Any]) -> None:
    if path.suffix.lower() in H5_SUFFIXES:
        import h5py

        with h5py.File(path, "a") as f:
            f.attrs[CLASS_NAMES_ATTR] = json.dumps(class_names)
            f.attrs[INFO_ATTR] = json.dumps(jsonable(info), sort_keys=True)
    else:
        with zipfile.ZipFile(path, "a") as z:
            z.writestr(CLASS_NAMES_ENTRY, json.dumps(class_names))
            z.writestr(INFO_ENTRY, json.dumps(jsonable(info), sort_keys=True))


def read_embedded(path: Path, attr: str, entry: str) -> Any | None:
    """The JSON value stored with a model file: the HDF5 root attribute ``attr`` (``.h5``) or
    the zip entry ``entry`` (``.keras``); ``None`` when the file carries none."""
    if not path.is_file():
        return None
    raw: Any = None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if entry in z.namelist():
                raw = z.read(entry).decode("utf-8")
    else:
        import h5py

        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                raw = f.attrs.get(attr)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(str(raw))
    except json.JSONDecodeError:
        raise ModelLoadError(
            f"the {attr} stored in {path} is not valid JSON",
            received=str(raw)[:80],
            fix="Re-save the model with edgesdk train or compress",
        ) from None


def read_class_names(model_path: str | Path) -> tuple[str, ...] | None:
    """The class names stored with a model, or ``None`` if it carries none.

    Looks, in order, at the HDF5 root attribute ``edgesdk_class_names`` (``.h5``), the
    zip entry ``edgesdk_class_names.json`` (``.keras``), and a sidecar text file
    ``<model file>.labels.txt`` (one name per line) for models from elsewhere.
    """
    p = Path(model_path)
    if not p.exists():
        raise ModelLoadError(
            f"the model file {p} does not exist",
            received=str(model_path),
            fix="Check the path",
        )
    names = read_embedded(p, CLASS_NAMES_ATTR, CLASS_NAMES_ENTRY)
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelLoadError(
                f"the class names stored in {p} are not a list of strings",
                received=repr(names)[:80],
                fix="Re-save the model with edgesdk train or compress",
            )
        return tuple(names)
    sidecar = p.with_name(p.name + LABELS_SIDECAR_SUFFIX)
    if sidecar.is_file():
        lines = sidecar.read_text(encoding="utf-8").splitlines()
        return tuple(line.strip() for line in lines if line.strip())
    return None


def read_model_info(model_path: str | Path) -> dict[str, Any] | None:
    """What edgesdk stored about a model it saved (arch, preprocessing, compression)."""
    info = read_embedded(Path(model_path), INFO_ATTR, INFO_ENTRY)
    return info if isinstance(info, dict) else None


def sidecar_path(model_path: Path, kind: str, suffix: str) -> Path:
    """``dir/model.h5`` -> ``dir/model.<kind><suffix>`` (e.g. ``model.training.json``)."""
    return model_path.with_name(f"{model_path.stem}.{kind}{suffix}")


# --------------------------------------------------------------------------- loading


def require_file(path: str | Path, role: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(
            f"the {role} {p} does not exist",
            received=str(path),
            supported="a Keras model: .h5, .keras or a SavedModel folder",
            fix="Check the path",
        )
    if p.is_file() and p.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelLoadError(
            f"the {role} {p} is not a Keras model file",
            received=p.name,
            supported="a Keras model: .h5, .keras or a SavedModel folder",
            fix="Pass the Keras model (a .tflite cannot be fine-tuned)",
        )
    return p


def check_tf_keras_model(path: str | Path, *, role: str = "model") -> Path:
    """Refuse missing files and Keras 3 models (TF-MOT accepts tf_keras models only)."""
    p = require_file(path, role)
    version = keras_version(p)
    if is_keras3(version):
        raise ConfigError(
            f"the {role} {p} was saved by Keras {version}; pruning, clustering, QAT and "
            "distillation fine-tune it with TF-MOT (tensorflow-model-optimization), which "
            "accepts only tf_keras (Keras 2) models",
            received=f"{p.name} with keras_version {version}",
            supported="models saved by tf_keras, such as the ones edgesdk train writes",
            fix=_KERAS3_FIX,
        )
    return p


def load_model(path: str | Path, *, trust_model: bool = False) -> Any:
    """Load a tf_keras model edgesdk (or anyone) saved, including QAT models.

    QAT models contain TF-MOT layers that only load inside
    ``tfmot.quantization.keras.quantize_scope()``; :func:`edgesdk.models.load_tf_keras`
    handles that. Models load uncompiled. Keras 3 files are refused with a
    :class:`ConfigError`.
    """
    p = check_tf_keras_model(path)
    try:
        return load_tf_keras(p, trust_model=trust_model)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(
            f"tf_keras could not load {p}",
            received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
            supported="Keras models saved by tf_keras (.h5, .keras, SavedModel)",
            fix="Re-save the model with tf_keras, or retrain it with edgesdk train",
        ) from None


def load_teacher(path: Path, trust_model: bool = False) -> Any:
    """The teacher is only run for inference: tf_keras or Keras 3 both work."""
    if is_keras3(keras_version(path)):
        try:
            return load_keras3(path, trust_model=trust_model)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"Keras 3 could not load the teacher {path}",
                received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                fix="Check the file",
            ) from None
    return load_model(path, trust_model=trust_model)
