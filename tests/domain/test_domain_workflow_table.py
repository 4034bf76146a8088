"""Every persona, action and state: exactly the allowed set, written out by hand.

The table is the specification; it is deliberately not derived from workflow.py's own
tables, so a slip in either shows up here.
"""

from __future__ import annotations

import pytest

from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.findings import FindingFacts
from desktop_app.domain.types import Decision, FindingStatus, Role, Severity, SubmissionState
from desktop_app.domain.workflow import (
    Action,
    ActionInputs,
    Actor,
    SubmissionFacts,
    allowed_actions,
    available_actions,
    evaluate,
    require,
)

S = SubmissionState
A = Action

ASSIGNED_REVIEWER = Actor(1, "user1", Role.REVIEWER)
OTHER_REVIEWER = Actor(2, "user2", Role.REVIEWER)
SUPERVISOR = Actor(3, "user3", Role.SUPERVISOR)  # uninvolved: may approve
AUTHOR_SUPERVISOR = Actor(4, "user4", Role.SUPERVISOR)  # wrote a finding: may not approve
ADMIN = Actor(5, "user5", Role.ADMIN)

PERSONAS = {
    "assigned reviewer": ASSIGNED_REVIEWER,
    "other reviewer": OTHER_REVIEWER,
    "supervisor": SUPERVISOR,
    "author supervisor": AUTHOR_SUPERVISOR,
    "admin": ADMIN,
}


def facts_in(state: SubmissionState) -> SubmissionFacts:
    """A submission in `state` with reviewer 1 assigned and recommending, findings by 1 and 4."""
    assigned = None if state in (S.RECEIVED, S.REFUSED) else ASSIGNED_REVIEWER.user_id
    pending = state is S.AWAITING_SIGNOFF
    return SubmissionFacts(
        state=state,
        assignee_id=assigned,
        recommender_id=ASSIGNED_REVIEWER.user_id if pending or state is S.ISSUED else None,
        pending_decision=Decision.CLEARED_WITH_CONDITIONS if pending else None,
        finding_author_ids=frozenset({1, 4}) if assigned else frozenset(),
        findings=(FindingFacts(Severity.MEDIUM, FindingStatus.OPEN, 1),) if assigned else (),
    )


NOTHING: frozenset[Action] = frozenset()
REVIEWING_ASSIGNED = {A.REQUEST_INFO, A.SUBMIT_RECOMMENDATION, A.WITHDRAW, A.REASSIGN, A.ADD_FINDING, A.EDIT_FINDINGS}
AWAITING_INFO_ASSIGNED = {A.RECORD_INFO_RECEIVED, A.WITHDRAW, A.REASSIGN, A.ADD_FINDING, A.EDIT_FINDINGS}

EXPECTED: dict[tuple[str, SubmissionState], frozenset[Action] | set[Action]] = {
    # assigned reviewer
    ("assigned reviewer", S.RECEIVED): {A.ACCEPT_AND_ASSIGN, A.REFUSE, A.WITHDRAW},
    ("assigned reviewer", S.IN_REVIEW): REVIEWING_ASSIGNED,
    ("assigned reviewer", S.AWAITING_INFO): AWAITING_INFO_ASSIGNED,
    ("assigned reviewer", S.AWAITING_SIGNOFF): {A.WITHDRAW, A.REASSIGN},
    ("assigned reviewer", S.ISSUED): NOTHING,
    ("assigned reviewer", S.REFUSED): NOTHING,
    ("assigned reviewer", S.WITHDRAWN): NOTHING,
    # a reviewer the submission is not assigned to: contributes findings, records facts
    ("other reviewer", S.RECEIVED): {A.ACCEPT_AND_ASSIGN, A.REFUSE, A.WITHDRAW},
    ("other reviewer", S.IN_REVIEW): {A.WITHDRAW, A.ADD_FINDING, A.EDIT_FINDINGS},
    ("other reviewer", S.AWAITING_INFO): {A.RECORD_INFO_RECEIVED, A.WITHDRAW, A.ADD_FINDING, A.EDIT_FINDINGS},
    ("other reviewer", S.AWAITING_SIGNOFF): {A.WITHDRAW},
    ("other reviewer", S.ISSUED): NOTHING,
    ("other reviewer", S.REFUSED): NOTHING,
    ("other reviewer", S.WITHDRAWN): NOTHING,
    # an uninvolved supervisor: everything a reviewer does, plus approve and return
    ("supervisor", S.RECEIVED): {A.ACCEPT_AND_ASSIGN, A.REFUSE, A.WITHDRAW},
    ("supervisor", S.IN_REVIEW): REVIEWING_ASSIGNED,
    ("supervisor", S.AWAITING_INFO): AWAITING_INFO_ASSIGNED,
    ("supervisor", S.AWAITING_SIGNOFF): {A.APPROVE, A.RETURN, A.WITHDRAW, A.REASSIGN},
    ("supervisor", S.ISSUED): NOTHING,
    ("supervisor", S.REFUSED): NOTHING,
    ("supervisor", S.WITHDRAWN): NOTHING,
    # a supervisor who wrote a finding: may return, never approve
    ("author supervisor", S.RECEIVED): {A.ACCEPT_AND_ASSIGN, A.REFUSE, A.WITHDRAW},
    ("author supervisor", S.IN_REVIEW): REVIEWING_ASSIGNED,
    ("author supervisor", S.AWAITING_INFO): AWAITING_INFO_ASSIGNED,
    ("author supervisor", S.AWAITING_SIGNOFF): {A.RETURN, A.WITHDRAW, A.REASSIGN},
    ("author supervisor", S.ISSUED): NOTHING,
    ("author supervisor", S.REFUSED): NOTHING,
    ("author supervisor", S.WITHDRAWN): NOTHING,
    # admins neither review nor approve
    **{("admin", state): NOTHING for state in S},
}

