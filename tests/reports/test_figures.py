"""Every dashboard figure against the hand-computed database in conftest.py."""

from __future__ import annotations

import datetime as dt

import pytest

from desktop_app.domain.types import SubmissionState
from desktop_app.services.queue import QueueService
from desktop_app.services.reports import ChartPick, Period, ReportService, queue_link

from .small_db import EXPECTED, PERIOD


@pytest.fixture
def figures(small_shared):  # noqa: ANN001, ANN201
    return ReportService(small_shared.ctx).figures(Period(*PERIOD))


def test_today_is_the_agency_date(small_shared) -> None:  # noqa: ANN001
    assert ReportService(small_shared.ctx).today() == dt.date(2026, 11, 2)


def test_snapshot_figures(figures) -> None:  # noqa: ANN001
    assert {c.key: c.value for c in figures.by_status} == EXPECTED["by_status"]
    assert [c.key for c in figures.by_status] == [s.value for s in SubmissionState]
    assert figures.open_total == EXPECTED["open_total"]
    assert figures.due_soon == EXPECTED["due_soon"]
    assert figures.overdue == EXPECTED["overdue"]
    assert figures.unassigned_open == EXPECTED["unassigned_open"]
    assert figures.as_of == dt.date(2026, 11, 2)


def test_period_figures(figures) -> None:  # noqa: ANN001
    assert figures.received == EXPECTED["received"]
    assert figures.decided == EXPECTED["decided"]
    assert {c.key: c.value for c in figures.decisions} == EXPECTED["decisions"]
    assert [c.label for c in figures.decisions] == ["Cleared", "Cleared with conditions", "Not cleared", "Refused"]


def test_days_to_decision_median_and_90th_percentile(figures) -> None:  # noqa: ANN001
    assert figures.median_days == pytest.approx(EXPECTED["median_days"], abs=1e-6)
    assert figures.p90_days == pytest.approx(EXPECTED["p90_days"], abs=1e-6)


def test_findings_by_category_and_severity(figures) -> None:  # noqa: ANN001
    assert {row.key: row.by_severity for row in figures.findings} == EXPECTED["findings"]
    assert [row.key for row in figures.findings] == ["cyber.exploit-dev", "cbrn-uplift", "autonomy"]  # taxonomy order
    assert figures.findings[0].label == "Exploit development"
    assert figures.findings_total == 5
    assert figures.findings_by_severity() == (0, 2, 1, 1, 1)


def test_workload_per_reviewer(figures) -> None:  # noqa: ANN001
    assert [(w.name, w.open, w.overdue) for w in figures.workload] == EXPECTED["workload"]


def test_intake_per_week_counts_agency_weeks(figures) -> None:  # noqa: ANN001
    assert [(w.week_start, w.count) for w in figures.intake] == EXPECTED["intake"]
    assert figures.intake[-1].first_day == figures.intake[-1].last_day == dt.date(2026, 11, 2)  # clipped


def test_a_period_that_starts_midweek_clips_the_first_week(small_shared) -> None:  # noqa: ANN001
    figures = ReportService(small_shared.ctx).figures(Period(dt.date(2026, 10, 7), dt.date(2026, 10, 18)))
    assert [(w.week_start, w.first_day, w.last_day, w.count) for w in figures.intake] == [
        (dt.date(2026, 10, 5), dt.date(2026, 10, 7), dt.date(2026, 10, 11), 2),  # S10, S13 (S1 on the 6th is not)
        (dt.date(2026, 10, 12), dt.date(2026, 10, 12), dt.date(2026, 10, 18), 1)]  # S3, late on the 18th EDT
    assert figures.received == 3


def test_empty_period_has_no_statistics(small_shared) -> None:  # noqa: ANN001
    figures = ReportService(small_shared.ctx).figures(Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    assert figures.received == figures.decided == 0
    assert figures.median_days is None and figures.p90_days is None
    assert figures.findings == ()
    assert figures.open_total == EXPECTED["open_total"]  # the snapshot does not depend on the period


def test_empty_database(ctx) -> None:  # noqa: ANN001
    figures = ReportService(ctx).figures(Period(*PERIOD))
    assert figures.open_total == figures.received == figures.decided == 0
    assert figures.workload == () and figures.median_days is None
    assert [w.count for w in figures.intake] == [0] * 5


def test_recent_weeks_start_on_a_monday(small_shared) -> None:  # noqa: ANN001
    period = ReportService(small_shared.ctx).recent_weeks(13)
    assert period.end == dt.date(2026, 11, 2) and period.start.weekday() == 0
    assert (period.end - period.start).days == 12 * 7


def test_a_period_ending_before_it_starts_is_refused() -> None:
    from desktop_app.domain.errors import InputRejected

    with pytest.raises(InputRejected, match="before the start"):
        Period(dt.date(2026, 11, 2), dt.date(2026, 11, 1))


@pytest.mark.parametrize("pick, expected", [
    *[(ChartPick("status", state), n) for state, n in EXPECTED["by_status"].items()],
    (ChartPick("open"), EXPECTED["open_total"]),
    (ChartPick("due_soon"), EXPECTED["due_soon"]),
    (ChartPick("overdue"), EXPECTED["overdue"]),
])
def test_snapshot_chart_links_show_exactly_what_was_counted(small_shared, pick, expected) -> None:  # noqa: ANN001
    link = queue_link(pick)
    assert link.exact
    assert len(QueueService(small_shared.ctx).ordered_ids(link.filter)) == expected


def test_workload_links_show_the_assignees_open_and_overdue_submissions(small_shared) -> None:  # noqa: ANN001
    riley = small_shared.people["rev"].user_id
    queue = QueueService(small_shared.ctx)
    assert len(queue.ordered_ids(queue_link(ChartPick("workload", str(riley))).filter)) == 2
    overdue = queue_link(ChartPick("workload", str(riley), "overdue")).filter
    assert list(queue.ordered_ids(overdue)) == [small_shared.ids["S2"]]


def test_period_chart_links_say_they_are_approximate() -> None:
    for pick in (ChartPick("decisions", "CLEARED"), ChartPick("findings", "autonomy", "High"),
                 ChartPick("intake", "2026-10-05")):
        link = queue_link(pick)
        assert not link.exact and "cannot" in link.description
    assert queue_link(ChartPick("decisions", "CLEARED")).filter.states == frozenset({SubmissionState.ISSUED})


def test_figures_are_consistent_on_a_generated_queue(ctx, people) -> None:  # noqa: ANN001
    """A few thousand generated submissions: the figures add up and stay fast."""
    import time

    from desktop_app.services import demo_bulk

    reviewers = [demo_bulk.Person(people[n].user_id, n) for n in ("rev", "rev2")]
    demo_bulk.generate(ctx, 3000, reviewers=reviewers, supervisors=[demo_bulk.Person(people["sup"].user_id, "sup")])
    service = ReportService(ctx)
    started = time.perf_counter()
    figures = service.figures(service.recent_weeks(52))
    assert time.perf_counter() - started < 2.0
    assert sum(c.value for c in figures.by_status) == QueueService(ctx).total() == 3000
    assert figures.open_total == sum(w.open for w in figures.workload) + figures.unassigned_open
    assert sum(w.count for w in figures.intake) == figures.received
    assert figures.median_days is not None and figures.p90_days is not None
    assert 0 < figures.median_days <= figures.p90_days
