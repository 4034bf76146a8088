"""The life of a submission: which action moves it where, who may take it, and what it needs.

One function answers every "may I?": `evaluate` for the UI (a verdict with a sentence),
`require` for the services (the new state, or an exception). Both run the same checks in
the same order, so what the UI offers and what the service accepts never disagree:

1. role (PermissionDenied): admins neither review nor approve; only supervisors approve or return;
2. state (TransitionNotAllowed): the action must start from one of its states;
3. duty (PermissionDenied): assignee rules and separation of duties;
4. guard (TransitionNotAllowed): e.g. CLEARED while a Critical or High finding is open;
5. inputs (InputRejected naming the field): only when inputs are given to `evaluate`,
   always in `require`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, PermissionDenied, Problem, TransitionNotAllowed
from desktop_app.domain.findings import FindingFacts, blocking_findings, label
from desktop_app.domain.permissions import ADMIN_REVIEWS, ActingUser, Actor, UserId, may_review, may_sign
from desktop_app.domain.text import field_problems
from desktop_app.domain.types import Decision, Role, SubmissionState

__all__ = [
    "REQUIRED_INPUTS",
    "TRANSITIONS",
    "Action",
    "ActionInputs",
    "Actor",
    "SubmissionFacts",
    "Verdict",
    "allowed_actions",
    "available_actions",
    "evaluate",
    "evaluate_window_change",
    "next_state",
    "require",
    "require_window_change",
    "states_for",
]

S = SubmissionState


class Action(enum.StrEnum):
    """What a user can do to a submission; the value names the audit event."""

    ACCEPT_AND_ASSIGN = "accept_and_assign"
    REFUSE = "refuse"
    REQUEST_INFO = "request_info"
    RECORD_INFO_RECEIVED = "record_info_received"
    SUBMIT_RECOMMENDATION = "submit_recommendation"
    APPROVE = "approve"
    RETURN = "return"
    WITHDRAW = "withdraw"
    REASSIGN = "reassign"
    ADD_FINDING = "add_finding"
    EDIT_FINDINGS = "edit_findings"

    @property
    def label(self) -> str:
        """Button text."""
        return _LABELS[self]

    @property
    def audit_name(self) -> str:
        return f"submission.{self.value}"

    @property
    def is_transition(self) -> bool:
        """False for actions that change the record but not the state."""
        return self not in _STAYING


_LABELS: Mapping[Action, str] = {
    Action.ACCEPT_AND_ASSIGN: "Accept and assign",
    Action.REFUSE: "Refuse to accept",
    Action.REQUEST_INFO: "Request information",
    Action.RECORD_INFO_RECEIVED: "Record information received",
    Action.SUBMIT_RECOMMENDATION: "Submit recommendation",
    Action.APPROVE: "Approve and sign",
    Action.RETURN: "Return with comments",
    Action.WITHDRAW: "Record withdrawal",
    Action.REASSIGN: "Reassign",
    Action.ADD_FINDING: "Add finding",
    Action.EDIT_FINDINGS: "Edit findings",
}

#: (from-state, action) -> to-state: the diagram of DESIGN.md, and nothing else.
TRANSITIONS: Mapping[tuple[SubmissionState, Action], SubmissionState] = {
    (S.RECEIVED, Action.ACCEPT_AND_ASSIGN): S.IN_REVIEW,
    (S.RECEIVED, Action.REFUSE): S.REFUSED,
    (S.IN_REVIEW, Action.REQUEST_INFO): S.AWAITING_INFO,
    (S.AWAITING_INFO, Action.RECORD_INFO_RECEIVED): S.IN_REVIEW,
    (S.IN_REVIEW, Action.SUBMIT_RECOMMENDATION): S.AWAITING_SIGNOFF,
    (S.AWAITING_SIGNOFF, Action.APPROVE): S.ISSUED,
    (S.AWAITING_SIGNOFF, Action.RETURN): S.IN_REVIEW,
    (S.RECEIVED, Action.WITHDRAW): S.WITHDRAWN,
    (S.IN_REVIEW, Action.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_INFO, Action.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_SIGNOFF, Action.WITHDRAW): S.WITHDRAWN,
}

#: Actions that leave the state as it is, and the states they work in.
_STAYING: Mapping[Action, frozenset[SubmissionState]] = {
    # Findings are frozen while a recommendation awaits sign-off: the supervisor approves
    # what was recommended; to change findings, return the recommendation first.
    Action.ADD_FINDING: frozenset({S.IN_REVIEW, S.AWAITING_INFO}),
    Action.EDIT_FINDINGS: frozenset({S.IN_REVIEW, S.AWAITING_INFO}),
    Action.REASSIGN: frozenset({S.IN_REVIEW, S.AWAITING_INFO, S.AWAITING_SIGNOFF}),
}

#: Input fields each action needs (names of ActionInputs fields), for building forms.
REQUIRED_INPUTS: Mapping[Action, tuple[str, ...]] = {
    Action.ACCEPT_AND_ASSIGN: ("assignee_id",),
    Action.REFUSE: ("reasons",),
    Action.REQUEST_INFO: ("text",),
    Action.RECORD_INFO_RECEIVED: (),
    Action.SUBMIT_RECOMMENDATION: ("decision", "rationale"),  # + conditions when WITH_CONDITIONS
    Action.APPROVE: (),
    Action.RETURN: ("comments",),
    Action.WITHDRAW: ("reason",),
    Action.REASSIGN: ("assignee_id",),
    Action.ADD_FINDING: (),  # the finding itself is checked by findings.validate_draft
    Action.EDIT_FINDINGS: (),
}


def states_for(action: Action) -> frozenset[SubmissionState]:
    """The states in which `action` can be taken at all."""
    if action in _STAYING:
        return _STAYING[action]
    return frozenset(state for state, act in TRANSITIONS if act is action)


def next_state(state: SubmissionState, action: Action) -> SubmissionState | None:
    """Where `action` leads from `state` (the same state for non-transitions), None if nowhere."""
    if action in _STAYING:
        return state if state in _STAYING[action] else None
    return TRANSITIONS.get((state, action))


# --- facts, inputs, verdicts -----------------------------------------------------------


@dataclass(frozen=True)
class SubmissionFacts:
    """What the rules need to know about one submission, read by the service in its transaction.

    `finding_author_ids` holds everyone who wrote or changed any finding on the
    submission, withdrawn ones included: all of them are barred from approving.
    `recommender_id` and `pending_decision` describe the recommendation awaiting sign-off.
    """

    state: SubmissionState
    assignee_id: UserId | None = None
    recommender_id: UserId | None = None
    pending_decision: Decision | None = None
    finding_author_ids: frozenset[UserId] = frozenset()
    findings: tuple[FindingFacts, ...] = ()

    def __post_init__(self) -> None:
        # Storage hands back plain strings and lists; normalise so the rules compare enums.
        object.__setattr__(self, "state", SubmissionState(self.state))
        if self.pending_decision is not None:
            object.__setattr__(self, "pending_decision", Decision(self.pending_decision))
        object.__setattr__(self, "finding_author_ids", frozenset(self.finding_author_ids))
        object.__setattr__(self, "findings", tuple(self.findings))


@dataclass(frozen=True, kw_only=True)
class ActionInputs:
    """What the user typed for an action; each action reads only its own fields.

    `assignee_role`, when the service knows it, lets the rules refuse an admin assignee.
    """

    assignee_id: UserId | None = None
    assignee_role: Role | None = None
    reasons: tuple[str, ...] = ()
    text: str = ""
    decision: Decision | None = None
    rationale: str = ""
    conditions: tuple[str, ...] = ()
    comments: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    """May the actor do it, and if not, a sentence saying why (shown next to the greyed action)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def evaluate(actor: ActingUser, action: Action, facts: SubmissionFacts, inputs: ActionInputs | None = None) -> Verdict:
    """Whether `actor` may take `action` now; inputs are checked only when given."""
    try:
        _check(actor, action, facts, inputs)
    except ClearanceDeskError as refusal:
        return Verdict(False, str(refusal))
    return ALLOWED


