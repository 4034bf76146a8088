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
        kinds = {kind: decision for kind, decision in db.execute("SELECT kind, decision FROM letters")}
        decisions = {row[0] for row in db.execute("SELECT decision FROM letters WHERE kind = 'clearance'")}
        waiting = db.execute("SELECT count(*) FROM submissions WHERE state = 'AWAITING_SIGNOFF'").fetchone()[0]
    assert decisions == {d.value for d in Decision}, built.stdout
    assert {"refusal", "information-request"} <= set(kinds)
    assert waiting >= 1  # one is left for a user to approve and sign

    out = tmp_path / "letters"
    assert main(["--data-dir", str(data_dir), "letters", "export", str(out)]) == 0
    letters = sorted(out.glob("CL-*.pdf"))
    assert len(letters) == sum(1 for _ in capsys.readouterr().out.splitlines()) >= 5
    root = data_dir / "demo-pki" / "root-ca.pem"
    checks = [start_checker(pdf, root, tmp_path) for pdf in letters]
    for pdf in letters:
        assert main(["--data-dir", str(data_dir), "verify", str(pdf)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.rstrip().endswith("verifies")
    for pdf, check in zip(letters, checks, strict=True):
        stdout, _ = check.communicate(timeout=120)
        assert check.returncode == 0, f"{pdf.name}: {stdout[-1500:]}"
        assert stdout.rstrip().splitlines()[-1].startswith("PASS")
