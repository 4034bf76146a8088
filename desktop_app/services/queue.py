"""The review queue as SQL: ordered id lists, pages of rows by id, counts, saved filters.

The queue model asks for the full id list in sort order (one indexed query, under a
megabyte even at 100,000 submissions) and then only for the rows on screen, so sorting
and filtering cost one query and scrolling costs one small page. Every sort column has
an index (migration 0002), so the id list is read in index order, never sorted.
SQLAlchemy Core, not the ORM: a page of rows is read tens of times a second, and the
id list is read straight from the DBAPI cursor (SQLAlchemy's per-row objects would
double its cost at 100,000 rows).

Bulk assignment lives here too: it changes only who works on a submission (received,
in review or awaiting information), never its state, and writes one audit event per
submission. Accepting a submission is the workflow service's transition.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, case, delete, func, insert, select, update

from desktop_app.domain import clock as review_clock
from desktop_app.domain.conditions import UNRESOLVED_STATUSES
from desktop_app.domain.errors import InputRejected, NotFound, Problem
from desktop_app.domain.permissions import ADMIN_REVIEWS, REVIEWING_ROLES, may_review
from desktop_app.domain.text import checked
from desktop_app.domain.types import Role, Severity, SubmissionState
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext, current_actor
from desktop_app.services.search import SearchQuery, backend_for
from desktop_app.services.settings import SettingsService
from desktop_app.storage import tables

OPEN_STATES = tuple(s.value for s in SubmissionState if s.is_open)
#: The states whose review clock runs: "overdue" and "due within" look only at these.
CLOCK_RUNNING_STATES = tuple(s.value for s in SubmissionState if s.clock_runs)
#: States whose assignee bulk assignment may set or change.
ASSIGNABLE_STATES = (SubmissionState.RECEIVED, SubmissionState.IN_REVIEW, SubmissionState.AWAITING_INFO)
SAVED_FILTER_NAME_MAX = 100
_CHUNK = 500  # ids per IN (…) list: well under SQLite's variable limit

S = tables.submissions
D = tables.developers
A = tables.users.alias("assignee")
F = tables.findings
E = tables.evidence
C = tables.conditions
#: Condition statuses still to be followed up.
UNRESOLVED_CONDITIONS = tuple(s.value for s in UNRESOLVED_STATUSES)
#: The queue's condition filter: submissions with a condition due soon, overdue, or any unresolved one.
CONDITION_FILTERS = ("due", "overdue", "unresolved")


class QueueColumn(enum.IntEnum):
    REFERENCE = 0
    DEVELOPER = 1
    MODEL = 2
    STATUS = 3
    ASSIGNEE = 4
    RECEIVED = 5
    DUE = 6
    DAYS_LEFT = 7
    SEVERITY = 8
    OPEN_FINDINGS = 9
    RELEASE_CONFLICT = 10

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    QueueColumn.REFERENCE: "Reference",
    QueueColumn.DEVELOPER: "Developer",
    QueueColumn.MODEL: "Model",
    QueueColumn.STATUS: "Status",
    QueueColumn.ASSIGNEE: "Assignee",
    QueueColumn.RECEIVED: "Received",
    QueueColumn.DUE: "Due",
    QueueColumn.DAYS_LEFT: "Days left",
    QueueColumn.SEVERITY: "Highest open",
    QueueColumn.OPEN_FINDINGS: "Open findings",
    QueueColumn.RELEASE_CONFLICT: "Release conflict",
}

# Sort keys per column, each backed by an index (the row id, last, breaks ties). Status
# sorts by due date within a state, as the (state, due_date, assignee_id) index holds it.
_SORT_KEYS: dict[QueueColumn, tuple[Any, ...]] = {
    QueueColumn.REFERENCE: (S.c.reference_sort,),
    QueueColumn.DEVELOPER: (D.c.name,),
    QueueColumn.MODEL: (S.c.model_name, S.c.model_version),
    QueueColumn.STATUS: (S.c.state, S.c.due_date, S.c.assignee_id),
    QueueColumn.ASSIGNEE: (A.c.display_name, S.c.assignee_id, S.c.due_date),
    QueueColumn.RECEIVED: (S.c.received_at,),
    QueueColumn.DUE: (S.c.due_sort,),  # open ones by due date, closed ones (no due date shown) last
    QueueColumn.DAYS_LEFT: (S.c.due_sort,),
    QueueColumn.SEVERITY: (S.c.highest_open_severity,),
    QueueColumn.OPEN_FINDINGS: (S.c.open_findings,),
    QueueColumn.RELEASE_CONFLICT: (S.c.release_conflict,),
}


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; every field set narrows it (they combine with AND)."""

    states: frozenset[SubmissionState] = frozenset()
    assignee_id: int | None = None
    overdue: bool = False
    due_within_days: int | None = None
    developer_id: int | None = None
    min_severity: Severity | None = None
    text: str = ""
    #: "due", "overdue" or "unresolved": only submissions with such a condition of an issued letter
    conditions: str | None = None

    def with_changes(self, **changes: Any) -> QueueFilter:
        return replace(self, **changes)

    def to_spec(self) -> dict[str, Any]:
        """JSON for the saved_filters table (versioned, so later fields can be added)."""
        spec = asdict(self)
        spec["states"] = sorted(s.value for s in self.states)
        spec["min_severity"] = self.min_severity.value if self.min_severity else None
        return {"version": 1, **spec}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> QueueFilter:
        """Read a stored spec, ignoring what this version does not know."""
        def whole(value: Any) -> int | None:
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        states = frozenset(SubmissionState(s) for s in spec.get("states", ()) if s in SubmissionState.__members__)
        severity = spec.get("min_severity")
        return cls(states=states, assignee_id=whole(spec.get("assignee_id")), overdue=bool(spec.get("overdue")),
                   due_within_days=whole(spec.get("due_within_days")), developer_id=whole(spec.get("developer_id")),
                   min_severity=Severity(severity) if severity in {s.value for s in Severity} else None,
                   text=str(spec.get("text") or ""),
                   conditions=spec.get("conditions") if spec.get("conditions") in CONDITION_FILTERS else None)


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    developer: str
    model: str
    state: SubmissionState
    assignee: str
    received: dt.date
    due: dt.date
    days_left: int
    severity: Severity | None
    open_findings: int
    release_conflict: bool
    intended_release: dt.date | None
    is_open: bool = True
    #: Where a search matched when it was not in a visible column ("F-3: …", "Summary: …").
    match: str = ""


