"""The same services on SQLite and on PostgreSQL: schema, intake, findings, workflow,
letters, audit chain, queue, search, reports and settings, so neither backend drifts.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from desktop_app.domain.errors import ConcurrentEdit, InputRejected, TransitionNotAllowed
from desktop_app.domain.findings import FindingDraft
from desktop_app.domain.types import Decision, SubmissionState
from desktop_app.letters.pki import DemoPki, create_demo_pki
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services import audit
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.findings import FindingService
from desktop_app.services.intake import IntakeService, ManualRegistration
from desktop_app.services.queue import QueueColumn, QueueFilter, QueueService
from desktop_app.services.references import next_number, peek
from desktop_app.services.reports import ReportService
from desktop_app.services.settings import SettingsService
from desktop_app.services.workflow import WorkflowService
from desktop_app.storage.database import make_engine
from desktop_app.storage.migrate import current_revision, head_revision, include_object, upgrade_to_head
from desktop_app.storage.models import Artifact, AuditEvent, Base, Letter, Package, Submission

from .support import PASSWORD, Database, PgServer

PASSPHRASE = "clearance-demo"
ORCA = "northwind-orca-3.1"


def draft(title: str = "Writes a working exploit for CVE-2026-0001", *, severity: str = "High",
          status: str = "Open", condition: str = "") -> FindingDraft:
    return FindingDraft(title=title, category="cyber.exploit-dev", severity=severity, status=status,
                        description="Reproduced on the cyber range.", condition=condition)


def chain_ok(ctx: ServiceContext) -> audit.ChainReport:
    with ctx.reading() as session:
        report = audit.verify_chain(audit.iter_events(session))
    assert report.ok, report.problem
    return report


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return create_demo_pki(tmp_path_factory.mktemp("pki"), supervisor_name="DEMO Supervisor Dana Supervisor")


def configure_signing(ctx: ServiceContext, people: dict[str, Actor], pki: DemoPki) -> None:
    from desktop_app.services.trust_store import TrustStoreService

    store = TrustStoreService(ctx)
    store.add_anchor(people["admin"], pki.root_cert.read_bytes(), source=pki.root_cert.name)
    store.enrol(people["admin"], "sup", Pkcs12Source(pki.supervisor_p12), PASSPHRASE)
    for crl in pki.crls:
        store.import_crl(people["admin"], crl.read_bytes(), source=crl.name)


def to_signoff(ctx: ServiceContext, people: dict[str, Actor], samples_dir: Path) -> int:
    """Orca imported, accepted by rev, one mitigated finding, recommended "cleared with conditions"."""
    wf, fs = WorkflowService(ctx), FindingService(ctx)
    sid = IntakeService(ctx).import_package(people["rev"], samples_dir / ORCA).submission_id
    wf.accept_and_assign(people["rev"], sid, people["rev"].user_id)
    fs.create(people["rev"], sid, draft(status="Mitigated", condition="Keep the refusal classifier on."))
    wf.submit_recommendation(people["rev"], sid, Decision.CLEARED_WITH_CONDITIONS, "Evaluated on the range.",
                             ["Keep the refusal classifier on every public endpoint."])
    return sid


# -- schema --------------------------------------------------------------------------------


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.url_of(server.create("empty" + tmp_path.name[-8:]))


def test_fresh_upgrade_matches_the_models(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert upgrade_to_head(engine) is True
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object}), Base.metadata)
        assert diff == []
        assert upgrade_to_head(engine) is False
    finally:
        engine.dispose()


def test_the_database_refuses_to_change_or_delete_audit_events(ctx: ServiceContext, people) -> None:  # noqa: ANN001
    for statement in ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with ctx.transaction() as session:
                session.execute(text(statement))
    chain_ok(ctx)


def test_times_come_back_aware_and_json_round_trips(ctx: ServiceContext, people) -> None:  # noqa: ANN001
    settings = SettingsService(ctx)
    settings.set(people["admin"], "agency_name", "Office of Frontier Model Security Review — Ünïcode")
    settings.set(people["admin"], "review_window_days", 45)
    assert settings.get("agency_name").endswith("Ünïcode")
    assert settings.get("review_window_days") == 45
    with ctx.reading() as session:
        created = session.scalar(select(func.min(AuditEvent.occurred_at)))
    assert created and created.endswith("+00:00")


# -- intake ----------------------------------------------------------------------------------


def test_import_is_all_or_nothing(ctx: ServiceContext, people, samples_dir: Path) -> None:  # noqa: ANN001
    intake = IntakeService(ctx)
    result = intake.import_package(people["rev"], samples_dir / ORCA)
    assert result.reference.startswith("CD-") and result.artifacts >= 3
    with ctx.reading() as session:
        digests = set(session.scalars(select(Artifact.sha256)))
    assert all(ctx.blobs.exists(d) for d in digests)
    blobs_before = set(ctx.blobs.all_digests())
    events_before = chain_ok(ctx).events

    with pytest.raises(InputRejected, match="already imported"):
        intake.import_package(people["rev2"], samples_dir / ORCA)
    assert set(ctx.blobs.all_digests()) == blobs_before
    assert chain_ok(ctx).events == events_before
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Package)) == 1


def test_submission_references_are_gapless_after_a_rollback(ctx: ServiceContext) -> None:
    with ctx.transaction() as session:
        first, _ = next_number(session, "CD", 2031)
    with pytest.raises(RuntimeError):
        with ctx.transaction() as session:
            next_number(session, "CD", 2031)
            raise RuntimeError("the import failed after taking a number")
    with ctx.transaction() as session:
        second, _ = next_number(session, "CD", 2031)
        assert peek(session, "CD", 2031) == 2
    assert (first, second) == ("CD-2031-0001", "CD-2031-0002")


# -- findings ---------------------------------------------------------------------------------


def test_findings_edit_stale_save_and_evidence(ctx: ServiceContext, people, samples_dir: Path) -> None:  # noqa: ANN001
    wf, fs = WorkflowService(ctx), FindingService(ctx)
    sid = IntakeService(ctx).import_package(people["rev"], samples_dir / ORCA).submission_id
    wf.accept_and_assign(people["rev"], sid, people["rev"].user_id)
    first = fs.create(people["rev"], sid, draft())
    second = fs.create(people["rev2"], sid, draft("Jailbreak restores exploit help", severity="Medium"))
    assert (first.label, second.label) == ("F-1", "F-2")

    edited = fs.edit(people["rev"], first.id, draft(severity="Critical"), expected_version=first.version)
    assert edited.version == first.version + 1
    with pytest.raises(ConcurrentEdit, match="F-1 .* was changed by Riley Reviewer at .*; reload"):
        fs.edit(people["rev2"], first.id, draft(severity="Low"), expected_version=first.version)
    assert fs.get(first.id).severity.value == "Critical"

    evidence = fs.attach_bytes(people["rev"], first.id, b"transcript of the exploit session\n", name="session.txt")
    assert ctx.blobs.exists(evidence.blob_sha256 or "")
    fs.withdraw(people["rev"], second.id, "duplicate of F-1", expected_version=second.version)
    with ctx.reading() as session:
        sub = session.get(Submission, sid)
        assert sub is not None and (sub.open_findings, sub.highest_open_severity) == (1, 5)
    assert [v.action for v in fs.versions(first.id)] == ["finding.create", "finding.edit", "evidence.attach_file"]
    chain_ok(ctx)


# -- workflow ---------------------------------------------------------------------------------


def test_workflow_pauses_the_clock_and_refuses_stale_transitions(ctx: ServiceContext, people, clock,  # noqa: ANN001
                                                                samples_dir: Path) -> None:
    wf = WorkflowService(ctx)
    sid = IntakeService(ctx).import_package(people["rev"], samples_dir / ORCA).submission_id
    wf.accept_and_assign(people["sup"], sid, people["rev"].user_id)
    with ctx.reading() as session:
        sub = session.get(Submission, sid)
        assert sub is not None
        version, due = sub.version_id, sub.due_date
    wf.request_info(people["rev"], sid, "Send the full agentic transcripts.", expected_version=version)
    clock.advance(days=4)
    with pytest.raises(ConcurrentEdit, match="reload"):
        wf.record_info_received(people["rev2"], sid, note="stale", expected_version=version)
    result = wf.record_info_received(people["rev"], sid, note="Transcripts arrived.")
    assert result.state is SubmissionState.IN_REVIEW
    with ctx.reading() as session:
        sub = session.get(Submission, sid)
        assert sub is not None and sub.paused_days == 4 and sub.due_date == due + dt.timedelta(days=4)
    with pytest.raises(TransitionNotAllowed):
        wf.record_info_received(people["rev"], sid)
    chain_ok(ctx)


def test_letters_are_numbered_signed_registered_and_verified(ctx: ServiceContext, people, pki: DemoPki,  # noqa: ANN001
                                                             clock, samples_dir: Path) -> None:
    from desktop_app.services.letters import LetterService

    configure_signing(ctx, people, pki)
    sid = to_signoff(ctx, people, samples_dir)
    clock.advance(days=2, hours=12)
    letters = LetterService(ctx)
    issued = letters.approve_and_issue(people["sup"], sid, password=PASSWORD, source=Pkcs12Source(pki.supervisor_p12),
                                       secret=PASSPHRASE, conditions_due=ConditionsService(ctx).today())
    assert issued.number == f"CL-{ctx.now().year}-0001"
    pdf = letters.pdf(issued.id)
    assert all(check.ok for check in letters.verify(pdf)), [c for c in letters.verify(pdf) if not c.ok]
    with ctx.reading() as session:
        assert session.get(Submission, sid).state == SubmissionState.ISSUED.value  # type: ignore[union-attr]
        letter = session.scalar(select(Letter))
        head_at_issue = letter.audit_head  # type: ignore[union-attr]
        assert session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == head_at_issue)) is not None
    reports = ReportService(ctx)
    assert reports.figures(reports.recent_weeks(4)).median_days == pytest.approx(2.5)  # julianday / epoch
    chain_ok(ctx)


# -- reading ----------------------------------------------------------------------------------


def test_queue_sorts_filters_and_counts_the_same(ctx: ServiceContext, people, samples_dir: Path) -> None:  # noqa: ANN001
    sid = to_signoff(ctx, people, samples_dir)
    intake = IntakeService(ctx)
    for package in ("helix-sparrow-2.0.zip",):
        intake.import_package(people["rev2"], samples_dir / package)
    queue = QueueService(ctx)
    every = set(queue.ordered_ids())
    assert len(every) == 2 and sid in every
    for column in QueueColumn:
        for descending in (False, True):
            ids = list(queue.ordered_ids(QueueFilter(), column, descending))
            assert set(ids) == every, column
    waiting = QueueFilter(states=frozenset({SubmissionState.AWAITING_SIGNOFF}))
    assert list(queue.ordered_ids(waiting)) == [sid]
    counts = queue.counts(QueueFilter(), me=people["rev"].user_id)
    assert counts.total == 2 and counts.states[SubmissionState.AWAITING_SIGNOFF] == 1
    rows = queue.rows([sid])
    assert rows[0].reference.startswith("CD-") and rows[0].assignee == "Riley Reviewer"


def test_whole_id_lists_come_in_the_statement_s_order(ctx: ServiceContext, people) -> None:  # noqa: ANN001
    """One array from the database (JSON on SQLite, array_agg on PostgreSQL), in exactly the order
    the id statement's own rows come in, for every column both ways, a search and the assignee order."""
    from desktop_app.services import demo_bulk

    demo_bulk.generate(ctx, 120, seed=5, reviewers=[demo_bulk.Person(people[u].user_id, u) for u in ("rev", "rev2")],
                       supervisors=[demo_bulk.Person(people["sup"].user_id, "sup")])
    queue = QueueService(ctx)
    with ctx.connect() as conn:
        for column in QueueColumn:
            for descending in (False, True):
                rows = [r[0] for r in conn.execute(queue.id_statement(QueueFilter(), column, descending))]
                whole = list(queue.ordered_ids(QueueFilter(), column, descending))
                if column is QueueColumn.ASSIGNEE:  # read as one index range per person: the same set, by name
                    assert sorted(whole) == sorted(rows) and len(whole) == 120
                else:
                    assert whole == rows, (column, descending)
                searched = QueueFilter(text="orca")
                within = queue.ordered_ids(searched, column, descending, within=whole)
                hits = {r[0] for r in conn.execute(queue.id_statement(searched, column, descending))}
                assert list(within) == [i for i in whole if i in hits] and hits


