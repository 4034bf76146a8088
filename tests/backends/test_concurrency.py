"""Several processes on one database, as several workstations share one queue.

Each test starts worker processes (tests/backends/worker.py) that open the same data
folder (SQLite) or the same PostgreSQL database, wait until all are ready, then act
within a millisecond of each other: nothing may be overwritten silently, the audit
chain may not fork, and letter numbers stay distinct and consecutive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_app.domain.types import Decision
from desktop_app.letters.pki import DemoPki, create_demo_pki
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.findings import FindingService
from desktop_app.services.intake import IntakeService
from desktop_app.services.workflow import WorkflowService
from desktop_app.storage.models import AuditEvent, Finding, Submission

from .support import Database
from .test_services import PASSPHRASE, draft

WORKER = Path(__file__).with_name("worker.py")
REPO = Path(__file__).resolve().parents[2]
ORCA = "northwind-orca-3.1"


def run_together(database: Database, tmp_path: Path, *commands: list[str],
                 timeout: float = 120) -> list[tuple[int, list[dict], str]]:
    """Start one worker per command, say go when all are ready; (exit code, JSON lines, stderr) each."""
    go = tmp_path / f"go-{os.urandom(4).hex()}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), *database.cli_args(), "--go", str(go), *command],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for command in commands]
    try:
        for proc in procs:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if line.strip() != "ready":  # failed before the action: show why
                out, err = proc.communicate(timeout=timeout)
                raise AssertionError(f"worker did not get ready: {line}{out}\n{err}")
        go.touch()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            results.append((proc.returncode, [json.loads(x) for x in out.splitlines() if x.startswith("{")], err))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def chain(ctx: ServiceContext) -> audit.ChainReport:
    with ctx.reading() as session:
        return audit.verify_chain(audit.iter_events(session))


@pytest.fixture
def in_review(ctx: ServiceContext, people: dict[str, Actor], samples_dir: Path) -> int:
    sid = IntakeService(ctx).import_package(people["rev"], samples_dir / ORCA).submission_id
    WorkflowService(ctx).accept_and_assign(people["rev"], sid, people["rev"].user_id)
    return sid


def version_of(ctx: ServiceContext, sid: int) -> int:
    with ctx.reading() as session:
        return session.scalar(select(Submission.version_id).where(Submission.id == sid))  # type: ignore[return-value]


def test_two_reviewers_saving_one_finding_at_once(ctx: ServiceContext, people, in_review: int,  # noqa: ANN001
                                                  database: Database, tmp_path: Path) -> None:
    finding = FindingService(ctx).create(people["rev"], in_review, draft(severity="High"))
    # each round both change the severity to something new (an identical save is no conflict)
    for round_number, (mine, theirs) in enumerate((("Critical", "Low"), ("Medium", "Informational"),
                                                   ("High", "Low"))):
        version = FindingService(ctx).get(finding.id).version
        results = run_together(
            database, tmp_path,
            ["--as", "rev", "edit-finding", "--finding", str(finding.id), "--version", str(version),
             "--severity", mine],
            ["--as", "rev2", "edit-finding", "--finding", str(finding.id), "--version", str(version),
             "--severity", theirs])
        codes = sorted(code for code, _out, _err in results)
        assert codes == [0, 1], results
        (winner_out, winner), = [(out, who) for (code, out, _e), who in zip(results, ("rev", "rev2"), strict=True)
                                 if code == 0]
        (loser_err,) = [err for code, _out, err in results if code == 1]
        winner_name = {"rev": "Riley Reviewer", "rev2": "Jo Reviewer"}[winner]
        assert loser_err.count("\n") == 1 and "Traceback" not in loser_err
        assert f"ConcurrentEdit: F-1 on CD-" in loser_err and f"changed by {winner_name} at " in loser_err
        assert "reload" in loser_err
        saved = FindingService(ctx).get(finding.id)
        assert saved.version == version + 1 == winner_out[0]["saved"]
        assert saved.severity.value == winner_out[0]["severity"]
        assert saved.updated_by == winner, round_number
    assert chain(ctx).ok


def test_two_transitions_on_one_submission_at_once(ctx: ServiceContext, people, in_review: int,  # noqa: ANN001
                                                   database: Database, tmp_path: Path) -> None:
    version = version_of(ctx, in_review)
    results = run_together(
        database, tmp_path,
        ["--as", "rev", "transition", "--submission", str(in_review), "--version", str(version),
         "--kind", "request-info"],
        ["--as", "sup", "transition", "--submission", str(in_review), "--version", str(version),
         "--kind", "reassign"])
    assert sorted(code for code, _o, _e in results) == [0, 1], results
    loser = next(err for code, _o, err in results if code == 1)
    assert loser.startswith("ConcurrentEdit: CD-") and "reload" in loser and "Traceback" not in loser
    request_won = results[0][0] == 0
    with ctx.reading() as session:
        sub = session.get(Submission, in_review)
        assert sub is not None and sub.version_id > version
        assert (sub.state == "AWAITING_INFO") is request_won
        assert (sub.assignee_id == people["rev"].user_id) is request_won  # the reassignment did not slip in
    assert chain(ctx).ok


def test_a_finding_edit_and_a_transition_at_once(ctx: ServiceContext, people, in_review: int,  # noqa: ANN001
                                                 database: Database, tmp_path: Path) -> None:
    """Different records of one submission: both may go through, one after the other, neither lost."""
    finding = FindingService(ctx).create(people["rev"], in_review, draft())
    results = run_together(
        database, tmp_path,
        ["--as", "rev", "edit-finding", "--finding", str(finding.id), "--version", str(finding.version),
         "--severity", "Critical"],
        ["--as", "rev", "transition", "--submission", str(in_review), "--version", str(version_of(ctx, in_review)),
         "--kind", "window"])
    by_kind = {("edit" if out and "saved" in out[0] else "window"): (code, err) for code, out, err in results}
    assert by_kind.get("edit", (None,))[0] == 0, results
    # the window change was either first (both succeed) or saw the finding's summary move the submission
    window_code, window_err = next((code, err) for code, out, err in results if not (out and "saved" in out[0]))
    assert window_code == 0 or (window_code == 1 and "ConcurrentEdit" in window_err), results
    with ctx.reading() as session:
        assert session.scalar(select(Finding.severity).where(Finding.id == finding.id)) == "Critical"
        sub = session.get(Submission, in_review)
        assert sub is not None and sub.highest_open_severity == 5 and sub.open_findings == 1
        if window_code == 0:
            assert sub.window_days == 45
    assert chain(ctx).ok


def test_four_processes_appending_audit_events(ctx: ServiceContext, database: Database, tmp_path: Path) -> None:
    before = chain(ctx)
    per_process = 40
    results = run_together(database, tmp_path, *[
        ["--as", name, "audit-append", "--count", str(per_process), "--tag", name]
        for name in ("rev", "rev2", "sup", "sup2")])
    assert all(code == 0 for code, _o, _e in results), results
    seqs = sorted(line["seq"] for _code, out, _e in results for line in out)
    assert seqs == list(range(before.events + 1, before.events + 4 * per_process + 1))
    after = chain(ctx)
    assert after.ok and after.events == before.events + 4 * per_process
    with ctx.reading() as session:
        tags = session.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "test.append"))
        assert len(set(tags)) == 4 * per_process


def test_letter_numbers_taken_at_once_are_distinct_and_consecutive(ctx: ServiceContext, database: Database,
                                                                   tmp_path: Path) -> None:
    results = run_together(database, tmp_path, *[["numbers", "--count", "25"] for _ in range(4)])
    assert all(code == 0 for code, _o, _e in results), results
    numbers = sorted(line["number"] for _code, out, _e in results for line in out)
    assert numbers == [f"CL-2026-{n:04d}" for n in range(1, 101)]


@pytest.fixture(scope="module")
def two_pkis(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoPki, DemoPki]:
    return (create_demo_pki(tmp_path_factory.mktemp("pki-sup"), supervisor_name="DEMO Supervisor Dana Supervisor"),
            create_demo_pki(tmp_path_factory.mktemp("pki-sup2"), supervisor_name="DEMO Supervisor Sam Supervisor"))


def test_two_supervisors_issuing_letters_at_once(ctx: ServiceContext, people, database: Database,  # noqa: ANN001
                                                 samples_dir: Path, tmp_path: Path,
                                                 two_pkis: tuple[DemoPki, DemoPki]) -> None:
    from desktop_app.services.letters import LetterService
    from desktop_app.services.trust_store import TrustStoreService

    store = TrustStoreService(ctx)
    for pki, supervisor in zip(two_pkis, ("sup", "sup2"), strict=True):
        store.add_anchor(people["admin"], pki.root_cert.read_bytes(), source=f"{supervisor}-root.pem")
        store.enrol(people["admin"], supervisor, Pkcs12Source(pki.supervisor_p12), PASSPHRASE)
    intake, wf, fs = IntakeService(ctx), WorkflowService(ctx), FindingService(ctx)
    waiting = []
    for package in (ORCA, "helix-sparrow-2.0.zip"):
        sid = intake.import_package(people["rev"], samples_dir / package).submission_id
        wf.accept_and_assign(people["rev"], sid, people["rev"].user_id)
        fs.create(people["rev"], sid, draft(status="Mitigated"))
        wf.submit_recommendation(people["rev"], sid, Decision.CLEARED_WITH_CONDITIONS, "Evaluated.",
                                 ["Keep the refusal classifier on."])
        waiting.append(sid)
    results = run_together(database, tmp_path,
                           ["--as", "sup", "issue-letter", "--submission", str(waiting[0]),
                            "--p12", str(two_pkis[0].supervisor_p12)],
                           ["--as", "sup2", "issue-letter", "--submission", str(waiting[1]),
                            "--p12", str(two_pkis[1].supervisor_p12)])
    assert all(code == 0 for code, _o, _e in results), results
    numbers = sorted(out[0]["number"] for _c, out, _e in results)
    year = numbers[0][3:7]
    assert numbers == [f"CL-{year}-0001", f"CL-{year}-0002"]
    letters = LetterService(ctx)
    for entry in letters.register():
        checks = letters.verify(letters.pdf(entry.id))
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert chain(ctx).ok


def test_two_command_line_imports_of_one_package(database: Database, ctx: ServiceContext,  # noqa: ANN001
                                                 samples_dir: Path) -> None:
    """The loser of a race on the command line gets one clear line and exit 1."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLEARANCE_DESK_PASSWORD": "correct horse battery staple 7"}
    command = [sys.executable, "-m", "desktop_app", *database.cli_args(), "import", str(samples_dir / ORCA)]
    procs = [subprocess.Popen([*command, "--as", user], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for user in ("rev", "rev2")]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _o, _e in results) == [0, 1], results
    loser = next(err for code, _o, err in results if code == 1)
    assert "already imported" in loser and "Traceback" not in loser
    with ctx.reading() as session:
        assert len(list(session.scalars(select(Submission.id)))) == 1
    assert chain(ctx).ok