@dataclass(frozen=True)
class QueueCounts:
    """Counts for the sidebar under the filter bar's refinements (one query)."""

    total: int = 0
    states: dict[SubmissionState, int] = field(default_factory=dict)
    mine: int = 0
    overdue: int = 0
    due_soon: int = 0
    #: conditions of issued letters (items, not submissions) under the same refinements
    conditions_due: int = 0
    conditions_overdue: int = 0


@dataclass(frozen=True)
class SavedFilterInfo:
    id: int
    name: str
    filter: QueueFilter


@dataclass(frozen=True)
class BulkAssignResult:
    assigned: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (reference, reason)


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def _id_array(conn: Connection, stmt: Select[Any]) -> array[int]:
    """The ids the statement selects, in its order, as a compact array (8 bytes an id).

    On SQLite they come back as one JSON array from one `json_group_array` row. Python's
    sqlite3 releases the GIL around every row it steps to, and takes it back before the
    next: while any other thread runs Python (the GUI thread painting, a worker importing
    the review modules) each row waits for its turn, and 100,000 ids took 480 ms instead
    of 50 (2,000 rows against one busy thread: 3.5 s). One row is one wait, and parsing
    the array in C is faster than stepping rows even on an idle machine (23 vs 50 ms).
    The subquery keeps its ORDER BY: SQLite does not flatten an ordered subquery into an
    aggregate, so the array is in the statement's order.

    On PostgreSQL reading 100,000 rows off the cursor one by one is 60-90 ms of Python; the
    array constructor over the statement, `ARRAY((SELECT … ORDER BY …))`, collects the rows in
    the order the statement returns them, as one row (17-30 ms). (`array_agg(id ORDER BY …)`
    sorts inside the aggregate and cannot use the index order before PostgreSQL 16: twice as
    slow.) Other databases: rows from the cursor.
    """
    if conn.dialect.name == "sqlite":
        ordered = stmt.subquery()
        packed = conn.execute(select(func.json_group_array(list(ordered.c)[0]))).scalar_one()
        return array("q", json.loads(packed))
    if conn.dialect.name == "postgresql":
        return array("q", conn.execute(select(func.array(stmt.scalar_subquery()))).scalar_one())
    result = conn.execute(stmt)
    try:
        return array("q", (row[0] for row in result.cursor))
    finally:
        result.close()


