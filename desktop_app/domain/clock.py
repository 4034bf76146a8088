"""The review clock: due date, days left, overdue, release conflict. Pure date arithmetic.

How days are counted (the rules every screen and letter must agree on):

* The agency works in calendar dates of its own time zone (setting
  ``agency_time_zone``, default America/New_York). Timestamps are stored in UTC and each
  one is converted to its *agency date* before anything is counted; hours never enter
  the arithmetic, so a daylight-saving change (a 23- or 25-hour day) can never move a
  due date, and 23:30 in Washington is that day even though it is already tomorrow in UTC.
* The day of receipt is day 0. The due date is ``received date + window days + paused
  days``: received 1 March with a 30-day window is due 31 March. The due date is the
  last day that is on time: on it ``days_left`` is 0, the day after it is -1 (overdue).
* A pause (AWAITING_INFO) stops the clock on the agency dates from the date the request
  was sent (included) to the date the information arrived (excluded). So a request sent
  and answered the same day pauses nothing; sent on 3 March and answered on 5 March
  pauses 2 days (3 and 4 March). Splitting a pause anywhere gives the same total, and
  overlapping pauses never count a date twice (the paused dates are a set).
* An ongoing pause counts up to, not including, the date the clock is read on: while
  paused, the due date moves one day later each day and ``days_left`` stays the same.
* Pauses before the receipt date count nothing; closed pauses are counted as they were
  known on the date the clock is read (reading the clock "as of" an earlier date gives
  the answer it gave then).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from desktop_app.domain.errors import InputRejected, Problem

DEFAULT_WINDOW_DAYS = 30
DEFAULT_TIME_ZONE = "America/New_York"
MIN_WINDOW_DAYS = 1
MAX_WINDOW_DAYS = 365
WINDOW_REASON_MAX = 2_000
#: "Due soon" everywhere (the queue's filter, My work, the dashboard, reports, conditions):
#: due within this many calendar days, the due date itself included.
DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Pause:
    """One stretch of AWAITING_INFO: from the request to the information (None while waiting)."""

    start: dt.datetime
    end: dt.datetime | None = None


@dataclass(frozen=True)
class ReviewClock:
    """Everything the clock needs about one submission.

    `window_days` is the effective window: the per-submission value when one was set
    (with its audited reason), otherwise the setting.
    """

    received_at: dt.datetime
    window_days: int = DEFAULT_WINDOW_DAYS
    pauses: tuple[Pause, ...] = ()
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        zone(self.time_zone)  # an unknown zone fails here, naming the setting

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zone(self.time_zone)

    def with_pause(self, pause: Pause) -> ReviewClock:
        return ReviewClock(self.received_at, self.window_days, (*self.pauses, pause), self.time_zone)

    @property
    def received_date(self) -> dt.date:
        return agency_date(self.received_at, self.tz)

    @property
    def is_paused(self) -> bool:
        """True while an information request is outstanding."""
        return any(pause.end is None for pause in self.pauses)


@dataclass(frozen=True)
class ClockStatus:
    """The clock read at one moment: what the queue shows and stores."""

    due_date: dt.date
    days_left: int
    paused_days: int
    paused: bool
    release_conflict: bool

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


# --- time zones ------------------------------------------------------------------------


@lru_cache(maxsize=16)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The agency's zone; raises InputRejected naming the setting when the name is unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputRejected(Problem(f"unknown time zone {name!r}", field="agency_time_zone")) from None


def agency_date(moment: dt.datetime, tz: zoneinfo.ZoneInfo | str = DEFAULT_TIME_ZONE) -> dt.date:
    """The agency's calendar date of a timestamp; a naive timestamp is taken as UTC (as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone(tz) if isinstance(tz, str) else tz).date()


# --- counting --------------------------------------------------------------------------


