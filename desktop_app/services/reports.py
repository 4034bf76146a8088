"""What leadership and auditors look at: dashboard figures, the periodic report, CSV
exports, and the per-submission review record.

Every figure is an SQL aggregate (SQLAlchemy Core, GROUP BY over indexed columns): the
dashboard costs a handful of queries whether the queue holds fifty submissions or
100,000, and nothing loads rows it only counts. The snapshot figures (by status, due,
overdue) come from the queue service's own counts, so a chart and the queue it filters
always agree. Period figures count agency calendar dates: a period's ends and its weeks
are agency midnights converted to UTC in Python, and the SQL compares stored UTC times
against them, so no database needs to know about time zones.

Days to decision are elapsed days (fractional) from receipt to the decision, for
submissions issued within the period; the median and 90th percentile interpolate
linearly between the two nearest values (as `statistics.quantiles(method="inclusive")`).

Writing a report or a review record to a file is audited (the data is controlled): the
event is written first, so a review record's audit section ends with its own export.
The PDFs are drawn by `letters.reports` from the plain data built here; CSV cells that
a spreadsheet would take for a formula are prefixed with an apostrophe (package text
is untrusted).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, extract, func, literal, select
from sqlalchemy.orm import Session

from desktop_app.domain import clock as review_clock
from desktop_app.domain import findings as finding_rules
from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.errors import OperationCancelled
from desktop_app.domain.spreadsheet import csv_cell
from desktop_app.domain.types import Decision, Severity, SubmissionState
from desktop_app.letters.report_data import (
    SEVERITIES,
    CategoryFindings,
    Count,
    DecidedSubmission,
    Figures,
    Period,
    PeriodicReport,
    Provenance,
    RecordArtifact,
    RecordComparison,
    RecordCondition,
    RecordEvent,
    RecordFinding,
    RecordLetter,
    RecordPackage,
    RecordRecommendation,
    RecordStatement,
    ReviewRecord,
    StateChange,
    WeekCount,
    Workload,
)
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext, current_actor
from desktop_app.services.findings import categories
from desktop_app.services.queue import (
    CLOCK_RUNNING_STATES,
    OPEN_STATES,
    QueueColumn,
    QueueFilter,
    QueueRow,
    QueueService,
)
from desktop_app.services.settings import SettingsService
from desktop_app.services.submissions import HistoryEntry, SubmissionService
from desktop_app.storage.models import (
    Developer,
    Finding,
    Letter,
    LetterRevocation,
    Package,
    Recommendation,
    SignOff,
    Submission,
    User,
)

__all__ = [
    "ChartPick", "CategoryFindings", "Count", "DecidedSubmission", "Figures", "Period", "PeriodicReport",
    "QueueLink", "ReportService", "ReviewRecord", "WeekCount", "Workload", "csv_cell",
]

S = Submission.__table__
D = Developer.__table__
F = Finding.__table__
R = Recommendation.__table__
U = User.__table__

#: Decided submissions listed by name in the periodic report's PDF (the CSV lists all).
DECIDED_LISTED = 200
DECIDED_STATES = (SubmissionState.ISSUED.value, SubmissionState.REFUSED.value)
REFUSED_KEY = SubmissionState.REFUSED.value
_ROWS_CHUNK = 2_000

Progress = Callable[[int, int], None]


def _outcome_label(key: str) -> str:
    if key == REFUSED_KEY:
        return "Refused"
    try:
        return Decision(key).label
    except ValueError:
        return "Unknown"


def _quantile(values_at: Callable[[int], tuple[float, float | None]], n: int, q: float) -> float | None:
    """Linear interpolation between the nearest ranks; `values_at(k)` gives the k-th and next value."""
    if n == 0:
        return None
    position = q * (n - 1)
    low = math.floor(position)
    first, second = values_at(low)
    if second is None or position == low:
        return first
    return first + (second - first) * (position - low)


def category_titles() -> dict[str, str]:
    """Taxonomy id → title, in taxonomy order."""
    return finding_rules.category_titles(categories())


# -- which queue a chart element opens --------------------------------------------------


@dataclass(frozen=True)
class ChartPick:
    """One clicked chart element: the chart, the bar's key, and the segment within it."""

    chart: str
    key: str = ""
    segment: str = ""


@dataclass(frozen=True)
class QueueLink:
    """The queue filter a chart element opens; `exact` says whether it shows exactly what was counted."""

    filter: QueueFilter
    description: str
    exact: bool = True


CHARTS = ("status", "open", "due_soon", "overdue", "decisions", "findings", "workload", "intake", "conditions")


