"""Conditions after clearance as use cases: open them at sign-off, follow them up, close them.

Each numbered condition of an issued CLEARED WITH CONDITIONS letter is a row with an
owner, a due date, a status and evidence (files hashed into the blob store, or the
artifacts of a supplement package that cites the condition). Every change re-reads the
acting user's role and active flag in its own transaction, asks `domain.conditions`,
and writes its audit event (entity "condition", id "CL-…#n") in that transaction; a
refusal is audited in its own transaction after the refused one rolled back.

Closing the last unresolved condition as met (every other one met or waived) issues the
signed "conditions met" notice through the letters service: the status change and the
letter commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from desktop_app.domain import clock as review_clock
from desktop_app.domain import conditions as rules
from desktop_app.domain.conditions import (
    ActingUser,
    ConditionAction,
    ConditionFacts,
    ConditionInputs,
    ConditionStatus,
    ConditionVerdict,
)
from desktop_app.domain.errors import (
    AccountInactive,
    ConcurrentEdit,
    InputRejected,
    NotFound,
    PermissionDenied,
    Problem,
    TransitionNotAllowed,
)
from desktop_app.domain.types import LetterKind, Role
from desktop_app.services import audit
from desktop_app.services.condition_signoff import ConditionPlan, plan_for_signoff
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.settings import SettingsService
from desktop_app.services.submissions import safe_file_name
from desktop_app.storage.blobstore import StagingArea
from desktop_app.storage.models import (
    Artifact,
    Condition,
    ConditionEvidence,
    Letter,
    LetterRevocation,
    Package,
    Submission,
    User,
)

if TYPE_CHECKING:
    from desktop_app.services.letters import AnyKey, IssuedLetter

EVIDENCE_TITLE_MAX = 300
S = ConditionStatus


@dataclass(frozen=True)
class ConditionEvidenceInfo:
    id: int
    kind: str  # "file" or "artifact"
    title: str
    original_name: str
    sha256: str | None
    size: int | None
    artifact_path: str
    package_id: str
    attached_at: dt.datetime
    attached_by: str


@dataclass(frozen=True)
class ConditionInfo:
    id: int
    letter_id: int
    letter_number: str
    submission_id: int
    reference: str
    developer: str
    model: str
    number: int
    text: str
    owner_id: int
    owner: str
    due_date: dt.date
    status: ConditionStatus
    status_reason: str
    closed_at: dt.datetime | None
    version: int
    days_left: int
    evidence: tuple[ConditionEvidenceInfo, ...] = ()

    @property
    def label(self) -> str:
        return rules.condition_label(self.letter_number, self.number)

    @property
    def overdue(self) -> bool:
        return self.status.is_unresolved and self.days_left < 0

    @property
    def due_soon(self) -> bool:
        return self.status.is_unresolved and 0 <= self.days_left <= rules.DUE_SOON_DAYS


@dataclass(frozen=True)
class ConditionCounts:
    """For the sidebar, My work and the dashboard: unresolved ones due soon and overdue, and all by status."""

    due: int = 0
    overdue: int = 0
    by_status: tuple[tuple[ConditionStatus, int], ...] = ()

    @property
    def total(self) -> int:
        return sum(n for _s, n in self.by_status)


class _Refused(Exception):
    def __init__(self, error: PermissionDenied | TransitionNotAllowed, entity: str, attempted: str) -> None:
        super().__init__(str(error))
        self.error, self.entity, self.attempted = error, entity, attempted


class ConditionsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = SettingsService(ctx)

    # == reading ===========================================================================
    def today(self) -> dt.date:
        return review_clock.agency_date(self.ctx.now(), str(self.settings.get("agency_time_zone")))

    def list(self, *, submission_id: int | None = None, owner_id: int | None = None, overdue: bool = False,
             due: bool = False, statuses: Sequence[ConditionStatus] = ()) -> list[ConditionInfo]:
        """Conditions by due date; `overdue` / `due` keep the unresolved ones past or near their date."""
        today = self.today()
        stmt = select(Condition).options(selectinload(Condition.evidence))
        if submission_id is not None:
            stmt = stmt.where(Condition.submission_id == submission_id)
        if owner_id is not None:
            stmt = stmt.where(Condition.owner_id == owner_id)
        if statuses:
            stmt = stmt.where(Condition.status.in_([s.value for s in statuses]))
        unresolved = Condition.status.in_([s.value for s in rules.UNRESOLVED_STATUSES])
        if overdue and due:
            stmt = stmt.where(unresolved, Condition.due_date <= today + dt.timedelta(days=rules.DUE_SOON_DAYS))
        elif overdue:
            stmt = stmt.where(unresolved, Condition.due_date < today)
        elif due:
            stmt = stmt.where(unresolved, Condition.due_date >= today,
                              Condition.due_date <= today + dt.timedelta(days=rules.DUE_SOON_DAYS))
        with self.ctx.reading() as session:
            rows = list(session.scalars(stmt.order_by(Condition.due_date, Condition.letter_id, Condition.number)))
            return _infos(session, rows, today)

    def get(self, condition_id: int) -> ConditionInfo:
        with self.ctx.reading() as session:
            return _infos(session, [_load(session, condition_id)], self.today())[0]

    def counts(self, *, owner_id: int | None = None) -> ConditionCounts:
        today = self.today()
        c = Condition.__table__.c
        unresolved = c.status.in_([s.value for s in rules.UNRESOLVED_STATUSES])
        mine = [c.owner_id == owner_id] if owner_id is not None else []
        with self.ctx.reading() as session:
            overdue = session.scalar(select(func.count()).where(unresolved, c.due_date < today, *mine)) or 0
            due = session.scalar(select(func.count()).where(
                unresolved, c.due_date >= today, c.due_date <= today + dt.timedelta(days=rules.DUE_SOON_DAYS),
                *mine)) or 0
            found = dict(session.execute(select(c.status, func.count()).where(*mine).group_by(c.status)).all())
        by_status = tuple((status, int(found.get(status.value, 0))) for status in ConditionStatus)
        return ConditionCounts(int(due), int(overdue), by_status)

    def verdicts(self, actor: Actor, condition_id: int) -> dict[ConditionAction, ConditionVerdict]:
        """Every action with its verdict for `actor`: the view offers the allowed and explains the rest."""
        with self.ctx.reading() as session:
            row = _load(session, condition_id)
            try:
                acting = _acting(session, actor)
            except PermissionDenied as gone:
                return {action: ConditionVerdict(False, str(gone)) for action in ConditionAction}
            facts = _facts(session, row)
            return {action: rules.evaluate(acting, action, facts) for action in ConditionAction}

    def history(self, condition_id: int) -> list[tuple[str, str, str, str]]:
        """The condition's audit events, oldest first: (UTC time, actor, action, what changed)."""
        import json

        from desktop_app.storage.models import AuditEvent

        with self.ctx.reading() as session:
            entities = _entities(session, _load(session, condition_id))
            events = list(session.scalars(select(AuditEvent).where(
                AuditEvent.entity_type == "condition", AuditEvent.entity_id.in_(entities)).order_by(AuditEvent.seq)))
        found = []
        for event in events:
            after = json.loads(event.after) if event.after else {}
            shown = ", ".join(f"{key}: {value if not isinstance(value, (dict, list)) else '…'}"
                              for key, value in after.items() if value not in (None, "", [], {}))
            found.append((event.occurred_at[:16].replace("T", " "), event.actor, event.action, shown))
        return found

    def artifacts(self, condition_id: int) -> list[tuple[int, str]]:
        """(id, path) of the submission's artifacts, any of which may be cited as evidence."""
        with self.ctx.reading() as session:
            row = _load(session, condition_id)
            return [(a.id, a.path) for a in session.scalars(select(Artifact).where(
                Artifact.submission_id == row.submission_id).order_by(Artifact.id))]

    def evidence_file(self, evidence_id: int) -> tuple[str, str, int]:
        """(display name, sha256, size) of a file attached as evidence."""
        with self.ctx.reading() as session:
            row = session.get(ConditionEvidence, evidence_id)
            if row is None or row.kind != "file" or not row.blob_sha256:
                raise NotFound(f"no attached file with id {evidence_id}")
            return row.original_name or row.title, row.blob_sha256, row.size or 0

    # == evidence ==========================================================================
    def attach_file(self, actor: Actor, condition_id: int, path: Path, *, title: str = "") -> ConditionInfo:
        path = Path(path)
        if not path.is_file() or path.is_symlink():
            raise InputRejected(Problem("is not a regular file", file=str(path)))
        with path.open("rb") as handle:
            return self.attach_stream(actor, condition_id, handle, name=path.name, title=title)

    def attach_bytes(self, actor: Actor, condition_id: int, data: bytes, *, name: str,
                     title: str = "") -> ConditionInfo:
        return self.attach_stream(actor, condition_id, io.BytesIO(data), name=name, title=title)

    def attach_stream(self, actor: Actor, condition_id: int, source: BinaryIO, *, name: str,
                      title: str = "") -> ConditionInfo:
        """Hash the file into the blob store and attach it; an open condition now has evidence."""
        shown = safe_file_name(name, default="file", limit=EVIDENCE_TITLE_MAX)
        title = " ".join((title or shown).split())[:EVIDENCE_TITLE_MAX]
        with self.ctx.blobs.staging() as area:
            blob = area.write_stream(source)

            def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
                status = rules.require(acting, ConditionAction.ADD_EVIDENCE, _facts(session, row))
                session.add(ConditionEvidence(condition_id=row.id, kind="file", title=title, blob_sha256=blob.sha256,
                                              original_name=shown, size=blob.size, attached_at=now,
                                              attached_by_id=acting.user_id))
                before = {"status": row.status}
                row.status = status.value
                return before, {"status": status.value, "evidence": {"kind": "file", "title": title,
                                                                     "original_name": shown, "sha256": blob.sha256,
                                                                     "size": blob.size}}

            return self._act(actor, condition_id, ConditionAction.ADD_EVIDENCE, apply, None, area=area)

    def cite_artifact(self, actor: Actor, condition_id: int, artifact_id: int, *, title: str = "") -> ConditionInfo:
        """Cite an artifact of the submission (or of a supplement to it) as evidence."""

        def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
            status = rules.require(acting, ConditionAction.ADD_EVIDENCE, _facts(session, row))
            artifact = session.get(Artifact, artifact_id)
            if artifact is None or artifact.submission_id != row.submission_id:
                raise InputRejected(Problem("is not an artifact of this submission", field="artifact"))
            shown = " ".join((title or artifact.path).split())[:EVIDENCE_TITLE_MAX]
            session.add(ConditionEvidence(condition_id=row.id, kind="artifact", title=shown, artifact_id=artifact.id,
                                          package_row_id=artifact.package_row_id, original_name="",
                                          attached_at=now, attached_by_id=acting.user_id))
            before = {"status": row.status}
            row.status = status.value
            return before, {"status": status.value, "evidence": {"kind": "artifact", "path": artifact.path,
                                                                 "sha256": artifact.sha256}}

        return self._act(actor, condition_id, ConditionAction.ADD_EVIDENCE, apply, None)

    # == judging ===========================================================================
    def mark_met(self, actor: Actor, condition_id: int, *, note: str = "",
                 expected_version: int | None = None) -> ConditionInfo:
        """The evidence shows the condition is met (not the last one: see `close_last_as_met`)."""
        note = (note or "").strip()

        def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
            facts = _facts(session, row)
            status = rules.require(acting, ConditionAction.MARK_MET, facts, ConditionInputs(reason=note))
            if rules.closes_letter(ConditionAction.MARK_MET, facts):
                raise TransitionNotAllowed("This is the last condition of the letter: close it with "
                                           "\"Close and issue the notice\" (password and signing key).")
            return self._close(row, status, note, now)

        return self._act(actor, condition_id, ConditionAction.MARK_MET, apply, expected_version)

    def mark_not_met(self, actor: Actor, condition_id: int, reason: str, *,
                     expected_version: int | None = None) -> ConditionInfo:
        def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
            status = rules.require(acting, ConditionAction.MARK_NOT_MET, _facts(session, row),
                                   ConditionInputs(reason=reason or ""))
            return self._close(row, status, (reason or "").strip(), now)

        return self._act(actor, condition_id, ConditionAction.MARK_NOT_MET, apply, expected_version)

    def waive(self, actor: Actor, condition_id: int, reason: str, *,
              expected_version: int | None = None) -> ConditionInfo:
        def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
            status = rules.require(acting, ConditionAction.WAIVE, _facts(session, row),
                                   ConditionInputs(reason=reason or ""))
            return self._close(row, status, (reason or "").strip(), now)

        return self._act(actor, condition_id, ConditionAction.WAIVE, apply, expected_version)

    def reassign(self, actor: Actor, condition_id: int, owner_id: int, *,
                 expected_version: int | None = None) -> ConditionInfo:
        def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
            owner = session.get(User, owner_id)
            role = Role(owner.role) if owner is not None and owner.active else None
            rules.require(acting, ConditionAction.REASSIGN, _facts(session, row),
                          ConditionInputs(owner_id=owner_id, owner_role=role))
            assert owner is not None
            before = {"owner": _username(session, row.owner_id)}
            row.owner_id = owner.id
            return before, {"owner": owner.username}

        return self._act(actor, condition_id, ConditionAction.REASSIGN, apply, expected_version)

    def change_due(self, actor: Actor, condition_id: int, due_date: dt.date, reason: str, *,
                   expected_version: int | None = None) -> ConditionInfo:
        """A supervisor records a new due date (for example the date agreed with the developer), with why.

        The date may have passed already (a commitment the developer made earlier): the
        condition is then overdue at once, which is what the record should show.
        """
        def apply(session: Session, row: Condition, acting: ActingUser, now: dt.datetime) -> tuple[dict, dict]:
            rules.require(acting, ConditionAction.CHANGE_DUE, _facts(session, row),
                          ConditionInputs(reason=reason or "", due_date=due_date))
            before = {"due_date": row.due_date}
            row.due_date = due_date
            return before, {"due_date": due_date, "reason": reason.strip()}

        return self._act(actor, condition_id, ConditionAction.CHANGE_DUE, apply, expected_version)

    def close_last_as_met(self, actor: Actor, condition_id: int, *, password: str, source: AnyKey, secret: str,
                          note: str = "") -> IssuedLetter:
        """Close the letter's last condition as met and issue the signed "conditions met" notice.

        A supervisor's action with re-authentication (by the letters service, before the key
        is opened); the status change, its audit event and the notice commit together.
        """
        from desktop_app.services.letters import LetterService

        note = (note or "").strip()
        with self.ctx.reading() as session:
            row = _load(session, condition_id)
            entity, submission_id, letter_id = _entity(session, row), row.submission_id, row.letter_id
            try:
                facts = _facts(session, row)
                rules.require(_acting(session, actor), ConditionAction.MARK_MET, facts, ConditionInputs(reason=note))
                if not rules.closes_letter(ConditionAction.MARK_MET, facts):
                    raise TransitionNotAllowed("Other conditions of this letter are unresolved or not met; "
                                               "mark this one met without a notice.")
                if actor.role is not Role.SUPERVISOR:
                    raise PermissionDenied("Only a supervisor closes the last condition and signs the notice.")
            except (PermissionDenied, TransitionNotAllowed) as refusal:
                error: PermissionDenied | TransitionNotAllowed | None = refusal
            else:
                error = None
        if error is not None:
            self._audit_refusal(actor, entity, "condition.close_and_notify", error)
            raise error

        def prepare(session: Session, submission: Submission) -> tuple[str, ...]:
            row = _load(session, condition_id, for_update=True)
            acting = _acting(session, actor)
            facts = _facts(session, row)
            status = rules.require(acting, ConditionAction.MARK_MET, facts, ConditionInputs(reason=note))
            if not rules.closes_letter(ConditionAction.MARK_MET, facts) or acting.role is not Role.SUPERVISOR:
                raise TransitionNotAllowed("The letter's conditions changed meanwhile; reload and try again.")
            now = self.ctx.now()
            before, after = self._close(row, status, note, now)
            row.updated_at, row.updated_by = now, actor.username
            session.flush()
            audit.record(session, actor=actor.username, action="condition.close_and_notify",
                         entity_type="condition", entity_id=_entity(session, row), before=before, after=after, now=now)
            return notice_items(session, row.letter_id, self._zone())

        return LetterService(self.ctx).issue_notice(actor, submission_id, LetterKind.CONDITIONS_MET,
                                                    password=password, source=source, secret=secret, prepare=prepare,
                                                    refers_to_id=letter_id)

    # == machinery =========================================================================
    @staticmethod
    def _close(row: Condition, status: ConditionStatus, reason: str, now: dt.datetime) -> tuple[dict, dict]:
        before = {"status": row.status}
        row.status, row.status_reason, row.closed_at = status.value, reason, now
        return before, {"status": status.value, "reason": reason}

    def _act(self, actor: Actor, condition_id: int, action: ConditionAction,
             apply: Callable[[Session, Condition, ActingUser, dt.datetime], tuple[dict, dict]],
             expected_version: int | None, *, area: StagingArea | None = None) -> ConditionInfo:
        now = self.ctx.now()
        try:
            with self.ctx.transaction() as session:
                row = _load(session, condition_id, for_update=True)
                entity = _entity(session, row)
                if expected_version is not None and row.version_id != expected_version:
                    raise _conflict(session, row, entity)
                try:
                    acting = _acting(session, actor)
                    before, after = apply(session, row, acting, now)
                except (PermissionDenied, TransitionNotAllowed) as refusal:
                    raise _Refused(refusal, entity, action.audit_name) from refusal
                row.updated_at, row.updated_by = now, actor.username
                session.flush()
                audit.record(session, actor=actor.username, action=action.audit_name, entity_type="condition",
                             entity_id=entity, before=before, after=after, now=now)
                if area is not None:
                    area.promote()
        except _Refused as refused:
            if area is not None:
                area.rollback_promotion()
            self._audit_refusal(actor, refused.entity, refused.attempted, refused.error)
            raise refused.error from None
        except StaleDataError:
            if area is not None:
                area.rollback_promotion()
            with self.ctx.reading() as session:
                row = _load(session, condition_id)
                raise _conflict(session, row, _entity(session, row)) from None
        except BaseException:
            if area is not None:
                area.rollback_promotion()
            raise
        return self.get(condition_id)

    def _audit_refusal(self, actor: Actor, entity: str, attempted: str,
                       error: PermissionDenied | TransitionNotAllowed) -> None:
        audit.record_refusal(self.ctx, actor=actor.username, attempted=attempted, entity_type="condition",
                             entity_id=entity, reason=str(error))

    def _zone(self) -> str:
        return str(self.settings.get("agency_time_zone"))

    # == sign-off ==========================================================================
    def plan_for_signoff(self, submission_id: int, due_dates: Sequence[dt.date | None] | dt.date | None,
                         owner_id: int | None = None) -> ConditionPlan | None:
        """The due dates and owner entered at sign-off, checked (services.condition_signoff)."""
        return plan_for_signoff(self.ctx, submission_id, due_dates, owner_id, today=self.today())

