"""The rules of conditions after clearance, table by table: who may move a condition, from where, to where."""

from __future__ import annotations

import datetime as dt

import pytest

from desktop_app.domain.conditions import (
    ActingUser,
    ConditionAction,
    ConditionFacts,
    ConditionInputs,
    ConditionStatus,
    check_due_dates,
    closes_letter,
    evaluate,
    is_due_soon,
    is_overdue,
    require,
)
from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.types import Role

A, St = ConditionAction, ConditionStatus
OWNER = ActingUser(1, Role.REVIEWER)
OTHER_REVIEWER = ActingUser(2, Role.REVIEWER)
SUPERVISOR = ActingUser(3, Role.SUPERVISOR)
ADMIN = ActingUser(4, Role.ADMIN)
GOOD = ConditionInputs(reason="because", due_date=dt.date(2027, 1, 1), owner_id=2, owner_role=Role.REVIEWER)


def facts(status: St, evidence: int = 0, others: tuple[St, ...] = (St.OPEN,)) -> ConditionFacts:
    return ConditionFacts(status, OWNER.user_id, evidence, others)


# (actor, action, facts, expected status or the error raised)
TRANSITIONS = [
    # evidence: any reviewer, while unresolved; it moves an open condition on
    (OWNER, A.ADD_EVIDENCE, facts(St.OPEN), St.EVIDENCE_RECEIVED),
    (OTHER_REVIEWER, A.ADD_EVIDENCE, facts(St.OPEN), St.EVIDENCE_RECEIVED),
    (SUPERVISOR, A.ADD_EVIDENCE, facts(St.EVIDENCE_RECEIVED, 1), St.EVIDENCE_RECEIVED),
    (OWNER, A.ADD_EVIDENCE, facts(St.MET, 1), TransitionNotAllowed),
    (OWNER, A.ADD_EVIDENCE, facts(St.WAIVED), TransitionNotAllowed),
    (ADMIN, A.ADD_EVIDENCE, facts(St.OPEN), PermissionDenied),
    # met: on evidence, by the owner or a supervisor; the last one only by a supervisor
    (OWNER, A.MARK_MET, facts(St.EVIDENCE_RECEIVED, 1), St.MET),
    (SUPERVISOR, A.MARK_MET, facts(St.EVIDENCE_RECEIVED, 1), St.MET),
    (OTHER_REVIEWER, A.MARK_MET, facts(St.EVIDENCE_RECEIVED, 1), PermissionDenied),
    (OWNER, A.MARK_MET, facts(St.OPEN), TransitionNotAllowed),
    (OWNER, A.MARK_MET, facts(St.EVIDENCE_RECEIVED, 0), TransitionNotAllowed),
    (OWNER, A.MARK_MET, facts(St.EVIDENCE_RECEIVED, 1, (St.MET,)), PermissionDenied),
    (SUPERVISOR, A.MARK_MET, facts(St.EVIDENCE_RECEIVED, 1, (St.MET,)), St.MET),
    (OWNER, A.MARK_MET, facts(St.NOT_MET, 1), TransitionNotAllowed),
    # not met: the owner or a supervisor, with a reason
    (OWNER, A.MARK_NOT_MET, facts(St.OPEN), St.NOT_MET),
    (SUPERVISOR, A.MARK_NOT_MET, facts(St.EVIDENCE_RECEIVED, 1), St.NOT_MET),
    (OTHER_REVIEWER, A.MARK_NOT_MET, facts(St.OPEN), PermissionDenied),
    (OWNER, A.MARK_NOT_MET, facts(St.MET, 1), TransitionNotAllowed),
    # waived, new owner, new due date: supervisors only, while unresolved
    (SUPERVISOR, A.WAIVE, facts(St.OPEN), St.WAIVED),
    (OWNER, A.WAIVE, facts(St.OPEN), PermissionDenied),
    (SUPERVISOR, A.WAIVE, facts(St.NOT_MET), TransitionNotAllowed),
    (SUPERVISOR, A.REASSIGN, facts(St.EVIDENCE_RECEIVED, 1), St.EVIDENCE_RECEIVED),
    (OWNER, A.REASSIGN, facts(St.OPEN), PermissionDenied),
    (SUPERVISOR, A.CHANGE_DUE, facts(St.OPEN), St.OPEN),
    (SUPERVISOR, A.CHANGE_DUE, facts(St.MET, 1), TransitionNotAllowed),
    (OWNER, A.CHANGE_DUE, facts(St.OPEN), PermissionDenied),
    (ADMIN, A.WAIVE, facts(St.OPEN), PermissionDenied),
]


