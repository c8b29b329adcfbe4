"""The HTML of ``fer report``: short pure functions from a :class:`fer_core.report.ReportData` to one page.

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
from typing import TYPE_CHECKING

import numpy as np

from fer_core.evaluation.ablation import SEED_ABLATION
from fer_core.errors import FerError
from fer_core.evaluation.scores import confused_pairs, confusion_sentences
from fer_core.evaluation.label_noise import shared_confusion_sentences, summary_sentences
from fer_core.labels import EMOTIONS
from fer_core.vis import METHOD_TITLES, render

if TYPE_CHECKING:
    from fer_core.report.compute import FeatureMapView, FilterTiles, ReportData, SaliencyFaces

NO_DATA_NOTE = (
    "No FER2013 data given, so this section is left out. Point the report at the data with "
    "<code>fer report RUN --data PATH</code> (fer2013.csv[.gz] or its folder) or set "
    "<code>FER_DATA=PATH</code>."
)

# ----------------------------------------------------------------------------- small HTML helpers


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(image: np.ndarray) -> str:
    """A ``uint8 (H, W)`` or ``(H, W, 3)`` image as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(image: np.ndarray, alt: str, css: str = "") -> str:
    style = f' style="{css}"' if css else ""
    return f'<img src="{png_data_uri(image)}" alt="{_e(alt)}"{style}>'


def _table(header: Sequence[str], rows: Sequence[Sequence], css: str = "") -> str:
    """An HTML table; cells are escaped unless they are ``Markup``."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Markup(str):
    """A string that is already HTML (not escaped by :func:`_table`)."""


def _cell(value) -> str:
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, float):
        return _e(f"{value:.4f}")
    return _e(value)


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _format_value(value) -> str:
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
            f'aria-label="{_e(title)}">'
        ),
        f'<text x="{width / 2:.0f}" y="15" text-anchor="middle" class="chart-title">{_e(title)}</text>',
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


# ----------------------------------------------------------------------------- 1. the model


def _curves_html(data: ReportData) -> str:
    if not data.history:
        return _note(f"No training history ({_e(data.run.history_file)} is missing or empty).")
    charts = "".join(curves_svg(data.history, m, t) for m, t in (("loss", "loss"), ("accuracy", "accuracy")))
    summary = f"{len(data.history)} epochs recorded"
    if data.best is not None:
        summary += f"; best validation accuracy {data.best['val_accuracy']:.4f} at epoch {data.best.get('epoch', 0):g}"
    return f'<div class="charts">{charts}</div><p>{_e(summary)}.</p>'


def _metrics_note(data: ReportData) -> str:
    if not data.metrics_computed:
        return ""
    return _note(
        f"{_e(data.run.metrics_file)} was missing: these numbers were computed now from PublicTest and not "
        f"saved (<code>fer evaluate {_e(data.run.root)}</code> saves them)."
    )


def model_section(data: ReportData) -> str:
    """Section 1: parameters, layers, settings, curves, accuracy and the per-class table."""
    (total, trainable), metrics = data.parameters, data.metrics
    rows = [(r["layer"], r["type"], r["output"], f"{r['parameters']:,}") for r in data.layers]
    layers_table = _table(("layer", "type", "output shape", "parameters"), rows, "layers")
    settings = _table(("setting", "value"), [(k, _format_value(v)) for k, v in data.config.items()])
    per_class = [
        (emotion, row["precision"], row["recall"], row["f1"], row["support"])
        for emotion, row in metrics.get("per_class", {}).items()
    ]
    return f"""
