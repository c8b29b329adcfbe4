"""Work that runs in a background thread, once per server process, and progress bars that follow it.

A task is named: starting one whose name is running or done returns that one (a failed one is started
again), so the warm-up at the first session's start and a page that needs the same result share one
computation. Pages call :func:`follow` to show the task's text and progress until it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

POLL_SECONDS = 0.3


@dataclass
class Task:
    """One background computation: what it computes (``text``), how far it got (0..1), and how it ended
    (``result``, what the work returned, or ``error``)."""

    text: str
    fraction: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


_TASKS: dict[str, Task] = {}
_LOCK = threading.Lock()


def start(name: str, text: str, work: Callable[[Callable[[float], None]], object]) -> Task:
    """Run ``work(on_progress)`` in a daemon thread unless a task ``name`` is running or done; its :class:`Task`."""
    with _LOCK:
        task = _TASKS.get(name)
        if task is not None and (not task.done.is_set() or task.error is None):
            return task
        task = _TASKS[name] = Task(text)

    def run() -> None:
        try:
            task.result = work(lambda fraction: setattr(task, "fraction", float(fraction)))
        except BaseException as exc:  # noqa: BLE001 (handed to the page that follows the task)
            task.error = exc
        finally:
            task.done.set()

    threading.Thread(target=run, name=f"fer-lens-{name}", daemon=True).start()
    return task


def task(name: str) -> Task | None:
    """The task started under ``name`` (running or ended), or ``None``."""
    return _TASKS.get(name)


def finished(name: str) -> bool:
    """Whether a task ``name`` was started and has ended (with or without an error)."""
    task = _TASKS.get(name)
    return task is not None and task.done.is_set()


def follow(task: Task, where=st) -> None:
    """A progress bar with the task's text until it is done; re-raises the task's error in the page."""
    if not task.done.is_set():
        bar = where.progress(task.fraction, text=task.text)
        while not task.done.wait(POLL_SECONDS):
            bar.progress(task.fraction, text=f"{task.text} {task.fraction:.0%}")
        bar.empty()
    if task.error is not None:
        raise task.error
