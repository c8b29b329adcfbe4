"""Sections 4 and 5 of the report page, the ones that need faces: saliency maps, filter images, feature maps."""

from __future__ import annotations

from fer_core.labels import EMOTIONS
from fer_core.report.content import FeatureMapView, FilterTiles, ReportData, SaliencyFaces
from fer_core.report.html import NO_DATA_NOTE, Markup, escape, html_table, img_tag, note
from fer_core.vis import METHOD_TITLES, render

# ----------------------------------------------------------------------------- 4. saliency


def _face_cell(found: SaliencyFaces, n: int) -> Markup:
    label, predicted = found.labels[n], int(found.probabilities[n].argmax())
    true, pred = EMOTIONS[label], EMOTIONS[predicted]
    mark = "correct" if label == predicted else "wrong"
    caption = (
        f'<div class="cap">PublicTest #{found.rows[n]}: <b>{escape(true)}</b><br>predicted '
        f'<span class="{mark}">{escape(pred)}</span> {found.probabilities[n, predicted]:.0%}</div>'
    )
    return Markup(img_tag(render.upscale(found.faces[n], 2), f"{true} face") + caption)


def saliency_html(found: SaliencyFaces) -> str:
    """Section 4's body: one row per face, the face then one overlay per method."""
    if not found.rows:
        return note("None of the chosen classes occurs in PublicTest.")
    methods = list(found.maps)
    header = ["face"] + [METHOD_TITLES.get(m, m) for m in methods]
    rows = [
        [_face_cell(found, n)]
        + [Markup(img_tag(render.overlay(found.faces[n], found.maps[m][n], factor=2), f"{m} map")) for m in methods]
        for n in range(len(found.rows))
    ]
    return (
        f"<p>Each map explains the class the model predicted (its pre-softmax score), shown in jet over the "
        f"face (|map|, clipped at the 99th percentile). SmoothGrad averages {found.smoothgrad_samples} noisy copies "
        f"(Smilkov et al. 2017); Grad-CAM uses the last conv block's rectified output (Selvaraju et al. 2017).</p>"
        + html_table(header, rows, "faces")
    )


# ----------------------------------------------------------------------------- 5. filters and feature maps


def filters_html(tiles: FilterTiles) -> str:
    """Section 5a: the gradient-ascent images, each with its filter and mean activation."""
    figures = "".join(
        f"<figure>{img_tag(render.upscale(image, 2), f'filter {f}')}<figcaption>#{f}<br>{a:.2g}</figcaption></figure>"
        for image, f, a in zip(tiles.images, tiles.filters, tiles.activations)
    )
    return (
        f"<p>Images that maximize the mean activation of the first {len(tiles.filters)} filters of "
        f"<code>{escape(tiles.layer)}</code> by gradient ascent ({tiles.steps} Adam steps on a 1/f Fourier "
        f"parameterization with jitter, scale and rotation; Erhan et al. 2009, Olah et al. 2017): the images "
        f"the dashboard shows. Under each: the filter and its mean activation on the image.</p>"
        f'<div class="tiles">{figures}</div>'
    )


def feature_maps_html(view: FeatureMapView) -> str:
    """Section 5b: one face and the grid of ``view.layer``'s channels on it."""
    if view.maps.ndim != 4:
        return note(f"Layer {escape(view.layer)} has output shape {view.maps.shape[1:]}, not (H, W, C): "
                    "no maps to show.")
    _, h, w, c = view.maps.shape
    grid = render.feature_map_grid(view.maps[0], columns=min(32, c), cmap="viridis", factor=max(1, 48 // max(h, w)))
    label = f"true {EMOTIONS[view.label]}, " if view.label is not None else ""
    predicted = f"{EMOTIONS[int(view.probabilities.argmax())]} {view.probabilities.max():.0%}"
    return (
        f"<p>The output of <code>{escape(view.layer)}</code> ({h}x{w}, {c} channels; before BatchNorm and LeakyReLU) "
        f"for PublicTest #{view.index} ({escape(label)}predicted {predicted}). Each channel is scaled on its own min "
        f"and max (viridis).</p>{img_tag(render.upscale(view.face, 3), 'chosen face')}"
        f'<div class="fm">{img_tag(grid, "feature maps", "width:100%;height:auto")}</div>'
    )


def face_sections(data: ReportData) -> list[str]:
    """Sections 4 and 5, or notes saying how to point at the data."""
    if data.saliency is not None:
        saliency = saliency_html(data.saliency)
    elif data.data_source is None:
        saliency = note(NO_DATA_NOTE)
    else:
        saliency = note("The dataset has no labeled PublicTest split: section left out.")
    if data.feature_maps is not None:
        maps = feature_maps_html(data.feature_maps)
    else:
        maps = note(NO_DATA_NOTE.replace("this section is", "the feature maps are"))
    return [
        f'<section id="saliency"><h2>4. Saliency maps</h2>{saliency}</section>',
        f'<section id="filters"><h2>5. What the filters of {escape(data.filters.layer)} respond to</h2>'
        f"<h3>Gradient ascent</h3>{filters_html(data.filters)}<h3>Feature maps</h3>{maps}</section>",
    ]
