"""The audit chain: written with each change, tamper-evident, append-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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


# -- anchors: what a valid but shortened, emptied or rebuilt chain cannot hide -----------------


def _cli(ctx, *args: str, capsys) -> tuple[int, str, str]:  # noqa: ANN001
    from desktop_app.app import main

    code = main(["--data-dir", str(ctx.paths.root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _attacker(ctx) -> sqlite3.Connection:  # noqa: ANN001
    """An attacker with file access and the sqlite3 shell: drops the triggers, edits, puts them back."""
    return _raw(ctx)


def _restore_triggers(conn: sqlite3.Connection) -> None:
    for verb in ("UPDATE", "DELETE"):
        conn.execute(f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                     f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
    conn.commit()
    conn.close()


def test_an_intact_trail_passes_with_its_head_file(ctx, people, capsys) -> None:  # noqa: ANN001
    code, out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 0, err
    last = _report(ctx)
    assert f"head {last.events} {last.head}" in out
    noted = ctx.head_file.path.read_text().splitlines()
    assert noted[-1] == f"{last.events} {last.head}"  # one line per committed change, the newest last


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_a_truncated_tail_fails_audit_verify(ctx, people, capsys, cut: int) -> None:  # noqa: ANN001
    for n in range(cut):
        UserService(ctx).set_title(people["admin"], "rev", f"Reviewer, grade {n}")
    total = _report(ctx).events
    conn = _attacker(ctx)
    conn.execute("DELETE FROM audit_events WHERE seq > ?", (total - cut,))
    _restore_triggers(conn)
    assert _report(ctx).ok  # the shorter chain is still a valid chain ...
    code, _out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1  # ... but not the one the head file saw
    assert f"the audit chain ends at event {total - cut}" in err and f"saw event {total}" in err


def test_an_emptied_trail_fails_audit_verify(ctx, people, capsys) -> None:  # noqa: ANN001
    conn = _attacker(ctx)
    conn.execute("DELETE FROM audit_events")
    _restore_triggers(conn)
    code, _out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "the audit chain ends at event 0" in err
    ctx.head_file.path.unlink()  # even without the head file: accounts exist, so events were written
    code, _out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "the audit trail is empty" in err


def test_a_consistently_rewritten_chain_fails_audit_verify(ctx, people, capsys) -> None:  # noqa: ANN001
    """Every event rewritten and re-hashed: a perfect chain, but not the one the head file saw."""
    conn = _attacker(ctx)
    rows = conn.execute("SELECT seq, occurred_at, actor, action, entity_type, entity_id, before, after "
                        "FROM audit_events ORDER BY seq").fetchall()
    conn.execute("DELETE FROM audit_events")
    prev = audit.GENESIS_HASH
    for seq, occurred_at, actor, action, entity_type, entity_id, before, after in rows:
        actor = "mallory" if actor == "admin" else actor
        digest = audit.event_hash(seq=seq, occurred_at=occurred_at, actor=actor, action=action,
                                  entity_type=entity_type, entity_id=entity_id, before=before, after=after,
                                  prev_hash=prev)
        conn.execute("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, occurred_at, actor, action, entity_type, entity_id, before, after, prev, digest))
        prev = digest
    _restore_triggers(conn)
    assert _report(ctx).ok
    code, _out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "the chain was rewritten" in err


def test_a_view_in_place_of_the_trail_fails_audit_verify(ctx, people, capsys) -> None:  # noqa: ANN001
    conn = sqlite3.connect(ctx.paths.database)
    conn.execute("ALTER TABLE audit_events RENAME TO audit_archive")
    conn.execute("CREATE VIEW audit_events AS SELECT * FROM audit_archive WHERE actor <> 'admin' OR seq = 1")
    conn.commit()
    conn.close()
    code, _out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "audit_events is not a table (it is a view)" in err


def test_dropped_triggers_fail_audit_verify(ctx, people, capsys) -> None:  # noqa: ANN001
    _attacker(ctx).close()
    code, _out, err = _cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "append-only trigger(s) audit_events_no_delete, audit_events_no_update" in err


def test_a_head_noted_elsewhere_catches_a_cut_the_folder_forgot(ctx, people, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """The attacker deletes the head file too; the line an auditor kept from `audit verify` still holds."""
    code, out, _err = _cli(ctx, "audit", "verify", capsys=capsys)
    noted = tmp_path / "noted-head.txt"
    noted.write_text(out)  # "audit chain intact: N events, head N HASH"
    UserService(ctx).set_title(people["admin"], "rev", "Lead reviewer")
    assert _cli(ctx, "audit", "verify", "--anchor", str(noted), capsys=capsys)[0] == 0  # a later chain is fine
    conn = _attacker(ctx)
    conn.execute("DELETE FROM audit_events WHERE seq > (SELECT max(seq) - 5 FROM audit_events)")
    _restore_triggers(conn)
    ctx.head_file.path.unlink()
    code, _out, err = _cli(ctx, "audit", "verify", "--anchor", str(noted), capsys=capsys)
    assert code == 1 and f"{noted} line 1 saw event" in err
    code, _out, err = _cli(ctx, "audit", "verify", "--anchor", str(tmp_path / "missing.txt"), capsys=capsys)
    assert code == 1 and err.count("\n") == 1 and "missing.txt" in err


def test_a_backup_manifest_is_an_anchor(ctx, people, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    from desktop_app.services.backup import backup

    archive = tmp_path / "kept-offline.zip"
    backup(ctx, archive)
    conn = _attacker(ctx)
    conn.execute("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    _restore_triggers(conn)
    ctx.head_file.path.unlink()
    code, _out, err = _cli(ctx, "audit", "verify", "--anchor", str(archive), capsys=capsys)
    assert code == 1 and "(backup manifest) saw event" in err
