"""Records that outlive the workstation: one self-describing folder per case, checkable without the database.

`export` writes, for each case, a folder named after its reference holding the review
record PDF, every letter and notice exactly as signed, `artifacts.json` (the artifact and
evidence manifest with sizes and SHA-256), `audit.json` (every audit event about the
case, each with the hash that places it in the chain, and the chain head they link to),
`trust.pem` (the trust anchors and signers' certificates, so the letters verify without
the agency) and `manifest.json`: every other file with its size and SHA-256.

`verify` needs nothing but the folder: every listed file must be there with its digest,
no file may be added, and the manifest must be byte for byte the canonical rendering of
its own contents with its own digest, so that one changed byte anywhere names the file.
Then the record's own links: every audit event's hash recomputes from its fields and
consecutive events link, each letter is the PDF its issuing event recorded, and each
letter's signature verifies against the roots in `trust.pem` — so a manifest rewritten
to match an edited file is still caught. The letters inside keep their
own signatures; the export itself is an audited event carrying each manifest's digest,
so the agency's chain says which sets it wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from desktop_app import __version__
from desktop_app.domain.errors import InputRejected, NotFound, PermissionDenied, Problem
from desktop_app.domain.types import Role, SubmissionState
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext

log = logging.getLogger("clearance_desk.records")

FORMAT = "clearance-desk-record"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_CLOSED = (SubmissionState.ISSUED.value, SubmissionState.REFUSED.value, SubmissionState.WITHDRAWN.value)
_REFERENCE = re.compile(r"[A-Z]{2,4}-\d{4}-\d{3,}")
_RECORD_ROLES = (Role.SUPERVISOR, Role.ADMIN)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExportedCase:
    reference: str
    folder: Path
    files: int
    manifest_sha256: str


@dataclass(frozen=True)
class RecordProblem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


class RecordService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- choosing cases ------------------------------------------------------------------------
    def case_ids(self, *, reference: str | None = None, closed_before: dt.date | None = None) -> list[int]:
        """One case by reference, or every closed case decided before the date (agency records schedule)."""
        from desktop_app.storage.models import Submission

        with self.ctx.reading() as session:
            if reference is not None:
                found = session.scalar(select(Submission.id).where(Submission.reference == reference.strip()))
                if found is None:
                    raise NotFound(f"no submission {reference.strip()}")
                return [found]
            assert closed_before is not None
            limit = dt.datetime.combine(closed_before, dt.time(0), tzinfo=dt.UTC)
            closed_at = Submission.decided_at
            return list(session.scalars(select(Submission.id).where(
                Submission.state.in_(_CLOSED),
                or_(closed_at < limit, closed_at.is_(None) & (Submission.updated_at < limit)))
                .order_by(Submission.id)))

    # -- export ----------------------------------------------------------------------------
    def export(self, actor: Actor, case_ids: list[int], folder: Path, *,
               progress: Progress | None = None) -> list[ExportedCase]:
        """One folder per case under `folder`; an existing case folder is refused, never overwritten."""
        say = progress or (lambda _message: None)
        self._require_records_role(actor, "export case records")
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputRejected(Problem("is not a folder", file=str(folder)))
        if not case_ids:
            raise InputRejected("no case matches: nothing was exported")
        references = self._references(case_ids)
        for reference in references.values():
            if (folder / reference).exists():
                raise InputRejected(Problem("exists already; nothing was overwritten", file=str(folder / reference)))
        folder.mkdir(parents=True, exist_ok=True)
        exported = []
        for case_id, reference in references.items():
            say(f"Exporting {reference}…")
            exported.append(self._export_case(actor, case_id, reference, folder))
        return exported

    def _require_records_role(self, actor: Actor, what: str) -> None:
        from desktop_app.storage.models import User

        with self.ctx.reading() as session:
            user = session.get(User, actor.user_id)
            allowed = user is not None and user.active and Role(user.role) in _RECORD_ROLES
        if not allowed:
            reason = "only a supervisor or an administrator may export case records"
            audit.record_refusal(self.ctx, actor=actor.username, attempted=what, entity_type="records",
                                 entity_id=actor.username, reason=reason)
            raise PermissionDenied(reason[0].upper() + reason[1:] + ".")

    def _references(self, case_ids: list[int]) -> dict[int, str]:
        from desktop_app.storage.models import Submission

        with self.ctx.reading() as session:
            found = dict(session.execute(select(Submission.id, Submission.reference)
                                         .where(Submission.id.in_(case_ids))).all())
        missing = [i for i in case_ids if i not in found]
        if missing:
            raise NotFound(f"no submission with id {missing[0]}")
        return {i: found[i] for i in case_ids}

    def _export_case(self, actor: Actor, case_id: int, reference: str, folder: Path) -> ExportedCase:
        from desktop_app.services.letters import LetterService
        from desktop_app.services.reports import ReportService

        target = folder / reference
        staging = folder / f".{reference}.{uuid.uuid4().hex[:8]}.partial"
        staging.mkdir()
        try:
            (staging / "review-record.pdf").write_bytes(ReportService(self.ctx).review_record_pdf(actor, case_id))
            letters = LetterService(self.ctx)
            entries = letters.register(submission_id=case_id)
            if entries:
                (staging / "letters").mkdir()
            for entry in entries:
                (staging / "letters" / entry.file_name).write_bytes(letters.pdf(entry.id))
            _write_json(staging / "artifacts.json", self._artifact_manifest(case_id, reference))
            _write_json(staging / "audit.json", self._audit_slice(case_id, reference))
            trust = self._trust_bundle()
            if trust:
                (staging / "trust.pem").write_bytes(trust)
            manifest = _manifest(staging, {
                "format": FORMAT, "format_version": FORMAT_VERSION, "reference": reference,
                "exported_at": self.ctx.now().astimezone(dt.UTC).isoformat(), "exported_by": actor.username,
                "application": f"Clearance Desk {__version__}",
                "letters": [{"number": e.number, "kind": e.kind.value, "status": e.status,
                             "sha256": e.pdf_sha256} for e in entries],
            })
            digest = hashlib.sha256(manifest).hexdigest()
            with self.ctx.transaction() as session:
                self._require_records_role(actor, "export case records")
                audit.record(session, actor=actor.username, action="records.export", entity_type="submission",
                             entity_id=reference, now=self.ctx.now(),
                             after={"folder": reference, "manifest_sha256": digest,
                                    "files": len(json.loads(manifest)["files"])})
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("exported the record of %s to %s", reference, target)
        return ExportedCase(reference, target, len(json.loads(manifest)["files"]) + 1, digest)

    def _artifact_manifest(self, case_id: int, reference: str) -> dict[str, Any]:
        from desktop_app.storage import tables as t

        with self.ctx.reading() as session:
            artifacts = session.execute(select(t.artifacts.c.path, t.artifacts.c.kind, t.artifacts.c.bytes,
                                               t.artifacts.c.sha256)
                                        .where(t.artifacts.c.submission_id == case_id)
                                        .order_by(t.artifacts.c.path)).all()
            evidence = session.execute(
                select(t.findings.c.number, t.evidence.c.kind, t.evidence.c.title, t.evidence.c.original_name,
                       t.evidence.c.size, t.evidence.c.blob_sha256, t.artifacts.c.path, t.evidence.c.locator)
                .join(t.findings, t.findings.c.id == t.evidence.c.finding_id)
                .outerjoin(t.artifacts, t.artifacts.c.id == t.evidence.c.artifact_id)
                .where(t.findings.c.submission_id == case_id).order_by(t.findings.c.number, t.evidence.c.id)).all()
        from desktop_app.domain.findings import label

        return {
            "reference": reference,
            "artifacts": [{"path": a.path, "kind": a.kind, "bytes": a.bytes, "sha256": a.sha256} for a in artifacts],
            "evidence": [{"finding": label(e.number), "kind": e.kind, "title": e.title,
                          "file": e.original_name or None, "bytes": e.size,
                          "sha256": e.blob_sha256 or None, "artifact": e.path, "locator": e.locator or None}
                         for e in evidence],
        }

    def _audit_slice(self, case_id: int, reference: str) -> dict[str, Any]:
        from desktop_app.services.submissions import SubmissionService
        from desktop_app.storage.tables import audit_events

        seqs = [entry.seq for entry in SubmissionService(self.ctx).history(case_id)]
        events: list[dict[str, Any]] = []
        with self.ctx.reading() as session:
            for start in range(0, len(seqs), 500):
                rows = session.execute(select(audit_events).where(audit_events.c.seq.in_(seqs[start:start + 500]))
                                       .order_by(audit_events.c.seq)).mappings().all()
                events += [_event_row(row) for row in rows]
            head_seq, head_hash = audit.head(session)
        return {"reference": reference,
                "chain_head": {"seq": head_seq, "hash": head_hash},
                "note": "each event's hash is SHA-256 over its fields and prev_hash, as in the agency's audit chain; "
                        "the chain head names the last event of the whole chain when this record was exported",
                "events": events}

    def _trust_bundle(self) -> bytes:
        from desktop_app.storage import tables as t

        with self.ctx.reading() as session:
            anchors = list(session.scalars(select(t.trust_anchors.c.pem).order_by(t.trust_anchors.c.id)))
            signers = [pem for pem in session.scalars(select(t.users.c.certificate_pem)
                                                      .where(t.users.c.certificate_pem.is_not(None))) if pem]
        return "".join(pem if pem.endswith("\n") else pem + "\n" for pem in (*anchors, *signers)).encode("ascii")


def _event_row(row: Any) -> dict[str, Any]:
    occurred = row["occurred_at"]
    return {"seq": row["seq"], "occurred_at": occurred if isinstance(occurred, str) else str(occurred),
            "actor": row["actor"], "action": row["action"], "entity_type": row["entity_type"],
            "entity_id": row["entity_id"], "before": row["before"], "after": row["after"],
            "prev_hash": row["prev_hash"], "hash": row["hash"]}


# -- the manifest -----------------------------------------------------------------------------


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_bytes(_render(document))


def _render(document: dict[str, Any]) -> bytes:
    """The one byte-exact form a manifest may have."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _files(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path.relative_to(folder).as_posix(), path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(folder: Path, header: dict[str, Any]) -> bytes:
    files = {name: {"bytes": path.stat().st_size, "sha256": _sha256(path)} for name, path in _files(folder)}
    document = {**header, "files": files}
    document["manifest_sha256"] = _self_digest(document)
    data = _render(document)
    (folder / MANIFEST).write_bytes(data)
    return data


