"""Start-up of a large queue: the first page before the whole id list, the review half of
the window after the first paint, and no ORM on the way to the first painted page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTableView
from queue_data import GENERATED, PASSWORD

from desktop_app.domain.types import SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.queue import QueueColumn, QueueFilter, QueueService
from desktop_app.ui.mainwindow.window import MainWindow
from desktop_app.ui.queue.model import PAGE_SIZE, FirstPage, QueueModel

TOTAL = GENERATED + 2


@pytest.mark.parametrize("column", list(QueueColumn))
@pytest.mark.parametrize("descending", [False, True])
def test_the_first_ids_are_the_head_of_the_whole_list(qctx, column: QueueColumn,  # noqa: ANN001
                                                      descending: bool) -> None:
    service = QueueService(qctx)
    flt = QueueFilter(states=frozenset({SubmissionState.IN_REVIEW, SubmissionState.RECEIVED}))
    whole = list(service.ordered_ids(flt, column, descending))
    head, count = service.first_ids(flt, column, descending, 50)
    assert list(head)[:50] == whole[:50] and len(head) in (50, count)  # the whole list where it is as cheap
    assert count == len(whole) > 50


def test_a_short_queue_comes_whole_from_first_ids(qctx) -> None:  # noqa: ANN001
    service = QueueService(qctx)
    flt = QueueFilter(text="zephyrine")
    head, count = service.first_ids(flt, QueueColumn.DUE, False, 50)
    assert list(head) == list(service.ordered_ids(flt)) and count == len(head) == 2


def test_a_large_queue_paints_its_first_page_before_the_whole_list(qtbot, qctx) -> None:  # noqa: ANN001
    service = QueueService(qctx)
    model = QueueModel(service, background_rows=0)  # behave as at 100,000 submissions
    model.reload_first_page()
    whole = list(service.ordered_ids())
    assert isinstance(model.ids(), FirstPage) and model.loading
    assert model.rowCount() == TOTAL  # the scroll bar is right from the start
    assert [model.id_at(r) for r in range(PAGE_SIZE)] == whole[:PAGE_SIZE]
    assert model.data(model.index(0, QueueColumn.REFERENCE)) == service.rows([whole[0]])[0].reference
    assert model.known_id(PAGE_SIZE + 5) is None and model.row_data(PAGE_SIZE + 5) is None  # blank, not wrong
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert list(model.ids()) == whole
    assert model.known_id(PAGE_SIZE + 5) == whole[PAGE_SIZE + 5]


def test_the_first_page_follows_the_filter_and_sort(qtbot, qctx) -> None:  # noqa: ANN001
    service = QueueService(qctx)
    model = QueueModel(service, background_rows=0)
    model.filter = QueueFilter(states=frozenset({SubmissionState.RECEIVED}))
    model.sort_column, model.descending = QueueColumn.DEVELOPER, True
    model.reload_first_page()
    whole = list(service.ordered_ids(model.filter, QueueColumn.DEVELOPER, True))
    assert model.rowCount() == len(whole)
    assert [model.id_at(r) for r in range(min(PAGE_SIZE, len(whole)))] == whole[:PAGE_SIZE]
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert list(model.ids()) == whole


def test_the_rest_of_the_list_waits_for_load_rest_and_keeps_the_first_page(qtbot, qctx) -> None:  # noqa: ANN001
    """The window paints the first page with no worker beside it, then asks for the rest; the
    first page's rows, read for that paint, stay: the whole list reads no page again."""
    service = QueueService(qctx)
    model = QueueModel(service, background_rows=0)
    model.reload_first_page(rest_later=True)
    assert isinstance(model.ids(), FirstPage) and model.loading  # "ready" waits for the rest
    qtbot.wait(200)
    assert isinstance(model.ids(), FirstPage)  # nothing started by itself
    first_reference = model.data(model.index(0, QueueColumn.REFERENCE))  # the paint reads page 0
    read: list[int] = []
    rows = service.rows
    service.rows = lambda ids: read.append(len(ids)) or rows(ids)  # type: ignore[method-assign]
    model.load_rest()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert list(model.ids()) == list(service.ordered_ids())
    assert model.data(model.index(0, QueueColumn.REFERENCE)) == first_reference
    assert read == []  # neither the worker nor the repaint read page 0 again
    model.load_rest()  # once read, a no-op
    assert not model.loading


