"""Every service over one open data folder, built once by the composition root.

Services the first painted queue page does not need (intake with jsonschema, letters,
workflow, findings, reports) are imported and built on first use, so the window paints
before they load: sign-in, settings, the queue and the detail pane's read
(`submissions.view`) are Core only. The ORM-based services, which every change uses, are
loaded by `load_record_services`, on a worker once the window is ready.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.services.context import Clock, ServiceContext, open_data_folder, system_clock
from desktop_app.services.queue import QueueService
from desktop_app.services.settings import SettingsService
from desktop_app.services.users import UserService

if TYPE_CHECKING:
    from desktop_app.services.conditions import ConditionsService
    from desktop_app.services.diff import DiffService
    from desktop_app.services.eval_evidence import EvalEvidence
    from desktop_app.services.findings import FindingService
    from desktop_app.services.intake import IntakeService
    from desktop_app.services.letters import LetterService
    from desktop_app.services.reports import ReportService
    from desktop_app.services.submissions import ArtifactFiles, SubmissionService
    from desktop_app.services.workflow import WorkflowService


#: The services built on the ORM: every change goes through one of them.
RECORD_SERVICES = ("desktop_app.services.workflow", "desktop_app.services.findings")


def load_record_services() -> None:
    """Import the ORM-based services and configure the ORM's mappers (any thread; ~250 ms once,
    all Python): done on a worker once the window is ready, so no first action waits for it."""
    import importlib

    from sqlalchemy.orm import configure_mappers

    for name in RECORD_SERVICES:
        importlib.import_module(name)
    configure_mappers()


class Services:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.users = UserService(ctx)
        self.settings = SettingsService(ctx)
        self.queue = QueueService(ctx)

    @cached_property
    def submissions(self) -> SubmissionService:
        from desktop_app.services.submissions import SubmissionService

        return SubmissionService(self.ctx)

    @cached_property
    def artifacts(self) -> ArtifactFiles:
        from desktop_app.services.submissions import ArtifactFiles

        return ArtifactFiles(self.ctx)

    @cached_property
    def intake(self) -> IntakeService:
        from desktop_app.services.intake import IntakeService

        return IntakeService(self.ctx)

    @cached_property
    def letters(self) -> LetterService:
        from desktop_app.services.letters import LetterService

        return LetterService(self.ctx)

    @cached_property
    def workflow(self) -> WorkflowService:
        from desktop_app.services.workflow import WorkflowService

        return WorkflowService(self.ctx)

    @cached_property
    def findings(self) -> FindingService:
        from desktop_app.services.findings import FindingService

        return FindingService(self.ctx)

    @cached_property
    def eval_logs(self) -> EvalEvidence:
        from desktop_app.services.eval_evidence import EvalEvidence

        return EvalEvidence(self.ctx)

    @cached_property
    def diff(self) -> DiffService:
        from desktop_app.services.diff import DiffService

        return DiffService(self.ctx)

    @cached_property
    def conditions(self) -> ConditionsService:
        from desktop_app.services.conditions import ConditionsService

        return ConditionsService(self.ctx)

    @cached_property
    def reports(self) -> ReportService:
        from desktop_app.services.reports import ReportService

        return ReportService(self.ctx)

    @classmethod
    def from_context(cls, ctx: ServiceContext) -> Services:
        return cls(ctx)

    @classmethod
    def open(cls, data_dir: Path, *, db_url: str | None = None, clock: Clock = system_clock) -> Services:
        return cls.from_context(open_data_folder(data_dir, db_url=db_url, clock=clock))

    @property
    def data_dir(self) -> Path:
        return self.ctx.paths.root

    @property
    def database_label(self) -> str:
        return self.ctx.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        if "eval_logs" in self.__dict__:  # built on first use
            self.eval_logs.close()
        self.ctx.close()
