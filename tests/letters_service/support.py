"""Moving a submission to where a letter can be issued, and reading letters back.

The workflow service (issue 4) owns the transitions. Until it is importable, these
helpers write the same rows it would (recommendation pending, state AWAITING_SIGNOFF;
on approval: sign-off, outcome, state ISSUED, audit event, then the letter callback in
the same transaction), so the letter service is tested against the agreed contract.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from repo_support import pdf_text, run_checker  # noqa: F401  (re-exported for the letters tests)
from desktop_app.domain.types import Decision, SubmissionState
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.intake import IntakeService
from desktop_app.services.users import UserService
from desktop_app.storage.models import Finding, InformationRequest, Recommendation, SignOff, Submission

PASSWORD = "correct horse battery staple 7"
PASSPHRASE = "clearance-demo"
HAS_WORKFLOW = importlib.util.find_spec("desktop_app.services.workflow") is not None


def due_dates(ctx: ServiceContext, days: int = 90) -> dt.date:
    """The due date a supervisor enters at sign-off for every condition: `days` after the agency's today."""
    from desktop_app.services.conditions import ConditionsService

    return ConditionsService(ctx).today() + dt.timedelta(days=days)


def import_sample(ctx: ServiceContext, actor: Actor, samples_dir: Path, name: str = "northwind-orca-3.1") -> int:
    return IntakeService(ctx).import_package(actor, samples_dir / name).submission_id


def variant_package(samples_dir: Path, folder: Path, package_id: str, *, version: str = "3.1.1",
                    kind: str = "new", refers_to: str | None = None) -> Path:
    """The Orca sample under another package id and version (a new package, or a resubmission)."""
    target = folder / package_id
    shutil.copytree(samples_dir / "northwind-orca-3.1", target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest.update(package_id=package_id, kind=kind)
    if refers_to:
        manifest["refers_to"] = refers_to
    manifest["model"]["version"] = version
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return target


def resubmission_package(samples_dir: Path, folder: Path, *, package_id: str = "NW-2026-0042-R1") -> Path:
    """The Orca sample again, as a resubmission of NW-2026-0042 (version 3.1.1)."""
    return variant_package(samples_dir, folder, package_id, kind="resubmission", refers_to="NW-2026-0042")


def add_finding(ctx: ServiceContext, submission_id: int, author: Actor, title: str, severity: str,
                status: str = "Mitigated", category: str = "cyber.exploit-dev", *, releasable: bool = False) -> None:
    """A finding; `releasable` ones reach the developer's letter (the appendix)."""
    with ctx.transaction() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        number = sub.next_finding_number
        sub.next_finding_number = number + 1
        session.add(Finding(submission_id=submission_id, number=number, title=title, category=category,
                            severity=severity, status=status, author_id=author.user_id, created_at=ctx.now(),
                            updated_at=ctx.now(), releasable=releasable))


def to_awaiting_signoff(ctx: ServiceContext, submission_id: int, reviewer: Actor, decision: Decision,
                        conditions: tuple[str, ...] = ()) -> None:
    """Accepted, assigned to `reviewer`, recommendation submitted by them."""
    if HAS_WORKFLOW:
        from desktop_app.services.workflow import WorkflowService

        workflow = WorkflowService(ctx)
        workflow.accept_and_assign(reviewer, submission_id, reviewer.user_id)
        workflow.submit_recommendation(reviewer, submission_id, decision, "Evaluated against the cyber range.",
                                       list(conditions))
        return
    with ctx.transaction() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        sub.assignee_id = reviewer.user_id
        sub.state = SubmissionState.AWAITING_SIGNOFF.value
        session.add(Recommendation(submission_id=submission_id, decision=decision.value, rationale="Evaluated.",
                                   conditions=list(conditions), reviewer_id=reviewer.user_id,
                                   submitted_at=ctx.now()))
        audit.record(session, actor=reviewer.username, action="submission.submit_recommendation",
                     entity_type="submission", entity_id=sub.reference, after={"decision": decision.value},
                     now=ctx.now())


def to_state(ctx: ServiceContext, submission_id: int, actor: Actor, state: SubmissionState, **after: Any) -> None:
    """Refused (with reasons) or awaiting information (with an open request)."""
    if HAS_WORKFLOW:
        from desktop_app.services.workflow import WorkflowService

        workflow = WorkflowService(ctx)
        if state is SubmissionState.REFUSED:
            workflow.refuse(actor, submission_id, after["reasons"])
        else:
            workflow.accept_and_assign(actor, submission_id, actor.user_id)
            workflow.request_info(actor, submission_id, after["text"])
        return
    with ctx.transaction() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        sub.state = state.value
        if state is SubmissionState.AWAITING_INFO:
            session.add(InformationRequest(submission_id=submission_id, number=1, text=after["text"],
                                           requested_by_id=actor.user_id, requested_at=ctx.now()))
        action = "submission.refuse" if state is SubmissionState.REFUSED else "submission.request_info"
        audit.record(session, actor=actor.username, action=action, entity_type="submission",
                     entity_id=sub.reference, after=after, now=ctx.now())


def contract_approver(ctx: ServiceContext):  # noqa: ANN201
    """WorkflowService.approve as agreed with issue 4, for when that service is not importable."""
    from desktop_app.domain.workflow import Action, SubmissionFacts, require

    def approve(actor: Actor, submission_id: int, *, password: str, comment: str = "", issue: Any = None) -> None:
        UserService(ctx).reauthenticate(actor, password)
        with ctx.transaction() as session:
            sub = session.get(Submission, submission_id)
            assert sub is not None
            rec = session.scalar(select(Recommendation).where(Recommendation.submission_id == submission_id,
                                                             Recommendation.outcome == "pending"))
            authors = frozenset(session.scalars(select(Finding.author_id).where(Finding.submission_id == sub.id)))
            facts = SubmissionFacts(state=SubmissionState(sub.state), assignee_id=sub.assignee_id,
                                    recommender_id=rec.reviewer_id if rec else None,
                                    pending_decision=Decision(rec.decision) if rec else None,
                                    finding_author_ids=authors)
            target = require(actor, Action.APPROVE, facts)
            assert rec is not None
            session.add(SignOff(recommendation_id=rec.id, supervisor_id=actor.user_id, action="approved",
                                comment=comment, decided_at=ctx.now()))
            rec.outcome = "approved"
            sub.state = target.value
            sub.decided_at = ctx.now()
            audit.record(session, actor=actor.username, action="submission.approve", entity_type="submission",
                         entity_id=sub.reference, before={"state": "AWAITING_SIGNOFF"},
                         after={"state": target.value}, now=ctx.now())
            if issue is not None:
                issue(session, sub)

    return approve


def letter_service(ctx: ServiceContext):  # noqa: ANN201
    from desktop_app.services.letters import LetterService

    return LetterService(ctx) if HAS_WORKFLOW else LetterService(ctx, approver=contract_approver(ctx))


