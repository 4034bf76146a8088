"""Random action sequences by random users never take a submission somewhere it must not go.

The machine keeps its own model of one submission (what a service would store) and
applies an action only when `require` accepts it; `evaluate` must agree with `require`
every time. Invariants: no sign-off without a recommendation, no recommendation from a
submission not in review, the approver is neither the recommender nor a finding author.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.findings import FindingFacts, blocking_findings, check_status_change, next_number
from desktop_app.domain.types import Decision, FindingStatus, Role, Severity, SubmissionState
from desktop_app.domain.workflow import Action, ActionInputs, Actor, SubmissionFacts, evaluate, require

S = SubmissionState
A = Action
USERS = (
    Actor(1, Role.REVIEWER),
    Actor(2, Role.REVIEWER),
    Actor(3, Role.SUPERVISOR),
    Actor(4, Role.SUPERVISOR),
    Actor(5, Role.ADMIN),
)
SUPERVISORS_FIRST = (USERS[3], USERS[2], USERS[0], USERS[1], USERS[4])
ROLE_OF = {user.user_id: user.role for user in USERS}
TERMINAL = {S.ISSUED, S.REFUSED, S.WITHDRAWN}

# The edges of DESIGN.md's diagram, written out once more by hand.
EDGES = {
    (S.RECEIVED, A.ACCEPT_AND_ASSIGN, S.IN_REVIEW),
    (S.RECEIVED, A.REFUSE, S.REFUSED),
    (S.IN_REVIEW, A.REQUEST_INFO, S.AWAITING_INFO),
    (S.AWAITING_INFO, A.RECORD_INFO_RECEIVED, S.IN_REVIEW),
    (S.IN_REVIEW, A.SUBMIT_RECOMMENDATION, S.AWAITING_SIGNOFF),
    (S.AWAITING_SIGNOFF, A.APPROVE, S.ISSUED),
    (S.AWAITING_SIGNOFF, A.RETURN, S.IN_REVIEW),
    *((state, A.WITHDRAW, S.WITHDRAWN) for state in (S.RECEIVED, S.IN_REVIEW, S.AWAITING_INFO, S.AWAITING_SIGNOFF)),
}
STAYING = {A.REASSIGN, A.ADD_FINDING, A.EDIT_FINDINGS}
# Hypothesis favours the first choice of a list, so the progress rule lists forward moves first.
FORWARD_FIRST = (
    A.APPROVE, A.SUBMIT_RECOMMENDATION, A.ACCEPT_AND_ASSIGN, A.RECORD_INFO_RECEIVED,
    A.RETURN, A.REQUEST_INFO, A.REFUSE, A.WITHDRAW,
)

REFUSALS = (PermissionDenied, TransitionNotAllowed, InputRejected)
REACHED: dict[SubmissionState, int] = {}  # coverage, checked after the run


def texts() -> st.SearchStrategy[str]:
    return st.sampled_from(["ok", "ok", "ok", "", "  "])


inputs_strategy = st.builds(
    ActionInputs,
    assignee_id=st.sampled_from([None, 1, 2, 3, 4, 5]),
    reasons=st.sampled_from([(), ("",), ("no logs",), ("no logs",)]),
    text=texts(),
    decision=st.sampled_from([None, *Decision, *Decision]),
    rationale=texts(),
    conditions=st.sampled_from([(), (" ",), ("keep logs",), ("keep logs",)]),
    comments=texts(),
    reason=texts(),
)


@dataclass
class Finding:
    number: int
    severity: Severity
    status: FindingStatus


@dataclass
class Approval:
    approver: int
    recommender: int | None
    decision: Decision | None
    authors: frozenset[int]
    blocking: int


@dataclass
class Model:
    """What the service would have stored."""

    state: SubmissionState = S.RECEIVED
    assignee: int | None = None
    recommender: int | None = None
    decision: Decision | None = None
    findings: list[Finding] = field(default_factory=list)
    authors: set[int] = field(default_factory=set)
    counter: int = 1
    recommended_from: list[SubmissionState] = field(default_factory=list)
    approval: Approval | None = None
    admin_succeeded: bool = False

    def facts(self) -> SubmissionFacts:
        return SubmissionFacts(
            state=self.state,
            assignee_id=self.assignee,
            recommender_id=self.recommender,
            pending_decision=self.decision,
            finding_author_ids=frozenset(self.authors),
            findings=tuple(FindingFacts(f.severity, f.status, f.number) for f in self.findings),
        )


class SubmissionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = Model()

    def attempt(self, actor: Actor, action: Action, inputs: ActionInputs | None = None) -> bool:
        """Run the rules as a service would; True when the action was accepted."""
        facts = self.model.facts()
        verdict = evaluate(actor, action, facts, inputs or ActionInputs())
        try:
            target = require(actor, action, facts, inputs)
        except REFUSALS:
            assert not verdict.allowed and verdict.reason
            return False
        assert verdict.allowed
        before = self.model.state
        assert before not in TERMINAL, "a closed submission changed"
        assert (before, action, target) in EDGES or (action in STAYING and target is before)
        self.model.state = target
        self.model.admin_succeeded |= actor.role is Role.ADMIN
        REACHED[target] = REACHED.get(target, 0) + 1
        return True

    @rule(actor=st.sampled_from(USERS), action=st.sampled_from(Action), inputs=inputs_strategy)
    def act(self, actor: Actor, action: Action, inputs: ActionInputs) -> None:
        """Any action by anyone, with inputs that are often incomplete."""
        self.apply(actor, action, inputs)

    @rule(actor=st.sampled_from(SUPERVISORS_FIRST), data=st.data())
    def progress(self, actor: Actor, data: st.DataObject) -> None:
        """An action the diagram offers from here, with complete inputs: keeps runs moving to sign-off."""
        offered = [action for action in FORWARD_FIRST if (self.model.state, action) in {e[:2] for e in EDGES}]
        if not offered:
            return
        action = data.draw(st.sampled_from(offered))
        assignee = data.draw(st.sampled_from([1, 2, 3, 4]))
        decision = data.draw(st.sampled_from(Decision))
        conditions = ("keep logs",) if decision is Decision.CLEARED_WITH_CONDITIONS else ()
        inputs = ActionInputs(
            assignee_id=assignee, reasons=("no logs",), text="ok", decision=decision, rationale="ok",
            conditions=conditions, comments="ok", reason="ok",
        )
        self.apply(actor, action, inputs)

    def apply(self, actor: Actor, action: Action, inputs: ActionInputs) -> None:
        """Try the action and, when accepted, record its effects as the service would."""
        if inputs.assignee_id is not None:  # the service knows every user's role
            inputs = dataclasses.replace(inputs, assignee_role=ROLE_OF[inputs.assignee_id])
        model = self.model
        before = dataclasses.replace(model.facts())
        if not self.attempt(actor, action, inputs):
            return
        if action in (A.ACCEPT_AND_ASSIGN, A.REASSIGN):
            model.assignee = inputs.assignee_id
        elif action is A.SUBMIT_RECOMMENDATION:
            model.recommended_from.append(before.state)
            model.recommender, model.decision = actor.user_id, inputs.decision
        elif action is A.RETURN:
            model.recommender = model.decision = None
        elif action is A.APPROVE:
            model.approval = Approval(
                actor.user_id, before.recommender_id, before.pending_decision,
                before.finding_author_ids, len(blocking_findings(before.findings)),
            )

    @rule(actor=st.sampled_from(USERS), severity=st.sampled_from(Severity), status=st.sampled_from(FindingStatus))
    def add_finding(self, actor: Actor, severity: Severity, status: FindingStatus) -> None:
        if status is FindingStatus.WITHDRAWN or not self.attempt(actor, A.ADD_FINDING):
            return
        number = next_number((f.number for f in self.model.findings), counter=self.model.counter)
        self.model.counter = number + 1
        self.model.findings.append(Finding(number, severity, status))
        self.model.authors.add(actor.user_id)

    @rule(actor=st.sampled_from(USERS), index=st.integers(0, 5), status=st.sampled_from(FindingStatus))
    def change_finding(self, actor: Actor, index: int, status: FindingStatus) -> None:
        if index >= len(self.model.findings):
            return
        finding = self.model.findings[index]
        try:
            check_status_change(finding.status, status, finding.number)
        except TransitionNotAllowed:
            assert finding.status is FindingStatus.WITHDRAWN
            return
        if self.attempt(actor, A.EDIT_FINDINGS):
            finding.status = status
            self.model.authors.add(actor.user_id)

    @invariant()
    def no_signoff_without_recommendation(self) -> None:
        model = self.model
        if model.state is S.ISSUED:
            approval = model.approval
            assert approval is not None
            assert approval.recommender is not None and approval.decision is not None
            assert approval.approver != approval.recommender
            assert approval.approver not in approval.authors
            assert approval.approver not in model.authors  # findings cannot change after issue
            assert ROLE_OF[approval.approver] is Role.SUPERVISOR
            assert approval.decision is not Decision.CLEARED or approval.blocking == 0
        else:
            assert model.approval is None

    @invariant()
    def recommendations_come_from_review(self) -> None:
        assert all(state is S.IN_REVIEW for state in self.model.recommended_from)
        if self.model.state is S.AWAITING_SIGNOFF:
            assert self.model.decision is not None and self.model.recommender is not None
        elif self.model.state in (S.RECEIVED, S.IN_REVIEW, S.AWAITING_INFO, S.REFUSED):
            assert self.model.decision is None and self.model.recommender is None

    @invariant()
    def reviewed_by_a_reviewer(self) -> None:
        if self.model.state in (S.IN_REVIEW, S.AWAITING_INFO, S.AWAITING_SIGNOFF):
            assert self.model.assignee is not None
            assert ROLE_OF[self.model.assignee] is not Role.ADMIN

    @invariant()
    def admins_do_nothing(self) -> None:
        assert not self.model.admin_succeeded

    @invariant()
    def finding_numbers_unique(self) -> None:
        numbers = [f.number for f in self.model.findings]
        assert len(numbers) == len(set(numbers)) and numbers == sorted(numbers)


def test_random_action_sequences_stay_valid() -> None:
    REACHED.clear()
    run_state_machine_as_test(
        SubmissionMachine,
        settings=settings(
            max_examples=300,
            stateful_step_count=40,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The run is only convincing if it went everywhere, sign-off included.
    assert set(REACHED) >= {S.IN_REVIEW, S.AWAITING_INFO, S.AWAITING_SIGNOFF, S.ISSUED, S.REFUSED, S.WITHDRAWN}
    assert REACHED[S.ISSUED] >= 20
