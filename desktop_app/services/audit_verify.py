"""`audit verify`: the chain, its anchors, and the records the chain vouches for.

One pass over the chain recomputes every hash (see `audit.verify_chain`) and, on the
way, keeps what the other checks need: the hashes at the sequence numbers anchors
noted, the sequence numbers of the heads letters printed, and the events about letters,
trust anchors and enrolled certificates. Then:

- the chain must reach every anchor's head, and hold the hash the anchor saw there
  (the head file, `--anchor` files, each letter's printed head, in the register and in
  the signed PDF's metadata);
- `audit_events` must be a table with its append-only triggers;
- every register row (letter, revocation, supersession) must match the event that made
  it, and every such event must have its row;
- every trust anchor and enrolled certificate must be the one its audit event added.

Everything is read through the read-only engine: it never takes the write lock.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text

from desktop_app.services import audit
from desktop_app.services.audit_anchor import Head, read_heads
from desktop_app.services.context import ServiceContext
from desktop_app.storage.blobstore import is_sha256_hex
from desktop_app.storage.tables import (
    audit_events,
    letter_revocations,
    letters,
    submissions,
    trust_anchors,
    users,
)

#: events `audit verify` compares with the rows they made
LETTER_ACTIONS = ("letter.issue", "letter.revoke", "letter.supersede")
TRUST_ACTIONS = ("trust.add_anchor", "trust.remove_anchor")
ENROL_ACTION = "user.enrol_certificate"
_PRINTED_HEAD = re.compile(rb"audit-head:([0-9a-f]{64})")


@dataclass(frozen=True)
class Recorded:
    """An event the register checks need: its sequence number, action, entity and `after`."""

    seq: int
    action: str
    entity_id: str
    after: dict[str, Any]


@dataclass
class TrailReport:
    events: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)
    anchors_checked: int = 0
    letters_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Pass:
    """What the one pass over the chain keeps."""

    wanted_seqs: set[int]
    wanted_hashes: set[str]
    at_seq: dict[int, str] = field(default_factory=dict)
    seq_of: dict[str, int] = field(default_factory=dict)
    recorded: list[Recorded] = field(default_factory=list)
    last_seq: int = 0
    last_hash: str = audit.GENESIS_HASH

    def keep(self, rows: Any) -> Iterator[Any]:
        for row in rows:
            seq, digest = row.seq, row.hash
            self.last_seq, self.last_hash = seq, digest
            if seq in self.wanted_seqs:
                self.at_seq[seq] = digest
            if digest in self.wanted_hashes:
                self.seq_of[digest] = seq
            action = row.action
            if action in LETTER_ACTIONS or action in TRUST_ACTIONS or action == ENROL_ACTION:
                self.recorded.append(Recorded(seq, action, row.entity_id, _loads(row.after)))
            yield row


def _loads(value: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(value) if value else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def verify_trail(ctx: ServiceContext, anchor_files: Sequence[Path] = ()) -> TrailReport:
    """Every check above; the report lists each problem in one line."""
    heads = ctx.head_file.heads() + [head for path in anchor_files for head in read_heads(Path(path))]
    with ctx.connect() as conn:
        problems = _schema_problems(conn)
        register = _register(conn)
        letter_heads = [Head(None, row["audit_head"], f"letter {row['number']}") for row in register]
        letter_heads += _printed_heads(ctx, register)
        all_heads = heads + letter_heads
        seen = _Pass({h.seq for h in all_heads if h.seq is not None}, {h.hash for h in all_heads})
        chain = audit.verify_chain(rows := seen.keep(audit.iter_events(conn)))
        for _ in rows:  # a broken chain stops the check early; the other checks still read every event
            pass
        if not chain.ok:
            problems.append(f"audit chain broken at {chain.problem}")
        problems += _anchor_problems(all_heads, seen)
        if seen.last_seq == 0 and conn.scalar(select(users.c.id).limit(1)) is not None:
            problems.append("the audit trail is empty, but the database holds user accounts: its events were deleted")
        problems += _letter_problems(register, _revocations(conn), seen)
        problems += _trust_problems(conn, seen.recorded)
    anchored = len({(h.seq, h.hash) for h in all_heads})
    return TrailReport(seen.last_seq, seen.last_seq, seen.last_hash, problems, anchored, len(register))


# -- the table and its triggers -----------------------------------------------------------


def _schema_problems(conn: Connection) -> list[str]:
    if conn.dialect.name == "sqlite":
        kind = conn.scalar(text("SELECT type FROM sqlite_master WHERE name = 'audit_events'"))
        triggers = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                         "AND tbl_name = 'audit_events'")))
        expected = {"audit_events_no_update", "audit_events_no_delete"}
    else:
        kind = conn.scalar(text("SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' ELSE 'other' END "
                                "FROM pg_class c WHERE c.oid = to_regclass('audit_events')"))
        triggers = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('audit_events') "
                                         "AND NOT tgisinternal AND tgenabled <> 'D'")))
        expected = {"audit_events_append_only"}
    problems = []
    if kind != "table":
        problems.append(f"audit_events is not a table (it is a {kind or 'missing object'}): the trail was replaced")
    missing = sorted(expected - triggers)
    if missing:
        problems.append(f"the append-only trigger(s) {', '.join(missing)} on audit_events are missing or disabled")
    return problems


# -- anchors ------------------------------------------------------------------------------


def _anchor_problems(heads: list[Head], seen: _Pass) -> list[str]:
    problems: list[str] = []
    beyond = [h for h in heads if h.seq is not None and h.seq > seen.last_seq]
    if beyond:
        highest = max(beyond, key=lambda h: h.seq or 0)
        problems.append(f"the audit chain ends at event {seen.last_seq}, but {highest.source} saw event "
                        f"{highest.seq}: events were deleted")
    for head in heads:
        if head.seq is not None and head.seq <= seen.last_seq and seen.at_seq.get(head.seq) != head.hash:
            problems.append(f"event {head.seq} is not the one {head.source} saw ({head.hash[:16]}…): the chain "
                            f"was rewritten")
        elif head.seq is None and head.hash not in seen.seq_of and head.hash != audit.GENESIS_HASH:
            problems.append(f"the audit head {head.hash[:16]}… noted by {head.source} is not in the audit chain: "
                            f"the chain was rewritten or cut")
    return problems


def _printed_heads(ctx: ServiceContext, register: list[dict[str, Any]]) -> list[Head]:
    """The head in each stored letter's signed metadata (letters from before it was there have none)."""
    heads = []
    for row in register:
        try:
            data = ctx.blobs.read_bytes(row["pdf_sha256"]) if is_sha256_hex(row["pdf_sha256"]) else b""
        except OSError:
            continue  # a missing blob is the blob store's finding, not the chain's
        found = _PRINTED_HEAD.search(data)
        if found and hashlib.sha256(data).hexdigest() == row["pdf_sha256"]:
            heads.append(Head(None, found.group(1).decode("ascii"), f"the signed PDF of {row['number']}"))
    return heads


