"""Every process-wide start-up tweak, in one place, each called explicitly by the entry point.

The order, from `app.main` and `ui.application.run_gui`: `pause_collector()` before the
window's imports, `read_sources_lightly()` before SQLAlchemy is imported,
`switch_threads_often()` as the QApplication is made (`make_application`),
`resume_collector()` once the window is built (freezing what start-up made), and
`freeze_start_up_objects("review")` after the first detail is shown.

PySide6's `__feature__` import hook asks, for every module imported after PySide6,
whether its source mentions PySide6, through `inspect.getsource`: the whole source of
SQLAlchemy and of this application then stays in `linecache` for good (~18 MiB) and the
imports take ~40 ms longer (PYSIDE-2029). `read_sources_lightly` answers the same
question by reading the file's bytes, which caches nothing.

Worker threads share one interpreter lock with the GUI thread. PySide6 lets go of it
around its C++ calls, and a thread that lets go waits, to take it back, until the thread
running Python hands it over: every `sys.getswitchinterval()`, 5 ms by default. While a
worker runs Python (the review half's imports, an ORM read, parsing an eval log) every Qt
call on the GUI thread could wait that long; building the main window took 2.6 s instead
of 60 ms beside one busy worker. `switch_threads_often` makes the hand-over 0.2 ms.

The cyclic garbage collector's full passes walk every tracked object; with a large queue
open, start-up alone leaves ~100,000 of them, and a pass over all of them stalls the GUI
thread for 50-60 ms. `freeze_start_up_objects` moves what start-up built (which lives
as long as the window) out of the collector's sight, and once more what the first
detail read built (the ORM's configured mappers).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from types import ModuleType

_frozen: set[str] = set()


def read_sources_lightly() -> None:
    """Replace PySide6's per-import source scan with a plain read of the module's file."""
    feature = sys.modules.get("shibokensupport.feature")
    scan = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or scan is None or getattr(scan, "reads_lightly", False):
        return

    def mentions_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return bool(scan(module))  # built-in, compiled or zipped: PySide's own answer
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return False

    mentions_pyside.reads_lightly = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mentions_pyside  # type: ignore[attr-defined]


def freeze_start_up_objects(stage: str = "window") -> bool:
    """Freeze every object tracked now, once per stage; True if this call froze them.

    Stages: "window" when the main window is built, "review" after the first detail is
    shown, when the ORM has configured its mappers (tens of thousands of objects that live
    as long as the process, and that every full pass would otherwise walk again).
    (`gc.get_freeze_count()` cannot tell whether this ran: Python 3.12 starts with objects
    frozen already.)
    """
    if stage in _frozen:
        return False
    gc.freeze()
    _frozen.add(stage)
    return True


#: How long a thread running Python keeps the interpreter lock while another waits (seconds).
SWITCH_INTERVAL_S = 0.0002


def switch_threads_often() -> None:
    """Hand the interpreter lock to a waiting thread every 0.2 ms instead of 5 ms (see above).

    Beside a busy worker, the main window is built in ~100 ms instead of 2.6 s; a thread
    that runs Python alone is not slowed (nobody waits, so nothing is handed over).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def pause_collector() -> None:
    """Turn the cyclic collector off for the start: Qt, SQLAlchemy and the window allocate a few
    hundred thousand objects that live as long as the window, and walking them again and again on
    the way to the first painted page costs ~40 ms. `resume_collector` turns it back on."""
    gc.disable()


def resume_collector() -> None:
    """Freeze what start-up built, then turn the collector back on: its full passes walk only what
    comes after, and never stall the window for the 50-60 ms a pass over everything takes."""
    freeze_start_up_objects()
    gc.enable()


@contextlib.contextmanager
def collector_running() -> Iterator[None]:
    """The collector on for a stretch of the start where speed does not matter (building demo data)."""
    gc.enable()
    try:
        yield
    finally:
        gc.disable()


def collector_on() -> None:
    """The collector on whatever happened (the window never came up): at the end of `run_gui`."""
    gc.enable()