class _PaintCounter(QObject):
    def __init__(self, widget) -> None:  # noqa: ANN001
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: ANN001, N802
        self.count += event.type() == QEvent.Type.Paint
        return False


def test_the_whole_list_fills_in_behind_the_painted_page_without_repainting_it(qtbot, qctx) -> None:  # noqa: ANN001
    """No reset when the list begins with the page on screen: the page is not painted again
    (a repaint beside the review half's worker was ~15 ms), the selection stays as it is."""
    service = QueueService(qctx)
    model = QueueModel(service, background_rows=0)
    model.reload_first_page(rest_later=True)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 300)
    view.selectRow(2)
    paints = _PaintCounter(view.viewport())
    with qtbot.waitExposed(view):
        view.show()
    qtbot.waitUntil(lambda: paints.count >= 1)
    qtbot.wait(50)
    painted = paints.count
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.load_rest()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    qtbot.wait(50)
    assert list(model.ids()) == list(service.ordered_ids())
    assert resets == [] and paints.count == painted
    assert view.currentIndex().row() == 2 and view.selectionModel().isRowSelected(2)


def test_rows_painted_blank_before_the_whole_list_are_filled_in(qtbot, qctx) -> None:  # noqa: ANN001
    service = QueueService(qctx)
    model = QueueModel(service, background_rows=0)
    model.reload_first_page(rest_later=True)
    past = PAGE_SIZE + 5
    assert model.data(model.index(0, QueueColumn.REFERENCE))  # the first page painted
    assert model.data(model.index(past, QueueColumn.REFERENCE)) is None  # scrolled there early: blank
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last, _roles: changed.append((first.row(), last.row())))
    model.load_rest()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    whole = list(service.ordered_ids())
    assert model.data(model.index(past, QueueColumn.REFERENCE)) == service.rows([whole[past]])[0].reference
    assert changed == [(PAGE_SIZE, len(whole) - 1)]  # the view repaints them


def test_a_reload_before_the_rest_supersedes_it(qtbot, qctx) -> None:  # noqa: ANN001
    service = QueueService(qctx)
    model = QueueModel(service, background_rows=0)
    model.reload_first_page(rest_later=True)
    model.filter = QueueFilter(states=frozenset({SubmissionState.RECEIVED}))
    model.request_reload()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    model.load_rest()  # the first load's rest is gone: it never overwrites the filtered list
    assert not model.loading
    assert list(model.ids()) == list(service.ordered_ids(model.filter))


# -- the window -------------------------------------------------------------------------

@pytest.fixture
def services(qctx):  # noqa: ANN001, ANN201
    return Services.from_context(qctx)


def test_the_review_half_is_built_just_after_the_first_paint(qtbot, services, actors) -> None:  # noqa: ANN001
    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()
    assert not window.ready and not hasattr(window, "detail")
    assert window.model.rowCount() == TOTAL and window.queue.currentIndex().row() == 0
    with qtbot.waitExposed(window):
        window.show()
    qtbot.waitUntil(lambda: window.ready, timeout=10_000)
    current = window.current_id()
    qtbot.waitUntil(lambda: window.detail.detail is not None and window.detail.detail.id == current, timeout=10_000)
    assert window.splitter.widget(2) is window.detail


@pytest.fixture
def large_queue(monkeypatch):  # noqa: ANN001, ANN201
    """The window behaves as at 100,000 submissions: first page first, the rest on a worker."""
    import desktop_app.ui.queue.model as queue_model

    monkeypatch.setattr(queue_model, "BACKGROUND_ROWS", 0)


def test_a_large_queue_reads_its_whole_list_after_the_first_paint(qtbot, services, actors, large_queue) -> None:  # noqa: ANN001
    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()
    qtbot.wait(100)
    assert isinstance(window.model.ids(), FirstPage) and window.model.loading  # nothing beside the first paint
    with qtbot.waitExposed(window):
        window.show()
    qtbot.waitUntil(lambda: not window.model.loading and window.detail_is_current(), timeout=10_000)
    assert list(window.model.ids()) == list(services.queue.ordered_ids(window.model.filter, window.model.sort_column,
                                                                       window.model.descending))
    assert window.detail.detail is not None and window.detail.detail.id == window.model.id_at(0)


