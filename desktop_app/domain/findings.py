"""Rules for findings: numbering, status changes, draft validation, queue summaries, conditions.

Functions here accept any object with the attributes they read (the storage rows keep
severity and status as plain strings; StrEnum values compare equal to them), so the
service layer can pass ORM rows or the frozen `FindingFacts` alike.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from desktop_app.domain.errors import InputRejected, Problem, TransitionNotAllowed
from desktop_app.domain.text import text_problem
from desktop_app.domain.types import FindingStatus, Severity

NUMBER_PREFIX = "F-"
TITLE_MAX = 200
DESCRIPTION_MAX = 100_000
CONDITION_MAX = 2_000

#: Severities that block a CLEARED recommendation while their finding is open.
BLOCKING_SEVERITIES: frozenset[Severity] = frozenset({Severity.CRITICAL, Severity.HIGH})

#: A finding may be created in any status but Withdrawn (found-and-fixed is real).
INITIAL_STATUSES: frozenset[FindingStatus] = frozenset(FindingStatus) - {FindingStatus.WITHDRAWN}

@dataclass(frozen=True)
class Category:
    """One category of the findings taxonomy (resources/taxonomy.json, read by the services)."""

    id: str
    group: str
    title: str

    @property
    def full_title(self) -> str:
        """The title with its group when the title alone does not name it ("Cyber offense — Exploit development")."""
        return self.title if self.title.startswith(self.group) else f"{self.group} — {self.title}"


def category_titles(categories: Iterable[Category], *, full: bool = False) -> dict[str, str]:
    """Category id → title (or full title), in taxonomy order: the one way every screen and letter names them."""
    return {c.id: c.full_title if full else c.title for c in categories}


_LABEL = re.compile(r"^\s*F-(\d{1,9})\s*$", re.IGNORECASE)


class RatedFinding(Protocol):
    """What summaries read: severity and status (enum members or their string values)."""

    @property
    def severity(self) -> str: ...

    @property
    def status(self) -> str: ...


class ConditionSource(Protocol):
    """What gathering conditions reads from a finding."""

    @property
    def number(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def condition(self) -> str | None: ...


@dataclass(frozen=True)
class FindingFacts:
    """The part of a finding the workflow rules look at."""

    severity: Severity
    status: FindingStatus
    number: int | None = None

    @classmethod
    def of(cls, finding: RatedFinding, number: int | None = None) -> FindingFacts:
        """Copy from a storage row (string columns) or anything shaped like a finding."""
        found = getattr(finding, "number", None)
        return cls(Severity(finding.severity), FindingStatus(finding.status), number if number is not None else found)


# --- numbering -------------------------------------------------------------------------


def label(number: int) -> str:
    """F-1, F-2 …: the number users cite in letters and conversations."""
    return f"{NUMBER_PREFIX}{number}"


def parse_label(text: str) -> int:
    """The number in "F-7" (case and surrounding spaces forgiven)."""
    match = _LABEL.match(text)
    if match is None or int(match.group(1)) < 1:
        raise InputRejected(Problem(f"expected a finding number such as F-1, got {text!r}", field="number"))
    return int(match.group(1))


def next_number(existing: Iterable[int], *, counter: int = 1) -> int:
    """The number for a new finding.

    Numbers are never reused: withdrawn findings keep theirs, and `counter` (the
    submission's stored "next number") keeps the high-water mark even if a row were
    ever lost. The caller stores the result + 1 as the new counter.
    """
    return max(counter, max(existing, default=0) + 1, 1)


# --- status ----------------------------------------------------------------------------


def allowed_status_changes(current: FindingStatus) -> frozenset[FindingStatus]:
    """Withdrawn is final; every other status may move to any other (each change is audited)."""
    if current is FindingStatus.WITHDRAWN:
        return frozenset()
    return frozenset(FindingStatus) - {current}


def check_status_change(current: FindingStatus, new: FindingStatus, number: int | None = None) -> None:
    """Raise TransitionNotAllowed for a change the rules forbid; staying put is fine."""
    if new is current and current is not FindingStatus.WITHDRAWN:
        return
    if new not in allowed_status_changes(current):
        which = label(number) if number is not None else "This finding"
        raise TransitionNotAllowed(f"{which} was withdrawn; withdrawn findings are final and cannot be changed.")


# --- drafts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingDraft:
    """What the editor submits for a new or changed finding (before validation)."""

    title: str
    category: str
    severity: Severity | str
    status: FindingStatus | str = FindingStatus.OPEN
    description: str = ""
    condition: str = ""
    #: shown to the developer in letters and notices (default: the agency keeps it to itself)
    releasable: bool = False


@dataclass(frozen=True)
class ValidFinding:
    """A draft that passed validation: trimmed text and real enum members."""

    title: str
    category: str
    severity: Severity
    status: FindingStatus
    description: str
    condition: str
    releasable: bool = False


def validate_draft(
    draft: FindingDraft,
    categories: Collection[str],
    *,
    current: FindingStatus | None = None,
    number: int | None = None,
) -> ValidFinding:
    """Check a draft against the taxonomy and the rules; `current` is the stored status of an edit.

    Raises TransitionNotAllowed when editing a withdrawn finding (nothing to fix in the
    form), otherwise InputRejected listing every field that is wrong.
    """
    if current is FindingStatus.WITHDRAWN:
        check_status_change(current, current, number)
    problems: list[Problem] = []
    title = _check_title(draft.title, problems)
    category = _check_category(draft.category, categories, problems)
    severity = _coerce(Severity, draft.severity, "severity", problems)
    status = _coerce(FindingStatus, draft.status, "status", problems)
    if status is not None and current is None and status not in INITIAL_STATUSES:
        problems.append(Problem("a new finding cannot start as Withdrawn", field="status"))
    description = _check_length(draft.description, DESCRIPTION_MAX, "description", problems)
    condition = _check_length(draft.condition, CONDITION_MAX, "condition", problems)
    if status is FindingStatus.RISK_ACCEPTED and not condition:
        problems.append(Problem("accepting a risk needs the condition the clearance will carry", field="condition"))
    if problems or severity is None or status is None:
        raise InputRejected(problems, subject=label(number) if number is not None else "finding")
    return ValidFinding(title, category, severity, status, description, condition, _yes(draft.releasable))


def _yes(value: object) -> bool:
    """A flag from the editor (bool) or from a replayed audit value ("yes"/"no")."""
    return value is True or str(value).strip().lower() in ("yes", "true", "1")


def _check_title(raw: str, problems: list[Problem]) -> str:
    title = (raw or "").strip()
    if not title:
        problems.append(Problem("a title is required", field="title"))
    elif len(title) > TITLE_MAX:
        problems.append(Problem(f"at most {TITLE_MAX} characters (this one has {len(title)})", field="title"))
    elif "\n" in title or "\r" in title:
        problems.append(Problem("the title must be a single line", field="title"))
    elif (refused := text_problem(title, multiline=False)) is not None:
        problems.append(Problem(refused, field="title"))
    return title


def _check_category(raw: str, categories: Collection[str], problems: list[Problem]) -> str:
    category = (raw or "").strip()
    if category not in categories:
        problems.append(Problem(f"{category or 'empty'!r} is not a category of the taxonomy", field="category"))
    return category


def _check_length(raw: str, limit: int, field: str, problems: list[Problem]) -> str:
    text = (raw or "").strip()
    if len(text) > limit:
        problems.append(Problem(f"at most {limit} characters (this one has {len(text)})", field=field))
    elif (refused := text_problem(text)) is not None:
        problems.append(Problem(refused, field=field))
    return text


def _coerce[E: (Severity, FindingStatus)](enum: type[E], raw: str, field: str, problems: list[Problem]) -> E | None:
    try:
        return enum(raw)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        problems.append(Problem(f"{raw!r} is not one of {choices}", field=field))
        return None


# --- summaries -------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSummary:
    """The denormalised queue columns: how many findings are open, and the worst of them."""

    open_count: int
    highest: Severity | None

    @property
    def highest_rank(self) -> int:
        """0 when nothing is open, as stored in submissions.highest_open_severity."""
        return self.highest.rank if self.highest is not None else 0


def is_open(finding: RatedFinding) -> bool:
    return FindingStatus(finding.status).is_open


def open_count(findings: Iterable[RatedFinding]) -> int:
    return sum(1 for finding in findings if is_open(finding))


def highest_open_severity(findings: Iterable[RatedFinding]) -> Severity | None:
    severities = [Severity(finding.severity) for finding in findings if is_open(finding)]
    return max(severities, key=lambda severity: severity.rank, default=None)


def summarize(findings: Iterable[RatedFinding]) -> OpenSummary:
    items = list(findings)
    return OpenSummary(open_count(items), highest_open_severity(items))


def blocking_findings[F: RatedFinding](findings: Iterable[F]) -> list[F]:
    """Open Critical or High findings: while any exists, CLEARED is refused."""
    return [f for f in findings if is_open(f) and Severity(f.severity) in BLOCKING_SEVERITIES]


# --- conditions ------------------------------------------------------------------------

#: Statuses whose condition travels into a CLEARED_WITH_CONDITIONS recommendation.
CONDITION_STATUSES: frozenset[FindingStatus] = frozenset(
    {FindingStatus.OPEN, FindingStatus.MITIGATION_REQUESTED, FindingStatus.RISK_ACCEPTED}
)


@dataclass(frozen=True)
class Condition:
    """One condition of a clearance, with the finding it comes from."""

    finding_number: int
    text: str

    @property
    def source(self) -> str:
        return label(self.finding_number)


def gather_conditions(findings: Iterable[ConditionSource]) -> tuple[Condition, ...]:
    """Conditions for a CLEARED_WITH_CONDITIONS recommendation, ordered by finding number.

    Mitigated and withdrawn findings impose nothing; open, mitigation-requested and
    risk-accepted ones impose their condition text when they have one.
    """
    gathered = [
        Condition(finding.number, (finding.condition or "").strip())
        for finding in findings
        if FindingStatus(finding.status) in CONDITION_STATUSES and (finding.condition or "").strip()
    ]
    return tuple(sorted(gathered, key=lambda condition: condition.finding_number))
