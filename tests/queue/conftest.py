"""A small queue for the queue tests: 450 generated submissions plus a few known ones.

The folder is built once per module and copied for each test (generating it takes a
second; copying it a few milliseconds). The clock is fixed, so due dates, "overdue" and
"due within" are the same on every run.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from queue_data import GENERATED, NOW, PASSWORD, FixedClock, Known, actors_of, add_finding

from team_support import add_team
from desktop_app.services import demo_bulk
from desktop_app.services.context import ServiceContext, open_data_folder
from desktop_app.services.intake import IntakeService, ManualRegistration


@pytest.fixture(scope="module")
def queue_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Known]:
    folder = tmp_path_factory.mktemp("queue-template") / "data"
    ctx = open_data_folder(folder, clock=FixedClock())
    try:
        add_team(ctx, ("rev", "rev2", "sup"), password=PASSWORD)
        actors = actors_of(ctx)
        demo_bulk.generate(ctx, GENERATED, seed=11,
                           reviewers=[demo_bulk.Person(actors[u].user_id, u) for u in ("rev", "rev2")],
                           supervisors=[demo_bulk.Person(actors["sup"].user_id, "sup")])
        intake = IntakeService(ctx)
        quokka = intake.register_by_hand(actors["rev"], ManualRegistration(
            developer_name="Zephyrine Dynamics", contact_name="Compliance", contact_email="c@zephyrine.example",
            model_name="Quokka", model_version="9.1", intended_release=dt.date(2026, 11, 20),
            description="Frontier quokka model with unusual zebra tooling.", received_at=NOW))
        axolotl = intake.register_by_hand(actors["rev"], ManualRegistration(
            developer_name="Zephyrine Dynamics", contact_name="Compliance", contact_email="c@zephyrine.example",
            model_name="Axolotl", model_version="2.0", intended_release=None, received_at=NOW))
        add_finding(ctx, axolotl.submission_id, "Xylophone side-channel leaks weights", evidence="Marimba transcript 7")
        known = Known(quokka.submission_id, axolotl.submission_id, quokka.reference, axolotl.reference)
    finally:
        ctx.close()
    return folder, known


@pytest.fixture
def known(queue_template: tuple[Path, Known]) -> Known:
    return queue_template[1]


@pytest.fixture
def qctx(queue_template: tuple[Path, Known], tmp_path: Path):  # noqa: ANN201
    folder = tmp_path / "data"
    shutil.copytree(queue_template[0], folder)
    ctx = open_data_folder(folder, clock=FixedClock())
    yield ctx
    ctx.close()


@pytest.fixture
def actors(qctx: ServiceContext) -> dict:
    return actors_of(qctx)
