"""Audit anchors: heads of the chain noted where the database cannot rewrite them.

A hash chain shows that no event was edited, inserted or reordered, but a chain cut
short, emptied or rebuilt from scratch is still a valid chain. What catches those is a
head (sequence number and hash) noted outside the database, which the chain must
still contain:

- the head file, `audit-heads.log` in the data folder: one line `SEQ HASH` appended
  after each commit that wrote audit events (never before the commit, so a crash can
  leave it behind the chain, never ahead of it);
- the head printed on every letter (and in its signed metadata), every review record
  and periodic report, and every backup manifest;
- any head an auditor noted elsewhere, checked with `audit verify --anchor FILE`.

Noting heads works through the engine's commit event: `audit.record` leaves the head it
wrote on the connection, the commit event hands it to this thread, and the service
context's transaction appends it to the head file once the commit has returned.
"""

from __future__ import annotations

import json
import os
import re
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

from desktop_app.domain.errors import InputRejected, Problem

HEAD_FILE_NAME = "audit-heads.log"
#: the key under which `audit.record` leaves the head it wrote on the connection
PENDING_HEAD = "clearance_desk.audit_pending_head"
ANCHOR_FILE_LIMIT = 16 * 1024 * 1024

_HEAD_LINE = re.compile(r"\b(\d{1,12})\s+([0-9a-f]{64})\b")
_BARE_HASH = re.compile(r"\b([0-9a-f]{64})\b")

_committed = threading.local()


@dataclass(frozen=True)
class Head:
    """A chain head seen somewhere: `seq` is None when only the hash was noted (a letter)."""

    seq: int | None
    hash: str
    source: str


def leave_pending(conn: Connection, seq: int, digest: str) -> None:
    """Called by `audit.record`: the newest event this transaction wrote."""
    conn.info[PENDING_HEAD] = (seq, digest)


def watch(engine: Engine) -> None:
    """Hand each committed transaction's head to the committing thread; drop it on rollback."""

    def committing(conn: Connection) -> None:
        head = conn.info.pop(PENDING_HEAD, None)
        if head is not None:
            _committed.head = head

    def rolled_back(conn: Connection) -> None:
        conn.info.pop(PENDING_HEAD, None)
        _committed.head = None

    event.listen(engine, "commit", committing)
    event.listen(engine, "rollback", rolled_back)


def forget_committed() -> None:
    """Before a transaction starts: nothing stale from an earlier, unnoted commit."""
    _committed.head = None


def take_committed() -> tuple[int, str] | None:
    """After a commit returned: the head it wrote, if it wrote events."""
    head = getattr(_committed, "head", None)
    _committed.head = None
    return head


class HeadFile:
    """The append-only head file in the data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def note(self, seq: int, digest: str) -> None:
        line = f"{seq} {digest}\n".encode("ascii")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)  # one small O_APPEND write: whole lines even with several writers
            os.fsync(fd)
        finally:
            os.close(fd)

    def heads(self) -> list[Head]:
        """Every head noted; a damaged line is itself a finding, reported by the caller."""
        if not self.path.exists():
            return []
        return read_heads(self.path, what="head file")


def read_heads(path: Path, *, what: str = "anchor") -> list[Head]:
    """Heads in a file: lines `SEQ HASH` (the head file, `audit verify` output, a report's line),
    bare hashes (a letter's printed head), or a backup archive's manifest."""
    try:
        if not path.is_file():
            raise InputRejected(Problem("not a regular file", file=str(path)))
        if path.stat().st_size > ANCHOR_FILE_LIMIT:
            raise InputRejected(Problem(f"larger than {ANCHOR_FILE_LIMIT // (1024 * 1024)} MiB; not an anchor",
                                        file=str(path)))
        if zipfile.is_zipfile(path):
            return _manifest_heads(path)
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputRejected(Problem(f"cannot read: {error.strerror}", file=str(path))) from None
    heads: list[Head] = []
    for number, line in enumerate(text.splitlines(), start=1):
        paired = _HEAD_LINE.findall(line)
        if paired:
            heads += [Head(int(seq), digest, f"{path} line {number}") for seq, digest in paired]
            continue
        heads += [Head(None, digest, f"{path} line {number}") for digest in _BARE_HASH.findall(line)]
    if not heads and what == "anchor":
        raise InputRejected(Problem("holds no audit head (a line 'SEQUENCE HASH' or a 64-digit hash)",
                                    file=str(path)))
    return heads


def _manifest_heads(path: Path) -> list[Head]:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest: Any = json.loads(archive.read("manifest.json")[:ANCHOR_FILE_LIMIT])
        chain = manifest["audit"]
        return [Head(int(chain["events"]), str(chain["head"]), f"{path} (backup manifest)")]
    except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as error:
        raise InputRejected(Problem(f"not a backup archive with an audit head in its manifest ({error})",
                                    file=str(path))) from None


def heads_in(paths: Iterable[Path]) -> list[Head]:
    return [head for path in paths for head in read_heads(Path(path))]
