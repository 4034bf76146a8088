"""The queue model and window, driven with pytest-qt offscreen: paging, background loading,
selection and scroll kept, filters, saved filters, search highlighting, bulk assign, keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QInputDialog
from queue_data import GENERATED, NOW, all_submissions

from desktop_app.domain.types import Severity, SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.intake import IntakeService, ManualRegistration
from desktop_app.services.queue import QueueColumn, QueueFilter, QueueService
from desktop_app.ui.mainwindow.window import MainWindow
from desktop_app.ui.queue.model import PAGE_SIZE, QueueModel, select_rows

TOTAL = GENERATED + 2


@pytest.fixture
def services(qctx):  # noqa: ANN001, ANN201
    return Services.from_context(qctx)


@pytest.fixture
def window(qtbot, services, actors):  # noqa: ANN001, ANN201
    win = MainWindow(services, actors["rev"])
    qtbot.addWidget(win)
    win.resize(1400, 800)
    with qtbot.waitExposed(win):
        win.show()
    win._poll_timer.stop()
    win.queue.sortByColumn(QueueColumn.DUE, Qt.SortOrder.AscendingOrder)  # QSettings may hold another test's
    return win


def texts(model: QueueModel, column: QueueColumn = QueueColumn.REFERENCE) -> list[str]:
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


# -- the model ------------------------------------------------------------------------------

def test_the_model_passes_qtmodeltester(qtmodeltester, qctx) -> None:  # noqa: ANN001
    model = QueueModel(QueueService(qctx))
    model.reload()
    qtmodeltester.check(model, force_py=True)
    model.set_filter(QueueFilter(text="zephyrine"))
    qtmodeltester.check(model, force_py=True)


@pytest.mark.parametrize("row", [0, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE - 1, 2 * PAGE_SIZE,
                                 TOTAL - 1])
def test_rows_at_page_boundaries_are_the_right_ones(qctx, row: int) -> None:  # noqa: ANN001
    service = QueueService(qctx)
    model = QueueModel(service)
    model.reload()
    assert model.rowCount() == TOTAL
    expected_id = list(service.ordered_ids())[row]
    [expected] = service.rows([expected_id])
    model.clear_page_cache()
    assert model.data(model.index(row, QueueColumn.REFERENCE)) == expected.reference
    assert model.row_data(row) == expected
    assert model.data(model.index(row, QueueColumn.MODEL)) == expected.model
    neighbours = [model.row_data(r) for r in (row - 1, row + 1) if 0 <= r < TOTAL]
    assert all(n is not None and n.id != expected.id for n in neighbours)
    assert model.row_data(TOTAL) is None and model.row_data(-1) is None


def test_a_large_queue_loads_on_a_worker_and_keeps_only_the_latest(qtbot, qctx) -> None:  # noqa: ANN001
    model = QueueModel(QueueService(qctx), background_rows=0)
    model.reload()  # the first load is always in place
    applied: list[float] = []
    model.reloaded.connect(applied.append)
    with qtbot.waitSignal(model.reloaded, timeout=5000):
        model.set_filter(QueueFilter(text="ze"))
        model.set_filter(QueueFilter(text="zep"))
        model.set_filter(QueueFilter(text="zephyrine axo"))  # typed while the first query ran
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert model.rowCount() == 1 and model.data(model.index(0, QueueColumn.MODEL)) == "Axolotl 2.0"
    assert len(applied) <= 2  # the stale middle query never reached the view


def test_a_search_hit_outside_the_columns_is_explained(qctx, known) -> None:  # noqa: ANN001
    model = QueueModel(QueueService(qctx))
    model.set_filter(QueueFilter(text="xylo"))
    assert model.rowCount() == 1
    tip = model.data(model.index(0, QueueColumn.STATUS), Qt.ItemDataRole.ToolTipRole)
    assert tip == "Search matched F-1: Xylophone side-channel leaks weights"


# -- selection and scroll ----------------------------------------------------------------

def test_selection_survives_sorting_refresh_and_new_rows(qtbot, window, services, actors) -> None:  # noqa: ANN001
    model, view = window.model, window.queue
    chosen = [model.id_at(r) for r in (3, 4, 10, 250)]
    select_rows(view, [3, 4, 10, 250])
    view.selectionModel().setCurrentIndex(model.index(10, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
    view.sortByColumn(QueueColumn.DEVELOPER, Qt.SortOrder.DescendingOrder)
    assert sorted(window.selected_ids()) == sorted(chosen) and window.current_id() == model.id_at(
        model.row_for_id(chosen[2]))
    window.reload()
    assert sorted(window.selected_ids()) == sorted(chosen)
    IntakeService(services.ctx).register_by_hand(actors["rev2"], ManualRegistration(
        developer_name="Aardvark Analytics", contact_name="C", contact_email="c@aardvark.example",
        model_name="Newcomer", model_version="1.0", intended_release=None, received_at=NOW))
    window.reload()
    assert model.rowCount() == TOTAL + 1
    assert sorted(window.selected_ids()) == sorted(chosen) and window.current_id() == chosen[2]


def test_the_view_does_not_jump_when_rows_arrive_above(qtbot, window, actors, services) -> None:  # noqa: ANN001
    view, model = window.queue, window.model
    view.sortByColumn(QueueColumn.RECEIVED, Qt.SortOrder.DescendingOrder)  # the newest on top
    view.verticalScrollBar().setValue(300)
    top_id = model.id_at(view.rowAt(0))
    for name in ("First", "Second"):
        IntakeService(services.ctx).register_by_hand(actors["rev"], ManualRegistration(
            developer_name="Aardvark Analytics", contact_name="C", contact_email="c@aardvark.example",
            model_name=name, model_version="1.0", intended_release=None, received_at=NOW))
    window.reload()
    assert model.id_at(view.rowAt(0)) == top_id
    assert view.verticalScrollBar().value() == 302


def test_the_current_submission_stays_in_view_when_sorting(qtbot, window) -> None:  # noqa: ANN001
    view, model = window.queue, window.model
    view.setCurrentIndex(model.index(5, 0))
    current = window.current_id()
    view.sortByColumn(QueueColumn.REFERENCE, Qt.SortOrder.DescendingOrder)
    row = model.row_for_id(current)
    assert window.current_id() == current
    assert view.rowAt(0) <= row <= view.rowAt(view.viewport().height() - 1)


# -- filters ------------------------------------------------------------------------------

def test_the_filter_bar_refines_the_sidebar_view(qtbot, window, services, actors, qctx) -> None:  # noqa: ANN001
    bar, model = window.filter_bar, window.model
    bar.severity.setCurrentIndex(bar.severity.findData(Severity.HIGH.value))
    assert model.filter.min_severity is Severity.HIGH
    expected = services.queue.ordered_ids(QueueFilter(min_severity=Severity.HIGH))
    assert [model.id_at(r) for r in range(model.rowCount())] == list(expected)
    window.sidebar.setCurrentRow(1)  # assigned to me
    bar.due.setCurrentIndex(bar.due.findData("overdue"))
    flt = QueueFilter(assignee_id=actors["rev"].user_id, overdue=True, min_severity=Severity.HIGH)
    assert model.filter == flt and model.rowCount() == len(services.queue.ordered_ids(flt)) > 0
    developer = all_submissions(qctx)[0].developer_id
    bar.developer.setCurrentIndex(bar.developer.findData(developer))
    assert model.filter.developer_id == developer
    counts = services.queue.counts(bar.refinements(), me=actors["rev"].user_id)
    in_review = window.sidebar.item(4 + list(SubmissionState).index(SubmissionState.IN_REVIEW))
    assert in_review.text().endswith(f"({counts.states[SubmissionState.IN_REVIEW]:,})")
    window.clear_filters()
    assert model.filter == QueueFilter() and model.rowCount() == TOTAL


def test_a_saved_filter_comes_back_with_its_refinements(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    window.sidebar.setCurrentRow(4 + list(SubmissionState).index(SubmissionState.IN_REVIEW))
    window.filter_bar.severity.setCurrentIndex(window.filter_bar.severity.findData(Severity.MEDIUM.value))
    qtbot.keyClicks(window.search, "jail")
    qtbot.waitUntil(lambda: window.model.filter.text == "jail", timeout=2000)
    wanted, rows = window.current_filter(), window.model.rowCount()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Jailbreaks in review", True)))
    window.save_current_filter()  # saved on a worker; the sidebar lists it when the change is announced
    qtbot.waitUntil(lambda: any(window.sidebar.item(r).text() == "★ Jailbreaks in review"
                                for r in range(window.sidebar.count())), timeout=10_000)
    window.clear_filters()
    assert window.model.rowCount() == TOTAL and window.search.text() == ""
    saved_row = next(r for r in range(window.sidebar.count()) if window.sidebar.item(r).text() == "★ Jailbreaks in review")
    window.sidebar.setCurrentRow(saved_row)
    assert window.current_filter() == wanted and window.model.rowCount() == rows
    assert window.search.text() == "jail"


def test_search_hits_are_highlighted(qtbot, window) -> None:  # noqa: ANN001
    window.queue.horizontalHeader().setSectionHidden(QueueColumn.DEVELOPER, False)  # hidden by default
    qtbot.keyClicks(window.search, "zephyrine")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=2000)
    window.queue.viewport().repaint()
    image = window.queue.viewport().grab().toImage()
    x = window.queue.columnViewportPosition(QueueColumn.DEVELOPER) + 12
    hit = QColor("#ffd54f")
    assert any(image.pixelColor(x + dx, 12).name() == hit.name() for dx in range(40))
    window.search.clear()
    qtbot.waitUntil(lambda: window.model.rowCount() == TOTAL, timeout=2000)
    assert window.queue.itemDelegateForColumn(QueueColumn.DEVELOPER) is not window.highlighter


# -- bulk assign and keyboard --------------------------------------------------------------

def test_bulk_assign_from_the_window(qtbot, window, actors) -> None:  # noqa: ANN001
    window.sidebar.setCurrentRow(4 + list(SubmissionState).index(SubmissionState.RECEIVED))
    received = window.model.rowCount()
    window.queue.selectAll()
    ids = window.selected_ids()
    assert len(ids) == received > 1
    window.bulk_assign(ids, actors["rev2"].user_id)
    qtbot.waitUntil(lambda: "Assigned" in window.statusBar().currentMessage(), timeout=5000)
    assert window.statusBar().currentMessage().startswith(f"Assigned {received}")
    assert {window.model.data(window.model.index(r, QueueColumn.ASSIGNEE)) for r in range(received)} == {
        "Jo Reviewer"}
    assert sorted(window.selected_ids()) == sorted(ids)


def test_keyboard_search_arrows_and_enter(qtbot, window) -> None:  # noqa: ANN001
    window.queue.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    qtbot.keyClicks(window.search, "quokka")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=2000)
    qtbot.keyClick(window.search, Qt.Key.Key_Down)
    assert window.queue.hasFocus() and window.queue.currentIndex().row() == 0
    qtbot.keyClick(window.queue, Qt.Key.Key_Return)
    assert window.detail.detail is not None and window.detail.detail.model_name == "Quokka"
    assert window.detail.isAncestorOf(window.focusWidget()) or window.detail.hasFocus()
    window.search.setFocus()
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.search.text() == ""
    qtbot.waitUntil(lambda: window.model.rowCount() == TOTAL, timeout=2000)
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.queue.hasFocus()


def test_a_large_queue_reads_the_detail_on_a_worker(qtbot, window) -> None:  # noqa: ANN001
    window.model.background_rows = 0  # behave as at 100,000 submissions
    model, view = window.model, window.queue
    for row in (7, 8, 9):  # an arrow key held down: only the last one needs to be shown
        view.setCurrentIndex(model.index(row, 0))
    qtbot.waitUntil(lambda: window._shown_id == model.id_at(9) and not window._detail_loading, timeout=5000)
    assert window.detail.detail is not None and window.detail.detail.id == model.id_at(9)


def test_a_single_click_on_a_large_queue_reads_the_detail_on_the_worker(qtbot, window) -> None:  # noqa: ANN001
    """One click too: the GUI thread never waits for the database, and the detail follows."""
    window.model.background_rows = 0
    model, view = window.model, window.queue
    view.setCurrentIndex(model.index(12, 0))
    assert window._detail_loading and window._shown_id != model.id_at(12)  # asked of the worker, not read here
    qtbot.waitUntil(lambda: window._shown_id == model.id_at(12), timeout=5000)
    assert window.detail.detail is not None and window.detail.detail.id == model.id_at(12)
    assert window.detail_is_current()


def test_typing_on_a_large_queue_gives_what_a_small_one_gives(qtbot, qctx) -> None:  # noqa: ANN001
    """The worker path searches within the unsearched list; the answer must not change."""
    service = QueueService(qctx)
    large = QueueModel(service, background_rows=0)
    large.reload()
    for text in ("j", "ja", "jai", "jail", "jailb", "jail", "zeph", "", "c", "cd", "cd-", "cd-2", "cd-2026", "cd-2026-0",
                 "cd-2026-01", "cd-2025", ""):
        with qtbot.waitSignal(large.reloaded, timeout=5000):
            large.set_filter(QueueFilter(text=text))
        qtbot.waitUntil(lambda: not large.loading, timeout=5000)
        assert list(large.ids()) == list(service.ordered_ids(QueueFilter(text=text))), text


def test_after_a_background_reload_the_repaint_reads_nothing(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    """The worker reads the page the view will show (and where the search matched) with the ids."""
    window.model.background_rows = 0  # behave as at 100,000 submissions
    service = window.model.service
    reads: list[str] = []
    for name in ("rows", "match_contexts"):
        real = getattr(service, name)
        monkeypatch.setattr(service, name, lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k))
    read_before_paint: list[int] = []
    window.model.reloaded.connect(lambda _ms: read_before_paint.append(len(reads)))  # the ids are in, nothing painted
    for text in ("zephyrine", "xylo", ""):
        with qtbot.waitSignal(window.model.reloaded, timeout=5000):
            window.search.setText(text)
            window.apply_filter()
        qtbot.waitUntil(lambda: not window.model.loading, timeout=5000)
        window.queue.viewport().repaint()
        assert len(reads) == read_before_paint[-1], (text, reads[read_before_paint[-1]:])  # none while painting
        assert window.model.data(window.model.index(0, QueueColumn.REFERENCE))


def test_the_window_fits_a_laptop_screen(window) -> None:  # noqa: ANN001
    """1366 pixels wide: the filter combos and the findings buttons must not force a wider window."""
    assert window.minimumSizeHint().width() <= 1366
    assert window.minimumWidth() <= 1366


def test_sidebar_counts_run_on_their_own_worker_after_typing_pauses(qtbot, window) -> None:  # noqa: ANN001
    """A count never holds up the next keystroke's id query: it has its own thread, and waits for a pause."""
    import threading

    window.model.background_rows = 0  # behave as at 100,000 submissions
    queue = window.services.queue
    threads: dict[str, set[int]] = {"ids": set(), "counts": set()}
    ordered_ids, counts = queue.ordered_ids, queue.counts

    def noting(kind: str, call):  # noqa: ANN001, ANN202 - the real service call, noting its thread
        def run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            threads[kind].add(threading.get_ident())
            return call(*args, **kwargs)
        return run

    queue.ordered_ids, queue.counts = noting("ids", ordered_ids), noting("counts", counts)
    qtbot.keyClicks(window.search, "zephyrine")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and not window.model.loading, timeout=5000)
    assert window._counts_timer.isActive() and not threads["counts"]  # not yet: typing may go on
    qtbot.waitUntil(lambda: bool(threads["counts"]) and not window._counts_running, timeout=5000)
    assert threads["ids"] and threads["counts"].isdisjoint(threads["ids"] | {threading.get_ident()})
    assert window.sidebar.item(0).text().endswith("(2)")  # "All  (2)" under the search
