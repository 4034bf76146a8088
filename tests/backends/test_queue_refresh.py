"""The queue notices what another workstation committed and refreshes in place.

A window shows a scrolled queue with one submission selected; a second ServiceContext
(another workstation on the same SQLite file or PostgreSQL database) registers a new
submission that sorts above it and reassigns one on screen. Within a poll the window
shows both, and the same submission is still selected at the same place on screen.
"""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from desktop_app.domain.types import SubmissionState
from desktop_app.services import demo_bulk
from desktop_app.services.bundle import Services
from desktop_app.services.context import ServiceContext
from desktop_app.services.intake import IntakeService, ManualRegistration
from desktop_app.services.queue import QueueColumn
from desktop_app.services.workflow import WorkflowService
from desktop_app.ui.mainwindow.window import MainWindow

from .support import Database

GENERATED = 240


@pytest.fixture
def queue_ctx(ctx: ServiceContext, people) -> ServiceContext:  # noqa: ANN001
    demo_bulk.generate(ctx, GENERATED, seed=5,
                       reviewers=[demo_bulk.Person(people[u].user_id, u) for u in ("rev", "rev2")],
                       supervisors=[demo_bulk.Person(people["sup"].user_id, "sup")])
    return ctx


def test_a_change_elsewhere_appears_without_losing_selection_or_scroll(qtbot, queue_ctx: ServiceContext,  # noqa: ANN001
                                                                       people, database: Database, clock) -> None:  # noqa: ANN001
    window = MainWindow(Services.from_context(queue_ctx), people["sup"])
    qtbot.addWidget(window)
    window.resize(1400, 700)
    with qtbot.waitExposed(window):
        window.show()
    window.queue.sortByColumn(QueueColumn.RECEIVED, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: not window.model.loading)
    model, view = window.model, window.queue
    total = model.rowCount()
    assert total == GENERATED

    row = 150
    view.scrollTo(model.index(row, 0))
    view.selectRow(row)
    qtbot.waitUntil(lambda: window._shown_id == model.id_at(row), timeout=5000)
    chosen, y_before = model.id_at(row), view.rowViewportPosition(row)
    nearby = range(row - 10, row + 11)  # on screen or just off it
    neighbour = next(r for n in nearby if n != row and (r := model.row_data(n)) is not None
                     and r.state is SubmissionState.IN_REVIEW)
    scroll_before = view.verticalScrollBar().value()

    elsewhere = database.open(clock=clock)  # another workstation
    try:
        early = min(r.received for r in (model.row_data(0),) if r is not None) - dt.timedelta(days=1)
        IntakeService(elsewhere).register_by_hand(people["rev2"], ManualRegistration(
            developer_name="Elsewhere Labs", contact_name="Compliance", contact_email="c@elsewhere.example",
            model_name="Ibis", model_version="1.0", intended_release=None,
            received_at=dt.datetime.combine(early, dt.time(12), tzinfo=dt.UTC)))
        other = "rev2" if neighbour.assignee != "Jo Reviewer" else "rev"
        WorkflowService(elsewhere).reassign(people["sup"], neighbour.id, people[other].user_id)
    finally:
        elsewhere.close()

    window._poll_timer.setInterval(100)  # the real interval is two seconds; the path is the same
    qtbot.waitUntil(lambda: model.rowCount() == total + 1 and not model.loading, timeout=10000)
    new_row = model.row_for_id(chosen)
    assert new_row == row + 1  # the new submission sorts first
    assert window.keeper.current_id() == chosen and window.keeper.selected_ids() == [chosen]
    assert view.rowViewportPosition(new_row) == y_before  # the selection did not move on screen
    assert view.verticalScrollBar().value() != scroll_before or y_before < 0  # the view followed the new row
    moved = model.row_data(model.row_for_id(neighbour.id))  # type: ignore[arg-type]
    assert moved is not None and moved.assignee == {"rev": "Riley Reviewer", "rev2": "Jo Reviewer"}[other]
    qtbot.waitUntil(lambda: window._shown_id == chosen, timeout=5000)  # the detail pane shows it again
    window._poll_timer.stop()
