"""Random action sequences by random users never take a submission somewhere it must not go.

The machine keeps its own model of a small queue of submissions (what a service would
store) and applies an action only when `require` accepts it; `evaluate` must agree with
`require` every time. Invariants: no sign-off without a recommendation, no
recommendation from a submission not in review, the approver is neither the recommender
nor a finding author, no CLEARED while a Critical or High finding is open, admins change
nothing, closed submissions never change.
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
    Actor(1, "user1", Role.REVIEWER),
    Actor(2, "user2", Role.REVIEWER),
    Actor(3, "user3", Role.SUPERVISOR),
    Actor(4, "user4", Role.SUPERVISOR),
    Actor(5, "user5", Role.ADMIN),
)
SUPERVISORS_FIRST = (USERS[3], USERS[2], USERS[0], USERS[1], USERS[4])
ROLE_OF = {user.user_id: user.role for user in USERS}
TERMINAL = {S.ISSUED, S.REFUSED, S.WITHDRAWN}
QUEUE_SIZE = 4

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
STARTS = {(state, action) for state, action, _ in EDGES}
STAYING = {A.REASSIGN, A.ADD_FINDING, A.EDIT_FINDINGS}
# Hypothesis favours early choices in a list, so the progress rule lists forward moves first;
# refusing and withdrawing end a submission (and the exploration of it): `act` alone tries those.
FORWARD_FIRST = (
    A.APPROVE,
    A.SUBMIT_RECOMMENDATION,
    A.ACCEPT_AND_ASSIGN,
    A.RECORD_INFO_RECEIVED,
    A.RETURN,
    A.REQUEST_INFO,
)

REFUSALS = (PermissionDenied, TransitionNotAllowed, InputRejected)
REACHED: dict[SubmissionState, int] = {}  # coverage, checked after the run
DENIED_APPROVALS: dict[str, int] = {}


def complete_inputs(data: st.DataObject, decisions: tuple[Decision, ...] = tuple(Decision)) -> ActionInputs:
    """Inputs every action accepts; the first decision is drawn most often."""
    decision = data.draw(st.sampled_from(decisions))
    assignee = data.draw(st.sampled_from([1, 2, 3, 4]))
    return ActionInputs(
        assignee_id=assignee,
        assignee_role=ROLE_OF[assignee],
        reasons=("no logs",),
        text="ok",
        decision=decision,
        rationale="ok",
        conditions=("keep logs",) if decision is Decision.CLEARED_WITH_CONDITIONS else (),
        comments="ok",
        reason="ok",
    )


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
    """What the service would have stored for one submission."""

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
    cleared_while_blocked: bool = False

    def facts(self) -> SubmissionFacts:
        return SubmissionFacts(
            state=self.state,
            assignee_id=self.assignee,
            recommender_id=self.recommender,
            pending_decision=self.decision,
            finding_author_ids=frozenset(self.authors),
            findings=tuple(FindingFacts(f.severity, f.status, f.number) for f in self.findings),
        )


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.queue = [Model()]

    def pick(self, which: int) -> Model:
        return self.queue[which % len(self.queue)]

    # --- rules --------------------------------------------------------------------------

    @rule()
    def receive(self) -> None:
        """A new package arrives, so closed submissions do not end the exploration."""
        if len(self.queue) < QUEUE_SIZE:
            self.queue.append(Model())

    @rule(
        which=st.integers(0, QUEUE_SIZE - 1),
        actor=st.sampled_from(USERS),
        action=st.sampled_from(Action),
        inputs=inputs_strategy,
    )
    def act(self, which: int, actor: Actor, action: Action, inputs: ActionInputs) -> None:
        """Any action by anyone, with inputs that are often incomplete."""
        if inputs.assignee_id is not None:  # the service knows every user's role
            inputs = dataclasses.replace(inputs, assignee_role=ROLE_OF[inputs.assignee_id])
        self.apply(self.pick(which), actor, action, inputs)

    @rule(which=st.integers(0, QUEUE_SIZE - 1), data=st.data())
    def progress(self, which: int, data: st.DataObject) -> None:
        """A move the diagram offers, complete inputs, a plausible actor first: runs reach sign-off."""
        model = self.pick(which)
        offered = [action for action in FORWARD_FIRST if (model.state, action) in STARTS]
        if offered:
            action = data.draw(st.sampled_from(offered))
            self.apply(
                model, data.draw(st.sampled_from(self.plausible_actors(model, action))), action, complete_inputs(data)
            )

    @rule(which=st.integers(0, QUEUE_SIZE - 1), data=st.data())
    def probe(self, which: int, data: st.DataObject) -> None:
        """Every move the diagram does not offer from here, by the likeliest actor with complete inputs, fails."""
        model = self.pick(which)
        # NOT_CLEARED first: no guard on it, so only the state check can refuse
        inputs = complete_inputs(data, (Decision.NOT_CLEARED, Decision.CLEARED_WITH_CONDITIONS))
        for action in Action:
            if (model.state, action) not in STARTS and action not in STAYING:
                actor = self.plausible_actors(model, action)[0]
                assert not self.attempt(model, actor, action, inputs), f"{action} from {model.state}"

    @rule(
        which=st.integers(0, QUEUE_SIZE - 1),
        actor=st.sampled_from(SUPERVISORS_FIRST),  # supervisors who write findings meet the duty rule
        severity=st.sampled_from([Severity.CRITICAL, Severity.HIGH, *Severity]),  # blockers often
        status=st.sampled_from([FindingStatus.OPEN, *FindingStatus]),
    )
    def add_finding(self, which: int, actor: Actor, severity: Severity, status: FindingStatus) -> None:
        model = self.pick(which)
        if status is FindingStatus.WITHDRAWN or not self.attempt(model, actor, A.ADD_FINDING):
            return
        number = next_number((f.number for f in model.findings), counter=model.counter)
        model.counter = number + 1
        model.findings.append(Finding(number, severity, status))
        model.authors.add(actor.user_id)

    @rule(
        which=st.integers(0, QUEUE_SIZE - 1),
        actor=st.sampled_from(USERS),
        index=st.integers(0, 5),
        status=st.sampled_from(FindingStatus),
    )
    def change_finding(self, which: int, actor: Actor, index: int, status: FindingStatus) -> None:
        model = self.pick(which)
        if index >= len(model.findings):
            return
        finding = model.findings[index]
        try:
            check_status_change(finding.status, status, finding.number)
        except TransitionNotAllowed:
            assert finding.status is FindingStatus.WITHDRAWN
            return
        if self.attempt(model, actor, A.EDIT_FINDINGS):
            finding.status = status
            model.authors.add(actor.user_id)

    # --- the service, as far as the rules go --------------------------------------------

    @staticmethod
    def plausible_actors(model: Model, action: Action) -> list[Actor]:
        """Every user, the likely-accepted first (Hypothesis favours early choices)."""
        if action is A.APPROVE:  # finding authors first: the rules, not this list, must stop them
            others = [u for u in USERS if u.role is Role.SUPERVISOR and u.user_id != model.recommender]
            first = sorted(others, key=lambda u: u.user_id not in model.authors)
        else:
            first = [u for u in USERS if u.user_id == model.assignee]
        return first + [u for u in USERS if u not in first]

    def attempt(self, model: Model, actor: Actor, action: Action, inputs: ActionInputs | None = None) -> bool:
        """Run the rules as a service would; True when the action was accepted."""
        facts = model.facts()
        verdict = evaluate(actor, action, facts, inputs or ActionInputs())
        try:
            target = require(actor, action, facts, inputs)
        except REFUSALS:
            assert not verdict.allowed and verdict.reason
            if action is A.APPROVE and facts.state is S.AWAITING_SIGNOFF:
                DENIED_APPROVALS[verdict.reason[:40]] = DENIED_APPROVALS.get(verdict.reason[:40], 0) + 1
            return False
        assert verdict.allowed
        assert model.state not in TERMINAL, "a closed submission changed"
        assert (model.state, action, target) in EDGES or (action in STAYING and target is model.state)
        model.state = target
        model.admin_succeeded |= actor.role is Role.ADMIN
        REACHED[target] = REACHED.get(target, 0) + 1
        return True

    def apply(self, model: Model, actor: Actor, action: Action, inputs: ActionInputs) -> None:
        """Try the action and, when accepted, record its effects as the service would."""
        before = model.facts()
        if not self.attempt(model, actor, action, inputs):
            return
        if action in (A.ACCEPT_AND_ASSIGN, A.REASSIGN):
            model.assignee = inputs.assignee_id
        elif action is A.SUBMIT_RECOMMENDATION:
            model.recommended_from.append(before.state)
            model.recommender, model.decision = actor.user_id, inputs.decision
            if inputs.decision is Decision.CLEARED:
                model.cleared_while_blocked |= bool(blocking_findings(before.findings))
        elif action is A.RETURN:
            model.recommender = model.decision = None
        elif action is A.APPROVE:
            model.approval = Approval(
                actor.user_id,
                before.recommender_id,
                before.pending_decision,
                before.finding_author_ids,
                len(blocking_findings(before.findings)),
            )

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def no_signoff_without_recommendation(self) -> None:
        for model in self.queue:
            if model.state is not S.ISSUED:
                assert model.approval is None
                continue
            approval = model.approval
            assert approval is not None
            assert approval.recommender is not None and approval.decision is not None
            assert approval.approver != approval.recommender
            assert approval.approver not in approval.authors
            assert approval.approver not in model.authors  # findings cannot change after issue
            assert ROLE_OF[approval.approver] is Role.SUPERVISOR
            assert approval.decision is not Decision.CLEARED or approval.blocking == 0

    @invariant()
    def recommendations_come_from_review(self) -> None:
        for model in self.queue:
            assert all(state is S.IN_REVIEW for state in model.recommended_from)
            if model.state is S.AWAITING_SIGNOFF:
                assert model.decision is not None and model.recommender is not None
            elif model.state in (S.RECEIVED, S.IN_REVIEW, S.AWAITING_INFO, S.REFUSED):
                assert model.decision is None and model.recommender is None

    @invariant()
    def never_cleared_with_open_critical_or_high(self) -> None:
        assert not any(model.cleared_while_blocked for model in self.queue)

    @invariant()
    def reviewed_by_a_reviewer(self) -> None:
        for model in self.queue:
            if model.state in (S.IN_REVIEW, S.AWAITING_INFO, S.AWAITING_SIGNOFF):
                assert model.assignee is not None and ROLE_OF[model.assignee] is not Role.ADMIN

    @invariant()
    def admins_change_nothing(self) -> None:
        assert not any(model.admin_succeeded for model in self.queue)

    @invariant()
    def finding_numbers_unique_and_increasing(self) -> None:
        for model in self.queue:
            numbers = [f.number for f in model.findings]
            assert numbers == sorted(set(numbers))


def test_random_action_sequences_stay_valid() -> None:
    REACHED.clear()
    DENIED_APPROVALS.clear()
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            max_examples=300,
            stateful_step_count=50,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The run is only convincing if it went everywhere and was refused for the right reasons.
    assert set(REACHED) >= {S.IN_REVIEW, S.AWAITING_INFO, S.AWAITING_SIGNOFF, S.ISSUED, S.REFUSED, S.WITHDRAWN}
    assert REACHED[S.ISSUED] >= 10
    assert any(reason.startswith(("You wrote findings", "You submitted this")) for reason in DENIED_APPROVALS)
