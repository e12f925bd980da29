"""``package``: Keras model -> TFLite with metadata (+ Kotlin wrapper and Android app).

The flow reads straight down: config -> load -> labels and normalization (a recognised
backbone's family; folded into the model when metadata cannot say it) ->
calibration -> convert/quantize -> metadata -> host parity -> write (atomically).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._io import staged_output, stdout_to_stderr
from .config import PackageConfig
from .errors import ConfigError, DataError
from .models import LoadedModel
from .normalization import Normalization

Warn = Callable[[str], None]
#: At most this many evaluation samples are used for parity and for ``auto``'s measurements.
EVAL_SAMPLES = 500
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PackageResult:
    """What ``package`` wrote, and the report it wrote about it."""

    output: Path
    tflite: Path
    labels: Path | None
    report_path: Path
    report: dict[str, Any]
    kotlin: Path | None = None
    android: Path | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- labels


def read_labels_file(path: Path) -> tuple[str, ...]:
    """UTF-8, one label per line; blank trailing lines ignored."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"could not read the labels file {path}",
            received=f"{type(exc).__name__}: {exc}",
            fix="Check the --labels path",
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the labels file {path} is not valid UTF-8",
            received=f"undecodable byte at offset {exc.start}",
            supported="a UTF-8 text file with one label per line",
            fix="Save the file as UTF-8",
        ) from None
    labels = [line.rstrip("\r") for line in text.split("\n")]
    while labels and not labels[-1].strip():
        labels.pop()
    if not labels:
        raise ConfigError(
            f"the labels file {path} is empty",
            received=f"{len(raw)} bytes",
            supported="a UTF-8 text file with one label per line",
            fix="Write one class name per line, in the order of the model's outputs",
        )
    blank = [i + 1 for i, lab in enumerate(labels) if not lab.strip()]
    if blank:
        raise ConfigError(
            f"the labels file {path} has empty labels",
            received=f"blank line(s) {blank[:5]}",
            fix="Give every class a name",
        )
    return tuple(labels)


def resolve_labels(
    config: PackageConfig,
    loaded: LoadedModel,
    num_classes: int | None,
    warn: Warn,
    data_class_names: tuple[str, ...] | None = None,
) -> tuple[tuple[str, ...], str]:
    """Labels from --labels, else the model file, else the data's class names, else class_i."""
    if num_classes is None:
        if config.labels is not None:
            warn("the model's output is not a class vector; --labels is ignored")
        return (), "none"
    if config.labels is not None:
        labels = read_labels_file(config.labels)
        source = "file"
    else:
        stored = _class_names_from_model(loaded)
        if stored is not None:
            labels, source = stored, "model"
        elif data_class_names is not None and len(data_class_names) == num_classes:
            labels, source = data_class_names, "data_class_names"
            warn(
                f"labels taken from the data's class names ({', '.join(labels[:4])}"
                f"{', ...' if len(labels) > 4 else ''}); pass --labels if the model's "
                "class order differs"
            )
        else:
            labels = tuple(f"class_{i}" for i in range(num_classes))
            warn(
                f"no labels given: using class_0..class_{num_classes - 1}. "
                "Pass --labels FILE (one label per line) to name the classes."
            )
            return labels, "generated"
    if len(labels) != num_classes:
        raise ConfigError(
            f"the number of labels does not match the model's {num_classes} classes",
            received=f"{len(labels)} labels from {config.labels or 'the model'}",
            supported=f"exactly {num_classes} labels, one per line, in output order",
            fix="Fix the labels file so that it has one line per class",
        )
    return labels, source


def _class_names_from_model(loaded: LoadedModel) -> tuple[str, ...] | None:
    try:
        from .training.files import read_class_names
    except ImportError:
        return None
    return read_class_names(loaded.path)


# ---------------------------------------------------------------------- normalization