def queue_link(pick: ChartPick) -> QueueLink:
    """The closest queue view for a chart element.

    The snapshot charts map exactly. The queue has no filter by decision, finding
    category or date, so the period charts open the nearest view and say so.
    """
    open_states = frozenset(SubmissionState(s) for s in OPEN_STATES)
    match pick.chart:
        case "status":
            state = SubmissionState(pick.key)
            return QueueLink(QueueFilter(states=frozenset({state})), f"Submissions {state.label.lower()}")
        case "open":
            return QueueLink(QueueFilter(states=open_states), "Open submissions")
        case "due_soon":
            return QueueLink(QueueFilter(due_within_days=DUE_SOON_DAYS),
                             f"Open submissions due within {DUE_SOON_DAYS} days")
        case "overdue":
            return QueueLink(QueueFilter(overdue=True), "Overdue submissions")
        case "workload":
            overdue = pick.segment == "overdue"
            flt = QueueFilter(states=open_states, assignee_id=int(pick.key), overdue=overdue)
            return QueueLink(flt, "Overdue submissions of one assignee" if overdue else "Open submissions of one assignee",
                             exact=pick.segment != "on_time")
        case "decisions":
            if pick.key == REFUSED_KEY:
                return QueueLink(QueueFilter(states=frozenset({SubmissionState.REFUSED})),
                                 "Refused submissions (all dates: the queue has no date filter)", exact=False)
            return QueueLink(QueueFilter(states=frozenset({SubmissionState.ISSUED})),
                             f"Issued submissions (the queue cannot filter by decision; "
                             f"the chart counted {_outcome_label(pick.key).lower()} only)", exact=False)
        case "findings":
            severity = Severity(pick.segment) if pick.segment else None
            return QueueLink(QueueFilter(min_severity=severity),
                             "Submissions by highest open finding (the queue cannot filter by category)"
                             if severity else "All submissions (the queue cannot filter by category)", exact=False)
        case "intake":
            return QueueLink(QueueFilter(), "All submissions (the queue cannot filter by date received)", exact=False)
        case "conditions":
            if pick.key in ("due", "overdue"):
                return QueueLink(QueueFilter(conditions=pick.key), f"Submissions with conditions {pick.key}")
            if pick.key in ("open", "evidence received"):
                return QueueLink(QueueFilter(conditions="unresolved"),
                                 "Submissions with unresolved conditions (open or with evidence received)",
                                 exact=False)
            return QueueLink(QueueFilter(states=frozenset({SubmissionState.ISSUED})),
                             f"Issued submissions (the queue cannot filter by a condition {pick.key})", exact=False)
    raise ValueError(f"unknown chart {pick.chart!r}")


# -- the service ----------------------------------------------------------------------------


