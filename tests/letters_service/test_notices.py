"""Corrected letters, revocation notices, information requests and sign-off reasons, through the real services."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, TransitionNotAllowed
from desktop_app.domain.findings import FindingDraft
from desktop_app.domain.types import Decision, LetterKind
from desktop_app.services.findings import FindingService
from desktop_app.services.workflow import WorkflowService
from desktop_app.storage.models import AuditEvent, InformationRequest, LetterRevocation, SignOff

from .support import (
    PASSPHRASE,
    PASSWORD,
    add_finding,
    due_dates,
    import_sample,
    pdf_text,
    run_checker,
    to_awaiting_signoff,
)


def _flat(pdf: bytes) -> tuple[str, str]:
    """The whole text and the first page's, each on one line."""
    pages = pdf_text(pdf).split("\f")
    return " ".join("".join(pages).split()), " ".join(pages[0].split())


def test_a_revocation_issues_a_signed_notice_naming_the_letter_and_the_reason(
        ctx, people, letters, awaiting, p12, pki, tmp_path: Path) -> None:  # noqa: ANN001
    clearance = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                          conditions_due=due_dates(ctx))
    reason = "The letter was issued for a build the developer has since withdrawn."
    entry, notice = letters.revoke_and_notify(people["sup"], clearance.id, reason, password=PASSWORD, source=p12,
                                              secret=PASSPHRASE)
    assert entry.revoked and entry.revocation_reason == reason
    assert notice.kind is LetterKind.REVOCATION and notice.concerns == clearance.number
    text, first_page = _flat(letters.pdf(notice.id))
    assert "Notice of Revocation of a Letter" in first_page and f"Revokes {clearance.number}" in first_page
    assert f"The agency revokes letter {clearance.number}" in first_page
    assert f"1. {reason}" in text
    assert f"Meaning of signature: Issued — notice of revocation of letter {clearance.number}" in text
    assert "Outcome of the evaluation" not in text and "Findings summary" not in text
    assert all(check.ok for check in letters.verify(letters.pdf(notice.id)))
    assert not all(check.ok for check in letters.verify(letters.pdf(clearance.id)))
    path = tmp_path / f"{notice.number}.pdf"
    path.write_bytes(letters.pdf(notice.id))
    assert run_checker(path, pki.root_cert).returncode == 0
    with pytest.raises(TransitionNotAllowed, match="already revoked"):
        letters.revoke_and_notify(people["sup"], clearance.id, reason, password=PASSWORD, source=p12,
                                  secret=PASSPHRASE)


def test_a_failed_notice_leaves_the_letter_unrevoked(ctx, people, letters, awaiting, p12) -> None:  # noqa: ANN001
    clearance = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                          conditions_due=due_dates(ctx))
    with pytest.raises(InputRejected):
        letters.revoke_and_notify(people["sup"], clearance.id, "Reason.", password=PASSWORD, source=p12,
                                  secret="not-the-passphrase")
    with pytest.raises(InputRejected, match="why the letter is revoked"):
        letters.revoke_and_notify(people["sup"], clearance.id, "  ", password=PASSWORD, source=p12,
                                  secret=PASSPHRASE)
    with ctx.reading() as session:
        assert session.scalars(select(LetterRevocation)).all() == []
    assert [entry.kind for entry in letters.register()] == [LetterKind.CLEARANCE]


def test_a_corrected_letter_supersedes_the_agencys_own_letter_and_names_it_on_page_one(
        ctx, people, letters, awaiting, p12) -> None:  # noqa: ANN001
    clearance = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                          conditions_due=due_dates(ctx))
    corrected = letters.issue_corrected(people["sup"], clearance.id, "The decision date was printed wrongly.",
                                        password=PASSWORD, source=p12, secret=PASSPHRASE)
    assert corrected.kind is LetterKind.CORRECTED and corrected.supersedes == clearance.number
    assert corrected.decision is Decision.CLEARED_WITH_CONDITIONS
    text, first_page = _flat(letters.pdf(corrected.id))
    assert "Corrected Clearance Letter" in first_page and f"Supersedes {clearance.number}" in first_page
    assert f"This letter corrects and replaces letter {clearance.number}" in first_page
    assert "1. The decision date was printed wrongly." in text and "Outcome: CLEARED WITH CONDITIONS" in text
    assert (f"Meaning of signature: Issued — corrected letter replacing {clearance.number}; outcome of "
            f"pre-release security evaluation: cleared with conditions") in text
    assert all(check.ok for check in letters.verify(letters.pdf(corrected.id)))
    old = {entry.number: entry for entry in letters.register()}[clearance.number]
    assert old.superseded_by == corrected.number
    with pytest.raises(TransitionNotAllowed, match="no longer stands"):
        letters.issue_corrected(people["sup"], clearance.id, "Again.", password=PASSWORD, source=p12,
                                secret=PASSPHRASE)
    with pytest.raises(InputRejected, match="what the corrected letter corrects"):
        letters.issue_corrected(people["sup"], corrected.id, " ", password=PASSWORD, source=p12, secret=PASSPHRASE)