# -- the letter register -----------------------------------------------------------------


def _register(conn: Connection) -> list[dict[str, Any]]:
    older = letters.alias("older")
    stmt = (select(letters.c.id, letters.c.number, letters.c.kind, letters.c.decision, letters.c.pdf_sha256,
                   letters.c.data_digest, letters.c.signer_fingerprint, letters.c.audit_head,
                   submissions.c.reference, older.c.number.label("supersedes"))
            .join(submissions, submissions.c.id == letters.c.submission_id, isouter=True)
            .join(older, older.c.id == letters.c.supersedes_id, isouter=True)
            .order_by(letters.c.id))
    return [dict(row._mapping) for row in conn.execute(stmt)]


def _revocations(conn: Connection) -> set[str]:
    return set(conn.scalars(select(letters.c.number).join(letter_revocations,
                                                          letter_revocations.c.letter_id == letters.c.id)))


_ISSUE_FIELDS = (("submission", "reference"), ("kind", "kind"), ("decision", "decision"),
                 ("pdf_sha256", "pdf_sha256"), ("data_digest", "data_digest"),
                 ("signer_fingerprint", "signer_fingerprint"), ("audit_head", "audit_head"),
                 ("supersedes", "supersedes"))


def _letter_problems(register: list[dict[str, Any]], revoked_rows: set[str], seen: _Pass) -> list[str]:
    problems = []
    issued: dict[str, list[Recorded]] = defaultdict(list)
    revoked_events: set[str] = set()
    superseded_events: dict[str, str] = {}
    for event in seen.recorded:
        if event.action == "letter.issue":
            issued[event.entity_id].append(event)
        elif event.action == "letter.revoke":
            revoked_events.add(event.entity_id)
        elif event.action == "letter.supersede":
            superseded_events[event.entity_id] = str(event.after.get("superseded_by"))
    numbers = {row["number"] for row in register}
    for row in register:
        number = row["number"]
        events = issued.get(number, [])
        if len(events) != 1:
            problems.append(f"letter {number} is in the register, but {len(events) or 'no'} letter.issue events "
                            f"record it: the register was edited")
            continue
        event = events[0]
        differing = [name for name, column in _ISSUE_FIELDS if event.after.get(name) != row[column]]
        if differing:
            problems.append(f"letter {number}: the register's {', '.join(differing)} differ(s) from event "
                            f"{event.seq} that issued it: the register was edited")
        head_seq = seen.seq_of.get(row["audit_head"])
        if head_seq is not None and head_seq >= event.seq:
            problems.append(f"letter {number}: its audit head (event {head_seq}) does not precede its issue "
                            f"(event {event.seq})")
    for number in sorted(set(issued) - numbers):
        problems.append(f"letter {number} was issued (event {issued[number][0].seq}) but is missing from the "
                        f"register")
    for number in sorted(revoked_events - revoked_rows):
        problems.append(f"letter {number} was revoked (a letter.revoke event), but the register has no revocation "
                        f"row: the register was edited")
    for number in sorted(revoked_rows - revoked_events):
        problems.append(f"letter {number} has a revocation row but no letter.revoke event: the register was edited")
    successors = {row["supersedes"]: row["number"] for row in register if row["supersedes"]}
    for old, new in sorted(superseded_events.items()):
        if successors.get(old) != new:
            problems.append(f"letter {old} was superseded by {new} (a letter.supersede event), but the register "
                            f"does not say so: the register was edited")
    return problems


