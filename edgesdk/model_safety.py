"""Refuse model files that carry code, before anything of the model runs.

A Keras model file is a configuration plus weights, but some configurations make the loader
run code: a ``Lambda`` layer holds a Python function (``tf_keras`` rebuilds its marshalled
bytecode and calls it while building the model), a custom object names a class that would
have to be imported, and a SavedModel's graph can hold ops that read, write or delete files,
start processes or talk to the network. :func:`check_model` reads the saved configuration or
graph *without deserializing layers* and raises :class:`UntrustedModelError` (exit 1) for

- ``.h5`` (the ``model_config`` attribute) and ``.keras`` (``config.json``): every ``Lambda``
  layer and serialized Python function (``__lambda__``); every object whose ``module`` lies
  outside Keras (and TF-MOT), or whose class is not one of Keras's (or TF-MOT's
  quantization wrappers') built-ins; ``TFOpLambda`` layers (``tf.*`` calls recorded by
  tf_keras) whose TensorFlow function reads, writes or runs something
  (:data:`_UNSAFE_TF_FUNCTION`);
- SavedModels (``saved_model.pb`` / ``.pbtxt``): every op in the graph and in every function
  of its function library that touches the file system, the process or the network, and every
  op TensorFlow's registry does not know (it would need a custom op library). The list is
  derived from TensorFlow's op registry at run time by :data:`UNSAFE_OP_PATTERN` (see
  :func:`unsafe_ops`). The SavedModel's own saver functions (``SaveV2``,
  ``MergeV2Checkpoints``, ...; reachable only from ``saver_def``) are not run by loading,
  conversion or inference, and are not counted.

``trust_model=True`` (``--trust-model``) skips the check; the model then loads as before,
Keras 3 with ``safe_mode=False``.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ModelLoadError

#: Ops whose name matches this, in TensorFlow's op registry, touch files (read, write,
#: list, checkpoints, summaries, datasets and readers, memory-mapped constants, vocabulary
#: files), the process (Python callbacks, printing to a stream or file, debugging dumps) or
#: the network (send/receive, collectives, RPC, remote calls, TPU/XLA launches).
UNSAFE_OP_PATTERN = re.compile(
    r"File|Filename|Filespec|Director|Checkpoint|^Save|^Restore|Reader|Writer|Summary|"
    r"TFRecord|Dataset|Iterator|ImmutableConst|Vocab|Dump|Debug|Snapshot|^Print|PyFunc|"
    r"Execute|Remote|Recv|Send|Collective|Nccl|Rpc|Launch|^Load|DecodeProto|EncodeProto"
)

# Functions tf_keras records as TFOpLambda layers ("io.write_file", "print", ...) that read,
# write, print or call back into Python. Matched against each dotted component.
_UNSAFE_TF_FUNCTION = re.compile(
    r"(^|_)(io|gfile|file|files|write|read|print|summary|save|saved_model|restore|load|"
    r"checkpoint|py|numpy|debugging|data|raw|train|distribute|experimental|autograph|"
    r"sysconfig|function|compat)($|_)",
    re.IGNORECASE,
)

_SAFE_MODULE = re.compile(r"^(tf_)?keras(\.|$)")


class UntrustedModelError(ModelLoadError):
    """The model carries code that would run on this machine; refused without trust."""


@dataclass(frozen=True)
class Finding:
    """One thing in a model that can run code: what it is and where it sits."""

    kind: str  # "Lambda layer", "custom object", "TensorFlow call", "op", "unknown op"
    name: str
    location: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r} at {self.location}"


# --------------------------------------------------------------------------- Keras configs


@cache
def _tf_keras_builtin_names() -> frozenset[str]:
    """Class names tf_keras deserializes from its own modules (no import of user code)."""
    from . import _tf

    keras2 = _tf.tf_keras()
    names: set[str] = {"Functional", "Sequential", "Model", "Policy", "DTypePolicy"}
    for module in (
        keras2.layers,
        keras2.initializers,
        keras2.regularizers,
        keras2.constraints,
        keras2.activations,
        keras2.models,
        keras2.mixed_precision,
        keras2.optimizers,
        keras2.losses,
        keras2.metrics,
    ):
        names.update(n for n in dir(module) if not n.startswith("_"))
    try:
        from tf_keras.src.layers import serialization

        serialization.populate_deserializable_objects()
        names.update(serialization.LOCAL.ALL_OBJECTS)
    except (ImportError, AttributeError):  # pragma: no cover - internal layout changed
        pass
    return frozenset(names)


@cache
def _tfmot_names() -> frozenset[str]:
    """TF-MOT's quantization wrappers and configs (QAT models), an installed dependency."""
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError:  # pragma: no cover - a declared dependency
        return frozenset()
    scope = tfmot.quantization.keras.quantize_scope()
    objects = getattr(scope, "custom_objects", None) or ()
    names: set[str] = set()
    for part in objects if isinstance(objects, (list, tuple)) else (objects,):
        if isinstance(part, dict):  # tf_keras: a tuple of name -> class dicts
            names.update(str(k) for k in part)
    return frozenset(names)


