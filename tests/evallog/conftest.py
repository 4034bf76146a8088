"""Fixtures for the evaluation-log services: Orca 4.0 with its log, and its resubmission."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.services.context import Actor
from desktop_app.services.demo_evals import (
    FIRST_PACKAGE,
    RESUBMISSION,
    ctf_log,
    make_package,
)
from desktop_app.services.intake import IntakeService
from desktop_app.services.workflow import WorkflowService


def packages(folder: Path) -> tuple[Path, Path]:
    first = make_package(folder, FIRST_PACKAGE, version="4.0", kind="new", refers_to=None,
                         log=ctf_log(frozenset({2, 4, 7}), model="acme/orca-4.0", samples=10),
                         card="# Orca 4.0\n", extra={})
    second = make_package(folder, RESUBMISSION, version="4.0.1", kind="resubmission", refers_to=FIRST_PACKAGE,
                          log=ctf_log(frozenset({2}), model="acme/orca-4.0.1", samples=10),
                          card="# Orca 4.0.1\n", extra={"responses/note.md": b"retrained\n"})
    return first, second


@pytest.fixture
def chain(ctx, people: dict[str, Actor], tmp_path: Path) -> tuple[int, int]:  # noqa: ANN001
    """(first, resubmission) submission ids; the first is in review with `rev`, the second received."""
    first_path, second_path = packages(tmp_path / "packages")
    intake = IntakeService(ctx)
    first = intake.import_package(people["rev"], first_path).submission_id
    WorkflowService(ctx).accept_and_assign(people["rev"], first, people["rev"].user_id)
    second = intake.import_package(people["rev"], second_path).submission_id
    return first, second


@pytest.fixture
def logs(ctx):  # noqa: ANN001, ANN201
    """The evaluation-log service; the logs it kept open are closed after the test."""
    from desktop_app.services.eval_evidence import EvalEvidence

    evidence = EvalEvidence(ctx)
    yield evidence
    evidence.close()


@pytest.fixture
def services(ctx):  # noqa: ANN001, ANN201
    from desktop_app.services.bundle import Services

    bundle = Services.from_context(ctx)
    yield bundle
    if "eval_logs" in bundle.__dict__:
        bundle.eval_logs.close()