# == listing for people and spreadsheets ======================================================

CSV_HEADER = ("letter", "condition", "submission", "developer", "model", "text", "owner", "due date", "days left",
              "status", "overdue", "reason", "evidence items")


def csv_row(info: ConditionInfo) -> list[object]:
    return [info.letter_number, info.number, info.reference, info.developer, info.model, info.text, info.owner,
            info.due_date.isoformat(), info.days_left if info.status.is_unresolved else "", info.status.value,
            "yes" if info.overdue else "", info.status_reason, len(info.evidence)]


def conditions_csv(rows: Sequence[ConditionInfo], marking: str) -> str:
    """The conditions as CSV between two lines carrying the handling marking (top and bottom, as on paper)."""
    import csv

    from desktop_app.domain.spreadsheet import csv_cell

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(marking)])
    writer.writerow(CSV_HEADER)
    for info in rows:
        writer.writerow([csv_cell(v) for v in csv_row(info)])
    writer.writerow([csv_cell(marking)])
    return out.getvalue()


def text_line(info: ConditionInfo) -> str:
    """One line of `conditions list`."""
    when = (f"overdue by {-info.days_left} day{'s' if info.days_left != -1 else ''}" if info.overdue
            else f"due in {info.days_left} day{'s' if info.days_left != 1 else ''}" if info.status.is_unresolved
            else "closed")
    text = info.text if len(info.text) <= 70 else info.text[:69] + "…"
    return (f"{info.letter_number} #{info.number}  {info.reference}  {info.status.value:<17}  "
            f"due {info.due_date.isoformat()} ({when})  {info.owner}  {text}")


