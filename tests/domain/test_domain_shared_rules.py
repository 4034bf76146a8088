"""Rules every layer shares live once, in domain/: due-soon days, the window-change rule,
category titles and the acting user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop_app.domain import clock, conditions
from desktop_app.domain import findings as finding_rules
from desktop_app.domain.errors import PermissionDenied, TransitionNotAllowed
from desktop_app.domain.permissions import Actor
from desktop_app.domain.types import Role, SubmissionState
from desktop_app.domain.workflow import SubmissionFacts, evaluate_window_change, require_window_change

S = SubmissionState
PACKAGE = Path(__file__).resolve().parents[2] / "desktop_app"
ASSIGNEE, OTHER = Actor(1, "ann", Role.REVIEWER), Actor(2, "bob", Role.REVIEWER)
SUPERVISOR, ADMIN = Actor(3, "sue", Role.SUPERVISOR), Actor(4, "adm", Role.ADMIN)


@pytest.mark.parametrize(("actor", "state", "refusal"), [
    (ASSIGNEE, S.IN_REVIEW, None),
    (SUPERVISOR, S.IN_REVIEW, None),
    (SUPERVISOR, S.RECEIVED, None),
    (OTHER, S.IN_REVIEW, PermissionDenied),
    (ADMIN, S.IN_REVIEW, PermissionDenied),
    (ASSIGNEE, S.ISSUED, TransitionNotAllowed),
    (SUPERVISOR, S.REFUSED, TransitionNotAllowed),
])
def test_the_review_window_rule_is_one_domain_function(actor: Actor, state: SubmissionState,
                                                      refusal: type[Exception] | None) -> None:
    facts = SubmissionFacts(state, assignee_id=ASSIGNEE.user_id)
    verdict = evaluate_window_change(actor, facts)
    if refusal is None:
        require_window_change(actor, facts)
        assert verdict.allowed
    else:
        with pytest.raises(refusal):
            require_window_change(actor, facts)
        assert not verdict.allowed and verdict.reason


def test_due_soon_days_is_defined_once() -> None:
    definitions = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
                   if re.search(r"^\s*DUE_SOON_DAYS\s*=", path.read_text(encoding="utf-8"), re.MULTILINE)]
    assert definitions == ["domain/clock.py"]
    assert conditions.DUE_SOON_DAYS is clock.DUE_SOON_DAYS
    bare = [path.name for path in PACKAGE.rglob("*.py")
            if re.search(r"(?i)within 7 days|seven days away", path.read_text(encoding="utf-8"))]
    assert bare == []


def test_category_titles_come_from_one_place() -> None:
    taxonomy = (finding_rules.Category("cyber.exploit", "Cyber offense", "Exploit development"),
                finding_rules.Category("cbrn", "CBRN uplift", "CBRN uplift"))
    assert finding_rules.category_titles(taxonomy) == {"cyber.exploit": "Exploit development", "cbrn": "CBRN uplift"}
    assert finding_rules.category_titles(taxonomy, full=True) == {
        "cyber.exploit": "Cyber offense — Exploit development", "cbrn": "CBRN uplift"}


def test_there_is_one_actor_class() -> None:
    from desktop_app.domain import workflow
    from desktop_app.services import context

    assert context.Actor is Actor is workflow.Actor
    assert Actor(7, "dana", Role.SUPERVISOR, "Dana Whitfield").label == "Dana Whitfield"
    assert Actor(7, "dana", Role.SUPERVISOR).label == "dana"
