"""The detector's ``report.html``: one self-contained page: mAP per variant, box agreement,
AP@0.5 per class, and previews of evaluation images with their ground truth and what the
shipped model detects (inline SVG over the image as a base64 PNG; nothing is fetched)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: How many evaluation images the report shows, and the score a drawn detection needs.
PREVIEW_IMAGES = 6
PREVIEW_SCORE = 0.3
#: Displayed size of a preview (the image is scaled up without smoothing).
PREVIEW_PX = 240
_COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#9a6324",
           "#800000", "#808000", "#000075")  # fmt: skip

@dataclass(frozen=True)
class Preview:
    """One evaluation image: its PNG, ground-truth and detected boxes (ymin, xmin, ymax, xmax
    in [0, 1]) with class indices, and the detections' scores."""

    png: bytes
    width: int
    height: int
    gt_boxes: np.ndarray
    gt_classes: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray


def previews(
    images: np.ndarray, data: Any, detections: Sequence[Any], labels: Sequence[str]
) -> list[Preview]:
    """The first :data:`PREVIEW_IMAGES` evaluation images with their boxes; the shipped
    model's detections with a score of at least :data:`PREVIEW_SCORE`."""
    from PIL import Image

    out = []
    for i in range(min(PREVIEW_IMAGES, len(images), len(detections))):
        pixels = np.clip(np.rint(images[i]), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels[..., :3]).save(buf, format="PNG")
        d = detections[i]
        keep = d.scores >= PREVIEW_SCORE
        sample = data.samples[i] if data is not None else None
        out.append(
            Preview(
                buf.getvalue(), pixels.shape[1], pixels.shape[0],
                np.zeros((0, 4)) if sample is None else sample.boxes,
                np.zeros((0,), int) if sample is None else sample.classes,
                d.boxes[keep], d.classes[keep], d.scores[keep],
            )  # fmt: skip
        )
    return out


def _box(b: np.ndarray, size: int) -> tuple[float, float, float, float]:
    y0, x0, y1, x1 = (float(np.clip(v, 0.0, 1.0)) * size for v in b)
    return x0, y0, max(x1 - x0, 0.0), max(y1 - y0, 0.0)


def _preview_svg(p: Preview, labels: Sequence[str]) -> str:
    s = PREVIEW_PX
    data = base64.b64encode(p.png).decode()
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{s}' height='{s}' viewBox='0 0 {s} {s}' "
        "role='img' class='pv'>",
        f"<image href='data:image/png;base64,{data}' width='{s}' height='{s}' "
        "preserveAspectRatio='none' style='image-rendering:pixelated'/>",
    ]
    for b in p.gt_boxes:
        x, y, w, h = _box(b, s)
        parts.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' fill='none' "
            "stroke='#fff' stroke-width='2' stroke-dasharray='5 3'/>"
        )
    for b, c, score in zip(p.boxes, p.classes, p.scores, strict=True):
        x, y, w, h = _box(b, s)
        color = _COLORS[int(c) % len(_COLORS)]
        name = labels[int(c)] if 0 <= int(c) < len(labels) else str(int(c))
        text = _e(f"{name[:24]} {float(score):.2f}")
        ty = y - 3 if y > 14 else y + 13
        parts.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' fill='none' "
            f"stroke='{color}' stroke-width='2'/><text x='{x + 2:.1f}' y='{ty:.1f}' "
            f"fill='{color}' font-size='12' font-weight='bold' paint-order='stroke' "
            f"stroke='#fff' stroke-width='3'>{text}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _per_class_html(report: dict[str, Any], labels: Sequence[str], chosen: str) -> str:
    det = report["detection"]
    keras = (det.get("keras") or {}).get("per_class_ap50") or []
    ours = next(
        (v.get("per_class_ap50") or [] for v in det["variants"] if v["mode"] == chosen), []
    )
    if not ours:
        return ""
    rows = [f"<tr><th class='l'>class</th><th>Keras</th><th>{_e(chosen)}</th></tr>"]
    for i, ap in enumerate(ours):
        name = labels[i] if i < len(labels) else str(i)
        k = keras[i] if i < len(keras) else None
        rows.append(
            f"<tr><td class='l'>{_e(name)}</td><td>{_pct(k)}</td><td>{_pct(ap)}</td></tr>"
        )
    return (
        "<h2>AP@0.5 per class</h2>"
        f"<table>{''.join(rows)}</table><p class='muted'>In percent; – for a class without "
        "ground truth in the evaluation images.</p>"
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1d1d1f;"
    "padding:0 1rem}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;"
    "border-bottom:1px solid #ddd}table{border-collapse:collapse}td,th{border:1px solid #ddd;"
    "padding:.3rem .6rem;text-align:right}th{background:#f5f5f7}.l{text-align:left}"
    ".chosen{font-weight:bold;background:#e8f5e9}.muted{color:#666;font-size:.9rem}"
    ".pv{margin:0 .5rem .5rem 0;border:1px solid #ddd}"
)


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}"