# == inside other services' transactions ======================================================


def find_cited(session: Session, submission: Submission, letter_number: object, number: object, *,
               subject: str | None = None) -> Condition:
    """The condition a supplement cites, or one line saying why it cannot be the one.

    The letter must be a clearance letter of the submission the supplement refers to, not
    revoked, and the condition must still await evidence or judgement. A letter since
    corrected is read as its corrected letter, which the conditions followed.
    """
    field = "responds_to_condition"
    shown_letter = str(letter_number)[:40]
    letter = session.scalar(select(Letter).where(Letter.number == shown_letter))
    if letter is None or letter.submission_id != submission.id:
        raise InputRejected(Problem(f"{shown_letter!r} is not a letter issued for {submission.reference}",
                                    file="manifest.json", field=f"{field}.letter"), subject=subject)
    while (successor := session.scalar(select(Letter).where(Letter.supersedes_id == letter.id,
                                                            Letter.submission_id == submission.id))) is not None:
        letter = successor
    if session.scalar(select(LetterRevocation.id).where(LetterRevocation.letter_id == letter.id)) is not None:
        raise InputRejected(Problem(f"{letter.number} was revoked; its conditions are no longer followed up",
                                    file="manifest.json", field=f"{field}.letter"), subject=subject)
    row = session.scalar(select(Condition).where(Condition.letter_id == letter.id, Condition.number == number))
    if row is None:
        raise InputRejected(Problem(f"{letter.number} has no condition {number}", file="manifest.json",
                                    field=f"{field}.condition"), subject=subject)
    if not S(row.status).is_unresolved:
        raise InputRejected(Problem(f"{letter.number} condition {number} is already {row.status}; it takes no "
                                    f"more evidence", file="manifest.json", field=f"{field}.condition"), subject=subject)
    return row


