"""The repository stands alone: a copy of the committed tree, with nothing beside it, runs the suite.

The suite once read sample packages and the independent letter checker from a folder next
to the clone, so a user's clone skipped what CI ran. These tests copy `git ls-files` into an
empty temporary folder and prove the copy needs nothing outside itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not trip its own checks (nor any other scan for the folder).
BESIDE = "sha" + "red"
SKIP_CALLS = re.compile(r"pytest\.(?:" + "skip" + r"\(|" + "importorskip" + r"|mark\." + "skipif" + r")")
OUTSIDE_PATHS = re.compile(r"""(\.\./|parents?\[\d\]\s*/\s*|parent\s*/\s*)["']?""" + BESIDE + r"""\b""")


@pytest.fixture(scope="module")
def copied_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed files (plus work in progress) in a folder whose parent holds nothing else."""
    require_git()
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    copy = tmp_path_factory.mktemp("alone") / "clearance-desk"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    assert sorted(path.name for path in copy.parent.iterdir()) == ["clearance-desk"]
    return copy


def require_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("these tests copy the committed tree: run them in a git clone with git installed", pytrace=False)


def run_pytest(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env["PYTHONPATH"] = str(copy)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", *args], cwd=copy,
                          capture_output=True, text=True, env=env, timeout=600)


def test_nothing_in_the_project_names_the_folder_beside_it(copied_tree: Path) -> None:
    offenders = [f"{path.relative_to(copied_tree)}:{number}: {line.strip()}"
                 for folder in ("desktop_app", "tests", "scripts", "benchmarks", ".ci")
                 for path in sorted((copied_tree / folder).rglob("*"))
                 if path.is_file() and path.suffix != ".png" and path.name != Path(__file__).name
                 for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
                 if OUTSIDE_PATHS.search(line)]
    assert offenders == []


def test_the_check_for_outside_paths_would_notice() -> None:
    for line in (f'SAMPLES = Path(__file__).resolve().parents[3] / "{BESIDE}" / "samples"',
                 f'TOOL = ROOT.parent / "{BESIDE}" / "tools"', f"bash ../{BESIDE}/tools/verify_signed_pdf.sh"):
        assert OUTSIDE_PATHS.search(line), line
    assert not OUTSIDE_PATHS.search(f'{BESIDE} = tmp_path / "{BESIDE}-blobs"')


def test_no_test_skips_itself(copied_tree: Path) -> None:
    offenders = [f"{path.relative_to(copied_tree)}:{number}"
                 for path in sorted((copied_tree / "tests").rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), start=1) if SKIP_CALLS.search(line)]
    assert offenders == [], "a skipped test proves nothing; fail with repo_support.require_tools instead"


def test_the_copy_collects_the_whole_suite(copied_tree: Path) -> None:
    here = run_pytest(ROOT, "--collect-only", "-q")
    there = run_pytest(copied_tree, "--collect-only", "-q")
    assert there.returncode == 0, there.stdout[-3000:] + there.stderr[-3000:]
    count = re.compile(r"^(\d+) tests? collected", re.M)
    assert count.search(there.stdout) and count.search(there.stdout)[1] == count.search(here.stdout)[1]


def test_samples_and_the_independent_checker_work_in_the_copy(copied_tree: Path) -> None:
    """Tests that once skipped in a lone clone: shipped samples, the independent checker, the QR decoder."""
    chosen = ["tests/intake/test_staging.py", "tests/letters/test_signing.py", "tests/letters/test_render.py"]
    out = run_pytest(copied_tree, "-q", *chosen)
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert re.fullmatch(r"\d+ passed in .*", last), last
