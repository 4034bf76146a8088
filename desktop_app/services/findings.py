"""Findings and their evidence: create, edit, withdraw, attach files, cite artifacts, versions.

Every saved change writes an audit event with the values before and after it, so the
finding as it stood after any event can be rebuilt from the trail (`version_at`).
Creation records every field; an edit records only the fields it changed (and the
version numbers on both sides); evidence events name their finding.

Edits carry the version the user loaded. A save against an older version is refused
with ConcurrentEdit naming who changed the finding and when, never merged or
overwritten; SQLAlchemy's version counter catches the race the explicit check cannot
see (two writers between read and write on PostgreSQL).

The submission's queue columns (open findings, highest open severity) change in the
same transaction as the finding that moves them.

Evidence files go to the blob store under their SHA-256 (staged, then promoted just
before the commit, and taken back if the commit fails); the file's own name is kept
only for display, sanitised. When the evidence was produced is recorded separately
from when it was attached.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from desktop_app.domain import findings as rules
from desktop_app.domain import workflow as workflow_rules
from desktop_app.domain.errors import (
    AccountInactive,
    ConcurrentEdit,
    InputRejected,
    NotFound,
    PermissionDenied,
    Problem,
    TransitionNotAllowed,
)
from desktop_app.domain.findings import Category, FindingDraft
from desktop_app.domain.text import checked
from desktop_app.domain.types import FindingStatus, Role
from desktop_app.domain.workflow import Action
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.taxonomy import categories, category_title
from desktop_app.services.submissions import (
    EvidenceInfo,
    FindingInfo,
    _finding_info,
    detached_evidence_ids,
    safe_file_name,
)
from desktop_app.services.workflow import submission_facts
from desktop_app.storage.blobstore import StagingArea
from desktop_app.storage.models import Artifact, AuditEvent, Evidence, Finding, FindingLink, Submission, User

if TYPE_CHECKING:
    from desktop_app.services.eval_evidence import LogRef

EVIDENCE_TITLE_MAX = 300
LOCATOR_MAX = 300
WITHDRAW_REASON_MAX = 2_000
#: The fields of a finding users edit, in the order the editor shows them.
FIELDS = ("title", "category", "severity", "status", "description", "condition", "releasable")


@dataclass(frozen=True)
class EvidenceSnapshot:
    """Evidence as the audit trail recorded it when it was attached."""

    id: int
    kind: str
    title: str
    original_name: str = ""
    sha256: str | None = None
    artifact: str = ""
    locator: str = ""
    produced_at: str | None = None
    attached_at: str = ""
    attached_by: str = ""


@dataclass(frozen=True)
class FindingVersion:
    """A finding as it stood right after one audit event."""

    finding_id: int
    seq: int
    occurred_at: str
    actor: str
    action: str
    version: int
    number: int
    values: dict[str, str]
    evidence: tuple[EvidenceSnapshot, ...] = ()
    changed: tuple[str, ...] = ()
    note: str = ""

    @property
    def label(self) -> str:
        return rules.label(self.number)

    def draft(self) -> FindingDraft:
        return FindingDraft(**{name: self.values.get(name, "") for name in FIELDS})


@dataclass
class _Replay:
    number: int = 0
    version: int = 0
    values: dict[str, str] = field(default_factory=dict)
    evidence: list[EvidenceSnapshot] = field(default_factory=list)


def _snapshot(finding: Finding) -> dict[str, str]:
    """The fields as audit values: text, and the releasable flag as "yes" or "no"."""
    values = {name: getattr(finding, name) for name in FIELDS}
    return {name: ("yes" if value else "no") if isinstance(value, bool) else (value or "")
            for name, value in values.items()}


class FindingService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # == reading ===========================================================================
    @staticmethod
    def categories() -> tuple[Category, ...]:
        return categories()

    def get(self, finding_id: int) -> FindingInfo:
        with self.ctx.reading() as session:
            return self._info(session, self._finding(session, finding_id))

    def evidence_file(self, evidence_id: int) -> tuple[str, str, int]:
        """(display name, sha256, size) of an attached file."""
        with self.ctx.reading() as session:
            row = session.get(Evidence, evidence_id)
            if row is None or row.kind != "file" or not row.blob_sha256:
                raise NotFound(f"no attached file with id {evidence_id}")
            return row.original_name or row.title, row.blob_sha256, row.size or 0

    def save_evidence_copy(self, evidence_id: int, folder: Path) -> Path:
        """Copy an attached file out of the blob store under its sanitised name; never overwrites."""
        name, sha256, _size = self.evidence_file(evidence_id)
        return self.ctx.blobs.export(sha256, Path(folder), safe_file_name(name, default="file"))

    # == changing findings =================================================================
    def create(self, actor: Actor, submission_id: int, draft: FindingDraft) -> FindingInfo:
        """A new finding, numbered F-n after every number the submission ever used."""
        now = self.ctx.now()
        with self._refusals_audited(actor, "finding.create", submission_id=submission_id) as note:
            with self.ctx.transaction() as session:
                sub = self._submission(session, submission_id)
                note(sub.reference)
                acting = _acting(session, actor)
                workflow_rules.require(acting, Action.ADD_FINDING, submission_facts(session, sub))
                finding = self._add_finding(session, sub, acting, actor, draft, now)
                audit.record(session, actor=actor.username, action="finding.create", entity_type="finding",
                             entity_id=finding.id, now=now,
                             after={"submission": sub.reference, "number": rules.label(finding.number),
                                    **_snapshot(finding), "version": finding.version_id})
                return self._info(session, finding)

    def carry_over(self, actor: Actor, submission_id: int, earlier_finding_id: int) -> FindingInfo:
        """A new, open finding on a resubmission that continues a finding of an earlier
        submission in its chain, linked to it (finding_links) and audited as carried over."""
        now = self.ctx.now()
        with self._refusals_audited(actor, "finding.carry_over", submission_id=submission_id) as note:
            with self.ctx.transaction() as session:
                sub = self._submission(session, submission_id)
                note(sub.reference)
                acting = _acting(session, actor)
                workflow_rules.require(acting, Action.ADD_FINDING, submission_facts(session, sub))
                earlier = self._finding(session, earlier_finding_id)
                if earlier.submission_id not in _earlier_submissions(session, sub):
                    raise InputRejected(Problem(f"{earlier.label} belongs to {earlier.submission.reference}, which is "
                                                f"not an earlier submission of {sub.reference}", field="finding"))
                already = session.scalar(select(Finding).join(FindingLink, FindingLink.finding_id == Finding.id).where(
                    FindingLink.carried_from_id == earlier.id, Finding.submission_id == sub.id))
                if already is not None:
                    raise InputRejected(Problem(f"{earlier.submission.reference} {earlier.label} was already carried "
                                                f"over as {already.label}", field="finding"))
                draft = FindingDraft(title=earlier.title, category=earlier.category, severity=earlier.severity,
                                     status=FindingStatus.OPEN.value, description=earlier.description,
                                     condition=earlier.condition)
                finding = self._add_finding(session, sub, acting, actor, draft, now)
                session.add(FindingLink(finding_id=finding.id, carried_from_id=earlier.id, linked_at=now,
                                        linked_by_id=acting.user_id))
                session.flush()
                audit.record(session, actor=actor.username, action="finding.carry_over", entity_type="finding",
                             entity_id=finding.id, now=now,
                             after={"submission": sub.reference, "number": rules.label(finding.number),
                                    **_snapshot(finding), "version": finding.version_id,
                                    "carried_from": f"{earlier.submission.reference} {earlier.label}",
                                    "carried_from_id": earlier.id})
                return self._info(session, finding)

    def _add_finding(self, session: Session, sub: Submission, acting: Actor, actor: Actor, draft: FindingDraft,
                     now: dt.datetime) -> Finding:
        valid = rules.validate_draft(draft, _category_ids())
        existing = session.scalars(select(Finding.number).where(Finding.submission_id == sub.id))
        number = rules.next_number(existing, counter=sub.next_finding_number)
        finding = Finding(submission_id=sub.id, number=number, title=valid.title, category=valid.category,
                          severity=valid.severity.value, status=valid.status.value,
                          description=valid.description, condition=valid.condition, releasable=valid.releasable,
                          author_id=acting.user_id, created_at=now, updated_at=now,
                          updated_by=actor.username)
        session.add(finding)
        sub.next_finding_number = number + 1
        session.flush()
        self._summarise(session, sub, actor, now)
        return finding

    def edit(self, actor: Actor, finding_id: int, draft: FindingDraft, *, expected_version: int) -> FindingInfo:
        """Save changed fields; refused with ConcurrentEdit if the finding moved past `expected_version`."""
        return self._change(actor, finding_id, expected_version, "finding.edit",
                            lambda current, number: rules.validate_draft(draft, _category_ids(), current=current,
                                                                         number=number))

    def withdraw(self, actor: Actor, finding_id: int, reason: str, *, expected_version: int) -> FindingInfo:
        """Withdraw a finding (final: it keeps its number and is never changed again)."""
        reason = (reason or "").strip()
        if not reason:
            raise InputRejected(Problem("say why the finding is withdrawn", field="reason"))
        if len(reason) > WITHDRAW_REASON_MAX:
            raise InputRejected(Problem(f"at most {WITHDRAW_REASON_MAX} characters", field="reason"))

        def withdrawn(current: FindingStatus, number: int) -> rules.ValidFinding | None:
            rules.check_status_change(current, FindingStatus.WITHDRAWN, number)
            return None

        return self._change(actor, finding_id, expected_version, "finding.withdraw", withdrawn, reason=reason)

    def _change(self, actor: Actor, finding_id: int, expected_version: int, action: str,
                validate: Callable[[FindingStatus, int], rules.ValidFinding | None], *,
                reason: str = "") -> FindingInfo:
        now = self.ctx.now()
        try:
            with self._refusals_audited(actor, action, finding_id=finding_id) as note:
                with self.ctx.transaction() as session:
                    finding = self._finding(session, finding_id)
                    sub = finding.submission
                    note(sub.reference)
                    if finding.version_id != expected_version:
                        raise _conflict(session, finding)
                    acting = _acting(session, actor)
                    workflow_rules.require(acting, Action.EDIT_FINDINGS, submission_facts(session, sub))
                    valid = validate(FindingStatus(finding.status), finding.number)
                    before_values = _snapshot(finding)
                    if valid is None:
                        finding.status = FindingStatus.WITHDRAWN.value
                    else:
                        if valid.status is FindingStatus.WITHDRAWN:
                            raise InputRejected(Problem("withdraw a finding with Withdraw…, which records why",
                                                        field="status"), subject=finding.label)
                        rules.check_status_change(FindingStatus(finding.status), valid.status, finding.number)
                        for name in FIELDS:
                            value = getattr(valid, name)
                            setattr(finding, name, value.value if hasattr(value, "value") else value)
                    after_values = _snapshot(finding)
                    changed = [name for name in FIELDS if before_values[name] != after_values[name]]
                    if not changed:
                        return self._info(session, finding)
                    old_version = finding.version_id
                    finding.updated_at, finding.updated_by = now, actor.username
                    session.flush()
                    self._summarise(session, sub, actor, now)
                    before = {name: before_values[name] for name in changed} | {"version": old_version}
                    after = {name: after_values[name] for name in changed} | {"version": finding.version_id}
                    if reason:
                        after["reason"] = reason
                    audit.record(session, actor=actor.username, action=action, entity_type="finding",
                                 entity_id=finding.id, before=before, after=after, now=now)
                    return self._info(session, finding)
        except StaleDataError:
            with self.ctx.reading() as session:
                raise _conflict(session, self._finding(session, finding_id)) from None

    # == evidence ===========================================================================
    def attach_file(self, actor: Actor, finding_id: int, path: Path, *, title: str = "",
                    produced_at: dt.datetime | None = None) -> EvidenceInfo:
        """Store a file in the blob store and attach it to the finding."""
        path = Path(path)
        if not path.is_file() or path.is_symlink():
            raise InputRejected(Problem("is not a regular file", file=str(path)))
        with path.open("rb") as handle:
            return self.attach_stream(actor, finding_id, handle, name=path.name, title=title, produced_at=produced_at)

    def attach_bytes(self, actor: Actor, finding_id: int, data: bytes, *, name: str, title: str = "",
                     produced_at: dt.datetime | None = None) -> EvidenceInfo:
        return self.attach_stream(actor, finding_id, io.BytesIO(data), name=name, title=title,
                                  produced_at=produced_at)

    def attach_stream(self, actor: Actor, finding_id: int, source: BinaryIO, *, name: str, title: str = "",
                      produced_at: dt.datetime | None = None) -> EvidenceInfo:
        shown = safe_file_name(name, default="file", limit=EVIDENCE_TITLE_MAX)
        title = _evidence_title(title or shown)
        produced = _produced(produced_at, self.ctx.now())
        with self.ctx.blobs.staging() as area:
            blob = area.write_stream(source)

            def add(session: Session, finding: Finding, acting: Actor, now: dt.datetime) -> Evidence:
                return Evidence(finding_id=finding.id, kind="file", title=title, blob_sha256=blob.sha256,
                                original_name=shown, size=blob.size, produced_at=produced, attached_at=now,
                                attached_by_id=acting.user_id)

            return self._add_evidence(actor, finding_id, "evidence.attach_file", add, area)

    def cite_artifact(self, actor: Actor, finding_id: int, artifact_id: int, *, locator: str = "",
                      title: str = "", produced_at: dt.datetime | None = None) -> EvidenceInfo:
        """Cite a submitted artifact (optionally a page, sample id or line) as evidence."""
        locator = self._sample_locator(artifact_id, " ".join((locator or "").split()))
        if len(locator) > LOCATOR_MAX:
            raise InputRejected(Problem(f"at most {LOCATOR_MAX} characters", field="locator"))
        produced = _produced(produced_at, self.ctx.now())

        def add(session: Session, finding: Finding, acting: Actor, now: dt.datetime) -> Evidence:
            artifact = session.get(Artifact, artifact_id)
            if artifact is None or artifact.submission_id != finding.submission_id:
                raise InputRejected(Problem(f"is not an artifact of {finding.submission.reference}",
                                            field="artifact"))
            return Evidence(finding_id=finding.id, kind="artifact",
                            title=_evidence_title(title or artifact.path), artifact_id=artifact.id,
                            original_name="", locator=locator, produced_at=produced, attached_at=now,
                            attached_by_id=acting.user_id)

        return self._add_evidence(actor, finding_id, "evidence.cite_artifact", add, None)

    def cite_eval_sample(self, actor: Actor, finding_id: int, artifact_id: int, sample_id: str, *, epoch: int = 1,
                         title: str = "") -> EvidenceInfo:
        """Cite one sample of an evaluation-log artifact as `eval:<artifact>#<sample-id>`."""
        return self.cite_artifact(actor, finding_id, artifact_id, locator=f"#{sample_id}"
                                  + (f"@{epoch}" if epoch != 1 else ""), title=title)

    def cite_sample(self, actor: Actor, finding_id: int, log: LogRef, sample_id: str, *, epoch: int = 1,
                    title: str = "") -> EvidenceInfo:
        """Cite one sample of a log, whether a submitted artifact or a file attached to a finding."""
        if log.kind == "artifact":
            return self.cite_eval_sample(actor, finding_id, log.id, sample_id, epoch=epoch, title=title)
        return self.cite_file_sample(actor, finding_id, log.id, sample_id, epoch=epoch, title=title)

    def cite_file_sample(self, actor: Actor, finding_id: int, evidence_id: int, sample_id: str, *, epoch: int = 1,
                         title: str = "") -> EvidenceInfo:
        """Cite one sample of a log attached to a finding of the submission as a file.

        The citation is evidence of its own, holding the same stored file (nothing is copied)
        with the locator `eval:file:<SHA-256, 12 hex>/<name>#<sample-id>`, so it resolves and
        opens like a cited artifact sample even if the attachment it came from is detached.
        """
        from desktop_app.services import evallog  # here, as in `_sample_locator`: the log reader loads on use
        from desktop_app.services.eval_evidence import EvalEvidence, LogRef

        sample_id = (sample_id or "").strip()
        if not sample_id:
            raise InputRejected(Problem("choose a sample of the log", field="sample"))
        with self.ctx.reading() as session:
            source = session.get(Evidence, evidence_id)
            if source is None or source.kind != "file" or not source.blob_sha256:
                raise NotFound(f"no attached file with id {evidence_id}")
            name = source.original_name or source.title
        if not evallog.looks_like_eval_log(name):
            raise InputRejected(Problem("is not an Inspect evaluation log (.eval or .json)", file=name))
        logs = EvalEvidence(self.ctx)
        try:
            logs.check_sample(LogRef("evidence", evidence_id), sample_id, epoch)
        finally:
            logs.close()

        def add(session: Session, finding: Finding, acting: Actor, now: dt.datetime) -> Evidence:
            attached = session.get(Evidence, evidence_id)
            holder = session.get(Finding, attached.finding_id) if attached is not None else None
            if attached is None or holder is None or holder.submission_id != finding.submission_id:
                raise InputRejected(Problem(f"is not a log attached to a finding of {finding.submission.reference}",
                                            field="log"))
            assert attached.blob_sha256 is not None  # checked above; the blob of a row never changes
            locator = evallog.citation(evallog.file_reference(attached.blob_sha256, name), sample_id, epoch)
            if len(locator) > LOCATOR_MAX:
                raise InputRejected(Problem(f"at most {LOCATOR_MAX} characters", field="locator"))
            return Evidence(finding_id=finding.id, kind="file", title=_evidence_title(title or f"{name} #{sample_id}"),
                            blob_sha256=attached.blob_sha256, original_name=attached.original_name,
                            size=attached.size, locator=locator, produced_at=attached.produced_at, attached_at=now,
                            attached_by_id=acting.user_id)

        return self._add_evidence(actor, finding_id, "evidence.cite_sample", add, None)

    def _sample_locator(self, artifact_id: int, locator: str) -> str:
        """A locator that names an evaluation sample (`eval:<path>#<id>`, or `#<id>` on a log)
        is checked against the log and written out in full; any other locator is kept as typed."""
        from desktop_app.services import evallog  # here: the detail pane imports this module, not the log reader
        from desktop_app.services.eval_evidence import EvalEvidence, LogRef

        with self.ctx.reading() as session:
            artifact = session.get(Artifact, artifact_id)
            path = artifact.path if artifact is not None else ""
        if not path or not evallog.looks_like_eval_log(path):
            return locator
        if locator.startswith("#"):
            locator = f"eval:{path}{locator}"
        cited = evallog.parse_citation(locator)
        if cited is None:
            return locator
        cited_path, sample_id, epoch = cited
        if cited_path != path:
            raise InputRejected(Problem(f"cites {cited_path}, not the chosen artifact {path}", field="locator"))
        logs = EvalEvidence(self.ctx)
        try:
            logs.check_sample(LogRef("artifact", artifact_id), sample_id, epoch)
        finally:
            logs.close()
        return evallog.citation(path, sample_id, epoch)

    def _add_evidence(self, actor: Actor, finding_id: int, action: str,
                      make: Callable[[Session, Finding, Actor, dt.datetime], Evidence],
                      area: StagingArea | None) -> EvidenceInfo:
        now = self.ctx.now()
        with self._refusals_audited(actor, action, finding_id=finding_id) as note:
            try:
                with self.ctx.transaction() as session:
                    finding = self._finding(session, finding_id)
                    note(finding.submission.reference)
                    acting = _acting(session, actor)
                    workflow_rules.require(acting, Action.EDIT_FINDINGS, submission_facts(session, finding.submission))
                    if finding.status == FindingStatus.WITHDRAWN.value:
                        rules.check_status_change(FindingStatus.WITHDRAWN, FindingStatus.WITHDRAWN, finding.number)
                    row = make(session, finding, acting, now)
                    session.add(row)
                    session.flush()
                    artifact = session.get(Artifact, row.artifact_id) if row.artifact_id else None
                    audit.record(session, actor=actor.username, action=action, entity_type="evidence",
                                 entity_id=row.id, now=now, after={
                                     "finding_id": finding.id, "finding": finding.label, "kind": row.kind,
                                     "title": row.title, "original_name": row.original_name,
                                     "sha256": row.blob_sha256 or (artifact.sha256 if artifact else None),
                                     "size": row.size, "artifact": artifact.path if artifact else "",
                                     "locator": row.locator, "produced_at": row.produced_at})
                    if area is not None:
                        area.promote()
                    info = self._info(session, finding)
                    return next(e for e in info.evidence if e.id == row.id)
            except BaseException:
                if area is not None:
                    area.rollback_promotion()
                raise

    def detach_evidence(self, actor: Actor, evidence_id: int, reason: str) -> FindingInfo:
        """Take evidence attached by mistake off its finding, while the finding may still be edited.

        The same rules as attaching decide (edit findings on this submission, the finding
        not withdrawn), re-checked in the transaction. The row goes; the audit event, on the
        finding, keeps what the evidence was (title, kind, hash), so the History and the
        finding's versions still show it; a stored file stays in the blob store.
        """
        reason = " ".join((reason or "").split())
        if not reason:
            raise InputRejected(Problem("say why the evidence is detached", field="reason"))
        if len(reason) > WITHDRAW_REASON_MAX:
            raise InputRejected(Problem(f"at most {WITHDRAW_REASON_MAX} characters", field="reason"))
        with self.ctx.reading() as session:
            finding_id = session.scalar(select(Evidence.finding_id).where(Evidence.id == evidence_id))
        if finding_id is None:
            raise NotFound(f"no evidence with id {evidence_id}")
        now = self.ctx.now()
        with self._refusals_audited(actor, "evidence.detach", finding_id=finding_id) as note:
            with self.ctx.transaction() as session:
                row = session.get(Evidence, evidence_id)
                if row is None:
                    raise NotFound(f"no evidence with id {evidence_id}")
                finding = self._finding(session, row.finding_id)
                note(finding.submission.reference)
                acting = _acting(session, actor)
                workflow_rules.require(acting, Action.EDIT_FINDINGS, submission_facts(session, finding.submission))
                if finding.status == FindingStatus.WITHDRAWN.value:
                    rules.check_status_change(FindingStatus.WITHDRAWN, FindingStatus.WITHDRAWN, finding.number)
                artifact = session.get(Artifact, row.artifact_id) if row.artifact_id else None
                before = {"evidence_id": row.id, "finding": finding.label, "kind": row.kind, "title": row.title,
                          "original_name": row.original_name,
                          "sha256": row.blob_sha256 or (artifact.sha256 if artifact else None),
                          "artifact": artifact.path if artifact else "", "locator": row.locator}
                session.delete(row)
                session.flush()
                audit.record(session, actor=actor.username, action="evidence.detach", entity_type="finding",
                             entity_id=finding.id, before=before, after={"reason": reason}, now=now)
                session.expire(finding, ["evidence"])
                return self._info(session, finding)

    # == versions ===========================================================================
    def versions(self, finding_id: int) -> list[FindingVersion]:
        """The finding after each of its audit events (and its evidence's), oldest first."""
        with self.ctx.reading() as session:
            finding = self._finding(session, finding_id)
            evidence_ids = [str(e.id) for e in finding.evidence] + detached_evidence_ids(session, [str(finding_id)])
            events = list(session.scalars(select(AuditEvent).where(or_(
                (AuditEvent.entity_type == "finding") & (AuditEvent.entity_id == str(finding_id)),
                (AuditEvent.entity_type == "evidence") & AuditEvent.entity_id.in_(evidence_ids),
            )).order_by(AuditEvent.seq)))
        return list(_replay(finding_id, events))

    def version_at(self, finding_id: int, seq: int) -> FindingVersion:
        """The finding as it stood right after audit event `seq`."""
        found: FindingVersion | None = None
        for version in self.versions(finding_id):
            if version.seq > seq:
                break
            found = version
        if found is None:
            raise NotFound(f"finding {finding_id} did not exist at event {seq}")
        return found

    # == machinery ==========================================================================
    @staticmethod
    def _finding(session: Session, finding_id: int) -> Finding:
        finding = session.scalar(select(Finding).where(Finding.id == finding_id)
                                 .options(selectinload(Finding.evidence)))
        if finding is None:
            raise NotFound(f"no finding with id {finding_id}")
        return finding

    @staticmethod
    def _submission(session: Session, submission_id: int) -> Submission:
        sub = session.get(Submission, submission_id)
        if sub is None:
            raise NotFound(f"no submission with id {submission_id}")
        return sub

    @staticmethod
    def _info(session: Session, finding: Finding) -> FindingInfo:
        session.refresh(finding, ["evidence"])
        users = {finding.author_id, *(e.attached_by_id for e in finding.evidence)}
        names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(users))).all())
        paths = dict(session.execute(select(Artifact.id, Artifact.path).where(
            Artifact.submission_id == finding.submission_id)).all())
        return _finding_info(finding, names, paths)

    @staticmethod
    def _summarise(session: Session, sub: Submission, actor: Actor, now: dt.datetime) -> None:
        """Keep the queue's columns right: open findings and the worst open severity."""
        summary = rules.summarize(session.scalars(select(Finding).where(Finding.submission_id == sub.id)))
        sub.open_findings, sub.highest_open_severity = summary.open_count, summary.highest_rank
        sub.updated_at, sub.updated_by = now, actor.username

    def _refusals_audited(self, actor: Actor, attempted: str, *, submission_id: int | None = None,
                          finding_id: int | None = None) -> _RefusalGuard:
        return _RefusalGuard(self.ctx, actor, attempted,
                             f"finding {finding_id}" if finding_id is not None else f"submission {submission_id}")