def link_supplement(session: Session, row: Condition, package: Package, artifacts: Sequence[Artifact], *,
                    actor: Actor, now: dt.datetime) -> None:
    """Inside the import's transaction: the supplement's artifacts become the condition's evidence."""
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise AccountInactive()
    status = rules.require(ActingUser(user.id, Role(user.role)), ConditionAction.ADD_EVIDENCE, _facts(session, row))
    for artifact in artifacts:
        session.add(ConditionEvidence(condition_id=row.id, kind="artifact", title=artifact.path[:EVIDENCE_TITLE_MAX],
                                      artifact_id=artifact.id, package_row_id=package.id, original_name="",
                                      attached_at=now, attached_by_id=user.id))
    before = {"status": row.status}
    row.status, row.updated_at, row.updated_by = status.value, now, actor.username
    session.flush()
    audit.record(session, actor=actor.username, action="condition.supplement", entity_type="condition",
                 entity_id=_entity(session, row), before=before, now=now,
                 after={"status": status.value, "package_id": package.package_id,
                        "artifacts": [{"path": a.path, "sha256": a.sha256} for a in artifacts]})


def notice_items(session: Session, letter_id: int, zone: str) -> tuple[str, ...]:
    """The body of the "conditions met" notice: each condition of the letter and how it was resolved."""
    letter = session.get(Letter, letter_id)
    number = letter.number if letter else "?"
    items = []
    for row in session.scalars(select(Condition).where(Condition.letter_id == letter_id).order_by(Condition.number)):
        closed = review_clock.agency_date(row.closed_at, zone).isoformat() if row.closed_at else ""
        outcome = {S.MET.value: f"met on {closed}", S.WAIVED.value: f"waived by the agency on {closed}"}.get(
            row.status, row.status)
        items.append(f"Condition {row.number} of letter {number}: “{row.text}” — {outcome}.")
    return tuple(items)


