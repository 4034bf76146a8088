"""Conditions follow the letter that stands: a corrected letter takes them over, a resubmission's closes them."""

from __future__ import annotations

import json

from sqlalchemy import select

from desktop_app.domain.conditions import ConditionStatus
from desktop_app.domain.types import Decision, LetterKind
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.intake import IntakeService
from desktop_app.storage.models import AuditEvent
from letters_service.support import PASSPHRASE, PASSWORD, pdf_text, resubmission_package, to_awaiting_signoff

from .test_conditions_intake_cli import answer

St = ConditionStatus


def _follow_events(ctx) -> list[AuditEvent]:  # noqa: ANN001
    with ctx.reading() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "condition.follow_letter")
                                    .order_by(AuditEvent.seq)))


def test_a_corrected_letter_takes_over_every_condition_with_its_status_and_history(  # noqa: ANN001
        ctx, people, issued, letters, p12) -> None:
    service = ConditionsService(ctx)
    first, second, _third = issued.condition_ids
    service.attach_bytes(people["rev"], first, b"deployment record", name="record.txt")
    service.mark_met(people["rev"], first, note="Covers every endpoint.")
    service.waive(people["sup"], second, "The developer dropped the feature.")
    corrected = letters.issue_corrected(people["sup"], issued.letter_id, "The address lacked the suite number.",
                                        password=PASSWORD, source=p12, secret=PASSPHRASE)
    rows = sorted(service.list(submission_id=issued.submission_id), key=lambda c: c.number)
    assert [(c.letter_number, c.number, c.status) for c in rows] == [
        (corrected.number, 1, St.MET), (corrected.number, 2, St.WAIVED), (corrected.number, 3, St.OPEN)]
    assert rows[0].evidence[0].original_name == "record.txt" and rows[1].status_reason.startswith("The developer")
    moved = _follow_events(ctx)
    assert [e.entity_id for e in moved] == [f"{corrected.number}#{n}" for n in (1, 2, 3)]
    assert json.loads(moved[0].before) == {"letter": issued.number}
    actions = [action for _when, _who, action, _what in service.history(first)]
    assert actions == ["condition.open", "condition.add_evidence", "condition.mark_met", "condition.follow_letter"]
    assert service.counts().due == 0 and dict(service.counts().by_status)[St.OPEN] == 1


def test_a_supplement_citing_the_letter_the_developer_holds_finds_the_condition_where_it_moved(  # noqa: ANN001
        ctx, people, issued, letters, p12, samples_dir, tmp_path) -> None:
    corrected = letters.issue_corrected(people["sup"], issued.letter_id, "The decision date was printed wrongly.",
                                        password=PASSWORD, source=p12, secret=PASSPHRASE)
    path = answer(samples_dir, tmp_path, {"letter": issued.number, "condition": 3})
    IntakeService(ctx).import_package(people["rev"], path)
    third = ConditionsService(ctx).get(issued.condition_ids[2])
    assert third.letter_number == corrected.number and third.status is St.EVIDENCE_RECEIVED


def test_closing_the_moved_conditions_issues_the_notice_about_the_corrected_letter(  # noqa: ANN001
        ctx, people, issued, letters, p12) -> None:
    service = ConditionsService(ctx)
    first, second, third = issued.condition_ids
    service.attach_bytes(people["rev"], first, b"record", name="record.txt")
    service.mark_met(people["rev"], first)
    corrected = letters.issue_corrected(people["sup"], issued.letter_id, "The model version was misprinted.",
                                        password=PASSWORD, source=p12, secret=PASSPHRASE)
    service.waive(people["sup"], second, "Superseded by the developer's new policy.")
    service.attach_bytes(people["rev"], third, b"mitigation", name="mitigation.txt")
    notice = service.close_last_as_met(people["sup"], third, password=PASSWORD, source=p12, secret=PASSPHRASE)
    assert notice.kind is LetterKind.CONDITIONS_MET and notice.concerns == corrected.number
    text = " ".join(pdf_text(letters.pdf(notice.id)).split())
    assert all(f"Condition {n} of letter {corrected.number}" in text for n in (1, 2, 3))


def test_a_resubmission_s_letter_closes_the_earlier_letter_s_unresolved_conditions(  # noqa: ANN001
        ctx, people, issued, letters, p12, samples_dir, tmp_path) -> None:
    service = ConditionsService(ctx)
    first = issued.condition_ids[0]
    service.attach_bytes(people["rev"], first, b"record", name="record.txt")
    service.mark_met(people["rev"], first)
    again = IntakeService(ctx).import_package(people["rev"], resubmission_package(samples_dir, tmp_path))
    to_awaiting_signoff(ctx, again.submission_id, people["rev"], Decision.CLEARED)
    later = letters.approve_and_issue(people["sup"], again.submission_id, password=PASSWORD, source=p12,
                                      secret=PASSPHRASE)
    assert later.supersedes == issued.number
    rows = sorted(service.list(submission_id=issued.submission_id), key=lambda c: c.number)
    reason = (f"{issued.number} was superseded by {later.number} for the resubmission {later.reference}; "
              f"the conditions of {later.number} apply from now on.")
    assert [(c.letter_number, c.status, c.status_reason) for c in rows] == [
        (issued.number, St.MET, ""), (issued.number, St.WAIVED, reason), (issued.number, St.WAIVED, reason)]
    assert service.counts().due == 0 and service.counts().overdue == 0 and not _follow_events(ctx)
    assert [a for _w, _u, a, _x in service.history(issued.condition_ids[1])] == ["condition.open", "condition.waive"]
