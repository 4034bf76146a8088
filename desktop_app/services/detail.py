"""One submission as the detail pane shows it: its record, its history and the actions offered.

Read with Core in one connection, never with the ORM: the detail pane is the first thing
after the queue a reviewer waits for, at start-up and on every click, and importing and
configuring the ORM costs ~250 ms that this read does not need. The same facts feed the
workflow service's checks (`submission_facts`, `review_clock_for`), so what the pane
offers and what a change accepts are decided from one reading of the rows.

The functions take a Core `Connection` (or anything with its `execute`/`scalar`/`scalars`)
and a submission "row": a Core row of `tables.submissions` or the ORM's `Submission`,
which maps the same columns under the same names.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, or_, select

from desktop_app.domain import clock as review_clock
from desktop_app.domain import workflow as rules
from desktop_app.domain.errors import NotFound, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.findings import FindingFacts
from desktop_app.domain.types import Decision, Severity, SubmissionState
from desktop_app.domain.workflow import Action, SubmissionFacts, Verdict
from desktop_app.services.context import Actor, current_actor
from desktop_app.storage import tables

# == what the pane shows ========================================================================


@dataclass(frozen=True)
class ArtifactInfo:
    id: int
    path: str
    kind: str
    bytes: int
    sha256: str
    description: str
    verified_at: dt.datetime
    package_id: str
    added_by_hand: bool


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    kind: str
    title: str
    original_name: str
    blob_sha256: str | None
    size: int | None
    artifact_id: int | None
    artifact_path: str
    locator: str
    produced_at: dt.datetime | None
    attached_at: dt.datetime
    attached_by: str


@dataclass(frozen=True)
class FindingInfo:
    id: int
    number: int
    title: str
    category: str
    severity: Severity
    status: str
    description: str
    condition: str
    author_id: int
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime
    updated_by: str
    version: int
    evidence: tuple[EvidenceInfo, ...] = ()
    #: marked releasable to the developer: it appears in letters and notices
    releasable: bool = False

    @property
    def label(self) -> str:
        return f"F-{self.number}"


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    occurred_at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor_name: str = ""  # the actor's full name when the actor is an account ("" for "system")


@dataclass(frozen=True)
class LetterInfo:
    id: int
    number: str
    kind: str
    decision: str | None
    pdf_sha256: str
    issued_at: dt.datetime
    signer: str
    revoked: bool
    revocation_reason: str
    superseded_by: str | None


@dataclass(frozen=True)
class RequestInfo:
    id: int
    number: int
    text: str
    requested_by: str
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    answer_note: str


@dataclass(frozen=True)
class RecommendationInfo:
    id: int
    decision: str
    rationale: str
    conditions: tuple[str, ...]
    reviewer_id: int
    reviewer: str
    submitted_at: dt.datetime
    outcome: str
    #: The supervisor's sign-off (approved or returned), when there is one: who, when, their comment.
    signed_off_by: str = ""
    signed_off_at: dt.datetime | None = None
    signoff_comment: str = ""


@dataclass(frozen=True)
class SubmissionDetail:
    id: int
    reference: str
    state: SubmissionState
    version: int
    developer_name: str
    developer_address: str
    contact_name: str
    contact_email: str
    contact_phone: str
    model_name: str
    model_version: str
    model_family: str
    modalities: tuple[str, ...]
    deployment: tuple[str, ...]
    parameters_billion: float | None
    intended_release: dt.date | None
    description: str
    claims: dict[str, Any]
    submitted_at: dt.datetime | None
    received_at: dt.datetime
    registered_by_hand: bool
    assignee_id: int | None
    assignee: str
    window_days: int
    paused_days: int
    paused_since: dt.datetime | None
    due_date: dt.date
    package_ids: tuple[str, ...]
    manifest_sha256: str | None
    artifacts: tuple[ArtifactInfo, ...]
    findings: tuple[FindingInfo, ...]
    requests: tuple[RequestInfo, ...]
    recommendations: tuple[RecommendationInfo, ...]
    letters: tuple[LetterInfo, ...]
    previous_reference: str | None

    @property
    def model_label(self) -> str:
        return f"{self.model_name} {self.model_version}"

    @property
    def pending_recommendation(self) -> RecommendationInfo | None:
        return next((r for r in reversed(self.recommendations) if r.outcome == "pending"), None)


@dataclass(frozen=True)
class ActionChoices:
    """What the detail pane offers: every action's verdict, the window change's, and the clock."""

    verdicts: dict[Action, Verdict]
    window: Verdict
    clock: review_clock.ClockStatus | None  # None once the submission is closed
    paused_since: dt.datetime | None = None

    def allowed(self, action: Action) -> bool:
        return bool(self.verdicts.get(action))


class SubmissionRow(Protocol):
    """The columns of a submission the rules read: a Core row or the ORM's `Submission`."""

    id: int
    state: str
    assignee_id: int | None
    received_at: dt.datetime
    window_days: int
    paused_since: dt.datetime | None
    intended_release: dt.date | None


