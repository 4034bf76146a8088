"""The ORM classes of the review domain, mapped onto the Core tables of `storage.tables`.

The services that work with whole records (intake, findings, workflow, letters) use
these; the queue, sign-in and settings read and write the tables with Core, so the
first painted queue page never waits for the ORM to import. Each class declares its
columns' Python types for the type checker; the columns themselves (types, defaults,
indices) are described once, in `storage.tables`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from desktop_app.storage import tables
from desktop_app.storage.tables import NAMING_CONVENTION, UTCDateTime, utcnow

__all__ = ["NAMING_CONVENTION", "UTCDateTime", "utcnow"]  # re-exported for older imports


class Base(DeclarativeBase):
    metadata = tables.metadata


class User(Base):
    __table__ = tables.users

    id: Mapped[int]
    username: Mapped[str]
    display_name: Mapped[str]
    title: Mapped[str]
    role: Mapped[str]
    password_hash: Mapped[str]
    active: Mapped[bool]
    must_change_password: Mapped[bool]
    failed_logins: Mapped[int]
    locked_until: Mapped[dt.datetime | None]
    certificate_pem: Mapped[str | None]
    certificate_fingerprint: Mapped[str | None]
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]


class Developer(Base):
    """An AI company that delivers packages; matched by name on import."""

    __table__ = tables.developers

    id: Mapped[int]
    name: Mapped[str]
    address: Mapped[str]
    contact_name: Mapped[str]
    contact_email: Mapped[str]
    contact_phone: Mapped[str]


class Submission(Base):
    __table__ = tables.submissions

    id: Mapped[int]
    reference: Mapped[str]
    developer_id: Mapped[int]
    previous_submission_id: Mapped[int | None]
    model_name: Mapped[str]
    model_version: Mapped[str]
    model_family: Mapped[str]
    modalities: Mapped[list[Any]]
    deployment: Mapped[list[Any]]
    parameters_billion: Mapped[float | None]
    intended_release: Mapped[dt.date | None]
    description: Mapped[str]
    claims: Mapped[dict[str, Any]]
    submitted_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    registered_by_hand: Mapped[bool]
    state: Mapped[str]
    assignee_id: Mapped[int | None]
    window_days: Mapped[int]
    window_reason: Mapped[str]
    paused_days: Mapped[int]
    paused_since: Mapped[dt.datetime | None]
    due_date: Mapped[dt.date]
    decided_at: Mapped[dt.datetime | None]
    highest_open_severity: Mapped[int]
    open_findings: Mapped[int]
    next_finding_number: Mapped[int]
    created_by_id: Mapped[int | None]
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str]
    version_id: Mapped[int]
    # computed by the database (see tables.submissions)
    reference_sort: Mapped[int | None]
    release_conflict: Mapped[int | None]
    due_sort: Mapped[dt.date | None]

    __mapper_args__ = {"version_id_col": __table__.c.version_id}

    developer: Mapped[Developer] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[__table__.c.assignee_id])
    packages: Mapped[list[Package]] = relationship(back_populates="submission", order_by="Package.id")
    artifacts: Mapped[list[Artifact]] = relationship(back_populates="submission", order_by="Artifact.id")
    findings: Mapped[list[Finding]] = relationship(back_populates="submission", order_by="Finding.number")


class Package(Base):
    """One delivered package (new, supplement or resubmission) as it was imported."""

    __table__ = tables.packages

    id: Mapped[int]
    developer_id: Mapped[int]
    package_id: Mapped[str]
    kind: Mapped[str]
    refers_to: Mapped[str | None]
    submission_id: Mapped[int]
    manifest_sha256: Mapped[str | None]
    manifest_blob: Mapped[str | None]
    source_name: Mapped[str]
    imported_at: Mapped[dt.datetime]
    imported_by_id: Mapped[int | None]
    by_hand: Mapped[bool]

    submission: Mapped[Submission] = relationship(back_populates="packages")


class Artifact(Base):
    __table__ = tables.artifacts

    id: Mapped[int]
    submission_id: Mapped[int]
    package_row_id: Mapped[int | None]
    path: Mapped[str]
    kind: Mapped[str]
    sha256: Mapped[str]
    bytes: Mapped[int]
    description: Mapped[str]
    verified_at: Mapped[dt.datetime]
    added_by_hand: Mapped[bool]

    submission: Mapped[Submission] = relationship(back_populates="artifacts")


class Finding(Base):
    __table__ = tables.findings

    id: Mapped[int]
    submission_id: Mapped[int]
    number: Mapped[int]
    title: Mapped[str]
    category: Mapped[str]
    severity: Mapped[str]
    status: Mapped[str]
    description: Mapped[str]
    condition: Mapped[str]
    releasable: Mapped[bool]
    author_id: Mapped[int]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str]
    version_id: Mapped[int]

    __mapper_args__ = {"version_id_col": __table__.c.version_id}

    submission: Mapped[Submission] = relationship(back_populates="findings")
    author: Mapped[User] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(back_populates="finding", order_by="Evidence.id")

    @property
    def label(self) -> str:
        return f"F-{self.number}"


class FindingLink(Base):
    """A finding carried over from an earlier submission's finding."""

    __table__ = tables.finding_links

    id: Mapped[int]
    finding_id: Mapped[int]
    carried_from_id: Mapped[int]
    linked_at: Mapped[dt.datetime]
    linked_by_id: Mapped[int]


