"""The window hears every announced change from its first load on, before its review half is built:
an import or a bulk assignment made in the first moments after start-up still shows in the queue."""

from __future__ import annotations

from desktop_app.domain.types import SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.queue import QueueFilter
from desktop_app.ui.mainwindow.window import MainWindow
from desktop_app.ui.operations import ChangeKind, Changes, bus


def test_a_change_before_the_review_half_is_built_reaches_the_queue(qtbot, qctx, actors) -> None:  # noqa: ANN001
    services = Services.from_context(qctx)
    window = MainWindow(services, actors["rev"], defer_review=True)
    qtbot.addWidget(window)
    window._poll_timer.stop()  # only the bus may refresh it here
    assert not window.ready
    window.apply_external_filter(QueueFilter(states=frozenset({SubmissionState.RECEIVED})), "Received")
    qtbot.waitUntil(lambda: not window.model.loading, timeout=10_000)
    received = window.model.rowCount()
    accepted, other = services.queue.ordered_ids(QueueFilter(states=frozenset({SubmissionState.RECEIVED})))[:2]
    services.workflow.accept_and_assign(actors["sup"], accepted, actors["rev"].user_id)  # it leaves the view
    bus().announce(Changes(accepted, ChangeKind.WORKFLOW, "Accepted"))
    assert window.statusBar().currentMessage() == "Accepted" and not window.ready
    qtbot.waitUntil(lambda: window.model.rowCount() == received - 1, timeout=10_000)
    bus().announce(Changes(other, ChangeKind.INTAKE, "Imported"))  # a new submission is selected
    assert window.current_id() == other and not window.ready
