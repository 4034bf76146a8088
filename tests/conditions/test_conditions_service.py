"""ConditionsService: opened at sign-off, followed up with permissions re-read and every change audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from desktop_app.domain.conditions import ConditionAction, ConditionStatus
from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.types import Decision, LetterKind, Role
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.users import UserService
from desktop_app.storage.models import AuditEvent, Condition, Letter
from letters_service.support import PASSPHRASE, PASSWORD, import_sample, pdf_text, run_checker, to_awaiting_signoff

from .conftest import CONDITIONS

St = ConditionStatus


def events(ctx, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with ctx.reading() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_signoff_opens_one_tracked_item_per_numbered_condition(ctx, people, issued) -> None:  # noqa: ANN001
    service = ConditionsService(ctx)
    rows = service.list(submission_id=issued.submission_id)
    today = service.today()
    assert [(c.number, c.text, c.status, c.owner, c.days_left) for c in rows] == [
        (1, CONDITIONS[0], St.OPEN, "Riley Reviewer", 10), (2, CONDITIONS[1], St.OPEN, "Riley Reviewer", 20),
        (3, CONDITIONS[2], St.OPEN, "Riley Reviewer", 30)]
    assert {c.label for c in rows} == {f"{issued.number} condition {n}" for n in (1, 2, 3)}
    opened = events(ctx, "condition.open")
    assert [e.entity_id for e in opened] == [f"{issued.number}#{n}" for n in (1, 2, 3)]
    assert json.loads(opened[0].after)["due_date"] == (today + dt.timedelta(days=10)).isoformat()
    counts = service.counts()
    assert (counts.due, counts.overdue, dict(counts.by_status)[St.OPEN]) == (0, 0, 3)


def test_due_dates_entered_at_signoff_are_checked_before_anything_is_signed(ctx, people, letters, p12,  # noqa: ANN001
                                                                           samples_dir) -> None:
    sid = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, sid, people["rev"], Decision.CLEARED_WITH_CONDITIONS, CONDITIONS[:2])
    yesterday = ConditionsService(ctx).today() - dt.timedelta(days=1)
    with pytest.raises(InputRejected, match=r"conditions_due\[2\]: .* is before the decision date"):
        letters.approve_and_issue(people["sup"], sid, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                  conditions_due=[yesterday + dt.timedelta(days=5), yesterday])
    with pytest.raises(InputRejected, match="1 due dates for 2 conditions"):
        letters.approve_and_issue(people["sup"], sid, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                  conditions_due=[yesterday + dt.timedelta(days=5)])
    for missing in (None, []):  # no default is invented: a condition without a date is never followed up
        with pytest.raises(InputRejected) as refused:
            letters.approve_and_issue(people["sup"], sid, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                      conditions_due=missing)
        assert str(refused.value) == ("conditions_due: a cleared-with-conditions decision needs a due date for "
                                      "each of its 2 conditions")
    with ctx.reading() as session:
        assert session.scalar(select(Letter.id)) is None and session.scalar(select(Condition.id)) is None


def test_evidence_then_met_moves_the_condition_and_audits_each_step(ctx, people, issued) -> None:  # noqa: ANN001
    service = ConditionsService(ctx)
    first = issued.condition_ids[0]
    after = service.attach_bytes(people["rev2"], first, b"classifier deployment log (test)\n", name="../deploy.log",
                                 title="Deployment log")
    assert after.status is St.EVIDENCE_RECEIVED
    (evidence,) = after.evidence
    assert evidence.original_name == "deploy.log" and ctx.blobs.read_bytes(evidence.sha256).startswith(b"classifier")
    with pytest.raises(PermissionDenied, match="owner or a supervisor"):
        service.mark_met(people["rev2"], first)
    met = service.mark_met(people["rev"], first, note="Log shows the classifier on every endpoint.")
    assert met.status is St.MET and met.closed_at is not None
    assert [e.action for e in events(ctx, "condition.add_evidence") + events(ctx, "condition.mark_met")] == [
        "condition.add_evidence", "condition.mark_met"]
    refused = events(ctx, "permission.refused")
    assert json.loads(refused[-1].after)["attempted"] == "condition.mark_met"
    with pytest.raises(TransitionNotAllowed, match="final"):
        service.attach_bytes(people["rev"], first, b"more", name="more.txt")
    with ctx.reading() as session:
        assert verify_chain(iter_events(session)).ok


def test_role_and_active_flag_are_read_again_in_each_transaction(ctx, people, issued) -> None:  # noqa: ANN001
    service = ConditionsService(ctx)
    users = UserService(ctx)
    users.deactivate(people["admin"], "rev")
    with pytest.raises(PermissionDenied, match="no longer active"):
        service.attach_bytes(people["rev"], issued.condition_ids[0], b"x", name="x.txt")
    users.reactivate(people["admin"], "rev")
    users.set_role(people["admin"], "sup2", Role.REVIEWER)
    with pytest.raises(PermissionDenied, match="Only a supervisor"):
        service.waive(people["sup2"], issued.condition_ids[0], "Not needed after all.")
    with pytest.raises(PermissionDenied):
        service.waive(people["admin"], issued.condition_ids[0], "Admins review nothing.")
    assert service.get(issued.condition_ids[0]).status is St.OPEN


def test_supervisor_waives_reassigns_and_reschedules_with_reasons(ctx, people, issued) -> None:  # noqa: ANN001
    service = ConditionsService(ctx)
    second, third = issued.condition_ids[1:]
    with pytest.raises(InputRejected, match="reason: say why"):
        service.waive(people["sup"], second, "  ")
    waived = service.waive(people["sup"], second, "Superseded by the developer's disclosure programme.")
    assert waived.status is St.WAIVED and waived.status_reason.startswith("Superseded")
    moved = service.reassign(people["sup"], third, people["rev2"].user_id)
    assert moved.owner == "Jo Reviewer"
    today = service.today()
    past = service.change_due(people["sup"], third, today - dt.timedelta(days=1), "Committed in the release plan.")
    assert past.overdue and service.counts().overdue == 1
    later = service.change_due(people["sup"], third, today + dt.timedelta(days=3), "Agreed with the developer.")
    assert later.due_soon and not later.overdue
    assert ConditionsService(ctx).counts().due == 1
    stale = later.version - 1
    with pytest.raises(Exception, match="was changed by"):
        service.mark_not_met(people["sup"], third, "No mitigation.", expected_version=stale)
    after = [json.loads(e.after) for e in events(ctx, "condition.change_due")]
    assert after == [{"due_date": (today - dt.timedelta(days=1)).isoformat(), "reason": "Committed in the release plan."},
                     {"due_date": (today + dt.timedelta(days=3)).isoformat(), "reason": "Agreed with the developer."}]


def test_overdue_after_the_due_date_passes(ctx, people, issued, clock) -> None:  # noqa: ANN001
    clock.advance(days=15)
    service = ConditionsService(ctx)
    overdue = service.list(overdue=True)
    assert [c.number for c in overdue] == [1] and overdue[0].overdue
    assert [c.number for c in service.list(due=True)] == [2]
    assert (service.counts().overdue, service.counts().due) == (1, 1)
    assert service.counts(owner_id=people["rev2"].user_id).overdue == 0


def test_closing_the_last_condition_as_met_issues_a_signed_notice(ctx, people, issued, letters, p12, pki,  # noqa: ANN001
                                                                  tmp_path) -> None:
    service = ConditionsService(ctx)
    first, second, third = issued.condition_ids
    for cid in issued.condition_ids:
        service.attach_bytes(people["rev"], cid, f"evidence {cid}".encode(), name=f"e{cid}.txt")
    service.mark_met(people["rev"], first)
    service.waive(people["sup"], second, "The developer withdrew the feature.")
    verdict = service.verdicts(people["rev"], third)[ConditionAction.MARK_MET]
    assert not verdict and "supervisor" in verdict.reason
    with pytest.raises(TransitionNotAllowed, match="last condition"):
        service.mark_met(people["sup"], third)
    assert service.verdicts(people["sup"], third)[ConditionAction.MARK_MET].issues_notice
    with pytest.raises(PermissionDenied):
        service.close_last_as_met(people["rev"], third, password=PASSWORD, source=p12, secret=PASSPHRASE)
    from desktop_app.domain.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        service.close_last_as_met(people["sup"], third, password="wrong", source=p12, secret=PASSPHRASE)
    assert service.get(third).status is St.EVIDENCE_RECEIVED
    notice = service.close_last_as_met(people["sup"], third, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                       note="Mitigation verified on the consumer app.")
    assert notice.kind is LetterKind.CONDITIONS_MET and service.get(third).status is St.MET
    assert [e.kind for e in letters.register(submission_id=issued.submission_id)] == [
        LetterKind.CLEARANCE, LetterKind.CONDITIONS_MET]
    pdf = letters.pdf(notice.id)
    assert all(check.ok for check in letters.verify(pdf))
    text = " ".join(pdf_text(pdf).split())
    assert "Conditions of a Clearance Are Met" in text and f"Condition 2 of letter {issued.number}" in text
    assert "waived by the agency" in text and "Approved" not in text
    path = tmp_path / f"{notice.number}.pdf"
    path.write_bytes(pdf)
    assert run_checker(path, pki.root_cert).returncode == 0
    closing = events(ctx, "condition.close_and_notify")
    issue_event = events(ctx, "letter.issue")[-1]
    assert closing[0].seq < issue_event.seq  # the status change and the notice in one transaction, in order


def test_backups_and_the_staging_clean_up_count_condition_evidence_as_referenced(ctx, people, issued) -> None:  # noqa: ANN001
    import sqlite3

    from desktop_app.services.backup import referenced_blobs
    from desktop_app.services.context import referenced_blobs as committed_blobs

    info = ConditionsService(ctx).attach_bytes(people["rev"], issued.condition_ids[0], b"only as condition evidence",
                                               name="only-here.txt")
    digest = info.evidence[0].sha256
    with sqlite3.connect(ctx.paths.database) as conn:
        assert digest in referenced_blobs(conn)   # a backup copies it
    assert committed_blobs(ctx.engine, [digest]) == {digest}   # an interrupted write's clean-up keeps it


def test_revoking_the_letter_waives_its_unresolved_conditions(ctx, people, issued, letters) -> None:  # noqa: ANN001
    service = ConditionsService(ctx)
    service.attach_bytes(people["rev"], issued.condition_ids[0], b"log", name="log.txt")
    service.mark_met(people["rev"], issued.condition_ids[0])
    letters.revoke(people["sup"], issued.letter_id, "Issued on the wrong build.", password=PASSWORD)
    statuses = [(c.number, c.status, c.status_reason) for c in
                sorted(service.list(submission_id=issued.submission_id), key=lambda c: c.number)]
    reason = f"{issued.number} was revoked; its conditions are no longer followed up."
    assert statuses == [(1, St.MET, ""), (2, St.WAIVED, reason), (3, St.WAIVED, reason)]
    assert service.counts().due == 0 and len(events(ctx, "condition.waive")) == 2
