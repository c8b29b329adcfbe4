"""Model: its layers, how it was trained, its training curves and its PublicTest scores.

What the run folder's files say (curves, settings, scores) is drawn first; the figures and the layer table
above them follow once TensorFlow and the model are loaded (seconds on a fresh server)."""

import charts
import pandas as pd
import guards
import state
import streamlit as st
import widgets

from fer_core.runs.history import split_history

key = guards.require_model_file()
run = state.run_of(key).contents()
metrics = run["metrics"]
st.caption(f"`{key.path}`")
from_the_model = st.container()  # filled last, drawn here

st.subheader("Training")
if run["history"]:
    metric = st.radio("Curve", ["accuracy", "loss"], horizontal=True, key="model_curve")
    st.plotly_chart(charts.training_curves(split_history(run["history"]), metric), key="model_curves")
else:
    st.caption(run.get("history_error") or "No `history.csv` beside this model.")
if run["config"]:
    settings = pd.DataFrame({"setting": list(run["config"]), "value": [str(v) for v in run["config"].values()]})
    with st.expander("Training settings (`config.json`)"):
        st.dataframe(settings, hide_index=True, width="stretch", key="model_config")

st.subheader("Per-class report (PublicTest)")
if "per_class" in metrics:
    report = pd.DataFrame(metrics["per_class"]).T.rename_axis("emotion").reset_index()
    widgets.number_table(report, "model_report", ("precision", "recall", "f1"))
else:
    st.caption(run.get("metrics_error") or "No `metrics.json` beside this model: run `fer evaluate RUN` to score it.")

with from_the_model:
    guards.require_model()
    with st.spinner("Reading the model…"):
        layers = state.layer_table(key)
    left, middle, right = st.columns(3)
    left.metric("Parameters", f"{int(layers['parameters'].sum()):,}")
    middle.metric("Conv layers", len(state.conv_layers(key)))
    right.metric("PublicTest accuracy", f"{metrics['accuracy']:.1%}" if "accuracy" in metrics else "—")

    st.subheader("Layers")
    member = layers["layer"].str.extract(r"^([^/]+)/", expand=False)  # an ensemble member's name; NaN: its own
    if member.notna().any():
        for name in member.dropna().unique():
            rows = layers[member == name]
            st.markdown(f"**Member `{name}`**: {len(rows)} layers, {int(rows['parameters'].sum()):,} parameters")
            st.dataframe(rows, hide_index=True, width="stretch", key=f"model_layers_{name}")
        plumbing = layers[member.isna()]
        with st.expander(f"The ensemble's own {len(plumbing)} layers around its members (mirrored views, crops, "
                         "average)"):
            st.dataframe(plumbing, hide_index=True, width="stretch", key="model_layers_plumbing")
    else:
        st.dataframe(layers, hide_index=True, width="stretch", key="model_layers")
    widgets.csv_download(layers, "layers.csv", "model_layers_csv")
