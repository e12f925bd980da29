"""``package`` for object detectors: the detector task's own flow.

config -> anchors, labels, normalization -> data (COCO/VOC eval, calibration) -> convert
each variant with ``TFLite_Detection_PostProcess`` appended -> metadata -> measure (mAP,
Keras-vs-TFLite box agreement, size, host latency) -> choose (``auto``: smallest within the
mAP budget) -> write (atomically): model, labels, report.json/html, Kotlin and app with
golden detections.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..convert import Quantization
from ..errors import ConfigError, DataError
from ..models import LoadedModel
from .anchors import check_anchors
from .data import DetectionData, is_detection_data, load_detection_data
from .export import convert_detector, output_order, raw_output_indices
from .metrics import average_precision, mean_average_precision
from .postprocess import Detections, PostProcessOptions, detect, match
from .runner import DetectorRunner

if TYPE_CHECKING:
    from ..config import PackageConfig
    from ..pipeline import PackageResult
    from ..tasks.object_detector import ObjectDetector

Warn = Callable[[str], None]
#: Evaluation images used at most (mAP, agreement); latency is timed on the first few.
EVAL_IMAGES = 200
LATENCY_RUNS = 20
#: Variants ``auto`` builds, largest first.
AUTO_ORDER = (Quantization.NONE, Quantization.FLOAT16, Quantization.DYNAMIC, Quantization.INT8)


@dataclass
class Variant:
    """One converted detector and what was measured on it."""

    mode: Quantization
    model: bytes
    calibration_samples: int
    runner: DetectorRunner
    converted_bytes: int = 0
    map50: float | None = None
    map: float | None = None
    agreement: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    within_budget: bool = True
    #: AP@0.5 per class (None for a class without ground truth), with evaluation data
    per_class_ap50: list[float | None] = field(default_factory=list)
    #: the detections on the measured images (for the report's previews)
    detections: list[Detections] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "tflite_bytes": len(self.model),
            "map50": _r(self.map50),
            "map": _r(self.map),
            "per_class_ap50": self.per_class_ap50,
            "box_agreement": self.agreement,
            "latency_ms_host": round(self.latency_ms, 3),
            "within_budget": self.within_budget,
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def resolve_anchors(
    config: PackageConfig, loaded: LoadedModel, num_boxes: int
) -> tuple[np.ndarray, str]:
    from .model import read_detector_info

    if config.anchors is not None:
        try:
            raw = np.load(config.anchors, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"could not read the anchors file {config.anchors}",
                received=f"{type(exc).__name__}: {exc}",
                supported="a .npy file holding a float [num_boxes, 4] array",
                fix="Write it with numpy.save('anchors.npy', anchors)",
            ) from None
        return check_anchors(raw, num_boxes), "file"
    info = read_detector_info(loaded.path)
    if info is not None:
        return check_anchors(info["anchors"], num_boxes), "model"
    raise ConfigError(
        "the detector's anchors are unknown",
        received=f"{loaded.path.name} carries no anchors and no --anchors was given",
        supported="detectors trained by 'edgesdk train --task object_detector', or "
        "--anchors anchors.npy with one (ycenter, xcenter, height, width) row per box, in 0..1",
        fix="Pass --anchors anchors.npy with the anchors the model was trained with",
    )


def _eval_data(path: Path | None) -> DetectionData | None:
    if path is None:
        return None
    if not is_detection_data(path):
        raise DataError(
            f"the object detector's --eval-data {path} is not a detection data set",
            received=str(path),
            supported="a COCO folder (labels.json + images/) or a Pascal VOC folder "
            "(Annotations/ + JPEGImages/)",
            fix="Pass annotated images with boxes",
        )
    return load_detection_data(path)


def _calibration(
    path: Path | None, loaded: LoadedModel, size: tuple[int, int]
) -> np.ndarray | None:
    if path is None:
        return None
    if is_detection_data(path):
        from ..preprocess import resize_bilinear

        data = load_detection_data(path)
        return np.stack(
            [resize_bilinear(s.image.astype(np.float32), *size) for s in data.samples[:256]]
        )
    from ..pipeline import load_samples

    return np.asarray(load_samples(path, loaded, "calibration").x, np.float32)


def keras_detections(
    loaded: LoadedModel,
    x: np.ndarray,
    anchors: np.ndarray,
    mean: Any,
    std: Any,
    opts: PostProcessOptions,
) -> list[Detections]:
    """The Keras model's detections on raw images (resized), numpy post-processing."""
    from ..preprocess import normalize

    box_i, score_i = raw_output_indices(loaded)
    xin = normalize(x, mean, std).astype(np.float32)
    outs = loaded.model.predict(xin, batch_size=16, verbose=0)
    return [detect(outs[box_i][i], outs[score_i][i], anchors, opts) for i in range(len(x))]