class ReportService:
    def __init__(self, ctx: ServiceContext, *, today: dt.date | None = None) -> None:
        self.ctx = ctx
        self._today = today
        self.settings = SettingsService(ctx)
        self.submissions = SubmissionService(ctx)

    # -- dates ---------------------------------------------------------------------------
    def zone_name(self) -> str:
        return str(self.settings.get("agency_time_zone"))

    def today(self) -> dt.date:
        if self._today is not None:
            return self._today
        return review_clock.agency_date(self.ctx.now(), self.zone_name())

    def recent_weeks(self, weeks: int = 13) -> Period:
        """The last `weeks` whole Monday-to-Sunday weeks up to today (this week so far included)."""
        today = self.today()
        monday = today - dt.timedelta(days=today.weekday())
        return Period(monday - dt.timedelta(weeks=weeks - 1), today)

    def _midnight(self, day: dt.date) -> dt.datetime:
        """The agency's midnight at the start of `day`, in UTC."""
        zone = review_clock.zone(self.zone_name())
        return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)

    def _days_between(self, start: Any, end: Any) -> ColumnElement[float]:
        if self.ctx.engine.dialect.name == "sqlite":
            return func.julianday(end) - func.julianday(start)
        return extract("epoch", end - start) / 86400.0

    # -- the figures -------------------------------------------------------------------------
    def figures(self, period: Period, *, due_soon_days: int = DUE_SOON_DAYS) -> Figures:
        """Every dashboard figure: snapshot as of today, activity within `period`."""
        today = self.today()
        counts = QueueService(self.ctx, today=today).counts(QueueFilter(), due_within_days=due_soon_days)
        by_status = tuple(Count(state.value, state.label, counts.states.get(state, 0)) for state in SubmissionState)
        lo, hi = self._midnight(period.start), self._midnight(period.end + dt.timedelta(days=1))
        with self.ctx.reading() as session:
            workload, unassigned = self._workload(session, today)
            received = int(session.execute(select(func.count()).select_from(S).where(
                S.c.received_at >= lo, S.c.received_at < hi)).scalar_one())
            decisions = self._decisions(session, lo, hi)
            median, p90 = self._days_to_decision(session, lo, hi)
            findings = self._findings(session, lo, hi)
            intake = self._intake(session, period)
            conditions = self._conditions(session)
        return Figures(
            as_of=today, period=period, by_status=by_status,
            open_total=sum(counts.states.get(SubmissionState(s), 0) for s in OPEN_STATES),
            due_soon=counts.due_soon, due_soon_days=due_soon_days, overdue=counts.overdue,
            unassigned_open=unassigned, received=received, decided=sum(c.value for c in decisions),
            median_days=median, p90_days=p90, decisions=decisions, findings=findings, workload=workload,
            intake=intake, conditions_by_status=conditions, conditions_due=counts.conditions_due,
            conditions_overdue=counts.conditions_overdue)

    @staticmethod
    def _conditions(session: Session) -> tuple[Count, ...]:
        """Conditions of issued letters by status (open, evidence received, met, not met, waived)."""
        from desktop_app.domain.conditions import ConditionStatus
        from desktop_app.storage.tables import conditions

        found = dict(session.execute(select(conditions.c.status, func.count()).group_by(conditions.c.status)).all())
        return tuple(Count(status.value, status.label, int(found.get(status.value, 0))) for status in ConditionStatus)

    def _workload(self, session: Session, today: dt.date) -> tuple[tuple[Workload, ...], int]:
        late = and_(S.c.due_date < today, S.c.state.in_(CLOCK_RUNNING_STATES))  # a paused clock is never late
        overdue = func.coalesce(func.sum(case((late, 1), else_=0)), 0)
        rows = session.execute(
            select(S.c.assignee_id, func.count(), overdue).where(S.c.state.in_(OPEN_STATES))
            .group_by(S.c.assignee_id)).all()
        names = dict(session.execute(select(U.c.id, U.c.display_name)).all())
        unassigned = sum(n for uid, n, _ in rows if uid is None)
        workload = sorted((Workload(uid, names.get(uid, f"User {uid}"), int(n), int(late))
                           for uid, n, late in rows if uid is not None), key=lambda w: (-w.open, w.name))
        return tuple(workload), int(unassigned)

    def _decided_in(self, lo: dt.datetime, hi: dt.datetime) -> ColumnElement[bool]:
        return and_(S.c.state.in_(DECIDED_STATES), S.c.decided_at >= lo, S.c.decided_at < hi)

    @staticmethod
    def _outcome() -> ColumnElement[str]:
        latest_approved = (select(R.c.decision).where(R.c.submission_id == S.c.id, R.c.outcome == "approved")
                           .order_by(R.c.id.desc()).limit(1).scalar_subquery())
        return case((S.c.state == REFUSED_KEY, literal(REFUSED_KEY)), else_=func.coalesce(latest_approved, "UNKNOWN"))

    def _decisions(self, session: Session, lo: dt.datetime, hi: dt.datetime) -> tuple[Count, ...]:
        # Grouped outside a derived table: PostgreSQL will not GROUP BY a correlated subquery.
        decided = select(self._outcome().label("outcome")).where(self._decided_in(lo, hi)).subquery()
        found = {key: int(n) for key, n in session.execute(
            select(decided.c.outcome, func.count()).group_by(decided.c.outcome))}
        keys = [d.value for d in Decision] + [REFUSED_KEY] + sorted(set(found) - {*Decision, REFUSED_KEY})
        return tuple(Count(key, _outcome_label(key), found.get(key, 0)) for key in keys)

    def _days_to_decision(self, session: Session, lo: dt.datetime, hi: dt.datetime) -> tuple[float | None,
                                                                                         float | None]:
        days = self._days_between(S.c.received_at, S.c.decided_at).label("days")
        issued = and_(S.c.state == SubmissionState.ISSUED.value, S.c.decided_at >= lo, S.c.decided_at < hi)
        n = int(session.execute(select(func.count()).select_from(S).where(issued)).scalar_one())
        ordered = select(days).where(issued).order_by(days)

        def values_at(k: int) -> tuple[float, float | None]:
            pair = [float(v) for v in session.execute(ordered.limit(2).offset(k)).scalars()]
            return pair[0], pair[1] if len(pair) > 1 else None

        return _quantile(values_at, n, 0.5), _quantile(values_at, n, 0.9)

    def _findings(self, session: Session, lo: dt.datetime, hi: dt.datetime) -> tuple[CategoryFindings, ...]:
        """Findings recorded within the period (withdrawn ones not counted), by category and severity."""
        rows = session.execute(
            select(F.c.category, F.c.severity, func.count())
            .where(F.c.created_at >= lo, F.c.created_at < hi, F.c.status != "Withdrawn")
            .group_by(F.c.category, F.c.severity)).all()
        titles = category_titles()
        table: dict[str, list[int]] = {}
        order = {s.value: i for i, s in enumerate(SEVERITIES)}
        for category, severity, n in rows:
            if severity in order:
                table.setdefault(category, [0] * len(SEVERITIES))[order[severity]] += int(n)
        keys = [k for k in titles if k in table] + sorted(k for k in table if k not in titles)
        return tuple(CategoryFindings(k, titles.get(k, k), tuple(table[k])) for k in keys)

    def weeks(self, period: Period) -> list[tuple[dt.date, dt.date, dt.date]]:
        """(Monday, first day, last day) of each week the period touches, clipped to the period."""
        result = []
        monday = period.start - dt.timedelta(days=period.start.weekday())
        while monday <= period.end:
            result.append((monday, max(monday, period.start), min(monday + dt.timedelta(days=6), period.end)))
            monday += dt.timedelta(weeks=1)
        return result

    def _intake(self, session: Session, period: Period) -> tuple[WeekCount, ...]:
        weeks = self.weeks(period)
        edges = [self._midnight(first) for _monday, first, _last in weeks]
        hi = self._midnight(period.end + dt.timedelta(days=1))
        # One pass over the received_at index: each row's week is found by comparing with
        # the weeks' UTC edges (agency midnights), so daylight-saving changes are exact.
        bucket = case(*[(S.c.received_at < edge, i - 1) for i, edge in enumerate(edges[1:], start=1)],
                      else_=len(edges) - 1).label("week") if len(edges) > 1 else literal(0).label("week")
        found = dict(session.execute(select(bucket, func.count()).where(
            S.c.received_at >= edges[0], S.c.received_at < hi).group_by(bucket)).all())
        return tuple(WeekCount(monday, first, last, int(found.get(i, 0)))
                     for i, (monday, first, last) in enumerate(weeks))

    # -- the periodic report --------------------------------------------------------------------
    def _provenance(self, actor: Actor) -> Provenance:
        settings = self.settings.all()
        return Provenance(agency_name=str(settings["agency_name"]), handling_marking=str(settings["handling_marking"]),
                          generated_at=self.ctx.now(), generated_by=actor.label,
                          time_zone=str(settings["agency_time_zone"]), demo=self.ctx.paths.demo_pki.is_dir())

    def periodic_report(self, actor: Actor, period: Period, *, listed: int | None = DECIDED_LISTED) -> PeriodicReport:
        figures = self.figures(period)
        lo, hi = self._midnight(period.start), self._midnight(period.end + dt.timedelta(days=1))
        zone = self.zone_name()
        days = self._days_between(S.c.received_at, S.c.decided_at)
        stmt = (select(S.c.reference, D.c.name, S.c.model_name, S.c.model_version, self._outcome(), S.c.received_at,
                       S.c.decided_at, days)
                .select_from(S.join(D, D.c.id == S.c.developer_id)).where(self._decided_in(lo, hi))
                .order_by(S.c.decided_at, S.c.id))
        if listed is not None:
            stmt = stmt.limit(listed)
        with self.ctx.reading() as session:
            decided = tuple(
                DecidedSubmission(ref, dev, f"{name} {version}", _outcome_label(outcome),
                                  review_clock.agency_date(received, zone), review_clock.agency_date(decided_at, zone),
                                  float(n_days))
                for ref, dev, name, version, outcome, received, decided_at, n_days in session.execute(stmt))
        with self.ctx.connect() as conn:
            chain_seq, chain_head = audit.head(conn)
        return PeriodicReport(self._provenance(actor), figures, decided, figures.decided, chain_seq, chain_head)

    def periodic_report_pdf(self, actor: Actor, period: Period) -> bytes:
        from desktop_app.letters.reports import render_periodic_report

        return render_periodic_report(self.periodic_report(actor, period))

    def write_periodic_report(self, actor: Actor, period: Period, target: Path) -> Path:
        """The PDF, and beside it the same data as CSV (`<name>.csv`); both audited."""
        report = self.periodic_report(actor, period, listed=None)
        from desktop_app.letters.reports import render_periodic_report

        listed = PeriodicReport(report.provenance, report.figures, report.decided[:DECIDED_LISTED],
                                report.decided_total, report.chain_seq, report.chain_head)
        pdf = render_periodic_report(listed)
        target = Path(target)
        csv_target = target.with_suffix(".csv")
        self._audit_export(actor, "report.periodic", "report", f"{period.start}..{period.end}",
                           {"pdf": target.name, "csv": csv_target.name, "decided": report.decided_total})
        _write_atomically(target, pdf)
        _write_atomically(csv_target, periodic_report_csv(report).encode("utf-8"))
        return target

    # -- CSV of a queue view ------------------------------------------------------------------
    def export_queue_csv(self, actor: Actor, target: Path, flt: QueueFilter = QueueFilter(),  # noqa: B008
                         sort: QueueColumn = QueueColumn.DUE, descending: bool = False, *,
                         progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False) -> int:
        """Every row of a queue view, in its order, as CSV; returns the number of rows.

        Written to a temporary file and renamed at the end, so a cancelled or failed
        export leaves no half-written file.
        """
        queue = QueueService(self.ctx, today=self._today)
        ids = queue.ordered_ids(flt, sort, descending)
        self._audit_export(actor, "queue.export_csv", "queue", Path(target).name,
                           {"rows": len(ids), "filter": flt.to_spec(), "sort": sort.name, "descending": descending})
        marking = str(self.settings.get("handling_marking"))
        with _AtomicText(Path(target)) as out:
            writer = csv.writer(out)
            writer.writerow([csv_cell(marking)])  # the handling marking first and last, as on paper
            writer.writerow(QUEUE_CSV_HEADER)
            for start in range(0, len(ids), _ROWS_CHUNK):
                if cancelled():
                    raise OperationCancelled("the export was cancelled; no file was written")
                for row in queue.rows(ids[start:start + _ROWS_CHUNK]):
                    writer.writerow([csv_cell(v) for v in queue_csv_row(row)])
                if progress is not None:
                    progress(min(start + _ROWS_CHUNK, len(ids)), len(ids))
            writer.writerow([csv_cell(marking)])
        return len(ids)

    # -- the review record ---------------------------------------------------------------------
    def review_record(self, actor: Actor, submission_id: int) -> ReviewRecord:
        detail = self.submissions.detail(submission_id)
        history = self.submissions.history(submission_id)
        events = tuple(_record_event(entry) for entry in history)
        hashes = self._hashes([e.seq for e in history])
        events = tuple(RecordEvent(e.seq, e.occurred_at, e.actor, e.action, e.entity, e.summary, hashes.get(e.seq, ""))
                       for e in events)
        finding_ids = {str(f.id): f for f in detail.findings}
        evidence_owner = {str(e.id): str(f.id) for f in detail.findings for e in f.evidence}
        finding_events: dict[str, list[RecordEvent]] = {}
        for entry, event in zip(history, events, strict=True):
            owner = (entry.entity_id if entry.entity_type == "finding" and entry.entity_id in finding_ids
                     else evidence_owner.get(entry.entity_id) if entry.entity_type == "evidence" else None)
            if owner is not None:
                finding_events.setdefault(owner, []).append(event)
        titles = category_titles()
        findings = tuple(RecordFinding(
            f.label, f.title, titles.get(f.category, f.category), f.severity.value, f.status, f.author, f.created_at,
            f.description, f.condition,
            tuple(_evidence_line(e) for e in f.evidence), tuple(finding_events.get(str(f.id), ())))
            for f in detail.findings)
        with self.ctx.reading() as session:
            packages, letters = self._packages_and_letters(session, submission_id)
            letter_reasons = {rec_id: reasons for rec_id, reasons in session.execute(
                select(SignOff.recommendation_id, SignOff.letter_reasons).where(
                    SignOff.recommendation_id.in_([r.id for r in detail.recommendations]),
                    SignOff.action == "approved").order_by(SignOff.id)) if reasons}
            decided_at = session.execute(select(S.c.decided_at).where(S.c.id == submission_id)).scalar()
            chain = audit.verify_chain(audit.iter_events(session))
            head_seq, head_hash = audit.head(session)
        contact = ", ".join(p for p in (detail.contact_name, detail.contact_email, detail.contact_phone) if p)
        return ReviewRecord(
            provenance=self._provenance(actor), reference=detail.reference, state=detail.state.label,
            developer=detail.developer_name, contact=contact, model=detail.model_label,
            model_family=detail.model_family, received_at=detail.received_at, due_date=detail.due_date,
            decided_at=decided_at, assignee=detail.assignee, window_days=detail.window_days,
            paused_days=detail.paused_days, intended_release=detail.intended_release,
            description=detail.description, packages=packages,
            artifacts=tuple(RecordArtifact(a.path, a.kind, a.bytes, a.sha256, a.package_id) for a in detail.artifacts),
            findings=findings, state_changes=tuple(_state_changes(history)),
            recommendations=tuple(RecordRecommendation(
                _outcome_label(r.decision), r.reviewer, r.submitted_at, r.outcome, r.rationale, r.conditions,
                r.signed_off_by, r.signed_off_at, r.signoff_comment, letter_reasons.get(r.id, ""))
                for r in detail.recommendations),
            statements=tuple(_statements(history)),
            letters=letters, events=events, chain_seq=head_seq, chain_head=head_hash, chain_verified=chain.ok,
            chain_problem=chain.problem, comparison=self._comparison(submission_id),
            conditions=self._record_conditions(submission_id))

    def _comparison(self, submission_id: int) -> RecordComparison | None:
        """The "changes since the previous submission" section, for a resubmission or a supplemented one."""
        from desktop_app.services.diff import DiffService, MetricChange

        service = DiffService(self.ctx)
        if not service.has_earlier(submission_id):
            return None
        diff = service.compare(submission_id)
        return RecordComparison(
            title=diff.title,
            packages=f"{', '.join(diff.packages_before) or '—'} → {', '.join(diff.packages_after) or '—'}",
            artifacts=tuple((a.change, a.path, a.before_sha256 or "—", a.after_sha256 or "—")
                            for a in diff.artifact_changes),
            unchanged_artifacts=diff.count("unchanged"),
            fields=tuple((f.field, f.before, f.after) for f in diff.fields),
            metrics=tuple((m.task, m.scorer, m.metric, MetricChange.shown(m.before), MetricChange.shown(m.after),
                           m.changed) for m in diff.metrics),
            findings_of="" if diff.basis == "supplement" else diff.against_reference,
            findings=tuple((f.label, f.title, f.severity, f.status, f.carried_over_as or "—") for f in diff.findings),
            notes=diff.notes)

    def _record_conditions(self, submission_id: int) -> tuple[RecordCondition, ...]:
        from desktop_app.services.conditions import ConditionsService

        def line(e: Any) -> str:
            what = f"{e.artifact_path} (supplement {e.package_id})" if e.package_id else (e.artifact_path or e.title)
            digest = f", SHA-256 {e.sha256}" if e.sha256 else ""
            return f"{what}{digest}; added by {e.attached_by} on {e.attached_at:%Y-%m-%d %H:%M} UTC"

        return tuple(RecordCondition(c.label, c.text, c.owner, c.due_date, c.status.label, c.status_reason,
                                     tuple(line(e) for e in c.evidence))
                     for c in sorted(ConditionsService(self.ctx).list(submission_id=submission_id),
                                     key=lambda c: (c.letter_id, c.number)))

    def _hashes(self, seqs: Sequence[int]) -> dict[int, str]:
        from desktop_app.storage.models import AuditEvent

        table = AuditEvent.__table__
        found: dict[int, str] = {}
        with self.ctx.reading() as session:
            for start in range(0, len(seqs), 500):
                found.update(session.execute(select(table.c.seq, table.c.hash).where(
                    table.c.seq.in_(seqs[start:start + 500]))).all())
        return found

    @staticmethod
    def _packages_and_letters(session: Session, submission_id: int) -> tuple[tuple[RecordPackage, ...],
                                                                             tuple[RecordLetter, ...]]:
        names = dict(session.execute(select(U.c.id, U.c.display_name)).all())
        packages = tuple(RecordPackage(p.package_id, p.kind, p.manifest_sha256 or "", p.imported_at,
                                       names.get(p.imported_by_id or 0, "") or ("by hand" if p.by_hand else ""))
                         for p in session.scalars(select(Package).where(Package.submission_id == submission_id)
                                                  .order_by(Package.id)))
        rows = list(session.scalars(select(Letter).where(Letter.submission_id == submission_id).order_by(Letter.id)))
        revoked = {r.letter_id: r.reason for r in session.scalars(select(LetterRevocation).where(
            LetterRevocation.letter_id.in_([row.id for row in rows])))}
        successor = {row.supersedes_id: row.number for row in rows if row.supersedes_id}
        letters = []
        for row in rows:
            if row.id in revoked:
                status = f"Revoked: {revoked[row.id]}"
            elif row.id in successor:
                status = f"Superseded by {successor[row.id]}"
            else:
                status = "In force"
            letters.append(RecordLetter(row.number, row.kind, _outcome_label(row.decision) if row.decision else "—",
                                        row.issued_at, names.get(row.signer_id or 0, ""), row.pdf_sha256,
                                        row.data_digest, row.audit_head, status))
        return packages, tuple(letters)

    def review_record_pdf(self, actor: Actor, submission_id: int) -> bytes:
        from desktop_app.letters.reports import render_review_record

        return render_review_record(self.review_record(actor, submission_id))

    def write_review_record(self, actor: Actor, submission_id: int, target: Path) -> Path:
        """Audit the export, then build the record (which so ends with that event) and write it."""
        reference = self.submissions.detail(submission_id).reference
        self._audit_export(actor, "submission.export_record", "submission", reference, {"file": Path(target).name})
        from desktop_app.letters.reports import render_review_record

        _write_atomically(Path(target), render_review_record(self.review_record(actor, submission_id)))
        return Path(target)

    # -- auditing exports -------------------------------------------------------------------------
    def _audit_export(self, actor: Actor, action: str, entity_type: str, entity_id: str, after: dict[str, Any]) -> None:
        with self.ctx.transaction() as session:
            current_actor(session, actor)
            audit.record(session, actor=actor.username, action=action, entity_type=entity_type, entity_id=entity_id,
                         after=after, now=self.ctx.now())