class _RefusalGuard:
    """Audits a PermissionDenied or TransitionNotAllowed after the refused transaction rolled back.

    Used as `with guard as note:`; `note(reference)` names the submission once it is known.
    """

    def __init__(self, ctx: ServiceContext, actor: Actor, attempted: str, fallback: str) -> None:
        self.ctx, self.actor, self.attempted, self.reference = ctx, actor, attempted, fallback

    def __enter__(self) -> Callable[[str], None]:
        def note(reference: str) -> None:
            self.reference = reference

        return note

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> None:
        if isinstance(error, (PermissionDenied, TransitionNotAllowed)):
            audit.record_refusal(self.ctx, actor=self.actor.username, attempted=self.attempted,
                                 entity_type="submission", entity_id=self.reference, reason=str(error))


def _replay(finding_id: int, events: list[AuditEvent]) -> Iterator[FindingVersion]:
    state = _Replay()
    for event in events:
        after: dict[str, Any] = json.loads(event.after) if event.after else {}
        changed: tuple[str, ...] = ()
        note = ""
        if event.action == "evidence.detach":
            before: dict[str, Any] = json.loads(event.before) if event.before else {}
            state.evidence = [e for e in state.evidence if e.id != before.get("evidence_id")]
            note = f"evidence detached: {before.get('title', '')}" + (
                f" ({after['reason']})" if after.get("reason") else "")
        elif event.entity_type == "finding":
            if event.action in ("finding.create", "finding.carry_over"):
                state.number = rules.parse_label(str(after.get("number", "F-0"))) if after.get("number") else 0
                state.values = {name: str(after.get(name, "")) for name in FIELDS}
                changed = FIELDS
            else:
                changed = tuple(name for name in FIELDS if name in after)
                state.values = {**state.values, **{name: str(after[name]) for name in changed}}
                note = str(after.get("reason", ""))
            state.version = int(after.get("version", state.version))
        else:
            state.evidence.append(EvidenceSnapshot(
                id=int(event.entity_id), kind=str(after.get("kind", "")), title=str(after.get("title", "")),
                original_name=str(after.get("original_name") or ""), sha256=after.get("sha256"),
                artifact=str(after.get("artifact") or ""), locator=str(after.get("locator") or ""),
                produced_at=after.get("produced_at"), attached_at=event.occurred_at, attached_by=event.actor))
            note = f"evidence attached: {after.get('title', '')}"
        yield FindingVersion(finding_id, event.seq, event.occurred_at, event.actor, event.action, state.version,
                             state.number, dict(state.values), tuple(state.evidence), changed, note)