#: The Keras detections host parity counts: those an app shows (the sample screen and the
#: report draw from 0.3). Below it the op keeps near-threshold detections whose presence flips
#: with any rounding (measured on the demo detector, int8: 86% of all Keras detections
#: reproduced, 98% of those scoring >= 0.3, 99% of those >= 0.5).
AGREEMENT_MIN_SCORE = 0.3
#: IoU a reproduced detection needs with the Keras one (same class).
AGREEMENT_IOU = 0.9


def agreement(
    reference: list[Detections], dets: list[Detections], min_score: float = AGREEMENT_MIN_SCORE
) -> dict[str, Any]:
    """How many of the Keras detections scoring at least ``min_score`` the ``.tflite``
    reproduces (a detection of any score, same class, IoU >= :data:`AGREEMENT_IOU`), over all
    images, and the largest score gap of a matched pair."""
    gaps, matched, total = [], 0, 0
    for r, d in zip(reference, dets, strict=True):
        keep = r.scores >= np.float32(min_score)
        m = match(Detections(r.boxes[keep], r.classes[keep], r.scores[keep]), d, AGREEMENT_IOU)
        matched += int(m["matched"])
        total += int(m["reference"])
        gaps.append(m["max_score_diff"])
    return {
        "images": len(dets),
        "reference_detections": total,
        "matched": matched,
        "fraction": round(matched / total, 4) if total else 1.0,
        "max_score_diff": round(max(gaps, default=0.0), 5),
        "iou_threshold": AGREEMENT_IOU,
        "min_reference_score": min_score,
    }


def _measure(
    v: Variant,
    images: np.ndarray,
    reference: list[Detections],
    gt: DetectionData | None,
    num_classes: int,
) -> None:
    dets = [v.runner.detect(im) for im in images]
    v.detections = dets
    v.agreement = agreement(reference, dets)
    if gt is not None:
        boxes = [s.boxes for s in gt.samples[: len(images)]]
        classes = [s.classes for s in gt.samples[: len(images)]]
        scores = mean_average_precision(dets, boxes, classes, num_classes)
        v.map50, v.map = scores["map50"], scores["map"]
        v.per_class_ap50 = _per_class(dets, boxes, classes, num_classes)
    n = min(LATENCY_RUNS, len(images))
    v.runner.detect(images[0])
    t = time.perf_counter()
    for im in images[:n]:
        v.runner.detect(im)
    v.latency_ms = (time.perf_counter() - t) / max(n, 1) * 1000


def _per_class(
    dets: list[Detections], boxes: list[np.ndarray], classes: list[np.ndarray], n: int
) -> list[float | None]:
    aps = average_precision(dets, boxes, classes, n, 0.5)
    return [None if np.isnan(a) else round(float(a), 4) for a in aps]


