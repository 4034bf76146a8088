"""Helpers for the queue tests (a module with its own name: tests/queue is not a package,
and a package named `queue` would hide the standard library's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.users import UserService
from desktop_app.storage.models import Evidence, Finding, Submission

NOW = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple 7"
GENERATED = 450


class FixedClock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass(frozen=True)
class Known:
    """The hand-made submissions the search and filter tests look for."""

    quokka: int
    axolotl: int
    quokka_reference: str
    axolotl_reference: str


def actors_of(ctx: ServiceContext) -> dict[str, Actor]:
    return {u.username: Actor(u.id, u.username, u.role, u.display_name) for u in UserService(ctx).list_users()}


def add_finding(ctx: ServiceContext, submission_id: int, title: str, *, severity: str = "High",
                status: str = "Open", evidence: str | None = None) -> int:
    """A finding (and evidence) written straight through the ORM, as the findings service will."""
    with ctx.transaction() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        number = submission.next_finding_number
        finding = Finding(submission_id=submission_id, number=number, title=title, category="other",
                          severity=severity, status=status, author_id=submission.created_by_id or 1,
                          created_at=NOW, updated_at=NOW)
        session.add(finding)
        submission.next_finding_number = number + 1
        session.flush()
        if evidence is not None:
            session.add(Evidence(finding_id=finding.id, kind="artifact", title=evidence, locator="report.md#L1",
                                 attached_at=NOW, attached_by_id=submission.created_by_id or 1))
        return finding.id


def all_submissions(ctx: ServiceContext) -> list[Submission]:
    with ctx.reading() as session:
        return list(session.scalars(select(Submission).order_by(Submission.id)))