def _self_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical rendering without this field."""
    return hashlib.sha256(_render({k: v for k, v in document.items() if k != "manifest_sha256"})).hexdigest()


# -- verify -----------------------------------------------------------------------------------


def case_folders(folder: Path) -> list[Path]:
    """`folder` itself if it is an exported case, else every case folder inside it."""
    folder = Path(folder)
    if (folder / MANIFEST).is_file():
        return [folder]
    if not folder.is_dir():
        raise InputRejected(Problem("no such folder", file=str(folder)))
    found = sorted(p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file())
    if not found:
        raise InputRejected(Problem(f"no exported case record here (no {MANIFEST})", file=str(folder)))
    return found


def verify_case(folder: Path) -> list[RecordProblem]:
    """Every way the folder differs from what was exported, each naming its file; empty if intact."""
    manifest_path = folder / MANIFEST
    name = str(manifest_path)
    try:
        data = manifest_path.read_bytes()
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return [RecordProblem(name, "not a Clearance Desk record manifest")]
        if document.get("format_version") != FORMAT_VERSION:
            return [RecordProblem(name, f"format version {document.get('format_version')!r}; this application "
                                        f"reads version {FORMAT_VERSION}")]
        files = document["files"]
        if _render(document) != data or document.get("manifest_sha256") != _self_digest(document):
            return [RecordProblem(name, "changed since export (it is not the manifest as written)")]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        return [RecordProblem(name, f"unreadable or changed since export ({error})")]
    problems: list[RecordProblem] = []
    present = {rel: path for rel, path in _files(folder) if rel != MANIFEST}
    for rel, expected in sorted(files.items()):
        path = present.pop(rel, None)
        where = str(folder / rel)
        if path is None:
            problems.append(RecordProblem(where, "missing"))
        elif path.is_symlink():
            problems.append(RecordProblem(where, "is a link, not the exported file"))
        elif path.stat().st_size != expected.get("bytes") or _sha256(path) != expected.get("sha256"):
            problems.append(RecordProblem(where, f"changed since export (SHA-256 now {_sha256(path)[:16]}…, "
                                                 f"exported {str(expected.get('sha256'))[:16]}…)"))
    for rel in sorted(present):
        problems.append(RecordProblem(str(folder / rel), "not part of the exported set"))
    if not problems and "audit.json" in files:
        problems += _check_audit_slice(folder / "audit.json", document)
    if not problems and "trust.pem" in files:
        problems += _check_letter_signatures(folder, document)
    return problems


def _check_audit_slice(path: Path, manifest: dict[str, Any]) -> list[RecordProblem]:
    """Each event's hash recomputes from its fields; letter PDFs match the events that issued them."""
    try:
        document = json.loads(path.read_bytes())
        events = document["events"]
        head = document["chain_head"]
        previous, previous_hash = 0, ""
        issued: dict[str, str] = {}
        for event in events:
            fields = {k: event[k] for k in ("seq", "occurred_at", "actor", "action", "entity_type", "entity_id",
                                            "before", "after", "prev_hash")}
            if audit.event_hash(**fields) != event["hash"]:
                return [RecordProblem(str(path), f"event {event['seq']} does not hash to its recorded hash")]
            if event["seq"] <= previous or event["seq"] > head["seq"]:
                return [RecordProblem(str(path), f"event {event['seq']} is out of order or after the chain head")]
            if event["seq"] == previous + 1 and event["prev_hash"] != previous_hash:
                return [RecordProblem(str(path), f"event {event['seq']} does not link to event {previous}")]
            previous, previous_hash = event["seq"], event["hash"]
            if event["action"] == "letter.issue" and event["after"]:
                issued[event["entity_id"]] = json.loads(event["after"]).get("pdf_sha256", "")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [RecordProblem(str(path), f"not a readable audit slice ({error})")]
    problems = []
    files = manifest.get("files", {})
    for letter in manifest.get("letters", []):
        held = files.get(f"letters/{letter['number']}.pdf", {}).get("sha256")
        if not issued.get(letter["number"]) == letter["sha256"] == held:
            problems.append(RecordProblem(str(path.parent / "letters" / f"{letter['number']}.pdf"),
                                          "does not match the audit event that issued it"))
    return problems


def _check_letter_signatures(folder: Path, manifest: dict[str, Any]) -> list[RecordProblem]:
    """Each exported letter's own signature, against the CA certificates the record carries in `trust.pem`."""
    from desktop_app.letters.trust import TrustConfig, load_certificates
    from desktop_app.letters.verify import verify_signed_pdf

    pem = folder / "trust.pem"
    try:  # the anchors are the self-signed roots; the signers' certificates travel inside each PDF anyway
        roots = tuple(cert for cert in load_certificates(pem) if cert.self_signed != "no")
    except InputRejected as error:
        return [RecordProblem(str(pem), f"not readable certificates ({error})")]
    if not roots:
        return [RecordProblem(str(pem), "holds no root certificate to check the letters' signatures against")]
    problems = []
    for letter in manifest.get("letters", []):
        path = folder / "letters" / f"{letter['number']}.pdf"
        failed = [r for r in verify_signed_pdf(path.read_bytes(), TrustConfig(roots)) if not r.ok]
        if failed:
            problems.append(RecordProblem(str(path), f"its signature does not verify: {failed[0].name}: "
                                                     f"{failed[0].detail}"))
    return problems
