"""The demo folder's letters: every one passes the independent checker and `clearance-desk verify`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.app import main
from desktop_app.domain.types import Decision

from repo_support import start_checker


def test_every_demo_letter_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != "CLEARANCE_DESK_PASSWORD"}
    built = subprocess.run([sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), "demo"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    with sqlite3.connect(data_dir / "clearance-desk.sqlite3") as db:
        kinds = {kind for (kind,) in db.execute("SELECT kind FROM letters")}
        decisions = {row[0] for row in db.execute("SELECT decision FROM letters WHERE kind = 'clearance'")}
        waiting = db.execute("SELECT count(*) FROM submissions WHERE state = 'AWAITING_SIGNOFF'").fetchone()[0]
        withdrawn = {number for (number,) in db.execute(
            "SELECT number FROM letters WHERE id IN (SELECT letter_id FROM letter_revocations) "
            "OR id IN (SELECT supersedes_id FROM letters WHERE supersedes_id IS NOT NULL)")}
        hand_cleared = db.execute(
            "SELECT count(*) FROM letters JOIN submissions ON submissions.id = letters.submission_id "
            "WHERE letters.kind = 'clearance' AND submissions.registered_by_hand").fetchone()[0]
    assert decisions == {d.value for d in Decision}, built.stdout
    assert {"refusal", "information-request", "corrected", "revocation"} <= kinds
    assert hand_cleared >= 1  # a submission registered by hand, without a manifest, is cleared too
    assert waiting >= 1  # one is left for a user to approve and sign

    out = tmp_path / "letters"
    assert main(["--data-dir", str(data_dir), "letters", "export", str(out)]) == 0
    letters = sorted(out.glob("CL-*.pdf"))
    assert len(letters) == sum(1 for _ in capsys.readouterr().out.splitlines()) >= 9
    standing = [pdf for pdf in letters if pdf.stem not in withdrawn]
    assert len(withdrawn) == 2 and len(standing) == len(letters) - 2
    root = data_dir / "demo-pki" / "root-ca.pem"
    checks = [start_checker(pdf, root, tmp_path) for pdf in letters]
    meanings = set()
    for pdf in letters:
        status = main(["--data-dir", str(data_dir), "verify", str(pdf)])
        output = capsys.readouterr()
        if pdf in standing:
            assert status == 0, output.err
            assert output.out.rstrip().endswith("verifies")
        else:  # the corrected and the revoked letter: a valid signature the register no longer stands behind
            assert status == 1 and ("superseded by" in output.out + output.err or "revoked" in output.out + output.err)
        text = " ".join(subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
        meaning = text.split("Meaning of signature: ", 1)[1].split(" Audit-chain head", 1)[0]
        assert meaning.startswith("Issued — ") and "Approved" not in text
        meanings.add(meaning)
    assert {"Issued — outcome of pre-release security evaluation: cleared",
            "Issued — outcome of pre-release security evaluation: cleared with conditions",
            "Issued — outcome of pre-release security evaluation: not cleared",
            "Issued — notice of refusal to accept a submission",
            "Issued — request for additional information"} <= meanings
    assert any(m.startswith("Issued — corrected letter replacing CL-") for m in meanings)
    assert any(m.startswith("Issued — notice of revocation of letter CL-") for m in meanings)
    for pdf, check in zip(letters, checks, strict=True):
        stdout, _ = check.communicate(timeout=120)
        assert check.returncode == 0, f"{pdf.name}: {stdout[-1500:]}"
        assert stdout.rstrip().splitlines()[-1].startswith("PASS")
