"""``fer report``: the seed report's five answers for any run, as one HTML page.

The page answers, for one run directory (see :mod:`fer_core.runs`):

1. the model: a layer table like ``model.summary()``, the training settings
   (``config.json``), training curves drawn as inline SVG from ``history.csv``,
   public accuracy and a per-class precision/recall/F1 table (``metrics.json``);
2. the effect of normalization and augmentation: a 2x2 table built from a folder
   of run directories, beside the seed report's public/private numbers;
3. the confusion matrix as a coloured table, and the most-confused pairs in words;
4. saliency maps (vanilla gradient, SmoothGrad, Grad-CAM) for PublicTest faces;
5. gradient-ascent images of one conv layer's filters, and that layer's outputs
   (feature maps) on one face.

The page is self-contained: images are embedded as base64 PNG ``data:`` URIs,
the CSS is inline, there is no JavaScript and nothing is fetched. It is written
atomically (temporary file, then rename). Without a dataset the sections that
need faces say how to point at FER2013 instead.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from fer_core.data import load_optional_dataset
from fer_core.errors import FerError
from fer_core.labels import EMOTIONS
from fer_core.runs import Run, write_text
from fer_core.vis import METHOD_TITLES

DEFAULT_METHODS: tuple[str, ...] = ("vanilla", "smoothgrad", "grad_cam")

# The seed report's 2x2 ablation: (normalization, augment) -> (public, private) accuracy.
SEED_ABLATION: dict[tuple[str, bool], tuple[float, float]] = {
    ("none", False): (0.58066, 0.59152),
    ("standardize", False): (0.59877, 0.60769),
    ("none", True): (0.69434, 0.70409),
    ("standardize", True): (0.68737, 0.69295),
}

NO_DATA_NOTE = (
    "No FER2013 data given, so this section is left out. Point the report at the data with "
    "<code>fer report RUN --data PATH</code> (fer2013.csv[.gz] or its folder) or set "
    "<code>FER_DATA=PATH</code>."
)

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    """Print ``report: message`` on stderr (the default progress indication)."""
    print(f"report: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- confusion in words


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


# ----------------------------------------------------------------------------- 1. the model


def _param_counts(model) -> tuple[int, int]:
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = sum(int(np.prod(w.shape)) for w in model.weights)
    return total, trainable


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


def _model_section(run: Run, model, config: dict, history: list[dict], metrics: dict, metrics_note: str,
                   data_html: str = "") -> str:
    from fer_core.models import layer_summary

    total, trainable = _param_counts(model)
    layers_table = _table(
        ("layer", "type", "output shape", "parameters"),
        [(r["layer"], r["type"], r["output"], f"{r['parameters']:,}") for r in layer_summary(model)],
        "layers",
    )
    settings = _table(("setting", "value"), [(k, _format_value(v)) for k, v in config.items()])
    charts = "".join(curves_svg(history, m, t) for m, t in (("loss", "loss"), ("accuracy", "accuracy")))
    if history:
        best = max(history, key=lambda r: r.get("val_accuracy", float("-inf")))
        summary = f"{len(history)} epochs recorded"
        if "val_accuracy" in best:
            summary += f"; best validation accuracy {best['val_accuracy']:.4f} at epoch {best.get('epoch', 0):g}"
        curves = f'<div class="charts">{charts}</div><p>{_e(summary)}.</p>'
    else:
        curves = _note(f"No training history ({_e(run.history_file)} is missing or empty).")
    split = metrics.get("split", "public")
    per_class = [
        (emotion, row["precision"], row["recall"], row["f1"], row["support"])
        for emotion, row in metrics.get("per_class", {}).items()
    ]
    return f"""
<section id="model"><h2>1. The model, its training and its accuracy</h2>
<p>Model <b>{_e(model.name)}</b>: {total:,} parameters ({trainable:,} trainable, {total - trainable:,}
non-trainable). Input: raw pixels (N, 48, 48, 1) in 0..255; output: 7 softmax probabilities.</p>
<div class="cols"><div>{layers_table}</div><div><h3>Training settings</h3>{settings}</div></div>
<h3>Training curves</h3>{curves}
<h3>Accuracy</h3>
<p class="big">{_e(split)} accuracy: <b>{metrics["accuracy"]:.5f}</b> ({metrics.get("samples", "?")} faces)</p>
{metrics_note}
{_table(("emotion", "precision", "recall", "F1", "support"), per_class, "num")}
{data_html}
</section>"""


def _splits_html(dataset) -> str:
    """The splits' brightness, contrast and sharpness, and how Training differs from PublicTest in words."""
    from fer_core.shift import compare_splits

    found = compare_splits(dataset)
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