def resolve_normalization(
    config: PackageConfig, loaded: LoadedModel, channels: int, warn: Warn
) -> Normalization:
    if config.mean is not None and config.std is not None:
        mean, std = config.mean, config.std
        for name, values in (("mean", mean), ("std", std)):
            if len(values) not in (1, channels):
                raise ConfigError(
                    f"--{name} was given {len(values)} times but the input has {channels} channels",
                    received=f"{name}={list(values)}",
                    supported="one value for all channels, "
                    f"or exactly {channels} (one per channel)",
                    fix=f"Repeat --{name} once or {channels} times",
                )
        return Normalization(_per_channel(mean, channels), _per_channel(std, channels), "cli")
    from .normalization import from_model

    known = from_model(loaded, channels, warn)  # a recognised keras.applications backbone
    if known is not None:
        return known
    if loaded.has_preprocessing_layer:
        return Normalization(
            (0.0,) * channels, (1.0,) * channels, f"model_layer:{loaded.preprocessing_layer}"
        )
    warn(
        "the model has no Rescaling/Normalization layer and no --mean/--std were given: "
        "assuming it takes inputs scaled to [0, 1] (mean 0, std 255). "
        "Pass --mean/--std to override (e.g. --mean 127.5 --std 127.5 for [-1, 1])."
    )
    return Normalization((0.0,) * channels, (255.0,) * channels, "assumed_unit_range")


