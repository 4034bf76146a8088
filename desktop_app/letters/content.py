"""What a letter says, as frozen plain data the service layer fills in.

Rendering, the QR digest and the tests all read the same `LetterContent`, so a letter
can be reproduced and its digest recomputed from the register's data. Checks here
reject content that would produce a misleading letter (a clearance without a decision,
conditions without "cleared with conditions", a naive signing time) before any PDF
exists.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import Decision, FindingStatus, LetterKind, Severity

#: what the supervisor's signature means, per kind of letter, unless the caller says otherwise
MEANINGS = {
    LetterKind.CLEARANCE: "Approved — pre-release security clearance",
    LetterKind.REFUSAL: "Issued — notice of refusal to accept a submission",
    LetterKind.INFORMATION_REQUEST: "Issued — request for additional information",
    LetterKind.CONDITIONS_MET: "Issued — notice that the conditions of a clearance are met",
}
DEFAULT_MEANING = MEANINGS[LetterKind.CLEARANCE]
DEMO_MARK = "DEMO — NOT VALID FOR OFFICIAL USE"
DIGEST_SCHEMA = "clearance-desk/letter-data/1"

_NUMBER = re.compile(r"CL-\d{4}-\d{4,}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Addressee:
    developer: str
    contact_name: str
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Artifact:
    path: str
    kind: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class ModelIdentity:
    name: str
    version: str
    manifest_sha256: str
    artifacts: tuple[Artifact, ...] = ()


@dataclass(frozen=True)
class ReviewPeriod:
    received_on: date
    decided_on: date

    @property
    def days(self) -> int:
        return (self.decided_on - self.received_on).days


@dataclass(frozen=True)
class FindingEntry:
    """One line of the findings appendix."""

    number: str
    title: str
    category: str
    severity: Severity
    status: FindingStatus


@dataclass(frozen=True)
class Signatory:
    """The signature manifestation printed in the letter (21 CFR 11-style: who, when, why)."""

    name: str
    title: str
    signed_at: datetime
    #: left empty, the meaning `MEANINGS` gives for the kind of letter
    meaning: str = ""


@dataclass(frozen=True)
class LetterContent:
    kind: LetterKind
    number: str
    issued_on: date
    agency_name: str
    handling_marking: str
    addressee: Addressee
    subject: str
    model: ModelIdentity
    review_period: ReviewPeriod
    signatory: Signatory
    audit_head: str
    disclaimer: str
    decision: Decision | None = None
    conditions: tuple[str, ...] = ()
    findings_summary: dict[Severity, int] = field(default_factory=dict)
    findings: tuple[FindingEntry, ...] = ()
    #: reasons (refusal) or requested information (information request), one item each
    body: tuple[str, ...] = ()
    agency_logo: bytes | Path | None = None
    demo: bool = False

    def __post_init__(self) -> None:
        summary = {severity: int(self.findings_summary.get(severity, 0)) for severity in Severity}
        object.__setattr__(self, "findings_summary", summary)
        signatory = self.signatory
        if signatory.signed_at.tzinfo is not None:
            signatory = dataclasses.replace(signatory, signed_at=signatory.signed_at.astimezone(UTC))
        if not signatory.meaning.strip():
            signatory = dataclasses.replace(signatory, meaning=MEANINGS[self.kind])
        object.__setattr__(self, "signatory", signatory)
        problems = []
        if isinstance(self.agency_logo, Path):
            try:
                object.__setattr__(self, "agency_logo", self.agency_logo.read_bytes())
            except OSError as error:
                problems.append(Problem(f"cannot read: {error.strerror}", file=str(self.agency_logo)))
        problems += _problems(self)
        if problems:
            raise InputRejected(problems, subject=f"letter {self.number}")

    @property
    def qr_payload(self) -> str:
        return f"{self.number}|sha256:{self.data_digest()}"

    def data_digest(self) -> str:
        """SHA-256 over the canonical JSON of every field; the QR code carries it."""
        return hashlib.sha256(canonical_json(self)).hexdigest()


def canonical_json(content: LetterContent) -> bytes:
    document = {"schema": DIGEST_SCHEMA, "letter": _plain(content)}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _plain(value: Any) -> Any:
    """JSON-ready form: enums by value, dates ISO 8601, bytes by their SHA-256."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _problems(content: LetterContent) -> list[Problem]:
    found = []

    def need(ok: bool, field_name: str, message: str) -> None:
        if not ok:
            found.append(Problem(message, field=field_name))

    need(bool(_NUMBER.fullmatch(content.number)), "number", f"{content.number!r} is not a letter number CL-YYYY-NNNN")
    need(bool(content.agency_name.strip()), "agency_name", "the agency name is empty")
    need(bool(content.handling_marking.strip()), "handling_marking", "the handling marking is empty")
    need(bool(content.subject.strip()), "subject", "the subject is empty")
    need(bool(content.signatory.name.strip()), "signatory.name", "the signer's name is empty")
    need(content.signatory.signed_at.tzinfo is not None, "signatory.signed_at", "the signing time has no time zone")
    need(
        bool(_SHA256.fullmatch(content.model.manifest_sha256)),
        "model.manifest_sha256",
        "not a SHA-256 in lowercase hex",
    )
    for index, artifact in enumerate(content.model.artifacts):
        need(
            bool(_SHA256.fullmatch(artifact.sha256)),
            f"model.artifacts[{index}].sha256",
            "not a SHA-256 in lowercase hex",
        )
    need(bool(_SHA256.fullmatch(content.audit_head)), "audit_head", "not a SHA-256 in lowercase hex")
    need(
        content.review_period.decided_on >= content.review_period.received_on,
        "review_period",
        "decided before received",
    )
    need(all(count >= 0 for count in content.findings_summary.values()), "findings_summary", "a negative count")
    if content.kind is LetterKind.CLEARANCE:
        need(content.decision is not None, "decision", "a clearance letter needs a decision")
        with_conditions = content.decision is Decision.CLEARED_WITH_CONDITIONS
        need(
            with_conditions == bool(content.conditions),
            "conditions",
            "conditions go with, and only with, 'cleared with conditions'",
        )
    else:
        need(content.decision is None, "decision", f"a {content.kind.value} letter carries no decision")
        need(bool(content.body), "body", f"a {content.kind.value} letter needs its reasons or requests")
        need(not content.conditions, "conditions", f"a {content.kind.value} letter carries no conditions")
    return found
