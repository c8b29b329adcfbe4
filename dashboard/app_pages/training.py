"""Training: every run and shipped model with its progress; one run's curves, refreshed while it trains."""

import catalog
import charts
import pandas as pd
import streamlit as st
import widgets

from fer_core.runs.folder import Run
from fer_core.runs.history import split_history
from fer_core.runs.status import safe_history
from fer_core.runs.summary import format_duration, run_summary

REFRESH = 5  # seconds between two readings of a running run (its heartbeat is refreshed every 5 s)
HOW_TO_START = (
    "**No training run yet.** Start one with `fer train --out runs/NAME` (add `--epochs 2 --limit 2000` for a "
    "quick one); it shows up here with its first file, and this page follows it while it trains. Run the same "
    "command again to resume an interrupted run. Set `FER_RUNS` to look in another runs folder."
)

folders = catalog.training_folders()
if not any(kind == "run" for kind, _ in folders.values()):
    st.info(HOW_TO_START)
if not folders:
    st.stop()


def duration(seconds: float | None) -> str:
    return format_duration(seconds) if seconds is not None else "—"


def table_row(label: str, folder) -> dict:
    summary = run_summary(folder)
    return {
        "run": label,
        "model": summary.model or "—",
        "options (not default)": summary.options_text,
        "status": summary.status,
        "epoch": summary.epoch_text,
        "progress": summary.progress,
        "per epoch": duration(summary.seconds_per_epoch),
        "time left": duration(summary.time_left),
        "best val accuracy": summary.best_accuracy,
    }


statuses = {label: run_summary(folder).status for label, (_, folder) in folders.items()}
running = [label for label, status in statuses.items() if status == "running"]


@st.fragment(run_every=REFRESH if running else None)
def runs_table() -> None:
    table = pd.DataFrame([table_row(label, folder) for label, (_, folder) in folders.items()])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="train_table",
        column_config={
            "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
            "best val accuracy": st.column_config.NumberColumn(
                format="%.4f", help="Highest validation accuracy of any epoch (PublicTest unless `validation` is set)"
            ),
        },
    )
    widgets.csv_download(table, "runs.csv", "train_table_csv")


runs_table()
st.caption(
    "Time left: the median of the last 5 epochs times the epochs still to go (running or interrupted runs only)."
)

labels = list(folders)
sidebar_model = st.session_state.get("model")
picked = [label for label, (_, folder) in folders.items() if str(Run(folder).model_file.resolve()) == sidebar_model]
first = (running or picked or labels)[0]  # a run in training, else the sidebar's model, else the first
chosen = st.selectbox("Run", labels, index=labels.index(first), key="train_run")
folder = folders[chosen][1]


def open_everywhere(path: str) -> None:
    st.session_state["model"] = path


model_path = str(Run(folder).model_file.resolve())
if Run(folder).model_file.is_file() and model_path in catalog.model_files():
    if st.session_state.get("model") == model_path:
        st.caption("The other pages show this model.")
    else:
        st.button(
            "Open in the other pages", key="train_open", on_click=open_everywhere, args=(model_path,),
            help="Picks its `model.keras` in the sidebar's model picker",
        )
else:
    st.caption("No `model.keras` in this run yet (written after its first epoch), so the other pages cannot show it.")


@st.fragment(run_every=REFRESH if statuses[chosen] == "running" else None)
def run_details(label: str, folder) -> None:
    summary, history = run_summary(folder), safe_history(Run(folder), [])  # summary.problems names a bad file
    left, middle, right, last = st.columns(4)
    left.metric("Status", summary.status)
    middle.metric("Epoch", summary.epoch_text.removeprefix("epoch "))
    right.metric("Time left", duration(summary.time_left))
    last.metric("Best val accuracy", f"{summary.best_accuracy:.2%}" if summary.best_accuracy is not None else "—")
    if summary.progress is not None:
        batch = f" · batch {summary.batch} of {summary.batches}" if summary.batch is not None else ""
        st.progress(summary.progress, text=f"{summary.epoch_text}{batch} · {duration(summary.seconds_per_epoch)} "
                                           "per epoch")
    for problem in summary.problems:
        st.caption(f"Skipped `{problem}`.")
    if summary.status == "running":
        st.caption(f"Refreshes every {REFRESH} s while it trains.")
    if not history:
        st.caption("No finished epoch yet: the curves appear after the first one.")
        return
    histories = split_history(history, label)  # an ensemble's: one pair of curves per member
    loss, accuracy = st.columns(2)
    loss.plotly_chart(charts.training_curves(histories, "loss", "Loss"), key="train_loss")
    accuracy.plotly_chart(charts.training_curves(histories, "accuracy", "Accuracy"), key="train_accuracy")
    widgets.csv_download(pd.DataFrame(history), f"{folder.name}-history.csv", "train_history_csv")


run_details(chosen, folder)
