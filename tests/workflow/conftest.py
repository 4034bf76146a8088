"""Fixtures for the workflow and findings services: a received sample and helpers to move it along.

Migrating a new database and hashing five passwords costs most of a second, so one
data folder with the root conftest's people is made per session and copied per test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from team_support import add_team
from desktop_app.services.context import Actor, open_data_folder
from desktop_app.services.users import UserService

from desktop_app.domain.findings import FindingDraft
from desktop_app.services.findings import FindingService
from desktop_app.services.intake import IntakeService
from desktop_app.services.workflow import WorkflowService

PASSWORD = "correct horse battery staple 7"


@pytest.fixture(scope="session")
def _people_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("workflow-template") / "data"
    ctx = open_data_folder(folder)
    try:
        add_team(ctx, password=PASSWORD)
    finally:
        ctx.close()
    return folder


@pytest.fixture
def data_dir(tmp_path: Path, _people_template: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(_people_template, target)
    return target


@pytest.fixture
def people(ctx) -> dict[str, Actor]:  # noqa: ANN001
    """The root conftest's people, signed in without hashing passwords again."""
    return {info.username: Actor(info.id, info.username, info.role, info.display_name)
            for info in UserService(ctx).list_users()}


@pytest.fixture
def wf(ctx) -> WorkflowService:  # noqa: ANN001
    return WorkflowService(ctx)


@pytest.fixture
def fs(ctx) -> FindingService:  # noqa: ANN001
    return FindingService(ctx)


@pytest.fixture
def received(ctx, people, samples_dir: Path) -> int:  # noqa: ANN001
    """The Orca sample, just imported by `rev`."""
    return IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1").submission_id


@pytest.fixture
def in_review(wf: WorkflowService, people, received: int) -> int:  # noqa: ANN001
    """The Orca sample accepted and assigned to `rev`."""
    wf.accept_and_assign(people["rev"], received, people["rev"].user_id)
    return received


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from desktop_app.letters.pki import create_demo_pki

    return create_demo_pki(tmp_path_factory.mktemp("workflow-pki"), supervisor_name="DEMO Supervisor Dana Supervisor")


@pytest.fixture
def letters(ctx, people, pki):  # noqa: ANN001, ANN201
    """The letter service, with the DEMO root trusted and `sup`'s key enrolled by the admin."""
    from desktop_app.letters.pki import DEMO_PASSPHRASE
    from desktop_app.letters.signing import Pkcs12Source
    from desktop_app.services.letters import LetterService
    from desktop_app.services.trust_store import TrustStoreService

    store = TrustStoreService(ctx)
    store.add_anchor(people["admin"], pki.root_cert.read_bytes())
    store.enrol(people["admin"], "sup", Pkcs12Source(pki.supervisor_p12), DEMO_PASSPHRASE)
    return LetterService(ctx)


def draft(title: str = "Writes a working exploit for CVE-2026-0001", *, severity: str = "High",
          status: str = "Open", category: str = "cyber.exploit-dev", description: str = "", condition: str = "",
          ) -> FindingDraft:
    return FindingDraft(title=title, category=category, severity=severity, status=status,
                        description=description, condition=condition)
