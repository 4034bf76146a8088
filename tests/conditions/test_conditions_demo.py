"""`clearance-desk demo` holds the conditions story: met, open and due, overdue, answered by a supplement."""

from __future__ import annotations

from pathlib import Path

from desktop_app.app import main
from desktop_app.domain.conditions import ConditionStatus
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.context import open_data_folder
from letters_service.conftest import demo, demo_template  # noqa: F401  (the demo folder, built once)


def test_the_demo_follows_up_a_cleared_with_conditions_letter(demo: Path, capsys) -> None:  # noqa: ANN001, F811
    ctx = open_data_folder(demo)
    try:
        every = sorted(ConditionsService(ctx).list(), key=lambda c: (c.letter_number, c.number))
    finally:
        ctx.close()
    # the demo also approves a second conditional clearance, and issues a corrected letter for it
    followed = min(c.letter_number for c in every)
    rows = [c for c in every if c.letter_number == followed]
    assert [c.number for c in rows] == [1, 2, 3, 4]
    met, due, overdue, answered = rows
    assert met.status is ConditionStatus.MET and met.evidence[0].kind == "file"
    assert due.status is ConditionStatus.OPEN and due.due_soon and not due.overdue
    assert overdue.status is ConditionStatus.OPEN and overdue.overdue
    assert answered.status is ConditionStatus.EVIDENCE_RECEIVED
    assert answered.evidence[0].package_id == "NW-2026-0042-C4"
    assert main(["--data-dir", str(demo), "conditions", "list", "--overdue"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "CUI" and len(out) == 2 and "overdue by 3 days" in out[1]
    assert main(["--data-dir", str(demo), "audit", "verify"]) == 0
