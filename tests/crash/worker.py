"""The worker the kill harness shoots: imports, finding edits, evidence, transitions, letters.

`run(data_dir, seed, report_fd)` opens the data folder (cleaning up after the previous
worker as the application does at start) and performs random operations on it until
it is killed. After each operation's transaction has committed it writes one JSON line
naming the audit event the operation must have left: (action, entity type, entity id).
Each line is a single write() to a pipe, so it arrives whole or not at all.

Run as a script this module is the harness's fork server (`serve`): a fresh,
single-threaded process that imports everything once and forks one worker per round,
so no worker is forked from the test process (whose Qt and SQLAlchemy threads would
make fork() unsafe) and none pays for the imports. `scenario NAME …` runs one of the
kill-point scenarios of test_kill_points.py in a process of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import sys
import time
from hashlib import sha256
from pathlib import Path

from sqlalchemy import select

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.domain.findings import FindingDraft
from desktop_app.domain.types import Decision, SubmissionState
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.context import Actor, ServiceContext, open_data_folder
from desktop_app.services.findings import FindingService
from desktop_app.services.intake import IntakeService
from desktop_app.services.letters import LetterService
from desktop_app.services.users import UserService
from desktop_app.services.workflow import WorkflowService
from desktop_app.storage.models import Finding, Submission

PASSWORD = "correct horse battery staple 7"
PASSPHRASE = "clearance-demo"
SEVERITIES = ("Critical", "High", "Medium", "Low", "Informational")
S = SubmissionState


class Worker:
    def __init__(self, ctx: ServiceContext, seed: int, report_fd: int, samples: Path, p12: Path, scratch: Path):
        self.ctx, self.rnd, self.fd = ctx, random.Random(seed), report_fd
        self.samples, self.p12, self.scratch = samples, p12, scratch
        users = UserService(ctx)
        self.people = {u.username: Actor(u.id, u.username, u.role, u.display_name) for u in users.list_users()}
        self.intake, self.findings = IntakeService(ctx), FindingService(ctx)
        self.workflow, self.letters = WorkflowService(ctx), LetterService(ctx)
        self.seed, self.count = seed, 0

    def due(self) -> dt.date:
        """The due date the supervisor enters at sign-off for the conditions."""
        return ConditionsService(self.ctx).today() + dt.timedelta(days=90)

    def committed(self, action: str, entity_type: str, entity_id: object, **extra: object) -> None:
        self._say({"action": action, "entity_type": entity_type, "entity_id": str(entity_id), **extra})

    def begin(self, kind: str) -> None:
        """Which operation is under way (the harness counts where its kills landed)."""
        self._say({"begin": kind})

    def _say(self, record: dict[str, object]) -> None:
        os.write(self.fd, (json.dumps({**record, "t": time.monotonic()}) + "\n").encode())

    # -- the operations ------------------------------------------------------------------
    def import_package(self) -> None:
        """The Orca sample under a new package id, with a weights shard of its own (new blobs)."""
        self.begin("import")
        self.count += 1
        package_id = f"CRASH-{self.seed}-{self.count}"
        folder = self.scratch / package_id
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.samples / "northwind-orca-3.1", folder)
        folder.chmod(0o755)
        for path in folder.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shard = self.rnd.randbytes(self.rnd.choice((64, 256, 1024)) * 1024)
        (folder / "weights" / "orca-3.1-sample-shard.bin").write_bytes(shard)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["package_id"] = package_id
        manifest["model"]["version"] = f"3.{self.seed}.{self.count}"
        for artifact in manifest["artifacts"]:
            if artifact["path"].startswith("weights/"):
                artifact.update(sha256=sha256(shard).hexdigest(), bytes=len(shard))
        (folder / "manifest.json").write_text(json.dumps(manifest))
        result = self.intake.import_package(self.people[self.rnd.choice(("rev", "rev2"))], folder)
        self.committed("submission.import", "submission", result.reference, package_id=package_id)
        shutil.rmtree(folder, ignore_errors=True)

    def step(self) -> None:
        with self.ctx.reading() as session:
            subs = list(session.execute(select(Submission.id, Submission.reference, Submission.state,
                                               Submission.version_id)))
        open_ones = [s for s in subs if S(s.state).is_open]
        if len(open_ones) < 3 or self.rnd.random() < 0.12:
            self.import_package()
            return
        sid, reference, state, version = self.rnd.choice(open_ones)
        rev, sup = self.people["rev"], self.people["sup"]
        wf = self.workflow
        if state == S.RECEIVED:
            self.begin("transition")
            result = wf.accept_and_assign(sup, sid, rev.user_id, expected_version=version)
        elif state == S.AWAITING_INFO:
            self.begin("transition")
            result = wf.record_info_received(rev, sid, note="Answered.", expected_version=version)
        elif state == S.AWAITING_SIGNOFF and self.rnd.random() < 0.2:
            self.begin("transition")
            result = wf.return_with_comments(sup, sid, "Say more about the jailbreaks.", expected_version=version)
        elif state == S.AWAITING_SIGNOFF:
            self.begin("letter")
            issued = self.letters.approve_and_issue(sup, sid, password=PASSWORD, source=Pkcs12Source(self.p12),
                                                    secret=PASSPHRASE, conditions_due=self.due())
            self.committed("letter.issue", "letter", issued.number, pdf=issued.pdf_sha256)
            return
        else:  # IN_REVIEW: findings, evidence, a request, or the recommendation
            self.review(sid, reference, version)
            return
        self.committed(result.action, "submission", result.reference)

    def review(self, sid: int, reference: str, version: int) -> None:
        rev, fs = self.people["rev"], self.findings
        with self.ctx.reading() as session:
            findings = list(session.execute(select(Finding.id, Finding.version_id, Finding.status).where(
                Finding.submission_id == sid)))
        live = [f for f in findings if f.status != "Withdrawn"]
        roll = self.rnd.random()
        if not live or roll < 0.25:
            self.begin("finding")
            info = fs.create(rev, sid, FindingDraft(
                title=f"Finding {self.rnd.randrange(10**6)}", category="cyber.exploit-dev",
                severity=self.rnd.choice(SEVERITIES), description="Found by the kill harness."))
            self.committed("finding.create", "finding", info.id, version=info.version)
        elif roll < 0.50:
            self.begin("finding")
            target = self.rnd.choice(live)
            current = fs.get(target.id)
            info = fs.edit(rev, target.id, FindingDraft(
                title=current.title, category=current.category,
                severity=self.rnd.choice([s for s in SEVERITIES if s != current.severity.value]),
                status="Mitigated" if self.rnd.random() < 0.5 else current.status,
                description=current.description + " More detail.", condition=current.condition),
                expected_version=target.version_id)
            self.committed("finding.edit", "finding", info.id, version=info.version)
        elif roll < 0.65:
            self.begin("evidence")
            target = self.rnd.choice(live)
            evidence = fs.attach_bytes(rev, target.id, self.rnd.randbytes(self.rnd.choice((2, 48, 300)) * 1024),
                                       name=f"capture-{self.rnd.randrange(10**6)}.pcap")
            self.committed("evidence.attach_file", "evidence", evidence.id, sha256=evidence.blob_sha256)
        elif roll < 0.72:
            self.begin("transition")
            result = self.workflow.request_info(rev, sid, "Send the transcripts.", expected_version=version)
            self.committed(result.action, "submission", result.reference)
        else:
            self.begin("transition")
            result = self.workflow.submit_recommendation(rev, sid, Decision.CLEARED_WITH_CONDITIONS, "Evaluated.",
                                                         ["Keep the refusal classifier on."], expected_version=version)
            self.committed(result.action, "submission", result.reference)


def run(data_dir: Path, seed: int, report_fd: int, samples: Path, p12: Path, scratch: Path) -> None:
    """Work until killed (or 500 operations); refusals the rules make are part of the mix."""
    ctx = open_data_folder(data_dir)
    worker = Worker(ctx, seed, report_fd, samples, p12, scratch)
    for _ in range(500):
        try:
            worker.step()
        except ClearanceDeskError:
            pass  # a rule said no (say, a recommendation while a finding is open): nothing was written


def serve() -> None:
    """Fork server: `run SEED FIFO DATA SAMPLES P12 SCRATCH` forks a worker and answers its pid;
    `reap PID` waits for it and answers its wait status. One command and one answer a line."""
    for line in sys.stdin:
        command, *args = line.split()
        if command == "run":
            seed, fifo, data, samples, p12, scratch = args
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    sys.stdin.close()
                    fd = os.open(fifo, os.O_WRONLY)  # the harness opened the reading end first
                    run(Path(data), int(seed), fd, Path(samples), Path(p12), Path(scratch))
                except BaseException:  # noqa: BLE001 - reported through the exit status
                    import traceback

                    traceback.print_exc()
                    code = 3
                finally:
                    os._exit(code)
            answer = str(pid)
        elif command == "reap":
            answer = str(os.waitpid(int(args[0]), 0)[1])
        else:
            answer = f"unknown command {command!r}"
        print(answer, flush=True)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def scenario(name: str, data: Path, samples: Path, p12: Path, scratch: Path, submission: int) -> None:
    """Run one operation with a SIGKILL planted at a precise point (see test_kill_points.py)."""
    from desktop_app.storage import blobstore

    promote, discard, fsync = blobstore.StagingArea.promote, blobstore.StagingArea.discard, os.fsync
    if name in ("import-after-promotion", "letter-after-promotion"):
        def promote_then_die(self: blobstore.StagingArea) -> list[str]:
            created = promote(self)
            assert created and all(self.store.exists(d) for d in created)  # the blobs are in the store now
            kill_self()
            return created

        blobstore.StagingArea.promote = promote_then_die  # type: ignore[method-assign]
    elif name == "import-after-commit":
        def discard_by_dying(self: blobstore.StagingArea) -> None:
            if self.created:  # the promoted area, after its transaction committed
                kill_self()
            discard(self)

        blobstore.StagingArea.discard = discard_by_dying  # type: ignore[method-assign]
    elif name == "import-halfway-through-a-blob":
        calls = [0]

        def fsync_then_die(fd: int) -> None:
            calls[0] += 1
            if calls[0] == 3:  # the third staged file is written but not yet durable
                kill_self()
            fsync(fd)

        blobstore.os.fsync = fsync_then_die  # type: ignore[attr-defined]
    ctx = open_data_folder(data)
    worker = Worker(ctx, 1, os.open(os.devnull, os.O_WRONLY), samples, p12, scratch)
    if name.startswith("import"):
        IntakeService(ctx).import_package(worker.people["rev"], samples / "northwind-orca-3.1")
    else:
        worker.letters.approve_and_issue(worker.people["sup"], submission, password=PASSWORD,
                                         source=Pkcs12Source(p12), secret=PASSPHRASE, conditions_due=worker.due())


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        scenario(sys.argv[2], *(Path(a) for a in sys.argv[3:7]), int(sys.argv[7]))
        sys.exit("the scenario ran to its end: the planted kill did not happen")
