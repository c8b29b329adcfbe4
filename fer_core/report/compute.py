"""``fer report``: the seed report's five answers for any run, as one HTML page.

The page answers, for one run directory (see :mod:`fer_core.runs`):

1. the model: a layer table like ``model.summary()``, the training settings
   (``config.json``), training curves from ``history.csv``, public accuracy and
   a per-class precision/recall/F1 table (``metrics.json``);
2. the effect of normalization and augmentation: the 2x2 table of
   :mod:`fer_core.evaluation.ablation`, beside the seed report's public/private numbers;
3. the confusion matrix, and the most-confused pairs in words;
4. saliency maps (vanilla gradient, SmoothGrad, Grad-CAM) for PublicTest faces;
5. gradient-ascent images of one conv layer's filters, read from the model's
   :class:`~fer_core.vis.filter_cache.FilterCache` (the images the dashboard shows),
   and that layer's outputs (feature maps) on one face.

Two steps: :func:`compute_report` validates the inputs and fills one
:class:`ReportData`; :func:`fer_core.report.page.page` turns it into a
self-contained page (inline PNG and SVG, inline CSS, no JavaScript), which
:func:`write_report` writes atomically. Without a dataset the sections that
need faces say how to point at FER2013 instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

import numpy as np

from fer_core.data.dataset import load_optional_dataset
from fer_core.data.shift import compare_splits
from fer_core.errors import FerError
from fer_core.evaluation.ablation import ablation_findings, ablation_rows, ablation_runs
from fer_core.evaluation.scores import metrics_from_probabilities, predict_proba
from fer_core.labels import EMOTIONS
from fer_core.report.content import FeatureMapView, FilterTiles, ReportData, SaliencyFaces
from fer_core.runs.folder import Run
from fer_core.runs.history import best_epoch
from fer_core.vis.filter_cache import STEPS, FilterCache

DEFAULT_METHODS: tuple[str, ...] = ("vanilla", "smoothgrad", "grad_cam")

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    """Print ``report: message`` on stderr (the default progress indication)."""
    print(f"report: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- validation


def _check_run(run: Run, methods: Sequence[str]) -> None:
    if not run.root.is_dir():
        raise FerError(f"{run.root}: no such run directory")
    for file in (run.model_file, run.config_file):
        if not file.is_file():
            raise FerError(f"{file}: no such file (a run directory holds model.keras, config.json, metrics.json)")
    from fer_core.vis.saliency import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise FerError(f"unknown saliency method '{unknown[0]}' (expected one of {', '.join(METHODS)})")


def _public_split(dataset):
    """``(dataset, its labeled PublicTest split or None)``; a path is loaded first."""
    if dataset is not None and not hasattr(dataset, "splits"):
        dataset = load_optional_dataset(dataset)
    public = dataset.splits.get("public") if dataset is not None else None
    return dataset, public if public is not None and public.labeled else None


# ----------------------------------------------------------------------------- compute steps


def _metrics(run: Run, model, public, progress: Progress) -> tuple[dict, bool]:
    """``(metrics, computed)``: ``metrics.json``, or metrics computed now when it is missing and PublicTest is at hand."""
    if run.metrics_file.is_file():
        return run.metrics(), False
    if public is None:
        raise FerError(
            f"{run.metrics_file}: no such file (run `fer evaluate {run.model_file}` first, "
            "or pass --data to score PublicTest now)"
        )
    progress(f"no metrics.json: scoring {len(public)} PublicTest faces...")
    return metrics_from_probabilities(predict_proba(model, public.images), public.labels, "public"), True


def pick_faces(labels: np.ndarray, classes: Sequence[str | int] = EMOTIONS) -> list[int]:
    """The row of the first face of each of ``classes`` (names or indices) that occurs in ``labels``."""
    rows = []
    for c in classes:
        index = EMOTIONS.index(c) if isinstance(c, str) else int(c)
        found = np.flatnonzero(np.asarray(labels) == index)
        if found.size:
            rows.append(int(found[0]))
    return rows


def _saliency(model, split, classes, methods, smoothgrad_samples, progress: Progress) -> SaliencyFaces:
    from fer_core.vis.saliency import saliency

    rows = pick_faces(split.labels, classes)
    faces, labels = split.images[rows], split.labels[rows]
    probabilities = predict_proba(model, faces) if rows else np.zeros((0, len(EMOTIONS)), np.float32)
    predicted = probabilities.argmax(axis=1)
    maps = {}
    for k, method in enumerate(methods if rows else (), 1):
        progress(f"saliency {method} on {len(rows)} faces ({k}/{len(methods)})...")
        options = {"samples": smoothgrad_samples} if method == "smoothgrad" else {}
        maps[method] = saliency(model, faces, method, target=predicted, **options)
    return SaliencyFaces(rows, faces, labels, probabilities, maps, smoothgrad_samples)


def _filters(run: Run, model, layer: str, filter_count: int, steps: int, progress: Progress) -> FilterTiles:
    """The first ``filter_count`` filters' images from the model's filter cache (computed and cached if missing)."""
    from fer_core.vis.filters import channel_count, objective_values

    count = min(filter_count, channel_count(model, layer))
    cache = FilterCache(run.model_file, steps=steps)
    found = "from the filter cache" if cache.has(layer, channel_count(model, layer), 0, count) else "computing"
    progress(f"gradient ascent: {count} filters of {layer}, {steps} steps ({found})...")
    images = cache.images(model, layer, 0, count)
    filters = np.arange(count)
    return FilterTiles(layer, filters, images, objective_values(model, layer, images, filters), steps)


def _check_face(face_index: int | None, public) -> None:
    """Raise FerError, before anything is computed, when ``--face`` names no PublicTest face here."""
    if face_index is None:
        return
    if public is None:
        raise FerError(f"--face {face_index}: the feature maps need FER2013's PublicTest (--data or FER_DATA)")
    if not 0 <= face_index < len(public):
        raise FerError(f"--face {face_index}: out of range (PublicTest has {len(public)} faces: 0..{len(public) - 1})")


def _feature_maps(model, split, layer: str, face_index: int, progress: Progress) -> FeatureMapView:
    from fer_core.vis.feature_maps import feature_maps

    progress(f"feature maps of {layer} on PublicTest #{face_index}...")
    face = split.images[face_index]
    label = int(split.labels[face_index]) if split.labeled else None
    probabilities = predict_proba(model, face[None])[0]
    return FeatureMapView(layer, face_index, face, feature_maps(model, face[None], layer), probabilities, label)


def _model_facts(model) -> tuple[tuple[int, int], list[dict]]:
    """``((total, trainable) parameter counts, layer_summary rows)``."""
    from fer_core.models.builders import layer_summary

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = sum(int(np.prod(w.shape)) for w in model.weights)
    return (total, trainable), layer_summary(model)


def compute_report(
    run_dir: str | os.PathLike,
    dataset=None,
    ablation_dir: str | os.PathLike | None = None,
    layer: str = "conv5",
    face_index: int | None = None,
    *,
    classes: Sequence[str | int] = EMOTIONS,
    methods: Sequence[str] = DEFAULT_METHODS,
    smoothgrad_samples: int = 8,
    filter_count: int = 16,
    ascent_steps: int = STEPS,
    progress: Progress | None = stderr_progress,
) -> ReportData:
    """Validate the inputs, then compute every section of the report (arguments as in :func:`write_report`)."""
    say = progress or (lambda message: None)
    run = Run.of_model(run_dir)
    _check_run(run, methods)
    dataset, public = _public_split(dataset)
    _check_face(face_index, public)
    config = run.config()
    ablation = None
    if ablation_dir is not None:
        ablation = (ablation_dir, *ablation_runs(ablation_dir), ablation_findings(ablation_rows(ablation_dir)))

    say(f"loading {run.model_file}...")
    from fer_core.models.builders import load_model
    from fer_core.vis.probes import find_layer

    model = load_model(run.model_file)
    find_layer(model, layer)
    metrics, computed = _metrics(run, model, public, say)
    splits = None
    if dataset is not None:
        say("profiling the splits...")
        splits = compare_splits(dataset)
    parameters, layers = _model_facts(model)
    history = run.history()
    saliency = _saliency(model, public, classes, methods, smoothgrad_samples, say) if public is not None else None
    filters = _filters(run, model, layer, filter_count, ascent_steps, say)
    maps = None
    if public is not None:
        if face_index is None:
            face_index = saliency.rows[0] if saliency.rows else 0
        maps = _feature_maps(model, public, layer, face_index, say)
    return ReportData(
        run=run, config=config, history=history, best=best_epoch(history),
        model_name=str(config.get("model", model.name)), keras_name=model.name, parameters=parameters, layers=layers,
        metrics=metrics, metrics_computed=computed, data_source=str(dataset.source) if dataset is not None else None,
        splits=splits, ablation=ablation, saliency=saliency, filters=filters, feature_maps=maps,
    )
