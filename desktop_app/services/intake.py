"""Intake: import a package (folder or .zip) into a submission, all or nothing.

The package reader (services.packages) validates and stages every artifact while
hashing it; this service then writes the database rows and the audit event in one
transaction and promotes the staged blobs just before that transaction commits. Any
failure or cancellation discards the staging area and, if promotion had happened,
removes the blobs it created, so the data folder is exactly as before.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_app.domain import clock as review_clock
from desktop_app.domain.errors import InputRejected, NotFound, Problem
from desktop_app.domain.text import field_problems, name_key
from desktop_app.domain.types import PackageKind, Role, SubmissionState
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext, current_actor
from desktop_app.services.packages import PackageLimits, ValidatedPackage, read_and_stage
from desktop_app.services.packages.model import GiB, CancelCheck, ProgressListener
from desktop_app.services.references import next_number
from desktop_app.services.settings import SettingsService
from desktop_app.services.submissions import safe_file_name
from desktop_app.storage.blobstore import StagingArea
from desktop_app.storage.models import Artifact, Developer, Package, Submission

log = logging.getLogger("clearance_desk.intake")

INTAKE_ROLES = (Role.REVIEWER, Role.SUPERVISOR)
INTAKE_REFUSAL = "only reviewers and supervisors import or register submissions"


@dataclass(frozen=True)
class ImportResult:
    submission_id: int
    reference: str
    kind: PackageKind
    artifacts: int
    bytes: int
    warnings: tuple[Problem, ...]


@dataclass(frozen=True)
class ManualRegistration:
    """A submission registered by hand from the manifest's fields (package incomplete)."""

    developer_name: str
    contact_name: str
    contact_email: str
    model_name: str
    model_version: str
    intended_release: dt.date | None
    package_id: str = ""
    developer_address: str = ""
    description: str = ""
    received_at: dt.datetime | None = None