def _per_channel(values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    return tuple(values) * channels if len(values) == 1 else tuple(values)


# ------------------------------------------------------------------------------ data


def load_samples(
    path: Path, loaded: LoadedModel, role: str, warn: Warn | None = None
) -> Any:
    """Load calibration/eval data shaped for the model's input (raw values).

    Files that are not usable images are skipped with one warning for calibration (it only
    estimates value ranges) and refused for every other role (results would silently rest
    on fewer samples than given).
    """
    from .data import load_dataset

    policy = "skip" if role == "calibration" else "error"
    spec = loaded.inputs[0]
    if spec.is_image:
        h, w, c = (int(d or 0) for d in spec.shape[1:])
        ds = load_dataset(path, size=(h, w), channels=c, bad_images=policy, on_warning=warn)
    else:
        ds = load_dataset(path, bad_images=policy, on_warning=warn)
    expected = tuple(d for d in spec.shape[1:])
    if tuple(ds.x.shape[1:]) != expected:
        raise DataError(
            f"the {role} data does not fit the model's input",
            received=f"samples of shape {tuple(ds.x.shape[1:])} from {path}",
            supported=f"samples of shape {expected} (images are resized automatically)",
            fix=f"Pass {role} data shaped like the model's input",
        )
    return ds


def align_labels(ds: Any, labels: tuple[str, ...], warn: Warn) -> Any:
    """Re-index ``ds.y`` from the data's class names to the model's label order.

    An image folder numbers classes by sorted folder name; the model may order them
    differently. When the data's class names are exactly the model's labels, in another
    order, ``y`` is remapped; when they differ, accuracy cannot be trusted: say so.
    """
    from .data import Dataset

    if ds.y is None or not ds.class_names or not labels or tuple(ds.class_names) == labels:
        return ds
    if set(ds.class_names) == set(labels) and len(set(labels)) == len(labels):
        order = {name: i for i, name in enumerate(labels)}
        mapping = np.array([order[name] for name in ds.class_names], dtype=np.int64)
        return Dataset(ds.x, mapping[ds.y], labels, ds.source)
    warn(
        f"the evaluation data's class names ({', '.join(ds.class_names[:4])}...) do not match "
        f"the model's labels ({', '.join(labels[:4])}...): accuracy assumes class indices agree"
    )
    return ds


def _parity_data(config: PackageConfig, source: str) -> dict[str, str]:
    """Where parity's samples came from, for ``edgesdk verify`` to re-use."""
    path = {"eval_data": config.eval_data, "calibration_data": config.calibration_data}.get(source)
    return {} if path is None else {"data": str(Path(path).resolve())}


def _input_range(spec_is_image: bool, norm: Normalization) -> tuple[tuple[float, ...], ...]:
    if not spec_is_image:
        return (), ()
    lo = tuple(float(np.float32((0.0 - m) / s)) for m, s in zip(norm.mean, norm.std, strict=True))
    hi = tuple(float(np.float32((255.0 - m) / s)) for m, s in zip(norm.mean, norm.std, strict=True))
    return (
        tuple(min(a, b) for a, b in zip(lo, hi, strict=True)),
        tuple(max(a, b) for a, b in zip(lo, hi, strict=True)),
    )


# ----------------------------------------------------------------------------- main


def package(
    config: PackageConfig,
    *,
    on_warning: Warn | None = None,
    on_progress: Progress | None = None,
) -> PackageResult:
    """Package a Keras model as described in ``config``; see :func:`edgesdk.package`."""
    from . import _io, metadata, tasks
    from .convert import Quantization, check_calibration, convert
    from .models import load_model
    from .verify.host import TFLiteRunner, parity, random_inputs

    warnings: list[str] = []

    def warn(msg: str) -> None:
        warnings.append(msg)
        if on_warning:
            on_warning(msg)

    def step(msg: str) -> None:
        if on_progress:
            on_progress(msg)

    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    _io.check_output(config.output, config.force)

    # Fail on bad names and unreadable option files before the slow model load.
    if config.target == "android":
        from .codegen.context import validate_android_package, validate_class_name

        if config.class_name is not None:
            validate_class_name(config.class_name)
        if config.android_package is not None:
            validate_android_package(config.android_package)
    if config.labels is not None:
        read_labels_file(config.labels)
    for role, p in (("calibration", config.calibration_data), ("eval", config.eval_data)):
        if p is not None and not p.exists():
            raise DataError(
                f"the {role} data path {p} does not exist",
                received=str(p),
                supported="a folder with one sub-folder per class of images, or an .npz",
                fix="Check the path",
            )
    if config.quantize == "int8" and config.calibration_data is None:
        check_calibration(Quantization.INT8, None)

    if config.quantize == "auto" and config.eval_data is None:
        raise _auto_needs_labels("no --eval-data")
    if config.task is not None:
        tasks.get(config.task)

    step("Loading model")
    t = time.perf_counter()
    with stdout_to_stderr():
        loaded = load_model(config.model, trust_model=config.trust_model)
    timings["load_s"] = time.perf_counter() - t
    task = tasks.get(config.task) if config.task is not None else tasks.infer(loaded)
    # A task with a flow of its own (e.g. object detection) packages the model itself.
    own = task.package(config, loaded, warn, step)
    if own is not None:
        return own
    spec = loaded.inputs[0]
    channels = spec.shape[-1] if spec.is_image else 1
    if not spec.is_image and spec.shape[-1] is not None and config.mean and len(config.mean) > 1:
        channels = int(spec.shape[-1])
    norm = resolve_normalization(config, loaded, int(channels or 1), warn)
    if config.fold_normalization:
        from .normalization import fold

        norm = fold(norm)
    from .normalization import reference_fn

    reference = reference_fn(loaded, norm)
    calib = evald = None
    if config.calibration_data is not None:
        step("Reading calibration data")
        calib = load_samples(config.calibration_data, loaded, "calibration", warn)
    if config.eval_data is not None:
        step("Reading evaluation data")
        evald = load_samples(config.eval_data, loaded, "evaluation")
    data_names = next(
        (d.class_names for d in (evald, calib) if d is not None and d.class_names), None
    )
    labels, labels_source = resolve_labels(
        config, loaded, task.num_classes(loaded), warn, data_names
    )
    if evald is not None:
        evald = align_labels(evald, labels, warn)

    from .preprocess import normalize

    calib_x = None if calib is None else normalize(calib.x, norm.mean, norm.std)
    auto = None
    eval_reference = None  # Keras outputs on the evaluation samples, when auto computed them
    if config.quantize == "auto":
        step("Building and measuring float32, float16, dynamic and int8 variants")
        t = time.perf_counter()
        conv, auto, eval_reference = _auto(config, loaded, evald, calib_x, norm, reference, warn)
        mode = conv.quantization
        timings["convert_s"] = time.perf_counter() - t
    else:
        mode = Quantization.parse(config.quantize)
        step(f"Converting to TFLite ({mode.value})")
        t = time.perf_counter()
        with stdout_to_stderr():
            conv = convert(loaded, mode, calib_x, norm.folded)
        timings["convert_s"] = time.perf_counter() - t
    if norm.folded is not None:
        from dataclasses import replace

        from .normalization import fold_cost, fusable_layer

        step("Measuring what folding the normalization costs")
        t = time.perf_counter()
        with stdout_to_stderr():
            plain = convert(loaded, Quantization.NONE).tflite
            folded = conv.tflite if mode is Quantization.NONE else None
            if folded is None:
                folded = convert(loaded, Quantization.NONE, None, norm.folded).tflite
        layer = fusable_layer(loaded, norm.folded)
        cost = fold_cost(plain, folded, None if layer is None else str(layer.name))
        norm = replace(norm, fold_cost=cost)
        timings["fold_cost_s"] = time.perf_counter() - t

    step("Writing metadata")
    t = time.perf_counter()
    name = config.name or loaded.name
    lo, hi = _input_range(spec.is_image, norm)
    info = tasks.MetadataInputs(
        name=name,
        description=f"{task.name.replace('_', ' ').capitalize()} packaged by edgesdk {__version__} "
        f"from {loaded.path.name} ({mode.value} quantization).",
        version=config.model_version,
        author=config.author,
        license=config.license,
        labels=labels,
        mean=norm.mean,
        std=norm.std,
        input_min=lo,
        input_max=hi,
    )
    meta = task.metadata(loaded, info)
    model_bytes = metadata.populate(conv.tflite, meta)
    timings["metadata_s"] = time.perf_counter() - t

    step("Checking host parity (tier 1)")
    t = time.perf_counter()
    runner = TFLiteRunner(model_bytes)
    if evald is not None:
        ds, source = evald.take(EVAL_SAMPLES), "eval_data"
    elif calib is not None:
        ds, source = calib.take(200), "calibration_data"
    else:
        from .data import Dataset

        ds, source = Dataset(random_inputs(spec, 8)), "random_inputs"
    if source == "eval_data" and eval_reference is not None:
        ref = eval_reference
    else:
        with stdout_to_stderr():
            ref = reference(ds.x)
    cand = np.stack([runner.run(s, norm.mean, norm.std) for s in ds.x])
    par = parity(ref, cand, ds.y, source)
    evaluation = None
    if source == "eval_data" and ds.y is not None and labels:
        from .report import confusion_matrix

        pred = cand.reshape(len(cand), -1).argmax(axis=1)
        evaluation = {
            "samples": int(len(pred)),
            "labels": list(labels),
            "confusion_matrix": confusion_matrix(ds.y, pred, len(labels)),
        }
    timings["parity_s"] = time.perf_counter() - t
    if par.top1_agreement < 0.9 and mode is not Quantization.NONE:
        warn(
            f"{mode.value} quantization changed the top-1 result on "
            f"{(1 - par.top1_agreement) * 100:.1f}% of {par.samples} {source.replace('_', ' ')} "
            "samples; check the accuracy, or try another --quantize mode"
        )

    report: dict[str, Any] = {
        "edgesdk_version": __version__,
        "model": {
            "source": str(config.model.resolve()),
            "framework": loaded.framework,
            "name": name,
            "task": task.name,
        },
        "inputs": [_tensor_dict(runner.interpreter.get_input_details()[0], spec)],
        "outputs": [_tensor_dict(runner.interpreter.get_output_details()[0], loaded.outputs[0])],
        "normalization": norm.to_dict(),
        "labels": {"count": len(labels), "source": labels_source},
        "quantization": {
            "mode": mode.value,
            "requested": config.quantize,
            "calibration_samples": conv.calibration_samples,
            **({"auto": auto.to_dict()} if auto is not None else {}),
        },
        "size": {
            "tflite_bytes": len(model_bytes),
            "converted_bytes": len(conv.tflite),
            "metadata_overhead_bytes": len(model_bytes) - len(conv.tflite),
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
        },
        "parity": {"tier": "host", **par.to_dict(), **_parity_data(config, source)},
        "warnings": warnings,
    }
    if evaluation is not None:
        report["evaluation"] = evaluation

    step("Writing output")
    with staged_output(config.output, config.force) as stage:
        (stage / "model.tflite").write_bytes(model_bytes)
        labels_path = None
        if labels:
            (stage / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
            labels_path = config.output / "labels.txt"
        kotlin_path = android_path = None
        if config.target == "android":
            t = time.perf_counter()
            kotlin_path, android_path, golden = _generate_android(
                config, stage, model_bytes, name, labels, norm, runner, spec, mode.value, step
            )
            timings["codegen_s"] = time.perf_counter() - t
            if android_path is not None:
                report["android"] = {
                    "runtime": config.android_runtime,
                    "accelerators": list(config.android_accelerators),
                }
            if golden is not None:
                report["golden"] = golden
        timings["total_s"] = time.perf_counter() - t_all
        report["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
        extra = ["report.json"]
        if evald is not None:
            extra.append("report.html")
        report["files"] = sorted(
            [str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file()] + extra
        )
        if evald is not None:
            from .report import render_html

            png = loaded.path.with_name(f"{loaded.path.stem}.training.png")
            (stage / "report.html").write_text(
                render_html(report, png if png.is_file() else None), encoding="utf-8"
            )
        (stage / "report.json").write_text(
            json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    out = config.output
    return PackageResult(
        output=out,
        tflite=out / "model.tflite",
        labels=labels_path,
        report_path=out / "report.json",
        report=report,
        kotlin=None if kotlin_path is None else out / kotlin_path,
        android=None if android_path is None else out / android_path,
        warnings=tuple(warnings),
    )


def _auto(
    config: PackageConfig,
    loaded: LoadedModel,
    evald: Any,
    calib_x: Any,
    norm: Normalization,
    reference: Callable[[np.ndarray], np.ndarray],
    warn: Warn,
) -> tuple[Any, Any, np.ndarray]:
    """Build all variants and measure them on the eval data.

    Returns the chosen conversion, the measurements, and the Keras reference outputs on
    the first :data:`EVAL_SAMPLES` evaluation samples (reused by the parity check).
    """
    from .convert import ORDER_ALL, convert_all
    from .preprocess import normalize
    from .quantize_auto import measure

    if evald is None or evald.y is None:
        raise _auto_needs_labels(
            "no --eval-data" if evald is None else f"--eval-data {config.eval_data} without labels"
        )
    if calib_x is None:
        warn(
            "no --calibration-data: calibrating int8 on the evaluation data, "
            "which makes its accuracy estimate optimistic"
        )
        calib_x = normalize(evald.x, norm.mean, norm.std)
    with stdout_to_stderr():
        results = convert_all(loaded, ORDER_ALL, calib_x, norm.folded)
        ds = evald.take(EVAL_SAMPLES)
        ref = reference(ds.x)
    choice = measure(
        results,
        ref.reshape(len(ds.x), -1),
        ds.x,
        ds.y,
        norm.mean,
        norm.std,
        config.max_accuracy_drop,
    )
    for v in choice.variants:
        for note in v.notes:
            warn(f"{v.mode}: {note}")
    if not any(v.within_budget for v in choice.variants):
        warn(
            f"no variant stays within the {config.max_accuracy_drop} point accuracy budget; "
            "keeping float32"
        )
    return results[choice.chosen], choice, ref


def _auto_needs_labels(received: str) -> ConfigError:
    return ConfigError(
        "--quantize auto needs labelled evaluation data to measure accuracy",
        received=received,
        supported="--eval-data FOLDER (one sub-folder per class) or FILE.npz with x and y",
        fix="Pass --eval-data with labelled held-out samples, or pick --quantize explicitly",
    )


def _tensor_dict(detail: dict[str, Any], spec: Any) -> dict[str, Any]:
    scale, zp = detail.get("quantization", (0.0, 0))
    return {
        "name": spec.name,
        "shape": [int(d) for d in detail["shape"]],
        "dtype": np.dtype(detail["dtype"]).name,
        "quantization": {"scale": float(scale), "zero_point": int(zp)} if scale else None,
    }


def _generate_android(
    config: PackageConfig,
    stage: Path,
    model_bytes: bytes,
    name: str,
    labels: tuple[str, ...],
    norm: Normalization,
    runner: Any,
    spec: Any,
    quantization: str = "none",
    step: Progress | None = None,
) -> tuple[Path | None, Path | None, dict[str, Any] | None]:
    """Write ``kotlin/<ClassName>.kt`` and ``android/`` (image classifiers), with
    ``config.golden_cases`` golden vectors in the app's androidTest assets.

    Returns the wrapper and project paths (relative to ``stage``) and the report's
    ``golden`` section (None when no golden vectors were written).
    """
    if not spec.is_image:
        return None, None, None
    import tempfile

    from .codegen import AndroidRuntime, android_context, generate_android
    from .verify import golden as gv

    ctx = android_context(
        model_name=name,
        labels=labels,
        input_shape=tuple(int(d) for d in runner.input.shape[1:]),
        input_dtype=runner.input.dtype,
        input_quant=(runner.input.scale, runner.input.zero_point),
        output_dtype=runner.output.dtype,
        output_quant=(runner.output.scale, runner.output.zero_point),
        mean=norm.mean,
        std=norm.std,
        class_name=config.class_name,
        android_package=config.android_package,
        author=config.author,
        version=config.model_version,
        runtime=AndroidRuntime(config.android_runtime, config.android_accelerators),
    )
    golden_info = None
    with tempfile.TemporaryDirectory(prefix="edgesdk-golden-") as tmp:
        golden_dir = None
        if config.golden_cases > 0:
            if step:
                step(f"Writing {config.golden_cases} golden vectors")
            _, height, width, channels = (int(d) for d in runner.input.shape)
            if config.eval_data is not None:
                source = "eval_data"
                samples = gv.samples_from_data(config.eval_data, channels, config.golden_cases)
            elif config.calibration_data is not None:
                source = "calibration_data"
                samples = gv.samples_from_data(
                    config.calibration_data, channels, config.golden_cases
                )
            else:
                source, samples = "generated", []
            if not samples:
                source = "generated"
                samples = gv.generated_samples(config.golden_cases, height, width)
            golden = gv.build_golden(
                model_bytes,
                samples,
                mean=ctx.mean,
                std=ctx.std,
                quantization=quantization,
                source=source,
                runner=runner,
            )
            golden_dir = Path(tmp) / "golden"
            gv.write_golden(golden, golden_dir)
            golden_info = {
                "cases": len(golden.cases),
                "source": source,
                "bytes": gv.golden_bytes(golden_dir),
                "path": str(Path("android") / gv.ANDROID_ASSET_DIR),
                "tolerance": golden.tolerance_basis,
                "sizes": sorted({f"{c.width}x{c.height}" for c in golden.cases}),
            }
        gen = generate_android(ctx, model_bytes, stage, golden_dir=golden_dir)
    return gen.kotlin.relative_to(stage), gen.android.relative_to(stage), golden_info
