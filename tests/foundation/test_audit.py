"""The audit chain: written with each change, tamper-evident, append-only."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event, select

from desktop_app.services import audit
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.users import UserService
from desktop_app.storage.models import AuditEvent, User


def _raw(ctx) -> sqlite3.Connection:  # noqa: ANN001
    """A plain connection with the append-only triggers dropped: an attacker with file access."""
    conn = sqlite3.connect(ctx.paths.database)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("DROP TRIGGER audit_events_no_delete")
    return conn


def _report(ctx):  # noqa: ANN001, ANN202
    with ctx.reading() as session:
        return verify_chain(iter_events(session))


def test_every_change_writes_a_chained_event(ctx, people) -> None:  # noqa: ANN001
    report = _report(ctx)
    assert report.ok and report.events >= 10
    with ctx.reading() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    creates = [e for e in events if e.action == "user.create"]
    assert {e.entity_id for e in creates} == {"rev", "rev2", "sup", "sup2"}
    assert all("argon2" not in (e.after or "") and "password_hash" not in (e.after or "") for e in creates)


def test_database_refuses_update_and_delete_of_events(ctx, people) -> None:  # noqa: ANN001
    conn = sqlite3.connect(ctx.paths.database)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_events WHERE seq = 1")
    conn.close()


def test_edited_event_is_detected(ctx, people) -> None:  # noqa: ANN001
    conn = _raw(ctx)
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    conn.commit()
    report = _report(ctx)
    assert not report.ok and report.first_bad_seq == 3 and "edited" in report.problem


def test_deleted_event_is_detected(ctx, people) -> None:  # noqa: ANN001
    conn = _raw(ctx)
    conn.execute("DELETE FROM audit_events WHERE seq = 4")
    conn.commit()
    report = _report(ctx)
    assert not report.ok and report.first_bad_seq == 5


def test_deleted_tail_is_caught_by_letters_anchoring_the_head(ctx, people) -> None:  # noqa: ANN001
    """Dropping the last events leaves a valid shorter chain: the head a letter recorded is gone."""
    head_before = _report(ctx).head
    conn = _raw(ctx)
    conn.execute("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    conn.commit()
    report = _report(ctx)
    assert report.ok and report.head != head_before


def test_reordered_events_are_detected(ctx, people) -> None:  # noqa: ANN001
    conn = _raw(ctx)
    conn.execute("UPDATE audit_events SET seq = -1 WHERE seq = 2")
    conn.execute("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE audit_events SET seq = 3 WHERE seq = -1")
    conn.commit()
    report = _report(ctx)
    assert not report.ok and report.first_bad_seq == 2


def test_inserted_event_is_detected(ctx, people) -> None:  # noqa: ANN001
    conn = _raw(ctx)
    conn.execute("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")
    conn.execute("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1005")
    conn.execute("INSERT INTO audit_events SELECT 5, occurred_at, 'mallory', action, entity_type, entity_id, before, "
                 "after, prev_hash, lower(hex(randomblob(32))) FROM audit_events WHERE seq = 4")
    conn.commit()
    report = _report(ctx)
    assert not report.ok and report.first_bad_seq == 5


def test_a_failing_audit_insert_rolls_the_change_back(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)

    def explode(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO audit_events"):
            raise RuntimeError("disk full while writing the audit event")

    event.listen(ctx.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError):
            users.set_title(people["admin"], "rev", "Lead reviewer")
    finally:
        event.remove(ctx.engine, "before_cursor_execute", explode)
    with ctx.reading() as session:
        assert session.scalar(select(User.title).where(User.username == "rev")) == ""
    assert _report(ctx).ok


def test_event_is_in_the_same_transaction_as_the_change(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    count_before = _report(ctx).events
    users.set_title(people["admin"], "rev", "Lead reviewer")
    with ctx.reading() as session:
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert last.action == "user.set_title" and last.seq == count_before + 1
    assert '"title":""' in last.before and '"title":"Lead reviewer"' in last.after