class IntakeService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = SettingsService(ctx)

    def limits(self) -> PackageLimits:
        return PackageLimits(max_total_bytes=int(self.settings.get("package_size_limit_gib")) * GiB)

    def _require_intake_role(self, actor: Actor, what: str) -> None:
        self.ctx.require(actor, _may_take_in, INTAKE_REFUSAL, attempted=what, entity_type="submission",
                         entity_id="-")

    def import_package(self, actor: Actor, path: Path, *, progress: ProgressListener | None = None,
                       cancelled: CancelCheck | None = None) -> ImportResult:
        self._require_intake_role(actor, f"import {Path(path).name}")
        with self.ctx.blobs.staging() as area:
            package = read_and_stage(Path(path), area, limits=self.limits(), progress=progress, cancelled=cancelled)
            package = _with_log_warnings(package, area, self.ctx)
            manifest_blob = area.write_bytes(package.manifest_bytes).sha256
            if cancelled is not None and cancelled():
                from desktop_app.domain.errors import OperationCancelled

                raise OperationCancelled("cancelled by the user; nothing was written")
            try:
                with self.ctx.transaction() as session:
                    _still_may_take_in(session, actor)
                    result = self._record(session, actor, package, manifest_blob)
                    area.promote()
            except BaseException:
                area.rollback_promotion()
                raise
        log.info("imported %s as %s (%d artifacts, %d bytes)", package.package_id, result.reference,
                 result.artifacts, result.bytes)
        return result

    # -- the database part, inside one transaction --------------------------------------
    def _record(self, session: Session, actor: Actor, package: ValidatedPackage, manifest_blob: str) -> ImportResult:
        now = self.ctx.now()
        developer = self._developer(session, package)
        existing = session.scalar(select(Package).where(Package.developer_id == developer.id,
                                                        Package.package_id == package.package_id)) if developer.id else None
        if existing is not None:
            holder = session.get(Submission, existing.submission_id)
            raise InputRejected(Problem(
                f"package {package.package_id!r} from {developer.name} was already imported as "
                f"{holder.reference if holder else 'another submission'}; a package is imported once",
                file="manifest.json", field="package_id"), subject=str(package.source_path))
        cited = None
        if package.kind is PackageKind.SUPPLEMENT:
            answering = package.manifest.get("responds_to_condition")
            # a supplement that answers a condition arrives after the letter, when the submission is closed
            submission = self._referred(session, developer, package, must_be_open=answering is None)
            if answering is not None:
                from desktop_app.services.conditions import find_cited

                cited = find_cited(session, submission, answering["letter"], answering["condition"],
                                   subject=str(package.source_path))
            action = "submission.supplement"
        else:
            previous = (self._referred(session, developer, package, must_be_open=False)
                        if package.kind is PackageKind.RESUBMISSION else None)
            submission = self._new_submission(session, actor, developer, package, now, previous)
            action = "submission.resubmit" if previous else "submission.import"
        row = Package(developer_id=developer.id, package_id=package.package_id, kind=package.kind.value,
                      refers_to=package.refers_to, submission_id=submission.id, manifest_sha256=package.manifest_sha256,
                      manifest_blob=manifest_blob, source_name=package.source_path.name[:400], imported_at=now,
                      imported_by_id=actor.user_id)
        session.add(row)
        session.flush()
        added = [Artifact(submission_id=submission.id, package_row_id=row.id, path=artifact.path,
                          kind=artifact.kind.value, sha256=artifact.sha256, bytes=artifact.bytes,
                          description=artifact.description or "", verified_at=now) for artifact in package.artifacts]
        session.add_all(added)
        submission.updated_by = actor.username
        session.flush()
        if cited is not None:
            from desktop_app.services.conditions import link_supplement

            link_supplement(session, cited, row, added, actor=actor, now=now)
        audit.record(session, actor=actor.username, action=action, entity_type="submission",
                     entity_id=submission.reference, now=now, after={
                         "package_id": package.package_id, "kind": package.kind.value,
                         "manifest_sha256": package.manifest_sha256, "developer": developer.name,
                         "model": f"{package.model.name} {package.model.version}",
                         "artifacts": [{"path": a.path, "sha256": a.sha256, "bytes": a.bytes}
                                       for a in package.artifacts],
                         "warnings": [str(w) for w in package.warnings]})
        return ImportResult(submission.id, submission.reference, package.kind, len(package.artifacts),
                            package.total_bytes, tuple(package.warnings))

    def _developer(self, session: Session, package: ValidatedPackage) -> Developer:
        info = package.developer
        developer = session.scalar(select(Developer).where(Developer.name == info.name))
        if developer is None:
            developer = Developer(name=info.name, address=info.address or "", contact_name=info.contact_name,
                                  contact_email=info.contact_email, contact_phone=info.contact_phone or "")
            session.add(developer)
            session.flush()
        return developer

    def _referred(self, session: Session, developer: Developer, package: ValidatedPackage,
                  *, must_be_open: bool) -> Submission:
        earlier = session.scalar(select(Package).where(Package.developer_id == developer.id,
                                                       Package.package_id == package.refers_to))
        if earlier is None:
            raise InputRejected(Problem(
                f"refers to package {package.refers_to!r}, which has not been imported from {developer.name}",
                file="manifest.json", field="refers_to"), subject=str(package.source_path))
        submission = session.get(Submission, earlier.submission_id)
        assert submission is not None
        if must_be_open and not SubmissionState(submission.state).is_open:
            raise InputRejected(Problem(
                f"a supplement for {submission.reference}, which is closed ({submission.state}); "
                f"send a resubmission instead", file="manifest.json", field="kind"), subject=str(package.source_path))
        return submission

    def _new_submission(self, session: Session, actor: Actor, developer: Developer, package: ValidatedPackage,
                        now: dt.datetime, previous: Submission | None) -> Submission:
        window = int(self.settings.get("review_window_days"))
        zone_name = str(self.settings.get("agency_time_zone"))
        received_date = review_clock.agency_date(now, zone_name)
        reference, _ = next_number(session, "CD", received_date.year)
        model = package.model
        clock = review_clock.ReviewClock(received_at=now, window_days=window, time_zone=zone_name)
        submission = Submission(
            reference=reference, developer_id=developer.id, previous_submission_id=previous.id if previous else None,
            model_name=model.name, model_version=model.version, model_family=model.family or "",
            modalities=list(model.modalities), deployment=list(model.deployment),
            parameters_billion=model.parameters_billion, intended_release=model.intended_release,
            description=model.description or "", claims=dict(package.manifest.get("claims") or {}),
            submitted_at=package.submitted_at.astimezone(dt.UTC), received_at=now,
            state=SubmissionState.RECEIVED.value, window_days=window, due_date=review_clock.due_date(clock, now),
            created_by_id=actor.user_id, updated_at=now, updated_by=actor.username)
        session.add(submission)
        session.flush()
        return submission

    # -- registration by hand --------------------------------------------------------------
    def register_by_hand(self, actor: Actor, form: ManualRegistration) -> ImportResult:
        """Open a submission from typed-in fields when a package is incomplete."""
        self._require_intake_role(actor, "register a submission by hand")
        problems = [Problem("must not be empty", field=label) for label, value in (
            ("developer name", form.developer_name), ("contact name", form.contact_name),
            ("contact email", form.contact_email), ("model name", form.model_name),
            ("model version", form.model_version)) if not value.strip()]
        if form.contact_email.strip() and "@" not in form.contact_email:
            problems.append(Problem("is not an e-mail address", field="contact email"))
        problems += field_problems({
            "developer name": form.developer_name, "contact name": form.contact_name,
            "contact email": form.contact_email, "model name": form.model_name, "model version": form.model_version,
            "package id": form.package_id, "developer address": form.developer_address,
            "description": form.description},
            single_line=frozenset({"developer name", "contact name", "contact email", "model name", "model version",
                                   "package id"}))
        if problems:
            raise InputRejected(problems)
        now = form.received_at or self.ctx.now()
        with self.ctx.transaction() as session:
            _still_may_take_in(session, actor)
            developer_name = name_key(form.developer_name)
            developer = session.scalar(select(Developer).where(Developer.name == developer_name))
            if developer is None:
                developer = Developer(name=developer_name, address=form.developer_address.strip(),
                                      contact_name=form.contact_name.strip(), contact_email=form.contact_email.strip())
                session.add(developer)
                session.flush()
            window = int(self.settings.get("review_window_days"))
            zone_name = str(self.settings.get("agency_time_zone"))
            reference, _ = next_number(session, "CD", review_clock.agency_date(now, zone_name).year)
            clock = review_clock.ReviewClock(received_at=now, window_days=window, time_zone=zone_name)
            submission = Submission(
                reference=reference, developer_id=developer.id, model_name=form.model_name.strip(),
                model_version=form.model_version.strip(), intended_release=form.intended_release,
                description=form.description, claims={}, received_at=now, registered_by_hand=True,
                state=SubmissionState.RECEIVED.value, window_days=window, due_date=review_clock.due_date(clock, now),
                created_by_id=actor.user_id, updated_at=now, updated_by=actor.username)
            session.add(submission)
            session.flush()
            if form.package_id.strip():
                session.add(Package(developer_id=developer.id, package_id=name_key(form.package_id), kind="new",
                                    submission_id=submission.id, imported_at=now, imported_by_id=actor.user_id,
                                    by_hand=True))
            audit.record(session, actor=actor.username, action="submission.register_by_hand",
                         entity_type="submission", entity_id=reference, now=now, after={
                             "developer": developer.name, "model": f"{submission.model_name} {submission.model_version}",
                             "intended_release": form.intended_release, "package_id": form.package_id.strip() or None})
            return ImportResult(submission.id, reference, PackageKind.NEW, 0, 0, ())

    def attach_files(self, actor: Actor, submission_id: int, files: list[tuple[Path, str]]) -> int:
        """Attach files by hand to a submission (kind per file); audited as added by hand."""
        self._require_intake_role(actor, "attach files to a submission")
        with self.ctx.blobs.staging() as area:
            staged = []
            for path, kind in files:
                if not path.is_file() or path.is_symlink():
                    raise InputRejected(Problem("is not a regular file", file=str(path)))
                with path.open("rb") as handle:
                    blob = area.write_stream(handle)
                staged.append((path, kind, blob))
            try:
                with self.ctx.transaction() as session:
                    _still_may_take_in(session, actor)
                    submission = session.get(Submission, submission_id)
                    if submission is None:
                        raise NotFound(f"no submission with id {submission_id}")
                    now = self.ctx.now()
                    for path, kind, blob in staged:
                        session.add(Artifact(submission_id=submission.id, path=safe_file_name(path.name, default="file"), kind=kind,
                                             sha256=blob.sha256, bytes=blob.size, verified_at=now, added_by_hand=True))
                    audit.record(session, actor=actor.username, action="submission.attach_by_hand",
                                 entity_type="submission", entity_id=submission.reference, now=now,
                                 after={"files": [{"name": safe_file_name(p.name, default="file"), "kind": k, "sha256": b.sha256,
                                                   "bytes": b.size} for p, k, b in staged]})
                    area.promote()
            except BaseException:
                area.rollback_promotion()
                raise
        return len(staged)


