"""The bulk demo generator and migration 0002: consistent rows, a valid audit chain, the search index."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import func, select, text
from queue_data import GENERATED, all_submissions

from desktop_app.domain.types import FindingStatus, Severity, SubmissionState
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.intake import IntakeService, ManualRegistration
from desktop_app.services.queue import QueueFilter, QueueService
from desktop_app.storage.database import make_engine
from desktop_app.storage.migrate import alembic_config, head_from_files, head_revision, include_object, upgrade_to_head
from desktop_app.storage.models import AuditEvent, Counter, Evidence, Finding, InformationRequest, Recommendation


def test_generated_rows_agree_with_their_findings(qctx) -> None:  # noqa: ANN001
    """Denormalised queue columns, review clock and per-state records are what the services would write."""
    rows = [s for s in all_submissions(qctx) if s.reference and s.registered_by_hand and s.description.endswith(
        "(DEMO data).")]
    assert len(rows) == GENERATED
    with qctx.reading() as session:
        findings = session.execute(select(Finding.submission_id, Finding.number, Finding.severity,
                                          Finding.status)).all()
        requests = set(session.scalars(select(InformationRequest.submission_id)))
        pending = set(session.scalars(select(Recommendation.submission_id).where(Recommendation.outcome == "pending")))
        evidence = session.scalar(select(func.count()).select_from(Evidence))
    by_submission: dict[int, list] = {}
    for sid, number, severity, status in findings:
        by_submission.setdefault(sid, []).append((number, Severity(severity), FindingStatus(status)))
    total = 0
    for s in rows:
        mine = sorted(by_submission.get(s.id, []))
        total += len(mine)
        open_ones = [sev for _, sev, st in mine if st.is_open]
        assert [n for n, *_ in mine] == list(range(1, len(mine) + 1))
        assert s.next_finding_number == len(mine) + 1
        assert s.open_findings == len(open_ones)
        assert s.highest_open_severity == max((sev.rank for sev in open_ones), default=0)
        state = SubmissionState(s.state)
        assert (s.assignee_id is None) == (state in (SubmissionState.RECEIVED, SubmissionState.REFUSED))
        assert (s.id in requests) == (state is SubmissionState.AWAITING_INFO)
        assert (s.id in pending) == (state is SubmissionState.AWAITING_SIGNOFF)
        assert (s.decided_at is None) == state.is_open
        if state is SubmissionState.ISSUED:  # letters were issued: nothing serious was left open
            assert s.highest_open_severity < Severity.HIGH.rank
    assert 8 * GENERATED < total < 12 * GENERATED  # about ten findings each
    assert evidence > GENERATED
    assert {SubmissionState(s.state) for s in rows} == set(SubmissionState)


def test_generation_keeps_the_audit_chain_and_the_reference_counters(qctx, actors) -> None:  # noqa: ANN001
    with qctx.reading() as session:
        report = verify_chain(iter_events(session))
        generated = session.scalars(select(AuditEvent.after).where(AuditEvent.action == "submission.generate_demo"))
        events = [json.loads(after) for after in generated]
        counters = dict(session.execute(select(Counter.name, Counter.value)).all())
    assert report.ok and len(events) == GENERATED and all(e["demo"] for e in events)
    references = [s.reference for s in all_submissions(qctx)]
    assert len(set(references)) == len(references)
    for name, value in counters.items():
        if name.startswith("CD-"):
            assert max(int(r.rsplit("-", 1)[1]) for r in references if r.startswith(name + "-")) == value
    # the next registration continues the sequence, and the search triggers are back in place
    result = IntakeService(qctx).register_by_hand(actors["rev"], ManualRegistration(
        developer_name="Nightjar Labs", contact_name="C", contact_email="c@nightjar.example", model_name="Pangolin",
        model_version="1.0", intended_release=None))
    assert result.reference == f"CD-2026-{counters['CD-2026'] + 1:04d}"
    assert list(QueueService(qctx).ordered_ids(QueueFilter(text="pangolin"))) == [result.submission_id]


def test_every_submission_has_one_search_document(qctx) -> None:  # noqa: ANN001
    with qctx.reading() as session:
        documents = session.execute(text("SELECT count(*) FROM queue_search")).scalar()
        submissions = len(all_submissions(qctx))
        triggers = session.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                                        "AND name LIKE 'queue_search_%'")).scalar()
    assert documents == submissions and triggers == 10


def test_the_quick_head_check_agrees_with_alembic() -> None:
    assert head_from_files() == head_revision()


def test_migration_0002_goes_down_and_up_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    upgrade_to_head(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name LIKE 'queue_search%'")).scalar() == 0
    assert upgrade_to_head(engine) is True
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'queue_search'")).scalar() == 1


def test_only_the_search_tables_are_left_out_of_autogenerate() -> None:
    assert include_object(None, "queue_search_data", "table", True, None) is False
    assert include_object(None, "submissions", "table", True, None) is True
    assert include_object(None, "queue_search", "table", False, object()) is True