def render_detection_html(
    report: dict[str, Any], labels: Sequence[str] = (), shown: Sequence[Preview] = ()
) -> str:
    det = report["detection"]
    chosen = report["quantization"]["mode"]
    keras = det.get("keras") or {}
    rows = [
        "<tr><th class='l'>variant</th><th>size (bytes)</th><th>mAP@0.5</th>"
        "<th>mAP@[.5:.95]</th><th>Keras boxes reproduced</th><th>max score diff</th>"
        "<th>latency (ms, host)</th></tr>",
        f"<tr><td class='l'>Keras (reference)</td><td>–</td><td>{_pct(keras.get('map50'))}</td>"
        f"<td>{_pct(keras.get('map'))}</td><td>–</td><td>–</td><td>–</td></tr>",
    ]
    for v in det["variants"]:
        a = v["box_agreement"]
        cls = " class='chosen'" if v["mode"] == chosen else ""
        rows.append(
            f"<tr{cls}><td class='l'>{_e(v['mode'])}</td><td>{v['tflite_bytes']:,}</td>"
            f"<td>{_pct(v['map50'])}</td><td>{_pct(v['map'])}</td>"
            f"<td>{a['matched']}/{a['reference_detections']}</td><td>{a['max_score_diff']:.2g}</td>"
            f"<td>{v['latency_ms_host']:.2f}</td></tr>"
        )
    model = report["model"]
    golden = report.get("golden")
    golden_html = (
        f"<p>{golden['cases']} golden cases ({golden['detections']} detections scoring ≥ "
        f"{golden.get('score_threshold', 0.05):g}) in <code>{_e(golden['path'])}</code>; a device "
        "passes a case when every detection is found with the same class, IoU ≥ "
        f"{golden['min_iou']} and a score within {golden['score_tolerance']}.</p>"
        if golden
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(model['name'])} – edgesdk object detector</title><style>{_CSS}</style>"
        f"</head><body><h1>{_e(model['name'])}</h1>"
        f"<p class='muted'>Object detector from {_e(model['source'])}, packaged by edgesdk "
        f"{_e(report['edgesdk_version'])}; {det['anchors']['count']} anchors; post-processing "
        f"<code>TFLite_Detection_PostProcess</code> (max {det['postprocess']['max_detections']} "
        f"detections, score &gt; {det['postprocess']['score_threshold']}, NMS IoU "
        f"{det['postprocess']['iou_threshold']}).</p>"
        f"<h2>Variants (chosen: {_e(chosen)})</h2><table>{''.join(rows)}</table>"
        f"<p class='muted'>mAP in percent (COCO-style, 101-point) on {det['images']['count']} "
        f"{_e(det['images']['source'].replace('_', ' '))} images; boxes reproduced: Keras "
        "detections scoring ≥ 0.3 (what an app shows) matched by a .tflite detection with the "
        "same class and IoU ≥ 0.9 (host, tier 1)."
        f"</p>{_per_class_html(report, labels, chosen)}{_previews_html(shown, labels, chosen)}"
        f"<h2>Golden detections</h2>{golden_html}</body></html>\n"
    )


def _previews_html(shown: Sequence[Preview], labels: Sequence[str], chosen: str) -> str:
    if not shown:
        return ""
    return (
        f"<h2>Detections ({_e(chosen)}, host)</h2><div>"
        + "".join(_preview_svg(p, labels) for p in shown)
        + f"</div><p class='muted'>The first {len(shown)} evaluation images: ground truth dashed "
        f"white, the packaged model's detections with a score of at least {PREVIEW_SCORE} in "
        "colour (class and score), computed by LiteRT on the host.</p>"
    )