<section id="model"><h2>1. The model, its training and its accuracy</h2>
<p>Model <b>{_e(data.keras_name)}</b>: {total:,} parameters ({trainable:,} trainable, {total - trainable:,}
non-trainable). Input: raw pixels (N, 48, 48, 1) in 0..255; output: 7 softmax probabilities.</p>
<div class="cols"><div>{layers_table}</div><div><h3>Training settings</h3>{settings}</div></div>
<h3>Training curves</h3>{_curves_html(data)}
<h3>Accuracy</h3>
<p class="big">{_e(metrics.get("split", "public"))} accuracy: <b>{metrics["accuracy"]:.5f}</b> ({metrics.get("samples", "?")} faces)</p>
{_metrics_note(data)}
{_table(("emotion", "precision", "recall", "F1", "support"), per_class, "num")}
{splits_html(data.splits) if data.splits is not None else ""}
</section>"""


def splits_html(found) -> str:
    """The splits' brightness, contrast and sharpness (a :class:`fer_core.shift` comparison), and the difference in words."""
    if not found.profiles:
        return ""
    rows = [[name, f"{p.brightness:.1f}", f"{p.contrast:.1f}", f"{p.sharpness:.4f}"] for name, p in found.profiles.items()]
    table = _table(["split", "brightness", "contrast (std)", "sharpness"], rows)
    if found.warning:
        words = _note(_e(found.warning))
    elif found.compared:
        words = "<p>Training and PublicTest faces look alike.</p>"
    else:
        words = "<p>Training and PublicTest are not both in this dataset, so they were not compared.</p>"
    return f"<h3>The data</h3><p>Medians per face; sharpness is the share of spectral power above 0.125 " \
           f"cycles/pixel.</p>{table}{words}"


# ----------------------------------------------------------------------------- 2. ablation


def _ablation_cell(entries: list[dict] | None, seed: tuple[float, float]) -> Markup:
    seed_text = f'<div class="seed">seed report: {seed[0]:.5f} public / {seed[1]:.5f} private</div>'
    if not entries:
        return Markup(f'<div class="missing">no run</div>{seed_text}')
    lines = []
    for entry in entries:
        if entry["accuracy"] is None:
            lines.append(f'<div>{_e(entry["name"])}: <span class="missing">not evaluated</span></div>')
            continue
        delta = entry["accuracy"] - seed[0]
        extra = "" if entry["source"] == "metrics.json" else f" ({_e(entry['source'])})"
        split = "" if entry["split"] == "public" else f" on {_e(entry['split'])}"
        lines.append(
            f'<div><b>{entry["accuracy"]:.5f}</b>{split} <span class="delta">({delta:+.4f})</span> '
            f'<span class="runname">{_e(entry["name"])}</span>{_epochs(entry)}{extra}</div>'
        )
    scored = [e["accuracy"] for e in entries if e["source"] == "metrics.json"]
    if len(scored) > 1:
        lines.append(f"<div>mean of {len(scored)} evaluated runs: <b>{np.mean(scored):.5f}</b></div>")
    return Markup("".join(lines) + seed_text)


def _epochs(entry: dict) -> str:
    return f" ({entry['epochs']} epochs)" if entry.get("epochs") is not None else ""


def _ablation_notes(folder, groups: dict, skipped: list[str]) -> str:
    other = {k: v for k, v in groups.items() if k not in SEED_ABLATION}
    notes = ""
    if not groups:
        notes += _note(f"No run directories (subfolders with config.json) found in {_e(folder)}.")
    if other:
        names = "; ".join(
            f"{k[0]}/{'aug' if k[1] else 'no aug'}: {', '.join(e['name'] for e in v)}" for k, v in other.items()
        )
        notes += _note(f"Runs outside the 2x2 table: {_e(names)}.")
    if skipped:
        notes += _note(f"Skipped: {_e('; '.join(skipped))}.")
    return notes


def ablation_section(ablation) -> str:
    """Section 2 from ``(folder, groups, skipped, findings)`` (:mod:`fer_core.ablation`); ``""`` for ``None``."""
    if ablation is None:
        return ""
    folder, groups, skipped, findings = ablation
    rows = [
        [label] + [_ablation_cell(groups.get((norm, aug)), SEED_ABLATION[(norm, aug)]) for aug in (False, True)]
        for norm, label in (("none", "no normalization"), ("standardize", "standardize (per-pixel mean/std)"))
    ]
    table = _table(("normalization \\ augmentation", "off", "on"), rows, "ablation")
    return f"""
<section id="ablation"><h2>2. Normalization and augmentation</h2>
<p>Public accuracy of the runs in <code>{_e(folder)}</code>, by their config's <code>normalization</code>
and <code>augment</code>; the difference in brackets is against the seed report's public number.</p>
{table}
<ul>{"".join(f"<li>{_e(finding)}</li>" for finding in findings)}</ul>
{_ablation_notes(folder, groups, skipped)}
</section>"""


# ----------------------------------------------------------------------------- 3. confusion


