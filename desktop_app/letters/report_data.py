"""What the periodic report and the review record say, as frozen plain data.

The reports service fills these in from the database; `letters.reports` draws them as
PDF and the service writes the same data as CSV, so the two can never disagree. The
dashboard shows the same `Figures` the periodic report prints. No reportlab here: the
window imports these types without loading the PDF machinery.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import Severity

#: Severities in the order every table and chart shows them, worst first.
SEVERITIES: tuple[Severity, ...] = tuple(Severity)


@dataclass(frozen=True)
class Period:
    """A range of agency calendar dates, both ends included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputRejected(Problem("must not be before the start date", field="end"))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return f"{long_date(self.start)} – {long_date(self.end)}"


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B} {day.year}"


@dataclass(frozen=True)
class Count:
    """One bar or slice: a stable key (state, decision, user id…), its label and its count."""

    key: str
    label: str
    value: int


@dataclass(frozen=True)
class CategoryFindings:
    """Findings of one taxonomy category, per severity in `SEVERITIES` order."""

    key: str
    label: str
    by_severity: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.by_severity)


@dataclass(frozen=True)
class Workload:
    """Open submissions assigned to one reviewer or supervisor; overdue ones are among them."""

    user_id: int
    name: str
    open: int
    overdue: int

    @property
    def on_time(self) -> int:
        return self.open - self.overdue


@dataclass(frozen=True)
class WeekCount:
    """Submissions received in one Monday-to-Sunday week (clipped to the period at its ends)."""

    week_start: dt.date
    first_day: dt.date
    last_day: dt.date
    count: int

    @property
    def label(self) -> str:
        return f"{self.week_start:%d %b}"


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard shows and the periodic report prints.

    Snapshot figures (by status, due, overdue, workload) are as of `as_of`; the others
    count what happened within `period`: submissions received, decisions made (a
    submission is decided when it is issued or refused), findings recorded.
    """

    as_of: dt.date
    period: Period
    by_status: tuple[Count, ...]
    open_total: int
    due_soon: int
    due_soon_days: int
    overdue: int
    unassigned_open: int
    received: int
    decided: int
    median_days: float | None
    p90_days: float | None
    decisions: tuple[Count, ...]
    findings: tuple[CategoryFindings, ...]
    workload: tuple[Workload, ...]
    intake: tuple[WeekCount, ...]
    #: conditions of issued letters, as of `as_of`: by status, and the unresolved ones due soon or overdue
    conditions_by_status: tuple[Count, ...] = ()
    conditions_due: int = 0
    conditions_overdue: int = 0

    @property
    def findings_total(self) -> int:
        return sum(row.total for row in self.findings)

    def findings_by_severity(self) -> tuple[int, ...]:
        return tuple(sum(row.by_severity[i] for row in self.findings) for i in range(len(SEVERITIES)))


@dataclass(frozen=True)
class DecidedSubmission:
    reference: str
    developer: str
    model: str
    outcome: str
    received_on: dt.date
    decided_on: dt.date
    days: float


@dataclass(frozen=True)
class Provenance:
    """Who made a report, when, for which agency, under which handling marking."""

    agency_name: str
    handling_marking: str
    generated_at: dt.datetime
    generated_by: str
    time_zone: str
    demo: bool = False


@dataclass(frozen=True)
class PeriodicReport:
    provenance: Provenance
    figures: Figures
    decided: tuple[DecidedSubmission, ...]
    #: every decision in the period; `decided` may list only the first of them
    decided_total: int
    #: the audit chain's head when the report was made (an anchor: `audit verify --anchor`)
    chain_seq: int = 0
    chain_head: str = ""


# -- the review record -----------------------------------------------------------------


@dataclass(frozen=True)
class RecordEvent:
    """One audit event, summarised: what changed, and the event's own hash."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    entity: str
    summary: str
    hash: str


@dataclass(frozen=True)
class RecordArtifact:
    path: str
    kind: str
    size_bytes: int
    sha256: str
    package_id: str


@dataclass(frozen=True)
class RecordPackage:
    package_id: str
    kind: str
    manifest_sha256: str
    imported_at: dt.datetime
    imported_by: str


@dataclass(frozen=True)
class RecordFinding:
    label: str
    title: str
    category: str
    severity: str
    status: str
    author: str
    created_at: dt.datetime
    description: str
    condition: str
    evidence: tuple[str, ...]
    history: tuple[RecordEvent, ...]


@dataclass(frozen=True)
class StateChange:
    occurred_at: str
    actor: str
    action: str
    from_state: str
    to_state: str


@dataclass(frozen=True)
class RecordRecommendation:
    decision: str
    reviewer: str
    submitted_at: dt.datetime
    outcome: str
    rationale: str
    conditions: tuple[str, ...]
    #: the supervisor's sign-off (approved or returned): who, when, their comment, the reasons approved for the letter
    signed_off_by: str = ""
    signed_off_at: dt.datetime | None = None
    signoff_comment: str = ""
    letter_reasons: str = ""


@dataclass(frozen=True)
class RecordStatement:
    """What someone wrote when deciding: refusal reasons, a request, return comments, a revocation's reason."""

    occurred_at: str
    actor: str
    what: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class RecordCondition:
    """One condition of an issued letter as followed up: who, by when, where it stands, on what evidence."""

    label: str
    text: str
    owner: str
    due_date: dt.date
    status: str
    reason: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class RecordLetter:
    number: str
    kind: str
    decision: str
    issued_at: dt.datetime
    signer: str
    pdf_sha256: str
    data_digest: str
    audit_head: str
    status: str


@dataclass(frozen=True)
class RecordComparison:
    """What changed since the earlier submission (services.diff), as the record prints it."""

    title: str
    packages: str
    artifacts: tuple[tuple[str, str, str, str], ...]
    """(change, path, SHA-256 before, SHA-256 after) of each added, removed or changed artifact."""
    unchanged_artifacts: int
    fields: tuple[tuple[str, str, str], ...]
    """(field, before, after) of each changed manifest field."""
    metrics: tuple[tuple[str, str, str, str, str, bool], ...]
    """(task, scorer, metric, before, after, changed) of each evaluation metric on either side."""
    findings_of: str
    findings: tuple[tuple[str, str, str, str, str], ...]
    """(label, title, severity, status, carried over as) of the earlier submission's findings."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewRecord:
    """One submission's whole record, for auditors."""

    provenance: Provenance
    reference: str
    state: str
    developer: str
    contact: str
    model: str
    model_family: str
    received_at: dt.datetime
    due_date: dt.date
    decided_at: dt.datetime | None
    assignee: str
    window_days: int
    paused_days: int
    intended_release: dt.date | None
    description: str
    packages: tuple[RecordPackage, ...]
    artifacts: tuple[RecordArtifact, ...]
    findings: tuple[RecordFinding, ...]
    state_changes: tuple[StateChange, ...]
    recommendations: tuple[RecordRecommendation, ...]
    letters: tuple[RecordLetter, ...]
    events: tuple[RecordEvent, ...]
    chain_seq: int
    chain_head: str
    chain_verified: bool
    chain_problem: str = ""
    comparison: RecordComparison | None = None
    conditions: tuple[RecordCondition, ...] = ()
    #: reasons, requests and comments written at each decision, in full (the events table shortens them)
    statements: tuple[RecordStatement, ...] = ()
