"""Conditions after clearance on SQLite and PostgreSQL: opened at sign-off, counted and filtered in SQL, closed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from desktop_app.domain.conditions import ConditionStatus
from desktop_app.domain.types import LetterKind
from desktop_app.letters.pki import DemoPki
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.letters import LetterService
from desktop_app.services.queue import QueueFilter, QueueService
from desktop_app.services.reports import ReportService

from .support import PASSWORD
from .test_services import PASSPHRASE, chain_ok, configure_signing, pki, to_signoff  # noqa: F401


def test_a_condition_from_signoff_to_the_conditions_met_notice(ctx: ServiceContext, people: dict[str, Actor],  # noqa: F811
                                                               pki: DemoPki, clock, samples_dir: Path) -> None:  # noqa: ANN001, F811
    configure_signing(ctx, people, pki)
    sid = to_signoff(ctx, people, samples_dir)
    service = ConditionsService(ctx)
    letters = LetterService(ctx)
    source = Pkcs12Source(pki.supervisor_p12)
    letters.approve_and_issue(people["sup"], sid, password=PASSWORD, source=source, secret=PASSPHRASE,
                              conditions_due=[service.today() + dt.timedelta(days=3)])
    (condition,) = service.list(submission_id=sid)
    counts = QueueService(ctx).counts(QueueFilter())
    assert (counts.conditions_due, counts.conditions_overdue) == (1, 0)
    clock.advance(days=5)
    assert list(QueueService(ctx).ordered_ids(QueueFilter(conditions="overdue"))) == [sid]
    assert [c.id for c in service.list(overdue=True)] == [condition.id]
    assert ReportService(ctx).figures(ReportService(ctx).recent_weeks(4)).conditions_overdue == 1
    service.attach_bytes(people["rev"], condition.id, b"deployment record", name="record.txt")
    notice = service.close_last_as_met(people["sup"], condition.id, password=PASSWORD, source=source,
                                       secret=PASSPHRASE)
    assert notice.kind is LetterKind.CONDITIONS_MET and service.get(condition.id).status is ConditionStatus.MET
    assert all(check.ok for check in letters.verify(letters.pdf(notice.id)))
    assert QueueService(ctx).counts(QueueFilter()).conditions_overdue == 0
    chain_ok(ctx)
