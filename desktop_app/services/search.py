"""Full-text search of the queue: one query language, one backend per database.

What a search means is decided here, once: the text is split into words; a word
matches a submission when its tokens appear, in order, at the start of words in the
reference, developer, model, summary, finding titles or evidence titles (so "orc"
finds "Orca" and "CD-2026-00" finds "CD-2026-0042"); every word must match. Words
shorter than two characters are ignored: a one-letter prefix matches nearly every row
and would only make the keystroke slow. `SearchQuery.spans` applies the same rule to
a piece of text, so the queue highlights exactly what the database matched.

SQLite implements it with the FTS5 table `queue_search` (unicode61 tokens, prefix
queries), which migration 0002 creates and its triggers keep in step. This is the one
module that holds SQLite-only SQL, and PostgreSQL's: there `queue_search` holds one
GIN-indexed tsvector per submission (migration 0003), queried with phrase-prefix
tsqueries (`PostgresSearch`). Another database plugs in by implementing
`SearchBackend`; `LikeSearch` answers the same queries (more slowly) with portable ILIKE.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from sqlalchemy import Connection, ColumnElement, Integer, Select, and_, column, exists, or_, select, table, text

from desktop_app.storage import tables

MIN_WORD = 2
_TOKEN = re.compile(r"[^\W_]+")  # what unicode61 calls a token: letters and digits


@dataclass(frozen=True)
class SearchQuery:
    """Parsed search text: each word is its tokens; a word's last token is a prefix."""

    words: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def parse(cls, text: str) -> SearchQuery:
        words = []
        for raw in text.split():
            tokens = tuple(t.casefold() for t in _TOKEN.findall(raw))
            if tokens and sum(map(len, tokens)) >= MIN_WORD:
                words.append(tokens)
        return cls(tuple(dict.fromkeys(words)))

    def __bool__(self) -> bool:
        return bool(self.words)

    def reference_prefix(self) -> str | None:
        """The reference a one-word query starts to spell ("cd-2026-00" gives "CD-2026-00"), or None.

        Such a query is answered from the reference column's index: as full text, its
        first token "cd" is in every document and would make each keystroke read them all.
        """
        if len(self.words) != 1:
            return None
        tokens = self.words[0]
        if tokens[0] != "cd" or len(tokens) > 3 or not all(t.isdigit() for t in tokens[1:]):
            return None
        if len(tokens) == 3 and len(tokens[1]) != 4 or len(tokens) > 1 and len(tokens[1]) > 4:
            return None
        return "-".join(t.upper() for t in tokens)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.words:
            return None
        alternatives = (r"[\W_]+".join(re.escape(t) for t in tokens) for tokens in self.words)
        # A match starts at a word start (no letter or digit just before it).
        return re.compile(r"(?<![^\W_])(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")",
                          re.IGNORECASE)

    def spans(self, value: str) -> list[tuple[int, int]]:
        """(start, end) of every match in `value`, for highlighting."""
        pattern = self._pattern
        if pattern is None or not value:
            return []
        return [m.span() for m in pattern.finditer(value)]

    def matches(self, value: str) -> bool:
        return bool(self.spans(value))

    def score(self, value: str) -> int:
        """How many of the words match somewhere in `value` (to pick the most telling snippet)."""
        folded = value.casefold()
        return sum(1 for pattern in self._word_patterns if pattern.search(folded))

    @cached_property
    def _word_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(t) for t in tokens))
                     for tokens in self.words)


class SearchBackend(Protocol):
    """What the queue needs from a full-text index."""

    def matching_ids(self, query: SearchQuery) -> Select[tuple[int]]:
        """A SELECT of the ids of submissions that match (used as `id IN (…)`)."""
        ...


class Fts5Search:
    """SQLite FTS5 over `queue_search` (one document per submission, rowid = submission id)."""

    TABLE = table("queue_search", column("rowid", Integer))

    def expression(self, query: SearchQuery) -> str:
        """The FTS5 MATCH expression: every word as a phrase whose last token is a prefix."""
        return " AND ".join('"' + " ".join(tokens) + '"*' for tokens in query.words)

    def matching_ids(self, query: SearchQuery) -> Select[tuple[int]]:
        return select(self.TABLE.c.rowid).where(
            text("queue_search MATCH :search_expression").bindparams(search_expression=self.expression(query)))


