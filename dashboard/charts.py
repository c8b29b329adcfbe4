"""Plotly figures for the dashboard: pure functions from arrays to ``go.Figure``.

No Streamlit and no TensorFlow here; pages pass the figures to ``st.plotly_chart``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from fer_core.labels import EMOTIONS

ACCENT = "#5b4bd6"
_CELL_HOVER = "true %{{y}}, {columns} %{{x}}: %{{text}}<extra></extra>"
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def row_normalized(matrix: np.ndarray) -> np.ndarray:
    """``float (7, 7)``: each row of a confusion matrix divided by its sum (0 for an empty row)."""
    m = np.asarray(matrix, np.float64)
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def _matrix_layout(fig: go.Figure, title: str, columns: str = "predicted", **layout) -> go.Figure:
    """A 7x7 true-by-predicted figure's axes (``columns`` on top, true down the side), title and size."""
    fig.update_layout(title=title, margin=_MARGIN, height=460, xaxis={"title": columns, "side": "top"},
                      yaxis={"title": "true", "autorange": "reversed"}, **layout)
    return fig


def confusion_heatmap(
    matrix: np.ndarray, normalized: bool = False, title: str = "", clickable: bool = True, columns: str = "predicted"
) -> go.Figure:
    """A 7x7 confusion heatmap (rows true, columns ``columns``: predicted, or the FER+ majority), counts or row
    fractions.

    With ``clickable`` an invisible marker sits on every cell, so a click selects
    the cell as a point (Plotly heatmaps themselves emit no selection events).
    """
    values = row_normalized(matrix) if normalized else np.asarray(matrix)
    text = [[f"{v:.0%}" if normalized else f"{int(v)}" for v in row] for row in values]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=list(EMOTIONS),
            y=list(EMOTIONS),
            text=text,
            texttemplate="%{text}",
            colorscale="Purples",
            showscale=False,
            hoverinfo="skip" if clickable else None,
            hovertemplate=None if clickable else _CELL_HOVER.format(columns=columns),
        )
    )
    if clickable:
        cells_x = [e for _ in EMOTIONS for e in EMOTIONS]
        cells_y = [e for e in EMOTIONS for _ in EMOTIONS]
        fig.add_trace(
            go.Scatter(
                x=cells_x,
                y=cells_y,
                mode="markers",
                text=[t for row in text for t in row],
                marker={"symbol": "square", "size": 36, "opacity": 0},
                hovertemplate=_CELL_HOVER.format(columns=columns),
                showlegend=False,
            )
        )
    return _matrix_layout(fig, title, columns, clickmode="event+select")


def change_heatmap(points: np.ndarray, gain: np.ndarray, title: str = "") -> go.Figure:
    """A 7x7 map of how a row-normalized confusion matrix changed (``fer_core.evaluation.compare.confusion_change``).

    Each cell reads its change in percentage points (``points``); its color is ``gain``:
    green where it got better, red where it got worse, white where nothing moved.
    """
    points, gain = np.asarray(points, np.float64), np.asarray(gain, np.float64)
    text = [[f"{v:+.1f}" if abs(v) >= 0.05 else "0" for v in row] for row in points]
    verdict = [["better" if g > 0 else "worse" if g < 0 else "same" for g in row] for row in gain]
    reach = max(float(np.abs(gain).max()), 1.0)
    fig = go.Figure(
        go.Heatmap(
            z=gain,
            x=list(EMOTIONS),
            y=list(EMOTIONS),
            text=text,
            customdata=verdict,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmin=-reach,
            zmax=reach,
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text} points (%{customdata})<extra></extra>",
        )
    )
    return _matrix_layout(fig, title)


def image_picker(
    source: str, size: tuple[int, int], centres: list[tuple[float, float]], labels: list[str], title: str = ""
) -> go.Figure:
    """A picture of tiles (``source``: a PNG data URI of ``size`` = (width, height) pixels) where a click selects
    the tile nearest to it: an invisible marker sits on each tile's centre (``centres``, in pixels, named by
    ``labels``), as on :func:`confusion_heatmap` (images emit no selection events themselves)."""
    width, height = size
    fig = go.Figure(go.Image(source=source, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=[x for x, _ in centres], y=[y for _, y in centres], mode="markers", text=labels,
            marker={"symbol": "square", "size": 30, "opacity": 0}, hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    shown = min(1.0, 1100 / width)  # about the page's width, so the height fits the scaled picture
    fig.update_layout(
        title=title, margin=_MARGIN, height=int(height * shown) + 50, clickmode="event+select", dragmode=False,
        hovermode="closest", hoverdistance=-1, xaxis={"visible": False, "range": [0, width]},
        yaxis={"visible": False, "range": [height, 0], "scaleanchor": "x"},
    )
    return fig


def probability_bars(probabilities: np.ndarray, height: int = 240) -> go.Figure:
    """Horizontal bars of 7 class probabilities, likeliest highlighted."""
    p = np.asarray(probabilities, np.float64)
    colors = [ACCENT if i == int(p.argmax()) else "#b9b3ec" for i in range(len(p))]
    fig = go.Figure(go.Bar(x=p, y=list(EMOTIONS), orientation="h", marker_color=colors, text=[f"{v:.0%}" for v in p]))
    fig.update_layout(
        margin=_MARGIN, height=height, xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis={"autorange": "reversed"}
    )
    return fig


def training_curves(histories: dict[str, list[dict]], metric: str, title: str = "") -> go.Figure:
    """One line per run (and per train/validation) of ``metric`` over epochs.

    ``histories`` maps a run name to its ``history.csv`` rows; ``metric`` is a
    training column (``accuracy``, ``loss``); its ``val_`` twin is drawn dashed.
    """
    fig = go.Figure()
    for name, rows in histories.items():
        epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]
        for column, dash in ((metric, "solid"), (f"val_{metric}", "dash")):
            if rows and column in rows[0]:
                label = f"{name} · {'validation' if column.startswith('val_') else 'train'}"
                fig.add_trace(go.Scatter(x=epochs, y=[r[column] for r in rows], name=label, line={"dash": dash}))
    fig.update_layout(title=title, margin=_MARGIN, height=360, xaxis_title="epoch", yaxis_title=metric)
    return fig


def per_emotion_bars(values: np.ndarray, title: str = "") -> go.Figure:
    """Vertical bars of one value per emotion (e.g. a filter's mean activation)."""
    fig = go.Figure(go.Bar(x=list(EMOTIONS), y=np.nan_to_num(np.asarray(values, np.float64)), marker_color=ACCENT))
    fig.update_layout(title=title, margin=_MARGIN, height=280)
    return fig


def faithfulness_curves(fractions: np.ndarray, deletion: np.ndarray, insertion: np.ndarray) -> go.Figure:
    """Deletion and insertion curves (Petsiuk et al. 2018) of one map: probability vs. fraction of pixels."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=fractions, y=deletion, name="deletion (lower area is better)"))
    fig.add_trace(go.Scatter(x=fractions, y=insertion, name="insertion (higher area is better)"))
    fig.update_layout(
        margin=_MARGIN,
        height=320,
        xaxis_title="fraction of pixels",
        yaxis_title="target probability",
        yaxis={"range": [0, 1]},
    )
    return fig