# == helpers ===================================================================================


def _load(session: Session, condition_id: int, *, for_update: bool = False) -> Condition:
    stmt = select(Condition).where(Condition.id == condition_id)
    if for_update:
        stmt = stmt.with_for_update(of=Condition)
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"no condition with id {condition_id}")
    return row


def _acting(session: Session, actor: Actor) -> ActingUser:
    """The actor as stored now: a deactivated account or a changed role takes effect at once."""
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise AccountInactive()
    return ActingUser(user.id, Role(user.role))


def _facts(session: Session, row: Condition) -> ConditionFacts:
    others = tuple(S(s) for s in session.scalars(select(Condition.status).where(
        Condition.letter_id == row.letter_id, Condition.id != row.id)))
    evidence = session.scalar(select(func.count()).select_from(ConditionEvidence)
                              .where(ConditionEvidence.condition_id == row.id)) or 0
    return ConditionFacts(S(row.status), row.owner_id, int(evidence), others)


def _entity(session: Session, row: Condition) -> str:
    number = session.scalar(select(Letter.number).where(Letter.id == row.letter_id))
    return f"{number}#{row.number}"


def _entities(session: Session, row: Condition) -> list[str]:
    """The condition's audit names: under its letter now and under each earlier letter it followed from."""
    names, letter = [], session.get(Letter, row.letter_id)
    while letter is not None and letter.submission_id == row.submission_id:
        names.append(f"{letter.number}#{row.number}")
        letter = session.get(Letter, letter.supersedes_id) if letter.supersedes_id else None
    return names


