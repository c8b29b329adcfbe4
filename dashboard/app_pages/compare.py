"""Compare runs: accuracy table, overlaid training curves, confusion matrices side by side."""

import catalog
import charts
import numpy as np
import pandas as pd
import streamlit as st
import widgets

from fer_core.evaluation.ablation import ablation_findings
from fer_core.runs.folder import Run
from fer_core.runs.history import best_epoch


ablation = catalog.ablation_table()
if ablation is not None:
    st.subheader("Normalization x augmentation (PublicTest accuracy)")
    numbers = ("ours", "train accuracy", "last 5 range", "seed public", "seed private")
    widgets.number_table(ablation, "cmp_ablation", numbers, "%.4f")
    st.caption("Ours: the seed CNN trained by `fer train` with the same budget in every cell (`epochs`; runs in "
               "`assets/ablation/` or `$FER_ABLATION`); seed: the report's public / private scores after full training.")
    for finding in ablation_findings(ablation.to_dict("records")):
        st.markdown(f"- {finding}")

runs = catalog.run_folders()
if not runs:
    st.info("No runs with `metrics.json` or `history.csv` under `runs/` (or `$FER_RUNS`): train some with `fer train`.")
    st.stop()

chosen = st.multiselect("Runs", list(runs), default=list(runs)[:4], key="cmp_runs")
if not chosen:
    st.stop()
found = {name: Run(runs[name]).contents() for name in chosen}


def summary(name: str, run: dict) -> dict:
    config, metrics, history = run["config"], run["metrics"], run["history"]
    best = (best_epoch(history) or {}).get("val_accuracy", np.nan)
    return {
        "run": name,
        "model": config.get("model"),
        "normalization": config.get("normalization"),
        "augment": config.get("augment"),
        "epochs": len(history),
        "best val accuracy": best,
        "PublicTest accuracy": metrics.get("accuracy", np.nan),
    }


table = pd.DataFrame([summary(name, run) for name, run in found.items()])
widgets.number_table(table, "cmp_table", ("best val accuracy", "PublicTest accuracy"))

metric = st.radio("Curves", ["accuracy", "loss"], horizontal=True, key="cmp_metric")
st.plotly_chart(charts.training_curves({n: r["history"] for n, r in found.items()}, metric), key="cmp_curves")

with_matrix = {n: r["metrics"]["confusion_matrix"] for n, r in found.items() if "confusion_matrix" in r["metrics"]}
st.subheader("Confusion matrices (row-normalized)")
for column, (name, matrix) in zip(st.columns(max(1, len(with_matrix))), with_matrix.items()):
    column.plotly_chart(charts.confusion_heatmap(np.asarray(matrix), True, name, clickable=False), key=f"cmp_cm_{name}")
if not with_matrix:
    st.caption("None of these runs has a `metrics.json` yet: run `fer evaluate RUN`.")
