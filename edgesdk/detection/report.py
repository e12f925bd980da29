"""The detector's ``report.html``: one self-contained page (mAP per variant, box agreement)."""

from __future__ import annotations

import html
from typing import Any

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1d1d1f;"
    "padding:0 1rem}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;"
    "border-bottom:1px solid #ddd}table{border-collapse:collapse}td,th{border:1px solid #ddd;"
    "padding:.3rem .6rem;text-align:right}th{background:#f5f5f7}.l{text-align:left}"
    ".chosen{font-weight:bold;background:#e8f5e9}.muted{color:#666;font-size:.9rem}"
)


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}"


def render_detection_html(report: dict[str, Any]) -> str:
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
        f"<p>{golden['cases']} golden cases ({golden['detections']} detections) in "
        f"<code>{_e(golden['path'])}</code>; a device passes a case when every detection is "
        f"found with the same class, IoU ≥ {golden['min_iou']} and a score within "
        f"{golden['score_tolerance']}.</p>"
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
        "detections matched by the .tflite with the same class and IoU ≥ 0.9 (host, tier 1)."
        f"</p><h2>Golden detections</h2>{golden_html}</body></html>\n"
    )