# -- trust anchors and enrolled certificates ----------------------------------------------


def _trust_problems(conn: Connection, recorded: list[Recorded]) -> list[str]:
    from desktop_app.letters.trust import fingerprint, load_certificates

    latest_anchor: dict[str, str] = {}
    latest_enrolment: dict[str, str] = {}
    for event in recorded:
        if event.action in TRUST_ACTIONS:
            latest_anchor[event.entity_id] = event.action
        elif event.action == ENROL_ACTION:
            after = event.after
            latest_enrolment[event.entity_id] = str(after.get("fingerprint") or after.get("certificate_fingerprint"))
    problems = []
    for subject, pem in conn.execute(select(trust_anchors.c.subject, trust_anchors.c.pem)):
        digest = fingerprint(load_certificates(pem.encode("ascii"))[0])
        if latest_anchor.get(digest) != "trust.add_anchor":
            problems.append(f"trust anchor {subject} (SHA-256 {digest[:16]}…) was not added by an audited "
                            f"administrator action: it is not trusted")
    for username, pem, column in conn.execute(select(users.c.username, users.c.certificate_pem,
                                                     users.c.certificate_fingerprint)
                                              .where(users.c.certificate_fingerprint.is_not(None))):
        digest = fingerprint(load_certificates(pem.encode("ascii"))[0]) if pem else ""
        if latest_enrolment.get(username) != column or digest != column:
            problems.append(f"the signing certificate of {username} (SHA-256 {str(column)[:16]}…) is not the one "
                            f"its audited enrolment recorded")
    return problems