def test_not_cleared_carries_the_reasons_approved_at_signoff(ctx, people, letters, samples_dir, p12) -> None:  # noqa: ANN001
    submission_id = import_sample(ctx, people["rev"], samples_dir)
    add_finding(ctx, submission_id, people["rev"], "Chains two exploits unaided", "Critical", "Open",
                releasable=True)
    add_finding(ctx, submission_id, people["rev"], "Grader prompt reconstructed", "Low", "Open")
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.NOT_CLEARED)
    edited = ("The model chained two exploits unaided (F-1).\n\n"
              "No mitigation in the package stops it.")
    issued = letters.approve_and_issue(people["sup"], submission_id, password=PASSWORD, source=p12,
                                       secret=PASSPHRASE, reasons=edited)
    text, _ = _flat(letters.pdf(issued.id))
    assert "Outcome: NOT CLEARED" in text and "Approved" not in text
    assert "The agency's reasons" in text and "The model chained two exploits unaided (F-1)." in text
    assert "No mitigation in the package stops it." in text
    assert "Evaluated against the cyber range." not in text  # the reviewer's wording, replaced at sign-off
    assert "Chains two exploits unaided" in text and "Grader prompt reconstructed" not in text
    assert "Meaning of signature: Issued — outcome of pre-release security evaluation: not cleared" in text
    with ctx.reading() as session:
        signoff = session.scalars(select(SignOff)).one()
        approval = session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.approve")).one()
    assert signoff.letter_reasons == edited.strip()
    assert json.loads(approval.after)["letter_reasons"] == edited.strip()


def test_a_request_for_information_gives_the_recorded_pause_date_a_deadline_and_no_findings(
        ctx, people, letters, samples_dir, p12, clock) -> None:  # noqa: ANN001
    workflow = WorkflowService(ctx)
    submission_id = import_sample(ctx, people["rev"], samples_dir)
    add_finding(ctx, submission_id, people["rev"], "Interim: logs incomplete", "Medium", "Open", releasable=True)
    workflow.accept_and_assign(people["rev"], submission_id, people["rev"].user_id)
    workflow.request_info(people["rev"], submission_id, "Send the complete CTF logs.")
    with ctx.reading() as session:
        request = session.scalars(select(InformationRequest)).one()
    assert request.respond_by == dt.date(2026, 11, 12)  # the default: 10 calendar days after the request
    clock.advance(days=3)
    notice = letters.issue_notice(people["sup"], submission_id, LetterKind.INFORMATION_REQUEST, password=PASSWORD,
                                  source=p12, secret=PASSPHRASE)
    text, _ = _flat(letters.pdf(notice.id))
    assert "The review clock has been paused since November 2, 2026, when the agency recorded this request" in text
    assert "Response due by November 12, 2026" in text and "Please send your response by November 12, 2026" in text
    assert "Findings summary" not in text and "Interim: logs incomplete" not in text and "Appendix" not in text
    assert "records the outcome of a voluntary" not in text


def test_the_response_deadline_is_editable_per_request_and_must_lie_ahead(ctx, people, samples_dir) -> None:  # noqa: ANN001
    workflow = WorkflowService(ctx)
    submission_id = import_sample(ctx, people["rev"], samples_dir)
    workflow.accept_and_assign(people["rev"], submission_id, people["rev"].user_id)
    with pytest.raises(InputRejected, match="respond_by"):
        workflow.request_info(people["rev"], submission_id, "Logs.", respond_by=dt.date(2026, 11, 2))
    workflow.request_info(people["rev"], submission_id, "Logs.", respond_by=dt.date(2026, 11, 30))
    with ctx.reading() as session:
        assert session.scalars(select(InformationRequest.respond_by)).one() == dt.date(2026, 11, 30)


def test_releasable_is_a_finding_field_edited_and_audited(ctx, people, samples_dir) -> None:  # noqa: ANN001
    findings = FindingService(ctx)
    submission_id = import_sample(ctx, people["rev"], samples_dir)
    WorkflowService(ctx).accept_and_assign(people["rev"], submission_id, people["rev"].user_id)
    created = findings.create(people["rev"], submission_id, FindingDraft("Leaks the system prompt", "data-leakage",
                                                                         "Low"))
    assert created.releasable is False
    edited = findings.edit(people["rev"], created.id, FindingDraft("Leaks the system prompt", "data-leakage", "Low",
                                                                   releasable=True),
                           expected_version=created.version)
    assert edited.releasable is True
    with ctx.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "finding.edit")).one()
    assert json.loads(event.before)["releasable"] == "no" and json.loads(event.after)["releasable"] == "yes"
    assert findings.versions(created.id)[-1].draft().releasable in (True, "yes")