def test_a_window_never_painted_still_reads_its_whole_list(qtbot, services, actors, large_queue) -> None:  # noqa: ANN001
    """Started minimised, no paint comes: the rest is read after REST_AT_THE_LATEST_MS all the same."""
    from desktop_app.ui.mainwindow.queue_side import REST_AT_THE_LATEST_MS

    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()
    assert window.model.loading
    qtbot.waitUntil(lambda: not window.model.loading, timeout=REST_AT_THE_LATEST_MS + 5000)
    assert len(window.model.ids()) == TOTAL and not isinstance(window.model.ids(), FirstPage)


def test_the_first_detail_is_read_on_the_worker_that_imports_the_review_half(qtbot, services,  # noqa: ANN001
                                                                              actors) -> None:  # noqa: ANN001
    """The first ORM read (mappers set up, statements compiled) would stall the window just after its first paint."""
    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()
    read_on: list[int] = []
    read = window._detail_parts

    def noting_the_thread(submission_id: int) -> tuple[object, ...]:
        read_on.append(threading.get_ident())
        return read(submission_id)

    window._detail_parts = noting_the_thread  # type: ignore[method-assign]
    with qtbot.waitExposed(window):
        window.show()
    qtbot.waitUntil(window.detail_is_current, timeout=10_000)
    assert window.detail.detail is not None and window.detail.detail.id == window.model.id_at(0)
    assert read_on and threading.get_ident() not in read_on


REVIEW_HALF_SCRIPT = r"""
import importlib, json, sys
import desktop_app.ui.application
from desktop_app.ui.mainwindow.review_side import REVIEW_MODULES
for name in REVIEW_MODULES:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith((
    "jsonschema", "reportlab", "pyhanko", "desktop_app.services.reports", "desktop_app.services.letters",
    "desktop_app.services.packages.reader", "desktop_app.letters")))))
"""


def test_the_review_half_waits_for_no_report_letter_or_package_library() -> None:
    """What the detail pane needs, and no more: reports, letters and the package reader load on first use."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", REVIEW_HALF_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_command_before_the_review_half_builds_it_first(qtbot, services, actors) -> None:  # noqa: ANN001
    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()
    go_to_detail = next(a for a in window.findChildren(QAction) if a.text() == "Go to &detail")
    go_to_detail.trigger()  # never painted, so nothing was built yet
    assert window.ready and window.splitter.widget(2) is window.detail


def test_enter_on_a_row_before_the_review_half_shows_it(qtbot, services, actors) -> None:  # noqa: ANN001
    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()
    window.queue.setCurrentIndex(window.model.index(3, 0))
    qtbot.keyClick(window.queue, Qt.Key.Key_Return)
    assert window.ready and window.detail.detail is not None and window.detail.detail.id == window.model.id_at(3)


# -- no ORM before the first page -------------------------------------------------------

def run_app_script(script: str, *args: str) -> dict:  # type: ignore[type-arg]
    """Run `script` in a fresh interpreter (offscreen Qt) and return the JSON of its last line."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


FIRST_PAGE_SCRIPT = r"""
import json, sys
from pathlib import Path
from desktop_app.ui.application import make_application
from desktop_app.services.bundle import Services
from desktop_app.ui.mainwindow.window import MainWindow

app = make_application()
services = Services.open(Path(sys.argv[1]))
actor = services.users.authenticate("rev", sys.argv[2])
window = MainWindow(services, actor, defer_review=True)
window.show()
window.queue.viewport().repaint()
loaded = sorted(m for m in sys.modules if m.startswith(("sqlalchemy.orm", "desktop_app.storage.models", "reportlab",
                                                        "pyhanko", "jsonschema", "alembic")))
print(json.dumps({"rows": window.model.rowCount(), "loaded": loaded}))
"""


def test_the_first_page_paints_without_the_orm_or_any_heavy_library(qctx) -> None:  # noqa: ANN001
    """Sign-in, settings and the queue are Core only: ~100 ms of ORM imports wait until after."""
    result = run_app_script(FIRST_PAGE_SCRIPT, str(qctx.paths.root), PASSWORD)
    assert result["rows"] == TOTAL
    assert result["loaded"] == []


READY_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from desktop_app.ui.application import make_application
from desktop_app.services.bundle import Services
from desktop_app.ui.mainwindow.window import MainWindow

