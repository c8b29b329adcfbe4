"""Sections 1 to 3 of the report page: the model (settings, curves, metrics, splits), the ablation table,
the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fer_core.errors import FerError
from fer_core.evaluation.ablation import SEED_ABLATION
from fer_core.evaluation.confusion import confused_pairs, confusion_sentences
from fer_core.evaluation.label_noise import shared_confusion_sentences, summary_sentences
from fer_core.labels import EMOTIONS
from fer_core.report.content import ReportData
from fer_core.report.html import Markup, curves_svg, escape, format_value, html_table, note

# ----------------------------------------------------------------------------- 1. the model


def _curves_html(data: ReportData) -> str:
    if not data.history:
        return note(f"No training history ({escape(data.run.history_file)} is missing or empty).")
    charts = "".join(curves_svg(data.history, m, t) for m, t in (("loss", "loss"), ("accuracy", "accuracy")))
    summary = f"{len(data.history)} epochs recorded"
    if data.best is not None:
        summary += f"; best validation accuracy {data.best['val_accuracy']:.4f} at epoch {data.best.get('epoch', 0):g}"
    return f'<div class="charts">{charts}</div><p>{escape(summary)}.</p>'


def _metrics_note(data: ReportData) -> str:
    if not data.metrics_computed:
        return ""
    return note(
        f"{escape(data.run.metrics_file)} was missing: these numbers were computed now from PublicTest and not "
        f"saved (<code>fer evaluate {escape(data.run.root)}</code> saves them)."
    )


def model_section(data: ReportData) -> str:
    """Section 1: parameters, layers, settings, curves, accuracy and the per-class table."""
    (total, trainable), metrics = data.parameters, data.metrics
    rows = [(r["layer"], r["type"], r["output"], f"{r['parameters']:,}") for r in data.layers]
    layers_table = html_table(("layer", "type", "output shape", "parameters"), rows, "layers")
    settings = html_table(("setting", "value"), [(k, format_value(v)) for k, v in data.config.items()])
    per_class = [
        (emotion, row["precision"], row["recall"], row["f1"], row["support"])
        for emotion, row in metrics.get("per_class", {}).items()
    ]
    return f"""
<section id="model"><h2>1. The model, its training and its accuracy</h2>
<p>Model <b>{escape(data.keras_name)}</b>: {total:,} parameters ({trainable:,} trainable, {total - trainable:,}
non-trainable). Input: raw pixels (N, 48, 48, 1) in 0..255; output: 7 softmax probabilities.</p>
<div class="cols"><div>{layers_table}</div><div><h3>Training settings</h3>{settings}</div></div>
<h3>Training curves</h3>{_curves_html(data)}
<h3>Accuracy</h3>
<p class="big">{escape(metrics.get("split", "public"))} accuracy: <b>{metrics["accuracy"]:.5f}</b>
({metrics.get("samples", "?")} faces)</p>
{_metrics_note(data)}
{html_table(("emotion", "precision", "recall", "F1", "support"), per_class, "num")}
{splits_html(data.splits) if data.splits is not None else ""}
</section>"""


def splits_html(found) -> str:
    """The splits' brightness, contrast and sharpness (a :mod:`fer_core.data.shift` comparison), and the difference
    in words."""
    if not found.profiles:
        return ""
    rows = [[name, f"{p.brightness:.1f}", f"{p.contrast:.1f}", f"{p.sharpness:.4f}"] for name, p in found.profiles.items()]
    table = html_table(["split", "brightness", "contrast (std)", "sharpness"], rows)
    if found.warning:
        words = note(escape(found.warning))
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
            lines.append(f'<div>{escape(entry["name"])}: <span class="missing">not evaluated</span></div>')
            continue
        delta = entry["accuracy"] - seed[0]
        extra = "" if entry["source"] == "metrics.json" else f" ({escape(entry['source'])})"
        split = "" if entry["split"] == "public" else f" on {escape(entry['split'])}"
        lines.append(
            f'<div><b>{entry["accuracy"]:.5f}</b>{split} <span class="delta">({delta:+.4f})</span> '
            f'<span class="runname">{escape(entry["name"])}</span>{_epochs(entry)}{extra}</div>'
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
        notes += note(f"No run directories (subfolders with config.json) found in {escape(folder)}.")
    if other:
        names = "; ".join(
            f"{k[0]}/{'aug' if k[1] else 'no aug'}: {', '.join(e['name'] for e in v)}" for k, v in other.items()
        )
        notes += note(f"Runs outside the 2x2 table: {escape(names)}.")
    if skipped:
        notes += note(f"Skipped: {escape('; '.join(skipped))}.")
    return notes


def ablation_section(ablation) -> str:
    """Section 2 from ``(folder, groups, skipped, findings)`` (:mod:`fer_core.evaluation.ablation`);
    ``""`` for ``None``."""
    if ablation is None:
        return ""
    folder, groups, skipped, findings = ablation
    rows = [
        [label] + [_ablation_cell(groups.get((norm, aug)), SEED_ABLATION[(norm, aug)]) for aug in (False, True)]
        for norm, label in (("none", "no normalization"), ("standardize", "standardize (per-pixel mean/std)"))
    ]
    table = html_table(("normalization \\ augmentation", "off", "on"), rows, "ablation")
    return f"""
<section id="ablation"><h2>2. Normalization and augmentation</h2>
<p>Public accuracy of the runs in <code>{escape(folder)}</code>, by their config's <code>normalization</code>
and <code>augment</code>; the difference in brackets is against the seed report's public number.</p>
{table}
<ul>{"".join(f"<li>{escape(finding)}</li>" for finding in findings)}</ul>
{_ablation_notes(folder, groups, skipped)}
</section>"""


# ----------------------------------------------------------------------------- 3. confusion


def _confusion_table(matrix: np.ndarray, classes: Sequence[str], columns: str = "predicted") -> str:
    totals = matrix.sum(axis=1)
    cells = "".join(f"<th>{escape(c)}</th>" for c in classes)
    head = f"<tr><th>true \\ {escape(columns)}</th>{cells}<th>faces</th></tr>"
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
        body.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}<td>{int(totals[i])}</td></tr>")
    return f'<table class="confusion"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def confusion_section(metrics: dict) -> str:
    """Section 3: the coloured confusion matrix of ``metrics.json`` and the most-confused pairs in words."""
    matrix = np.asarray(metrics["confusion_matrix"], np.int64)
    classes = metrics.get("classes", list(EMOTIONS))
    if matrix.shape != (len(classes), len(classes)):
        expected = f"{len(classes)}x{len(classes)}"
        raise FerError(f"metrics.json: confusion_matrix has shape {matrix.shape} (expected {expected})")
    sentences = confusion_sentences(matrix, 3, classes)
    said = "".join(f"<li>{escape(s)}</li>" for s in sentences) or "<li>no confusions: every face is right</li>"
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
    summary = "".join(f"<li>{escape(s)}</li>" for s in summary_sentences(ferplus))
    shared = "".join(f"<li>{escape(s)}</li>" for s in shared_confusion_sentences(confused_pairs(matrix, 3), annotators))
    return f"""<h3>FER+'s ten annotators</h3><ul class="pairs">{summary}</ul>
<p>The FER2013 label (rows) against the annotators' majority (columns), faces with a majority only.</p>
{_confusion_table(annotators, classes, "FER+ majority")}
<h3>The model's top confusions beside the annotators'</h3><ul class="pairs">{shared}</ul>"""