def _confusion_table(matrix: np.ndarray, classes: Sequence[str], columns: str = "predicted") -> str:
    totals = matrix.sum(axis=1)
    head = f"<tr><th>true \\ {_e(columns)}</th>" + "".join(f"<th>{_e(c)}</th>" for c in classes) + "<th>faces</th></tr>"
    body = []
    for i, name in enumerate(classes):
        cells = []
        for j in range(len(classes)):
            rate = matrix[i, j] / totals[i] if totals[i] else 0.0
            hue = "46,160,67" if i == j else "214,39,40"  # green diagonal, red mistakes
            color = "#fff" if rate > 0.55 else "#111"
            cells.append(
                f'<td style="background:rgba({hue},{min(1.0, rate):.3f});color:{color}">'
                f"{int(matrix[i, j])}<br><small>{rate:.0%}</small></td>"
            )
        body.append(f"<tr><th>{_e(name)}</th>{''.join(cells)}<td>{int(totals[i])}</td></tr>")
    return f'<table class="confusion"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def confusion_section(metrics: dict) -> str:
    """Section 3: the coloured confusion matrix of ``metrics.json`` and the most-confused pairs in words."""
    matrix = np.asarray(metrics["confusion_matrix"], np.int64)
    classes = metrics.get("classes", list(EMOTIONS))
    if matrix.shape != (len(classes), len(classes)):
        expected = f"{len(classes)}x{len(classes)}"
        raise FerError(f"metrics.json: confusion_matrix has shape {matrix.shape} (expected {expected})")
    sentences = confusion_sentences(matrix, 3, classes)
    said = "".join(f"<li>{_e(s)}</li>" for s in sentences) or "<li>no confusions: every face is right</li>"
    return f"""
<section id="confusion"><h2>3. Which classes get confused</h2>
<p>Rows are the true emotion, columns the predicted one; each cell gives the count and the share of the
row (row %). Green: correct; red: mistakes, darker for a larger share.</p>
{_confusion_table(matrix, classes)}
<h3>Most-confused pairs</h3><ul class="pairs">{said}</ul>
{_annotators_html(metrics["ferplus"], matrix, classes) if "ferplus" in metrics else ""}
</section>"""


def _annotators_html(ferplus: dict, matrix: np.ndarray, classes: Sequence[str]) -> str:
    """FER+'s annotators beside the model: their figures, their matrix, the confusions both make."""
    annotators = np.asarray(ferplus["annotator_confusion"], np.int64)
    summary = "".join(f"<li>{_e(s)}</li>" for s in summary_sentences(ferplus))
    shared = "".join(f"<li>{_e(s)}</li>" for s in shared_confusion_sentences(confused_pairs(matrix, 3), annotators))
    return f"""<h3>FER+'s ten annotators</h3><ul class="pairs">{summary}</ul>
<p>The FER2013 label (rows) against the annotators' majority (columns), faces with a majority only.</p>
{_confusion_table(annotators, classes, "FER+ majority")}
<h3>The model's top confusions beside the annotators'</h3><ul class="pairs">{shared}</ul>"""


# ----------------------------------------------------------------------------- 4. saliency


def _face_cell(found: SaliencyFaces, n: int) -> Markup:
    label, predicted = found.labels[n], int(found.probabilities[n].argmax())
    true, pred = EMOTIONS[label], EMOTIONS[predicted]
    mark = "correct" if label == predicted else "wrong"
    caption = (
        f'<div class="cap">PublicTest #{found.rows[n]}: <b>{_e(true)}</b><br>predicted '
        f'<span class="{mark}">{_e(pred)}</span> {found.probabilities[n, predicted]:.0%}</div>'
    )
    return Markup(_img(render.upscale(found.faces[n], 2), f"{true} face") + caption)


def saliency_html(found: SaliencyFaces) -> str:
    """Section 4's body: one row per face, the face then one overlay per method."""
    if not found.rows:
        return _note("None of the chosen classes occurs in PublicTest.")
    methods = list(found.maps)
    header = ["face"] + [METHOD_TITLES.get(m, m) for m in methods]
    rows = [
        [_face_cell(found, n)]
        + [Markup(_img(render.overlay(found.faces[n], found.maps[m][n], factor=2), f"{m} map")) for m in methods]
        for n in range(len(found.rows))
    ]
    return (
        f"<p>Each map explains the class the model predicted (its pre-softmax score), shown in jet over the "
        f"face (|map|, clipped at the 99th percentile). SmoothGrad averages {found.smoothgrad_samples} noisy copies "
        f"(Smilkov et al. 2017); Grad-CAM uses the last conv block's rectified output (Selvaraju et al. 2017).</p>"
        + _table(header, rows, "faces")
    )


