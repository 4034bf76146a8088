"""The hash-chained audit trail: append inside the caller's transaction, verify the chain.

Each event's hash is SHA-256 over a canonical JSON encoding of its fields and the
previous event's hash, so editing, deleting, reordering or inserting any row breaks
the chain at that row. Appends are serialised (SQLite's write lock, PostgreSQL's
advisory lock) so the chain never forks. Events are written with Core into the caller's
transaction (an ORM Session or a Core Connection), so sign-in can audit without the ORM.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, text

from desktop_app.services.audit_anchor import leave_pending
from desktop_app.storage.tables import audit_events

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 7_420_001


def canonical_json(value: Any) -> str:
    """Stable text for hashing: sorted keys, no whitespace, UTF-8, ISO dates."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def event_hash(
    *,
    seq: int,
    occurred_at: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: str | None,
    after: str | None,
    prev_hash: str,
) -> str:
    record = {
        "seq": seq,
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": before,
        "after": after,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def _encode(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def _connection(executor: Session | Connection) -> Connection:
    """The Core connection of the caller's transaction.

    A Session flushes its pending changes first, so the event follows the change it
    records (and a change that fails its constraints fails before it is audited).
    """
    if isinstance(executor, Connection):
        return executor
    executor.flush()
    return executor.connection()


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def head(executor: Session | Connection) -> tuple[int, str]:
    """The last event's sequence number and hash (0 and the genesis hash when empty)."""
    t = audit_events.c
    row = executor.execute(select(t.seq, t.hash).order_by(t.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


@dataclass(frozen=True)
class Event:
    """One audit event as written: the row's columns."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: str | None
    after: str | None
    prev_hash: str
    hash: str

    def row(self) -> dict[str, Any]:
        return asdict(self)


def record(
    executor: Session | Connection,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: object,
    before: Any = None,
    after: Any = None,
    now: dt.datetime | None = None,
) -> Event:
    """Append one event to the chain in the caller's transaction."""
    conn = _connection(executor)
    _lock_chain(conn)
    last_seq, last_hash = head(conn)
    event = _build(last_seq + 1, last_hash, actor, action, entity_type, entity_id, before, after, now)
    conn.execute(insert(audit_events).values(event.row()))
    leave_pending(conn, event.seq, event.hash)
    return event


@dataclass(frozen=True)
class PendingEvent:
    actor: str
    action: str
    entity_type: str
    entity_id: object
    before: Any = None
    after: Any = None


def record_many(executor: Session | Connection, events: Iterable[PendingEvent], *,
                now: dt.datetime | None = None) -> str:
    """Append many events with one bulk insert (the demo's bulk path); returns the new head."""
    conn = _connection(executor)
    _lock_chain(conn)
    seq, prev = head(conn)
    start_hash = prev
    rows = []
    for pending in events:
        seq += 1
        event = _build(seq, prev, pending.actor, pending.action, pending.entity_type, pending.entity_id,
                       pending.before, pending.after, now)
        prev = event.hash
        rows.append(event.row())
        if len(rows) >= 20_000:
            conn.execute(insert(audit_events), rows)
            rows.clear()
    if rows:
        conn.execute(insert(audit_events), rows)
    if prev != start_hash:
        leave_pending(conn, seq, prev)
    return prev


def _build(seq: int, prev_hash: str, actor: str, action: str, entity_type: str, entity_id: object,
           before: Any, after: Any, now: dt.datetime | None) -> Event:
    occurred_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds")
    fields = dict(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=_encode(before),
        after=_encode(after),
        prev_hash=prev_hash,
    )
    return Event(**fields, hash=event_hash(**fields))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head: str
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(rows: Iterable[Any]) -> ChainReport:
    """Recompute every hash and link; report the first event that does not fit."""
    expected_seq, prev = 1, GENESIS_HASH
    count = 0
    for event in rows:
        count += 1
        if event.seq != expected_seq:
            return ChainReport(False, count, prev, event.seq,
                               f"event {event.seq}: expected sequence number {expected_seq} (an event was deleted or inserted)")
        if event.prev_hash != prev:
            return ChainReport(False, count, prev, event.seq,
                               f"event {event.seq}: does not link to event {expected_seq - 1} (events were reordered, deleted or inserted)")
        recomputed = event_hash(
            seq=event.seq, occurred_at=event.occurred_at, actor=event.actor, action=event.action,
            entity_type=event.entity_type, entity_id=event.entity_id, before=event.before, after=event.after,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainReport(False, count, prev, event.seq,
                               f"event {event.seq}: its content does not match its hash (the event was edited)")
        prev = event.hash
        expected_seq += 1
    return ChainReport(True, count, prev)


def iter_events(executor: Session | Connection, batch: int = 5000) -> Iterator[Any]:
    """Every event in sequence order, as rows with the columns as attributes."""
    stmt = select(audit_events).order_by(audit_events.c.seq).execution_options(yield_per=batch)
    yield from executor.execute(stmt)


def record_refusal(ctx: Any, *, actor: str, attempted: str, entity_type: str, entity_id: object, reason: str) -> None:
    """Audit a refused action in its own transaction (the refused change itself is not made).

    Call it outside any open transaction: on SQLite a second writer would wait for the first.
    """
    with ctx.begin() as conn:
        record(conn, actor=actor, action="permission.refused", entity_type=entity_type, entity_id=entity_id,
               after={"attempted": attempted, "reason": reason}, now=ctx.now())