def _may_take_in(role: Role) -> bool:
    return role in INTAKE_ROLES


def _still_may_take_in(session: Session, actor: Actor) -> None:
    """In the change's own transaction: the account is still active and may take submissions in."""
    current_actor(session, actor, may=_may_take_in, refusal=INTAKE_REFUSAL)


def _with_log_warnings(package: ValidatedPackage, area: StagingArea, ctx: ServiceContext) -> ValidatedPackage:
    """Evaluation logs in the package are opened once (summary only): one that cannot be read
    is imported all the same, as the developer delivered it, with a warning naming the problem."""
    from dataclasses import replace

    from desktop_app.services import evallog

    found = []
    for artifact in package.artifacts:
        if not evallog.is_log_artifact(artifact.path, artifact.kind.value):
            continue
        staged = area.staged.get(artifact.sha256)
        blob = staged.temp_path if staged is not None else ctx.blobs.path_for(artifact.sha256)
        try:
            evallog.read_summary(blob, artifact.path)
        except InputRejected as error:
            found.append(Problem(f"is not readable as an Inspect evaluation log ({error.problems[0].message}); "
                                 "stored as delivered", file=artifact.path, field=error.problems[0].field))
    return replace(package, warnings=(*package.warnings, *found)) if found else package


__all__ = ["ImportResult", "IntakeService", "ManualRegistration"]