def _keep_hits(within: Sequence[int], conn: Connection, hits: Select[Any]) -> array[int]:
    """The ids of `within` that the `hits` query selects, in the order of `within`."""
    hit = bytearray(max(within, default=0) + 1)  # one byte a submission: no 70,000-int set
    for sid in _id_array(conn, hits):
        if sid < len(hit):
            hit[sid] = 1
    return array("q", (i for i in within if hit[i]))


def _condition_clause(which: str, today: dt.date) -> ColumnElement[bool]:
    """Conditions of issued letters that are due soon, overdue, or unresolved at all."""
    unresolved = C.c.status.in_(UNRESOLVED_CONDITIONS)
    if which == "overdue":
        return and_(unresolved, C.c.due_date < today)
    if which == "due":
        return and_(unresolved, C.c.due_date >= today,
                    C.c.due_date <= today + dt.timedelta(days=review_clock.DUE_SOON_DAYS))
    return unresolved


def _next_prefix(prefix: str) -> str:
    """The first string after every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class QueueService:
    def __init__(self, ctx: ServiceContext, today: dt.date | None = None) -> None:
        self.ctx = ctx
        self.today = today
        self.search = backend_for(ctx.engine.dialect.name)
        self._zone: tuple[float, str] | None = None

    # -- dates ------------------------------------------------------------------------
    def _zone_name(self) -> str:
        """The agency time zone setting, re-read at most once a minute."""
        if self._zone is None or time.monotonic() - self._zone[0] > 60:
            self._zone = (time.monotonic(), str(SettingsService(self.ctx).get("agency_time_zone")))
        return self._zone[1]

    def _today(self) -> dt.date:
        """The agency's calendar date (due dates are agency dates, not UTC ones)."""
        if self.today is not None:
            return self.today
        return review_clock.agency_date(self.ctx.now(), self._zone_name())

    # -- filtering ----------------------------------------------------------------------
    def _where(self, flt: QueueFilter) -> list[ColumnElement[bool]]:
        today = self._today()
        clauses: list[ColumnElement[bool]] = []
        if flt.states:
            clauses.append(S.c.state.in_(sorted(st.value for st in flt.states)))
        if flt.assignee_id is not None:
            clauses.append(S.c.assignee_id == flt.assignee_id)
        if flt.overdue:
            clauses.append(and_(S.c.due_date < today, S.c.state.in_(CLOCK_RUNNING_STATES)))
        if flt.due_within_days is not None:
            clauses.append(and_(S.c.due_date <= today + dt.timedelta(days=flt.due_within_days),
                                S.c.state.in_(CLOCK_RUNNING_STATES)))
        if flt.developer_id is not None:
            clauses.append(S.c.developer_id == flt.developer_id)
        if flt.min_severity is not None:
            clauses.append(S.c.highest_open_severity >= flt.min_severity.rank)
        if flt.conditions in CONDITION_FILTERS:
            clauses.append(S.c.id.in_(select(C.c.submission_id).where(_condition_clause(flt.conditions, today))))
        query = SearchQuery.parse(flt.text)
        prefix = query.reference_prefix()
        if prefix is not None and prefix.count("-") == 2:  # CD-2026-00…: a narrow range of the reference index
            clauses.append(and_(S.c.reference >= prefix, S.c.reference < _next_prefix(prefix)))
        elif prefix is not None:  # CD-20…: most of the queue, so checked row by row in the sort order instead
            clauses.append(func.substr(S.c.reference, 1, len(prefix)) == prefix)
        elif query:
            clauses.append(S.c.id.in_(self.search.matching_ids(query)))
        return clauses

    def ordered_ids(self, flt: QueueFilter = QueueFilter(), sort: QueueColumn = QueueColumn.DUE,  # noqa: B008
                    descending: bool = False, *, within: Sequence[int] | None = None) -> array[int]:
        """Every matching submission id in display order (one indexed query), as a compact array.

        `within` is the answer for the same filter, sort and order without the search text,
        if the caller has it: a full-text search then only fetches the ids that match and
        keeps those of `within`, in its order. For a word that matches half the queue that
        is 20 ms instead of 80: SQLite would otherwise join and re-sort 50,000 hits.
        """
        query = SearchQuery.parse(flt.text)
        prefix = query.reference_prefix()
        with self.ctx.connect() as conn:
            if within is not None and query and prefix is None:
                return _keep_hits(within, conn, self.search.matching_ids(query))
            if within is not None and prefix is not None and prefix.count("-") < 2:
                # "cd-20": nearly every reference. Its ids come from the reference index alone
                # (and not at all when every reference matches), then `within` keeps its order.
                in_range = and_(S.c.reference >= prefix, S.c.reference < _next_prefix(prefix))
                if conn.execute(select(func.count()).where(in_range)).scalar_one() == \
                        conn.execute(select(func.count()).select_from(S)).scalar_one():
                    return array("q", within)
                return _keep_hits(within, conn, select(S.c.id).where(in_range))
            if sort is QueueColumn.ASSIGNEE and not query:
                return self._ids_by_assignee(conn, flt, descending)
            return _id_array(conn, self.id_statement(flt, sort, descending))

    def _ids_by_assignee(self, conn: Connection, flt: QueueFilter, descending: bool) -> array[int]:
        """The assignee order as one index range per person, in name order.

        Sorting 100,000 rows by a joined name takes SQLite a temporary B-tree (twice the
        time of any other column); reading (assignee_id, due_date) ranges one person after
        another gives the same order straight from the index. Unassigned come first, as
        NULL names sort first.
        """
        users = tables.users
        people: list[int | None] = [None, *conn.scalars(
            select(users.c.id).order_by(users.c.display_name, users.c.id))]
        if flt.assignee_id is not None:
            people = [flt.assignee_id]
        if descending:
            people.reverse()
        where = self._where(flt)
        order = [S.c.due_date.desc(), S.c.id.desc()] if descending else [S.c.due_date.asc(), S.c.id.asc()]
        ids: array[int] = array("q")
        for person in people:
            mine = S.c.assignee_id.is_(None) if person is None else S.c.assignee_id == person
            ids.extend(_id_array(conn, select(S.c.id).where(mine, *where).order_by(*order)))
        return ids

    def id_statement(self, flt: QueueFilter, sort: QueueColumn, descending: bool) -> Select[Any]:
        """The id query itself (for ordered_ids, and for benchmarks to run it bare)."""
        keys = _SORT_KEYS[sort]
        order = [k.desc() if descending else k.asc() for k in keys]
        order.append(S.c.id.desc() if descending else S.c.id.asc())
        source: Any = S
        if sort is QueueColumn.DEVELOPER:
            source = source.join(D, D.c.id == S.c.developer_id)
        elif sort is QueueColumn.ASSIGNEE:
            source = source.outerjoin(A, A.c.id == S.c.assignee_id)
        return select(S.c.id).select_from(source).where(*self._where(flt)).order_by(*order)

    def first_ids(self, flt: QueueFilter, sort: QueueColumn, descending: bool, limit: int) -> tuple[array[int], int]:
        """The first `limit` ids in display order and how many match in all: the first page.

        Two small indexed queries (~1 ms at 100,000 submissions, against ~35 ms for the whole
        id list), so a large queue paints its first page before the full list is read.
        Where no first page is cheaper than the whole list (the assignee order, a search),
        the ids are the whole list.
        """
        if sort is QueueColumn.ASSIGNEE or flt.text:  # no cheap first page: read the whole list
            ids = self.ordered_ids(flt, sort, descending)
            return ids, len(ids)
        statement = self.id_statement(flt, sort, descending)
        with self.ctx.connect() as conn:
            head = _id_array(conn, statement.limit(limit))
            count = len(head) if len(head) < limit else int(conn.execute(
                select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one())
        return head, count

    def total(self) -> int:
        with self.ctx.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(S)).scalar_one())

    def change_marker(self) -> int:
        """Moves whenever anything is written: every change appends an audit event."""
        with self.ctx.connect() as conn:
            return int(conn.execute(select(func.max(tables.audit_events.c.seq))).scalar() or 0)

    # -- rows ---------------------------------------------------------------------------
    def rows(self, ids: Sequence[int], *, search: str = "") -> list[QueueRow]:
        """The rows for these ids, in the order given; `search` fills QueueRow.match (slower)."""
        if not ids:
            return []
        stmt = (select(S.c.id, S.c.reference, D.c.name, S.c.model_name, S.c.model_version, S.c.state,
                       A.c.display_name, S.c.received_at, S.c.due_date, S.c.highest_open_severity,
                       S.c.open_findings, S.c.intended_release)
                .select_from(S.join(D, D.c.id == S.c.developer_id).outerjoin(A, A.c.id == S.c.assignee_id)))
        today, zone = self._today(), self._zone_name()
        found: dict[int, QueueRow] = {}
        with self.ctx.connect() as conn:
            for chunk in _chunks(ids):
                for (sid, ref, dev, name, version, state_value, assignee, received, due, sev, open_count,
                     release) in conn.execute(stmt.where(S.c.id.in_(chunk))):
                    state = SubmissionState(state_value)
                    found[sid] = QueueRow(
                        id=sid, reference=ref, developer=dev, model=f"{name} {version}", state=state,
                        assignee=assignee or "", received=review_clock.agency_date(received, zone), due=due,
                        days_left=(due - today).days, severity=Severity.from_rank(sev), open_findings=open_count,
                        release_conflict=bool(release and release < due and state.is_open),
                        intended_release=release, is_open=state.is_open)
            query = SearchQuery.parse(search)
            if query:
                found = self._with_matches(conn, found, query)
        return [found[i] for i in ids if i in found]

    def match_context(self, submission_id: int, search: str) -> str:
        """Where a search matches one submission outside its visible columns ("" if nowhere else)."""
        return self.match_contexts([submission_id], search).get(submission_id, "")

    def match_contexts(self, ids: Sequence[int], search: str, *,
                       rows: Sequence[QueueRow] | None = None) -> dict[int, str]:
        """`match_context` for many submissions at once (a page of the queue).

        `rows`, the queue rows of `ids` when the caller has them already (the queue model's
        page cache), saves reading them again.
        """
        if rows is None:
            return {row.id: row.match for row in self.rows(ids, search=search) if row.match}
        query = SearchQuery.parse(search)
        if not query or not rows:
            return {}
        with self.ctx.connect() as conn:
            found = self._with_matches(conn, {row.id: row for row in rows}, query)
        return {sid: row.match for sid, row in found.items() if row.match}

    def _with_matches(self, conn: Connection, rows: dict[int, QueueRow],
                      query: SearchQuery) -> dict[int, QueueRow]:
        """Say where the search matched for rows whose visible columns do not show it."""
        hidden = [sid for sid, row in rows.items()
                  if not any(query.matches(v) for v in (row.reference, row.developer, row.model))]
        if not hidden:
            return rows
        # the text that matches the most words wins; on a tie, findings before evidence before summary
        best: dict[int, tuple[int, str]] = {}

        def consider(sid: int, text: str, label: str) -> None:
            score = query.score(text)
            if score and score > best.get(sid, (0, ""))[0]:
                best[sid] = (score, f"{label}: {text}")

        for chunk in _chunks(hidden):
            for sid, number, title in conn.execute(
                    select(F.c.submission_id, F.c.number, F.c.title).where(F.c.submission_id.in_(chunk))
                    .order_by(F.c.submission_id, F.c.number)):
                consider(sid, title, f"F-{number}")
            for sid, number, title in conn.execute(
                    select(F.c.submission_id, F.c.number, E.c.title).join(E, E.c.finding_id == F.c.id)
                    .where(F.c.submission_id.in_(chunk)).order_by(F.c.submission_id, F.c.number, E.c.id)):
                consider(sid, title, f"F-{number} evidence")
            for sid, summary in conn.execute(select(S.c.id, S.c.description).where(S.c.id.in_(chunk))):
                consider(sid, summary or "", "Summary")
        return {sid: replace(row, match=best[sid][1]) if sid in best else row for sid, row in rows.items()}

    # -- counts -------------------------------------------------------------------------
    def status_counts(self, flt: QueueFilter = QueueFilter()) -> dict[SubmissionState, int]:  # noqa: B008
        """Rows per state under every filter but the state one (for the sidebar)."""
        return self.counts(flt).states

    def counts(self, flt: QueueFilter = QueueFilter(), *, me: int | None = None,  # noqa: B008
               due_within_days: int = 7) -> QueueCounts:
        """Per state, and for the "mine", overdue and due-soon views, under `flt` without its states.

        One pass (so a search runs once) over the (state, due_date, assignee_id) index,
        which holds every column the counts look at.
        """
        today = self._today()
        running = S.c.state.in_(CLOCK_RUNNING_STATES)

        def how_many(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        stmt = (select(S.c.state, func.count(), how_many(S.c.assignee_id == (me if me is not None else -1)),
                       how_many(and_(running, S.c.due_date < today)),
                       how_many(and_(running, S.c.due_date <= today + dt.timedelta(days=due_within_days))))
                .where(*self._where(flt.with_changes(states=frozenset()))).group_by(S.c.state))
        states = {state: 0 for state in SubmissionState}
        mine = overdue = due_soon = 0
        refinements = self._where(flt.with_changes(states=frozenset(), conditions=None))
        in_view = [C.c.submission_id.in_(select(S.c.id).where(*refinements))] if refinements else []
        conditions = select(how_many(_condition_clause("due", today)), how_many(_condition_clause("overdue", today))
                            ).select_from(C).where(*in_view)
        with self.ctx.connect() as conn:
            for state, n, n_mine, n_overdue, n_soon in conn.execute(stmt):
                states[SubmissionState(state)] = n
                mine, overdue, due_soon = mine + n_mine, overdue + n_overdue, due_soon + n_soon
            conditions_due, conditions_overdue = conn.execute(conditions).one()
        return QueueCounts(total=sum(states.values()), states=states, mine=mine, overdue=overdue, due_soon=due_soon,
                           conditions_due=int(conditions_due), conditions_overdue=int(conditions_overdue))

    # -- choices for the filter bar -------------------------------------------------------
    def developers(self) -> list[tuple[int, str]]:
        with self.ctx.connect() as conn:
            return [(i, n) for i, n in conn.execute(select(D.c.id, D.c.name).order_by(D.c.name))]

    def assignees(self) -> list[tuple[int, str]]:
        """Active reviewers and supervisors: who can be assigned a submission."""
        users = tables.users
        with self.ctx.connect() as conn:
            return [(i, n) for i, n in conn.execute(
                select(users.c.id, users.c.display_name)
                .where(users.c.active.is_(True), users.c.role.in_([r.value for r in REVIEWING_ROLES]))
                .order_by(users.c.display_name))]

    # -- saved filters ------------------------------------------------------------------
    def saved_filters(self, actor: Actor) -> list[SavedFilterInfo]:
        table = tables.saved_filters
        with self.ctx.connect() as conn:
            return [SavedFilterInfo(i, name, QueueFilter.from_spec(spec or {})) for i, name, spec in conn.execute(
                select(table.c.id, table.c.name, table.c.spec).where(table.c.user_id == actor.user_id)
                .order_by(table.c.name))]

    def save_filter(self, actor: Actor, name: str, flt: QueueFilter) -> SavedFilterInfo:
        """Save (or replace) one of the actor's named filters; audited."""
        name = " ".join(name.split())
        if not name:
            raise InputRejected(Problem("must not be empty", field="name"))
        if len(name) > SAVED_FILTER_NAME_MAX:
            raise InputRejected(Problem(f"at most {SAVED_FILTER_NAME_MAX} characters", field="name"))
        checked(name, "name", multiline=False)
        table = tables.saved_filters
        spec = flt.to_spec()
        with self.ctx.begin() as conn:
            current_actor(conn, actor)
            row = conn.execute(select(table.c.id, table.c.spec).where(
                table.c.user_id == actor.user_id, table.c.name == name)).first()
            if row is None:
                filter_id = conn.execute(insert(table).values(user_id=actor.user_id, name=name, spec=spec)
                                            .returning(table.c.id)).scalar_one()
                before = None
            else:
                filter_id, before = row
                conn.execute(update(table).where(table.c.id == filter_id).values(spec=spec))
            audit.record(conn, actor=actor.username, action="saved_filter.save", entity_type="saved_filter",
                         entity_id=filter_id, before=before and {"name": name, "spec": before},
                         after={"name": name, "spec": spec}, now=self.ctx.now())
        return SavedFilterInfo(filter_id, name, flt)

    def delete_filter(self, actor: Actor, filter_id: int) -> None:
        table = tables.saved_filters
        with self.ctx.begin() as conn:
            current_actor(conn, actor)
            row = conn.execute(select(table.c.name, table.c.spec).where(
                table.c.id == filter_id, table.c.user_id == actor.user_id)).first()
            if row is None:
                raise NotFound(f"no saved filter {filter_id} of {actor.username}")
            conn.execute(delete(table).where(table.c.id == filter_id))
            audit.record(conn, actor=actor.username, action="saved_filter.delete", entity_type="saved_filter",
                         entity_id=filter_id, before={"name": row.name, "spec": row.spec}, now=self.ctx.now())

    # -- bulk assignment ------------------------------------------------------------------
    def bulk_assign(self, actor: Actor, submission_ids: Sequence[int], assignee_id: int) -> BulkAssignResult:
        """Set the assignee of many submissions at once, one audit event per submission.

        Only received, in-review and awaiting-information submissions are assigned here;
        the others are reported as skipped. Administrators do not review, so they cannot
        assign (the refusal is audited).
        """
        reason = ADMIN_REVIEWS if actor.role is Role.ADMIN else "only reviewers and supervisors assign submissions"
        self.ctx.require(actor, may_review, reason, attempted="assign submissions", entity_type="submission",
                         entity_id=f"{len(submission_ids)} submissions")
        users = tables.users
        now = self.ctx.now()
        assigned: list[str] = []
        unchanged: list[str] = []
        skipped: list[tuple[str, str]] = []
        with self.ctx.begin() as conn:
            current_actor(conn, actor, may=may_review, refusal=reason)
            target = conn.execute(select(users.c.username, users.c.role, users.c.active)
                                     .where(users.c.id == assignee_id)).first()
            if target is None or not target.active or Role(target.role) not in REVIEWING_ROLES:
                raise InputRejected(Problem("must be an active reviewer or supervisor", field="assignee"))
            names = dict(conn.execute(select(users.c.id, users.c.username)).all())
            events: list[audit.PendingEvent] = []
            changing: list[int] = []
            ids = list(dict.fromkeys(submission_ids))
            for chunk in _chunks(ids):
                for sid, reference, state, current in conn.execute(
                        select(S.c.id, S.c.reference, S.c.state, S.c.assignee_id).where(S.c.id.in_(chunk))
                        .order_by(S.c.id)):
                    if SubmissionState(state) not in ASSIGNABLE_STATES:
                        skipped.append((reference, f"is {SubmissionState(state).label.lower()}; only received, "
                                                   "in-review and awaiting-information submissions are assigned"))
                    elif current == assignee_id:
                        unchanged.append(reference)
                    else:
                        changing.append(sid)
                        assigned.append(reference)
                        events.append(audit.PendingEvent(
                            actor=actor.username, action="submission.assign", entity_type="submission",
                            entity_id=reference, before={"assignee": names.get(current)},
                            after={"assignee": target.username}))
            missing = len(ids) - len(assigned) - len(unchanged) - len(skipped)
            if missing:
                raise NotFound(f"{missing} of the selected submissions no longer exist; refresh the queue")
            for chunk in _chunks(changing):
                conn.execute(update(S).where(S.c.id.in_(chunk), S.c.state.in_([s.value for s in ASSIGNABLE_STATES]))
                                .values(assignee_id=assignee_id, updated_at=now, updated_by=actor.username,
                                        version_id=S.c.version_id + 1))
            if events:
                audit.record_many(conn, events, now=now)
        return BulkAssignResult(tuple(assigned), tuple(unchanged), tuple(skipped))
