"""What changed in a resubmission (or since a supplement): artifacts, manifest fields,
evaluation metrics, and the earlier submission's findings.

The earlier side is, by default, the submission a resubmission refers to; for a
submission that has no predecessor but received a supplement, it is the submission as it
stood before its latest supplement. Any other submission can be named explicitly.
Everything is read; nothing changes here (carrying a finding over is
FindingService.carry_over).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from desktop_app.domain.errors import (
    ClearanceDeskError,
    InputRejected,
    NotFound,
    Problem,
)
from desktop_app.services import evallog
from desktop_app.services.context import ServiceContext
from desktop_app.services.packages.text import shown
from desktop_app.storage.models import (
    Artifact,
    Finding,
    FindingLink,
    Package,
    Submission,
)

#: Manifest fields that name the package itself; they always differ and are shown as the packages line.
PACKAGE_IDENTITY_FIELDS = ("package_id", "kind", "refers_to", "artifacts")
MAX_FIELDS = 500


@dataclass(frozen=True)
class ArtifactChange:
    path: str
    change: str  # added / removed / changed / unchanged
    before_sha256: str = ""
    after_sha256: str = ""
    before_bytes: int | None = None
    after_bytes: int | None = None


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class MetricChange:
    task: str
    scorer: str
    metric: str
    before: float | None
    after: float | None
    before_log: str = ""
    after_log: str = ""

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @staticmethod
    def shown(value: float | None) -> str:
        return "—" if value is None else f"{value:.4g}"


@dataclass(frozen=True)
class EarlierFinding:
    id: int
    reference: str
    label: str
    title: str
    severity: str
    status: str
    carried_over_as: str = ""


@dataclass(frozen=True)
class SubmissionDiff:
    submission_id: int
    reference: str
    against_id: int
    against_reference: str
    basis: str  # resubmission / supplement / chosen
    packages_before: tuple[str, ...]
    packages_after: tuple[str, ...]
    artifacts: tuple[ArtifactChange, ...]
    fields: tuple[FieldChange, ...]
    metrics: tuple[MetricChange, ...]
    findings: tuple[EarlierFinding, ...]
    notes: tuple[str, ...] = ()

    @property
    def artifact_changes(self) -> tuple[ArtifactChange, ...]:
        return tuple(a for a in self.artifacts if a.change != "unchanged")

    def count(self, change: str) -> int:
        return sum(1 for a in self.artifacts if a.change == change)

    @property
    def title(self) -> str:
        since = {"resubmission": f"since {self.against_reference} (the submission it resubmits)",
                 "supplement": f"since {self.against_reference} before its latest supplement",
                 }.get(self.basis, f"compared with {self.against_reference}")
        return f"Changes in {self.reference} {since}"

    def text(self) -> str:
        """The comparison as plain text (the CLI prints this)."""
        lines = [self.title, f"Packages: {', '.join(self.packages_before) or '—'} → "
                             f"{', '.join(self.packages_after) or '—'}", ""]
        lines.append(f"Artifacts: {self.count('added')} added, {self.count('removed')} removed, "
                     f"{self.count('changed')} changed, {self.count('unchanged')} unchanged")
        marks = {"added": "+", "removed": "-", "changed": "~"}
        for a in self.artifact_changes:
            if a.change == "changed":
                lines.append(f"  ~ {a.path}  {a.before_sha256} → {a.after_sha256}")
            else:
                lines.append(f"  {marks[a.change]} {a.path}  {a.after_sha256 or a.before_sha256}")
        lines += ["", f"Manifest fields changed: {len(self.fields)}"]
        lines += [f"  {f.field}: {f.before} → {f.after}" for f in self.fields]
        lines += ["", "Evaluation metrics (same task and scorer):"]
        if not self.metrics:
            lines.append("  none on both sides")
        for m in self.metrics:
            flag = "  (changed)" if m.changed else ""
            lines.append(f"  {m.task} / {m.scorer} / {m.metric}: {m.shown(m.before)} → {m.shown(m.after)}{flag}")
        lines += ["", f"Findings of {self.against_reference}:" if self.basis != "supplement"
                  else "Findings (same submission):"]
        if not self.findings:
            lines.append("  none")
        for f in self.findings:
            carried = f"  carried over as {f.carried_over_as}" if f.carried_over_as else ""
            lines.append(f"  {f.label}  {f.severity}  {f.status}  {f.title}{carried}")
        if self.notes:
            lines += ["", "Notes:"] + [f"  {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class _Side:
    reference: str
    packages: list[Package]
    artifacts: list[Artifact]


class DiffService:
    def __init__(self, ctx: ServiceContext, limits: evallog.EvalLimits | None = None) -> None:
        self.ctx = ctx
        self.limits = limits or evallog.EvalLimits()

    def has_earlier(self, submission_id: int) -> bool:
        """Whether the submission refers to an earlier one or received a supplement."""
        with self.ctx.reading() as session:
            sub = session.get(Submission, submission_id)
            if sub is None:
                return False
            if sub.previous_submission_id is not None:
                return True
            return len([p for p in sub.packages if not p.by_hand]) > 1

    def compare_references(self, reference: str, against: str | None = None) -> SubmissionDiff:
        with self.ctx.reading() as session:
            ids = []
            for ref in (reference, against):
                if ref is None:
                    continue
                found = session.scalar(select(Submission.id).where(Submission.reference == ref.strip().upper()))
                if found is None:
                    raise NotFound(f"no submission {ref.strip()}")
                ids.append(found)
        return self.compare(ids[0], ids[1] if len(ids) > 1 else None)

    def compare(self, submission_id: int, against_id: int | None = None) -> SubmissionDiff:
        with self.ctx.reading() as session:
            sub = _load(session, submission_id)
            packages = [p for p in sub.packages if not p.by_hand]
            after = _Side(sub.reference, packages, list(sub.artifacts))
            if against_id is None and sub.previous_submission_id is not None:
                against_id, basis = sub.previous_submission_id, "resubmission"
            elif against_id is None:
                if len(packages) < 2:
                    raise InputRejected(Problem(f"{sub.reference} refers to no earlier submission and has no "
                                                "supplement; name one to compare with", field="against"))
                basis = "supplement"
            else:
                basis = "resubmission" if against_id == sub.previous_submission_id else "chosen"
            if basis == "supplement":
                earlier_packages = packages[:-1]
                kept = {p.id for p in earlier_packages}
                before = _Side(sub.reference, earlier_packages,
                               [a for a in sub.artifacts if a.package_row_id in kept])
                earlier = sub
            else:
                if against_id == sub.id:
                    raise InputRejected(Problem("a submission is compared with another one", field="against"))
                earlier = _load(session, against_id)
                before = _Side(earlier.reference, [p for p in earlier.packages if not p.by_hand],
                               list(earlier.artifacts))
            findings = () if basis == "supplement" else _earlier_findings(session, earlier, sub)
            manifests = [self._manifest(side.packages) for side in (before, after)]
            notes: list[str] = []
            metrics = self._metrics(before.artifacts, after.artifacts, notes)
            return SubmissionDiff(
                submission_id=sub.id, reference=sub.reference, against_id=earlier.id,
                against_reference=earlier.reference, basis=basis,
                packages_before=tuple(p.package_id for p in before.packages),
                packages_after=tuple(p.package_id for p in after.packages),
                artifacts=_artifact_changes(before.artifacts, after.artifacts),
                fields=_field_changes(manifests[0], manifests[1]), metrics=metrics, findings=findings,
                notes=tuple(notes))

    def _manifest(self, packages: list[Package]) -> dict[str, Any]:
        """The latest manifest of one side (a supplement's manifest restates the model)."""
        for package in reversed(packages):
            if package.manifest_blob and self.ctx.blobs.exists(package.manifest_blob):
                try:
                    document = json.loads(self.ctx.blobs.read_bytes(package.manifest_blob).decode("utf-8-sig"))
                except ValueError:
                    continue
                if isinstance(document, dict):
                    return document
        return {}

    def _metrics(self, before: list[Artifact], after: list[Artifact], notes: list[str]) -> tuple[MetricChange, ...]:
        sides = [self._side_metrics(artifacts, notes) for artifacts in (before, after)]
        keys = list(dict.fromkeys([*sides[0], *sides[1]]))
        changes = []
        for key in keys:
            old, new = sides[0].get(key), sides[1].get(key)
            changes.append(MetricChange(*key, before=old[0] if old else None, after=new[0] if new else None,
                                        before_log=old[1] if old else "", after_log=new[1] if new else ""))
        return tuple(changes)

    def _side_metrics(self, artifacts: list[Artifact], notes: list[str]) -> dict[tuple[str, str, str],
                                                                              tuple[float | None, str]]:
        found: dict[tuple[str, str, str], tuple[float | None, str]] = {}
        for artifact in artifacts:
            if not evallog.is_log_artifact(artifact.path, artifact.kind):
                continue
            try:
                summary = evallog.read_summary(self.ctx.blobs.path_for(artifact.sha256), artifact.path, self.limits)
            except ClearanceDeskError as error:
                notes.append(f"not read as an evaluation log: {error}")
                continue
            for metric in summary.metrics:
                found.setdefault((summary.task, metric.scorer, metric.name), (metric.value, artifact.path))
        return found


def _load(session: Session, submission_id: int) -> Submission:
    sub = session.scalar(select(Submission).where(Submission.id == submission_id).options(
        selectinload(Submission.packages), selectinload(Submission.artifacts), selectinload(Submission.findings)))
    if sub is None:
        raise NotFound(f"no submission with id {submission_id}")
    return sub


def _artifact_changes(before: list[Artifact], after: list[Artifact]) -> tuple[ArtifactChange, ...]:
    old = {a.path: a for a in before}
    new = {a.path: a for a in after}
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a is None and b is not None:
            changes.append(ArtifactChange(path, "added", after_sha256=b.sha256, after_bytes=b.bytes))
        elif b is None and a is not None:
            changes.append(ArtifactChange(path, "removed", before_sha256=a.sha256, before_bytes=a.bytes))
        elif a is not None and b is not None:
            changes.append(ArtifactChange(path, "changed" if a.sha256 != b.sha256 else "unchanged", a.sha256, b.sha256,
                                          a.bytes, b.bytes))
    order = {"changed": 0, "added": 1, "removed": 2, "unchanged": 3}
    return tuple(sorted(changes, key=lambda c: (order[c.change], c.path)))


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if len(out) >= MAX_FIELDS:
        return
    if isinstance(value, dict):
        for key in sorted(value):
            if not prefix and key in PACKAGE_IDENTITY_FIELDS:
                continue
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out)
    else:
        out[prefix] = shown(value, 200) if not isinstance(value, list) else ", ".join(shown(v, 60) for v in value)


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    _flatten(before, "", old)
    _flatten(after, "", new)
    return tuple(FieldChange(name, old.get(name, "(absent)"), new.get(name, "(absent)"))
                 for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name))


def _earlier_findings(session: Session, earlier: Submission, sub: Submission) -> tuple[EarlierFinding, ...]:
    carried = dict(session.execute(select(FindingLink.carried_from_id, Finding.number).join(
        Finding, Finding.id == FindingLink.finding_id).where(Finding.submission_id == sub.id)).all())
    return tuple(EarlierFinding(f.id, earlier.reference, f.label, f.title, f.severity, f.status,
                                f"F-{carried[f.id]}" if f.id in carried else "") for f in earlier.findings)


__all__ = ["ArtifactChange", "DiffService", "EarlierFinding", "FieldChange", "MetricChange", "SubmissionDiff"]
