"""Evidence attached by mistake can be detached while the finding is editable: audited,
re-checked in the service, and shown in History and the finding's versions."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.types import Decision
from desktop_app.services.submissions import SubmissionService
from desktop_app.storage.models import AuditEvent, Evidence
from desktop_app.ui.review.findings import DetachEvidenceDialog

from .conftest import draft
from .test_workflow_gui import finish, open_window, services, submission  # noqa: F401  (fixtures)


def attached(services, people, submission: int) -> tuple[int, int]:  # noqa: ANN001
    rev = people["rev"]
    services.workflow.accept_and_assign(rev, submission, rev.user_id)
    finding = services.findings.create(rev, submission, draft())
    evidence = services.findings.attach_bytes(rev, finding.id, b"not this one", name="wrong.txt")
    return finding.id, evidence.id


def test_detaching_is_audited_and_kept_in_history_and_versions(ctx, services, people, submission) -> None:  # noqa: ANN001
    finding_id, evidence_id = attached(services, people, submission)
    info = services.findings.detach_evidence(people["rev"], evidence_id, "  Attached to the wrong finding. ")
    assert info.evidence == ()
    with ctx.reading() as session:
        assert session.get(Evidence, evidence_id) is None
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.detach")).one()
    assert (event.actor, event.entity_type, event.entity_id) == ("rev", "finding", str(finding_id))
    before = json.loads(event.before)
    assert before["evidence_id"] == evidence_id and before["title"] == "wrong.txt" and len(before["sha256"]) == 64
    assert json.loads(event.after) == {"reason": "Attached to the wrong finding."}
    actions = [e.action for e in SubmissionService(ctx).history(submission)]
    assert actions[-2:] == ["evidence.attach_file", "evidence.detach"]  # the attach stays in the history
    versions = services.findings.versions(finding_id)
    assert [len(v.evidence) for v in versions[-2:]] == [1, 0]
    assert "evidence detached: wrong.txt" in versions[-1].note


def test_detaching_is_refused_when_the_finding_may_not_change(ctx, services, people, submission) -> None:  # noqa: ANN001
    _finding_id, evidence_id = attached(services, people, submission)
    with pytest.raises(InputRejected) as empty:
        services.findings.detach_evidence(people["rev"], evidence_id, "   ")
    assert empty.value.problems[0].field == "reason"
    with pytest.raises(PermissionDenied):
        services.findings.detach_evidence(people["admin"], evidence_id, "admins do not review")
    services.workflow.submit_recommendation(people["rev"], submission, Decision.NOT_CLEARED, "Too capable.")
    with pytest.raises(TransitionNotAllowed):  # awaiting sign-off: findings are frozen
        services.findings.detach_evidence(people["rev"], evidence_id, "too late")
    with ctx.reading() as session:
        assert session.get(Evidence, evidence_id) is not None
        refused = session.scalars(select(AuditEvent.after).where(AuditEvent.action == "permission.refused")).all()
    assert sum("evidence.detach" in (after or "") for after in refused) == 2


def test_detach_from_the_findings_tab(qtbot, services, people, submission) -> None:  # noqa: ANN001
    finding_id, _evidence_id = attached(services, people, submission)
    window = open_window(qtbot, services, people["rev"], submission)
    page = window.detail.findings_page
    window.detail.setCurrentWidget(page)
    assert not page.buttons["detach"].isEnabled()  # nothing chosen yet
    page.view.evidence.selectRow(0)
    assert page.buttons["detach"].isEnabled()
    qtbot.mouseClick(page.buttons["detach"], Qt.MouseButton.LeftButton)
    dialog = window.review.dialog
    assert isinstance(dialog, DetachEvidenceDialog)
    dialog.reason.setPlainText("Wrong file.")
    finish(qtbot, window, dialog)
    assert services.findings.get(finding_id).evidence == ()
    qtbot.waitUntil(lambda: page.view.evidence.rowCount() == 0)
    history = window.detail.history
    sentences = [history.item(r, history.columnCount() - 1).text() for r in range(history.rowCount())]
    assert "Evidence “wrong.txt” detached from F-1 by Riley Reviewer: Wrong file." in sentences
