"""Reading one submission whole (the detail pane), its history and its artifacts.

Returns plain frozen dataclasses: the UI never sees ORM objects or sessions. Reads with
Core only (services.detail): the window shows a submission before the ORM is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from desktop_app.domain.errors import NotFound
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.detail import (  # the read model, re-exported where the services name it
    ArtifactInfo,
    EvidenceInfo,
    FindingInfo,
    HistoryEntry,
    LetterInfo,
    RecommendationInfo,
    RequestInfo,
    ActionChoices,
    SubmissionDetail,
    choices,
    detached_evidence_ids,
    finding_info,
    read_detail,
    read_history,
    submission_row,
)
from desktop_app.services.settings import read_setting
from desktop_app.storage import tables


class SubmissionService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def id_for_reference(self, reference: str) -> int:
        with self.ctx.connect() as conn:
            found = conn.scalar(select(tables.submissions.c.id).where(tables.submissions.c.reference == reference))
            if found is None:
                raise NotFound(f"no submission {reference}")
            return found

    def detail(self, submission_id: int) -> SubmissionDetail:
        with self.ctx.connect() as conn:
            return read_detail(conn, submission_row(conn, submission_id))

    def view(self, actor: Actor, submission_id: int) -> tuple[SubmissionDetail, list[HistoryEntry], ActionChoices]:
        """What the detail pane shows, in one connection: the submission, its history, and the
        actions offered to `actor` as stored now (the workflow service's `choices`)."""
        with self.ctx.connect() as conn:
            zone = str(read_setting(conn, "agency_time_zone"))
            row = submission_row(conn, submission_id)
            shown = read_detail(conn, row)
            return shown, read_history(conn, row, shown), choices(conn, actor, row, zone=zone, now=self.ctx.now())

    def history(self, submission_id: int) -> list[HistoryEntry]:
        """Every audit event about the submission and the records inside it, oldest first."""
        with self.ctx.connect() as conn:
            return read_history(conn, submission_row(conn, submission_id))

    def package_ids_of(self, submission_id: int) -> list[str]:
        with self.ctx.connect() as conn:
            packages = tables.packages.c
            return list(conn.scalars(select(packages.package_id).where(packages.submission_id == submission_id)
                                     .order_by(packages.id)))

    def artifact_blob(self, artifact_id: int) -> tuple[str, str, int]:
        """(path, sha256, size) of an artifact, for the viewer and "Save a copy…"."""
        with self.ctx.connect() as conn:
            a = tables.artifacts.c
            row = conn.execute(select(a.path, a.sha256, a.bytes).where(a.id == artifact_id)).first()
            if row is None:
                raise NotFound(f"no artifact with id {artifact_id}")
            return row.path, row.sha256, row.bytes


def _finding_info(f, names: dict[int, str], artifact_paths: dict[int, str]) -> FindingInfo:  # noqa: ANN001
    """An ORM finding (with its evidence loaded) as the pane shows it."""
    return finding_info(f, f.evidence, names, artifact_paths)


TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".json", ".log", ".csv", ".yaml", ".yml", ".jsonl"}
TEXT_VIEW_LIMIT = 2 * 1024 * 1024


@dataclass(frozen=True)
class ArtifactText:
    path: str
    text: str
    truncated: bool
    is_markdown: bool


def safe_file_name(name: str, *, default: str = "artifact", limit: int = 150) -> str:
    """A package- or user-supplied name reduced to one harmless, printable path component.

    Used both for display (artifacts and evidence added by hand) and for "Save a copy…".
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if (c.isprintable() and c not in '/\\:*?"<>|\x00') else "_" for c in base)
    return cleaned.strip(" .")[:limit] or default


def is_text_artifact(path: str) -> bool:
    lowered = path.lower()
    return any(lowered.endswith(suffix) for suffix in TEXT_SUFFIXES)


class ArtifactFiles:
    """Reading artifacts for the in-app viewer and exporting copies; nothing is executed."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.submissions = SubmissionService(ctx)

    def read_text(self, artifact_id: int) -> ArtifactText:
        from desktop_app.domain.errors import InputRejected, Problem

        path, sha256, size = self.submissions.artifact_blob(artifact_id)
        if not is_text_artifact(path):
            raise InputRejected(Problem("is not a text artifact (Markdown, JSON or plain text); use Save a copy…",
                                        file=path))
        with self.ctx.blobs.open(sha256) as handle:
            data = handle.read(TEXT_VIEW_LIMIT)
        if b"\x00" in data:
            raise InputRejected(Problem("contains binary data and is not shown", file=path))
        text = data.decode("utf-8", errors="replace")
        if path.lower().endswith(".json") and size <= TEXT_VIEW_LIMIT:
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        return ArtifactText(path, text, size > TEXT_VIEW_LIMIT, path.lower().endswith((".md", ".markdown")))

    def save_copy(self, artifact_id: int, folder: Path) -> Path:
        """Copy the stored blob to `folder` under a sanitised name; never overwrites."""
        path, sha256, _size = self.submissions.artifact_blob(artifact_id)
        return self.ctx.blobs.export(sha256, Path(folder), safe_file_name(path))


__all__ = ["ArtifactFiles", "ArtifactInfo", "ArtifactText", "EvidenceInfo", "FindingInfo", "HistoryEntry",
           "LetterInfo", "RecommendationInfo", "RequestInfo", "SubmissionDetail", "SubmissionService",
           "detached_evidence_ids", "is_text_artifact", "safe_file_name"]
