"""SIGKILL at the exact points the random harness reaches only by luck.

Between renaming staged blobs into the store and committing the rows that refer to
them there is a window of about a millisecond; a kill there must not leave blobs that
nothing refers to, and a kill just after the commit must not lose the blobs. A kill
halfway through writing a blob leaves only staging, which the next start removes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.services.context import ServiceContext, open_data_folder
from desktop_app.storage.models import Letter, Submission

from . import worker as crash_worker
from .test_kill import REPO, WORKER, prepare



def die_in_scenario(name: str, folder: Path, samples_dir: Path, p12: Path, scratch: Path,
                    submission: int = 0) -> None:
    """Run a scenario of tests/crash/worker.py in a process of its own; it must SIGKILL itself."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(WORKER), "scenario", name, str(folder), str(samples_dir), str(p12),
                           str(scratch), str(submission)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == -signal.SIGKILL, f"{name}: not killed ({done.returncode}): {done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("kill-points")
    return root / "data", prepare(root / "data", root / "pki")


@pytest.fixture
def folder(template: tuple[Path, Path], tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(template[0], tmp_path / "data"))


def counts(folder: Path) -> tuple[int, set[str], list[str]]:
    """(submissions, blobs in the store, what is left in staging) as the next start sees them."""
    ctx = open_data_folder(folder)
    try:
        with ctx.reading() as session:
            subs = session.scalar(select(func.count()).select_from(Submission)) or 0
        staging = ctx.blobs.staging_root
        return subs, set(ctx.blobs.all_digests()), sorted(p.name for p in staging.iterdir()) if staging.exists() else []
    finally:
        ctx.close()


def test_killed_between_promotion_and_commit(folder: Path, template: tuple[Path, Path], samples_dir: Path,
                                             tmp_path: Path) -> None:
    before = counts(folder)
    die_in_scenario("import-after-promotion", folder, samples_dir, template[1], tmp_path)
    assert counts(folder) == before  # no submission, and its blobs were taken back at start


def test_killed_just_after_the_commit(folder: Path, template: tuple[Path, Path], samples_dir: Path,
                                      tmp_path: Path) -> None:
    subs, blobs, _ = counts(folder)
    die_in_scenario("import-after-commit", folder, samples_dir, template[1], tmp_path)
    after_subs, after_blobs, staging = counts(folder)
    assert after_subs == subs + 1 and len(after_blobs - blobs) == 5 and staging == []  # 4 artifacts + manifest


def test_killed_halfway_through_writing_a_blob(folder: Path, template: tuple[Path, Path], samples_dir: Path,
                                               tmp_path: Path) -> None:
    before = counts(folder)
    die_in_scenario("import-halfway-through-a-blob", folder, samples_dir, template[1], tmp_path)
    assert counts(folder) == before


def test_killed_letter_gives_its_number_back(folder: Path, template: tuple[Path, Path], samples_dir: Path,
                                             tmp_path: Path) -> None:
    """A kill after the signed PDF is in the store but before the commit: no letter, no PDF, no gap."""
    p12 = template[1]
    ctx = open_data_folder(folder)
    try:
        worker = crash_worker.Worker(ctx, 7, os.open(os.devnull, os.O_WRONLY), samples_dir, p12, tmp_path)
        sids = []
        for _ in range(2):
            worker.import_package()
            sid = max(_ids(ctx))
            rev, sup = worker.people["rev"], worker.people["sup"]
            worker.workflow.accept_and_assign(sup, sid, rev.user_id)
            worker.workflow.submit_recommendation(rev, sid, "CLEARED", "Nothing found.")
            sids.append(sid)
    finally:
        ctx.close()
    before = counts(folder)
    die_in_scenario("letter-after-promotion", folder, samples_dir, p12, tmp_path, sids[0])
    assert counts(folder) == before
    ctx = open_data_folder(folder)
    try:
        worker = crash_worker.Worker(ctx, 9, os.open(os.devnull, os.O_WRONLY), samples_dir, p12, tmp_path)
        issued = worker.letters.approve_and_issue(worker.people["sup"], sids[1], password=crash_worker.PASSWORD,
                                                  source=crash_worker.Pkcs12Source(p12),
                                                  secret=crash_worker.PASSPHRASE, conditions_due=worker.due())
        assert issued.number.endswith("-0001")
        with ctx.reading() as session:
            assert session.scalar(select(func.count()).select_from(Letter)) == 1
    finally:
        ctx.close()


def _ids(ctx: ServiceContext) -> list[int]:
    with ctx.reading() as session:
        return list(session.scalars(select(Submission.id)))
