"""Conditions of a clearance as tracked items: their statuses and who may move them.

Under a voluntary order a condition means nothing unless someone follows it up, so each
numbered condition of an issued CLEARED WITH CONDITIONS letter becomes an item with an
owner (a reviewer), a due date, a status and evidence. The rules here are pure: the
service layer reads the facts, asks `require`, and writes the change and its audit event.

Statuses move forward only: open → evidence received → met / not met, and a supervisor
may waive an unmet condition with a reason. Met, not met and waived are final. Closing
the last unresolved condition as met is the supervisor's, with re-authentication,
because it issues the signed "conditions met" notice.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.errors import InputRejected, PermissionDenied, Problem, TransitionNotAllowed
from desktop_app.domain.permissions import ADMIN_REVIEWS
from desktop_app.domain.text import checked
from desktop_app.domain.types import Role

#: "Conditions due": unresolved and due within DUE_SOON_DAYS days (not yet overdue).
#: The due date the sign-off dialog proposes, days after the decision (the supervisor confirms or changes it).
DEFAULT_DUE_DAYS = 90
REASON_MAX = 2_000


class ConditionStatus(enum.StrEnum):
    OPEN = "open"
    EVIDENCE_RECEIVED = "evidence received"
    MET = "met"
    NOT_MET = "not met"
    WAIVED = "waived"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def is_unresolved(self) -> bool:
        """Still to be followed up: counts towards due and overdue."""
        return not self.is_final


FINAL_STATUSES: frozenset[ConditionStatus] = frozenset(
    {ConditionStatus.MET, ConditionStatus.NOT_MET, ConditionStatus.WAIVED})
UNRESOLVED_STATUSES: tuple[ConditionStatus, ...] = (ConditionStatus.OPEN, ConditionStatus.EVIDENCE_RECEIVED)


class ConditionAction(enum.StrEnum):
    ADD_EVIDENCE = "add_evidence"
    MARK_MET = "mark_met"
    MARK_NOT_MET = "mark_not_met"
    WAIVE = "waive"
    REASSIGN = "reassign"
    CHANGE_DUE = "change_due"

    @property
    def audit_name(self) -> str:
        return f"condition.{self.value}"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ConditionAction.ADD_EVIDENCE: "Add evidence",
    ConditionAction.MARK_MET: "Mark met",
    ConditionAction.MARK_NOT_MET: "Mark not met",
    ConditionAction.WAIVE: "Waive",
    ConditionAction.REASSIGN: "Change owner",
    ConditionAction.CHANGE_DUE: "Change due date",
}

#: The status each action leaves behind (None: the status does not change).
_TARGETS: dict[ConditionAction, ConditionStatus | None] = {
    ConditionAction.ADD_EVIDENCE: ConditionStatus.EVIDENCE_RECEIVED,
    ConditionAction.MARK_MET: ConditionStatus.MET,
    ConditionAction.MARK_NOT_MET: ConditionStatus.NOT_MET,
    ConditionAction.WAIVE: ConditionStatus.WAIVED,
    ConditionAction.REASSIGN: None,
    ConditionAction.CHANGE_DUE: None,
}

#: The statuses each action starts from.
_FROM: dict[ConditionAction, frozenset[ConditionStatus]] = {
    ConditionAction.ADD_EVIDENCE: frozenset(UNRESOLVED_STATUSES),
    ConditionAction.MARK_MET: frozenset({ConditionStatus.EVIDENCE_RECEIVED}),
    ConditionAction.MARK_NOT_MET: frozenset(UNRESOLVED_STATUSES),
    ConditionAction.WAIVE: frozenset(UNRESOLVED_STATUSES),
    ConditionAction.REASSIGN: frozenset(UNRESOLVED_STATUSES),
    ConditionAction.CHANGE_DUE: frozenset(UNRESOLVED_STATUSES),
}

#: Actions only a supervisor takes (the rest: the owner or a supervisor; evidence: any reviewer).
_SUPERVISOR_ONLY = frozenset({ConditionAction.WAIVE, ConditionAction.REASSIGN, ConditionAction.CHANGE_DUE})
_NEED_REASON = frozenset({ConditionAction.MARK_NOT_MET, ConditionAction.WAIVE, ConditionAction.CHANGE_DUE})


@dataclass(frozen=True)
class ConditionFacts:
    """What the rules know about one condition and its siblings on the same letter."""

    status: ConditionStatus
    owner_id: int
    evidence_count: int
    #: statuses of the letter's other conditions
    others: tuple[ConditionStatus, ...] = ()

    @property
    def is_last_unresolved(self) -> bool:
        return self.status.is_unresolved and not any(s.is_unresolved for s in self.others)

    @property
    def all_others_satisfied(self) -> bool:
        """Every other condition met or waived: closing this one as met fulfils the letter."""
        return all(s in (ConditionStatus.MET, ConditionStatus.WAIVED) for s in self.others)


@dataclass(frozen=True)
class ConditionInputs:
    reason: str = ""
    due_date: dt.date | None = None
    owner_id: int | None = None
    owner_role: Role | None = None


@dataclass(frozen=True)
class ActingUser:
    user_id: int
    role: Role


@dataclass(frozen=True)
class ConditionVerdict:
    allowed: bool
    reason: str = ""
    #: closing it as met issues the "conditions met" notice (supervisor, password, key)
    issues_notice: bool = False

    def __bool__(self) -> bool:
        return self.allowed


def target(action: ConditionAction, facts: ConditionFacts) -> ConditionStatus:
    return _TARGETS[action] or facts.status


def closes_letter(action: ConditionAction, facts: ConditionFacts) -> bool:
    """Marking the last unresolved condition met while every other one is met or waived."""
    return action is ConditionAction.MARK_MET and facts.is_last_unresolved and facts.all_others_satisfied


def require(actor: ActingUser, action: ConditionAction, facts: ConditionFacts,
            inputs: ConditionInputs = ConditionInputs()) -> ConditionStatus:  # noqa: B008
    """The status after `action`, or the reason it may not happen (role, status, guard, input)."""
    if actor.role is Role.ADMIN:
        raise PermissionDenied(ADMIN_REVIEWS)
    if actor.role not in (Role.REVIEWER, Role.SUPERVISOR):
        raise PermissionDenied("Only reviewers and supervisors follow up conditions.")
    supervisor = actor.role is Role.SUPERVISOR
    if action in _SUPERVISOR_ONLY and not supervisor:
        raise PermissionDenied(f"Only a supervisor can {action.label.lower()} a condition.")
    if action in (ConditionAction.MARK_MET, ConditionAction.MARK_NOT_MET) and not supervisor \
            and actor.user_id != facts.owner_id:
        raise PermissionDenied("Only the condition's owner or a supervisor can judge it.")
    if facts.status not in _FROM[action]:
        raise TransitionNotAllowed(_status_refusal(action, facts.status))
    if action is ConditionAction.MARK_MET:
        if facts.evidence_count == 0:
            raise TransitionNotAllowed("A condition is met on evidence; add the evidence first.")
        if facts.is_last_unresolved and not supervisor:
            raise PermissionDenied("This is the last condition of the letter: a supervisor closes it, "
                                   "with their password.")
    reason = inputs.reason.strip()
    if action in _NEED_REASON and not reason:
        raise InputRejected(Problem("say why", field="reason"))
    if len(reason) > REASON_MAX:
        raise InputRejected(Problem(f"at most {REASON_MAX} characters", field="reason"))
    checked(reason, "reason")
    if action is ConditionAction.CHANGE_DUE and inputs.due_date is None:
        raise InputRejected(Problem("enter the new due date", field="due_date"))
    if action is ConditionAction.REASSIGN:
        if inputs.owner_id is None or inputs.owner_role not in (Role.REVIEWER, Role.SUPERVISOR):
            raise InputRejected(Problem("choose an active reviewer or supervisor", field="owner"))
    return target(action, facts)


def evaluate(actor: ActingUser, action: ConditionAction, facts: ConditionFacts) -> ConditionVerdict:
    """Whether the action is open to `actor` now (inputs aside), for the UI to offer or explain."""
    try:
        require(actor, action, facts, ConditionInputs(reason="-", due_date=dt.date.min, owner_id=0,
                                                      owner_role=Role.REVIEWER))
    except (PermissionDenied, TransitionNotAllowed) as refusal:
        return ConditionVerdict(False, str(refusal))
    return ConditionVerdict(True, issues_notice=closes_letter(action, facts))


def _status_refusal(action: ConditionAction, status: ConditionStatus) -> str:
    if status.is_final:
        return f"The condition is {status.value}; that is final."
    if action is ConditionAction.MARK_MET:
        return "No evidence has been received for this condition yet."
    return f"A condition that is {status.value} cannot be changed that way."


def check_due_dates(dates: Iterable[dt.date | None], decided_on: dt.date) -> list[Problem]:
    """Problems with due dates entered at sign-off: one per condition, none before the decision."""
    found = []
    for index, due in enumerate(dates, start=1):
        field = f"conditions_due[{index}]"
        if due is None:
            found.append(Problem("enter a due date", field=field))
        elif due < decided_on:
            found.append(Problem(f"{due.isoformat()} is before the decision date {decided_on.isoformat()}",
                                 field=field))
    return found


def is_overdue(status: ConditionStatus, due: dt.date, today: dt.date) -> bool:
    return status.is_unresolved and due < today


def is_due_soon(status: ConditionStatus, due: dt.date, today: dt.date, within_days: int = DUE_SOON_DAYS) -> bool:
    """Unresolved, not overdue, and due within `within_days`."""
    return status.is_unresolved and today <= due <= today + dt.timedelta(days=within_days)


def condition_label(letter_number: str, number: int) -> str:
    """How a condition is cited: the letter and its number ("CL-2026-0003 condition 2")."""
    return f"{letter_number} condition {number}"