class Evidence(Base):
    """A file attached to a finding, or a citation of a submitted artifact."""

    __table__ = tables.evidence

    id: Mapped[int]
    finding_id: Mapped[int]
    kind: Mapped[str]  # "file" or "artifact"
    title: Mapped[str]
    blob_sha256: Mapped[str | None]
    original_name: Mapped[str]
    size: Mapped[int | None]
    artifact_id: Mapped[int | None]
    locator: Mapped[str]
    produced_at: Mapped[dt.datetime | None]
    attached_at: Mapped[dt.datetime]
    attached_by_id: Mapped[int]

    finding: Mapped[Finding] = relationship(back_populates="evidence")


class InformationRequest(Base):
    __table__ = tables.information_requests

    id: Mapped[int]
    submission_id: Mapped[int]
    number: Mapped[int]
    text: Mapped[str]
    requested_by_id: Mapped[int]
    requested_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    answer_note: Mapped[str]
    answer_package_id: Mapped[int | None]
    respond_by: Mapped[dt.date | None]


class Recommendation(Base):
    __table__ = tables.recommendations

    id: Mapped[int]
    submission_id: Mapped[int]
    decision: Mapped[str]
    rationale: Mapped[str]
    conditions: Mapped[list[Any]]
    reviewer_id: Mapped[int]
    submitted_at: Mapped[dt.datetime]
    outcome: Mapped[str]  # pending/approved/returned


class SignOff(Base):
    """A supervisor's approval or return of a recommendation."""

    __table__ = tables.signoffs

    id: Mapped[int]
    recommendation_id: Mapped[int]
    supervisor_id: Mapped[int]
    action: Mapped[str]  # approved / returned
    comment: Mapped[str]
    decided_at: Mapped[dt.datetime]
    letter_reasons: Mapped[str]


class Letter(Base):
    """The register of issued letters: immutable rows, one per signed PDF."""

    __table__ = tables.letters

    id: Mapped[int]
    number: Mapped[str]
    year: Mapped[int]
    sequence: Mapped[int]
    kind: Mapped[str]
    submission_id: Mapped[int]
    decision: Mapped[str | None]
    pdf_sha256: Mapped[str]
    data_digest: Mapped[str]
    signer_id: Mapped[int | None]
    signer_fingerprint: Mapped[str]
    audit_head: Mapped[str]
    issued_at: Mapped[dt.datetime]
    supersedes_id: Mapped[int | None]
    concerns_id: Mapped[int | None]


class LetterRevocation(Base):
    __table__ = tables.letter_revocations

    id: Mapped[int]
    letter_id: Mapped[int]
    reason: Mapped[str]
    revoked_by_id: Mapped[int]
    revoked_at: Mapped[dt.datetime]


class Condition(Base):
    """One numbered condition of an issued letter, followed up until met, not met or waived."""

    __table__ = tables.conditions

    id: Mapped[int]
    letter_id: Mapped[int]
    submission_id: Mapped[int]
    number: Mapped[int]
    text: Mapped[str]
    owner_id: Mapped[int]
    due_date: Mapped[dt.date]
    status: Mapped[str]
    status_reason: Mapped[str]
    closed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str]
    version_id: Mapped[int]

    __mapper_args__ = {"version_id_col": __table__.c.version_id}

    letter: Mapped[Letter] = relationship()
    owner: Mapped[User] = relationship()
    evidence: Mapped[list[ConditionEvidence]] = relationship(back_populates="condition",
                                                             order_by="ConditionEvidence.id")


class ConditionEvidence(Base):
    """A file or a supplement's artifact offered as evidence that a condition is met."""

    __table__ = tables.condition_evidence

    id: Mapped[int]
    condition_id: Mapped[int]
    kind: Mapped[str]  # "file" or "artifact"
    title: Mapped[str]
    blob_sha256: Mapped[str | None]
    original_name: Mapped[str]
    size: Mapped[int | None]
    artifact_id: Mapped[int | None]
    package_row_id: Mapped[int | None]
    attached_at: Mapped[dt.datetime]
    attached_by_id: Mapped[int]

    condition: Mapped[Condition] = relationship(back_populates="evidence")


class Setting(Base):
    __table__ = tables.settings

    key: Mapped[str]
    value: Mapped[Any]
    updated_at: Mapped[dt.datetime]


class Counter(Base):
    """Gapless per-year counters for references, advanced inside the using transaction."""

    __table__ = tables.counters

    name: Mapped[str]
    value: Mapped[int]


class TrustAnchor(Base):
    __table__ = tables.trust_anchors

    id: Mapped[int]
    subject: Mapped[str]
    fingerprint: Mapped[str]
    pem: Mapped[str]
    added_at: Mapped[dt.datetime]


class RevocationList(Base):
    __table__ = tables.revocation_lists

    id: Mapped[int]
    issuer: Mapped[str]
    der_sha256: Mapped[str]
    der: Mapped[bytes]
    this_update: Mapped[dt.datetime]
    next_update: Mapped[dt.datetime | None]
    added_at: Mapped[dt.datetime]


class SavedFilter(Base):
    __table__ = tables.saved_filters

    id: Mapped[int]
    user_id: Mapped[int]
    name: Mapped[str]
    spec: Mapped[dict[str, Any]]


class AuditEvent(Base):
    """The append-only, hash-chained audit trail. Triggers refuse UPDATE and DELETE."""

    __table__ = tables.audit_events

    seq: Mapped[int]
    occurred_at: Mapped[str]
    actor: Mapped[str]
    action: Mapped[str]
    entity_type: Mapped[str]
    entity_id: Mapped[str]
    before: Mapped[str | None]
    after: Mapped[str | None]
    prev_hash: Mapped[str]
    hash: Mapped[str]