# -- CSV ---------------------------------------------------------------------------------------

QUEUE_CSV_HEADER = ("Reference", "Developer", "Model", "Status", "Assignee", "Received", "Due", "Days left",
                    "Highest open severity", "Open findings", "Release conflict", "Intended release")


def queue_csv_row(row: QueueRow) -> list[Any]:
    return [row.reference, row.developer, row.model, row.state.label, row.assignee, row.received.isoformat(),
            row.due.isoformat() if row.is_open else "", row.days_left if row.is_open else "",
            row.severity.value if row.severity else "", row.open_findings, "yes" if row.release_conflict else "",
            row.intended_release.isoformat() if row.intended_release else ""]


PERIODIC_CSV_HEADER = ("section", "item", "breakdown", "value")


def periodic_report_rows(report: PeriodicReport) -> Iterator[tuple[str, str, str, Any]]:
    """The periodic report as (section, item, breakdown, value) rows: one tidy table."""
    f, p = report.figures, report.provenance
    yield "report", "agency", "", p.agency_name
    yield "report", "handling marking", "", p.handling_marking
    yield "report", "period start", "", f.period.start.isoformat()
    yield "report", "period end", "", f.period.end.isoformat()
    yield "report", "as of", "", f.as_of.isoformat()
    yield "report", "generated at (UTC)", "", p.generated_at.astimezone(dt.UTC).isoformat(timespec="seconds")
    yield "report", "generated by", "", p.generated_by
    yield "summary", "received", "", f.received
    yield "summary", "decided", "", f.decided
    yield "summary", "median days to decision", "", _number(f.median_days)
    yield "summary", "90th percentile days to decision", "", _number(f.p90_days)
    yield "summary", "open", "", f.open_total
    yield "summary", f"due within {f.due_soon_days} days", "", f.due_soon
    yield "summary", "overdue", "", f.overdue
    yield "summary", "open and unassigned", "", f.unassigned_open
    for count in f.by_status:
        yield "by status", count.label, "", count.value
    for count in f.decisions:
        yield "decisions", count.label, "", count.value
    for row in f.findings:
        for severity, n in zip(SEVERITIES, row.by_severity, strict=True):
            yield "findings", row.label, severity.value, n
    for load in f.workload:
        yield "workload", load.name, "open", load.open
        yield "workload", load.name, "overdue", load.overdue
    for week in f.intake:
        yield "intake per week", week.week_start.isoformat(), f"{week.first_day.isoformat()}..{week.last_day.isoformat()}", week.count
    yield "conditions", f"due within {DUE_SOON_DAYS} days", "", f.conditions_due
    yield "conditions", "overdue", "", f.conditions_overdue
    for count in f.conditions_by_status:
        yield "conditions by status", count.label, "", count.value
    for item in report.decided:
        yield "decided", item.reference, item.outcome, round(item.days, 2)


