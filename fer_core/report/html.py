"""The HTML of ``fer report``: the building blocks of the page (escaping, tables, embedded PNGs, SVG curves,
the page shell and its CSS).

The page is self-contained: images are embedded as base64 PNG ``data:`` URIs,
charts are inline SVG, the CSS is inline, there is no JavaScript and nothing is
fetched. No Keras here: the numbers and maps are computed by
:func:`fer_core.report.compute_report`; images are made by :mod:`fer_core.vis.render`.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

NO_DATA_NOTE = (
    "No FER2013 data given, so this section is left out. Point the report at the data with "
    "<code>fer report RUN --data PATH</code> (fer2013.csv[.gz] or its folder) or set "
    "<code>FER_DATA=PATH</code>."
)

# ----------------------------------------------------------------------------- small HTML helpers


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(image: np.ndarray) -> str:
    """A ``uint8 (H, W)`` or ``(H, W, 3)`` image as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def img_tag(image: np.ndarray, alt: str, css: str = "") -> str:
    style = f' style="{css}"' if css else ""
    return f'<img src="{png_data_uri(image)}" alt="{escape(alt)}"{style}>'


def html_table(header: Sequence[str], rows: Sequence[Sequence], css: str = "") -> str:
    """An HTML table; cells are escaped unless they are ``Markup``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Markup(str):
    """A string that is already HTML (not escaped by :func:`_table`)."""


def cell(value) -> str:
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, float):
        return escape(f"{value:.4f}")
    return escape(value)


def note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


def curves_svg(history: list[dict], metric: str, title: str, width: int = 340, height: int = 210) -> str:
    """An inline SVG line chart of ``metric`` and ``val_metric`` over epochs (train blue, validation orange).

    ``history`` is :meth:`Run.history`'s rows. Returns ``""`` when neither series is present.
    """
    series = [
        (key, label, color)
        for key, label, color in ((metric, "train", "#1f77b4"), (f"val_{metric}", "validation", "#ff7f0e"))
        if any(key in row and math.isfinite(row[key]) for row in history)
    ]
    if not series:
        return ""
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
    values = [row[key] for key, _, _ in series for row in history if key in row and math.isfinite(row[key])]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    pad = 0.05 * (high - low)
    low, high = low - pad, high + pad
    left, right, top, bottom = 46, 10, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    e0, e1 = min(epochs), max(epochs)

    def x(epoch: float) -> float:
        return left + (plot_w / 2 if e1 == e0 else (epoch - e0) / (e1 - e0) * plot_w)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts = [
        (
            f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}">'
        ),
        f'<text x="{width / 2:.0f}" y="15" text-anchor="middle" class="chart-title">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>',
    ]
    for k in range(5):  # horizontal grid and value ticks
        v = low + (high - low) * k / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">{v:.3g}</text>')
    ticks = sorted({e0, e1, *(epochs[:: max(1, len(epochs) // 6)])})
    for epoch in ticks:
        parts.append(
            f'<text x="{x(epoch):.1f}" y="{top + plot_h + 14}" text-anchor="middle" class="tick">{epoch:g}</text>'
        )
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle" class="tick">epoch</text>')
    for n, (key, label, color) in enumerate(series):
        points = [(x(e), y(row[key])) for e, row in zip(epochs, history) if key in row and math.isfinite(row[key])]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"/>' for px, py in points]
        lx = left + 8 + n * 90
        parts.append(
            f'<line x1="{lx}" x2="{lx + 16}" y1="{top + 10}" y2="{top + 10}" stroke="{color}" '
            f'stroke-width="2"/><text x="{lx + 20}" y="{top + 14}" class="tick">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;
color:#222;padding:0 16px;line-height:1.4}
h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
nav a{margin-right:14px}code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;
vertical-align:top}thead th{background:#f5f5f5}table.num td:not(:first-child){text-align:right}
table.layers td:last-child{text-align:right}
table.confusion td{text-align:center;min-width:58px}table.confusion small{opacity:.85}
table.ablation td{min-width:260px}.seed{color:#666;font-size:12px;margin-top:4px}.missing{color:#999}
.delta{color:#555}.runname{color:#777;font-size:12px}
.cols{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}.charts{display:flex;gap:16px;flex-wrap:wrap}
.chart-title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#444}
.big{font-size:18px}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px}
table.faces td{text-align:center}.cap{font-size:12px}.correct{color:#2a8a2a;font-weight:600}
.wrong{color:#c62828;font-weight:600}img{image-rendering:pixelated}
.tiles{display:flex;flex-wrap:wrap;gap:6px}figure{margin:0;text-align:center}figcaption{font-size:11px;color:#555}
.fm{margin-top:8px;max-width:100%}footer{margin-top:40px;color:#888;font-size:12px}
"""


def page_shell(title: str, sections: list[str], subtitle: str) -> str:
    present = "".join(sections)
    nav = " ".join(
        f'<a href="#{i}">{escape(t)}</a>'
        for i, t in (
            ("model", "1. model"),
            ("ablation", "2. ablation"),
            ("confusion", "3. confusion"),
            ("saliency", "4. saliency"),
            ("filters", "5. filters"),
        )
        if f'id="{i}"' in present
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1><p>{subtitle}</p><nav>{nav}</nav>"
        + "".join(sections)
        + "<footer>Generated by <code>fer report</code> (FER Lens). Self-contained: no external resources."
        "</footer></body></html>\n"
    )
