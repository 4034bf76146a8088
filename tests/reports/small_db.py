"""A small database whose every dashboard figure was worked out by hand.

The clock (tests/conftest.py) reads Monday 2 November 2026, 15:00 UTC: 10:00 in
Washington, the day after daylight-saving time ended. The period is 5 October to
2 November 2026 (agency dates, both included), i.e. from 2026-10-05 04:00 UTC
(midnight EDT) to 2026-11-03 05:00 UTC (midnight EST).

| ref | state            | received (UTC)      | due        | assignee | decided (UTC)      | decision  |
|-----|------------------|---------------------|------------|----------|--------------------|-----------|
| S1  | IN_REVIEW        | 2026-10-06 14:00    | 2026-11-05 | rev      |                    |           |
| S2  | IN_REVIEW        | 2026-09-20 12:00    | 2026-10-20 | rev      |                    | (overdue) |
| S3  | AWAITING_INFO    | 2026-10-19 03:30 *  | 2026-11-20 | rev2     |                    |           |
| S4  | RECEIVED         | 2026-11-02 13:00    | 2026-12-02 |          |                    |           |
| S5  | RECEIVED         | 2026-10-05 04:30 ** | 2026-11-04 |          |                    |           |
| S6  | WITHDRAWN        | 2026-10-05 03:30 ***| 2026-11-04 |          | 2026-10-10 12:00   |           |
| S7  | ISSUED           | 2026-09-01 12:00    | 2026-10-01 |          | 2026-10-01 12:00   | CLEARED (before the period) |
| S8  | ISSUED           | 2026-09-15 12:00    | 2026-10-15 |          | 2026-10-05 12:00   | CLEARED, 20.0 days |
| S9  | ISSUED           | 2026-09-20 00:00    | 2026-10-20 |          | 2026-10-20 12:00   | CLEARED_WITH_CONDITIONS, 30.5 days |
| S10 | ISSUED           | 2026-10-07 12:00    | 2026-11-06 |          | 2026-10-17 00:00   | NOT_CLEARED (after a returned CLEARED), 9.5 days |
| S11 | ISSUED           | 2026-10-01 12:00    | 2026-10-31 |          | 2026-11-02 05:00 ****| CLEARED_WITH_CONDITIONS, 31.708333 days |
| S12 | REFUSED          | 2026-10-20 12:00    | 2026-11-19 |          | 2026-10-21 12:00   | refused |
| S13 | AWAITING_SIGNOFF | 2026-10-10 12:00    | 2026-11-02 | sup      |                    | (pending) |

\\* Sunday 18 October 23:30 EDT: the week of 12 October in agency time, not of the 19th.
\\** Monday 5 October 00:30 EDT: inside the period. \\*** Sunday 4 October 23:30 EDT: outside.
\\**** Monday 2 November 00:00 EST: the period's last day.

Hand-computed figures are in `EXPECTED`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from desktop_app.storage.models import Counter, Developer, Finding, Recommendation, Submission

UTC = dt.UTC
PERIOD = (dt.date(2026, 10, 5), dt.date(2026, 11, 2))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


SUBMISSIONS: tuple[tuple[str, str, str, str, str | None, str | None], ...] = (
    # key, state, received, due, assignee, decided
    ("S1", "IN_REVIEW", "2026-10-06 14:00", "2026-11-05", "rev", None),
    ("S2", "IN_REVIEW", "2026-09-20 12:00", "2026-10-20", "rev", None),
    ("S3", "AWAITING_INFO", "2026-10-19 03:30", "2026-11-20", "rev2", None),
    ("S4", "RECEIVED", "2026-11-02 13:00", "2026-12-02", None, None),
    ("S5", "RECEIVED", "2026-10-05 04:30", "2026-11-04", None, None),
    ("S6", "WITHDRAWN", "2026-10-05 03:30", "2026-11-04", None, "2026-10-10 12:00"),
    ("S7", "ISSUED", "2026-09-01 12:00", "2026-10-01", None, "2026-10-01 12:00"),
    ("S8", "ISSUED", "2026-09-15 12:00", "2026-10-15", None, "2026-10-05 12:00"),
    ("S9", "ISSUED", "2026-09-20 00:00", "2026-10-20", None, "2026-10-20 12:00"),
    ("S10", "ISSUED", "2026-10-07 12:00", "2026-11-06", None, "2026-10-17 00:00"),
    ("S11", "ISSUED", "2026-10-01 12:00", "2026-10-31", None, "2026-11-02 05:00"),
    ("S12", "REFUSED", "2026-10-20 12:00", "2026-11-19", None, "2026-10-21 12:00"),
    ("S13", "AWAITING_SIGNOFF", "2026-10-10 12:00", "2026-11-02", "sup", None),
)
RECOMMENDATIONS: tuple[tuple[str, str, str], ...] = (
    # key, decision, outcome (in the order they were made)
    ("S7", "CLEARED", "approved"),
    ("S8", "CLEARED", "approved"),
    ("S9", "CLEARED_WITH_CONDITIONS", "approved"),
    ("S10", "CLEARED", "returned"),
    ("S10", "NOT_CLEARED", "approved"),
    ("S11", "CLEARED_WITH_CONDITIONS", "approved"),
    ("S13", "CLEARED", "pending"),
)
FINDINGS: tuple[tuple[str, str, str, str, str], ...] = (
    # key, category, severity, status, created (UTC)
    ("S1", "cyber.exploit-dev", "High", "Open", "2026-10-08 10:00"),
    ("S1", "cyber.exploit-dev", "Critical", "Withdrawn", "2026-10-09 10:00"),  # withdrawn: not counted
    ("S2", "autonomy", "Medium", "Open", "2026-09-25 10:00"),  # before the period
    ("S3", "autonomy", "Low", "Mitigated", "2026-10-20 10:00"),
    ("S9", "cyber.exploit-dev", "High", "Mitigated", "2026-10-06 10:00"),
    ("S10", "cbrn-uplift", "Critical", "Open", "2026-10-05 03:00"),  # 4 October 23:00 EDT: before
    ("S10", "cbrn-uplift", "Medium", "Risk accepted", "2026-10-12 10:00"),
    ("S13", "cyber.exploit-dev", "Informational", "Open", "2026-11-02 14:00"),
)
SEVERITY_RANK = {"Critical": 5, "High": 4, "Medium": 3, "Low": 2, "Informational": 1}

EXPECTED: dict[str, Any] = {
    "by_status": {"RECEIVED": 2, "IN_REVIEW": 2, "AWAITING_INFO": 1, "AWAITING_SIGNOFF": 1, "ISSUED": 5,
                  "REFUSED": 1, "WITHDRAWN": 1},
    "open_total": 6,
    "due_soon": 4,  # S1 (5 Nov), S2 (overdue), S5 (4 Nov), S13 (today)
    "overdue": 1,  # S2
    "unassigned_open": 2,  # S4, S5
    "received": 7,  # S1, S3, S4, S5, S10, S12, S13
    "decided": 5,  # S8, S9, S10, S11 issued; S12 refused
    "median_days": 25.25,  # of 9.5, 20.0, 30.5, 31.708333
    "p90_days": 30.5 + 0.7 * (31.0 + 17 / 24 - 30.5),
    "decisions": {"CLEARED": 1, "CLEARED_WITH_CONDITIONS": 2, "NOT_CLEARED": 1, "REFUSED": 1},
    "findings": {  # category -> (Critical, High, Medium, Low, Informational)
        "cyber.exploit-dev": (0, 2, 0, 0, 1),
        "cbrn-uplift": (0, 0, 1, 0, 0),
        "autonomy": (0, 0, 0, 1, 0),
    },
    "workload": [("Riley Reviewer", 2, 1), ("Dana Supervisor", 1, 0), ("Jo Reviewer", 1, 0)],
    "intake": [(dt.date(2026, 10, 5), 4), (dt.date(2026, 10, 12), 1), (dt.date(2026, 10, 19), 1),
               (dt.date(2026, 10, 26), 0), (dt.date(2026, 11, 2), 1)],
}


@dataclass
class Small:
    ctx: Any
    people: dict[str, Any]
    ids: dict[str, int]
    references: dict[str, str]


def build_small(ctx: Any, people: dict[str, Any]) -> Small:
    users = {name: actor.user_id for name, actor in people.items()}
    ids: dict[str, int] = {}
    references: dict[str, str] = {}
    with ctx.transaction() as session:
        conn = session.connection()
        developer = conn.execute(insert(Developer).values(name="Northwind Labs, Inc.", contact_name="R. Compliance")
                                 .returning(Developer.id)).scalar_one()
        evil = conn.execute(insert(Developer).values(name="=HYPERLINK(\"http://x\")", contact_name="x")
                            .returning(Developer.id)).scalar_one()
        for number, (key, state, received, due, assignee, decided) in enumerate(SUBMISSIONS, start=1):
            reference = f"CD-2026-{number:04d}"
            own = [f for f in FINDINGS if f[0] == key and f[3] in ("Open", "Mitigation requested")]
            ids[key] = conn.execute(insert(Submission).values(
                reference=reference, developer_id=evil if key == "S4" else developer, model_name="Orca",
                model_version=f"{number}.0", received_at=at(received), state=state,
                assignee_id=users[assignee] if assignee else None, due_date=dt.date.fromisoformat(due),
                decided_at=at(decided) if decided else None, window_days=30,
                highest_open_severity=max((SEVERITY_RANK[f[2]] for f in own), default=0), open_findings=len(own),
                next_finding_number=len([f for f in FINDINGS if f[0] == key]) + 1,
            ).returning(Submission.id)).scalar_one()
            references[key] = reference
        conn.execute(insert(Counter).values(name="CD-2026", value=len(SUBMISSIONS)))  # so later imports follow on
        for key, decision, outcome in RECOMMENDATIONS:
            conn.execute(insert(Recommendation).values(submission_id=ids[key], decision=decision, rationale="r",
                                                       reviewer_id=users["rev"], outcome=outcome,
                                                       submitted_at=at("2026-10-01 00:00")))
        numbers: dict[str, int] = {}
        for key, category, severity, status, created in FINDINGS:
            numbers[key] = numbers.get(key, 0) + 1
            conn.execute(insert(Finding).values(submission_id=ids[key], number=numbers[key], title=f"{category} finding",
                                                category=category, severity=severity, status=status,
                                                author_id=users["rev"], created_at=at(created), updated_at=at(created)))
    return Small(ctx, people, ids, references)


def make_people(ctx: Any) -> dict[str, Any]:
    """The same accounts as the suite's `people` fixture, for module-scoped databases."""
    from desktop_app.services.users import UserService

    from team_support import PASSWORD, add_team

    admin = add_team(ctx)
    users = UserService(ctx)
    signed = {name: users.authenticate(name, PASSWORD) for name in ("rev", "rev2", "sup", "sup2")}
    signed["admin"] = admin
    return signed
