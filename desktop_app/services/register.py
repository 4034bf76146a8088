"""The letter register as anyone may read it: every letter, its status, filters, CSV with the handling marking.

The status is one word, "valid", "revoked" or "superseded", with the detail beside it
(the reason, the successor). CSV files carry the agency's handling marking as their
first and last line, like the letters' banners, and each cell is neutralised against
spreadsheet formulas. `export` writes every letter's PDF to a folder and `write_index` gives an exported folder of letters its `index.csv`,
so the set says which letters still stand and which file is which.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import LetterKind
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext

STATUSES = ("valid", "revoked", "superseded")
CSV_HEADER = ("Letter", "Kind", "Decision", "Submission", "Model", "Signer", "Issued (UTC)", "Status",
              "Status detail", "Supersedes", "Concerns", "PDF SHA-256")
#: how a letter relates to the earlier letter it names, by its kind (any other kind: "replaces")
_RELATIONS = {LetterKind.REVOCATION: "revokes", LetterKind.CORRECTED: "corrects and replaces",
              LetterKind.CONDITIONS_MET: "conditions met for"}
INDEX_NAME = "index.csv"


@dataclass(frozen=True)
class RegisterRow:
    letter_id: int
    submission_id: int
    number: str
    kind: LetterKind
    decision: str
    reference: str
    model: str
    signer: str
    issued_at: dt.datetime
    status: str
    status_detail: str
    supersedes: str
    pdf_sha256: str
    #: the letter a revocation or conditions-met notice is about ("" = none)
    concerns: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.number}.pdf"

    @property
    def about(self) -> str:
        """Which earlier letter this one concerns, in words: "revokes CL-2026-0003" ("" = none)."""
        earlier = self.supersedes or self.concerns
        return f"{_RELATIONS.get(self.kind, 'replaces')} {earlier}" if earlier else ""

    def csv_row(self) -> list[str]:
        return [self.number, self.kind.value, self.decision, self.reference, self.model, self.signer,
                f"{self.issued_at:%Y-%m-%d %H:%M}", self.status, self.status_detail, self.supersedes,
                self.concerns, self.pdf_sha256]

    def matches(self, text: str) -> bool:
        needle = text.strip().casefold()
        return not needle or any(needle in value.casefold() for value in
                                 (self.number, self.reference, self.model, self.signer, self.decision,
                                  self.kind.value, self.status_detail, self.about))


@dataclass(frozen=True)
class RegisterFilter:
    kind: LetterKind | None = None
    status: str | None = None
    text: str = ""

    def keeps(self, row: RegisterRow) -> bool:
        return ((self.kind is None or row.kind is self.kind) and (self.status is None or row.status == self.status)
                and row.matches(self.text))


class RegisterService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def rows(self, flt: RegisterFilter = RegisterFilter()) -> list[RegisterRow]:  # noqa: B008
        """Every letter, oldest first, as the register says now."""
        from desktop_app.services.letters import LetterService
        from desktop_app.storage.models import Submission

        entries = LetterService(self.ctx).register()
        with self.ctx.reading() as session:
            models = {i: f"{name} {version}" for i, name, version in session.execute(
                select(Submission.id, Submission.model_name, Submission.model_version))}
        rows = []
        for entry in entries:
            if entry.revoked:
                status, detail = "revoked", entry.revocation_reason
            elif entry.superseded_by:
                status, detail = "superseded", f"by {entry.superseded_by}"
            else:
                status, detail = "valid", ""
            rows.append(RegisterRow(entry.id, entry.submission_id, entry.number, entry.kind,
                                    entry.decision.label if entry.decision else "", entry.reference,
                                    models.get(entry.submission_id, ""), entry.signer, entry.issued_at, status,
                                    detail, entry.supersedes or "", entry.pdf_sha256, entry.concerns or ""))
        return [row for row in rows if flt.keeps(row)]

    def marking(self) -> str:
        from desktop_app.services.settings import SettingsService

        return str(SettingsService(self.ctx).get("handling_marking"))

    def export_csv(self, actor: Actor, target: Path, flt: RegisterFilter = RegisterFilter()) -> int:  # noqa: B008
        """The (filtered) register as CSV between two handling-marking lines; audited; returns the rows written."""
        from desktop_app.domain.errors import PermissionDenied
        from desktop_app.storage.models import User

        rows = self.rows(flt)
        data = register_csv(rows, self.marking())
        with self.ctx.transaction() as session:
            user = session.get(User, actor.user_id)
            if user is None or not user.active:
                raise PermissionDenied("Your account is no longer active; sign in again.")
            audit.record(session, actor=actor.username, action="letters.export_register", entity_type="register",
                         entity_id=Path(target).name, now=self.ctx.now(),
                         after={"rows": len(rows), "kind": flt.kind.value if flt.kind else None,
                                "status": flt.status, "search": flt.text})
        _write_atomically(Path(target), data)
        return len(rows)

    def export(self, folder: Path) -> list[Path]:
        """Every issued letter as CL-….pdf, and `index.csv` with each one's status and SHA-256.

        An identical PDF already there is kept, a different one refused.
        """
        from desktop_app.services.letters import LetterService, write_new

        letters = LetterService(self.ctx)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for entry in letters.register():
            target = folder / entry.file_name
            data = letters.pdf(entry.id)
            if target.exists():
                if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == entry.pdf_sha256:
                    written.append(target)
                    continue
                raise InputRejected(Problem("exists and is not this letter; nothing was overwritten",
                                            file=str(target)))
            write_new(target, data)
            written.append(target)
        self.write_index(folder)  # rewritten each time: statuses change, PDFs never do
        return written

    def write_index(self, folder: Path) -> Path:
        """`index.csv` in a folder of exported letters: each letter's status and SHA-256, marked."""
        target = Path(folder) / INDEX_NAME
        _write_atomically(target, register_csv(self.rows(), self.marking()))
        return target


def register_csv(rows: Iterable[RegisterRow], marking: str) -> bytes:
    from desktop_app.domain.spreadsheet import csv_cell

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([marking])
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row.csv_row()])
    writer.writerow([marking])
    return out.getvalue().encode("utf-8")


def _write_atomically(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputRejected(Problem(f"cannot write: {error.strerror}", file=str(target))) from None
