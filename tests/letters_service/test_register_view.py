"""The letter register anyone may read: statuses, filters, CSV with the handling marking, index.csv on export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest

from desktop_app.app import main
from desktop_app.domain.types import LetterKind
from desktop_app.services.context import open_data_folder
from desktop_app.services.letters import LetterService
from desktop_app.services.register import CSV_HEADER, RegisterFilter, RegisterService
from desktop_app.services.users import UserService

DEMO_PASSWORD = "clearance-demo"


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_statuses_filters_and_the_marked_csv(demo: Path, tmp_path: Path) -> None:
    ctx = open_data_folder(demo)
    try:
        register = RegisterService(ctx)
        rows = register.rows()
        # the demo corrects one clearance letter and revokes another, each with its signed letter
        assert len(rows) >= 5 and {row.status for row in rows} == {"valid", "revoked", "superseded"}
        already = [r.number for r in register.rows(RegisterFilter(status="revoked"))]
        not_valid = sum(1 for r in rows if r.status != "valid")
        supervisor = UserService(ctx).authenticate("supervisor", DEMO_PASSWORD)
        letters = LetterService(ctx)
        letters.revoke(supervisor, rows[0].letter_id, "Sent to the wrong developer.", password=DEMO_PASSWORD)
        rows = register.rows()
        assert (rows[0].status, rows[0].status_detail) == ("revoked", "Sent to the wrong developer.")
        assert sorted(r.number for r in register.rows(RegisterFilter(status="revoked"))) == sorted(
            [rows[0].number, *already])
        clearances = register.rows(RegisterFilter(kind=LetterKind.CLEARANCE))
        assert clearances and all(r.kind is LetterKind.CLEARANCE for r in clearances)
        assert [r.number for r in register.rows(RegisterFilter(text=rows[1].reference.lower()))] == [
            r.number for r in rows if r.reference == rows[1].reference]
        assert register.rows(RegisterFilter(text="no such letter anywhere")) == []
        assert all(r.signer and r.model and r.issued_at for r in rows)

        admin = UserService(ctx).authenticate("admin", DEMO_PASSWORD)
        target = tmp_path / "register.csv"
        valid = len(rows) - not_valid - 1
        assert register.export_csv(admin, target, RegisterFilter(status="valid")) == valid
        table = _csv(target.read_bytes())
        marking = register.marking()
        assert table[0] == [marking] and table[-1] == [marking] and tuple(table[1]) == CSV_HEADER
        assert {line[7] for line in table[2:-1]} == {"valid"} and len(table) == valid + 3
    finally:
        ctx.close()
    db = sqlite3.connect(demo / "clearance-desk.sqlite3")
    exported = db.execute("SELECT actor, after FROM audit_events WHERE action = 'letters.export_register'").fetchall()
    db.close()
    assert exported[0][0] == "admin" and json.loads(exported[0][1])["status"] == "valid"


def test_each_notice_names_the_letter_it_concerns(demo: Path, tmp_path: Path) -> None:
    """The demo's revocation notice and corrected letter: the register says which letter each is about."""
    ctx = open_data_folder(demo)
    try:
        register = RegisterService(ctx)
        rows = {row.number: row for row in register.rows()}
        [notice] = [row for row in rows.values() if row.kind is LetterKind.REVOCATION]
        [corrected] = [row for row in rows.values() if row.kind is LetterKind.CORRECTED]
        assert notice.concerns and rows[notice.concerns].status == "revoked"
        assert notice.about == f"revokes {notice.concerns}"
        assert corrected.supersedes and corrected.about == f"corrects and replaces {corrected.supersedes}"
        assert rows[corrected.supersedes].status_detail == f"by {corrected.number}"
        assert all(row.about == "" for row in rows.values() if row.kind is LetterKind.INFORMATION_REQUEST)
        # searching for a letter finds the notices about it too
        assert {r.number for r in register.rows(RegisterFilter(text=notice.concerns))} == {notice.concerns,
                                                                                            notice.number}
        admin = UserService(ctx).authenticate("admin", DEMO_PASSWORD)
        register.export_csv(admin, tmp_path / "register.csv")
        table = _csv((tmp_path / "register.csv").read_bytes())
        by_number = {line[0]: dict(zip(CSV_HEADER, line, strict=True)) for line in table[2:-1]}
        assert by_number[notice.number]["Concerns"] == notice.concerns
        assert by_number[corrected.number]["Supersedes"] == corrected.supersedes
    finally:
        ctx.close()


def test_letters_export_writes_an_index_with_status_and_sha256(demo: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "letters"
    assert main(["--data-dir", str(demo), "letters", "export", str(out)]) == 0
    assert "index.csv" in capsys.readouterr().err
    table = _csv((out / "index.csv").read_bytes())
    assert table[0] == table[-1] and table[0][0]  # the handling marking, top and bottom
    lines = table[2:-1]
    pdfs = sorted(out.glob("CL-*.pdf"))
    assert sorted(line[0] for line in lines) == [p.stem for p in pdfs]
    assert {line[7] for line in lines} == {"valid", "revoked", "superseded"}  # the demo's correction and revocation
    for line in lines:
        assert line[11] == hashlib.sha256((out / f"{line[0]}.pdf").read_bytes()).hexdigest()
    # a second export keeps the PDFs and refreshes the index
    assert main(["--data-dir", str(demo), "letters", "export", str(out)]) == 0
