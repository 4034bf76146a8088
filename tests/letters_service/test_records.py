"""Case records that outlive the workstation: export one folder per case, verify it without the database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop_app.app import main

DEMO_PASSWORD = "clearance-demo"


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", DEMO_PASSWORD)


def _closed_cases(demo: Path) -> list[str]:
    with sqlite3.connect(demo / "clearance-desk.sqlite3") as db:
        return [r for (r,) in db.execute("SELECT reference FROM submissions WHERE state IN "
                                         "('ISSUED', 'REFUSED', 'WITHDRAWN') ORDER BY id")]


def test_export_then_verify_passes_and_any_changed_byte_names_its_file(demo: Path, tmp_path: Path, password: None,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "records"
    assert main(["--data-dir", str(demo), "records", "export", "--closed-before", "2100-01-01", str(out),
                 "--as", "supervisor"]) == 0
    closed = _closed_cases(demo)
    assert closed and sorted(p.name for p in out.iterdir()) == sorted(closed)
    capsys.readouterr()
    case = out / closed[0]
    names = {p.relative_to(case).as_posix() for p in case.rglob("*") if p.is_file()}
    assert {"review-record.pdf", "artifacts.json", "audit.json", "manifest.json", "trust.pem"} <= names
    assert any(name.startswith("letters/CL-") for name in names)
    manifest = json.loads((case / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json"} and manifest["reference"] == closed[0]
    slice_ = json.loads((case / "audit.json").read_text())
    assert slice_["events"] and slice_["chain_head"]["seq"] >= slice_["events"][-1]["seq"]
    artifacts = json.loads((case / "artifacts.json").read_text())
    assert artifacts["artifacts"] and all(len(a["sha256"]) == 64 for a in artifacts["artifacts"])

    assert main(["records", "verify", str(out)]) == 0
    assert capsys.readouterr().out.count(": intact") == len(closed)

    every_file = sorted(p for p in out.rglob("*") if p.is_file())
    for path in every_file:
        original = path.read_bytes()
        its_case = out / path.relative_to(out).parts[0]  # the folder of all cases was verified whole above
        for offset in (0, len(original) // 2, len(original) - 1):
            changed = bytearray(original)
            changed[offset] ^= 0x01
            path.write_bytes(bytes(changed))
            assert main(["records", "verify", str(its_case)]) == 1, (path, offset)
            err = capsys.readouterr().err.splitlines()
            assert err and all(line.startswith(f"error: {path}: ") for line in err), (path, offset, err)
            path.write_bytes(original)
    assert main(["records", "verify", str(out)]) == 0


def test_added_or_missing_files_and_the_export_event(demo: Path, tmp_path: Path, password: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    reference = _closed_cases(demo)[0]
    out = tmp_path / "one"
    assert main(["--data-dir", str(demo), "records", "export", reference, str(out), "--as", "admin"]) == 0
    capsys.readouterr()
    case = out / reference
    (case / "letters" / "CL-2099-0001.pdf").write_bytes(b"%PDF-1.7 not one of ours")
    assert main(["records", "verify", str(case)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {case / 'letters' / 'CL-2099-0001.pdf'}: not part of the exported set"]
    (case / "letters" / "CL-2099-0001.pdf").unlink()
    (case / "review-record.pdf").unlink()
    assert main(["records", "verify", str(case)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: {case / 'review-record.pdf'}: missing"]

    # the export is an audited event carrying the manifest's digest; the chain still verifies
    with sqlite3.connect(demo / "clearance-desk.sqlite3") as db:
        actor, after = db.execute("SELECT actor, after FROM audit_events WHERE action = 'records.export'").fetchone()
    assert actor == "admin" and json.loads(after)["manifest_sha256"]
    assert main(["--data-dir", str(demo), "audit", "verify"]) == 0
    # a second export to the same place overwrites nothing
    assert main(["--data-dir", str(demo), "records", "export", reference, str(out), "--as", "admin"]) == 1
    assert "exists already; nothing was overwritten" in capsys.readouterr().err


def test_a_reviewer_may_not_export_records_and_the_refusal_is_audited(demo: Path, tmp_path: Path, password: None,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    reference = _closed_cases(demo)[0]
    assert main(["--data-dir", str(demo), "records", "export", reference, str(tmp_path / "r"), "--as",
                 "reviewer"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: Only a supervisor or an administrator may export case records."]
    assert not (tmp_path / "r").exists()
    with sqlite3.connect(demo / "clearance-desk.sqlite3") as db:
        refused = db.execute("SELECT count(*) FROM audit_events WHERE actor = 'reviewer' AND action LIKE '%refus%'"
                             ).fetchone()[0]
    assert refused >= 1


@pytest.mark.parametrize("args", [["records", "export", "CD-2026-0001"], ["records", "export", "--closed-before",
                                                                          "2026-01-01", "a", "b"]])
def test_records_export_usage(demo: Path, args: list[str], password: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(demo), *args, "--as", "admin"]) == 2
    assert "records export" in capsys.readouterr().err


def test_verify_of_a_folder_without_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "verify", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip().endswith("no exported case record here (no manifest.json)")


def test_a_rewritten_manifest_does_not_hide_a_changed_letter_or_trust(demo: Path, tmp_path: Path, password: None,
                                                                       forged_pki,  # noqa: ANN001
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Someone who edits a file and then writes a consistent manifest is still caught by the record's own links."""
    from desktop_app.services import records

    reference = _closed_cases(demo)[0]
    out = tmp_path / "rw"
    assert main(["--data-dir", str(demo), "records", "export", reference, str(out), "--as", "admin"]) == 0
    case = out / reference
    header = {k: v for k, v in json.loads((case / "manifest.json").read_text()).items()
              if k not in ("files", "manifest_sha256")}

    def rewrite_manifest() -> None:
        (case / "manifest.json").unlink()
        records._manifest(case, header)

    letter = next((case / "letters").glob("CL-*.pdf"))
    original = letter.read_bytes()
    letter.write_bytes(original + b"%% appended\n")
    rewrite_manifest()
    capsys.readouterr()
    assert main(["records", "verify", str(case)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {letter}: does not match the audit event that issued it"]

    letter.write_bytes(original)
    (case / "trust.pem").write_bytes(forged_pki.root_cert.read_bytes())  # a look-alike root, other keys
    rewrite_manifest()
    assert main(["records", "verify", str(case)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith(f"error: {case / 'letters'}") and "signature does not verify" in line
                       for line in err)