def _date_ranges(clock: ReviewClock, as_of: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """Each pause as a half-open range of agency dates [first paused, first running), clipped."""
    received = clock.received_date
    for pause in clock.pauses:
        first = max(agency_date(pause.start, clock.tz), received)
        end = as_of if pause.end is None else min(agency_date(pause.end, clock.tz), as_of)
        if end > first:
            yield first, end


def _merged(ranges: Iterable[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    merged: list[tuple[dt.date, dt.date]] = []
    for first, end in sorted(ranges):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((first, end))
    return merged


def paused_days(clock: ReviewClock, now: dt.datetime) -> int:
    """Calendar days the clock was stopped up to (not including) the agency date of `now`."""
    as_of = agency_date(now, clock.tz)
    return sum((end - first).days for first, end in _merged(_date_ranges(clock, as_of)))


def is_paused_on(clock: ReviewClock, day: dt.date, now: dt.datetime) -> bool:
    """Whether the clock was stopped on `day`, as known at `now`."""
    as_of = agency_date(now, clock.tz)
    return any(first <= day < end for first, end in _date_ranges(clock, as_of))


def due_date(clock: ReviewClock, now: dt.datetime) -> dt.date:
    """Received date + window + paused days (as of `now`, which matters only while paused)."""
    return clock.received_date + dt.timedelta(days=clock.window_days + paused_days(clock, now))


def days_left(clock: ReviewClock, now: dt.datetime) -> int:
    """Days until the due date; 0 on the due date, negative when overdue."""
    return (due_date(clock, now) - agency_date(now, clock.tz)).days


def is_overdue(clock: ReviewClock, now: dt.datetime) -> bool:
    return days_left(clock, now) < 0


def release_conflict(clock: ReviewClock, intended_release: dt.date | None, now: dt.datetime) -> bool:
    """The developer means to release before the review is due (release on the due date is fine).

    Only meaningful while the submission is open; the caller decides that.
    """
    return intended_release is not None and intended_release < due_date(clock, now)


def status(clock: ReviewClock, now: dt.datetime, intended_release: dt.date | None = None) -> ClockStatus:
    """Read the whole clock at once, for the queue columns and the detail pane."""
    paused = paused_days(clock, now)
    due = clock.received_date + dt.timedelta(days=clock.window_days + paused)
    return ClockStatus(
        due_date=due,
        days_left=(due - agency_date(now, clock.tz)).days,
        paused_days=paused,
        paused=clock.is_paused,
        release_conflict=intended_release is not None and intended_release < due,
    )


# --- validation ------------------------------------------------------------------------


def validate_window_days(days: object, field_name: str = "window_days") -> int:
    """A review window is a whole number of calendar days, 1 to 365."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise InputRejected(Problem(f"expected a whole number of days, got {days!r}", field=field_name))
    if not MIN_WINDOW_DAYS <= days <= MAX_WINDOW_DAYS:
        raise InputRejected(
            Problem(f"must be between {MIN_WINDOW_DAYS} and {MAX_WINDOW_DAYS} days, got {days}", field=field_name)
        )
    return days


@dataclass(frozen=True)
class WindowChange:
    """A per-submission change of the review window; the reason goes into the audit event."""

    days: int
    reason: str


def validate_window_change(change: WindowChange, current_days: int | None = None) -> WindowChange:
    """Check a window change: valid length, a reason, and an actual change."""
    problems: list[Problem] = []
    try:
        validate_window_days(change.days, "window_days")
    except InputRejected as rejected:
        problems.extend(rejected.problems)
    reason = (change.reason or "").strip()
    if not reason:
        problems.append(Problem("changing the review window needs a reason", field="window_reason"))
    elif len(reason) > WINDOW_REASON_MAX:
        problems.append(Problem(f"at most {WINDOW_REASON_MAX} characters", field="window_reason"))
    if not problems and current_days is not None and change.days == current_days:
        problems.append(Problem(f"the window is already {current_days} days", field="window_days"))
    if problems:
        raise InputRejected(problems, subject="review window")
    return WindowChange(change.days, reason)


def validate_pause(pause: Pause) -> Pause:
    """A pause must be made of aware timestamps and must not end before it starts."""
    moments = [pause.start] + ([pause.end] if pause.end is not None else [])
    if any(moment.tzinfo is None for moment in moments):
        raise InputRejected(Problem("timestamps must carry a time zone (UTC)", field="pause"))
    if pause.end is not None and pause.end < pause.start:
        raise InputRejected(Problem("the information arrived before it was requested", field="pause"))
    return pause