def require(
    actor: ActingUser, action: Action, facts: SubmissionFacts, inputs: ActionInputs | None = None
) -> SubmissionState:
    """The state after `action`, or raise PermissionDenied / TransitionNotAllowed / InputRejected.

    Missing inputs count as empty, so an action that needs a reason fails without one.
    """
    _check(actor, action, facts, inputs if inputs is not None else ActionInputs())
    target = next_state(facts.state, action)
    if target is None:  # unreachable: _check_state refused it already
        raise TransitionNotAllowed(f"{action.label} is not possible now.")
    return target


def require_window_change(actor: ActingUser, facts: SubmissionFacts) -> None:
    """Raise unless `actor` may change the review window now (not one of the state machine's actions).

    Only while the submission is open, and only its assigned reviewer or a supervisor.
    """
    if actor.role == Role.ADMIN or not may_review(actor.role):
        raise PermissionDenied(ADMIN_REVIEWS)
    if not facts.state.is_open:
        raise TransitionNotAllowed(
            f"The review window can be changed only while the submission is open; it is "
            f"{facts.state.label.lower()}.")
    if not may_sign(actor.role) and actor.user_id != facts.assignee_id:
        raise PermissionDenied("Only the assigned reviewer or a supervisor can change the review window.")


def evaluate_window_change(actor: ActingUser, facts: SubmissionFacts) -> Verdict:
    """`require_window_change` as a verdict, for the button the UI greys out."""
    try:
        require_window_change(actor, facts)
    except ClearanceDeskError as refusal:
        return Verdict(False, str(refusal))
    return ALLOWED


