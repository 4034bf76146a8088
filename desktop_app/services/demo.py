"""Realistic demo data, made through the real services so it obeys every rule.

`build()` creates the demo users, imports the sample packages shipped in resources/,
and registers generated submissions; `extra_submissions` adds more for scale tests.
Everything it creates is marked DEMO where it can be seen.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from pathlib import Path

from desktop_app.domain.errors import PermissionDenied
from desktop_app.domain.types import Role
from desktop_app.infra.resources import resource_root
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.intake import IntakeService, ManualRegistration
from desktop_app.services.users import UserService

log = logging.getLogger("clearance_desk.demo")

DEMO_PASSWORD = "clearance-demo"
DEMO_USERS = (
    ("admin", "Avery Admin (DEMO)", Role.ADMIN, "Systems administrator"),
    ("reviewer", "Riley Chen (DEMO)", Role.REVIEWER, "Security reviewer"),
    ("reviewer2", "Jordan Okafor (DEMO)", Role.REVIEWER, "Security reviewer"),
    ("supervisor", "Dana Whitfield (DEMO)", Role.SUPERVISOR, "Supervisory reviewer"),
)
#: Imported first; the Orca supplement arrives later, as the answer to an information request.
SAMPLE_ORDER = ("northwind-orca-3.1", "helix-sparrow-2.0.zip")
GENERATED = 8

DEVELOPERS = ("Northwind Labs, Inc.", "Helix Intelligence GmbH", "Cobalt Reasoning Corp.", "Aster AI Ltd.",
              "Meridian Machine Learning", "Tessellate Research", "Kestrel Systems", "Lumen Frontier AI",
              "Quarry Point Labs", "Halcyon Models LLC", "Obsidian Neural", "Fjord Cognition AS")
MODEL_NAMES = ("Orca", "Sparrow", "Falcon", "Heron", "Lynx", "Otter", "Kite", "Marten", "Ibis", "Wren", "Puma",
               "Osprey", "Condor", "Badger", "Tern", "Raven")

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


class DemoBuilder:
    def __init__(self, ctx: ServiceContext, *, seed: int = 2026) -> None:
        self.ctx = ctx
        self.random = random.Random(seed)
        self.users = UserService(ctx)
        self.intake = IntakeService(ctx)

    def build(self, *, extra_submissions: int = 0, progress: Progress = _quiet) -> str:
        if self.users.has_accounts():
            raise PermissionDenied(f"{self.ctx.paths.root} already has accounts; the demo needs a new data folder")
        progress("Creating demo users…")
        actors = self._users()
        progress("Importing the sample packages…")
        references = self._samples(actors["reviewer"])
        progress("Registering generated submissions…")
        references += self._generated(actors, GENERATED)
        progress("Running submissions through the review…")
        self._reviews(actors, list(references), progress)
        references += self._evals(actors, progress)
        # Letters sign what the review step brought to sign-off; the bulk extras come after
        # so the demo never tries to approve thousands of generated submissions one by one.
        letters = self._letters(actors, progress)
        self._conditions(actors, progress)
        if extra_submissions:
            progress(f"Generating {extra_submissions:,} more submissions…")
            from desktop_app.services import demo_bulk  # bulk Core inserts: 100,000 in seconds, not hours

            references += demo_bulk.generate(
                self.ctx, extra_submissions, progress=progress, seed=self.random.randint(0, 2**31),
                reviewers=[demo_bulk.Person(actors[u].user_id, u) for u in ("reviewer", "reviewer2")],
                supervisors=[demo_bulk.Person(actors["supervisor"].user_id, "supervisor")])
        return (f"demo data folder ready: {self.ctx.paths.root}\n"
                f"users: {', '.join(u for u, *_ in DEMO_USERS)} (password {DEMO_PASSWORD})\n"
                f"submissions: {len(references)}\n"
                f"signed letters: {len(letters)} (trust anchor demo-pki/root-ca.pem; "
                f"supervisor key demo-pki/supervisor.p12, passphrase {DEMO_PASSWORD})")

    def _reviews(self, actors: dict[str, Actor], references: list[str], progress: Progress) -> None:
        """Every state but issued: findings, evidence, requests, recommendations (see demo_review)."""
        from desktop_app.services.demo_review import run_reviews

        run_reviews(self.ctx, actors, references, resource_root() / "samples", progress)

    def _evals(self, actors: dict[str, Actor], progress: Progress) -> list[str]:
        """An Inspect log made by the demo, a finding citing a sample, and a resubmission (see demo_evals)."""
        from desktop_app.services import demo_evals

        return demo_evals.build(self.ctx, actors, progress)

    def _letters(self, actors: dict[str, Actor], progress: Progress) -> list[object]:
        """The demo PKI in demo-pki/, trust and enrolment by the admin, letters signed by the supervisor."""
        from desktop_app.services.letters import issue_demo_letters

        return list(issue_demo_letters(self.ctx, actors["admin"], actors["supervisor"], password=DEMO_PASSWORD,
                                       progress=progress))

    def _conditions(self, actors: dict[str, Actor], progress: Progress) -> None:
        """The cleared-with-conditions letter followed up: met, due, overdue, answered by a supplement."""
        from desktop_app.services.demo_conditions import follow_up_conditions

        progress("Following up the conditions of the clearance…")
        follow_up_conditions(self.ctx, actors, resource_root() / "samples")

    def _users(self) -> dict[str, Actor]:
        first, *others = DEMO_USERS
        username, name, _role, _title = first
        self.users.create_first_admin(username, name, DEMO_PASSWORD)
        admin = self.users.authenticate(username, DEMO_PASSWORD)
        for username, name, role, title in others:
            self.users.create_user(admin, username, name, role, DEMO_PASSWORD, title=title,
                                   must_change_password=False)
        return {username: self.users.authenticate(username, DEMO_PASSWORD) for username, *_ in DEMO_USERS}

    def _samples(self, reviewer: Actor) -> list[str]:
        folder = resource_root() / "samples"
        references = []
        for name in SAMPLE_ORDER:
            result = self.intake.import_package(reviewer, folder / name)
            references.append(result.reference)
        import tempfile

        from desktop_app.services.demo_review import variant_packages

        with tempfile.TemporaryDirectory(prefix="clearance-desk-demo-") as scratch:
            for path in variant_packages(folder, Path(scratch)):  # later Orca builds: more letters to sign
                references.append(self.intake.import_package(reviewer, path).reference)
        return references

    def _generated(self, actors: dict[str, Actor], count: int) -> list[str]:
        references = []
        now = self.ctx.now()
        reviewers = [actors["reviewer"], actors["reviewer2"]]
        for i in range(count):
            received = now - dt.timedelta(days=self.random.randint(0, 40), hours=self.random.randint(0, 23))
            developer = self.random.choice(DEVELOPERS)
            model = self.random.choice(MODEL_NAMES)
            version = f"{self.random.randint(1, 6)}.{self.random.randint(0, 9)}"
            release = (received + dt.timedelta(days=self.random.randint(10, 75))).date()
            form = ManualRegistration(
                developer_name=developer, contact_name="Release Compliance Office",
                contact_email=f"compliance@{developer.split()[0].lower().strip(',')}.example",
                model_name=model, model_version=version, intended_release=release,
                package_id=f"GEN-{i:06d}-{self.random.randint(1000, 9999)}",
                description=f"{model} {version}: general-purpose model with tool use (DEMO data).",
                received_at=received)
            result = self.intake.register_by_hand(self.random.choice(reviewers), form)
            references.append(result.reference)
        return references