CASES = [(persona, state, action) for persona in PERSONAS for state in S for action in A]


def test_table_covers_every_persona_and_state() -> None:
    assert set(EXPECTED) == {(persona, state) for persona in PERSONAS for state in S}


@pytest.mark.parametrize(("persona", "state"), list(EXPECTED), ids=lambda v: str(v))
def test_allowed_set_is_exactly_the_table(persona: str, state: SubmissionState) -> None:
    assert allowed_actions(PERSONAS[persona], facts_in(state)) == frozenset(EXPECTED[(persona, state)])


@pytest.mark.parametrize(("persona", "state", "action"), CASES, ids=lambda v: str(v))
def test_require_agrees_with_table(persona: str, state: SubmissionState, action: Action) -> None:
    """With valid inputs, require() returns the target exactly when the table allows it."""
    actor, facts = PERSONAS[persona], facts_in(state)
    inputs = VALID_INPUTS[action]
    if action in EXPECTED[(persona, state)]:
        assert require(actor, action, facts, inputs) == TARGETS.get((state, action), state)
    else:
        with pytest.raises((PermissionDenied, TransitionNotAllowed)):
            require(actor, action, facts, inputs)
        verdict = evaluate(actor, action, facts)
        assert not verdict.allowed
        assert verdict.reason.endswith(".")


# Written out again by hand: the diagram of DESIGN.md.
TARGETS = {
    (S.RECEIVED, A.ACCEPT_AND_ASSIGN): S.IN_REVIEW,
    (S.RECEIVED, A.REFUSE): S.REFUSED,
    (S.IN_REVIEW, A.REQUEST_INFO): S.AWAITING_INFO,
    (S.AWAITING_INFO, A.RECORD_INFO_RECEIVED): S.IN_REVIEW,
    (S.IN_REVIEW, A.SUBMIT_RECOMMENDATION): S.AWAITING_SIGNOFF,
    (S.AWAITING_SIGNOFF, A.APPROVE): S.ISSUED,
    (S.AWAITING_SIGNOFF, A.RETURN): S.IN_REVIEW,
    (S.RECEIVED, A.WITHDRAW): S.WITHDRAWN,
    (S.IN_REVIEW, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_INFO, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_SIGNOFF, A.WITHDRAW): S.WITHDRAWN,
}

VALID_INPUTS = {
    A.ACCEPT_AND_ASSIGN: ActionInputs(assignee_id=2, assignee_role=Role.REVIEWER),
    A.REFUSE: ActionInputs(reasons=("manifest lists no evaluation logs",)),
    A.REQUEST_INFO: ActionInputs(text="Send the cyber-range transcripts."),
    A.RECORD_INFO_RECEIVED: ActionInputs(),
    A.SUBMIT_RECOMMENDATION: ActionInputs(decision=Decision.NOT_CLEARED, rationale="Exploit uplift."),
    A.APPROVE: ActionInputs(),
    A.RETURN: ActionInputs(comments="Cite the evidence for F-1."),
    A.WITHDRAW: ActionInputs(reason="Developer letter of 3 March."),
    A.REASSIGN: ActionInputs(assignee_id=2, assignee_role=Role.REVIEWER),
    A.ADD_FINDING: ActionInputs(),
    A.EDIT_FINDINGS: ActionInputs(),
}