def ablation_runs(folder: str | os.PathLike) -> tuple[dict[tuple[str, bool], list[dict]], list[str]]:
    """The run directories under ``folder``, grouped by ``(normalization, augment)``.

    Each entry is ``{"name", "accuracy" (float or None), "split", "source", "epochs"}``:
    accuracy from ``metrics.json``, else the best ``val_accuracy`` in
    ``history.csv`` (``source`` says which), else ``None``.

    Returns:
        ``(groups, skipped)``: ``skipped`` names subfolders that are not usable runs, with the reason.

    Raises:
        FerError: when ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FerError(f"{root}: no such folder (--ablation expects a folder of run directories)")
    groups: dict[tuple[str, bool], list[dict]] = {}
    skipped = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        run = Run(sub)
        if not run.config_file.is_file():
            skipped.append(f"{sub.name} (no config.json)")
            continue
        try:
            config = run.config()
        except FerError as exc:
            skipped.append(f"{sub.name} ({exc})")
            continue
        if "normalization" not in config or "augment" not in config:
            skipped.append(f"{sub.name} (config.json lacks normalization or augment)")
            continue
        if config.get("model", "seed") != "seed":
            skipped.append(f"{sub.name} (model {config['model']}, not the seed CNN)")
            continue
        entry = {"name": sub.name, "accuracy": None, "split": "public", "source": "not evaluated",
                 "epochs": config.get("epochs")}
        if run.metrics_file.is_file():
            try:
                metrics = run.metrics()
                entry.update(
                    accuracy=float(metrics["accuracy"]), split=metrics.get("split", "public"), source="metrics.json"
                )
            except (FerError, KeyError, TypeError, ValueError):
                entry["source"] = "metrics.json unreadable"
        if entry["accuracy"] is None:
            try:
                val = [r["val_accuracy"] for r in run.history() if "val_accuracy" in r]
            except (ValueError, OSError):
                val = []
            if val:
                entry.update(accuracy=max(val), source="best val_accuracy in history.csv")
        groups.setdefault((str(config["normalization"]), bool(config["augment"])), []).append(entry)
    return groups, skipped


def ablation_rows(folder: str | os.PathLike) -> list[dict]:
    """The 2x2 normalization x augmentation table as rows, ours beside the seed report's.

    Returns:
        One dict per cell: ``normalization``, ``augmentation`` (bool), ``ours``
        (best PublicTest accuracy among the cell's runs, or ``None``), ``runs``
        (their names), ``epochs`` (their training budgets, as text), ``seed
        public`` and ``seed private`` (the report's).
    """
    groups, _ = ablation_runs(folder)
    rows = []
    for (norm, aug), (public, private) in SEED_ABLATION.items():
        entries = [e for e in groups.get((norm, aug), []) if e["accuracy"] is not None]
        rows.append({
            "normalization": norm,
            "augmentation": aug,
            "ours": max((e["accuracy"] for e in entries), default=None),
            "runs": ", ".join(e["name"] for e in entries),
            "epochs": ", ".join(sorted({str(e["epochs"]) for e in entries})),
            "seed public": public,
            "seed private": private,
        })
    return rows


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


def _ablation_section(folder: str | os.PathLike | None) -> str:
    if folder is None:
        return ""
    groups, skipped = ablation_runs(folder)
    rows = []
    for norm, label in (("none", "no normalization"), ("standardize", "standardize (per-pixel mean/std)")):
        rows.append(
            [label] + [_ablation_cell(groups.get((norm, aug)), SEED_ABLATION[(norm, aug)]) for aug in (False, True)]
        )
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
    table = _table(("normalization \\ augmentation", "off", "on"), rows, "ablation")
    return f"""
<section id="ablation"><h2>2. Normalization and augmentation</h2>
<p>Public accuracy of the runs in <code>{_e(folder)}</code>, by their config's <code>normalization</code>
and <code>augment</code>; the difference in brackets is against the seed report's public number.</p>
{table}
{notes}
</section>"""


# ----------------------------------------------------------------------------- 3. confusion


def _confusion_table(matrix: np.ndarray, classes: Sequence[str]) -> str:
    totals = matrix.sum(axis=1)
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{_e(c)}</th>" for c in classes) + "<th>faces</th></tr>"
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


def _confusion_section(metrics: dict) -> str:
    matrix = np.asarray(metrics["confusion_matrix"], np.int64)
    classes = metrics.get("classes", list(EMOTIONS))
    if matrix.shape != (len(classes), len(classes)):
        expected = f"{len(classes)}x{len(classes)}"
        raise FerError(f"metrics.json: confusion_matrix has shape {matrix.shape} (expected {expected})")
    from fer_core.evaluate import confusion_sentences

    sentences = confusion_sentences(matrix, 3, classes)
    said = "".join(f"<li>{_e(s)}</li>" for s in sentences) or "<li>no confusions: every face is right</li>"
    return f"""
<section id="confusion"><h2>3. Which classes get confused</h2>
<p>Rows are the true emotion, columns the predicted one; each cell gives the count and the share of the
row (row %). Green: correct; red: mistakes, darker for a larger share.</p>
{_confusion_table(matrix, classes)}
<h3>Most-confused pairs</h3><ul class="pairs">{said}</ul>
</section>"""


# ----------------------------------------------------------------------------- 4. saliency


def pick_faces(labels: np.ndarray, classes: Sequence[str | int] = EMOTIONS) -> list[int]:
    """The row of the first face of each of ``classes`` (names or indices) that occurs in ``labels``."""
    rows = []
    for c in classes:
        index = EMOTIONS.index(c) if isinstance(c, str) else int(c)
        found = np.flatnonzero(np.asarray(labels) == index)
        if found.size:
            rows.append(int(found[0]))
    return rows


def _saliency_section(model, split, classes, methods, smoothgrad_samples, progress: Progress) -> str:
    from fer_core.evaluate import predict_proba
    from fer_core.vis.render import overlay, upscale
    from fer_core.vis.saliency import saliency

    rows = pick_faces(split.labels, classes)
    if not rows:
        return _note("None of the chosen classes occurs in PublicTest.")
    faces, labels = split.images[rows], split.labels[rows]
    probabilities = predict_proba(model, faces)
    predicted = probabilities.argmax(axis=1)
    maps = {}
    for k, method in enumerate(methods, 1):
        progress(f"saliency {method} on {len(rows)} faces ({k}/{len(methods)})...")
        options = {"samples": smoothgrad_samples} if method == "smoothgrad" else {}
        maps[method] = saliency(model, faces, method, target=predicted, **options)
    header = ["face"] + [METHOD_TITLES.get(m, m) for m in methods]
    table_rows = []
    for n, row in enumerate(rows):
        true, pred = EMOTIONS[labels[n]], EMOTIONS[predicted[n]]
        mark = "correct" if labels[n] == predicted[n] else "wrong"
        caption = (
            f'<div class="cap">PublicTest #{row}: <b>{_e(true)}</b><br>predicted '
            f'<span class="{mark}">{_e(pred)}</span> {probabilities[n, predicted[n]]:.0%}</div>'
        )
        cells = [Markup(_img(upscale(faces[n], 2), f"{true} face") + caption)]
        cells += [Markup(_img(overlay(faces[n], maps[m][n], factor=2), f"{m} map")) for m in methods]
        table_rows.append(cells)
    return (
        f"<p>Each map explains the class the model predicted (its pre-softmax score), shown in jet over the "
        f"face (|map|, clipped at the 99th percentile). SmoothGrad averages {smoothgrad_samples} noisy copies "
        f"(Smilkov et al. 2017); Grad-CAM uses the last conv layer (Selvaraju et al. 2017).</p>"
        + _table(header, table_rows, "faces")
    )


# ----------------------------------------------------------------------------- 5. filters and feature maps


def _filters_html(model, layer: str, filter_count: int, steps: int, progress: Progress) -> str:
    from fer_core.vis.filters import channel_count, gradient_ascent
    from fer_core.vis.render import upscale

    count = min(filter_count, channel_count(model, layer))
    progress(f"gradient ascent: {count} filters of {layer}, {steps} steps...")
    start = time.perf_counter()
    result = gradient_ascent(model, layer, np.arange(count), steps=steps)
    progress(f"gradient ascent done in {time.perf_counter() - start:.1f} s")
    tiles = "".join(
        f"<figure>{_img(upscale(image, 2), f'filter {f}')}<figcaption>#{f}<br>{s:.2g}→{e:.2g}</figcaption></figure>"
        for image, f, s, e in zip(result.images, result.filters, result.start, result.final)
    )
    return (
        f"<p>Images that maximize the mean activation of the first {count} filters of <code>{_e(layer)}</code> "
        f"by gradient ascent ({steps} Adam steps on a 1/f Fourier parameterization with jitter, scale and "
        f"rotation; Erhan et al. 2009, Olah et al. 2017). Under each: the filter and its mean activation "
        f'on the start noise → on the image.</p><div class="tiles">{tiles}</div>'
    )


def _feature_maps_html(model, split, layer: str, face_index: int, progress: Progress) -> str:
    from fer_core.evaluate import predict_proba
    from fer_core.vis.feature_maps import feature_maps
    from fer_core.vis.render import feature_map_grid, upscale

    if not 0 <= face_index < len(split):
        raise FerError(f"face index {face_index} out of range (PublicTest has {len(split)} faces: 0..{len(split) - 1})")
    progress(f"feature maps of {layer} on PublicTest #{face_index}...")
    face = split.images[face_index]
    maps = feature_maps(model, face[None], layer)
    probabilities = predict_proba(model, face[None])[0]
    label = f"true {EMOTIONS[split.labels[face_index]]}, " if split.labeled else ""
    if maps.ndim != 4:
        return _note(f"Layer {_e(layer)} has output shape {maps.shape[1:]}, not (H, W, C): no maps to show.")
    _, h, w, c = maps.shape
    columns = min(32, c)
    factor = max(1, 48 // max(h, w))
    grid_image = feature_map_grid(maps[0], columns=columns, cmap="viridis", factor=factor)
    return (
        f"<p>The output of <code>{_e(layer)}</code> ({h}x{w}, {c} channels; before BatchNorm and LeakyReLU) for "
        f"PublicTest #{face_index} ({_e(label)}predicted {EMOTIONS[int(probabilities.argmax())]} "
        f"{probabilities.max():.0%}). Each channel is scaled on its own min and max (viridis).</p>"
        f"{_img(upscale(face, 3), 'chosen face')}"
        f'<div class="fm">{_img(grid_image, "feature maps", "width:100%;height:auto")}</div>'
    )


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


def _load_metrics(run: Run, model, public, progress: Progress) -> tuple[dict, str]:
    """``metrics.json``, or (when it is missing and PublicTest is at hand) metrics computed now."""
    if run.metrics_file.is_file():
        return run.metrics(), ""
    if public is None:
        raise FerError(
            f"{run.metrics_file}: no such file (run `fer evaluate {run.root}` first, "
            "or pass --data to score PublicTest now)"
        )
    from fer_core.evaluate import metrics_from_probabilities, predict_proba

    progress(f"no metrics.json: scoring {len(public)} PublicTest faces...")
    metrics = metrics_from_probabilities(predict_proba(model, public.images), public.labels, "public")
    note = _note(
        f"{_e(run.metrics_file)} was missing: these numbers were computed now from PublicTest and not "
        f"saved (<code>fer evaluate {_e(run.root)}</code> saves them)."
    )
    return metrics, note


def write_report(
    run_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    dataset=None,
    ablation_dir: str | os.PathLike | None = None,
    layer: str = "conv5",
    face_index: int | None = None,
    *,
    classes: Sequence[str | int] = EMOTIONS,
    methods: Sequence[str] = DEFAULT_METHODS,
    smoothgrad_samples: int = 8,
    filter_count: int = 16,
    ascent_steps: int = 48,
    progress: Progress | None = stderr_progress,
) -> Path:
    """Write the five-question report for one run as a single self-contained HTML file.

    Args:
        run_dir: a run directory with ``model.keras``, ``config.json`` and
            ``metrics.json`` (``history.csv`` optional; ``metrics.json`` may be
            missing when ``dataset`` has PublicTest: it is then computed, not saved).
        out_path: the ``.html`` file to write (atomically; folders are created).
        dataset: a :class:`fer_core.data.Dataset` (its labeled ``public`` split is
            used), a path to FER2013, or ``None``: the face sections then say how
            to point at the data.
        ablation_dir: a folder of run directories for the normalization x
            augmentation table (section 2 is left out when ``None``).
        layer: the layer whose filters and feature maps section 5 shows.
        face_index: the PublicTest row for the feature maps (default: the first
            face chosen for the saliency section).
        classes: the emotions (names or indices) whose first PublicTest face gets saliency maps.
        methods: saliency methods (keys of :data:`fer_core.vis.saliency.METHODS`).
        smoothgrad_samples: noisy copies per face for SmoothGrad.
        filter_count: gradient-ascent images for the first this many filters of ``layer``.
        ascent_steps: Adam steps of gradient ascent.
        progress: called with a short message before each slow step (default:
            lines ``report: ...`` on stderr); ``None`` for silence.

    Returns:
        The path written.

    Raises:
        FerError: one line, for a missing run folder or file, an unknown layer or
            method, a face index out of range, or a bad dataset path.
    """
    say = progress or (lambda message: None)
    run = Run(run_dir)
    if not run.root.is_dir():
        raise FerError(f"{run.root}: no such run directory")
    for file in (run.model_file, run.config_file):
        if not file.is_file():
            raise FerError(f"{file}: no such file (a run directory holds model.keras, config.json, metrics.json)")
    from fer_core.vis.saliency import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise FerError(f"unknown saliency method '{unknown[0]}' (expected one of {', '.join(METHODS)})")
    if dataset is not None and not hasattr(dataset, "splits"):
        dataset = load_optional_dataset(dataset)
    public = dataset.splits.get("public") if dataset is not None else None
    if public is not None and not public.labeled:
        public = None
    config = run.config()
    if ablation_dir is not None:
        ablation_runs(ablation_dir)  # fail early on a wrong folder, before the slow steps

    say(f"loading {run.model_file}...")
    from fer_core.models import load_model
    from fer_core.vis.probes import find_layer

    model = load_model(run.model_file)
    find_layer(model, layer)
    metrics, metrics_note = _load_metrics(run, model, public, say)

    if dataset is not None:
        say("profiling the splits...")
    data_html = _splits_html(dataset) if dataset is not None else ""
    sections = [
        _model_section(run, model, config, run.history(), metrics, metrics_note, data_html),
        _ablation_section(ablation_dir),
        _confusion_section(metrics),
    ]
    if public is None:
        why = NO_DATA_NOTE if dataset is None else "The dataset has no labeled PublicTest split: section left out."
        saliency_body = _note(why)
    else:
        saliency_body = _saliency_section(model, public, classes, methods, smoothgrad_samples, say)
    sections.append(f'<section id="saliency"><h2>4. Saliency maps</h2>{saliency_body}</section>')

    filters_body = _filters_html(model, layer, filter_count, ascent_steps, say)
    if public is None:
        maps_body = _note(NO_DATA_NOTE.replace("this section is", "the feature maps are"))
    else:
        if face_index is None:
            picked = pick_faces(public.labels, classes)
            face_index = picked[0] if picked else 0
        maps_body = _feature_maps_html(model, public, layer, face_index, say)
    sections.append(
        f'<section id="filters"><h2>5. What the filters of {_e(layer)} respond to</h2>'
        f"<h3>Gradient ascent</h3>{filters_body}<h3>Feature maps</h3>{maps_body}</section>"
    )

    title = f"FER Lens report: {run.root.resolve().name}"
    data_text = f"data: <code>{_e(dataset.source)}</code>" if dataset is not None else "no dataset"
    model_name = _e(config.get("model", model.name))
    subtitle = f"Run <code>{_e(run.root)}</code>; model <code>{model_name}</code>; {data_text}."
    out = Path(out_path)
    say(f"writing {out}...")
    write_text(out, _page(title, sections, subtitle))
    return out
