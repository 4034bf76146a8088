"""The one task runner: service calls run off the GUI thread, results come back by signal.

A worker never touches a widget. Each call runs on a named pool and uses its own
database session (services open one per call), so the GUI thread only paints.

Pools:

* `GENERAL` — Qt's global pool, for everything a user starts (saves, imports, reports).
* `QUEUE` — one thread, kept alive, for the queue's reads: its SQLite connection and
  malloc arena are reused instead of each pool thread growing its own (~6 MiB resident
  each at 100,000 rows), and the reads the user waits for (`IDS_PRIORITY`) are taken
  before the detail (`DETAIL_PRIORITY`).
* `COUNTS` — one thread, kept alive, for the sidebar counts. A count under a search
  scans every match (50-100 ms at 100,000 submissions); on the queue's thread it would
  hold up the next keystroke's id query until it finished. Its results are a few
  numbers, so its thread stays small.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger("clearance_desk.ui")


class _Signals(QObject):
    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(object)


class CancelToken:
    """Checked by long operations between chunks; set from the GUI thread."""

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __call__(self) -> bool:
        return self.cancelled


class Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], *, with_progress: bool = False) -> None:
        super().__init__()
        self.fn = fn
        self.with_progress = with_progress
        self.signals = _Signals()
        self.cancel = CancelToken()
        self.setAutoDelete(False)

    def run(self) -> None:
        fn, self.fn = self.fn, None  # the pool keeps finished tasks: let go of what fn holds (id lists)
        try:
            result = fn(self.signals.progress.emit) if self.with_progress else fn()
        except Exception as error:  # noqa: BLE001 - every failure is reported to the GUI thread
            if not _expected(error):
                log.error("background task failed:\n%s", traceback.format_exc())
            self.signals.failed.emit(error)
        else:
            self.signals.finished.emit(result)


def _expected(error: Exception) -> bool:
    from desktop_app.domain.errors import ClearanceDeskError

    return isinstance(error, ClearanceDeskError)


_running: set[Task] = set()

GENERAL, QUEUE, COUNTS = "general", "queue", "counts"
#: Priorities on the queue's worker: the rows the user waits for first, then the detail.
IDS_PRIORITY, DETAIL_PRIORITY = 2, 1
_pools: dict[str, QThreadPool] = {}


def pool(name: str) -> QThreadPool:
    """The named pool, made on first use."""
    if name == GENERAL:
        return QThreadPool.globalInstance()
    if name not in _pools:
        made = QThreadPool()
        made.setMaxThreadCount(1)
        made.setExpiryTimeout(-1)  # keep the thread (and its connection) for the next read
        _pools[name] = made
    return _pools[name]


def alive(owner: QObject | None) -> bool:
    """False once the widget a result was meant for is gone (closed and deleted meanwhile)."""
    return owner is None or shiboken6.isValid(owner)


def run_task(fn: Callable[..., Any], *, on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[Exception], None] | None = None,
             on_progress: Callable[[Any], None] | None = None, with_progress: bool = False,
             owner: QObject | None = None, pool_name: str = GENERAL, priority: int = 0) -> Task:
    """Run `fn` on the named pool; `on_done` / `on_error` run on the GUI thread, unless
    `owner` (the widget that asked) was deleted meanwhile."""
    task = Task(fn, with_progress=with_progress)
    _running.add(task)

    def finish(result: Any) -> None:
        _running.discard(task)
        if on_done is not None and alive(owner):
            on_done(result)

    def fail(error: Exception) -> None:
        _running.discard(task)
        if on_error is not None and alive(owner):
            on_error(error)

    task.signals.finished.connect(finish)
    task.signals.failed.connect(fail)
    if on_progress is not None:
        task.signals.progress.connect(on_progress)
    pool(pool_name).start(task, priority)
    return task


def wait_for_workers(timeout_ms: int = 10_000) -> bool:
    """Let running tasks finish before the services close (at exit); False if they did not."""
    return all(p.waitForDone(timeout_ms) for p in (QThreadPool.globalInstance(), *_pools.values()))