# ----------------------------------------------------------------------------- 5. filters and feature maps


def filters_html(tiles: FilterTiles) -> str:
    """Section 5a: the gradient-ascent images, each with its filter and mean activation."""
    figures = "".join(
        f"<figure>{_img(render.upscale(image, 2), f'filter {f}')}<figcaption>#{f}<br>{a:.2g}</figcaption></figure>"
        for image, f, a in zip(tiles.images, tiles.filters, tiles.activations)
    )
    return (
        f"<p>Images that maximize the mean activation of the first {len(tiles.filters)} filters of "
        f"<code>{_e(tiles.layer)}</code> by gradient ascent ({tiles.steps} Adam steps on a 1/f Fourier "
        f"parameterization with jitter, scale and rotation; Erhan et al. 2009, Olah et al. 2017): the images "
        f"the dashboard shows. Under each: the filter and its mean activation on the image.</p>"
        f'<div class="tiles">{figures}</div>'
    )


def feature_maps_html(view: FeatureMapView) -> str:
    """Section 5b: one face and the grid of ``view.layer``'s channels on it."""
    if view.maps.ndim != 4:
        return _note(f"Layer {_e(view.layer)} has output shape {view.maps.shape[1:]}, not (H, W, C): no maps to show.")
    _, h, w, c = view.maps.shape
    grid = render.feature_map_grid(view.maps[0], columns=min(32, c), cmap="viridis", factor=max(1, 48 // max(h, w)))
    label = f"true {EMOTIONS[view.label]}, " if view.label is not None else ""
    predicted = f"{EMOTIONS[int(view.probabilities.argmax())]} {view.probabilities.max():.0%}"
    return (
        f"<p>The output of <code>{_e(view.layer)}</code> ({h}x{w}, {c} channels; before BatchNorm and LeakyReLU) for "
        f"PublicTest #{view.index} ({_e(label)}predicted {predicted}). Each channel is scaled on its own min "
        f"and max (viridis).</p>{_img(render.upscale(view.face, 3), 'chosen face')}"
        f'<div class="fm">{_img(grid, "feature maps", "width:100%;height:auto")}</div>'
    )


def _face_sections(data: ReportData) -> list[str]:
    """Sections 4 and 5, or notes saying how to point at the data."""
    if data.saliency is not None:
        saliency = saliency_html(data.saliency)
    elif data.data_source is None:
        saliency = _note(NO_DATA_NOTE)
    else:
        saliency = _note("The dataset has no labeled PublicTest split: section left out.")
    if data.feature_maps is not None:
        maps = feature_maps_html(data.feature_maps)
    else:
        maps = _note(NO_DATA_NOTE.replace("this section is", "the feature maps are"))
    return [
        f'<section id="saliency"><h2>4. Saliency maps</h2>{saliency}</section>',
        f'<section id="filters"><h2>5. What the filters of {_e(data.filters.layer)} respond to</h2>'
        f"<h3>Gradient ascent</h3>{filters_html(data.filters)}<h3>Feature maps</h3>{maps}</section>",
    ]


# ----------------------------------------------------------------------------- page


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


def _page(title: str, sections: list[str], subtitle: str) -> str:
    present = "".join(sections)
    nav = " ".join(
        f'<a href="#{i}">{_e(t)}</a>'
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
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1><p>{subtitle}</p><nav>{nav}</nav>"
        + "".join(sections)
        + "<footer>Generated by <code>fer report</code> (FER Lens). Self-contained: no external resources."
        "</footer></body></html>\n"
    )


def page(data: ReportData) -> str:
    """The whole report page for ``data``."""
    sections = [model_section(data), ablation_section(data.ablation), confusion_section(data.metrics)]
    sections += _face_sections(data)
    title = f"FER Lens report: {data.run.root.resolve().name}"
    data_text = f"data: <code>{_e(data.data_source)}</code>" if data.data_source is not None else "no dataset"
    subtitle = f"Run <code>{_e(data.run.root)}</code>; model <code>{_e(data.model_name)}</code>; {data_text}."
    return _page(title, sections, subtitle)
