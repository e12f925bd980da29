"""``report.html``: one self-contained page (no external files, images inline).

Shows the packaged model, the host parity, the confusion matrix on the evaluation
data, size vs accuracy of every quantization variant (inline SVG), and the training
curves when the model was trained by ``edgesdk train`` (its PNG, inlined as base64).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

_CSS = (
    "\n"
    "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;"
    "max-width:960px;color:#1d1d1f;padding:0 1rem}\n"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;"
    "padding-bottom:.3rem}\n"
    "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;"
    "padding:.3rem .6rem;text-align:right}\n"
    "th{background:#f5f5f7}td.l,th.l{text-align:left}.chosen{font-weight:bold;background:#e8f5e9}\n"
    ".muted{color:#666;font-size:.9rem}.cm td{min-width:2.2rem;text-align:center}\n"
)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> list[list[int]]:
    """Rows: true class; columns: predicted class."""
    m = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true.astype(int), y_pred.astype(int), strict=True):
        if 0 <= t < n and 0 <= p < n:
            m[t, p] += 1
    return m.tolist()


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _kv_table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _confusion_html(cm: list[list[int]], labels: list[str]) -> str:
    peak = max(1, max((max(r) for r in cm), default=1))
    head = "".join(f"<th>{_e(lab)}</th>" for lab in labels)
    rows = []
    for lab, row in zip(labels, cm, strict=True):
        total = max(1, sum(row))
        cells = []
        for j, v in enumerate(row):
            alpha = v / peak
            colour = (
                f"rgba(46,125,50,{alpha:.2f})"
                if lab == labels[j]
                else f"rgba(198,40,40,{alpha:.2f})"
            )
            cells.append(
                f"<td style='background:{colour}' "
                f"title='{v / total * 100:.0f}% of {_e(lab)}'>{v}</td>"
            )
        rows.append(f"<tr><th class='l'>{_e(lab)}</th>{''.join(cells)}</tr>")
    return (
        "<table class='cm'><tr><th class='l'>true \\ predicted</th>"
        + head
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def _variants_svg(variants: list[dict[str, Any]], chosen: str) -> str:
    """Size (x, KB) vs accuracy (y, %) scatter as inline SVG."""
    w, h, pad = 560, 300, 50
    sizes = [v["size_bytes"] / 1024 for v in variants]
    accs = [v["accuracy"] * 100 for v in variants]
    x0, x1 = 0.0, max(sizes) * 1.1
    lo = min(accs)
    y0, y1 = max(0.0, lo - max(2.0, (max(accs) - lo) * 0.5)), min(100.0, max(accs) + 1.0)
    if y1 <= y0:
        y1 = y0 + 1

    def px(s: float) -> float:
        return pad + (s - x0) / (x1 - x0) * (w - 2 * pad)

    def py(a: float) -> float:
        return h - pad - (a - y0) / (y1 - y0) * (h - 2 * pad)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' role='img' "
        "aria-label='size vs accuracy of each variant'>",
        f"<line x1='{pad}' y1='{h - pad}' x2='{w - pad}' y2='{h - pad}' stroke='#888'/>",
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{h - pad}' stroke='#888'/>",
        f"<text x='{w / 2}' y='{h - 12}' text-anchor='middle' font-size='12'>size (KB)</text>",
        f"<text x='14' y='{h / 2}' font-size='12' transform='rotate(-90 14 {h / 2})' "
        "text-anchor='middle'>accuracy (%)</text>",
        f"<text x='{pad}' y='{h - pad + 16}' font-size='10' text-anchor='middle'>0</text>",
        f"<text x='{w - pad}' y='{h - pad + 16}' font-size='10' "
        f"text-anchor='middle'>{x1:.0f}</text>",
        f"<text x='{pad - 6}' y='{h - pad}' font-size='10' text-anchor='end'>{y0:.1f}</text>",
        f"<text x='{pad - 6}' y='{pad + 4}' font-size='10' text-anchor='end'>{y1:.1f}</text>",
    ]
    for v, s, a in zip(variants, sizes, accs, strict=True):
        colour = (
            "#2e7d32" if v["mode"] == chosen else ("#1565c0" if v["within_budget"] else "#c62828")
        )
        parts.append(f"<circle cx='{px(s):.1f}' cy='{py(a):.1f}' r='6' fill='{colour}'/>")
        parts.append(
            f"<text x='{px(s) + 9:.1f}' y='{py(a) - 8:.1f}' font-size='11'>{_e(v['mode'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(
    report: dict[str, Any],
    training_png: Path | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The whole page as a string (deterministic for a given report).

    ``extra`` adds sections: title -> {name: value} table.
    """
    m = report["model"]
    q = report["quantization"]
    p = report["parity"]
    n = report["normalization"]
    out: list[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>edgesdk report: {_e(m['name'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(m['name'])}</h1>",
        f"<p class='muted'>Packaged by edgesdk {_e(report['edgesdk_version'])} "
        f"from {_e(m['source'])} "
        f"({_e(m['framework'])}, task {_e(m['task'])}).</p>",
        "<h2>Model</h2>",
        _kv_table(
            [
                ("input", f"{report['inputs'][0]['shape']} {report['inputs'][0]['dtype']}"),
                ("output", f"{report['outputs'][0]['shape']} {report['outputs'][0]['dtype']}"),
                ("normalization", f"mean {n['mean']}, std {n['std']} ({n['source']})"),
                *(
                    [("folded into the model", json.dumps(n["folded"], sort_keys=True))]
                    if n.get("folded")
                    else []
                ),
                ("labels", f"{report['labels']['count']} ({report['labels']['source']})"),
                ("quantization", f"{q['mode']} (requested: {q.get('requested', q['mode'])})"),
                ("size", f"{report['size']['tflite_bytes']:,} bytes"),
            ]
        ),
        "<h2>Host parity (tier 1)</h2>",
        _kv_table(
            [
                ("samples", f"{p['samples']} ({p['source'].replace('_', ' ')})"),
                ("top-1 agreement with Keras", f"{p['top1_agreement'] * 100:.2f}%"),
                ("max |difference|", f"{p['max_abs_diff']:.3e}"),
            ]
            + (
                [
                    (
                        "accuracy Keras / TFLite",
                        f"{p['reference_accuracy'] * 100:.2f}% / {p['tflite_accuracy'] * 100:.2f}%",
                    )
                ]
                if p.get("tflite_accuracy") is not None
                else []
            )
        ),
    ]
    auto = q.get("auto")
    if auto:
        out.append(
            f"<h2>Quantization variants</h2><p class='muted'>Budget: {auto['budget_pct']} accuracy "
            f"points below Keras ({auto['reference_accuracy'] * 100:.2f}%). Latency: LiteRT "
            "interpreter on this host, one thread, median.</p>"
        )
        out.append(_variants_svg(auto["variants"], auto["chosen"]))
        head = "".join(
            f"<th>{h}</th>"
            for h in (
                "variant",
                "size (bytes)",
                "accuracy",
                "drop (pts)",
                "top-1 agreement",
                "latency (ms)",
                "notes",
            )
        )
        rows = []
        for v in auto["variants"]:
            cls = " class='chosen'" if v["mode"] == auto["chosen"] else ""
            rows.append(
                f"<tr{cls}><td class='l'>{_e(v['mode'])}</td><td>{v['size_bytes']:,}</td>"
                f"<td>{v['accuracy'] * 100:.2f}%</td><td>{v['accuracy_drop_pct']:.2f}</td>"
                f"<td>{v['top1_agreement'] * 100:.2f}%</td><td>{v['latency_ms']:.3f}</td>"
                f"<td class='l'>{_e('; '.join(v['notes']))}</td></tr>"
            )
        out.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    ev = report.get("evaluation")
    if ev:
        out.append(
            f"<h2>Confusion matrix</h2><p class='muted'>The packaged model on {ev['samples']} "
            "evaluation samples.</p>"
        )
        out.append(_confusion_html(ev["confusion_matrix"], ev["labels"]))
    if training_png is not None and training_png.exists():
        data = base64.b64encode(training_png.read_bytes()).decode()
        out.append("<h2>Training</h2>")
        out.append(
            f"<img alt='training curves' src='data:image/png;base64,{data}' style='max-width:100%'>"
        )
    for title, section in (extra or {}).items():
        out.append(f"<h2>{_e(title)}</h2>")
        out.append(_kv_table([(k, _fmt(v)) for k, v in section.items()]))
    if report.get("warnings"):
        out.append(
            "<h2>Warnings</h2><ul>"
            + "".join(f"<li>{_e(w)}</li>" for w in report["warnings"])
            + "</ul>"
        )
    out.append("</body></html>\n")
    return "".join(out)
