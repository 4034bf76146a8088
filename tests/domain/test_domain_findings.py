"""Finding rules: numbers, status changes, draft validation, queue summaries, conditions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.domain.errors import InputRejected, TransitionNotAllowed
from desktop_app.domain.findings import (
    Condition,
    FindingDraft,
    FindingFacts,
    OpenSummary,
    allowed_status_changes,
    blocking_findings,
    check_status_change,
    gather_conditions,
    highest_open_severity,
    label,
    next_number,
    open_count,
    parse_label,
    summarize,
    validate_draft,
)
from desktop_app.domain.types import FindingStatus, Severity

FS = FindingStatus
TAXONOMY_FILE = Path(__file__).resolve().parents[2] / "resources" / "taxonomy.json"
TAXONOMY = frozenset(category["id"] for category in json.loads(TAXONOMY_FILE.read_text())["categories"])


# --- numbering --------------------------------------------------------------------------


def test_numbers_start_at_one_and_follow_the_highest() -> None:
    assert next_number([]) == 1
    assert next_number([1, 2, 3]) == 4
    assert next_number([3, 1]) == 4


def test_numbers_are_never_reused_after_withdrawal_or_loss() -> None:
    # F-3 was withdrawn (kept) or its row lost: the stored counter still says 4
    assert next_number([1, 2], counter=4) == 4
    assert next_number([1, 2, 7], counter=4) == 8


@given(st.sets(st.integers(1, 500)), st.integers(1, 600))
def test_next_number_is_fresh_and_beyond_the_counter(existing: set[int], counter: int) -> None:
    n = next_number(existing, counter=counter)
    assert n not in existing and n >= counter and all(n > e for e in existing)


def test_labels_round_trip() -> None:
    assert label(12) == "F-12"
    assert parse_label(" f-12 ") == 12
    for bad in ("F-0", "F12", "G-1", "F-", ""):
        with pytest.raises(InputRejected):
            parse_label(bad)


# --- status -----------------------------------------------------------------------------


def test_withdrawn_is_final() -> None:
    assert allowed_status_changes(FS.WITHDRAWN) == frozenset()
    for status in FS:
        with pytest.raises(TransitionNotAllowed, match="F-3 was withdrawn"):
            check_status_change(FS.WITHDRAWN, status, 3)


@pytest.mark.parametrize("current", [s for s in FS if s is not FS.WITHDRAWN])
def test_other_statuses_move_freely(current: FindingStatus) -> None:
    assert allowed_status_changes(current) == frozenset(FS) - {current}
    for new in FS:
        check_status_change(current, new)


# --- drafts -----------------------------------------------------------------------------


def draft(**changes: object) -> FindingDraft:
    base: dict[str, object] = dict(
        title="Model writes working exploits for known CVEs",
        category="cyber.exploit-dev",
        severity=Severity.HIGH,
        status=FS.OPEN,
        description="In 14 of 20 cyber-range tasks …",
        condition="",
    )
    base.update(changes)
    return FindingDraft(**base)  # type: ignore[arg-type]


def test_taxonomy_matches_design() -> None:
    assert {"cyber.vuln-discovery", "cbrn-uplift", "eval-integrity", "other"} <= TAXONOMY


def test_valid_draft_is_trimmed_and_typed() -> None:
    valid = validate_draft(draft(title="  Exploit development  ", severity="Critical", status="Open"), TAXONOMY)
    assert valid.title == "Exploit development"
    assert valid.severity is Severity.CRITICAL and valid.status is FS.OPEN


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (dict(title="  "), ["title"]),
        (dict(title="x" * 201), ["title"]),
        (dict(title="two\nlines"), ["title"]),
        (dict(category="cyber"), ["category"]),
        (dict(severity="Severe"), ["severity"]),
        (dict(status="Closed"), ["status"]),
        (dict(status=FS.WITHDRAWN), ["status"]),
        (dict(status=FS.RISK_ACCEPTED, condition=" "), ["condition"]),
        (dict(condition="c" * 2001), ["condition"]),
        (dict(title="", category="nope", severity=None), ["title", "category", "severity"]),
    ],
)
def test_invalid_drafts_name_every_field(changes: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InputRejected) as rejected:
        validate_draft(draft(**changes), TAXONOMY)
    assert [p.field for p in rejected.value.problems] == fields


def test_title_of_exactly_200_characters_is_fine() -> None:
    assert len(validate_draft(draft(title="x" * 200), TAXONOMY).title) == 200


def test_risk_accepted_with_condition_is_fine() -> None:
    valid = validate_draft(draft(status=FS.RISK_ACCEPTED, condition="Keep the exploit filter on."), TAXONOMY)
    assert valid.condition == "Keep the exploit filter on."


def test_editing_may_withdraw_but_not_touch_a_withdrawn_finding() -> None:
    assert validate_draft(draft(status=FS.WITHDRAWN), TAXONOMY, current=FS.OPEN).status is FS.WITHDRAWN
    with pytest.raises(TransitionNotAllowed, match="F-2 was withdrawn"):
        validate_draft(draft(status=FS.WITHDRAWN), TAXONOMY, current=FS.WITHDRAWN, number=2)


# --- summaries --------------------------------------------------------------------------


@dataclass
class Row:
    """Shaped like the storage row: strings, not enums."""

    number: int
    severity: str
    status: str
    condition: str = ""


def test_summary_counts_open_and_finds_the_worst() -> None:
    rows = [
        Row(1, "Critical", "Mitigated"),
        Row(2, "Medium", "Open"),
        Row(3, "High", "Mitigation requested"),
        Row(4, "Critical", "Withdrawn"),
        Row(5, "Low", "Risk accepted"),
    ]
    assert open_count(rows) == 2
    assert highest_open_severity(rows) is Severity.HIGH
    assert summarize(rows) == OpenSummary(2, Severity.HIGH)
    assert summarize(rows).highest_rank == 4
    assert summarize([]).highest_rank == 0 and summarize([]).highest is None


def test_blocking_findings_are_open_critical_or_high() -> None:
    rows = [Row(1, "Critical", "Open"), Row(2, "High", "Risk accepted"), Row(3, "High", "Mitigation requested")]
    assert [r.number for r in blocking_findings(rows)] == [1, 3]
    assert FindingFacts.of(rows[0]) == FindingFacts(Severity.CRITICAL, FS.OPEN, 1)


@given(st.lists(st.tuples(st.sampled_from(Severity), st.sampled_from(FS))))
def test_summary_agrees_with_a_plain_count(pairs: list[tuple[Severity, FindingStatus]]) -> None:
    facts = [FindingFacts(sev, status) for sev, status in pairs]
    open_ranks = [sev.rank for sev, status in pairs if status in (FS.OPEN, FS.MITIGATION_REQUESTED)]
    summary = summarize(facts)
    assert summary.open_count == len(open_ranks)
    assert summary.highest_rank == max(open_ranks, default=0)


# --- conditions -------------------------------------------------------------------------


def test_conditions_come_from_open_and_risk_accepted_findings_in_number_order() -> None:
    rows = [
        Row(4, "High", "Risk accepted", "Keep the exploit filter on."),
        Row(1, "Medium", "Open", "  Report jailbreak rates monthly.  "),
        Row(2, "Low", "Mitigated", "Not needed any more."),
        Row(3, "Low", "Withdrawn", "Withdrawn finding."),
        Row(5, "Low", "Open", "   "),
        Row(6, "Medium", "Mitigation requested", "Patch the sandbox escape."),
    ]
    assert gather_conditions(rows) == (
        Condition(1, "Report jailbreak rates monthly."),
        Condition(4, "Keep the exploit filter on."),
        Condition(6, "Patch the sandbox escape."),
    )
    assert gather_conditions(rows)[0].source == "F-1"