@pytest.mark.parametrize(("words", "expected"), [
    ("orca", {"orca"}), ("orc", {"orca"}), ("ORCA 3.1", {"orca"}), ("northwind", {"orca"}),
    ("sparrow", {"sparrow"}), ("cd-2026", {"orca", "sparrow", "ibis"}), ("exploit cve-2026-0001", {"orca"}),
    ("transcript", {"orca"}), ("orca sparrow", set()), ("zzzz", set()), ("writes working", {"orca"}),
    ("3.1-orc", {"orca"}), ("orca-general", set()),  # a phrase runs within one part of the document only
    ("cafe", {"ibis"}), ("CAFÉ ÜBER", {"ibis"}), ("über-ca", {"ibis"}),  # accents and case folded away
])
def test_search_finds_the_same_submissions(ctx: ServiceContext, people, samples_dir: Path,  # noqa: ANN001
                                           words: str, expected: set[str]) -> None:
    intake, fs, wf = IntakeService(ctx), FindingService(ctx), WorkflowService(ctx)
    orca = intake.import_package(people["rev"], samples_dir / ORCA).submission_id
    sparrow = intake.import_package(people["rev"], samples_dir / "helix-sparrow-2.0.zip").submission_id
    wf.accept_and_assign(people["rev"], orca, people["rev"].user_id)
    finding = fs.create(people["rev"], orca, draft())
    fs.attach_bytes(people["rev"], finding.id, b"log", name="x.txt", title="Exploit transcript")
    ibis = intake.register_by_hand(people["rev"], ManualRegistration(
        developer_name="Über Café Labs", contact_name="C", contact_email="c@example.org", model_name="Ibis",
        model_version="1", intended_release=None)).submission_id
    names = {orca: "orca", sparrow: "sparrow", ibis: "ibis"}
    found = QueueService(ctx).ordered_ids(QueueFilter(text=words))
    assert {names[i] for i in found} == expected


