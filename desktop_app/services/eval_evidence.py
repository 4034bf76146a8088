"""Evaluation logs held by the review: a submission's artifacts and files attached to findings.

Reads the stored blob (content-addressed, verified at intake) through services.evallog;
nothing is executed, and every call is made from a worker thread by the UI. The last few
logs opened stay open: a blob never changes (it is named by its SHA-256), and opening a
5,000-sample log checks every member's header (~0.25 s), which the next sample or
transcript page then does not pay again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from desktop_app.domain.errors import InputRejected, NotFound, Problem
from desktop_app.services import evallog
from desktop_app.services.evallog import LogRef
from desktop_app.services.context import ServiceContext
from desktop_app.storage.models import Artifact, Evidence


@dataclass(frozen=True)
class CitedSample:
    """A finding's citation of one sample, resolved to its log."""

    log: LogRef
    name: str
    sample_id: str
    epoch: int


class _OpenLogs:
    """The most recently used opened logs, each used by one thread at a time."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._logs: OrderedDict[tuple[str, str], tuple[evallog.EvalLogFile, threading.Lock]] = OrderedDict()

    @contextmanager
    def use(self, key: tuple[str, str], opener: Callable[[], evallog.EvalLogFile]) -> Iterator[evallog.EvalLogFile]:
        with self._lock:
            entry = self._logs.get(key)
            if entry is not None:
                self._logs.move_to_end(key)
        if entry is None:
            log = opener()  # outside the lock: another log may be read meanwhile
            with self._lock:
                entry = self._logs.get(key)
                if entry is None:
                    entry = self._logs[key] = (log, threading.Lock())
                    while len(self._logs) > self.size:
                        _key, (old, old_lock) = self._logs.popitem(last=False)
                        with old_lock:
                            old.close()
                else:
                    log.close()
        log, log_lock = entry
        with log_lock:
            yield log

    def close(self) -> None:
        with self._lock:
            while self._logs:
                _key, (log, log_lock) = self._logs.popitem()
                with log_lock:
                    log.close()


class EvalEvidence:
    def __init__(self, ctx: ServiceContext, limits: evallog.EvalLimits | None = None) -> None:
        self.ctx = ctx
        self.limits = limits or evallog.EvalLimits()
        self._open_logs = _OpenLogs()

    def close(self) -> None:
        """Close the logs kept open."""
        self._open_logs.close()

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

    @contextmanager
    def _open(self, ref: LogRef) -> Iterator[evallog.EvalLogFile]:
        name, sha256 = self._blob(ref)
        if not evallog.looks_like_eval_log(name):
            raise InputRejected(Problem("is not an Inspect evaluation log (.eval or .json)", file=name))
        with self._open_logs.use((sha256, name), lambda: evallog.open_log(self.ctx.blobs.path_for(sha256), name,
                                                                          self.limits)) as log:
            yield log

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
            digest = evallog.file_reference_hash(path)
            if evidence.kind != "file" or not evidence.blob_sha256 or digest is None \
                    or not evidence.blob_sha256.startswith(digest):
                raise InputRejected(Problem(f"{path} is not the file this evidence holds", field="locator"))
            return CitedSample(LogRef("evidence", evidence.id), path, sample_id, epoch)

    def check_sample(self, ref: LogRef, sample_id: str, epoch: int = 1) -> None:
        """Refuse (field `locator`) a citation of a sample the log does not hold."""
        with self._open(ref) as log:
            if not log.has_sample(sample_id, epoch):
                raise InputRejected(Problem(f"{log.name} has no sample {sample_id!r}"
                                            + (f" in epoch {epoch}" if epoch != 1 else ""), field="locator"))


__all__ = ["CitedSample", "EvalEvidence", "LogRef"]
