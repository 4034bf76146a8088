"""The review clock: calendar days in the agency's zone, pauses, DST, leap days, properties."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.domain.clock import (
    DEFAULT_TIME_ZONE,
    Pause,
    ReviewClock,
    WindowChange,
    agency_date,
    days_left,
    due_date,
    is_overdue,
    is_paused_on,
    paused_days,
    release_conflict,
    status,
    validate_pause,
    validate_window_change,
    validate_window_days,
)
from desktop_app.domain.errors import InputRejected

NY = ZoneInfo("America/New_York")
UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    """An ISO timestamp in UTC ("2026-03-01T15:00")."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, tz: ZoneInfo = NY) -> dt.datetime:
    """A wall-clock time in the agency's zone, as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def noon(d: dt.date, tz: ZoneInfo = NY) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(12), tzinfo=tz)


def clock(received: dt.datetime, *pauses: tuple[dt.datetime, dt.datetime | None], window: int = 30) -> ReviewClock:
    return ReviewClock(received, window, tuple(Pause(start, end) for start, end in pauses))


# --- the basic count --------------------------------------------------------------------


def test_due_thirty_calendar_days_after_receipt_and_zero_left_on_the_day() -> None:
    c = clock(local("2026-03-01T10:00"))
    assert due_date(c, local("2026-03-01T10:00")) == day("2026-03-31")
    assert days_left(c, local("2026-03-01T23:59")) == 30
    assert days_left(c, local("2026-03-31T23:59")) == 0 and not is_overdue(c, local("2026-03-31T23:59"))
    assert days_left(c, local("2026-04-01T00:00")) == -1 and is_overdue(c, local("2026-04-01T00:00"))
    assert days_left(c, local("2026-04-15T09:00")) == -15


def test_window_is_a_parameter() -> None:
    assert due_date(clock(local("2026-03-01T10:00"), window=14), local("2026-03-01T10:00")) == day("2026-03-15")
    assert due_date(clock(local("2026-03-01T10:00"), window=90), local("2026-03-01T10:00")) == day("2026-05-30")


# --- time zones -------------------------------------------------------------------------


def test_utc_evening_after_midnight_belongs_to_the_previous_agency_date() -> None:
    received = utc("2026-01-31T03:30")  # 22:30 on 30 January in Washington
    assert agency_date(received) == day("2026-01-30")
    assert due_date(clock(received), received) == day("2026-03-01")


def test_agency_east_of_utc_gets_the_next_date() -> None:
    tokyo = ReviewClock(utc("2026-06-30T20:00"), 30, (), "Asia/Tokyo")  # 05:00 on 1 July in Tokyo
    assert tokyo.received_date == day("2026-07-01")
    assert due_date(tokyo, utc("2026-06-30T20:00")) == day("2026-07-31")


def test_now_is_read_in_the_agency_zone_too() -> None:
    c = clock(local("2026-06-01T09:00"))  # due 1 July
    assert days_left(c, utc("2026-07-02T03:59")) == 0  # 23:59 on 1 July in Washington
    assert days_left(c, utc("2026-07-02T04:00")) == -1  # midnight


def test_naive_timestamps_are_taken_as_utc() -> None:
    assert agency_date(dt.datetime(2026, 1, 31, 3, 30)) == day("2026-01-30")


def test_unknown_time_zone_is_rejected_naming_the_setting() -> None:
    with pytest.raises(InputRejected) as rejected:
        ReviewClock(utc("2026-01-01T12:00"), 30, (), "Mars/Olympus_Mons")
    assert rejected.value.problems[0].field == "agency_time_zone"


# --- daylight saving (America/New_York: 8 March and 1 November 2026) ---------------------


def test_march_change_counts_dates_not_hours() -> None:
    c = clock(utc("2026-03-07T05:30"))  # 00:30 EST, 7 March
    assert due_date(c, utc("2026-03-07T05:30")) == day("2026-04-06")
    # 46 h 45 min later, but two agency dates later (9 March, 00:15 EDT)
    assert days_left(c, utc("2026-03-09T04:15")) == 28
    # exactly 23 hours apart across the short day: still one date each
    late = clock(utc("2026-03-08T04:59"))  # 23:59 EST, 7 March
    assert days_left(late, utc("2026-03-09T03:59")) == 29  # 23:59 EDT, 8 March


def test_november_change_counts_dates_not_hours() -> None:
    c = clock(utc("2026-10-31T04:30"))  # 00:30 EDT, 31 October
    assert due_date(c, utc("2026-10-31T04:30")) == day("2026-11-30")
    # 48 h 15 min later, but only one agency date later (1 November, 23:45 EST)
    assert days_left(c, utc("2026-11-02T04:45")) == 29


def test_pause_across_the_november_change() -> None:
    c = clock(local("2026-10-20T09:00"), (local("2026-10-31T12:00"), local("2026-11-02T09:00")))
    assert paused_days(c, local("2026-11-10T12:00")) == 2
    assert due_date(c, local("2026-11-10T12:00")) == day("2026-11-21")


def test_due_date_independent_of_the_hour_across_march_change() -> None:
    receipts = [local(f"2026-03-08T{hour:02}:30") for hour in (0, 1, 3, 12, 23)]
    assert {due_date(clock(received), local("2026-03-20T12:00")) for received in receipts} == {day("2026-04-07")}


# --- pauses -----------------------------------------------------------------------------


def test_same_day_pause_counts_nothing() -> None:
    c = clock(local("2026-04-01T09:00"), (local("2026-04-03T09:00"), local("2026-04-03T17:00")))
    assert paused_days(c, local("2026-04-20T12:00")) == 0


def test_pause_counts_from_request_date_up_to_answer_date() -> None:
    c = clock(local("2026-04-01T09:00"), (local("2026-04-03T16:00"), local("2026-04-05T10:00")))
    assert paused_days(c, local("2026-04-20T12:00")) == 2
    assert [is_paused_on(c, day(f"2026-04-0{n}"), local("2026-04-20T12:00")) for n in (2, 3, 4, 5)] == [
        False,
        True,
        True,
        False,
    ]


def test_pause_across_month_ends() -> None:
    c = clock(local("2026-01-20T12:00"), (local("2026-01-30T10:00"), local("2026-02-03T10:00")))
    assert paused_days(c, local("2026-02-10T12:00")) == 4  # 30, 31 January, 1, 2 February
    assert due_date(c, local("2026-02-10T12:00")) == day("2026-02-23")
    end_of_february = clock(local("2026-02-20T12:00"), (local("2026-02-27T10:00"), local("2026-03-02T10:00")))
    assert paused_days(end_of_february, local("2026-03-10T12:00")) == 3  # 27, 28 February, 1 March


def test_several_pauses_add_up() -> None:
    c = clock(
        local("2026-04-01T09:00"),
        (local("2026-04-05T09:00"), local("2026-04-07T09:00")),  # 2
        (local("2026-04-10T09:00"), local("2026-04-10T15:00")),  # 0
        (local("2026-04-20T09:00"), local("2026-04-25T09:00")),  # 5
    )
    assert paused_days(c, local("2026-05-01T12:00")) == 7
    assert due_date(c, local("2026-05-01T12:00")) == day("2026-05-08")


def test_ongoing_pause_freezes_days_left_and_moves_the_due_date() -> None:
    c = clock(local("2026-04-01T09:00"), (local("2026-04-10T14:00"), None))
    assert c.is_paused
    dates = ("2026-04-10", "2026-04-15", "2026-04-16")
    readings = [(due_date(c, noon(day(d))), days_left(c, noon(day(d)))) for d in dates]
    assert readings == [(day("2026-05-01"), 21), (day("2026-05-06"), 21), (day("2026-05-07"), 21)]


def test_clock_read_as_of_an_earlier_date_ignores_later_pause_days() -> None:
    c = clock(local("2026-04-01T09:00"), (local("2026-04-10T09:00"), local("2026-04-20T09:00")))
    assert paused_days(c, noon(day("2026-04-12"))) == 2
    assert paused_days(c, noon(day("2026-04-25"))) == 10


def test_overlapping_pauses_count_each_date_once() -> None:
    c = clock(
        local("2026-04-01T09:00"),
        (local("2026-04-05T09:00"), local("2026-04-09T09:00")),
        (local("2026-04-07T09:00"), local("2026-04-12T09:00")),
    )
    assert paused_days(c, local("2026-05-01T12:00")) == 7  # 5 to 11 April


def test_pause_before_receipt_counts_only_from_receipt() -> None:
    c = clock(local("2026-04-10T09:00"), (local("2026-04-08T09:00"), local("2026-04-12T09:00")))
    assert paused_days(c, local("2026-05-01T12:00")) == 2


# --- leap day ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2028-02-28", "2028-03-29"),
        ("2028-02-29", "2028-03-30"),
        ("2027-02-28", "2027-03-30"),
        ("2028-01-30", "2028-02-29"),
    ],
)
def test_leap_years(received: str, due: str) -> None:
    c = clock(noon(day(received)))
    assert due_date(c, noon(day(received))) == day(due)


def test_pause_over_a_leap_day() -> None:
    c = clock(local("2028-02-20T09:00"), (local("2028-02-28T09:00"), local("2028-03-01T09:00")))
    assert paused_days(c, local("2028-03-05T12:00")) == 2


# --- release conflict and status --------------------------------------------------------


def test_release_conflict_when_release_before_due_date() -> None:
    c = clock(local("2026-03-01T10:00"))  # due 31 March
    now = local("2026-03-05T10:00")
    assert release_conflict(c, day("2026-03-30"), now)
    assert not release_conflict(c, day("2026-03-31"), now)
    assert not release_conflict(c, None, now)


def test_a_pause_can_create_a_release_conflict() -> None:
    c = clock(local("2026-03-01T10:00"), (local("2026-03-10T10:00"), None))
    assert not release_conflict(c, day("2026-04-02"), noon(day("2026-03-11")))  # due 1 April
    assert release_conflict(c, day("2026-04-02"), noon(day("2026-03-14")))  # due 4 April


def test_status_reads_everything_consistently() -> None:
    c = clock(local("2026-03-01T10:00"), (local("2026-03-10T10:00"), local("2026-03-12T10:00")))
    reading = status(c, local("2026-04-03T10:00"), intended_release=day("2026-04-01"))
    assert reading.due_date == day("2026-04-02") == due_date(c, local("2026-04-03T10:00"))
    assert (reading.days_left, reading.overdue, reading.paused_days, reading.paused) == (-1, True, 2, False)
    assert reading.release_conflict


# --- validation -------------------------------------------------------------------------


def test_window_change_needs_a_reason_and_a_sane_length() -> None:
    assert validate_window_change(WindowChange(45, "  Developer asked for more time.  ")).reason == (
        "Developer asked for more time."
    )
    with pytest.raises(InputRejected) as rejected:
        validate_window_change(WindowChange(0, " "))
    assert [p.field for p in rejected.value.problems] == ["window_days", "window_reason"]
    with pytest.raises(InputRejected, match="already 30"):
        validate_window_change(WindowChange(30, "no change"), current_days=30)


@pytest.mark.parametrize("bad", [0, 366, -3, True, 30.0, "30"])
def test_window_days_must_be_a_whole_number_in_range(bad: object) -> None:
    with pytest.raises(InputRejected):
        validate_window_days(bad)


def test_pause_must_not_end_before_it_starts() -> None:
    assert validate_pause(Pause(utc("2026-01-02T00:00"), None))
    with pytest.raises(InputRejected, match="before it was requested"):
        validate_pause(Pause(utc("2026-01-02T00:00"), utc("2026-01-01T00:00")))
    with pytest.raises(InputRejected, match="time zone"):
        validate_pause(Pause(dt.datetime(2026, 1, 2), None))


# --- properties -------------------------------------------------------------------------

ZONES = ["America/New_York", "UTC", "Asia/Tokyo", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham"]
instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(UTC))
minutes = st.integers(min_value=-3 * 24 * 60, max_value=80 * 24 * 60)
durations = st.integers(min_value=0, max_value=20 * 24 * 60)


@st.composite
def clocks(draw: st.DrawFn, ongoing: bool = True) -> ReviewClock:
    received = draw(instants)
    pauses = []
    for _ in range(draw(st.integers(0, 4))):
        start = received + dt.timedelta(minutes=draw(minutes))
        if ongoing and draw(st.booleans()) and draw(st.booleans()):
            pauses.append(Pause(start, None))
        else:
            pauses.append(Pause(start, start + dt.timedelta(minutes=draw(durations))))
    return ReviewClock(received, draw(st.integers(1, 365)), tuple(pauses), draw(st.sampled_from(ZONES)))


def later(draw: Callable[[st.SearchStrategy[int]], int], c: ReviewClock) -> dt.datetime:
    return c.received_at + dt.timedelta(minutes=draw(st.integers(0, 200 * 24 * 60)))


@settings(max_examples=150)
@given(data=st.data(), c=clocks())
def test_due_date_never_before_received_plus_window(data: st.DataObject, c: ReviewClock) -> None:
    now = later(data.draw, c)
    assert due_date(c, now) >= c.received_date + dt.timedelta(days=c.window_days)


@settings(max_examples=150)
@given(data=st.data(), c=clocks())
def test_adding_a_pause_never_moves_the_due_date_earlier(data: st.DataObject, c: ReviewClock) -> None:
    now = later(data.draw, c)
    start = c.received_at + dt.timedelta(minutes=data.draw(minutes))
    end = data.draw(st.none() | durations.map(lambda m: start + dt.timedelta(minutes=m)))
    assert due_date(c.with_pause(Pause(start, end)), now) >= due_date(c, now)


def paused_dates_by_hand(c: ReviewClock, as_of: dt.date) -> set[dt.date]:
    """The dates the clock stood still, enumerated one by one (independent of clock.py's merging)."""
    tz = ZoneInfo(c.time_zone)
    received = c.received_at.astimezone(tz).date()
    dates: set[dt.date] = set()
    for pause in c.pauses:
        d = pause.start.astimezone(tz).date()
        end = as_of if pause.end is None else min(pause.end.astimezone(tz).date(), as_of)
        while d < end:
            if d >= received:
                dates.add(d)
            d += dt.timedelta(days=1)
    return dates


@settings(max_examples=150)
@given(data=st.data(), c=clocks())
def test_days_left_falls_by_one_per_running_day_and_stands_still_per_paused_day(
    data: st.DataObject, c: ReviewClock
) -> None:
    tz = ZoneInfo(c.time_zone)
    today = agency_date(later(data.draw, c), tz)
    tomorrow = today + dt.timedelta(days=1)
    step = days_left(c, noon(tomorrow, tz)) - days_left(c, noon(today, tz))
    paused_today = today in paused_dates_by_hand(c, tomorrow)
    assert step == (0 if paused_today else -1)
    assert paused_today == is_paused_on(c, today, noon(tomorrow, tz))


@settings(max_examples=150)
@given(data=st.data(), c=clocks())
def test_paused_days_match_a_date_by_date_count(data: st.DataObject, c: ReviewClock) -> None:
    now = later(data.draw, c)
    assert paused_days(c, now) == len(paused_dates_by_hand(c, agency_date(now, c.time_zone)))


@settings(max_examples=100)
@given(data=st.data(), c=clocks())
def test_readings_depend_on_the_agency_date_only(data: st.DataObject, c: ReviewClock) -> None:
    tz = ZoneInfo(c.time_zone)
    today = agency_date(later(data.draw, c), tz)
    times = data.draw(st.lists(st.times(), min_size=2, max_size=2))
    moments = [dt.datetime.combine(today, t, tzinfo=tz) for t in times]
    moments = [m for m in moments if agency_date(m.astimezone(UTC), tz) == today]  # skip DST gaps
    assert len({(due_date(c, m), days_left(c, m)) for m in moments}) <= 1


@settings(max_examples=100)
@given(data=st.data(), c=clocks(ongoing=False))
def test_splitting_a_pause_changes_nothing(data: st.DataObject, c: ReviewClock) -> None:
    if not c.pauses:
        return
    first, *rest = c.pauses
    assert first.end is not None
    cut = first.start + (first.end - first.start) * data.draw(st.floats(0, 1))
    halves = (Pause(first.start, cut), Pause(cut, first.end))
    split = ReviewClock(c.received_at, c.window_days, (*halves, *rest), c.time_zone)
    now = later(data.draw, c)
    assert due_date(split, now) == due_date(c, now)


def test_default_zone_is_washington() -> None:
    assert DEFAULT_TIME_ZONE == "America/New_York"
    assert ReviewClock(utc("2026-01-01T12:00")).time_zone == "America/New_York"