# == the rules' facts (shared with the workflow service's checks) ===============================


def submission_facts(conn: Connection, sub: SubmissionRow) -> SubmissionFacts:
    """The rules' view of a submission, read in the caller's transaction."""
    rec = tables.recommendations.c
    pending = conn.execute(select(rec.reviewer_id, rec.decision).where(
        rec.submission_id == sub.id, rec.outcome == "pending").order_by(rec.id.desc()).limit(1)).first()
    f = tables.findings.c
    findings = tuple(FindingFacts.of(row) for row in conn.execute(
        select(f.severity, f.status, f.number).where(f.submission_id == sub.id).order_by(f.number)))
    return SubmissionFacts(
        state=SubmissionState(sub.state), assignee_id=sub.assignee_id,
        recommender_id=pending.reviewer_id if pending else None,
        pending_decision=Decision(pending.decision) if pending else None,
        finding_author_ids=finding_contributors(conn, sub.id), findings=findings)


def finding_contributors(conn: Connection, submission_id: int) -> frozenset[int]:
    """Everyone who wrote or changed a finding on the submission, or attached evidence to one.

    Authors and evidence come from the rows; later editors from the findings' audit events.
    """
    f, e, a, u = tables.findings.c, tables.evidence.c, tables.audit_events.c, tables.users.c
    finding_rows = conn.execute(select(f.id, f.author_id).where(f.submission_id == submission_id)).all()
    if not finding_rows:
        return frozenset()
    ids = {author for _fid, author in finding_rows}
    finding_ids = [fid for fid, _author in finding_rows]
    ids.update(conn.scalars(select(e.attached_by_id).where(e.finding_id.in_(finding_ids))))
    editors = set(conn.scalars(select(a.actor).where(
        a.entity_type == "finding", a.entity_id.in_([str(i) for i in finding_ids])).distinct()))
    if editors:
        ids.update(conn.scalars(select(u.id).where(u.username.in_(editors))))
    return frozenset(ids)


def review_clock_for(conn: Connection, sub: SubmissionRow, zone: str) -> review_clock.ReviewClock:
    """The submission's review clock: its window and the information requests that paused it."""
    r = tables.information_requests.c
    pauses = tuple(review_clock.Pause(start, end) for start, end in conn.execute(
        select(r.requested_at, r.answered_at).where(r.submission_id == sub.id).order_by(r.number)))
    if sub.paused_since is None:  # a withdrawn submission's unanswered request no longer pauses anything
        pauses = tuple(p for p in pauses if p.end is not None)
    return review_clock.ReviewClock(sub.received_at, sub.window_days, pauses, zone)


def choices(conn: Connection, actor: Actor, sub: SubmissionRow, *, zone: str, now: dt.datetime) -> ActionChoices:
    """Every action's verdict for `actor` as stored now, the window change's, and the clock."""
    try:
        acting = current_actor(conn, actor)
    except PermissionDenied as gone:  # deactivated meanwhile: show nothing to do, and why
        verdicts = {action: Verdict(False, str(gone)) for action in Action}
        window = Verdict(False, str(gone))
    else:
        verdicts = rules.available_actions(acting, submission_facts(conn, sub))
        try:
            rules.require_window_change(acting, SubmissionFacts(SubmissionState(sub.state), sub.assignee_id))
            window = Verdict(True)
        except (PermissionDenied, TransitionNotAllowed) as refusal:
            window = Verdict(False, str(refusal))
    status = (review_clock.status(review_clock_for(conn, sub, zone), now, sub.intended_release)
              if SubmissionState(sub.state).is_open else None)
    return ActionChoices(verdicts, window, status, sub.paused_since)


# == the record and its history =================================================================


def submission_row(conn: Connection, submission_id: int) -> Any:
    """The submission's row (every column), or NotFound."""
    row = conn.execute(select(tables.submissions).where(tables.submissions.c.id == submission_id)).first()
    if row is None:
        raise NotFound(f"no submission with id {submission_id}")
    return row


