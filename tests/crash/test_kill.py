"""Crash safety: a worker killed with SIGKILL at random points never leaves a half-written record.

One data folder (SQLite in WAL mode) lives through every round. Each round forks a
worker (tests/crash/worker.py) that imports packages, creates and edits findings,
attaches evidence, moves submissions through the workflow and issues signed letters,
reporting each operation after its commit; after a random delay the worker is killed
with SIGKILL. Then, before the next round:

* `PRAGMA integrity_check` is ok and no foreign key dangles;
* the application starts on the folder (which cleans up the dead worker's staging);
* every operation the worker reported is in the audit trail, which verifies;
* every submission is whole (all the artifacts its import recorded), every letter has
  its signed PDF and its audit event, the queue's summary columns match the findings;
* every stored blob is referenced and matches its digest, every referenced blob exists,
  and nothing is left in staging.

Workers are forked by a fork server (worker.py serve) that imported everything once, so
a round costs the kill delay plus the checks, and 110 rounds fit in about a minute.
"""

from __future__ import annotations

import collections
import json
import os
import random
import select as io_select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from team_support import add_team
from desktop_app.domain import findings as finding_rules
from desktop_app.letters.pki import create_demo_pki
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services import audit
from desktop_app.services.context import ServiceContext, open_data_folder, referenced_blobs
from desktop_app.services.trust_store import TrustStoreService
from desktop_app.storage.models import (
    Artifact,
    AuditEvent,
    Evidence,
    Finding,
    Letter,
    Package,
    Submission,
)

from . import worker as crash_worker

pytestmark = pytest.mark.slow

WORKER = Path(crash_worker.__file__)
REPO = Path(__file__).resolve().parents[2]

KILLS = int(os.environ.get("CLEARANCE_DESK_KILLS", "110"))
PASSWORD = crash_worker.PASSWORD


def prepare(folder: Path, pki_dir: Path) -> Path:
    """A data folder with reviewers, a supervisor whose key is enrolled, and the trust set up."""
    ctx = open_data_folder(folder)
    try:
        admin = add_team(ctx, ("rev", "rev2", "sup"), password=PASSWORD)
        pki = create_demo_pki(pki_dir, supervisor_name="DEMO Supervisor Dana Supervisor")
        store = TrustStoreService(ctx)
        store.add_anchor(admin, pki.root_cert.read_bytes(), source="root-ca.pem")
        store.enrol(admin, "sup", Pkcs12Source(pki.supervisor_p12), crash_worker.PASSPHRASE)
        for crl in pki.crls:
            store.import_crl(admin, crl.read_bytes(), source=crl.name)
    finally:
        ctx.close()
    return pki.supervisor_p12


