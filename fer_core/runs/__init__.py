"""Run folders: what a training run writes, its lock, status and summary, and where runs are found.

Also the atomic file writes every other package uses (``files``), so a reader never
sees half a file and a killed writer leaves nothing behind but a temp file.
"""

from fer_core.runs.discovery import (
    default_model_index, find_all_runs, find_models, find_runs, search_folders, subfolders,
)
from fer_core.runs.files import atomic_path, make_folder, read_json, write_json, write_npz, write_text
from fer_core.runs.folder import ENSEMBLE, Run
from fer_core.runs.history import best_epoch, merge_histories, split_history
from fer_core.runs.lock import check_unlocked, run_lock
from fer_core.runs.status import run_status
from fer_core.runs.summary import RunSummary, format_duration, run_summary

__all__ = [
    "ENSEMBLE", "Run", "RunSummary", "atomic_path", "best_epoch", "check_unlocked", "default_model_index",
    "find_all_runs", "find_models", "find_runs", "format_duration", "make_folder", "merge_histories", "read_json",
    "run_lock", "run_status", "run_summary", "search_folders", "split_history", "subfolders", "write_json", "write_npz",
    "write_text",
]