def _number(value: float | None) -> Any:
    return "" if value is None else round(value, 2)


def periodic_report_csv(report: PeriodicReport) -> str:
    """The report's table between two lines carrying the handling marking (top and bottom, as on paper)."""
    marking = [csv_cell(report.provenance.handling_marking)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(marking)
    writer.writerow(PERIODIC_CSV_HEADER)
    for row in periodic_report_rows(report):
        writer.writerow([csv_cell(v) for v in row])
    writer.writerow(marking)
    return out.getvalue()


# -- the review record's pieces ------------------------------------------------------------------


def _short(value: Any, limit: int = 160) -> str:
    if isinstance(value, list) and len(value) > 1 and all(isinstance(v, dict) for v in value):
        return f"{len(value)} entries"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def summarise_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """'field: old → new' for changed fields, 'field: value' for new ones."""
    before, after = before or {}, after or {}
    parts = []
    for key in list(after) + [k for k in before if k not in after]:
        if key in before and key in after:
            if before[key] != after[key]:
                parts.append(f"{key}: {_short(before[key], 60)} → {_short(after[key], 60)}")
        elif key in after:
            parts.append(f"{key}: {_short(after[key], 80)}")
        else:
            parts.append(f"{key} removed (was {_short(before[key], 60)})")
    return "; ".join(parts)


def _record_event(entry: HistoryEntry) -> RecordEvent:
    return RecordEvent(entry.seq, entry.occurred_at, entry.actor, entry.action, f"{entry.entity_type} {entry.entity_id}",
                       _short(summarise_change(entry.before, entry.after), 400), "")


#: the events whose words are part of the record, and where in the event they are
_STATEMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submission.refuse": ("Refused to accept: the reasons", ("reasons", "reason")),
    "submission.request_info": ("Information requested", ("text",)),
    "submission.record_info_received": ("Information received", ("note",)),
    "submission.return": ("Recommendation returned to the reviewer: the comments", ("comments",)),
    "submission.approve": ("Recommendation approved: the supervisor's comment", ("comment",)),
    "submission.withdraw": ("Withdrawal recorded: the developer's reason", ("reason",)),
    "submission.change_window": ("Review window changed: the reason", ("reason",)),
    "letter.revoke": ("Letter revoked: the reason", ("reason",)),
}