def available_actions(actor: ActingUser, facts: SubmissionFacts) -> dict[Action, Verdict]:
    """Every action with its verdict, in menu order: the UI shows the allowed, explains the rest."""
    return {action: evaluate(actor, action, facts) for action in Action}


def allowed_actions(actor: ActingUser, facts: SubmissionFacts) -> frozenset[Action]:
    return frozenset(action for action, verdict in available_actions(actor, facts).items() if verdict)


# --- the checks, in order --------------------------------------------------------------


def _check(actor: ActingUser, action: Action, facts: SubmissionFacts, inputs: ActionInputs | None) -> None:
    _check_role(actor, action)
    _check_state(action, facts.state)
    _check_duty(actor, action, facts)
    _check_guard(action, facts, inputs)
    if inputs is not None:
        _check_inputs(action, facts, inputs)


_SUPERVISOR_ONLY: Mapping[Action, str] = {
    Action.APPROVE: "approve a recommendation",
    Action.RETURN: "return a recommendation",
}


def _check_role(actor: ActingUser, action: Action) -> None:
    if actor.role == Role.ADMIN or not may_review(actor.role):
        raise PermissionDenied(ADMIN_REVIEWS)
    if action in _SUPERVISOR_ONLY and not may_sign(actor.role):
        raise PermissionDenied(f"Only a supervisor can {_SUPERVISOR_ONLY[action]}.")


_FINDINGS_FROZEN = (
    "Findings can be changed only while the submission is in review or awaiting information; it is {state}."
)
_WRONG_STATE: Mapping[Action, str] = {
    Action.ACCEPT_AND_ASSIGN: "Only a newly received submission can be accepted; this one is {state}.",
    Action.REFUSE: "Only a newly received submission can be refused; this one is {state}.",
    Action.REQUEST_INFO: "Information can be requested only while the submission is in review; it is {state}.",
    Action.RECORD_INFO_RECEIVED: "No information request is outstanding; the submission is {state}.",
    Action.SUBMIT_RECOMMENDATION: (
        "A recommendation can be submitted only while the submission is in review; it is {state}."
    ),
    Action.APPROVE: "No recommendation awaits sign-off; the submission is {state}.",
    Action.RETURN: "No recommendation awaits sign-off; the submission is {state}.",
    Action.WITHDRAW: "The submission is {state}; it can no longer be withdrawn.",
    Action.REASSIGN: "Only a submission under review can be reassigned; this one is {state}.",
    Action.ADD_FINDING: _FINDINGS_FROZEN,
    Action.EDIT_FINDINGS: _FINDINGS_FROZEN,
}


def _check_state(action: Action, state: SubmissionState) -> None:
    if next_state(state, action) is None:
        message = _WRONG_STATE[action].format(state=state.label.lower())
        if action in (Action.ADD_FINDING, Action.EDIT_FINDINGS) and state is S.AWAITING_SIGNOFF:
            message += " A supervisor can return the recommendation to reopen them."
        raise TransitionNotAllowed(message)


_ASSIGNEE_OR_SUPERVISOR: Mapping[Action, str] = {
    Action.REQUEST_INFO: "request information",
    Action.SUBMIT_RECOMMENDATION: "submit the recommendation",
    Action.REASSIGN: "reassign it",
}


def _check_duty(actor: ActingUser, action: Action, facts: SubmissionFacts) -> None:
    if action in _ASSIGNEE_OR_SUPERVISOR and not may_sign(actor.role) and actor.user_id != facts.assignee_id:
        raise PermissionDenied(
            "This submission is assigned to another reviewer; only the assigned reviewer or a supervisor "
            f"can {_ASSIGNEE_OR_SUPERVISOR[action]}."
        )
    if action is Action.APPROVE:
        _check_separation(actor, facts)


