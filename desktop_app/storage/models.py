"""Typed SQLAlchemy models for the whole review domain, on one DeclarativeBase.

Integer keys for joins; human references (CD-YYYY-NNNN, CL-YYYY-NNNN) for people.
Times are timezone-aware UTC. Records that users edit concurrently carry a version
counter so a stale save is refused instead of silently overwriting.
Denormalised queue columns (due date, highest open severity, open findings) are kept by
the services in the same transaction as the change that moves them, so the queue can
sort and filter in SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC datetimes.

    SQLite has no time zone type; without this, values come back naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Clearance Desk stores aware UTC times only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    certificate_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]


class Developer(Base):
    """An AI company that delivers packages; matched by name on import."""

    __tablename__ = "developers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")


#: CD-YYYY-N… as a number (year, then sequence); "release before due while open"; and the
#: due date of open submissions, closed ones last (they show no due date).
REFERENCE_SORT_SQL = "CAST(substr(reference, 4, 4) AS INTEGER) * 1000000 + CAST(substr(reference, 9) AS INTEGER)"
RELEASE_CONFLICT_SQL = ("CASE WHEN intended_release IS NOT NULL AND intended_release < due_date AND state IN "
                        "('RECEIVED', 'IN_REVIEW', 'AWAITING_INFO', 'AWAITING_SIGNOFF') THEN 1 ELSE 0 END")
DUE_SORT_SQL = ("CASE WHEN state IN ('RECEIVED', 'IN_REVIEW', 'AWAITING_INFO', 'AWAITING_SIGNOFF') "
                "THEN due_date ELSE '9999-12-31' END")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_state_due", "state", "due_date", "assignee_id"),  # covers the sidebar counts
        Index("ix_submissions_assignee_due", "assignee_id", "due_date"),
        Index("ix_submissions_due", "due_date"),
        Index("ix_submissions_received", "received_at"),
        Index("ix_submissions_developer", "developer_id"),
        Index("ix_submissions_severity", "highest_open_severity"),
        # One index per queue sort column (the rowid makes each one (column, id)).
        Index("ix_submissions_reference_sort", "reference_sort"),
        Index("ix_submissions_model", "model_name", "model_version"),
        Index("ix_submissions_open_findings", "open_findings"),
        Index("ix_submissions_release_conflict", "release_conflict"),
        Index("ix_submissions_due_sort", "due_sort"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id"))
    previous_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    model_family: Mapped[str] = mapped_column(String(200), default="")
    modalities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    deployment: Mapped[list[Any]] = mapped_column(JSON, default=list)
    parameters_billion: Mapped[float | None] = mapped_column(Float)
    intended_release: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    claims: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    registered_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(24), default="RECEIVED")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    window_reason: Mapped[str] = mapped_column(Text, default="")
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[dt.datetime | None]
    due_date: Mapped[dt.date] = mapped_column(Date)
    decided_at: Mapped[dt.datetime | None]
    highest_open_severity: Mapped[int] = mapped_column(Integer, default=0)
    open_findings: Mapped[int] = mapped_column(Integer, default=0)
    next_finding_number: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    # Computed by the database so the queue sorts by them through an index: references
    # in numeric order (CD-2026-10000 after CD-2026-9999), the release-conflict flag, and
    # due dates with closed submissions last.
    # (Stored on PostgreSQL, which has no virtual columns before 18; migration 0002 adds
    # them as virtual columns on SQLite, which cannot ALTER in a stored one.)
    reference_sort: Mapped[int | None] = mapped_column(Integer, Computed(REFERENCE_SORT_SQL, persisted=True))
    release_conflict: Mapped[int | None] = mapped_column(Integer, Computed(RELEASE_CONFLICT_SQL, persisted=True))
    due_sort: Mapped[dt.date | None] = mapped_column(Date, Computed(DUE_SORT_SQL, persisted=True))

    __mapper_args__ = {"version_id_col": version_id}

    developer: Mapped[Developer] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    packages: Mapped[list[Package]] = relationship(back_populates="submission", order_by="Package.id")
    artifacts: Mapped[list[Artifact]] = relationship(back_populates="submission", order_by="Artifact.id")
    findings: Mapped[list[Finding]] = relationship(back_populates="submission", order_by="Finding.number")


class Package(Base):
    """One delivered package (new, supplement or resubmission) as it was imported."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("developer_id", "package_id", name="uq_packages_developer_package"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id"))
    package_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    refers_to: Mapped[str | None] = mapped_column(String(64))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_blob: Mapped[str | None] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(400), default="")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_hand: Mapped[bool] = mapped_column(Boolean, default=False)

    submission: Mapped[Submission] = relationship(back_populates="packages")


class Artifact(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    package_row_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))
    path: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(24))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    bytes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    added_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)

    submission: Mapped[Submission] = relationship(back_populates="artifacts")


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("submission_id", "number", name="uq_findings_submission_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default="Open")
    description: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version_id}

    submission: Mapped[Submission] = relationship(back_populates="findings")
    author: Mapped[User] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(back_populates="finding", order_by="Evidence.id")

    @property
    def label(self) -> str:
        return f"F-{self.number}"


class Evidence(Base):
    """A file attached to a finding, or a citation of a submitted artifact."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "file" or "artifact"
    title: Mapped[str] = mapped_column(String(300))
    blob_sha256: Mapped[str | None] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int | None] = mapped_column(Integer)
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id"))
    locator: Mapped[str] = mapped_column(String(300), default="")
    produced_at: Mapped[dt.datetime | None]
    attached_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attached_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    finding: Mapped[Finding] = relationship(back_populates="evidence")


class InformationRequest(Base):
    __tablename__ = "information_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None]
    answer_note: Mapped[str] = mapped_column(Text, default="")
    answer_package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))


class Recommendation(Base):
    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    decision: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text)
    conditions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending/approved/returned


class SignOff(Base):
    """A supervisor's approval or return of a recommendation."""

    __tablename__ = "signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))  # approved / returned
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Letter(Base):
    """The register of issued letters: immutable rows, one per signed PDF."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("year", "sequence", name="uq_letters_year_sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    decision: Mapped[str | None] = mapped_column(String(32))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    data_digest: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    audit_head: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))


class LetterRevocation(Base):
    __tablename__ = "letter_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    revoked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Counter(Base):
    """Gapless per-year counters for references, advanced inside the using transaction."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class TrustAnchor(Base):
    __tablename__ = "trust_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    pem: Mapped[str] = mapped_column(Text)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RevocationList(Base):
    __tablename__ = "revocation_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    der_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column()
    this_update: Mapped[dt.datetime]
    next_update: Mapped[dt.datetime | None]
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SavedFilter(Base):
    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_filters_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditEvent(Base):
    """The append-only, hash-chained audit trail. Triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


Index("ix_audit_entity", AuditEvent.entity_type, AuditEvent.entity_id)
