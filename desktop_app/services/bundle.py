"""Every service over one open data folder, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop_app.services.context import Clock, ServiceContext, open_data_folder, system_clock
from desktop_app.services.findings import FindingService
from desktop_app.services.queue import QueueService
from desktop_app.services.settings import SettingsService
from desktop_app.services.intake import IntakeService
from desktop_app.services.letters import LetterService
from desktop_app.services.submissions import ArtifactFiles, SubmissionService
from desktop_app.services.users import UserService
from desktop_app.services.workflow import WorkflowService
from desktop_app.services.reports import ReportService


@dataclass
class Services:
    ctx: ServiceContext
    users: UserService
    settings: SettingsService
    queue: QueueService
    submissions: SubmissionService
    intake: IntakeService
    artifacts: ArtifactFiles
    letters: LetterService
    workflow: WorkflowService
    findings: FindingService
    reports: ReportService

    @classmethod
    def from_context(cls, ctx: ServiceContext) -> Services:
        return cls(ctx=ctx, users=UserService(ctx), settings=SettingsService(ctx), queue=QueueService(ctx),
                   submissions=SubmissionService(ctx), intake=IntakeService(ctx), artifacts=ArtifactFiles(ctx),
                   letters=LetterService(ctx), workflow=WorkflowService(ctx), findings=FindingService(ctx),
                   reports=ReportService(ctx))

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
        self.ctx.close()
