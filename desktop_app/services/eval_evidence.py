"""Evaluation logs held by the review: a submission's artifacts and files attached to findings.

Reads the stored blob (content-addressed, verified at intake) through services.evallog;
nothing is executed, and every call is made from a worker thread by the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.domain.errors import InputRejected, NotFound, Problem
from desktop_app.services import evallog
from desktop_app.services.context import ServiceContext
from desktop_app.storage.models import Artifact, Evidence


@dataclass(frozen=True)
class LogRef:
    """Which stored log: an artifact of a submission or an evidence file of a finding."""

    kind: str  # "artifact" or "evidence"
    id: int


@dataclass(frozen=True)
class CitedSample:
    """A finding's citation of one sample, resolved to its log."""

    log: LogRef
    name: str
    sample_id: str
    epoch: int


class EvalEvidence:
    def __init__(self, ctx: ServiceContext, limits: evallog.EvalLimits | None = None) -> None:
        self.ctx = ctx
        self.limits = limits or evallog.EvalLimits()

    def _blob(self, ref: LogRef) -> tuple[str, str]:
        """(name shown to the reviewer, sha256) of the log."""
        with self.ctx.reading() as session:
            if ref.kind == "artifact":
                artifact = session.get(Artifact, ref.id)
                if artifact is None:
                    raise NotFound(f"no artifact with id {ref.id}")
                return artifact.path, artifact.sha256
            evidence = session.get(Evidence, ref.id)
            if evidence is None or evidence.kind != "file" or not evidence.blob_sha256:
                raise NotFound(f"no attached file with id {ref.id}")
            return evidence.original_name or evidence.title, evidence.blob_sha256

    def _open(self, ref: LogRef) -> evallog.EvalLogFile:
        name, sha256 = self._blob(ref)
        if not evallog.looks_like_eval_log(name):
            raise InputRejected(Problem("is not an Inspect evaluation log (.eval or .json)", file=name))
        return evallog.open_log(self.ctx.blobs.path_for(sha256), name, self.limits)

    def is_log_name(self, name: str) -> bool:
        return evallog.looks_like_eval_log(name)

    def summary(self, ref: LogRef) -> evallog.EvalSummary:
        with self._open(ref) as log:
            return log.summary()

    def sample(self, ref: LogRef, sample_id: str, epoch: int = 1) -> evallog.SampleDetail:
        with self._open(ref) as log:
            return log.sample(sample_id, epoch)

    def transcript(self, ref: LogRef, sample_id: str, epoch: int = 1, offset: int = 0,
                   count: int = evallog.TRANSCRIPT_PAGE) -> evallog.TranscriptPage:
        with self._open(ref) as log:
            return log.transcript(sample_id, epoch, max(0, offset), max(1, min(count, 500)))

    def cited_sample(self, evidence_id: int) -> CitedSample:
        """The sample an evidence row cites (`eval:<artifact>#<sample-id>`)."""
        with self.ctx.reading() as session:
            evidence = session.get(Evidence, evidence_id)
            if evidence is None:
                raise NotFound(f"no evidence with id {evidence_id}")
            parsed = evallog.parse_citation(evidence.locator or "")
            if parsed is None:
                raise InputRejected(Problem("does not cite an evaluation sample", field="locator"))
            path, sample_id, epoch = parsed
            if evidence.kind == "artifact" and evidence.artifact_id:
                return CitedSample(LogRef("artifact", evidence.artifact_id), path, sample_id, epoch)
            return CitedSample(LogRef("evidence", evidence.id), path, sample_id, epoch)

    def check_sample(self, ref: LogRef, sample_id: str, epoch: int = 1) -> None:
        """Refuse (field `locator`) a citation of a sample the log does not hold."""
        with self._open(ref) as log:
            if not log.has_sample(sample_id, epoch):
                raise InputRejected(Problem(f"{log.name} has no sample {sample_id!r}"
                                            + (f" in epoch {epoch}" if epoch != 1 else ""), field="locator"))


__all__ = ["CitedSample", "EvalEvidence", "LogRef"]
