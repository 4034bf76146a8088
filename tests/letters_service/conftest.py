"""Fixtures: one demo PKI per session, a data folder whose trust and supervisor key are set up.

RSA-3072 key generation is the slow part, so the PKI is made once; each test still
gets its own data folder (the root conftest's `ctx`, `people`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from repo_support import SAMPLES
from team_support import add_team
from desktop_app.domain.types import Decision
from desktop_app.letters.pki import DemoPki, create_demo_pki
from desktop_app.letters.signing import Pkcs12Source

from .support import PASSPHRASE, PASSWORD, due_dates, import_sample, letter_service, to_awaiting_signoff

TEMPLATE_NOW = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return create_demo_pki(tmp_path_factory.mktemp("pki"), supervisor_name="DEMO Supervisor Dana Supervisor")


@pytest.fixture(scope="session")
def forged_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    """The same names as `pki`, other keys: nothing it signs may verify."""
    return create_demo_pki(tmp_path_factory.mktemp("forged"), supervisor_name="DEMO Supervisor Dana Supervisor")


@pytest.fixture
def configured(ctx, people, pki: DemoPki):  # noqa: ANN001, ANN201
    """Trust anchor, both CRLs and the supervisor `sup`'s certificate, as an admin sets them up."""
    from desktop_app.services.trust_store import TrustStoreService

    store = TrustStoreService(ctx)
    store.add_anchor(people["admin"], pki.root_cert.read_bytes(), source=pki.root_cert.name)
    store.enrol(people["admin"], "sup", Pkcs12Source(pki.supervisor_p12), PASSPHRASE)
    for crl in pki.crls:
        store.import_crl(people["admin"], crl.read_bytes(), source=crl.name)
    return store


@pytest.fixture
def letters(ctx, configured):  # noqa: ANN001, ANN201
    return letter_service(ctx)


@pytest.fixture
def awaiting(ctx, people, samples_dir: Path) -> int:  # noqa: ANN001
    """The Orca sample awaiting sign-off of "cleared with conditions", recommended by `rev`."""
    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.CLEARED_WITH_CONDITIONS,
                        ("Keep the exploit-refusal classifier enabled on every public endpoint.",
                         "Report any jailbreak that restores exploit development within 72 hours."))
    return submission_id


@pytest.fixture
def p12(pki: DemoPki) -> Pkcs12Source:
    return Pkcs12Source(pki.supervisor_p12)


@dataclass(frozen=True)
class IssuedFolder:
    root: Path
    people: dict
    letter_id: int
    number: str


@pytest.fixture(scope="session")
def issued_template(tmp_path_factory: pytest.TempPathFactory, pki: DemoPki) -> IssuedFolder:
    """A data folder with one letter issued (people, trust and enrolment as in `configured`), made once."""
    from desktop_app.services.context import open_data_folder
    from desktop_app.services.trust_store import TrustStoreService
    from desktop_app.services.users import UserService

    root = tmp_path_factory.mktemp("issued") / "data"
    ctx = open_data_folder(root, clock=lambda: TEMPLATE_NOW)
    try:
        admin = add_team(ctx, ("rev", "sup", "sup2"), password=PASSWORD)
        users = UserService(ctx)
        people = {name: users.authenticate(name, PASSWORD) for name in ("rev", "sup", "sup2")} | {"admin": admin}
        store = TrustStoreService(ctx)
        store.add_anchor(admin, pki.root_cert.read_bytes())
        store.enrol(admin, "sup", Pkcs12Source(pki.supervisor_p12), PASSPHRASE)
        for crl in pki.crls:
            store.import_crl(admin, crl.read_bytes())
        submission_id = import_sample(ctx, people["rev"], SAMPLES)
        to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.CLEARED_WITH_CONDITIONS,
                            ("Keep the exploit-refusal classifier enabled on every public endpoint.",))
        issued = letter_service(ctx).approve_and_issue(people["sup"], submission_id, password=PASSWORD,
                                                       source=Pkcs12Source(pki.supervisor_p12), secret=PASSPHRASE,
                                                       conditions_due=due_dates(ctx))
    finally:
        ctx.close()
    return IssuedFolder(root, people, issued.id, issued.number)


@pytest.fixture
def issued_folder(issued_template: IssuedFolder, tmp_path: Path):  # noqa: ANN201
    """A private copy of the template folder, opened; yields (ctx, folder)."""
    from desktop_app.services.context import open_data_folder

    root = tmp_path / "data"
    shutil.copytree(issued_template.root, root)
    ctx = open_data_folder(root, clock=lambda: TEMPLATE_NOW)
    yield ctx, IssuedFolder(root, issued_template.people, issued_template.letter_id, issued_template.number)
    ctx.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data folder, built once by the real command (its letters signed by the demo supervisor)."""
    import os
    import subprocess
    import sys

    data_dir = tmp_path_factory.mktemp("demo-template") / "demo"
    env = {k: v for k, v in os.environ.items() if k != "CLEARANCE_DESK_PASSWORD"}
    built = subprocess.run([sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), "demo"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    return data_dir


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo data folder."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_template, folder)
    return folder
