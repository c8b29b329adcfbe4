"""The whole report page (its sections in order, in the page shell) and :func:`write_report`, which computes
and writes it."""

from __future__ import annotations

import os
from pathlib import Path

from fer_core.report.compute import compute_report, stderr_progress
from fer_core.report.content import ReportData
from fer_core.report.faces import face_sections
from fer_core.report.html import escape, page_shell
from fer_core.report.sections import ablation_section, confusion_section, model_section
from fer_core.runs.files import write_text


def page(data: ReportData) -> str:
    """The whole report page for ``data``."""
    sections = [model_section(data), ablation_section(data.ablation), confusion_section(data.metrics)]
    sections += face_sections(data)
    title = f"FER Lens report: {data.run.root.resolve().name}"
    data_text = f"data: <code>{escape(data.data_source)}</code>" if data.data_source is not None else "no dataset"
    subtitle = f"Run <code>{escape(data.run.root)}</code>; model <code>{escape(data.model_name)}</code>; {data_text}."
    return page_shell(title, sections, subtitle)


def write_report(
    run_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    dataset=None,
    ablation_dir: str | os.PathLike | None = None,
    layer: str = "conv5",
    face_index: int | None = None,
    **options,
) -> Path:
    """Write the five-question report for one run as a single self-contained HTML file.

    Args:
        run_dir: a run directory with ``model.keras``, ``config.json`` and
            ``metrics.json`` (``history.csv`` optional; ``metrics.json`` may be
            missing when ``dataset`` has PublicTest: it is then computed, not saved),
            or another ``NAME.keras`` in one, scored by its ``NAME.metrics.json``.
        out_path: the ``.html`` file to write (atomically; folders are created).
        dataset: a :class:`fer_core.data.Dataset` (its labeled ``public`` split is
            used), a path to FER2013, or ``None``: the face sections then say how
            to point at the data.
        ablation_dir: a folder of run directories for the normalization x
            augmentation table (section 2 is left out when ``None``).
        layer: the layer whose filters and feature maps section 5 shows.
        face_index: the PublicTest row for the feature maps (default: the first
            face chosen for the saliency section).
        **options: keyword options of :func:`compute_report`:
            ``classes`` (the emotions whose first PublicTest face gets saliency
            maps), ``methods`` (keys of :data:`fer_core.vis.saliency.METHODS`),
            ``smoothgrad_samples``, ``filter_count`` (images for the first this
            many filters of ``layer``), ``ascent_steps`` (default
            :data:`fer_core.vis.filter_cache.STEPS`, the dashboard's images),
            ``progress`` (called with a short message before each slow step;
            default: lines ``report: ...`` on stderr; ``None`` for silence).

    Returns:
        The path written.

    Raises:
        FerError: one line, for a missing run folder or file, an unknown layer or
            method, a face index out of range, or a bad dataset path.
    """
    data = compute_report(run_dir, dataset, ablation_dir, layer, face_index, **options)
    out = Path(out_path)
    (options.get("progress", stderr_progress) or (lambda message: None))(f"writing {out}...")
    write_text(out, page(data))
    return out