app = make_application()
services = Services.open(Path(sys.argv[1]))
actor = services.users.authenticate("rev", sys.argv[2])
window = MainWindow(services, actor, defer_review=True)
window.show()
deadline = time.monotonic() + 60
while not (window.ready and window.detail_is_current() and window.detail.detail is not None):
    QApplication.processEvents()
    assert time.monotonic() < deadline, "never ready"
orm_when_ready = "sqlalchemy.orm" in sys.modules or "desktop_app.storage.models" in sys.modules
shown = window.detail.detail.id
offered = sorted(a.value for a, v in window.detail.action_panel.shown[1].verdicts.items() if v)
while "desktop_app.services.workflow" not in sys.modules or not window._records_loaded:
    QApplication.processEvents()
    assert time.monotonic() < deadline, "the record services never loaded"
print(json.dumps({"orm_when_ready": orm_when_ready, "shown": shown, "offered": offered,
                  "current": window.current_id()}))
"""


def test_the_window_is_ready_before_the_orm_loads_and_loads_it_after(qctx) -> None:  # noqa: ANN001
    """The detail pane and its actions are read with Core: the ORM (~250 ms) loads on a worker once
    the window is ready, so neither the first paint nor "ready" waits for it."""
    result = run_app_script(READY_SCRIPT, str(qctx.paths.root), PASSWORD)
    assert result["orm_when_ready"] is False
    assert result["shown"] == result["current"]
    assert result["offered"]  # the action panel is filled from the same Core read


def test_the_collector_is_off_for_the_start_and_on_once_the_window_is_up(qctx) -> None:  # noqa: ANN001
    """...and the interpreter lock changes hands every 0.2 ms: beside a worker running Python, the GUI
    thread's Qt calls would otherwise each wait up to 5 ms for it (ui.startup.switch_threads_often)."""
    script = ("import gc, sys; frozen_at_start = gc.get_freeze_count(); from desktop_app.app import main; "
              "rc = main(['--data-dir', sys.argv[1], '--smoke-test', '--user', 'rev']); "
              "print(rc, gc.isenabled(), gc.get_freeze_count() > frozen_at_start + 10_000, "
              "sys.getswitchinterval() <= 0.0005)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CLEARANCE_DESK_PASSWORD": PASSWORD}
    out = subprocess.run([sys.executable, "-c", script, str(qctx.paths.root)], env=env, capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert "first queue page painted" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "0 True True True"


def test_imports_after_pyside_leave_no_source_in_the_line_cache() -> None:
    """PySide6's per-import scan for `__feature__` goes through the file, not linecache."""
    script = ("import linecache, sys; import desktop_app.ui.application; import sqlalchemy.orm; "
              "import desktop_app.services.findings; "
              "print(sum(name.startswith(('sqlalchemy', 'desktop_app')) for name in sys.modules), "
              "sum('/sqlalchemy/' in path or '/desktop_app/' in path for path in linecache.cache))")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    imported, cached = map(int, out.stdout.split())
    assert imported > 100 and cached <= 2  # desktop_app.ui.application itself was scanned before the switch


def test_the_review_half_loads_while_the_sign_in_dialog_waits(qctx) -> None:  # noqa: ANN001
    """A person takes seconds to type a password: the review half (the ORM) is imported meanwhile,
    on a worker, so nothing of it is waited for after OK."""
    script = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import desktop_app.ui.application as application

made = application.make_application
waited = []

def look() -> None:
    dialog = QApplication.activeModalWidget()
    loaded = "desktop_app.ui.review.detail_pane" in sys.modules and "sqlalchemy.orm" in sys.modules
    waited.append(1)
    if dialog is not None and (loaded or len(waited) > 600):
        print("review half loaded while the dialog was open:", loaded, type(dialog).__name__)
        dialog.reject()
    else:
        QTimer.singleShot(50, look)

def make():
    app = made()
    QTimer.singleShot(0, look)
    return app

application.make_application = make
from desktop_app.app import main
sys.exit(main(["--data-dir", sys.argv[1]]))
"""
    env = {key: value for key, value in os.environ.items() if key != "CLEARANCE_DESK_PASSWORD"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    out = subprocess.run([sys.executable, "-c", script, str(qctx.paths.root)], env=env, capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "review half loaded while the dialog was open: True LoginDialog"
