"""The queue's columns at 1366 px and the header's column chooser (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QMenu

from desktop_app.services.bundle import Services
from desktop_app.services.queue import QueueColumn
from desktop_app.ui.mainwindow.window import MainWindow
from desktop_app.ui.queue.columns import NAME_PADDING


@pytest.fixture
def services(qctx):  # noqa: ANN001, ANN201
    return Services.from_context(qctx)


def open_at(qtbot, services, actor, width: int, height: int, *, fresh: bool = True) -> MainWindow:  # noqa: ANN001
    if fresh:
        QSettings().remove("main/queueHeader")  # another test's window may have kept its header
    window = MainWindow(services, actor)
    qtbot.addWidget(window)
    window.resize(width, height)
    with qtbot.waitExposed(window):
        window.show()
    window._poll_timer.stop()
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and not window.model.loading)
    return window


def test_triage_columns_show_beside_the_detail_pane_at_1366(qtbot, services, actors) -> None:  # noqa: ANN001
    window = open_at(qtbot, services, actors["rev"], 1366, 768)
    header, view = window.queue.horizontalHeader(), window.queue
    for column in (QueueColumn.REFERENCE, QueueColumn.STATUS, QueueColumn.ASSIGNEE, QueueColumn.DAYS_LEFT,
                   QueueColumn.SEVERITY, QueueColumn.RELEASE_CONFLICT):
        left = header.sectionViewportPosition(column)
        assert not header.isSectionHidden(column), column.title
        assert 0 <= left and left + min(header.sectionSize(column), 90) <= view.viewport().width(), column.title
    metrics = view.fontMetrics()
    names = {window.model.data(window.model.index(r, QueueColumn.ASSIGNEE)) or "" for r in range(min(
        window.model.rowCount(), view.rowAt(view.viewport().height() - 1) + 1 or window.model.rowCount()))}
    widest = max(metrics.horizontalAdvance(name) for name in names)
    assert widest > 0 and header.sectionSize(QueueColumn.ASSIGNEE) >= widest + NAME_PADDING  # names not cut


def test_the_header_menu_chooses_columns_and_keeps_the_choice(qtbot, services, actors) -> None:  # noqa: ANN001
    window = open_at(qtbot, services, actors["rev"], 1366, 768)
    header = window.queue.horizontalHeader()
    assert header.isSectionHidden(QueueColumn.OPEN_FINDINGS)
    header.customContextMenuRequested.emit(QPoint(20, 5))
    menu = next(m for m in header.findChildren(QMenu) if m.isVisible())
    entries = {a.text(): a for a in menu.actions() if a.isCheckable()}
    assert set(entries) == {c.title for c in QueueColumn} and not entries["Reference"].isEnabled()
    entries["Open findings"].trigger()
    entries["Model"].trigger()
    menu.close()
    assert not header.isSectionHidden(QueueColumn.OPEN_FINDINGS) and header.isSectionHidden(QueueColumn.MODEL)
    assert QSettings().value("main/queueHeader") is not None
    window.close()

    again = open_at(qtbot, services, actors["rev"], 1366, 768, fresh=False).queue.horizontalHeader()
    assert not again.isSectionHidden(QueueColumn.OPEN_FINDINGS) and again.isSectionHidden(QueueColumn.MODEL)