class LikeSearch:
    """Portable fallback: the same matching rule with ILIKE (no index; for small databases)."""

    def matching_ids(self, query: SearchQuery) -> Select[tuple[int]]:
        s, d, f, e = tables.submissions, tables.developers, tables.findings, tables.evidence
        clauses: list[ColumnElement[bool]] = []
        for tokens in query.words:
            like = "%" + "%".join(tokens) + "%"
            clauses.append(or_(
                s.c.reference.ilike(like), s.c.model_name.ilike(like), s.c.model_version.ilike(like),
                s.c.model_family.ilike(like), s.c.description.ilike(like), d.c.name.ilike(like),
                exists().where(f.c.submission_id == s.c.id, f.c.title.ilike(like)),
                exists().where(f.c.submission_id == s.c.id, e.c.finding_id == f.c.id, e.c.title.ilike(like))))
        return select(s.c.id).join(d, d.c.id == s.c.developer_id).where(and_(*clauses))


class PostgresSearch:
    """PostgreSQL full text over `queue_search` (submission_id, document tsvector), migration 0003.

    The document gives its six parts weights A and B in turn; a word of several tokens
    is a phrase that must match within one weight, so, as in FTS5, within one part.
    """

    TABLE = table("queue_search", column("submission_id", Integer))

    def expression(self, query: SearchQuery) -> str:
        """The tsquery text: every word (AND), as a phrase whose last token is a prefix."""
        def phrase(tokens: tuple[str, ...], weight: str) -> str:
            return " <-> ".join(f"'{t}':{'*' if i == len(tokens) - 1 else ''}{weight}" for i, t in enumerate(tokens))

        words = [phrase(tokens, "") if len(tokens) == 1 else f"(({phrase(tokens, 'A')}) | ({phrase(tokens, 'B')}))"
                 for tokens in query.words]
        return " & ".join(words)

    def matching_ids(self, query: SearchQuery) -> Select[tuple[int]]:
        return select(self.TABLE.c.submission_id).where(
            text("queue_search.document @@ to_tsquery('simple', queue_search_fold(:search_expression))")
            .bindparams(search_expression=self.expression(query)))


def backend_for(dialect_name: str) -> SearchBackend:
    if dialect_name == "sqlite":
        return Fts5Search()
    return PostgresSearch() if dialect_name == "postgresql" else LikeSearch()


# -- bulk loading ---------------------------------------------------------------------

_DOCUMENT = (
    "INSERT INTO queue_search(rowid, reference, developer, model, summary, findings, evidence) "
    "SELECT s.id, s.reference, d.name, s.model_name || ' ' || s.model_version || ' ' || s.model_family, "
    "s.description, "
    "(SELECT group_concat(f.title, char(10)) FROM findings f WHERE f.submission_id = s.id), "
    "(SELECT group_concat(e.title, char(10)) FROM findings f JOIN evidence e ON e.finding_id = f.id "
    "WHERE f.submission_id = s.id) "
    "FROM submissions s JOIN developers d ON d.id = s.developer_id WHERE s.id >= :first"
)


@contextlib.contextmanager
def bulk_load(conn: Connection, *, first_submission_id: int) -> Iterator[None]:
    """Suspend the search triggers around a bulk insert, then index the new rows at once.

    The triggers rebuild a submission's document on every finding insert: right for
    one finding, ruinous for a million. Inside the caller's transaction they are
    dropped, the block inserts submissions (ids from `first_submission_id` on) and their
    findings and evidence, and one INSERT … SELECT indexes them; the triggers are then
    recreated from their own stored SQL. If anything fails the transaction rolls back,
    triggers included. On databases without the FTS5 table this does nothing.

    On PostgreSQL the triggers stay and skip their work while the transaction-local
    setting `clearance_desk.search_bulk` is on; one call then indexes the new rows.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT set_config('clearance_desk.search_bulk', 'on', true)")
        yield
        conn.exec_driver_sql("SELECT set_config('clearance_desk.search_bulk', 'off', true)")
        conn.execute(text("SELECT queue_search_refresh_from(:first)"), {"first": first_submission_id})
        return
    if conn.dialect.name != "sqlite" or not conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'queue_search'").first():
        yield
        return
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'queue\\_search\\_%' ESCAPE '\\'"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    conn.execute(text(_DOCUMENT), {"first": first_submission_id})
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


def rebuild_sqlite_file(conn: sqlite3.Connection) -> None:
    """`rebuild` on a plain sqlite3 connection (a restore rebuilding a database outside any engine)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'queue_search'").fetchone():
        conn.execute("DELETE FROM queue_search")
        conn.execute(_DOCUMENT, {"first": 0})


def rebuild(conn: Connection) -> None:
    """Re-index every submission (repair after a restore from an old backup, say)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DELETE FROM queue_search")
        conn.execute(text(_DOCUMENT), {"first": 0})
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DELETE FROM queue_search")
        conn.exec_driver_sql("SELECT queue_search_refresh_from(0)")