def test_available_actions_lists_every_action_with_a_reason_for_the_refused() -> None:
    verdicts = available_actions(OTHER_REVIEWER, facts_in(S.AWAITING_SIGNOFF))
    assert list(verdicts) == list(Action)
    assert verdicts[A.APPROVE].reason == "Only a supervisor can approve a recommendation."
    assert verdicts[A.WITHDRAW].allowed and verdicts[A.WITHDRAW].reason == ""
    assert "return the recommendation" in verdicts[A.ADD_FINDING].reason


def test_admin_is_told_why() -> None:
    verdict = evaluate(ADMIN, A.APPROVE, facts_in(S.AWAITING_SIGNOFF))
    assert verdict.reason.startswith("Administrators manage accounts and settings")


def test_unassigned_reviewer_is_told_who_can() -> None:
    with pytest.raises(PermissionDenied, match="only the assigned reviewer or a supervisor"):
        require(OTHER_REVIEWER, A.REQUEST_INFO, facts_in(S.IN_REVIEW), VALID_INPUTS[A.REQUEST_INFO])


# --- separation of duties ---------------------------------------------------------------


def signoff_facts(**changes: object) -> SubmissionFacts:
    base = dict(
        state=S.AWAITING_SIGNOFF,
        assignee_id=1,
        recommender_id=1,
        pending_decision=Decision.CLEARED,
        finding_author_ids=frozenset({1}),
        findings=(),
    )
    base.update(changes)
    return SubmissionFacts(**base)  # type: ignore[arg-type]


def test_recommending_supervisor_may_not_approve_but_may_return() -> None:
    facts = signoff_facts(assignee_id=3, recommender_id=3)
    with pytest.raises(
        PermissionDenied, match=r"You submitted this recommendation, so another supervisor must approve it\."
    ):
        require(SUPERVISOR, A.APPROVE, facts)
    assert allowed_actions(SUPERVISOR, facts) == {A.RETURN, A.WITHDRAW, A.REASSIGN}


def test_finding_author_may_not_approve_even_if_finding_withdrawn() -> None:
    facts = signoff_facts(
        finding_author_ids=frozenset({1, 3}),
        findings=(FindingFacts(Severity.LOW, FindingStatus.WITHDRAWN, 1),),
    )
    with pytest.raises(PermissionDenied, match="You wrote findings on this submission"):
        require(SUPERVISOR, A.APPROVE, facts)
    assert require(AUTHOR_SUPERVISOR, A.APPROVE, signoff_facts()) is S.ISSUED


def test_approve_needs_a_pending_recommendation() -> None:
    with pytest.raises(TransitionNotAllowed, match="no pending recommendation"):
        require(SUPERVISOR, A.APPROVE, signoff_facts(pending_decision=None))


# --- the CLEARED guard ------------------------------------------------------------------

OPEN_HIGH = FindingFacts(Severity.HIGH, FindingStatus.OPEN, 2)
REQUESTED_CRITICAL = FindingFacts(Severity.CRITICAL, FindingStatus.MITIGATION_REQUESTED, 5)


@pytest.mark.parametrize(
    ("findings", "blocked"),
    [
        ((), False),
        ((OPEN_HIGH,), True),
        ((REQUESTED_CRITICAL,), True),
        ((FindingFacts(Severity.HIGH, FindingStatus.MITIGATED, 2),), False),
        ((FindingFacts(Severity.CRITICAL, FindingStatus.RISK_ACCEPTED, 2),), False),
        ((FindingFacts(Severity.CRITICAL, FindingStatus.WITHDRAWN, 2),), False),
        ((FindingFacts(Severity.MEDIUM, FindingStatus.OPEN, 2),), False),
    ],
)
def test_cleared_refused_while_critical_or_high_open(findings: tuple[FindingFacts, ...], blocked: bool) -> None:
    facts = SubmissionFacts(S.IN_REVIEW, assignee_id=1, findings=findings)
    inputs = ActionInputs(decision=Decision.CLEARED, rationale="No uplift found.")
    if blocked:
        with pytest.raises(TransitionNotAllowed, match="Cleared cannot be recommended"):
            require(ASSIGNED_REVIEWER, A.SUBMIT_RECOMMENDATION, facts, inputs)
    else:
        assert require(ASSIGNED_REVIEWER, A.SUBMIT_RECOMMENDATION, facts, inputs) is S.AWAITING_SIGNOFF


