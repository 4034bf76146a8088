"""The conditions in the window (real widgets, offscreen): the Conditions view, sign-off dates, sidebar, My work."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QDialog, QInputDialog

from desktop_app.domain.conditions import ConditionStatus
from desktop_app.domain.types import Decision
from desktop_app.services.bundle import Services
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.queue import QueueFilter, QueueService
from letters_service.support import PASSPHRASE, PASSWORD, import_sample, to_awaiting_signoff

from .conftest import CONDITIONS


def shown(qtbot, services: Services, actor):  # noqa: ANN001, ANN201
    from desktop_app.ui.letters.conditions import ConditionsWindow

    window = ConditionsWindow(services, actor)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.tree.topLevelItemCount() > 0 or "in all" in window.summary.text(),
                    timeout=10_000)
    return window


def test_conditions_view_lists_and_offers_only_what_the_rules_allow(qtbot, ctx, people, issued, clock) -> None:  # noqa: ANN001
    clock.advance(days=15)   # condition 1 (due in 10 days) is overdue, 2 (in 20) is due within 7 days
    services = Services.from_context(ctx)
    window = shown(qtbot, services, people["rev"])
    rows = [[window.tree.topLevelItem(r).text(c) for c in (0, 5, 6)] for r in range(window.tree.topLevelItemCount())]
    assert rows == [[f"{issued.number} condition 1", "-5 (overdue)", "Open"],
                    [f"{issued.number} condition 2", "5", "Open"],
                    [f"{issued.number} condition 3", "15", "Open"]]
    assert window.summary.text().startswith("1 due within 7 days · 1 overdue · 3 conditions in all")
    assert CONDITIONS[0] in window.detail.text() and "No evidence yet" in window.detail.text()
    buttons = window.buttons
    assert buttons["evidence"].isEnabled() and buttons["not_met"].isEnabled()
    assert not buttons["met"].isEnabled() and "No evidence" in buttons["met"].toolTip()
    assert not buttons["waive"].isEnabled() and "Only a supervisor" in buttons["waive"].toolTip()
    window.show_choice.setCurrentIndex(2)   # Overdue
    qtbot.waitUntil(lambda: window.tree.topLevelItemCount() == 1, timeout=10_000)
    with qtbot.waitSignal(window.open_requested) as opened:
        window.buttons["open"].click()
    assert opened.args == [issued.submission_id]


def test_supervisor_waives_from_the_view_and_the_change_is_audited(qtbot, ctx, people, issued,  # noqa: ANN001
                                                                    monkeypatch) -> None:
    services = Services.from_context(ctx)
    window = shown(qtbot, services, people["sup"])
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.show_choice.setCurrentIndex(3)   # All conditions: a waived one stays in the list
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        staticmethod(lambda *_a, **_k: ("The developer removed the feature.", True)))
    assert window.buttons["waive"].isEnabled()
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.buttons["waive"].click()
    assert ConditionsService(ctx).get(issued.condition_ids[0]).status is ConditionStatus.WAIVED
    assert window.tree.topLevelItem(0).text(6) == "Waived" and "removed the feature" in window.detail.text()
    assert not window.buttons["waive"].isEnabled() and "final" in window.buttons["waive"].toolTip()


def test_signoff_dialog_asks_each_conditions_due_date(qtbot, ctx, people, letters, pki, samples_dir) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.signing import SigningDialog

    sid = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, sid, people["rev"], Decision.CLEARED_WITH_CONDITIONS, CONDITIONS[:2])
    services = Services.from_context(ctx)
    dialog = SigningDialog(services, people["sup"], sid)
    qtbot.addWidget(dialog)
    assert dialog.conditions is not None and len(dialog.conditions.dates) == 2
    today = services.conditions.today()
    assert dialog.conditions.dates[0].date().toPython() == today + dt.timedelta(days=90)
    dialog.conditions.dates[1].setDate(today + dt.timedelta(days=14))
    dialog.conditions.owner.setCurrentIndex(dialog.conditions.owner.findData(people["rev2"].user_id))
    dialog.key.use_file.setChecked(True)
    dialog.key.p12_path.setText(str(pki.supervisor_p12))
    dialog.key.passphrase.setText(PASSPHRASE)
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.signed, timeout=30_000) as signed:
        dialog.sign_button.click()
    assert signed.args[0] is not None and dialog.result() == QDialog.DialogCode.Accepted
    made = sorted(ConditionsService(ctx).list(submission_id=sid), key=lambda c: c.number)
    assert [(c.due_date - today).days for c in made] == [90, 14]
    assert {c.owner for c in made} == {"Jo Reviewer"}


def test_sidebar_filter_bar_and_my_work_show_conditions(qtbot, ctx, people, issued, clock) -> None:  # noqa: ANN001
    from desktop_app.ui.queue.my_work import MyWorkDialog
    from desktop_app.ui.queue.filters import VIEW_ROLE, FilterBar, QueueSidebar

    clock.advance(days=15)
    services = Services.from_context(ctx)
    counts = QueueService(ctx).counts(QueueFilter())
    assert (counts.conditions_due, counts.conditions_overdue) == (1, 1)
    sidebar = QueueSidebar(people["rev"].user_id)
    qtbot.addWidget(sidebar)
    sidebar.set_counts(counts)
    labels = {sidebar.item(r).data(VIEW_ROLE): sidebar.item(r).text() for r in range(sidebar.count())}
    assert labels["conditions:due"] == "Conditions due  (1)" and labels["conditions:overdue"] == "Conditions overdue  (1)"
    row = next(r for r in range(sidebar.count()) if sidebar.item(r).data(VIEW_ROLE) == "conditions:overdue")
    sidebar.setCurrentRow(row)
    assert sidebar.view_filter() == QueueFilter(conditions="overdue")
    assert list(QueueService(ctx).ordered_ids(sidebar.view_filter())) == [issued.submission_id]
    assert list(QueueService(ctx).ordered_ids(QueueFilter(conditions="due", developer_id=999))) == []
    bar = FilterBar(people["rev"].user_id, [], [])
    qtbot.addWidget(bar)
    bar.conditions.setCurrentIndex(bar.conditions.findData("due"))
    assert bar.refinements().conditions == "due"
    saved = QueueFilter.from_spec(bar.refinements().to_spec())
    assert saved.conditions == "due"
    dialog = MyWorkDialog(services, people["rev"])
    qtbot.addWidget(dialog)
    top = next(dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())
               if dialog.tree.topLevelItem(i).text(0).startswith("Conditions due or overdue"))
    assert top.text(0) == "Conditions due or overdue (2)"
    assert [top.child(i).text(5) for i in range(top.childCount())] == ["-5 (overdue)", "5"]
    other = MyWorkDialog(services, people["rev2"])
    qtbot.addWidget(other)
    assert any(other.tree.topLevelItem(i).text(0) == "Conditions due or overdue (0)"
               for i in range(other.tree.topLevelItemCount()))


def test_dashboard_shows_condition_kpis_and_a_chart_by_status(qtbot, ctx, people, issued, clock) -> None:  # noqa: ANN001
    from desktop_app.services.reports import ChartPick, queue_link
    from desktop_app.ui.reports.dashboard import Dashboard

    clock.advance(days=15)
    services = Services.from_context(ctx)
    ConditionsService(ctx).waive(people["sup"], issued.condition_ids[2], "Not needed.")
    dashboard = Dashboard(services.reports)
    qtbot.addWidget(dashboard)
    with qtbot.waitSignal(dashboard.loaded, timeout=20_000) as loaded:
        dashboard.refresh()
    figures = loaded.args[0]
    assert (figures.conditions_due, figures.conditions_overdue) == (1, 1)
    assert [(c.label, c.value) for c in figures.conditions_by_status] == [
        ("Open", 2), ("Evidence received", 0), ("Met", 0), ("Not met", 0), ("Waived", 1)]
    assert dashboard.tiles["conditions_overdue"].accessibleName() == "Conditions overdue: 1"
    assert dashboard.tiles["conditions_due"].accessibleName() == "Conditions due: 1"
    assert dashboard.charts["conditions"].accessibleDescription().startswith(
        "Conditions of issued letters, by status: Open 2; Evidence received 0; Met 0; Not met 0; Waived 1.")
    assert queue_link(ChartPick("conditions", "overdue")).filter == QueueFilter(conditions="overdue")


@pytest.mark.parametrize("which", ["due", "overdue", "unresolved"])
def test_saved_filter_specs_keep_the_condition_filter(which: str) -> None:
    assert QueueFilter.from_spec(QueueFilter(conditions=which).to_spec()).conditions == which
    assert QueueFilter.from_spec({"conditions": "DROP"}).conditions is None


def test_closing_the_last_condition_from_the_view_signs_the_notice(qtbot, ctx, people, issued, pki) -> None:  # noqa: ANN001
    from desktop_app.domain.types import LetterKind
    from desktop_app.ui.letters.conditions import ConditionsMetDialog

    service = ConditionsService(ctx)
    first, second, third = issued.condition_ids
    for cid in (first, third):
        service.attach_bytes(people["rev"], cid, b"evidence", name="evidence.txt")
    service.mark_met(people["rev"], first)
    service.waive(people["sup"], second, "Feature removed.")
    services = Services.from_context(ctx)
    window = shown(qtbot, services, people["sup"])
    assert [window.tree.topLevelItem(r).text(0) for r in range(window.tree.topLevelItemCount())] == [
        f"{issued.number} condition 3"]
    assert window.buttons["notice"].isEnabled() and not window.buttons["met"].isEnabled()
    assert "close it and issue the notice" in window.buttons["met"].toolTip()
    dialog = ConditionsMetDialog(services, people["sup"], window.current)
    qtbot.addWidget(dialog)
    dialog.key.use_file.setChecked(True)
    dialog.key.p12_path.setText(str(pki.supervisor_p12))
    dialog.key.passphrase.setText(PASSPHRASE)
    dialog.password.setText("not my password")
    dialog.sign_button.click()
    qtbot.waitUntil(lambda: not dialog.error.isHidden(), timeout=30_000)
    assert "password" in dialog.error.text().lower() and dialog.password.text() == ""
    assert service.get(third).status is ConditionStatus.EVIDENCE_RECEIVED
    dialog.key.passphrase.setText(PASSPHRASE)
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        dialog.sign_button.click()
    assert dialog.issued.kind is LetterKind.CONDITIONS_MET
    assert service.get(third).status is ConditionStatus.MET


def test_citing_an_artifact_from_the_view_and_the_history_shown(qtbot, ctx, people, issued, monkeypatch) -> None:  # noqa: ANN001
    services = Services.from_context(ctx)
    window = shown(qtbot, services, people["rev"])
    monkeypatch.setattr(QInputDialog, "getItem",
                        staticmethod(lambda _p, _t, _l, items, *_a: ("evals/cyber-range-v4.json", True)))
    assert window.buttons["cite"].isEnabled()
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.buttons["cite"].click()
    info = ConditionsService(ctx).get(issued.condition_ids[0])
    assert info.status is ConditionStatus.EVIDENCE_RECEIVED and info.evidence[0].artifact_path == "evals/cyber-range-v4.json"
    text = window.detail.text()
    assert "History (2):" in text and "· open —" in text and "add_evidence" in text