class ForkServer:
    """tests/crash/worker.py serving: forks workers from a fresh single-threaded process."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, str(WORKER), "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, *words: object) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(" ".join(map(str, words)) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def start(self, fifo: Path, seed: int, folder: Path, samples: Path, p12: Path, scratch: Path) -> tuple[int, int]:
        """Fork a worker reporting into `fifo`; returns (pid, read end of the fifo)."""
        if fifo.exists():
            fifo.unlink()
        os.mkfifo(fifo)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # before the worker opens it for writing
        return int(self.ask("run", seed, fifo, folder, samples, p12, scratch)), fd

    def reap(self, pid: int) -> int:
        return int(self.ask("reap", pid))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


#: Roughly how long each operation takes (ms): a targeted kill lands uniformly within it.
TYPICAL_MS = {"import": 25, "finding": 8, "evidence": 10, "transition": 6, "letter": 250}
#: Round by round: kill within an operation of this kind, or (None) after a random delay.
TARGETS = ("import", "finding", "transition", "letter", "evidence", None)


def kill_when(server: ForkServer, pid: int, fd: int, target: str | None,
              rnd: random.Random) -> list[dict[str, str]]:
    """Kill the worker at a random point (within the next `target` operation), reap it, return its lines."""
    buffer = bytearray()
    deadline = time.monotonic() + (rnd.uniform(0.0, 0.6) if target is None else 3.0)
    needle = json.dumps({"begin": target})[:-1].encode() if target else None
    while time.monotonic() < deadline:
        ready, _, _ = io_select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:  # no writer yet (the worker is still starting) or it went away
                time.sleep(0.001)
                continue
            buffer += chunk
            if needle is not None and needle in buffer:
                time.sleep(rnd.uniform(0.0, TYPICAL_MS[target] / 1000))
                break
    os.kill(pid, signal.SIGKILL)
    status = server.reap(pid)  # reaped: its staging area now belongs to nobody
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"the worker ended by itself ({status})"
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        buffer += chunk
    os.close(fd)
    return [json.loads(line) for line in buffer.decode().splitlines() if line]


class Checker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.reported: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.letters: dict[str, str] = {}
        self.packages: dict[str, str] = {}
        self.evidence: dict[str, str] = {}
        self.verified: set[str] = set()

    def note(self, lines: list[dict[str, str]]) -> None:
        for line in lines:
            if "action" not in line:
                continue
            self.reported[(line["action"], line["entity_type"], line["entity_id"])] += 1
            if line["action"] == "letter.issue":
                self.letters[line["entity_id"]] = line["pdf"]
            elif line["action"] == "submission.import":
                self.packages[line["package_id"]] = line["entity_id"]
            elif line["action"] == "evidence.attach_file":
                self.evidence[line["entity_id"]] = line["sha256"]

    def check(self) -> dict[str, int]:
        database = self.folder / "clearance-desk.sqlite3"
        raw = sqlite3.connect(database)
        try:
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            raw.close()
        ctx = open_data_folder(self.folder)  # the application starting: cleans up after the dead worker
        try:
            staging = ctx.blobs.staging_root
            assert not staging.exists() or not any(staging.iterdir()), list(staging.iterdir())
            with ctx.reading() as session:
                return self._check_rows(ctx, session)
        finally:
            ctx.close()

    def _check_rows(self, ctx: ServiceContext, session) -> dict[str, int]:  # noqa: ANN001
        events = collections.Counter(tuple(row) for row in session.execute(
            select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.entity_id)))
        missing = self.reported - events
        assert not missing, f"reported as committed but not in the database: {dict(missing)}"
        report = audit.verify_chain(audit.iter_events(session))
        assert report.ok, report.problem

        # submissions are whole: every artifact the import event recorded is a row
        imports = {e.entity_id: json.loads(e.after) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "submission.import"))}
        subs = {s.reference: s for s in session.scalars(select(Submission))}
        assert set(imports) == set(subs)
        for reference, recorded in imports.items():
            sub = subs[reference]
            rows = {(a.path, a.sha256) for a in session.scalars(select(Artifact).where(Artifact.submission_id == sub.id))}
            assert rows == {(a["path"], a["sha256"]) for a in recorded["artifacts"]}, reference
            package = session.scalar(select(Package).where(Package.submission_id == sub.id))
            assert package is not None and package.manifest_blob
            found = finding_rules.summarize(session.scalars(select(Finding).where(Finding.submission_id == sub.id)))
            assert (sub.open_findings, sub.highest_open_severity) == (found.open_count, found.highest_rank), reference
        for package_id, reference in self.packages.items():
            assert session.scalar(select(Package.submission_id).where(Package.package_id == package_id)) == \
                subs[reference].id

        # letters: registered, audited, their submission issued, their PDF as reported
        letters = {letter.number: letter for letter in session.scalars(select(Letter))}
        issued_events = {e for (action, _t, e) in events if action == "letter.issue"}
        assert set(letters) == issued_events
        for letter in letters.values():
            assert session.get(Submission, letter.submission_id).state == "ISSUED"  # type: ignore[union-attr]
        for number, pdf in self.letters.items():
            assert letters[number].pdf_sha256 == pdf
        sequences = sorted(letter.sequence for letter in letters.values())
        assert sequences == list(range(1, len(sequences) + 1)), "letter numbers have a gap"
        for evidence_id, digest in self.evidence.items():
            assert session.scalar(select(Evidence.blob_sha256).where(Evidence.id == int(evidence_id))) == digest

        # blobs: exactly the referenced ones, whole
        stored = set(ctx.blobs.all_digests())
        everything = stored | {d for (d,) in session.execute(select(Artifact.sha256))}
        referenced = referenced_blobs(ctx.engine, everything | set(self.letters.values())
                                      | {e for e in session.scalars(select(Evidence.blob_sha256)) if e}
                                      | {m for m in session.scalars(select(Package.manifest_blob)) if m}
                                      | {p for p in session.scalars(select(Letter.pdf_sha256))})
        assert referenced <= stored, f"referenced blobs missing: {referenced - stored}"
        assert stored <= referenced, f"blobs nobody refers to: {stored - referenced}"
        for digest in stored - self.verified:
            ctx.blobs.verify(digest)
            self.verified.add(digest)
        return {"submissions": len(subs), "letters": len(letters), "events": report.events, "blobs": len(stored)}


def test_sigkill_at_random_points_leaves_nothing_half_written(tmp_path: Path, samples_dir: Path) -> None:
    folder = tmp_path / "data"
    p12 = prepare(folder, tmp_path / "pki")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    checker = Checker(folder)
    rnd = random.Random(int(os.environ.get("CLEARANCE_DESK_KILL_SEED", "20261127")))
    interrupted: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    server = ForkServer()
    for round_number in range(KILLS):
        pid, fd = server.start(tmp_path / "report", round_number, folder, samples_dir, p12, scratch)
        lines = kill_when(server, pid, fd, TARGETS[round_number % len(TARGETS)], rnd)
        checker.note(lines)
        in_flight = bool(lines) and "begin" in lines[-1]
        interrupted[lines[-1]["begin"] if in_flight else "start-up" if not lines else "between operations"] += 1
        figures = checker.check()
    server.close()
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{kind} {n}" for kind, n in interrupted.most_common())
    print(f"\n{KILLS} kills in {elapsed:.0f} s; killed during: {summary}; data folder: {figures}; "
          f"{sum(checker.reported.values())} committed operations reported and found")
    for kind in ("import", "finding", "transition", "letter"):
        assert interrupted[kind] > 0, f"no kill landed during a {kind}: {summary}"
    assert figures["letters"] > 0 and figures["submissions"] > 0