@pytest.mark.parametrize(("actor", "action", "given", "expected"), TRANSITIONS)
def test_transition_table(actor: ActingUser, action: ConditionAction, given: ConditionFacts, expected: object) -> None:
    if isinstance(expected, ConditionStatus):
        assert require(actor, action, given, GOOD) is expected
        assert evaluate(actor, action, given).allowed
    else:
        with pytest.raises(expected):  # type: ignore[call-overload]
            require(actor, action, given, GOOD)
        assert not evaluate(actor, action, given).allowed
        assert evaluate(actor, action, given).reason


@pytest.mark.parametrize(("action", "inputs", "field"), [
    (A.MARK_NOT_MET, ConditionInputs(reason="  "), "reason"),
    (A.WAIVE, ConditionInputs(), "reason"),
    (A.CHANGE_DUE, ConditionInputs(reason="agreed"), "due_date"),
    (A.CHANGE_DUE, ConditionInputs(due_date=dt.date(2027, 1, 1)), "reason"),
    (A.REASSIGN, ConditionInputs(owner_id=9, owner_role=Role.ADMIN), "owner"),
    (A.WAIVE, ConditionInputs(reason="x" * 2001), "reason"),
])
def test_inputs_are_refused_with_their_field(action: ConditionAction, inputs: ConditionInputs, field: str) -> None:
    with pytest.raises(InputRejected) as refused:
        require(SUPERVISOR, action, facts(St.OPEN), inputs)
    assert [p.field for p in refused.value.problems] == [field]


@pytest.mark.parametrize(("others", "closes"), [
    ((), True),
    ((St.MET, St.WAIVED), True),
    ((St.MET, St.NOT_MET), False),   # a failed condition: no "conditions met" notice
    ((St.MET, St.OPEN), False),      # not the last one
])
def test_the_last_condition_met_closes_the_letter(others: tuple[St, ...], closes: bool) -> None:
    given = facts(St.EVIDENCE_RECEIVED, 1, others)
    assert closes_letter(A.MARK_MET, given) is closes
    assert evaluate(SUPERVISOR, A.MARK_MET, given).issues_notice is closes
    assert not closes_letter(A.MARK_NOT_MET, given)


def test_due_and_overdue_look_at_unresolved_conditions_only() -> None:
    today = dt.date(2026, 12, 5)
    assert is_overdue(St.OPEN, dt.date(2026, 12, 4), today)
    assert is_overdue(St.EVIDENCE_RECEIVED, dt.date(2026, 12, 4), today)
    assert not is_overdue(St.MET, dt.date(2026, 12, 4), today)
    assert not is_overdue(St.OPEN, today, today)
    assert is_due_soon(St.OPEN, today, today) and is_due_soon(St.OPEN, dt.date(2026, 12, 12), today)
    assert not is_due_soon(St.OPEN, dt.date(2026, 12, 13), today)
    assert not is_due_soon(St.OPEN, dt.date(2026, 12, 4), today)   # overdue, not "due"
    assert not is_due_soon(St.WAIVED, today, today)


def test_due_dates_at_signoff_are_required_and_not_before_the_decision() -> None:
    today = dt.date(2026, 12, 5)
    assert check_due_dates([today, dt.date(2027, 3, 1)], today) == []
    problems = check_due_dates([None, dt.date(2026, 12, 4)], today)
    assert [p.field for p in problems] == ["conditions_due[1]", "conditions_due[2]"]
    assert "before the decision date" in problems[1].message
