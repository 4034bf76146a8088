"""The conditions' part of the letters service's transactions: the plan checked at sign-off, the
tracked items opened with a clearance letter, what becomes of them when the letter is
superseded, and their waiver when the letter is revoked.

Kept apart from `services.conditions` (the follow-up use cases) because that one issues the
"conditions met" notice through the letters service: letters → condition_signoff and
conditions → letters is a line, not a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_app.domain import conditions as rules
from desktop_app.domain.conditions import ConditionStatus
from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import Decision, Role
from desktop_app.services import audit
from desktop_app.services.context import ServiceContext
from desktop_app.storage.models import Condition, Letter, Recommendation, Submission, User

S = ConditionStatus


@dataclass(frozen=True)
class ConditionPlan:
    """Checked at sign-off before anything is signed: one due date per condition, and the owner."""

    due_dates: tuple[dt.date, ...]
    owner_id: int


class IssuedClearance(Protocol):
    """What `open_for_letter` needs of the letter being issued (the letters service's `IssuedLetter`)."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def submission_id(self) -> int: ...
    @property
    def reference(self) -> str: ...


def plan_for_signoff(ctx: ServiceContext, submission_id: int, due_dates: Sequence[dt.date | None] | dt.date | None,
                     owner_id: int | None = None, *, today: dt.date) -> ConditionPlan | None:
    """Check the due dates entered at sign-off before anything is signed (None: no conditions).

    One date for all conditions or one per condition; none before today, and none
    missing: a condition without a due date would never be followed up, so this refuses
    rather than inventing one (the dialog proposes `DEFAULT_DUE_DAYS` after the decision
    and the supervisor confirms or changes it). The owner is the recommending reviewer
    unless another active reviewer or supervisor is named.
    """
    with ctx.reading() as session:
        rec = session.scalar(select(Recommendation).where(
            Recommendation.submission_id == submission_id, Recommendation.outcome == "pending")
            .order_by(Recommendation.id.desc()).limit(1))
        if rec is None or rec.decision != Decision.CLEARED_WITH_CONDITIONS.value:
            return None
        count = len([c for c in rec.conditions or () if str(c).strip()])
        dates: list[dt.date | None] = ([due_dates] * count if isinstance(due_dates, dt.date)
                                       else list(due_dates or ()))
        if count and not dates:
            raise InputRejected(Problem(
                f"a cleared-with-conditions decision needs a due date for each of its {count} condition"
                f"{'s' if count != 1 else ''}", field="conditions_due"))
        if len(dates) != count:
            raise InputRejected(Problem(f"{len(dates)} due dates for {count} conditions", field="conditions_due"))
        problems = rules.check_due_dates(dates, today)
        if problems:
            raise InputRejected(problems)
        owner = session.get(User, owner_id if owner_id is not None else rec.reviewer_id)
        if owner is None or not owner.active or Role(owner.role) not in (Role.REVIEWER, Role.SUPERVISOR):
            raise InputRejected(Problem("choose an active reviewer or supervisor", field="condition owner"))
        return ConditionPlan(tuple(d for d in dates if d is not None), owner.id)


def open_for_letter(session: Session, plan: ConditionPlan, letter: IssuedClearance, *, actor: str,
                    now: dt.datetime) -> list[Condition]:
    """Inside the issuing transaction: one tracked item per numbered condition of the letter."""
    rec = session.scalar(select(Recommendation).where(Recommendation.submission_id == letter.submission_id)
                         .order_by(Recommendation.id.desc()).limit(1))
    texts = [str(c).strip() for c in (rec.conditions if rec else ()) or () if str(c).strip()]
    if len(texts) != len(plan.due_dates):
        raise InputRejected(Problem(f"{len(plan.due_dates)} due dates for {len(texts)} conditions",
                                    field="conditions_due"))
    rows = []
    owner = _username(session, plan.owner_id)
    for number, (text, due) in enumerate(zip(texts, plan.due_dates, strict=True), start=1):
        row = Condition(letter_id=letter.id, submission_id=letter.submission_id, number=number, text=text,
                        owner_id=plan.owner_id, due_date=due, status=S.OPEN.value, status_reason="",
                        created_at=now, updated_at=now, updated_by=actor)
        session.add(row)
        session.flush()
        audit.record(session, actor=actor, action="condition.open", entity_type="condition",
                     entity_id=f"{letter.number}#{number}", now=now,
                     after={"submission": letter.reference, "text": text, "owner": owner, "due_date": due,
                            "status": S.OPEN.value})
        rows.append(row)
    return rows


def waive_for_revoked_letter(session: Session, letter: Letter, *, actor: str, now: dt.datetime) -> None:
    """Inside the revocation's transaction: a revoked letter's unresolved conditions are no longer followed up."""
    for row in session.scalars(select(Condition).where(
            Condition.letter_id == letter.id,
            Condition.status.in_([s.value for s in rules.UNRESOLVED_STATUSES])).order_by(Condition.number)):
        before = {"status": row.status}
        row.status, row.closed_at = S.WAIVED.value, now
        row.status_reason = f"{letter.number} was revoked; its conditions are no longer followed up."
        row.updated_at, row.updated_by = now, actor
        session.flush()
        audit.record(session, actor=actor, action="condition.waive", entity_type="condition",
                     entity_id=f"{letter.number}#{row.number}", before=before,
                     after={"status": S.WAIVED.value, "reason": row.status_reason}, now=now)


def follow_successor(session: Session, earlier: Letter, later: Letter, *, actor: str, now: dt.datetime) -> None:
    """Inside the issuing transaction: the conditions of a superseded letter follow the letter that stands.

    A corrected letter (same submission) restates the same numbered conditions, so every
    condition moves to it with its number, status, evidence and dates: open ones go on being
    followed up, and met or waived ones stay met or waived, so that the "conditions met"
    notice still accounts for all of them. A resubmission's letter was decided afresh with
    conditions of its own: the earlier letter's unresolved ones are closed as waived, naming
    the letter that replaces them. Each change is one audit event.
    """
    rows = list(session.scalars(select(Condition).where(Condition.letter_id == earlier.id)
                                .order_by(Condition.number)))
    for row in rows:
        if later.submission_id == earlier.submission_id:
            row.letter_id, row.updated_at, row.updated_by = later.id, now, actor
            session.flush()
            audit.record(session, actor=actor, action="condition.follow_letter", entity_type="condition",
                         entity_id=f"{later.number}#{row.number}", now=now,
                         before={"letter": earlier.number}, after={"letter": later.number, "status": row.status})
        elif S(row.status).is_unresolved:
            reference = session.scalar(select(Submission.reference).where(Submission.id == later.submission_id))
            before = {"status": row.status}
            row.status, row.closed_at, row.updated_at, row.updated_by = S.WAIVED.value, now, now, actor
            row.status_reason = (f"{earlier.number} was superseded by {later.number} for the resubmission "
                                 f"{reference}; the conditions of {later.number} apply from now on.")
            session.flush()
            audit.record(session, actor=actor, action="condition.waive", entity_type="condition",
                         entity_id=f"{earlier.number}#{row.number}", before=before,
                         after={"status": S.WAIVED.value, "reason": row.status_reason}, now=now)


def _username(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.username).where(User.id == user_id)) if user_id else None