def test_cleared_guard_names_the_findings() -> None:
    facts = SubmissionFacts(S.IN_REVIEW, assignee_id=1, findings=(REQUESTED_CRITICAL, OPEN_HIGH))
    cleared = ActionInputs(decision=Decision.CLEARED, rationale="x")
    verdict = evaluate(ASSIGNED_REVIEWER, A.SUBMIT_RECOMMENDATION, facts, cleared)
    assert verdict.reason == (
        "Cleared cannot be recommended while 2 Critical or High findings are still open (F-2, F-5); "
        "resolve them or choose another decision."
    )
    # other decisions stay possible, and the action is offered (the decision is chosen later)
    assert evaluate(ASSIGNED_REVIEWER, A.SUBMIT_RECOMMENDATION, facts).allowed
    not_cleared = ActionInputs(decision=Decision.NOT_CLEARED, rationale="Exploit uplift.")
    assert require(ASSIGNED_REVIEWER, A.SUBMIT_RECOMMENDATION, facts, not_cleared) is S.AWAITING_SIGNOFF


def test_approval_rechecks_the_cleared_guard() -> None:
    with pytest.raises(TransitionNotAllowed, match="Cleared cannot be approved"):
        require(SUPERVISOR, A.APPROVE, signoff_facts(findings=(OPEN_HIGH,)))


# --- required inputs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "state", "inputs", "fields"),
    [
        (A.ACCEPT_AND_ASSIGN, S.RECEIVED, ActionInputs(), ["assignee_id"]),
        (A.ACCEPT_AND_ASSIGN, S.RECEIVED, ActionInputs(assignee_id=5, assignee_role=Role.ADMIN), ["assignee_id"]),
        (A.REASSIGN, S.IN_REVIEW, ActionInputs(assignee_id=1), ["assignee_id"]),
        (A.REFUSE, S.RECEIVED, ActionInputs(reasons=("", "  ")), ["reasons"]),
        (A.REQUEST_INFO, S.IN_REVIEW, ActionInputs(text=" \n"), ["text"]),
        (A.SUBMIT_RECOMMENDATION, S.IN_REVIEW, ActionInputs(), ["decision", "rationale"]),
        (
            A.SUBMIT_RECOMMENDATION,
            S.IN_REVIEW,
            ActionInputs(decision=Decision.CLEARED_WITH_CONDITIONS, rationale="ok", conditions=(" ",)),
            ["conditions"],
        ),
        (
            A.SUBMIT_RECOMMENDATION,
            S.IN_REVIEW,
            ActionInputs(decision=Decision.NOT_CLEARED, rationale="no", conditions=("keep logs",)),
            ["conditions"],
        ),
        (A.RETURN, S.AWAITING_SIGNOFF, ActionInputs(comments=""), ["comments"]),
        (A.WITHDRAW, S.AWAITING_INFO, ActionInputs(), ["reason"]),
    ],
)
def test_missing_inputs_are_rejected_naming_the_field(
    action: Action, state: SubmissionState, inputs: ActionInputs, fields: list[str]
) -> None:
    facts = facts_in(state)
    with pytest.raises(InputRejected) as rejected:
        require(SUPERVISOR, action, facts, inputs)
    assert [problem.field for problem in rejected.value.problems] == fields
    assert not evaluate(SUPERVISOR, action, facts, inputs).allowed
    assert evaluate(SUPERVISOR, action, facts).allowed  # without inputs: offered, the form asks


def test_require_without_inputs_treats_them_as_empty() -> None:
    with pytest.raises(InputRejected, match="reason"):
        require(SUPERVISOR, A.WITHDRAW, facts_in(S.IN_REVIEW))


def test_cleared_with_conditions_accepted_with_a_condition() -> None:
    inputs = ActionInputs(
        decision=Decision.CLEARED_WITH_CONDITIONS, rationale="ok", conditions=("", "Keep F-1 mitigations")
    )
    assert require(ASSIGNED_REVIEWER, A.SUBMIT_RECOMMENDATION, facts_in(S.IN_REVIEW), inputs) is S.AWAITING_SIGNOFF


def test_facts_accept_storage_strings() -> None:
    facts = SubmissionFacts(state="AWAITING_SIGNOFF", recommender_id=1, pending_decision="CLEARED")  # type: ignore[arg-type]
    assert facts.state is S.AWAITING_SIGNOFF and facts.pending_decision is Decision.CLEARED
    assert require(SUPERVISOR, A.APPROVE, facts) is S.ISSUED


def test_action_labels_and_audit_names() -> None:
    assert A.ACCEPT_AND_ASSIGN.audit_name == "submission.accept_and_assign"
    assert all(action.label for action in A)
    assert {a for a in A if not a.is_transition} == {A.REASSIGN, A.ADD_FINDING, A.EDIT_FINDINGS}
