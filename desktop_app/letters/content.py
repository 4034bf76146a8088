"""What a letter says, as frozen plain data the service layer fills in.

Rendering, the QR digest and the tests all read the same `LetterContent`, so a letter
can be reproduced and its digest recomputed from the register's data. Checks here
reject content that would produce a misleading letter (a clearance without a decision,
conditions without "cleared with conditions", a "not cleared" without reasons, a
signature meaning other than the wording table's, wording that claims an authority,
a naive signing time) before any PDF exists.
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
from desktop_app.infra.wording import authority_claims
from desktop_app.letters.wording import DECIDED_KINDS, Wording, fill, wording

DEMO_MARK = "DEMO — NOT VALID FOR OFFICIAL USE"
DIGEST_SCHEMA = "clearance-desk/letter-data/2"

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
    #: empty for a submission registered by hand: no manifest was imported
    manifest_sha256: str
    artifacts: tuple[Artifact, ...] = ()
    package_id: str = ""
    #: the day a hand-registered submission was recorded (None: identified by its manifest)
    registered_on: date | None = None


@dataclass(frozen=True)
class LetterReference:
    """The earlier letter a notice is about: the one corrected, revoked, or whose conditions are met."""

    number: str
    issued_on: date


@dataclass(frozen=True)
class Designation:
    """The CUI designation block: who controls the information, its category, whom to ask."""

    controlled_by: str
    category: str
    point_of_contact: str


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
    #: left empty, the wording table's meaning for the letter's kind and decision; any other is refused
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
    #: reasons (refusal, revocation), requested information (information request) or what a
    #: corrected letter corrects, one item each
    body: tuple[str, ...] = ()
    agency_logo: bytes | Path | None = None
    demo: bool = False
    agency_address: tuple[str, ...] = ()
    designation: Designation | None = None
    #: the agency's reasons for a "not cleared" or conditional outcome, as approved at sign-off
    reasons: tuple[str, ...] = ()
    refers_to: LetterReference | None = None
    #: an information request: when the clock paused (the request was recorded) and the answer is due
    paused_on: date | None = None
    respond_by: date | None = None

    def __post_init__(self) -> None:
        summary = {severity: int(self.findings_summary.get(severity, 0)) for severity in Severity}
        object.__setattr__(self, "findings_summary", summary)
        signatory = self.signatory
        if signatory.signed_at.tzinfo is not None:
            signatory = dataclasses.replace(signatory, signed_at=signatory.signed_at.astimezone(UTC))
        problems = []
        if isinstance(self.agency_logo, Path):
            try:
                object.__setattr__(self, "agency_logo", self.agency_logo.read_bytes())
            except OSError as error:
                problems.append(Problem(f"cannot read: {error.strerror}", file=str(self.agency_logo)))
        problems += _problems(self)
        try:
            meaning = self.text(self.wording.meaning)
        except LookupError as error:  # a kind without its decision (or the reverse) is named above
            if not problems:
                problems.append(Problem(str(error), field="kind"))
            meaning = signatory.meaning
        if not signatory.meaning.strip():
            signatory = dataclasses.replace(signatory, meaning=meaning)
        elif signatory.meaning.strip() != meaning:
            problems.append(Problem(f"the meaning of the signature of this letter is {meaning!r}",
                                    field="signatory.meaning"))
        object.__setattr__(self, "signatory", signatory)
        if problems:
            raise InputRejected(problems, subject=f"letter {self.number}")

    @property
    def wording(self) -> Wording:
        """This letter's row of the wording table (kind and decision)."""
        return wording(self.kind, self.decision)

    def text(self, template: str) -> str:
        """A wording-table sentence with this letter's placeholders filled in."""
        values = {
            "developer": self.addressee.developer,
            "received_on": long_date(self.review_period.received_on),
            "number": self.number,
        }
        if self.refers_to is not None:
            values |= {"refers_to": self.refers_to.number, "refers_to_date": long_date(self.refers_to.issued_on)}
        if self.paused_on is not None:
            values["paused_on"] = long_date(self.paused_on)
        if self.respond_by is not None:
            values["respond_by"] = long_date(self.respond_by)
        return fill(template, values)

    @property
    def qr_payload(self) -> str:
        return f"{self.number}|sha256:{self.data_digest()}"

    def data_digest(self) -> str:
        """SHA-256 over the canonical JSON of every field; the QR code carries it."""
        return hashlib.sha256(canonical_json(self)).hexdigest()


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


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
    if content.model.registered_on is None:
        need(
            bool(_SHA256.fullmatch(content.model.manifest_sha256)),
            "model.manifest_sha256",
            "not a SHA-256 in lowercase hex",
        )
    else:
        need(not content.model.manifest_sha256, "model.manifest_sha256", "a hand registration has no manifest")
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
    for field_name in ("agency_name", "handling_marking", "disclaimer"):
        claims = authority_claims(getattr(content, field_name))
        need(not claims, field_name, f"claims an authority the voluntary order does not give ({', '.join(claims)})")
    for index, line in enumerate(content.agency_address):
        need(not authority_claims(line), f"agency_address[{index}]", "claims an authority the order does not give")
    kind, decision = content.kind, content.decision
    needs_reference = kind in (LetterKind.CORRECTED, LetterKind.REVOCATION, LetterKind.CONDITIONS_MET)
    need(not needs_reference or content.refers_to is not None, "refers_to",
         f"a {kind.value} letter names the letter it is about")
    need(kind is not LetterKind.INFORMATION_REQUEST or content.refers_to is None, "refers_to",
         "a request for information replaces no letter")
    if kind in DECIDED_KINDS:
        need(decision is not None, "decision", f"a {kind.value} letter needs a decision")
        with_conditions = decision is Decision.CLEARED_WITH_CONDITIONS
        need(
            with_conditions == bool(content.conditions),
            "conditions",
            "conditions go with, and only with, 'cleared with conditions'",
        )
        need(decision is Decision.CLEARED or bool(content.reasons), "reasons",
             "a 'not cleared' or conditional outcome states the agency's reasons")
        need(kind is not LetterKind.CORRECTED or bool(content.body), "body",
             "a corrected letter says what it corrects")
    else:
        need(decision is None, "decision", f"a {kind.value} letter carries no decision")
        need(not content.reasons, "reasons", f"a {kind.value} letter carries no evaluation reasons")
        need(bool(content.body), "body", f"a {kind.value} letter needs its reasons, requests or conditions")
        need(not content.conditions, "conditions", f"a {kind.value} letter carries no conditions of its own")
    if kind is LetterKind.INFORMATION_REQUEST:
        need(content.paused_on is not None and content.respond_by is not None, "respond_by",
             "a request for information gives the pause date and the response deadline")
        if content.paused_on is not None and content.respond_by is not None:
            need(content.respond_by >= content.paused_on, "respond_by", "the response is due before the request")
        need(not content.findings, "findings", "a request for information discloses no interim findings")
    return found