def _username(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.username).where(User.id == user_id)) if user_id else None


def _conflict(session: Session, row: Condition, entity: str) -> ConcurrentEdit:
    name = session.scalar(select(User.display_name).where(User.username == row.updated_by)) or row.updated_by
    return ConcurrentEdit(f"condition {entity}", name or None, f"{row.updated_at:%Y-%m-%d %H:%M} UTC")


def _infos(session: Session, rows: list[Condition], today: dt.date) -> list[ConditionInfo]:
    if not rows:
        return []
    letters = dict(session.execute(select(Letter.id, Letter.number).where(
        Letter.id.in_({r.letter_id for r in rows}))).all())
    subs = {sid: (ref, dev, model) for sid, ref, dev, model in session.execute(
        select(Submission.id, Submission.reference, Submission.developer_id,
               Submission.model_name + " " + Submission.model_version)
        .where(Submission.id.in_({r.submission_id for r in rows})))}
    from desktop_app.storage.models import Developer

    developers = dict(session.execute(select(Developer.id, Developer.name).where(
        Developer.id.in_({dev for _ref, dev, _m in subs.values()}))).all())
    people = {r.owner_id for r in rows} | {e.attached_by_id for r in rows for e in r.evidence}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(people))).all())
    artifact_ids = {e.artifact_id for r in rows for e in r.evidence if e.artifact_id}
    artifacts = {a.id: a for a in session.scalars(select(Artifact).where(Artifact.id.in_(artifact_ids)))}
    package_ids = {e.package_row_id for r in rows for e in r.evidence if e.package_row_id}
    packages = dict(session.execute(select(Package.id, Package.package_id).where(Package.id.in_(package_ids))).all())
    found = []
    for r in rows:
        reference, developer_id, model = subs[r.submission_id]
        evidence = tuple(ConditionEvidenceInfo(
            e.id, e.kind, e.title, e.original_name,
            e.blob_sha256 or (artifacts[e.artifact_id].sha256 if e.artifact_id in artifacts else None),
            e.size if e.size is not None else (artifacts[e.artifact_id].bytes if e.artifact_id in artifacts else None),
            artifacts[e.artifact_id].path if e.artifact_id in artifacts else "",
            packages.get(e.package_row_id or 0, ""), e.attached_at, names.get(e.attached_by_id, ""))
            for e in r.evidence)
        found.append(ConditionInfo(
            r.id, r.letter_id, letters.get(r.letter_id, ""), r.submission_id, reference,
            developers.get(developer_id, ""), model, r.number, r.text, r.owner_id, names.get(r.owner_id, ""),
            r.due_date, S(r.status), r.status_reason, r.closed_at, r.version_id, (r.due_date - today).days,
            evidence))
    return found


__all__ = ["CSV_HEADER", "ConditionCounts", "ConditionEvidenceInfo", "ConditionInfo", "ConditionPlan", "ConditionsService",
           "conditions_csv", "csv_row", "find_cited", "link_supplement", "notice_items", "text_line"]