def _acting(session: Session, actor: Actor) -> Actor:
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise AccountInactive()
    return Actor(user.id, user.username, Role(user.role), user.display_name)


def _earlier_submissions(session: Session, sub: Submission, limit: int = 100) -> list[int]:
    """The ids of the submissions `sub` resubmits, nearest first (the chain is short; the
    limit guards against a cycle in damaged data)."""
    found: list[int] = []
    previous = sub.previous_submission_id
    while previous is not None and previous not in found and len(found) < limit:
        found.append(previous)
        previous = session.scalar(select(Submission.previous_submission_id).where(Submission.id == previous))
    return found


def _category_ids() -> frozenset[str]:
    return frozenset(c.id for c in categories())


def _conflict(session: Session, finding: Finding) -> ConcurrentEdit:
    name = session.scalar(select(User.display_name).where(User.username == finding.updated_by))
    return ConcurrentEdit(f"{finding.label} on {finding.submission.reference}", name or finding.updated_by or None,
                          f"{finding.updated_at:%Y-%m-%d %H:%M} UTC")


def _evidence_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InputRejected(Problem("give the evidence a title", field="title"))
    checked(title, "title", multiline=False)
    if len(title) > EVIDENCE_TITLE_MAX:
        raise InputRejected(Problem(f"at most {EVIDENCE_TITLE_MAX} characters", field="title"))
    return title


def _produced(produced_at: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    if produced_at is None:
        return None
    if produced_at.tzinfo is None:
        raise InputRejected(Problem("must carry a time zone", field="produced_at"))
    if produced_at > now + dt.timedelta(minutes=5):
        raise InputRejected(Problem("lies in the future", field="produced_at"))
    return produced_at.astimezone(dt.UTC)


__all__ = ["Category", "EvidenceSnapshot", "FindingDraft", "FindingService", "FindingVersion", "categories",
           "category_title"]