def package_detector(
    task: ObjectDetector,
    config: PackageConfig,
    loaded: LoadedModel,
    on_warning: Warn,
    step: Callable[[str], None],
) -> PackageResult:
    from .. import metadata
    from .._io import staged_output, stdout_to_stderr
    from ..pipeline import PackageResult, _input_range, resolve_labels, resolve_normalization
    from ..tasks import MetadataInputs

    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    warnings: list[str] = []

    def warn(msg: str) -> None:
        warnings.append(msg)
        on_warning(msg)

    if not task.matches(loaded):
        raise ConfigError(
            "the model is not an object detector edgesdk can package",
            received=f"inputs {[i.shape for i in loaded.inputs]}, "
            f"outputs {[o.shape for o in loaded.outputs]}",
            supported="one RGB image input [1, H, W, 3] and two outputs: box encodings "
            "[1, A, 4] and class scores [1, A, C] (sigmoid, no background column)",
            fix="Export the detector's raw head outputs (before NMS), or use another --task",
        )
    box_i, score_i = raw_output_indices(loaded)
    num_boxes = int(loaded.outputs[box_i].shape[1] or 0)
    num_classes = int(loaded.outputs[score_i].shape[-1] or 0)
    anchors, anchors_source = resolve_anchors(config, loaded, num_boxes)
    labels, labels_source = resolve_labels(config, loaded, num_classes, warn)
    norm = resolve_normalization(config, loaded, 3, warn)
    spec = loaded.inputs[0]
    _, h, w, _ = (int(d or 0) for d in spec.shape)
    opts = PostProcessOptions(score_threshold=task.score_threshold)

    step("Reading data")
    evald = _eval_data(config.eval_data)
    if evald is not None and len(evald.class_names) != num_classes:
        raise DataError(
            "the evaluation data's classes do not match the detector's",
            received=f"{len(evald.class_names)} classes in {config.eval_data}, "
            f"model has {num_classes}",
            fix="Evaluate on data annotated with the classes the model was trained on",
        )
    calib_raw = _calibration(config.calibration_data, loaded, (h, w))
    if evald is not None:
        images, _, _ = DetectionData(evald.samples[:EVAL_IMAGES], evald.class_names, "").resized(h)
        source = "eval_data"
    elif calib_raw is not None:
        images, source = calib_raw[:32], "calibration_data"
    else:
        from .data import draw_shapes

        images = draw_shapes(8, size=h, seed=123).resized(h)[0]
        source = "generated_images"

    from ..preprocess import normalize

    if config.quantize == "auto":
        modes: tuple[Quantization, ...] = AUTO_ORDER
        if calib_raw is None:
            warn(
                "no --calibration-data: calibrating int8 on the evaluation data, "
                "which makes its mAP estimate optimistic"
            )
            calib_raw = images
    else:
        modes = (Quantization.parse(config.quantize),)
    calib = None if calib_raw is None else normalize(calib_raw, norm.mean, norm.std)

    with stdout_to_stderr():
        reference = keras_detections(loaded, images, anchors, norm.mean, norm.std, opts)
    keras_map: dict[str, Any] | None = None
    if evald is not None:
        gt_boxes = [s.boxes for s in evald.samples[: len(images)]]
        gt_classes = [s.classes for s in evald.samples[: len(images)]]
        keras_map = dict(mean_average_precision(reference, gt_boxes, gt_classes, num_classes))
        keras_map["per_class_ap50"] = _per_class(reference, gt_boxes, gt_classes, num_classes)

    name = config.name or loaded.name
    lo, hi = _input_range(True, norm)
    variants: list[Variant] = []
    t = time.perf_counter()
    for mode in modes:
        step(f"Converting to TFLite with the detection post-processing ({mode.value})")
        with stdout_to_stderr():
            conv = convert_detector(loaded, anchors, mode, calib, opts)
        order = output_order(conv.tflite)
        info = MetadataInputs(
            name=name,
            description=f"Object detector packaged by edgesdk {__version__} from "
            f"{loaded.path.name} ({mode.value} quantization).",
            version=config.model_version,
            author=config.author,
            license=config.license,
            labels=labels,
            mean=norm.mean,
            std=norm.std,
            input_min=lo,
            input_max=hi,
            output_names=order.names(),
        )
        model_bytes = metadata.populate(conv.tflite, task.metadata(loaded, info))
        runner = DetectorRunner(model_bytes, norm.mean, norm.std)
        v = Variant(mode, model_bytes, conv.calibration_samples, runner, len(conv.tflite))
        step(f"Measuring {mode.value} on {len(images)} {source.replace('_', ' ')} (host, tier 1)")
        _measure(v, images, reference, evald, num_classes)
        variants.append(v)
    timings["convert_and_measure_s"] = time.perf_counter() - t

    chosen = variants[0]
    if config.quantize == "auto":
        base = variants[0].map50 or 0.0
        for v in variants:
            v.within_budget = (base - (v.map50 or 0.0)) * 100 <= config.max_accuracy_drop
        ok = [v for v in variants if v.within_budget]
        chosen = min(ok, key=lambda v: len(v.model)) if ok else variants[0]
        if not ok:
            warn("no variant stays within the mAP budget; keeping float32")
    if chosen.agreement.get("fraction", 1.0) < 0.9:
        warn(
            f"{chosen.mode.value}: only {chosen.agreement['fraction'] * 100:.0f}% of the Keras "
            f"detections scoring >= {AGREEMENT_MIN_SCORE} are reproduced by the .tflite "
            "(same class, IoU >= 0.9)"
        )

    model_bytes = chosen.model
    runner = chosen.runner
    det = runner.interpreter
    inp = det.get_input_details()[0]
    report: dict[str, Any] = {
        "edgesdk_version": __version__,
        "model": {
            "source": str(config.model.resolve()),
            "framework": loaded.framework,
            "name": name,
            "task": task.name,
        },
        "inputs": [_tensor(inp, spec.name)],
        "outputs": [
            _tensor(det.get_output_details()[i], n) for i, n in enumerate(runner.order.names())
        ],
        "normalization": norm.to_dict(),
        "labels": {"count": len(labels), "source": labels_source},
        "quantization": {
            "mode": chosen.mode.value,
            "requested": config.quantize,
            "calibration_samples": chosen.calibration_samples,
            **(
                {
                    "auto": {
                        "budget_map_points": config.max_accuracy_drop,
                        "chosen": chosen.mode.value,
                    }
                }
                if config.quantize == "auto"
                else {}
            ),
        },
        "size": {
            "tflite_bytes": len(model_bytes),
            "converted_bytes": chosen.converted_bytes,
            "metadata_overhead_bytes": len(model_bytes) - chosen.converted_bytes,
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
        },
        "detection": {
            "anchors": {"count": int(len(anchors)), "source": anchors_source},
            "postprocess": {"op": "TFLite_Detection_PostProcess", **opts.to_dict()},
            "keras": None
            if keras_map is None
            else {k: v if isinstance(v, list) else _r(v) for k, v in keras_map.items()},
            "variants": [v.to_dict() for v in variants],
            "images": {"count": int(len(images)), "source": source},
        },
        "parity": {"tier": "host", "source": source, **chosen.agreement},
        "warnings": warnings,
    }

    report["summary"] = _summary_rows(report)

    step("Writing output")
    with staged_output(config.output, config.force) as stage:
        (stage / "model.tflite").write_bytes(model_bytes)
        (stage / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
        kotlin_path = android_path = None
        if config.target == "android":
            from .android import generate_detector_android

            t = time.perf_counter()
            kotlin_path, android_path, golden = generate_detector_android(
                config,
                stage,
                model_bytes,
                name,
                labels,
                norm,
                runner,
                images,
                chosen.mode.value,
                opts,
            )
            timings["codegen_s"] = time.perf_counter() - t
            # The runtime the wrapper was generated for (verify reads it), as for classifiers.
            report["android"] = {
                "runtime": config.android_runtime,
                "accelerators": list(config.android_accelerators),
            }
            if golden is not None:
                report["golden"] = golden
        timings["total_s"] = time.perf_counter() - t_all
        report["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
        extra = ["report.json"] + (["report.html"] if evald is not None else [])
        report["files"] = sorted(
            [str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file()] + extra
        )
        if evald is not None:
            from .report import previews, render_detection_html

            shown = previews(images, evald, chosen.detections, labels)
            (stage / "report.html").write_text(
                render_detection_html(report, labels, shown), encoding="utf-8"
            )
        (stage / "report.json").write_text(
            json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    out = config.output
    return PackageResult(
        output=out,
        tflite=out / "model.tflite",
        labels=out / "labels.txt",
        report_path=out / "report.json",
        report=report,
        kotlin=None if kotlin_path is None else out / kotlin_path,
        android=None if android_path is None else out / android_path,
        warnings=tuple(warnings),
    )


def _summary_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the CLI's summary table."""
    inp = report["inputs"][0]
    n = report["normalization"]
    det = report["detection"]
    p = report["parity"]
    rows = [
        ["input", f"{inp['shape']} {inp['dtype']}"],
        ["outputs", ", ".join(f"{o['name']} {o['shape']}" for o in report["outputs"])],
        ["normalization", f"mean {n['mean']} std {n['std']} ({n['source']})"],
        ["labels", f"{report['labels']['count']} ({report['labels']['source']})"],
        ["anchors", f"{det['anchors']['count']} ({det['anchors']['source']})"],
        [
            "quantization",
            report["quantization"]["mode"]
            + (" (auto)" if report["quantization"]["requested"] == "auto" else ""),
        ],
        ["size", f"{report['size']['tflite_bytes']:,} bytes"],
        [
            "parity",
            f"{p['matched']}/{p['reference_detections']} Keras detections (score >= "
            f"{AGREEMENT_MIN_SCORE}) reproduced "
            f"(same class, IoU >= 0.9), max score diff {p['max_score_diff']:.2g} on {p['images']} "
            f"{p['source'].replace('_', ' ')} (host, tier 1)",
        ],
    ]
    for v in det["variants"]:
        if v["map50"] is not None:
            rows.append(
                [
                    f"mAP {v['mode']}",
                    f"{v['map50'] * 100:.1f} @0.5, "
                    f"{v['map'] * 100:.1f} @[.5:.95]; {v['tflite_bytes']:,} bytes; "
                    f"{v['latency_ms_host']:.2f} ms (host)",
                ]
            )
    if det["keras"]:
        rows.append(
            [
                "mAP Keras",
                f"{det['keras']['map50'] * 100:.1f} @0.5, "
                f"{det['keras']['map'] * 100:.1f} @[.5:.95]",
            ]
        )
    return rows


def _tensor(detail: dict[str, Any], name: str) -> dict[str, Any]:
    scale, zp = detail.get("quantization", (0.0, 0))
    return {
        "name": name,
        "shape": [int(d) for d in detail["shape"]],
        "dtype": np.dtype(detail["dtype"]).name,
        "quantization": {"scale": float(scale), "zero_point": int(zp)} if scale else None,
    }
