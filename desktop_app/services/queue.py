"""The review queue as SQL: ordered id lists, pages of rows by id, and live counts.

The queue model asks for the full id list in sort order (one indexed query, a few
hundred kilobytes even at 100,000 submissions) and then only for the rows on screen,
so sorting and filtering cost one query and scrolling costs one small page.
SQLAlchemy Core, not the ORM: a page of rows is read tens of times a second.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from desktop_app.domain.types import Severity, SubmissionState
from desktop_app.services.context import ServiceContext
from desktop_app.storage.models import Developer, Submission, User

OPEN_STATES = tuple(s.value for s in SubmissionState if s.is_open)


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


@dataclass(frozen=True)
class QueueFilter:
    states: frozenset[SubmissionState] = frozenset()
    assignee_id: int | None = None
    overdue: bool = False
    due_within_days: int | None = None
    developer_id: int | None = None
    min_severity: Severity | None = None
    text: str = ""


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


class QueueService:
    def __init__(self, ctx: ServiceContext, today: dt.date | None = None) -> None:
        self.ctx = ctx
        self.today = today
        self._assignee = aliased(User, name="assignee")

    def _today(self) -> dt.date:
        return self.today or self.ctx.now().date()

    def _sort_expression(self, column: QueueColumn) -> ColumnElement:
        s, d, a = Submission, Developer, self._assignee
        return {
            QueueColumn.REFERENCE: s.reference,
            QueueColumn.DEVELOPER: d.name,
            QueueColumn.MODEL: s.model_name,
            QueueColumn.STATUS: s.state,
            QueueColumn.ASSIGNEE: a.display_name,
            QueueColumn.RECEIVED: s.received_at,
            QueueColumn.DUE: s.due_date,
            QueueColumn.DAYS_LEFT: s.due_date,
            QueueColumn.SEVERITY: s.highest_open_severity,
            QueueColumn.OPEN_FINDINGS: s.open_findings,
            QueueColumn.RELEASE_CONFLICT: case((s.intended_release < s.due_date, 1), else_=0),
        }[column]

    def _where(self, flt: QueueFilter) -> list[ColumnElement[bool]]:
        s, d = Submission, Developer
        today = self._today()
        clauses: list[ColumnElement[bool]] = []
        if flt.states:
            clauses.append(s.state.in_(sorted(st.value for st in flt.states)))
        if flt.assignee_id is not None:
            clauses.append(s.assignee_id == flt.assignee_id)
        if flt.overdue:
            clauses.append(and_(s.due_date < today, s.state.in_(OPEN_STATES)))
        if flt.due_within_days is not None:
            clauses.append(and_(s.due_date <= today + dt.timedelta(days=flt.due_within_days),
                                s.state.in_(OPEN_STATES)))
        if flt.developer_id is not None:
            clauses.append(s.developer_id == flt.developer_id)
        if flt.min_severity is not None:
            clauses.append(s.highest_open_severity >= flt.min_severity.rank)
        text = flt.text.strip()
        if text:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            clauses.append(or_(s.reference.ilike(like), s.model_name.ilike(like), d.name.ilike(like),
                               s.model_version.ilike(like)))
        return clauses

    def ordered_ids(self, flt: QueueFilter = QueueFilter(), sort: QueueColumn = QueueColumn.DUE,
                    descending: bool = False) -> list[int]:
        key = self._sort_expression(sort)
        order = key.desc() if descending else key.asc()
        tiebreak = Submission.id.desc() if descending else Submission.id.asc()
        stmt = (select(Submission.id).join(Developer, Developer.id == Submission.developer_id)
                .where(*self._where(flt)).order_by(order, tiebreak))
        if sort is QueueColumn.ASSIGNEE:
            stmt = stmt.outerjoin(self._assignee, self._assignee.id == Submission.assignee_id)
        with self.ctx.reading() as session:
            return list(session.scalars(stmt))

    def rows(self, ids: Sequence[int]) -> list[QueueRow]:
        """The rows for these ids, in the order given."""
        if not ids:
            return []
        s, d, a = Submission, Developer, self._assignee
        stmt = (select(s.id, s.reference, d.name, s.model_name, s.model_version, s.state, a.display_name,
                       s.received_at, s.due_date, s.highest_open_severity, s.open_findings, s.intended_release)
                .join(d, d.id == s.developer_id).outerjoin(a, a.id == s.assignee_id).where(s.id.in_(list(ids))))
        today = self._today()
        with self.ctx.reading() as session:
            found = {}
            for (sid, ref, dev, name, version, state, assignee, received, due, sev, open_count,
                 release) in session.execute(stmt):
                state = SubmissionState(state)
                received_at = received if isinstance(received, dt.datetime) else dt.datetime.fromisoformat(str(received))
                found[sid] = QueueRow(
                    id=sid, reference=ref, developer=dev, model=f"{name} {version}", state=state,
                    assignee=assignee or "", received=received_at.date(), due=due, days_left=(due - today).days,
                    severity=Severity.from_rank(sev), open_findings=open_count,
                    release_conflict=bool(release and release < due and state.is_open),
                    intended_release=release, is_open=state.is_open,
                )
        return [found[i] for i in ids if i in found]

    def status_counts(self, flt: QueueFilter = QueueFilter()) -> dict[SubmissionState, int]:
        """Rows per state under every filter but the state one (for the sidebar)."""
        without_states = QueueFilter(**{**flt.__dict__, "states": frozenset()})
        stmt = (select(Submission.state, func.count()).join(Developer, Developer.id == Submission.developer_id)
                .where(*self._where(without_states)).group_by(Submission.state))
        with self.ctx.reading() as session:
            counts = {SubmissionState(state): n for state, n in session.execute(stmt)}
        return {state: counts.get(state, 0) for state in SubmissionState}

    def developers(self) -> list[tuple[int, str]]:
        with self.ctx.reading() as session:
            return [(i, n) for i, n in session.execute(select(Developer.id, Developer.name).order_by(Developer.name))]