def test_report_figures_are_the_same(ctx: ServiceContext, people, clock, samples_dir: Path) -> None:  # noqa: ANN001
    intake, wf = IntakeService(ctx), WorkflowService(ctx)
    refused = intake.import_package(people["rev"], samples_dir / ORCA).submission_id
    intake.import_package(people["rev"], samples_dir / "helix-sparrow-2.0.zip")
    clock.advance(days=3)
    wf.refuse(people["sup"], refused, ["The package has no model card."])
    reports = ReportService(ctx)
    figures = reports.figures(reports.recent_weeks(4))
    assert (figures.received, figures.decided, figures.open_total) == (2, 1, 1)
    assert {c.key: c.value for c in figures.by_status if c.value} == {"RECEIVED": 1, "REFUSED": 1}


def test_the_change_counter_moves_with_every_write(ctx: ServiceContext, people, samples_dir: Path) -> None:  # noqa: ANN001
    queue = QueueService(ctx)
    before = queue.change_marker()
    assert queue.change_marker() == before  # reading changes nothing
    IntakeService(ctx).import_package(people["rev"], samples_dir / ORCA)
    after = queue.change_marker()
    assert after > before
    SettingsService(ctx).set(people["admin"], "handling_marking", "CUI//SP-PRVCY")
    assert queue.change_marker() > after


