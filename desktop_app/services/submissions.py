"""Reading one submission whole (the detail pane) and registering one by hand.

Returns plain frozen dataclasses: the UI never sees ORM objects or sessions.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from desktop_app.domain.errors import NotFound
from desktop_app.domain.types import Severity, SubmissionState
from desktop_app.services.context import ServiceContext
from desktop_app.storage import tables
from desktop_app.storage.models import (
    Artifact,
    AuditEvent,
    Evidence,
    Finding,
    InformationRequest,
    Letter,
    LetterRevocation,
    Package,
    Recommendation,
    Submission,
    SignOff,
    User,
)


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


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    ids.discard(None)  # type: ignore[arg-type]
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))}


def _decode(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


class SubmissionService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def id_for_reference(self, reference: str) -> int:
        with self.ctx.reading() as session:
            found = session.scalar(select(Submission.id).where(Submission.reference == reference))
            if found is None:
                raise NotFound(f"no submission {reference}")
            return found

    def detail(self, submission_id: int) -> SubmissionDetail:
        with self.ctx.reading() as session:
            sub = session.scalar(
                select(Submission).where(Submission.id == submission_id).options(
                    selectinload(Submission.packages), selectinload(Submission.artifacts),
                    selectinload(Submission.findings).selectinload(Finding.evidence)))
            if sub is None:
                raise NotFound(f"no submission with id {submission_id}")
            requests = list(session.scalars(select(InformationRequest).where(
                InformationRequest.submission_id == sub.id).order_by(InformationRequest.number)))
            recs = list(session.scalars(select(Recommendation).where(
                Recommendation.submission_id == sub.id).order_by(Recommendation.id)))
            signoffs = {o.recommendation_id: o for o in session.scalars(select(SignOff).where(
                SignOff.recommendation_id.in_([r.id for r in recs])).order_by(SignOff.id))}
            letters = list(session.scalars(select(Letter).where(Letter.submission_id == sub.id).order_by(Letter.id)))
            revoked = {r.letter_id: r.reason for r in session.scalars(select(LetterRevocation).where(
                LetterRevocation.letter_id.in_([letter.id for letter in letters])))}
            successors = {old: new for old, new in session.execute(select(Letter.supersedes_id, Letter.number).where(
                Letter.supersedes_id.in_([letter.id for letter in letters])))}
            user_ids = {sub.assignee_id or 0, *(f.author_id for f in sub.findings),
                        *(e.attached_by_id for f in sub.findings for e in f.evidence),
                        *(r.requested_by_id for r in requests), *(r.reviewer_id for r in recs),
                        *(o.supervisor_id for o in signoffs.values()),
                        *(letter.signer_id or 0 for letter in letters)}
            names = _names(session, user_ids)
            package_names = {p.id: p.package_id for p in sub.packages}
            artifact_paths = {a.id: a.path for a in sub.artifacts}
            previous = (session.scalar(select(Submission.reference).where(Submission.id == sub.previous_submission_id))
                        if sub.previous_submission_id else None)
            first_package = sub.packages[0] if sub.packages else None
            dev = sub.developer
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
                due_date=sub.due_date, package_ids=tuple(p.package_id for p in sub.packages),
                manifest_sha256=first_package.manifest_sha256 if first_package else None,
                artifacts=tuple(ArtifactInfo(a.id, a.path, a.kind, a.bytes, a.sha256, a.description, a.verified_at,
                                             package_names.get(a.package_row_id or 0, ""), a.added_by_hand)
                                for a in sub.artifacts),
                findings=tuple(_finding_info(f, names, artifact_paths) for f in sub.findings),
                requests=tuple(RequestInfo(r.id, r.number, r.text, names.get(r.requested_by_id, ""), r.requested_at,
                                           r.answered_at, r.answer_note) for r in requests),
                recommendations=tuple(_recommendation_info(r, names, signoffs.get(r.id)) for r in recs),
                letters=tuple(LetterInfo(letter.id, letter.number, letter.kind, letter.decision, letter.pdf_sha256,
                                         letter.issued_at, names.get(letter.signer_id or 0, ""), letter.id in revoked,
                                         revoked.get(letter.id, ""), successors.get(letter.id))
                              for letter in letters),
                previous_reference=previous,
            )

    def history(self, submission_id: int) -> list[HistoryEntry]:
        """Every audit event about the submission and the records inside it, oldest first."""
        with self.ctx.reading() as session:
            sub = session.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission with id {submission_id}")
            finding_ids = [str(i) for i in session.scalars(select(Finding.id).where(Finding.submission_id == sub.id))]
            evidence_ids = [str(i) for i in session.scalars(
                select(Evidence.id).join(Finding).where(Finding.submission_id == sub.id))]
            evidence_ids += detached_evidence_ids(session, finding_ids)
            condition_ids = [f"{number}#{n}" for number, n in session.execute(
                select(Letter.number, tables.conditions.c.number).join(
                    tables.conditions, tables.conditions.c.letter_id == Letter.id)
                .where(tables.conditions.c.submission_id == sub.id))]
            stmt = select(AuditEvent).where(or_(
                (AuditEvent.entity_type == "condition") & AuditEvent.entity_id.in_(condition_ids),
                (AuditEvent.entity_type == "submission") & (AuditEvent.entity_id == sub.reference),
                (AuditEvent.entity_type == "finding") & AuditEvent.entity_id.in_(finding_ids),
                (AuditEvent.entity_type == "evidence") & AuditEvent.entity_id.in_(evidence_ids),
                (AuditEvent.entity_type == "letter") & AuditEvent.entity_id.in_(
                    select(Letter.number).where(Letter.submission_id == sub.id)),
            )).order_by(AuditEvent.seq)
            events = list(session.scalars(stmt))
            names = {username: name for username, name in session.execute(
                select(User.username, User.display_name).where(User.username.in_({e.actor for e in events})))}
            return [HistoryEntry(e.seq, e.occurred_at, e.actor, e.action, e.entity_type, e.entity_id,
                                 _decode(e.before), _decode(e.after), names.get(e.actor) or "")
                    for e in events]

    def package_ids_of(self, submission_id: int) -> list[str]:
        with self.ctx.reading() as session:
            return list(session.scalars(select(Package.package_id).where(Package.submission_id == submission_id)))

    def artifact_blob(self, artifact_id: int) -> tuple[str, str, int]:
        """(path, sha256, size) of an artifact, for the viewer and "Save a copy…"."""
        with self.ctx.reading() as session:
            artifact = session.get(Artifact, artifact_id)
            if artifact is None:
                raise NotFound(f"no artifact with id {artifact_id}")
            return artifact.path, artifact.sha256, artifact.bytes


def _finding_info(f: Finding, names: dict[int, str], artifact_paths: dict[int, str]) -> FindingInfo:
    return FindingInfo(
        id=f.id, number=f.number, title=f.title, category=f.category, severity=Severity(f.severity), status=f.status,
        description=f.description, condition=f.condition, author_id=f.author_id, author=names.get(f.author_id, ""),
        created_at=f.created_at, updated_at=f.updated_at, updated_by=f.updated_by, version=f.version_id,
        evidence=tuple(EvidenceInfo(e.id, e.kind, e.title, e.original_name, e.blob_sha256, e.size, e.artifact_id,
                                    artifact_paths.get(e.artifact_id or 0, ""), e.locator, e.produced_at,
                                    e.attached_at, names.get(e.attached_by_id, "")) for e in f.evidence),
        releasable=f.releasable,
    )


TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".json", ".log", ".csv", ".yaml", ".yml", ".jsonl"}
TEXT_VIEW_LIMIT = 2 * 1024 * 1024


@dataclass(frozen=True)
class ArtifactText:
    path: str
    text: str
    truncated: bool
    is_markdown: bool


def safe_file_name(name: str, *, default: str = "artifact", limit: int = 150) -> str:
    """A package- or user-supplied name reduced to one harmless, printable path component.

    Used both for display (artifacts and evidence added by hand) and for "Save a copy…".
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if (c.isprintable() and c not in '/\\:*?"<>|\x00') else "_" for c in base)
    return cleaned.strip(" .")[:limit] or default


