"""The workflow service: every action, its audit event, the clock, separation of duties, refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.domain.errors import (
    AuthenticationFailed,
    ConcurrentEdit,
    InputRejected,
    PermissionDenied,
    TransitionNotAllowed,
)
from desktop_app.domain.types import Decision, Role, SubmissionState
from desktop_app.domain.workflow import Action
from desktop_app.letters.pki import DEMO_PASSPHRASE
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.intake import IntakeService
from desktop_app.services.submissions import SubmissionService
from desktop_app.services.users import UserService
from desktop_app.storage.models import AuditEvent, InformationRequest, Recommendation, SignOff, Submission

from .conftest import PASSWORD, draft

S = SubmissionState


def events(ctx, action: str | None = None) -> list[AuditEvent]:  # noqa: ANN001
    with ctx.reading() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return list(session.scalars(stmt))


def refusals(ctx) -> list[dict]:  # noqa: ANN001
    return [json.loads(e.after) | {"actor": e.actor} for e in events(ctx, "permission.refused")]


def row(ctx, submission_id: int) -> Submission:  # noqa: ANN001
    with ctx.reading() as session:
        sub = session.get(Submission, submission_id)
        session.expunge(sub)
        return sub


def test_walk_from_received_to_issued_writes_one_event_per_step(ctx, wf, fs, people, received, letters,
                                                                pki) -> None:  # noqa: ANN001
    rev, sup = people["rev"], people["sup"]
    assert wf.facts(received).state is S.RECEIVED
    wf.accept_and_assign(rev, received, rev.user_id)
    finding = fs.create(rev, received, draft(severity="Medium", condition="Keep the classifier on."))
    wf.request_info(rev, received, "Send the red-team transcripts.")
    assert wf.facts(received).state is S.AWAITING_INFO
    wf.record_info_received(rev, received, note="Transcripts arrived")
    result = wf.submit_recommendation(rev, received, Decision.CLEARED_WITH_CONDITIONS, "Evaluated; one issue.")
    assert result.state is S.AWAITING_SIGNOFF
    with ctx.reading() as session:
        rec = session.scalar(select(Recommendation))
        assert rec.conditions == ["Keep the classifier on."]  # gathered from the finding
        assert rec.outcome == "pending"
    called = []
    with pytest.raises(TransitionNotAllowed, match="issued only together with its signed clearance letter"):
        wf.approve(sup, received, password=PASSWORD, comment="Agreed.",  # a callback that registers nothing
                   issue=lambda session, sub: called.append((sub.reference, sub.state)) or "letter")
    assert called == [(result.reference, "ISSUED")] and row(ctx, received).state == "AWAITING_SIGNOFF"
    approved = letters.approve_and_issue(sup, received, password=PASSWORD, comment="Agreed.",
                                         source=Pkcs12Source(pki.supervisor_p12), secret=DEMO_PASSPHRASE,
                                         conditions_due=ConditionsService(ctx).today())
    assert approved.reference == result.reference and letters.register()[0].number == approved.number
    sub = row(ctx, received)
    assert sub.decided_at == ctx.now() and sub.state == "ISSUED"
    with ctx.reading() as session:
        signoff = session.scalar(select(SignOff))
        assert (signoff.action, signoff.supervisor_id, signoff.comment) == ("approved", sup.user_id, "Agreed.")
        assert session.scalar(select(Recommendation.outcome)) == "approved"
        assert verify_chain(iter_events(session)).ok
    actions = [e.action for e in events(ctx) if e.entity_type == "submission"]
    assert actions[-5:] == ["submission.accept_and_assign", "submission.request_info",
                            "submission.record_info_received", "submission.submit_recommendation",
                            "submission.approve"]
    assert finding.label == "F-1"


def test_approval_rolls_back_when_the_letter_fails(ctx, wf, people, in_review) -> None:  # noqa: ANN001
    wf.submit_recommendation(people["rev"], in_review, Decision.CLEARED, "Nothing found.")
    before = len(events(ctx))

    def broken(_session, _sub) -> None:  # noqa: ANN001
        raise InputRejected("the token was removed")

    with pytest.raises(InputRejected, match="token was removed"):
        wf.approve(people["sup"], in_review, password=PASSWORD, issue=broken)
    assert row(ctx, in_review).state == "AWAITING_SIGNOFF"
    assert [e.action for e in events(ctx)[before:]] == ["login"]  # only the re-authentication
    with ctx.reading() as session:
        assert session.scalar(select(func.count(SignOff.id))) == 0


def test_approval_needs_the_password_again(ctx, wf, people, in_review) -> None:  # noqa: ANN001
    wf.submit_recommendation(people["rev"], in_review, Decision.NOT_CLEARED, "Too capable.")
    with pytest.raises(AuthenticationFailed):
        wf.approve(people["sup"], in_review, password="not it", issue=lambda _session, _sub: None)
    assert row(ctx, in_review).state == "AWAITING_SIGNOFF"


def test_separation_of_duties(ctx, wf, fs, people, in_review) -> None:  # noqa: ANN001
    rev, sup, sup2 = people["rev"], people["sup"], people["sup2"]
    finding = fs.create(rev, in_review, draft(severity="Low"))
    # sup2 only edits rev's finding, which is enough to bar them from approving
    fs.edit(sup2, finding.id, draft(severity="Low", title="Edited title"), expected_version=finding.version)
    wf.submit_recommendation(sup, in_review, Decision.CLEARED, "Fine.")
    verdicts = wf.available_actions(sup, in_review)
    assert not verdicts[Action.APPROVE] and "another supervisor" in verdicts[Action.APPROVE].reason
    assert verdicts[Action.RETURN]
    with pytest.raises(PermissionDenied, match="You submitted this recommendation"):
        wf.approve(sup, in_review, password=PASSWORD)
    with pytest.raises(PermissionDenied, match="You wrote findings"):
        wf.approve(sup2, in_review, password=PASSWORD)
    with pytest.raises(PermissionDenied, match="Only a supervisor"):
        wf.approve(people["rev2"], in_review, password=PASSWORD)
    assert [r["actor"] for r in refusals(ctx)] == ["sup", "sup2", "rev2"]
    assert all(r["attempted"] == "submission.approve" for r in refusals(ctx))
    # a supervisor who only returned an earlier recommendation is not barred
    wf.return_with_comments(people["sup2"], in_review, "Explain the rationale.")
    wf.submit_recommendation(rev, in_review, Decision.CLEARED, "Fine, explained.")
    users = UserService(ctx)
    admin = people["admin"]
    users.create_user(admin, "sup3", "Third Supervisor", Role.SUPERVISOR, PASSWORD, must_change_password=False)
    sup3 = users.authenticate("sup3", PASSWORD)
    assert wf.available_actions(sup3, in_review)[Action.APPROVE]
    with pytest.raises(TransitionNotAllowed, match="signed clearance letter"):  # allowed, but only with its letter
        wf.approve(sup3, in_review, password=PASSWORD)


def test_approval_without_a_signed_letter_is_refused(ctx, wf, people, in_review) -> None:  # noqa: ANN001
    """ISSUED never comes without a registered, signed letter: no callback, or one that registers none."""
    wf.submit_recommendation(people["rev"], in_review, Decision.CLEARED, "Nothing found.")
    with pytest.raises(TransitionNotAllowed, match="issued only together with its signed clearance letter"):
        wf.approve(people["sup"], in_review, password=PASSWORD)
    with pytest.raises(TransitionNotAllowed, match="issued only together with its signed clearance letter"):
        wf.approve(people["sup"], in_review, password=PASSWORD, issue=lambda session, sub: None)
    assert row(ctx, in_review).state == "AWAITING_SIGNOFF"
    with ctx.reading() as session:
        assert session.scalar(select(func.count(SignOff.id))) == 0
        assert session.scalar(select(Recommendation.outcome)) == "pending"
    assert refusals(ctx)[-1]["attempted"] == "submission.approve"


def test_cleared_is_refused_while_a_critical_or_high_finding_is_open(ctx, wf, fs, people, in_review) -> None:  # noqa: ANN001
    rev = people["rev"]
    high = fs.create(rev, in_review, draft(severity="High"))
    fs.create(rev, in_review, draft("Leaks the system prompt", severity="Low", category="data-leakage"))
    with pytest.raises(TransitionNotAllowed, match=r"Cleared cannot be recommended .*\(F-1\)"):
        wf.submit_recommendation(rev, in_review, Decision.CLEARED, "Looks fine.")
    assert refusals(ctx)[-1]["attempted"] == "submission.submit_recommendation"
    assert row(ctx, in_review).state == "IN_REVIEW"
    fs.edit(rev, high.id, draft(severity="High", status="Mitigated"), expected_version=high.version)
    assert wf.submit_recommendation(rev, in_review, Decision.CLEARED, "Mitigated.").state is S.AWAITING_SIGNOFF


def test_admins_are_refused_every_action_and_each_refusal_is_audited(ctx, wf, people, received) -> None:  # noqa: ANN001
    admin = people["admin"]
    verdicts = wf.available_actions(admin, received)
    assert not any(verdicts.values())
    assert all("Administrators" in v.reason for v in verdicts.values())
    attempts = [
        lambda: wf.accept_and_assign(admin, received, people["rev"].user_id),
        lambda: wf.refuse(admin, received, ["no"]),
        lambda: wf.withdraw(admin, received, "developer asked"),
        lambda: wf.change_window(admin, received, 45, "complex model"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="Administrators"):
            attempt()
    assert len(refusals(ctx)) == len(attempts)
    assert {r["actor"] for r in refusals(ctx)} == {"admin"}
    assert row(ctx, received).state == "RECEIVED"


def test_admin_cannot_be_assigned_and_inputs_are_checked(ctx, wf, people, received) -> None:  # noqa: ANN001
    rev = people["rev"]
    with pytest.raises(InputRejected, match="administrators cannot be assigned"):
        wf.accept_and_assign(rev, received, people["admin"].user_id)
    with pytest.raises(InputRejected, match="at least one reason"):
        wf.refuse(rev, received, ["  ", ""])
    assert refusals(ctx) == []  # a rejected input is not a refusal
    wf.refuse(rev, received, ["Weights missing.", "  ", "Manifest unsigned."])
    refuse_event = events(ctx, "submission.refuse")[-1]
    assert json.loads(refuse_event.after)["reasons"] == ["Weights missing.", "Manifest unsigned."]
    assert row(ctx, received).state == "REFUSED"
    with pytest.raises(TransitionNotAllowed, match="can no longer be withdrawn"):
        wf.withdraw(rev, received, "asked")


def test_duties_of_the_assignee(ctx, wf, people, in_review) -> None:  # noqa: ANN001
    rev2 = people["rev2"]
    verdicts = wf.available_actions(rev2, in_review)
    assert not verdicts[Action.REQUEST_INFO] and "assigned to another reviewer" in verdicts[Action.REQUEST_INFO].reason
    with pytest.raises(PermissionDenied, match="assigned to another reviewer"):
        wf.request_info(rev2, in_review, "Anything?")
    # a supervisor may act on anyone's submission, and reassign it
    wf.reassign(people["sup"], in_review, rev2.user_id)
    assert row(ctx, in_review).assignee_id == rev2.user_id
    wf.request_info(rev2, in_review, "Anything?")
    assert json.loads(events(ctx, "submission.reassign")[-1].after) == {"assignee": "rev2"}


def test_a_role_taken_away_counts_at_once(ctx, wf, people, received) -> None:  # noqa: ANN001
    UserService(ctx).set_role(people["admin"], "rev", Role.ADMIN)
    with pytest.raises(PermissionDenied, match="Administrators"):
        wf.accept_and_assign(people["rev"], received, people["rev2"].user_id)


def test_clock_pauses_and_the_due_date_moves_by_the_paused_days(ctx, wf, people, in_review, clock) -> None:  # noqa: ANN001
    rev = people["rev"]
    start = row(ctx, in_review)
    assert start.window_days == 30
    first_due = start.due_date
    wf.request_info(rev, in_review, "Send the eval logs.")
    paused = row(ctx, in_review)
    assert paused.paused_since == clock.now and paused.due_date == first_due
    clock.advance(days=3)
    wf.record_info_received(rev, in_review)
    after = row(ctx, in_review)
    assert after.paused_since is None and after.paused_days == 3
    assert after.due_date == first_due + dt.timedelta(days=3)
    # a second pause across a month end adds up
    clock.advance(days=25)  # 2026-11-30
    wf.request_info(rev, in_review, "And the jailbreak corpus.")
    clock.advance(days=4)   # 2026-12-04
    result = wf.record_info_received(rev, in_review, note="Corpus delivered")
    final = row(ctx, in_review)
    assert final.paused_days == 7 and final.due_date == first_due + dt.timedelta(days=7)
    assert "due " + final.due_date.isoformat() in result.message
    detail = SubmissionService(ctx).detail(in_review)
    assert [(r.number, r.answered_at is not None) for r in detail.requests] == [(1, True), (2, True)]


def test_information_received_can_link_the_supplement(ctx, wf, people, in_review, samples_dir: Path) -> None:  # noqa: ANN001
    rev = people["rev"]
    wf.request_info(rev, in_review, "How is prompt injection mitigated?")
    IntakeService(ctx).import_package(rev, samples_dir / "northwind-orca-3.1-supplement")
    choices = wf.supplement_packages(in_review)
    assert [(c.package_id, c.linked) for c in choices] == [("NW-2026-0042-S1", False)]
    wf.record_info_received(rev, in_review, note="Answered in S1", package_id=choices[0].id)
    with ctx.reading() as session:
        request = session.scalar(select(InformationRequest))
        assert request.answer_package_id == choices[0].id and request.answer_note == "Answered in S1"
    assert wf.supplement_packages(in_review)[0].linked
    assert json.loads(events(ctx, "submission.record_info_received")[-1].after)["package_id"] == "NW-2026-0042-S1"


def test_window_change_needs_a_reason_and_moves_the_due_date(ctx, wf, people, in_review) -> None:  # noqa: ANN001
    rev, rev2 = people["rev"], people["rev2"]
    due = row(ctx, in_review).due_date
    with pytest.raises(InputRejected, match="needs a reason"):
        wf.change_window(rev, in_review, 45, "  ")
    with pytest.raises(InputRejected, match="between 1 and 365"):
        wf.change_window(rev, in_review, 400, "long")
    assert not wf.window_change_verdict(rev2, in_review)
    with pytest.raises(PermissionDenied, match="assigned reviewer or a supervisor"):
        wf.change_window(rev2, in_review, 45, "complex model")
    wf.change_window(rev, in_review, 45, "Complex multimodal model")
    sub = row(ctx, in_review)
    assert (sub.window_days, sub.window_reason, sub.due_date) == (45, "Complex multimodal model",
                                                                  due + dt.timedelta(days=15))
    event = events(ctx, "submission.change_window")[-1]
    assert json.loads(event.before)["window_days"] == 30 and json.loads(event.after)["reason"]


def test_return_and_withdraw(ctx, wf, people, in_review) -> None:  # noqa: ANN001
    rev, sup = people["rev"], people["sup"]
    wf.submit_recommendation(rev, in_review, Decision.NOT_CLEARED, "Dangerous.")
    with pytest.raises(InputRejected, match="should change"):
        wf.return_with_comments(sup, in_review, "")
    with pytest.raises(PermissionDenied, match="Only a supervisor"):
        wf.return_with_comments(rev, in_review, "self-return")
    wf.return_with_comments(sup, in_review, "Cite the exploit evidence.")
    assert row(ctx, in_review).state == "IN_REVIEW"
    detail = SubmissionService(ctx).detail(in_review)
    assert detail.recommendations[-1].outcome == "returned" and detail.pending_recommendation is None
    wf.submit_recommendation(rev, in_review, Decision.NOT_CLEARED, "Dangerous, with evidence.")
    wf.withdraw(rev, in_review, "The developer postponed the release.")
    sub = row(ctx, in_review)
    assert sub.state == "WITHDRAWN" and sub.decided_at is not None
    assert SubmissionService(ctx).detail(in_review).recommendations[-1].outcome == "withdrawn"


def test_a_stale_submission_version_is_refused(ctx, wf, people, in_review, clock) -> None:  # noqa: ANN001
    loaded = SubmissionService(ctx).detail(in_review).version
    clock.advance(minutes=5)
    wf.reassign(people["sup"], in_review, people["rev2"].user_id, expected_version=loaded)
    with pytest.raises(ConcurrentEdit, match=r"CD-2026-0001 was changed by Dana Supervisor at 2026-11-02 15:05 UTC; "
                                             r"reload"):
        wf.request_info(people["rev"], in_review, "x", expected_version=loaded)


def test_my_work(ctx, wf, people, in_review, samples_dir: Path, clock) -> None:  # noqa: ANN001
    rev, sup = people["rev"], people["sup"]
    other = IntakeService(ctx).import_package(rev, samples_dir / "helix-sparrow-2.0.zip").submission_id
    wf.accept_and_assign(rev, other, people["rev2"].user_id)
    wf.submit_recommendation(people["rev2"], other, Decision.CLEARED, "ok")
    mine = wf.my_work(rev)
    assert [i.submission_id for i in mine.assigned] == [in_review]
    assert mine.awaiting_signoff == () and mine.due_this_week == ()
    clock.advance(days=25)
    assert [i.submission_id for i in wf.my_work(rev).due_this_week] == [in_review]
    boss = wf.my_work(sup)
    assert [i.submission_id for i in boss.awaiting_signoff] == [other]
    assert {i.submission_id for i in boss.due_this_week} == {in_review, other}