def _check_separation(actor: ActingUser, facts: SubmissionFacts) -> None:
    """The approver is neither the recommender nor the author of any finding on the submission."""
    if actor.user_id == facts.recommender_id:
        raise PermissionDenied("You submitted this recommendation, so another supervisor must approve it.")
    if actor.user_id in facts.finding_author_ids:
        raise PermissionDenied("You wrote findings on this submission, so another supervisor must approve it.")


def _check_guard(action: Action, facts: SubmissionFacts, inputs: ActionInputs | None) -> None:
    if action in (Action.APPROVE, Action.RETURN) and (facts.pending_decision is None or facts.recommender_id is None):
        raise TransitionNotAllowed("There is no pending recommendation to decide on.")
    if action is Action.APPROVE and facts.pending_decision is Decision.CLEARED:
        _refuse_cleared_if_blocked(facts, "approved")
    if action is Action.SUBMIT_RECOMMENDATION and inputs is not None and inputs.decision is Decision.CLEARED:
        _refuse_cleared_if_blocked(facts, "recommended")


def _refuse_cleared_if_blocked(facts: SubmissionFacts, verb: str) -> None:
    blocking = blocking_findings(facts.findings)
    if not blocking:
        return
    numbers = sorted(f.number for f in blocking if f.number is not None)
    which = f" ({', '.join(label(n) for n in numbers)})" if numbers else ""
    count = "a Critical or High finding is" if len(blocking) == 1 else f"{len(blocking)} Critical or High findings are"
    raise TransitionNotAllowed(
        f"Cleared cannot be {verb} while {count} still open{which}; resolve them or choose another decision."
    )


# --- inputs ----------------------------------------------------------------------------


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _check_inputs(action: Action, facts: SubmissionFacts, inputs: ActionInputs) -> None:
    problems = _INPUT_CHECKS[action](facts, inputs) if action in _INPUT_CHECKS else []
    problems += _text_problems(inputs)
    if problems:
        raise InputRejected(problems, subject=action.label)


def _text_problems(inputs: ActionInputs) -> list[Problem]:
    """Control, bidirectional and invisible characters in anything typed (see domain.text)."""
    fields = {"text": inputs.text, "rationale": inputs.rationale, "comments": inputs.comments,
              "reason": inputs.reason}
    fields |= {f"reasons[{i}]": reason for i, reason in enumerate(inputs.reasons)}
    fields |= {f"conditions[{i}]": condition for i, condition in enumerate(inputs.conditions)}
    return field_problems(fields)


def _assignee_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    if inputs.assignee_id is None:
        return [Problem("choose the reviewer to assign", field="assignee_id")]
    if inputs.assignee_role is not None and not may_review(inputs.assignee_role):
        return [Problem("administrators cannot be assigned a review", field="assignee_id")]
    return []


def _reassign_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    problems = _assignee_problems(facts, inputs)
    if not problems and inputs.assignee_id == facts.assignee_id:
        problems.append(Problem("the submission is already assigned to this reviewer", field="assignee_id"))
    return problems


def _refuse_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    if all(_blank(reason) for reason in inputs.reasons):
        return [Problem("give at least one reason for refusing the submission", field="reasons")]
    return []


def _request_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    return [Problem("write the information you are requesting", field="text")] if _blank(inputs.text) else []


def _recommendation_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    problems: list[Problem] = []
    if inputs.decision is None:
        problems.append(Problem("choose a decision", field="decision"))
    if _blank(inputs.rationale):
        problems.append(Problem("explain the recommendation", field="rationale"))
    conditions = [c for c in inputs.conditions if not _blank(c)]
    if inputs.decision is Decision.CLEARED_WITH_CONDITIONS and not conditions:
        problems.append(Problem("Cleared with conditions needs at least one condition", field="conditions"))
    if inputs.decision in (Decision.CLEARED, Decision.NOT_CLEARED) and conditions:
        problems.append(Problem("conditions go only with Cleared with conditions", field="conditions"))
    return problems


def _return_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    return [Problem("say what the reviewer should change", field="comments")] if _blank(inputs.comments) else []


def _withdraw_problems(facts: SubmissionFacts, inputs: ActionInputs) -> list[Problem]:
    return [Problem("record the developer's reason for withdrawing", field="reason")] if _blank(inputs.reason) else []


_INPUT_CHECKS = {
    Action.ACCEPT_AND_ASSIGN: _assignee_problems,
    Action.REASSIGN: _reassign_problems,
    Action.REFUSE: _refuse_problems,
    Action.REQUEST_INFO: _request_problems,
    Action.SUBMIT_RECOMMENDATION: _recommendation_problems,
    Action.RETURN: _return_problems,
    Action.WITHDRAW: _withdraw_problems,
}
