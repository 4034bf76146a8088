"""How evaluation logs are named and their samples cited, without reading any log.

A finding's evidence locator cites a sample as `eval:<log>#<sample-id>[@<epoch>]`, where
the log is an artifact's package path or, for a log attached to a finding as a file,
`file:<SHA-256, 12 hex>/<name>`. The detail pane decides from these alone which evidence
opens as a log; the reader itself (services.evallog) loads when a log is opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EVAL_SUFFIXES = (".eval", ".json")


@dataclass(frozen=True)
class LogRef:
    """Which stored log: an artifact of a submission or an evidence file of a finding."""

    kind: str  # "artifact" or "evidence"
    id: int


FILE_REFERENCE_PREFIX = "file:"
_CITATION = re.compile(r"^eval:(?P<path>[^#]+)#(?P<id>[^@]+?)(?:@(?P<epoch>[0-9]{1,6}))?$")


def citation(artifact_path: str, sample_id: str, epoch: int = 1) -> str:
    """`eval:<artifact>#<sample-id>` (and `@<epoch>` for a later epoch): how a finding cites a sample."""
    return f"eval:{artifact_path}#{sample_id}" + (f"@{epoch}" if epoch != 1 else "")


def file_reference(sha256: str, name: str) -> str:
    """How a citation names a log attached to a finding as a file: `file:<SHA-256, 12 hex>/<name>`.

    Attached files have no package path; the content hash identifies the file (the same
    bytes attached twice are the same log) and the name is for the reader.
    """
    return f"{FILE_REFERENCE_PREFIX}{sha256[:12]}/{name.replace('#', '_')}"


def file_reference_hash(path: str) -> str | None:
    """The hash prefix of a `file:` reference, or None for an artifact path."""
    if not path.startswith(FILE_REFERENCE_PREFIX):
        return None
    digest = path[len(FILE_REFERENCE_PREFIX):].split("/", 1)[0]
    return digest if re.fullmatch(r"[0-9a-f]{12}", digest) else None


def parse_citation(locator: str) -> tuple[str, str, int] | None:
    """(artifact path, sample id, epoch) of a sample citation, or None for any other locator."""
    match = _CITATION.match(locator.strip())
    if match is None:
        return None
    return match["path"], match["id"], int(match["epoch"] or 1)


def looks_like_eval_log(name: str) -> bool:
    """A name an Inspect log may have; the content decides whether it is one."""
    return name.lower().endswith(EVAL_SUFFIXES)


def is_log_artifact(path: str, kind: str) -> bool:
    """An artifact to open as a log: any `.eval`, and a `.json` the manifest calls an eval-log
    (other JSON, such as an eval-report, stays a text artifact)."""
    lowered = path.lower()
    return lowered.endswith(".eval") or (kind == "eval-log" and lowered.endswith(".json"))
