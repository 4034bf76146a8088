"""The workflow of a submission as use cases: one method per action of the state machine.

Each method reads the submission's facts, asks `domain.workflow.require` whether the
actor may take the action (the same rules the UI shows through `available_actions`),
changes the rows, keeps the denormalised clock columns right (`due_date`,
`paused_days`, `paused_since`) and writes the audit event, all in one transaction.

A refusal (role, state, duty or guard) is written to the audit trail in its own
transaction after the refused one rolled back, then raised as the domain error; a
rejected input (an empty reason, a missing decision) is raised without an audit event.

The actor's role is re-read from the database inside each transaction, so a role taken
away by an administrator stops working at once, not at the next sign-in.

Pauses of the review clock are the information requests themselves: each request's
`requested_at` and `answered_at` is one pause, so no separate table is needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desktop_app.domain import clock as review_clock
from desktop_app.domain import findings as finding_rules
from desktop_app.domain import workflow as rules
from desktop_app.domain.errors import (
    AccountInactive,
    ConcurrentEdit,
    InputRejected,
    NotFound,
    PermissionDenied,
    Problem,
    TransitionNotAllowed,
)
from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.permissions import ADMIN_REVIEWS
from desktop_app.domain.text import checked
from desktop_app.domain.types import Decision, PackageKind, Role, SubmissionState
from desktop_app.domain.workflow import Action, ActionInputs, SubmissionFacts, Verdict
from desktop_app.services import audit
from desktop_app.services import detail
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.detail import ActionChoices
from desktop_app.services.settings import SettingsService
from desktop_app.services.users import UserService
from desktop_app.storage.models import (
    AuditEvent,
    InformationRequest,
    Letter,
    Package,
    Recommendation,
    SignOff,
    Submission,
    User,
)

S = SubmissionState

_NO_LETTER = ("{reference} is issued only together with its signed clearance letter: approve it with "
              "Approve and sign, with your signing key at hand")


def _require_signed_letter(session: Session, sub: Submission, actor: Actor, approval_seq: int) -> None:
    """ISSUED only with a clearance letter registered and signed in this approval's transaction.

    The letter service's callback does it; any other callback (or one that registered
    nothing) rolls the approval back.
    """
    letter = session.scalar(select(Letter).where(Letter.submission_id == sub.id, Letter.kind == "clearance")
                            .order_by(Letter.id.desc()).limit(1))
    issued_at = letter is not None and session.scalar(select(AuditEvent.seq).where(
        AuditEvent.action == "letter.issue", AuditEvent.entity_type == "letter",
        AuditEvent.entity_id == letter.number, AuditEvent.seq > approval_seq))
    enrolled = session.scalar(select(User.certificate_fingerprint).where(User.id == actor.user_id))
    if not (letter is not None and issued_at and letter.signer_id == actor.user_id and enrolled
            and letter.signer_fingerprint == enrolled and letter.pdf_sha256):
        raise TransitionNotAllowed(_NO_LETTER.format(reference=sub.reference))

#: Called by `approve` inside its transaction, after the approval is written: the letters
#: service renders, signs and registers the letter here; if it raises, nothing is kept.
IssueCallback = Callable[[Session, Submission], Any]

#: The window change is not a state-machine action; its audit event is submission.change_window.
WINDOW_CHANGE = "change_window"


@dataclass(frozen=True)
class ActionResult:
    """What an action did: the submission, its state now, and what the UI should say."""

    submission_id: int
    reference: str
    action: str
    state: SubmissionState
    message: str
    result: Any = None


@dataclass(frozen=True)
class PackageChoice:
    """A supplement package that can be linked to an information request as its answer."""

    id: int
    package_id: str
    imported_at: dt.datetime
    linked: bool


@dataclass(frozen=True)
class WorkItem:
    """One line of "My work"."""

    submission_id: int
    reference: str
    model: str
    developer: str
    state: SubmissionState
    due_date: dt.date
    days_left: int
    paused: bool
    note: str = ""


@dataclass(frozen=True)
class MyWork:
    assigned: tuple[WorkItem, ...]
    awaiting_signoff: tuple[WorkItem, ...]
    due_this_week: tuple[WorkItem, ...]


class _Refused(Exception):
    """Carries a refusal out of the transaction, so it is audited after the rollback."""

    def __init__(self, error: PermissionDenied | TransitionNotAllowed, reference: str, attempted: str) -> None:
        super().__init__(str(error))
        self.error, self.reference, self.attempted = error, reference, attempted


class WorkflowService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = SettingsService(ctx)
        self.users = UserService(ctx)

    # == reading ===========================================================================
    def facts(self, submission_id: int) -> SubmissionFacts:
        """What the rules know about the submission now."""
        with self.ctx.reading() as session:
            return submission_facts(session, self._load(session, submission_id))

    def available_actions(self, actor: Actor, submission_id: int) -> dict[Action, Verdict]:
        """Every action with its verdict for `actor`: the UI shows the allowed and explains the rest."""
        with self.ctx.reading() as session:
            sub = self._load(session, submission_id)
            acting = self._acting(session, actor)
            return rules.available_actions(acting, submission_facts(session, sub))

    def choices(self, actor: Actor, submission_id: int) -> ActionChoices:
        """Everything the action panel needs, read in one connection (services.detail)."""
        zone = self._zone()
        with self.ctx.connect() as conn:
            return detail.choices(conn, actor, detail.submission_row(conn, submission_id), zone=zone, now=self.ctx.now())

    def evaluate(self, actor: Actor, submission_id: int, action: Action,
                 inputs: ActionInputs | None = None) -> Verdict:
        """The verdict on one action, with the inputs typed so far (for dialogs that explain as you type)."""
        with self.ctx.reading() as session:
            sub = self._load(session, submission_id)
            return rules.evaluate(self._acting(session, actor), action, submission_facts(session, sub), inputs)

    def window_change_verdict(self, actor: Actor, submission_id: int) -> Verdict:
        """May `actor` change this submission's review window (not one of the state machine's actions)?"""
        with self.ctx.reading() as session:
            sub = self._load(session, submission_id)
            try:
                self._check_window_change(self._acting(session, actor), sub)
            except (PermissionDenied, TransitionNotAllowed) as refusal:
                return Verdict(False, str(refusal))
        return Verdict(True)

    def gathered_conditions(self, submission_id: int) -> tuple[finding_rules.Condition, ...]:
        """The conditions the findings impose, for a "cleared with conditions" recommendation."""
        with self.ctx.reading() as session:
            sub = self._load(session, submission_id)
            return finding_rules.gather_conditions(sub.findings)

    def supplement_packages(self, submission_id: int) -> list[PackageChoice]:
        """Supplement packages delivered for the submission, newest first."""
        with self.ctx.reading() as session:
            linked = set(session.scalars(select(InformationRequest.answer_package_id).where(
                InformationRequest.submission_id == submission_id,
                InformationRequest.answer_package_id.is_not(None))))
            rows = session.scalars(select(Package).where(
                Package.submission_id == submission_id, Package.kind == PackageKind.SUPPLEMENT.value)
                .order_by(Package.imported_at.desc(), Package.id.desc()))
            return [PackageChoice(p.id, p.package_id, p.imported_at, p.id in linked) for p in rows]

    def my_work(self, actor: Actor, *, within_days: int = DUE_SOON_DAYS) -> MyWork:
        """Assigned to me (open), awaiting my sign-off (supervisors), due within a week (mine; all for supervisors)."""
        zone = self._zone()
        today = review_clock.agency_date(self.ctx.now(), zone)
        open_states = [s.value for s in S if s.is_open]
        with self.ctx.reading() as session:
            acting = self._acting(session, actor)

            def items(rows: Sequence[Submission], note: Callable[[Submission], str] = lambda _s: "") -> tuple[
                    WorkItem, ...]:
                return tuple(WorkItem(s.id, s.reference, f"{s.model_name} {s.model_version}", s.developer.name,
                                      S(s.state), s.due_date, (s.due_date - today).days, s.paused_since is not None,
                                      note(s)) for s in rows)

            assigned = list(session.scalars(select(Submission).where(
                Submission.assignee_id == actor.user_id, Submission.state.in_(open_states))
                .order_by(Submission.due_date, Submission.id)))
            awaiting: list[Submission] = []
            if acting.role is Role.SUPERVISOR:
                for sub in session.scalars(select(Submission).where(Submission.state == S.AWAITING_SIGNOFF.value)
                                           .order_by(Submission.due_date, Submission.id)):
                    if rules.evaluate(acting, Action.APPROVE, submission_facts(session, sub)) or \
                            rules.evaluate(acting, Action.RETURN, submission_facts(session, sub)):
                        awaiting.append(sub)
            horizon = today + dt.timedelta(days=within_days)
            running = [st.value for st in S if st.clock_runs]  # a paused clock does not fall due
            soon_stmt = select(Submission).where(Submission.state.in_(running), Submission.due_date <= horizon)
            if acting.role is not Role.SUPERVISOR:
                soon_stmt = soon_stmt.where(Submission.assignee_id == actor.user_id)
            soon = list(session.scalars(soon_stmt.order_by(Submission.due_date, Submission.id)))

            def signoff_note(sub: Submission) -> str:
                verdict = rules.evaluate(acting, Action.APPROVE, submission_facts(session, sub))
                rec = _pending_recommendation(session, sub.id)
                decision = Decision(rec.decision).label if rec else ""
                return decision if verdict else f"{decision}; you can return it but not approve it: {verdict.reason}"

            def due_note(sub: Submission) -> str:
                return "" if sub.assignee_id == actor.user_id else f"assigned to {_display_name(session, sub)}"

            return MyWork(items(assigned), items(awaiting, signoff_note), items(soon, due_note))

    # == the actions =======================================================================
    def accept_and_assign(self, actor: Actor, submission_id: int, assignee_id: int, *,
                          expected_version: int | None = None) -> ActionResult:
        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            assignee = self._assignee(session, assignee_id)
            inputs = ActionInputs(assignee_id=assignee_id, assignee_role=Role(assignee.role) if assignee else None)
            target = self._require(acting, Action.ACCEPT_AND_ASSIGN, session, sub, inputs)
            assert assignee is not None  # require() refused a missing assignee
            before = {"state": sub.state, "assignee": None}
            sub.state, sub.assignee_id = target.value, assignee.id
            return before, {"state": target.value, "assignee": assignee.username}, \
                f"{sub.reference} accepted and assigned to {assignee.display_name}"

        return self._act(actor, submission_id, Action.ACCEPT_AND_ASSIGN, apply, expected_version)

    def reassign(self, actor: Actor, submission_id: int, assignee_id: int, *,
                 expected_version: int | None = None) -> ActionResult:
        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            assignee = self._assignee(session, assignee_id)
            inputs = ActionInputs(assignee_id=assignee_id, assignee_role=Role(assignee.role) if assignee else None)
            self._require(acting, Action.REASSIGN, session, sub, inputs)
            assert assignee is not None
            previous = session.get(User, sub.assignee_id) if sub.assignee_id else None
            sub.assignee_id = assignee.id
            return {"assignee": previous.username if previous else None}, {"assignee": assignee.username}, \
                f"{sub.reference} reassigned to {assignee.display_name}"

        return self._act(actor, submission_id, Action.REASSIGN, apply, expected_version)

    def refuse(self, actor: Actor, submission_id: int, reasons: Sequence[str], *,
               expected_version: int | None = None) -> ActionResult:
        cleaned = tuple(r.strip() for r in reasons if r and r.strip())

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            target = self._require(acting, Action.REFUSE, session, sub, ActionInputs(reasons=cleaned))
            before = {"state": sub.state}
            sub.state, sub.decided_at = target.value, now
            return before, {"state": target.value, "reasons": list(cleaned)}, f"{sub.reference} refused"

        return self._act(actor, submission_id, Action.REFUSE, apply, expected_version)

    def request_info(self, actor: Actor, submission_id: int, text: str, *,
                     expected_version: int | None = None, respond_by: dt.date | None = None) -> ActionResult:
        """Ask the developer for information; the review clock stops until it arrives.

        The notice gives `respond_by` as the response deadline; None means the
        `response_days` setting counted from today in the agency's calendar.
        """
        text = (text or "").strip()
        zone = self._zone()
        days = int(self.settings.get("response_days"))

        def apply(session: Session, sub: Submission, acting: RuleActor, now: dt.datetime) -> tuple[dict, dict, str]:
            target = self._require(acting, Action.REQUEST_INFO, session, sub, ActionInputs(text=text))
            today = review_clock.agency_date(now, zone)
            deadline = respond_by or today + dt.timedelta(days=days)
            if deadline <= today:
                raise InputRejected(Problem(f"the response deadline must be after today ({today.isoformat()})",
                                            field="respond_by"))
            number = 1 + (session.scalar(select(InformationRequest.number).where(
                InformationRequest.submission_id == sub.id).order_by(InformationRequest.number.desc()).limit(1)) or 0)
            session.add(InformationRequest(submission_id=sub.id, number=number, text=text,
                                           requested_by_id=acting.user_id, requested_at=now, respond_by=deadline))
            before = {"state": sub.state, "due_date": sub.due_date}
            sub.state, sub.paused_since = target.value, now
            session.flush()
            self._refresh_clock(session, sub, now)
            return before, {"state": target.value, "request": number, "text": text, "paused_since": now,
                            "due_date": sub.due_date, "respond_by": deadline}, \
                f"Information requested from {sub.developer.name} (response due {deadline.isoformat()}); " \
                f"the review clock is paused"

        return self._act(actor, submission_id, Action.REQUEST_INFO, apply, expected_version)

    def record_info_received(self, actor: Actor, submission_id: int, *, note: str = "",
                             package_id: int | None = None, expected_version: int | None = None) -> ActionResult:
        """The developer answered; optionally link the supplement package that carried the answer."""
        note = checked((note or "").strip(), "note")

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            target = self._require(acting, Action.RECORD_INFO_RECEIVED, session, sub, ActionInputs())
            package = None
            if package_id is not None:
                package = session.get(Package, package_id)
                if package is None or package.submission_id != sub.id:
                    raise InputRejected(Problem(f"is not a package of {sub.reference}", field="package"))
            open_requests = list(session.scalars(select(InformationRequest).where(
                InformationRequest.submission_id == sub.id, InformationRequest.answered_at.is_(None))))
            for request in open_requests:
                request.answered_at, request.answer_note = now, note
                request.answer_package_id = package.id if package else None
            before = {"state": sub.state, "due_date": sub.due_date, "paused_days": sub.paused_days}
            sub.state, sub.paused_since = target.value, None
            session.flush()
            self._refresh_clock(session, sub, now)
            after = {"state": target.value, "requests": [r.number for r in open_requests], "note": note,
                     "package_id": package.package_id if package else None, "due_date": sub.due_date,
                     "paused_days": sub.paused_days}
            return before, after, f"Information received; {sub.reference} is due {sub.due_date.isoformat()}"

        return self._act(actor, submission_id, Action.RECORD_INFO_RECEIVED, apply, expected_version)

    def submit_recommendation(self, actor: Actor, submission_id: int, decision: Decision | str, rationale: str,
                              conditions: Sequence[str] | None = None, *,
                              expected_version: int | None = None) -> ActionResult:
        """Recommend a decision; for "cleared with conditions" without conditions given, the findings' are used."""
        try:
            chosen: Decision | None = Decision(decision) if decision else None
        except ValueError:
            raise InputRejected(Problem(f"{decision!r} is not a decision", field="decision")) from None
        rationale = (rationale or "").strip()

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            given = conditions
            if given is None and chosen is Decision.CLEARED_WITH_CONDITIONS:
                given = [c.text for c in finding_rules.gather_conditions(sub.findings)]
            texts = tuple(c.strip() for c in (given or ()) if c and c.strip())
            inputs = ActionInputs(decision=chosen, rationale=rationale, conditions=texts)
            target = self._require(acting, Action.SUBMIT_RECOMMENDATION, session, sub, inputs)
            assert chosen is not None
            session.add(Recommendation(submission_id=sub.id, decision=chosen.value, rationale=rationale,
                                       conditions=list(texts), reviewer_id=acting.user_id, submitted_at=now,
                                       outcome="pending"))
            before = {"state": sub.state}
            sub.state = target.value
            return before, {"state": target.value, "decision": chosen.value, "rationale": rationale,
                            "conditions": list(texts)}, f"Recommendation ({chosen.label}) submitted for sign-off"

        return self._act(actor, submission_id, Action.SUBMIT_RECOMMENDATION, apply, expected_version)

    def return_with_comments(self, actor: Actor, submission_id: int, comments: str, *,
                             expected_version: int | None = None) -> ActionResult:
        comments = (comments or "").strip()

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            target = self._require(acting, Action.RETURN, session, sub, ActionInputs(comments=comments))
            rec = _pending_recommendation(session, sub.id)
            assert rec is not None  # the guard refused a return without one
            session.add(SignOff(recommendation_id=rec.id, supervisor_id=acting.user_id, action="returned",
                                comment=comments, decided_at=now))
            rec.outcome = "returned"
            before = {"state": sub.state, "decision": rec.decision}
            sub.state = target.value
            return before, {"state": target.value, "comments": comments}, \
                f"Recommendation returned to the reviewer; {sub.reference} is in review again"

        return self._act(actor, submission_id, Action.RETURN, apply, expected_version)

    def withdraw(self, actor: Actor, submission_id: int, reason: str, *,
                 expected_version: int | None = None) -> ActionResult:
        """Record that the developer withdrew the submission."""
        reason = (reason or "").strip()

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            target = self._require(acting, Action.WITHDRAW, session, sub, ActionInputs(reason=reason))
            rec = _pending_recommendation(session, sub.id)
            if rec is not None:
                rec.outcome = "withdrawn"
            before = {"state": sub.state}
            if sub.paused_since is not None:  # the clock stops for good; the open request stays unanswered
                sub.paused_since = None
            sub.state, sub.decided_at = target.value, now
            return before, {"state": target.value, "reason": reason}, f"{sub.reference} withdrawn by the developer"

        return self._act(actor, submission_id, Action.WITHDRAW, apply, expected_version)

    def change_window(self, actor: Actor, submission_id: int, days: int, reason: str, *,
                      expected_version: int | None = None) -> ActionResult:
        """Change this submission's review window (the reason is required and audited)."""
        checked(reason or "", "reason")

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            self._check_window_change(acting, sub)
            change = review_clock.validate_window_change(review_clock.WindowChange(days, reason), sub.window_days)
            before = {"window_days": sub.window_days, "due_date": sub.due_date}
            sub.window_days, sub.window_reason = change.days, change.reason
            self._refresh_clock(session, sub, now)
            return before, {"window_days": change.days, "reason": change.reason, "due_date": sub.due_date}, \
                f"Review window is now {change.days} days; due {sub.due_date.isoformat()}"

        return self._act(actor, submission_id, WINDOW_CHANGE, apply, expected_version)

    def approve(self, actor: Actor, submission_id: int, *, password: str, comment: str = "",
                issue: IssueCallback | None = None, letter_reasons: str = "") -> ActionResult:
        """Sign off the pending recommendation: re-authenticate, check, record, then issue the letter.

        The rules are checked before the password (a refused approval costs no sign-in
        attempt) and again inside the transaction. `issue(session, submission)` runs in
        that transaction after the approval's audit event, so the letter carries it as
        the chain head; if it raises, the approval is rolled back with it. `letter_reasons`
        are the reasons as the supervisor approved them for the letter ("" = the rationale).
        Without a callback, or when it registers no letter signed by the approver, nothing
        is approved: a submission is ISSUED only with its signed, registered letter.
        """
        with self.ctx.reading() as session:
            sub = self._load(session, submission_id)
            reference = sub.reference
            try:
                rules.require(self._acting(session, actor), Action.APPROVE, submission_facts(session, sub))
            except (PermissionDenied, TransitionNotAllowed) as refusal:
                error = refusal
            else:
                error = None if issue is not None else TransitionNotAllowed(_NO_LETTER.format(reference=reference))
        if error is not None:
            self._audit_refusal(actor, reference, Action.APPROVE.audit_name, error)
            raise error
        self.users.reauthenticate(actor, password)
        comment = checked((comment or "").strip(), "comment")
        letter_reasons = checked((letter_reasons or "").strip(), "letter_reasons")
        issued: list[Any] = []

        def apply(session: Session, sub: Submission, acting: Actor, now: dt.datetime) -> tuple[dict, dict, str]:
            target = self._require(acting, Action.APPROVE, session, sub, ActionInputs())
            rec = _pending_recommendation(session, sub.id)
            assert rec is not None
            session.add(SignOff(recommendation_id=rec.id, supervisor_id=acting.user_id, action="approved",
                                comment=comment, decided_at=now, letter_reasons=letter_reasons))
            rec.outcome = "approved"
            before = {"state": sub.state}
            sub.state, sub.decided_at = target.value, now
            after = {"state": target.value, "decision": rec.decision,
                     "recommended_by": _username(session, rec.reviewer_id), "comment": comment}
            if letter_reasons and letter_reasons != rec.rationale.strip():
                after["letter_reasons"] = letter_reasons
            return before, after, \
                f"{sub.reference} approved ({Decision(rec.decision).label})"

        def after_audit(session: Session, sub: Submission) -> None:
            approval_seq = audit.head(session)[0]
            assert issue is not None
            issued.append(issue(session, sub))
            _require_signed_letter(session, sub, actor, approval_seq)

        result = self._act(actor, submission_id, Action.APPROVE, apply, None, after_audit=after_audit)
        return ActionResult(result.submission_id, result.reference, result.action, result.state, result.message,
                            issued[0] if issued else None)

    # == machinery =========================================================================
    def _act(self, actor: Actor, submission_id: int, action: Action | str,
             apply: Callable[[Session, Submission, Actor, dt.datetime], tuple[dict, dict, str]],
             expected_version: int | None, *,
             after_audit: Callable[[Session, Submission], None] | None = None) -> ActionResult:
        name = action.audit_name if isinstance(action, Action) else f"submission.{action}"
        now = self.ctx.now()
        try:
            with self.ctx.transaction() as session:
                sub = self._load(session, submission_id, for_update=True)
                if expected_version is not None and sub.version_id != expected_version:
                    raise _conflict(session, sub)
                try:
                    acting = self._acting(session, actor)
                    before, after, message = apply(session, sub, acting, now)
                except (PermissionDenied, TransitionNotAllowed) as refusal:
                    raise _Refused(refusal, sub.reference, name) from refusal
                sub.updated_at, sub.updated_by = now, actor.username
                session.flush()
                audit.record(session, actor=actor.username, action=name, entity_type="submission",
                             entity_id=sub.reference, before=before, after=after, now=now)
                if after_audit is not None:
                    after_audit(session, sub)
                result = ActionResult(sub.id, sub.reference, name, S(sub.state), message)
        except _Refused as refused:
            self._audit_refusal(actor, refused.reference, refused.attempted, refused.error)
            raise refused.error from None
        except StaleDataError:
            with self.ctx.reading() as session:
                raise _conflict(session, self._load(session, submission_id)) from None
        return result

    def _audit_refusal(self, actor: Actor, reference: str, attempted: str,
                       error: PermissionDenied | TransitionNotAllowed) -> None:
        audit.record_refusal(self.ctx, actor=actor.username, attempted=attempted, entity_type="submission",
                             entity_id=reference, reason=str(error))

    def _require(self, acting: Actor, action: Action, session: Session, sub: Submission,
                 inputs: ActionInputs) -> SubmissionState:
        return rules.require(acting, action, submission_facts(session, sub), inputs)

    @staticmethod
    def _load(session: Session, submission_id: int, *, for_update: bool = False) -> Submission:
        stmt = select(Submission).where(Submission.id == submission_id)
        if for_update:
            # OF submissions: PostgreSQL cannot lock the outer-joined developer row (SQLite ignores it)
            stmt = stmt.with_for_update(of=Submission)
        sub = session.scalar(stmt)
        if sub is None:
            raise NotFound(f"no submission with id {submission_id}")
        return sub

    @staticmethod
    def _acting(session: Session, actor: Actor) -> Actor:
        """The actor as stored now: a deactivated account or a changed role takes effect at once."""
        user = session.get(User, actor.user_id)
        if user is None or not user.active:
            raise AccountInactive()
        return Actor(user.id, user.username, Role(user.role), user.display_name)

    @staticmethod
    def _assignee(session: Session, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise InputRejected(Problem("choose an active reviewer or supervisor", field="assignee_id"))
        return user

    @staticmethod
    def _check_window_change(acting: Actor, sub: Submission) -> None:
        rules.require_window_change(acting, rules.SubmissionFacts(S(sub.state), sub.assignee_id))

    def _zone(self) -> str:
        return str(self.settings.get("agency_time_zone"))

    def _refresh_clock(self, session: Session, sub: Submission, now: dt.datetime) -> None:
        """Recompute the stored due date and paused days from the requests (the pauses)."""
        clock = review_clock_for(session, sub, self._zone())
        status = review_clock.status(clock, now)
        sub.due_date, sub.paused_days = status.due_date, status.paused_days


# == helpers shared with the findings service ================================================


def _in_transaction(session: Session) -> Connection:
    """The session's connection, with its pending changes flushed: the Core reads in
    services.detail then see this transaction as the ORM's own queries would."""
    session.flush()
    return session.connection()


def review_clock_for(session: Session, sub: Submission, zone: str) -> review_clock.ReviewClock:
    return detail.review_clock_for(_in_transaction(session), sub, zone)


def _pending_recommendation(session: Session, submission_id: int) -> Recommendation | None:
    return session.scalar(select(Recommendation).where(
        Recommendation.submission_id == submission_id, Recommendation.outcome == "pending")
        .order_by(Recommendation.id.desc()).limit(1))


def _display_name(session: Session, sub: Submission) -> str:
    if sub.assignee_id is None:
        return "nobody yet"
    return session.scalar(select(User.display_name).where(User.id == sub.assignee_id)) or "?"


def _username(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.username).where(User.id == user_id)) if user_id else None


def finding_contributors(session: Session, submission_id: int) -> frozenset[int]:
    return detail.finding_contributors(_in_transaction(session), submission_id)


def submission_facts(session: Session, sub: Submission) -> SubmissionFacts:
    """The rules' view of a submission, read in the caller's transaction (services.detail)."""
    return detail.submission_facts(_in_transaction(session), sub)


def _conflict(session: Session, sub: Submission) -> ConcurrentEdit:
    name = session.scalar(select(User.display_name).where(User.username == sub.updated_by)) or sub.updated_by
    return ConcurrentEdit(sub.reference, name or None, f"{sub.updated_at:%Y-%m-%d %H:%M} UTC")


__all__ = ["ActionChoices", "ActionResult", "IssueCallback", "MyWork", "PackageChoice", "WorkItem", "WorkflowService",
           "finding_contributors", "review_clock_for", "submission_facts"]