def _statements(history: Iterable[HistoryEntry]) -> Iterator[RecordStatement]:
    """The words written with each decision, whole: the events table shows them only shortened."""
    for entry in history:
        what, keys = _STATEMENTS.get(entry.action, ("", ()))
        after = entry.after or {}
        texts: list[str] = []
        for key in keys:
            value = after.get(key)
            texts += [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        texts = [text.strip() for text in texts if str(text).strip()]
        if texts:
            if entry.entity_type == "letter":
                what = f"Letter {entry.entity_id} revoked: the reason"
            yield RecordStatement(entry.occurred_at, entry.actor_name or entry.actor, what, tuple(texts))


def _state_changes(history: Iterable[HistoryEntry]) -> Iterator[StateChange]:
    for entry in history:
        if entry.entity_type != "submission":
            continue
        before = (entry.before or {}).get("state")
        after = (entry.after or {}).get("state")
        if after and after != before:
            def label(value: str | None) -> str:
                try:
                    return SubmissionState(value).label if value else "—"
                except ValueError:
                    return str(value)

            yield StateChange(entry.occurred_at, entry.actor, entry.action, label(before), label(after))


def _evidence_line(evidence: Any) -> str:
    if evidence.kind == "artifact":
        where = f" ({evidence.locator})" if evidence.locator else ""
        return f"{evidence.title} — cites artifact {evidence.artifact_path}{where}"
    digest = f", SHA-256 {evidence.blob_sha256}" if evidence.blob_sha256 else ""
    return f"{evidence.title} — file {evidence.original_name}{digest}"


# -- files ---------------------------------------------------------------------------------------


def _partial(target: Path) -> Path:
    """A new file beside `target` (created with the user's usual permissions, unlike mkstemp's 0600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = _partial(target)
    try:
        with open(temporary, "xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class _AtomicText:
    """A text file written beside its target and renamed over it only on success."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._temporary: Path | None = None
        self._file: io.TextIOWrapper | None = None

    def __enter__(self) -> io.TextIOWrapper:
        self._temporary = _partial(self.target)
        self._file = open(self._temporary, "x", encoding="utf-8", newline="")  # noqa: SIM115 - closed in __exit__
        return self._file

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        assert self._file is not None and self._temporary is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if exc_type is None:
            os.replace(self._temporary, self.target)
        else:
            self._temporary.unlink(missing_ok=True)