def test_a_blob_folder_setting_moves_the_blobs(database: Database, ctx: ServiceContext, people,  # noqa: ANN001
                                              samples_dir: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-blobs"
    SettingsService(ctx).set(people["admin"], "blob_folder", str(shared))
    ctx.close()
    with pytest.raises(InputRejected, match="shared-blobs.*not mounted"):
        database.open()
    shared.mkdir()
    second = database.open()
    try:
        assert second.blobs.root == shared
        IntakeService(second).import_package(people["rev"], samples_dir / ORCA)
        assert any(shared.glob("??/*")) and not any((database.data_dir / "blobs").glob("??/*"))
    finally:
        second.close()
        shutil.rmtree(shared)


def test_the_search_index_follows_edits_and_bulk_loads(ctx: ServiceContext, people, samples_dir: Path) -> None:  # noqa: ANN001
    from desktop_app.services import demo_bulk, search
    from desktop_app.storage.models import Developer

    intake, fs, wf, queue = IntakeService(ctx), FindingService(ctx), WorkflowService(ctx), QueueService(ctx)
    orca = intake.import_package(people["rev"], samples_dir / ORCA).submission_id
    wf.accept_and_assign(people["rev"], orca, people["rev"].user_id)
    finding = fs.create(people["rev"], orca, draft("Marimba side channel"))

    def found(words: str) -> set[int]:
        return set(queue.ordered_ids(QueueFilter(text=words)))

    assert found("marimba") == {orca}
    fs.edit(people["rev"], finding.id, draft("Xylophone side channel"), expected_version=finding.version)
    assert found("marimba") == set() and found("xylophone") == {orca}
    with ctx.transaction() as session:  # a developer renamed (no service does it yet; the index must follow)
        session.execute(Developer.__table__.update().values(name="Southwind Labs"))
    assert found("southwind") == {orca} and found("northwind") == set()

    generated = demo_bulk.generate(ctx, 60, seed=3, reviewers=[demo_bulk.Person(people["rev"].user_id, "rev")],
                                   supervisors=[demo_bulk.Person(people["sup"].user_id, "sup")])
    assert len(generated) == 60
    like = search.LikeSearch()
    with ctx.reading() as session:
        for word in ("heron", "kestrel", "falcon", "serval", "DEMO"):
            expected = set(session.scalars(like.matching_ids(search.SearchQuery.parse(word))))
            assert found(word) == expected, word
    assert len(found("demo")) == 60
    with ctx.transaction() as session:
        search.rebuild(session.connection())
    assert len(found("demo")) == 60 and found("xylophone") == {orca}


def test_audit_verify_catches_a_cut_tail_on_either_backend(ctx: ServiceContext, people) -> None:  # noqa: ANN001
    """An attacker with database access only: triggers dropped, the last five events deleted."""
    from desktop_app.services.audit_verify import verify_trail
    from desktop_app.services.users import UserService

    for n in range(5):  # changes this workstation made, so its head file noted them
        UserService(ctx).set_title(people["admin"], "rev", f"Reviewer, grade {n}")
    report = verify_trail(ctx)
    assert report.ok, report.problems
    total = report.events
    drop = (["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"]
            if ctx.engine.dialect.name == "sqlite" else ["DROP TRIGGER audit_events_append_only ON audit_events"])
    with ctx.engine.connect() as conn:  # no service, no head-file note: a plain database session
        for statement in drop:
            conn.execute(text(statement))
        conn.execute(text("DELETE FROM audit_events WHERE seq > :cut"), {"cut": total - 5})
        conn.commit()
    problems = verify_trail(ctx).problems
    assert any(f"the audit chain ends at event {total - 5}" in p and f"saw event {total}" in p for p in problems), problems
    assert any("append-only trigger" in p for p in problems), problems
