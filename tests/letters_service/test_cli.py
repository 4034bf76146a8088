"""`clearance-desk verify` and `letters export`: each check printed, exit 0 or 1 naming the failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.app import main



@pytest.fixture
def ctx(issued_folder):  # noqa: ANN001, ANN201 - a copy of one folder with CL-2026-0001 issued
    return issued_folder[0]


@pytest.fixture
def data_dir(issued_folder) -> Path:  # noqa: ANN001
    return issued_folder[1].root


@pytest.fixture
def letter(ctx, issued_folder, tmp_path) -> Path:  # noqa: ANN001
    from desktop_app.services.letters import LetterService

    path = tmp_path / "received.pdf"
    path.write_bytes(LetterService(ctx).pdf(issued_folder[1].letter_id))
    return path


def test_verify_prints_every_check_and_exits_0(data_dir, letter, capsys) -> None:  # noqa: ANN001
    assert main(["--data-dir", str(data_dir), "verify", str(letter)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 11 and all(line.startswith("ok  ") for line in out[:10])
    assert out[-1] == f"{letter}: letter CL-2026-0001 verifies"


@pytest.mark.parametrize(("change", "check"), [
    (lambda pdf: pdf + b" ", "covers the whole file"),
    (lambda pdf: pdf[:-300], "signature present"),
    (lambda pdf: pdf.replace(b"/Producer", b"/Producex", 1), "signature intact"),
])
def test_verify_exits_1_naming_the_failing_check(data_dir, letter, tmp_path, capsys, change, check) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(change(letter.read_bytes()))
    assert main(["--data-dir", str(data_dir), "verify", str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"error: {bad}: {check}:" in captured.err and "Traceback" not in captured.err
    assert f"FAIL  {check}:" in captured.out


def test_verify_with_only_a_trust_flag_and_unreadable_input(data_dir, letter, pki, tmp_path, capsys) -> None:  # noqa: ANN001
    assert main(["--data-dir", str(data_dir), "verify", str(letter), "--trust", str(pki.root_cert)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "verify", str(tmp_path / "missing.pdf")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path / "nowhere"), "verify", str(letter)]) == 1
    assert "no Clearance Desk data folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere" / "clearance-desk.sqlite3").exists()
    assert main(["--data-dir", str(data_dir), "verify"]) == 2


def test_export_then_verify_in_a_separate_process(data_dir, letter, tmp_path, ctx) -> None:  # noqa: ANN001
    ctx.close()
    env = {k: v for k, v in os.environ.items() if k != "CLEARANCE_DESK_PASSWORD"}
    out = tmp_path / "export"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), *args],
                              capture_output=True, text=True, env=env, timeout=120)

    exported = cli("letters", "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.split() == [str(out / "CL-2026-0001.pdf")]
    assert (out / "CL-2026-0001.pdf").read_bytes() == letter.read_bytes()
    (out / "CL-2026-0001.pdf").write_bytes(letter.read_bytes() + b"\n")
    failed = cli("verify", str(out / "CL-2026-0001.pdf"))
    assert failed.returncode == 1 and "covers the whole file" in failed.stderr and "Traceback" not in failed.stderr
    assert failed.stdout.count("ok  ") == 8 and failed.stdout.count("FAIL") == 2