def user_names(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    u = tables.users.c
    return {i: n for i, n in conn.execute(select(u.id, u.display_name).where(u.id.in_(wanted)))}


def read_detail(conn: Connection, sub: Any) -> SubmissionDetail:
    """The whole submission from its row: developer, packages, artifacts, findings with their
    evidence, requests, recommendations with their sign-offs, letters (each in id order)."""
    t = tables
    dev = conn.execute(select(t.developers).where(t.developers.c.id == sub.developer_id)).one()
    packages = conn.execute(select(t.packages.c.id, t.packages.c.package_id, t.packages.c.manifest_sha256)
                            .where(t.packages.c.submission_id == sub.id).order_by(t.packages.c.id)).all()
    artifacts = conn.execute(select(t.artifacts).where(t.artifacts.c.submission_id == sub.id)
                             .order_by(t.artifacts.c.id)).all()
    findings = conn.execute(select(t.findings).where(t.findings.c.submission_id == sub.id)
                            .order_by(t.findings.c.number)).all()
    evidence: dict[int, list[Any]] = {}
    if findings:
        for row in conn.execute(select(t.evidence).where(t.evidence.c.finding_id.in_([f.id for f in findings]))
                                .order_by(t.evidence.c.id)):
            evidence.setdefault(row.finding_id, []).append(row)
    requests = conn.execute(select(t.information_requests).where(t.information_requests.c.submission_id == sub.id)
                            .order_by(t.information_requests.c.number)).all()
    recs = conn.execute(select(t.recommendations).where(t.recommendations.c.submission_id == sub.id)
                        .order_by(t.recommendations.c.id)).all()
    signoffs = {o.recommendation_id: o for o in conn.execute(select(t.signoffs).where(
        t.signoffs.c.recommendation_id.in_([r.id for r in recs])).order_by(t.signoffs.c.id))} if recs else {}
    letters = conn.execute(select(t.letters.c.id, t.letters.c.number, t.letters.c.kind, t.letters.c.decision,
                                  t.letters.c.pdf_sha256, t.letters.c.issued_at, t.letters.c.signer_id)
                           .where(t.letters.c.submission_id == sub.id).order_by(t.letters.c.id)).all()
    letter_ids = [letter.id for letter in letters]
    revoked = {letter_id: reason for letter_id, reason in conn.execute(select(
        t.letter_revocations.c.letter_id, t.letter_revocations.c.reason).where(
        t.letter_revocations.c.letter_id.in_(letter_ids)))} if letters else {}
    successors = {old: new for old, new in conn.execute(select(t.letters.c.supersedes_id, t.letters.c.number).where(
        t.letters.c.supersedes_id.in_(letter_ids)))} if letters else {}
    names = user_names(conn, [sub.assignee_id, *(f.author_id for f in findings),
                              *(e.attached_by_id for rows in evidence.values() for e in rows),
                              *(r.requested_by_id for r in requests), *(r.reviewer_id for r in recs),
                              *(o.supervisor_id for o in signoffs.values()), *(letter.signer_id for letter in letters)])
    package_names = {p.id: p.package_id for p in packages}
    artifact_paths = {a.id: a.path for a in artifacts}
    previous = (conn.scalar(select(t.submissions.c.reference).where(t.submissions.c.id == sub.previous_submission_id))
                if sub.previous_submission_id else None)
    return SubmissionDetail(
        id=sub.id, reference=sub.reference, state=SubmissionState(sub.state), version=sub.version_id,
        developer_name=dev.name, developer_address=dev.address, contact_name=dev.contact_name,
        contact_email=dev.contact_email, contact_phone=dev.contact_phone,
        model_name=sub.model_name, model_version=sub.model_version, model_family=sub.model_family,
        modalities=tuple(sub.modalities or ()), deployment=tuple(sub.deployment or ()),
        parameters_billion=sub.parameters_billion, intended_release=sub.intended_release,
        description=sub.description, claims=dict(sub.claims or {}), submitted_at=sub.submitted_at,
        received_at=sub.received_at, registered_by_hand=sub.registered_by_hand,
        assignee_id=sub.assignee_id, assignee=names.get(sub.assignee_id or 0, ""),
        window_days=sub.window_days, paused_days=sub.paused_days, paused_since=sub.paused_since,
        due_date=sub.due_date, package_ids=tuple(p.package_id for p in packages),
        manifest_sha256=packages[0].manifest_sha256 if packages else None,
        artifacts=tuple(ArtifactInfo(a.id, a.path, a.kind, a.bytes, a.sha256, a.description, a.verified_at,
                                     package_names.get(a.package_row_id or 0, ""), a.added_by_hand)
                        for a in artifacts),
        findings=tuple(finding_info(f, evidence.get(f.id, ()), names, artifact_paths) for f in findings),
        requests=tuple(RequestInfo(r.id, r.number, r.text, names.get(r.requested_by_id, ""), r.requested_at,
                                   r.answered_at, r.answer_note) for r in requests),
        recommendations=tuple(_recommendation_info(r, names, signoffs.get(r.id)) for r in recs),
        letters=tuple(LetterInfo(letter.id, letter.number, letter.kind, letter.decision, letter.pdf_sha256,
                                 letter.issued_at, names.get(letter.signer_id or 0, ""), letter.id in revoked,
                                 revoked.get(letter.id, ""), successors.get(letter.id))
                      for letter in letters),
        previous_reference=previous,
    )


def finding_info(f: Any, evidence: Iterable[Any], names: dict[int, str], artifact_paths: dict[int, str]) -> FindingInfo:
    """A finding and its evidence as the pane shows them (from Core rows or ORM objects)."""
    return FindingInfo(
        id=f.id, number=f.number, title=f.title, category=f.category, severity=Severity(f.severity), status=f.status,
        description=f.description, condition=f.condition, author_id=f.author_id, author=names.get(f.author_id, ""),
        created_at=f.created_at, updated_at=f.updated_at, updated_by=f.updated_by, version=f.version_id,
        evidence=tuple(EvidenceInfo(e.id, e.kind, e.title, e.original_name, e.blob_sha256, e.size, e.artifact_id,
                                    artifact_paths.get(e.artifact_id or 0, ""), e.locator, e.produced_at,
                                    e.attached_at, names.get(e.attached_by_id, "")) for e in evidence),
        releasable=f.releasable,
    )


def _recommendation_info(rec: Any, names: dict[int, str], signoff: Any) -> RecommendationInfo:
    return RecommendationInfo(
        rec.id, rec.decision, rec.rationale, tuple(rec.conditions or ()), rec.reviewer_id,
        names.get(rec.reviewer_id, ""), rec.submitted_at, rec.outcome,
        names.get(signoff.supervisor_id, "") if signoff else "", signoff.decided_at if signoff else None,
        signoff.comment if signoff else "")


def read_history(conn: Connection, sub: Any, shown: SubmissionDetail | None = None) -> list[HistoryEntry]:
    """Every audit event about the submission and the records inside it, oldest first.

    `shown`, the detail read in the same connection, names its findings and evidence.
    """
    t = tables
    if shown is not None:
        finding_ids = [str(f.id) for f in shown.findings]
        evidence_ids = [str(e.id) for f in shown.findings for e in f.evidence]
    else:
        finding_ids = [str(i) for i in conn.scalars(
            select(t.findings.c.id).where(t.findings.c.submission_id == sub.id))]
        evidence_ids = [str(i) for i in conn.scalars(select(t.evidence.c.id).join(
            t.findings, t.findings.c.id == t.evidence.c.finding_id).where(t.findings.c.submission_id == sub.id))]
    evidence_ids += detached_evidence_ids(conn, finding_ids)
    condition_ids = [f"{number}#{n}" for number, n in conn.execute(
        select(t.letters.c.number, t.conditions.c.number).join(
            t.conditions, t.conditions.c.letter_id == t.letters.c.id)
        .where(t.conditions.c.submission_id == sub.id))]
    a = t.audit_events.c
    events = conn.execute(select(a.seq, a.occurred_at, a.actor, a.action, a.entity_type, a.entity_id, a.before,
                                 a.after).where(or_(
        (a.entity_type == "condition") & a.entity_id.in_(condition_ids),
        (a.entity_type == "submission") & (a.entity_id == sub.reference),
        (a.entity_type == "finding") & a.entity_id.in_(finding_ids),
        (a.entity_type == "evidence") & a.entity_id.in_(evidence_ids),
        (a.entity_type == "letter") & a.entity_id.in_(
            select(t.letters.c.number).where(t.letters.c.submission_id == sub.id)),
    )).order_by(a.seq)).all()
    u = t.users.c
    names = {username: name for username, name in conn.execute(
        select(u.username, u.display_name).where(u.username.in_({e.actor for e in events})))}
    return [HistoryEntry(e.seq, e.occurred_at, e.actor, e.action, e.entity_type, e.entity_id,
                         _decode(e.before), _decode(e.after), names.get(e.actor) or "")
            for e in events]


def detached_evidence_ids(conn: Connection, finding_ids: list[str]) -> list[str]:
    """Ids of evidence once attached to these findings and detached since (their rows are gone;
    the detach events on the findings remember them), so histories still show their events."""
    a = tables.audit_events.c
    found = []
    for before in conn.scalars(select(a.before).where(
            a.entity_type == "finding", a.entity_id.in_(finding_ids), a.action == "evidence.detach")):
        evidence_id = json.loads(before).get("evidence_id") if before else None
        if isinstance(evidence_id, int):
            found.append(str(evidence_id))
    return found


def _decode(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)