_TFMOT_MODULE = re.compile(r"^tensorflow_model_optimization(\.|$)")


def _label(obj: dict[str, Any], index_path: str) -> str:
    config = obj.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return f"{index_path} ({name!r})" if isinstance(name, str) else index_path


def _walk(node: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every serialized object (a dict with ``class_name``) and its location."""
    if isinstance(node, dict):
        if isinstance(node.get("class_name"), str):
            yield node, path
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                yield from _walk(value, f"{path}[{i}]")


def scan_keras_config(config: Any, where: str) -> list[Finding]:
    """Findings in a Keras model configuration (the parsed JSON of ``model_config`` or
    ``config.json``). ``where`` names the file and the part of it, for messages."""
    findings: list[Finding] = []
    unknown: list[tuple[str, str]] = []
    for obj, path in _walk(config, where):
        cn = str(obj["class_name"])
        loc = _label(obj, path)
        module = obj.get("module")
        if cn == "Lambda":
            findings.append(Finding("Lambda layer (a Python function)", cn, loc))
        elif cn == "__lambda__":
            findings.append(Finding("serialized Python function", cn, loc))
        elif cn in ("TFOpLambda", "SlicingOpLambda"):
            cfg = obj.get("config")
            fn = str(cfg.get("function", "")) if isinstance(cfg, dict) else ""
            if any(_UNSAFE_TF_FUNCTION.search(part) for part in fn.split(".")) or not fn:
                findings.append(Finding("TensorFlow call", f"tf.{fn}", loc))
        elif isinstance(module, str) and _TFMOT_MODULE.match(module):
            unknown.append((cn, loc))  # TF-MOT's own classes are allowed by name below
        elif isinstance(module, str) and module and not _SAFE_MODULE.match(module):
            findings.append(Finding("custom object (imports a module)", f"{module}.{cn}", loc))
        elif module is None and not (cn.startswith("__") and cn.endswith("__")):
            unknown.append((cn, loc))
    if unknown:
        known = _tf_keras_builtin_names()
        rest = [(cn, loc) for cn, loc in unknown if cn not in known]
        if rest:
            tfmot = _tfmot_names()
            rest = [(cn, loc) for cn, loc in rest if cn not in tfmot]
        findings.extend(
            Finding("custom object (not a Keras built-in)", cn, loc) for cn, loc in rest
        )
    return findings


def _h5_config(path: Path) -> Any:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise ModelLoadError(
            f"could not read the HDF5 file {path}",
            received=f"{type(exc).__name__}: {exc}",
            fix="Check that the file is complete and was written by model.save()",
        ) from None
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return _parse_json(str(raw), path, "model_config")


def _keras_zip_config(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("config.json")
            if info.file_size > 64 * 2**20:
                raise ModelLoadError(
                    f"the configuration in {path} is implausibly large",
                    received=f"config.json of {info.file_size} bytes",
                    fix="Save the model again with model.save('model.keras')",
                )
            with zf.open(info) as f:
                text = f.read(64 * 2**20 + 1).decode("utf-8", errors="replace")
    except KeyError:
        return None
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise ModelLoadError(
            f"{path} is not a valid .keras archive",
            received=f"{type(exc).__name__}: {exc}",
            fix="Save the model again with model.save('model.keras')",
        ) from None
    return _parse_json(text, path, "config.json")


def _parse_json(text: str, path: Path, part: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelLoadError(
            f"the model configuration ({part}) in {path} is not valid JSON",
            received=f"{type(exc).__name__}: {str(exc)[:200]}",
            fix="Save the model again with model.save()",
        ) from None


# --------------------------------------------------------------------------- SavedModel


@cache
def unsafe_ops() -> frozenset[str]:
    """Every op in TensorFlow's registry that :data:`UNSAFE_OP_PATTERN` selects."""
    return frozenset(n for n in _registered_ops() if UNSAFE_OP_PATTERN.search(n))


@cache
def _registered_ops() -> frozenset[str]:
    from . import _tf

    return _tf.registered_op_names()


def _read_saved_model(path: Path) -> Any:
    from . import _tf

    saved_model_pb2 = _tf.saved_model_proto()
    from google.protobuf import message, text_format

    sm = saved_model_pb2.SavedModel()
    pb, pbtxt = path / "saved_model.pb", path / "saved_model.pbtxt"
    try:
        if pb.is_file():
            sm.ParseFromString(pb.read_bytes())
        else:
            text_format.Parse(pbtxt.read_text(encoding="utf-8"), sm)
    except (OSError, message.DecodeError, text_format.ParseError, UnicodeDecodeError) as exc:
        raise ModelLoadError(
            f"could not read the SavedModel graph in {path}",
            received=f"{type(exc).__name__}: {str(exc)[:200]}",
            fix="Export the SavedModel again",
        ) from None
    return sm


def _called_functions(node: Any) -> set[str]:
    names = set()
    for value in node.attr.values():
        if value.func.name:
            names.add(value.func.name)
        names.update(f.name for f in value.list.func)
    return names


def scan_saved_model(path: Path) -> list[Finding]:
    """Findings in every meta graph of a SavedModel: its nodes and library functions."""
    sm = _read_saved_model(path)
    unsafe = unsafe_ops()
    registered = _registered_ops()
    findings: list[Finding] = []
    for mi, mg in enumerate(sm.meta_graphs):
        library = {f.signature.name: f for f in mg.graph_def.library.function}
        saver_nodes = {
            name.split(":")[0]
            for name in (mg.saver_def.save_tensor_name, mg.saver_def.restore_op_name)
            if name
        }

        def calls(node: Any, library: dict[str, Any] = library) -> set[str]:
            found = _called_functions(node)
            if node.op in library:
                found.add(node.op)
            return found

        # Functions reachable from anything but the saver's own save/restore nodes.
        pending = set(mg.object_graph_def.concrete_functions.keys())
        graph_nodes = [n for n in mg.graph_def.node if n.name not in saver_nodes]
        for n in graph_nodes:
            pending |= calls(n)
        reachable: set[str] = set()
        while pending:
            fname = pending.pop()
            if fname in reachable or fname not in library:
                continue
            reachable.add(fname)
            for n in library[fname].node_def:
                pending |= calls(n)

        def check(op: str, where: str, library: dict[str, Any] = library) -> None:
            if op in library:
                return
            if op in unsafe:
                findings.append(Finding("op (files, processes or network)", op, where))
            elif op not in registered:
                findings.append(Finding("unknown op (needs a custom op library)", op, where))

        base = f"{path.name}/saved_model meta_graph[{mi}]"
        for n in graph_nodes:
            check(n.op, f"{base} node {n.name!r}")
        for fname in sorted(reachable):
            for n in library[fname].node_def:
                check(n.op, f"{base} function {fname!r} node {n.name!r}")
    return findings


# --------------------------------------------------------------------------- entry point


def scan_model(path: Path, framework: str) -> list[Finding]:
    """What in the model at ``path`` can run code (``framework`` as
    :func:`edgesdk.models.detect_framework` gives)."""
    if framework == "saved_model" or path.is_dir():
        return scan_saved_model(path)
    with path.open("rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        config = _keras_zip_config(path)
        part = "config.json"
    else:
        config = _h5_config(path)
        part = "model_config"
    if config is None:
        return []
    try:
        return scan_keras_config(config, f"{path.name}:{part}")
    except RecursionError:
        raise ModelLoadError(
            f"the model configuration ({part}) in {path} is nested too deeply to check",
            received="a configuration nested beyond Python's recursion limit",
            fix="Save the model again with model.save()",
        ) from None


def check_model(path: str | Path, *, trust_model: bool, framework: str | None = None) -> None:
    """Raise :class:`UntrustedModelError` if the model carries code and is not trusted."""
    if trust_model:
        return
    from .models import detect_framework

    p = Path(path)
    fw = framework or detect_framework(p)
    findings = scan_model(p, fw)
    if not findings:
        return
    shown = "; ".join(str(f) for f in findings[:5])
    more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
    raise UntrustedModelError(
        f"the model {p} carries code that can run on this machine when it is loaded or "
        f"run: {shown}{more}; edgesdk did not load it",
        received=f"{len(findings)} finding(s) in {p.name}",
        supported="models made of built-in Keras layers, or SavedModels whose graph "
        "touches no files, processes or network",
        fix="Only if you trust where the model comes from, pass --trust-model "
        "(Python API: trust_model=True); otherwise ask for a model without Lambda layers "
        "and custom objects",
    )


__all__ = [
    "Finding",
    "UNSAFE_OP_PATTERN",
    "UntrustedModelError",
    "check_model",
    "scan_keras_config",
    "scan_model",
    "scan_saved_model",
    "unsafe_ops",
]
