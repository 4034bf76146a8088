"""Fixtures: an issued CLEARED WITH CONDITIONS letter with three tracked conditions, signed for real."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop_app.domain.types import Decision
from desktop_app.letters.signing import Pkcs12Source
from letters_service.conftest import configured, letters, p12, pki  # noqa: F401  (the real PKI and trust)
from letters_service.support import PASSPHRASE, PASSWORD, import_sample, to_awaiting_signoff

CONDITIONS = (
    "Keep the exploit-refusal classifier enabled on every public endpoint.",
    "Report any jailbreak that restores exploit development within 72 hours.",
    "Disable the browsing tool for consumer-app users until the prompt-injection mitigation is deployed.",
)


@dataclass(frozen=True)
class IssuedWithConditions:
    submission_id: int
    letter_id: int
    number: str
    condition_ids: tuple[int, ...]


@pytest.fixture
def issued(ctx, people, letters, p12: Pkcs12Source, samples_dir: Path) -> IssuedWithConditions:  # noqa: ANN001, F811
    """The Orca sample cleared with three conditions, due in 10, 20 and 30 days, owned by `rev`."""
    from desktop_app.services.conditions import ConditionsService

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.CLEARED_WITH_CONDITIONS, CONDITIONS)
    today = ConditionsService(ctx).today()
    due = [today + dt.timedelta(days=d) for d in (10, 20, 30)]
    letter = letters.approve_and_issue(people["sup"], submission_id, password=PASSWORD, source=p12,
                                       secret=PASSPHRASE, conditions_due=due)
    ids = tuple(c.id for c in ConditionsService(ctx).list(submission_id=submission_id))
    return IssuedWithConditions(submission_id, letter.id, letter.number, ids)