def is_text_artifact(path: str) -> bool:
    lowered = path.lower()
    return any(lowered.endswith(suffix) for suffix in TEXT_SUFFIXES)


class ArtifactFiles:
    """Reading artifacts for the in-app viewer and exporting copies; nothing is executed."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.submissions = SubmissionService(ctx)

    def read_text(self, artifact_id: int) -> ArtifactText:
        from desktop_app.domain.errors import InputRejected, Problem

        path, sha256, size = self.submissions.artifact_blob(artifact_id)
        if not is_text_artifact(path):
            raise InputRejected(Problem("is not a text artifact (Markdown, JSON or plain text); use Save a copy…",
                                        file=path))
        with self.ctx.blobs.open(sha256) as handle:
            data = handle.read(TEXT_VIEW_LIMIT)
        if b"\x00" in data:
            raise InputRejected(Problem("contains binary data and is not shown", file=path))
        text = data.decode("utf-8", errors="replace")
        if path.lower().endswith(".json") and size <= TEXT_VIEW_LIMIT:
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        return ArtifactText(path, text, size > TEXT_VIEW_LIMIT, path.lower().endswith((".md", ".markdown")))

    def save_copy(self, artifact_id: int, folder: Path) -> Path:
        """Copy the stored blob to `folder` under a sanitised name; never overwrites."""
        path, sha256, _size = self.submissions.artifact_blob(artifact_id)
        return self.ctx.blobs.export(sha256, Path(folder), safe_file_name(path))


def detached_evidence_ids(session: Session, finding_ids: list[str]) -> list[str]:
    """Ids of evidence once attached to these findings and detached since (their rows are gone;
    the detach events on the findings remember them), so histories still show their events."""
    found = []
    for before in session.scalars(select(AuditEvent.before).where(
            AuditEvent.entity_type == "finding", AuditEvent.entity_id.in_(finding_ids),
            AuditEvent.action == "evidence.detach")):
        evidence_id = json.loads(before).get("evidence_id") if before else None
        if isinstance(evidence_id, int):
            found.append(str(evidence_id))
    return found


def _recommendation_info(rec: Recommendation, names: dict[int, str], signoff: SignOff | None) -> RecommendationInfo:
    return RecommendationInfo(
        rec.id, rec.decision, rec.rationale, tuple(rec.conditions or ()), rec.reviewer_id,
        names.get(rec.reviewer_id, ""), rec.submitted_at, rec.outcome,
        names.get(signoff.supervisor_id, "") if signoff else "", signoff.decided_at if signoff else None,
        signoff.comment if signoff else "")
