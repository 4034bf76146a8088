"""The schema as SQLAlchemy Core tables: the one description of the database.

Everything that must be fast reads and writes through these tables with Core: the
queue's pages and counts, sign-in, settings, bulk inserts. The ORM classes in
`storage.models` map onto the same `Table` objects, and are imported only by the
services that work with whole records (findings, workflow, letters). Importing the ORM
costs ~100 ms, so keeping it out of this module lets the window paint its first queue
page before the ORM is loaded.

Integer keys for joins; human references (CD-YYYY-NNNN, CL-YYYY-NNNN) for people.
Times are timezone-aware UTC. Records that users edit concurrently carry a version
counter so a stale save is refused instead of silently overwriting. Denormalised queue
columns (due date, highest open severity, open findings) are kept by the services in
the same transaction as the change that moves them, so the queue sorts and filters in SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


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


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _required(name: str, type_: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    """A NOT NULL column (the ORM's `Mapped[T]`; a plain Column is nullable, `Mapped[T | None]`)."""
    return Column(name, type_, *args, nullable=False, **kwargs)


def _fk(name: str, target: str, *, required: bool = True, **kwargs: Any) -> Column[int]:
    return Column(name, Integer, ForeignKey(target), nullable=not required, **kwargs)


users = Table(
    "users", metadata,
    _id(),
    _required("username", String(64), unique=True),
    _required("display_name", String(200)),
    _required("title", String(200), default=""),
    _required("role", String(16)),
    _required("password_hash", String(256)),
    _required("active", Boolean, default=True),
    _required("must_change_password", Boolean, default=False),
    _required("failed_logins", Integer, default=0),
    Column("locked_until", UTCDateTime),
    Column("certificate_pem", Text),
    Column("certificate_fingerprint", String(64)),
    _required("created_at", UTCDateTime, default=utcnow),
    Column("last_login_at", UTCDateTime),
)

#: An AI company that delivers packages; matched by name on import.
developers = Table(
    "developers", metadata,
    _id(),
    _required("name", String(200), unique=True),
    _required("address", String(500), default=""),
    _required("contact_name", String(200), default=""),
    _required("contact_email", String(254), default=""),
    _required("contact_phone", String(40), default=""),
)

#: CD-YYYY-N… as a number (year, then sequence); "release before due while open"; and the
#: due date of open submissions, closed ones last (they show no due date).
REFERENCE_SORT_SQL = "CAST(substr(reference, 4, 4) AS INTEGER) * 1000000 + CAST(substr(reference, 9) AS INTEGER)"
RELEASE_CONFLICT_SQL = ("CASE WHEN intended_release IS NOT NULL AND intended_release < due_date AND state IN "
                        "('RECEIVED', 'IN_REVIEW', 'AWAITING_INFO', 'AWAITING_SIGNOFF') THEN 1 ELSE 0 END")
DUE_SORT_SQL = ("CASE WHEN state IN ('RECEIVED', 'IN_REVIEW', 'AWAITING_INFO', 'AWAITING_SIGNOFF') "
                "THEN due_date ELSE '9999-12-31' END")

submissions = Table(
    "submissions", metadata,
    _id(),
    _required("reference", String(16), unique=True),
    _fk("developer_id", "developers.id"),
    _fk("previous_submission_id", "submissions.id", required=False),
    _required("model_name", String(200)),
    _required("model_version", String(100)),
    _required("model_family", String(200), default=""),
    _required("modalities", JSON, default=list),
    _required("deployment", JSON, default=list),
    Column("parameters_billion", Float),
    Column("intended_release", Date),
    _required("description", Text, default=""),
    _required("claims", JSON, default=dict),
    Column("submitted_at", UTCDateTime),
    _required("received_at", UTCDateTime),
    _required("registered_by_hand", Boolean, default=False),
    _required("state", String(24), default="RECEIVED"),
    _fk("assignee_id", "users.id", required=False),
    _required("window_days", Integer, default=30),
    _required("window_reason", Text, default=""),
    _required("paused_days", Integer, default=0),
    Column("paused_since", UTCDateTime),
    _required("due_date", Date),
    Column("decided_at", UTCDateTime),
    _required("highest_open_severity", Integer, default=0),
    _required("open_findings", Integer, default=0),
    _required("next_finding_number", Integer, default=1),
    _fk("created_by_id", "users.id", required=False),
    _required("updated_at", UTCDateTime, default=utcnow, onupdate=utcnow),
    _required("updated_by", String(64), default=""),
    _required("version_id", Integer, default=1),
    # Computed by the database so the queue sorts by them through an index: references
    # in numeric order (CD-2026-10000 after CD-2026-9999), the release-conflict flag, and
    # due dates with closed submissions last. (Stored on PostgreSQL, which has no virtual
    # columns before 18; migration 0002 adds them as virtual columns on SQLite, which
    # cannot ALTER in a stored one.)
    Column("reference_sort", Integer, Computed(REFERENCE_SORT_SQL, persisted=True)),
    Column("release_conflict", Integer, Computed(RELEASE_CONFLICT_SQL, persisted=True)),
    Column("due_sort", Date, Computed(DUE_SORT_SQL, persisted=True)),
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

#: One delivered package (new, supplement or resubmission) as it was imported.
packages = Table(
    "packages", metadata,
    _id(),
    _fk("developer_id", "developers.id"),
    _required("package_id", String(64)),
    _required("kind", String(16)),
    Column("refers_to", String(64)),
    _fk("submission_id", "submissions.id", index=True),
    Column("manifest_sha256", String(64)),
    Column("manifest_blob", String(64)),
    _required("source_name", String(400), default=""),
    _required("imported_at", UTCDateTime, default=utcnow),
    _fk("imported_by_id", "users.id", required=False),
    _required("by_hand", Boolean, default=False),
    UniqueConstraint("developer_id", "package_id", name="uq_packages_developer_package"),
)

artifacts = Table(
    "artifacts", metadata,
    _id(),
    _fk("submission_id", "submissions.id", index=True),
    _fk("package_row_id", "packages.id", required=False),
    _required("path", String(400)),
    _required("kind", String(24)),
    _required("sha256", String(64), index=True),
    _required("bytes", Integer),
    _required("description", Text, default=""),
    _required("verified_at", UTCDateTime, default=utcnow),
    _required("added_by_hand", Boolean, default=False),
)

findings = Table(
    "findings", metadata,
    _id(),
    _fk("submission_id", "submissions.id"),
    _required("number", Integer),
    _required("title", String(200)),
    _required("category", String(64)),
    _required("severity", String(16)),
    _required("status", String(24), default="Open"),
    _required("description", Text, default=""),
    _required("condition", Text, default=""),
    #: shown to the developer in letters and notices only when a reviewer marks it so
    _required("releasable", Boolean, default=False, server_default=false()),
    _fk("author_id", "users.id", index=True),
    _required("created_at", UTCDateTime, default=utcnow),
    _required("updated_at", UTCDateTime, default=utcnow),
    _required("updated_by", String(64), default=""),
    _required("version_id", Integer, default=1),
    UniqueConstraint("submission_id", "number", name="uq_findings_submission_number"),
)

#: A finding carried over from an earlier submission of the chain (resubmission or
#: supplement): the new finding and the one it continues. One row per new finding.
finding_links = Table(
    "finding_links", metadata,
    _id(),
    _fk("finding_id", "findings.id", unique=True),
    _fk("carried_from_id", "findings.id", index=True),
    _required("linked_at", UTCDateTime, default=utcnow),
    _fk("linked_by_id", "users.id"),
)

#: A file attached to a finding, or a citation of a submitted artifact.
evidence = Table(
    "evidence", metadata,
    _id(),
    _fk("finding_id", "findings.id", index=True),
    _required("kind", String(16)),  # "file" or "artifact"
    _required("title", String(300)),
    Column("blob_sha256", String(64)),
    _required("original_name", String(300), default=""),
    Column("size", Integer),
    _fk("artifact_id", "artifacts.id", required=False),
    _required("locator", String(300), default=""),
    Column("produced_at", UTCDateTime),
    _required("attached_at", UTCDateTime, default=utcnow),
    _fk("attached_by_id", "users.id"),
)

information_requests = Table(
    "information_requests", metadata,
    _id(),
    _fk("submission_id", "submissions.id", index=True),
    _required("number", Integer),
    _required("text", Text),
    _fk("requested_by_id", "users.id"),
    _required("requested_at", UTCDateTime, default=utcnow),
    Column("answered_at", UTCDateTime),
    _required("answer_note", Text, default=""),
    _fk("answer_package_id", "packages.id", required=False),
    #: the response deadline the notice gives (agency calendar date); None for requests before 0004
    Column("respond_by", Date),
)

recommendations = Table(
    "recommendations", metadata,
    _id(),
    _fk("submission_id", "submissions.id", index=True),
    _required("decision", String(32)),
    _required("rationale", Text),
    _required("conditions", JSON, default=list),
    _fk("reviewer_id", "users.id"),
    _required("submitted_at", UTCDateTime, default=utcnow),
    _required("outcome", String(16), default="pending"),  # pending / approved / returned
)

#: A supervisor's approval or return of a recommendation.
signoffs = Table(
    "signoffs", metadata,
    _id(),
    _fk("recommendation_id", "recommendations.id", index=True),
    _fk("supervisor_id", "users.id"),
    _required("action", String(16)),  # approved / returned
    _required("comment", Text, default=""),
    _required("decided_at", UTCDateTime, default=utcnow),
    #: the reasons the letter states, as the supervisor approved (and perhaps edited) them
    _required("letter_reasons", Text, default="", server_default=""),
)

#: The register of issued letters: immutable rows, one per signed PDF.
letters = Table(
    "letters", metadata,
    _id(),
    _required("number", String(16), unique=True),
    _required("year", Integer),
    _required("sequence", Integer),
    _required("kind", String(24)),
    _fk("submission_id", "submissions.id", index=True),
    Column("decision", String(32)),
    _required("pdf_sha256", String(64)),
    _required("data_digest", String(64)),
    _fk("signer_id", "users.id", required=False),
    _required("signer_fingerprint", String(64), default=""),
    _required("audit_head", String(64)),
    _required("issued_at", UTCDateTime, default=utcnow),
    _fk("supersedes_id", "letters.id", required=False),
    #: the letter a notice is about: the one a revocation notice revokes, or whose conditions are met
    _fk("concerns_id", "letters.id", required=False),
    UniqueConstraint("year", "sequence", name="uq_letters_year_sequence"),
)

letter_revocations = Table(
    "letter_revocations", metadata,
    _id(),
    _fk("letter_id", "letters.id", unique=True),
    _required("reason", Text),
    _fk("revoked_by_id", "users.id"),
    _required("revoked_at", UTCDateTime, default=utcnow),
)

#: One numbered condition of an issued CLEARED WITH CONDITIONS letter, followed up until
#: it is met, not met or waived (statuses in domain.conditions).
conditions = Table(
    "conditions", metadata,
    _id(),
    _fk("letter_id", "letters.id"),
    _fk("submission_id", "submissions.id", index=True),
    _required("number", Integer),
    _required("text", Text),
    _fk("owner_id", "users.id"),
    _required("due_date", Date),
    _required("status", String(24), default="open"),
    _required("status_reason", Text, default=""),
    Column("closed_at", UTCDateTime),
    _required("created_at", UTCDateTime, default=utcnow),
    _required("updated_at", UTCDateTime, default=utcnow),
    _required("updated_by", String(64), default=""),
    _required("version_id", Integer, default=1),
    UniqueConstraint("letter_id", "number", name="uq_conditions_letter_number"),
    Index("ix_conditions_status_due", "status", "due_date", "owner_id"),  # covers the sidebar counts
)

#: Evidence that a condition is met: a file (hashed into the blob store) or an artifact of
#: a supplement package that cites the condition.
condition_evidence = Table(
    "condition_evidence", metadata,
    _id(),
    _fk("condition_id", "conditions.id", index=True),
    _required("kind", String(16)),  # "file" or "artifact"
    _required("title", String(300)),
    Column("blob_sha256", String(64)),
    _required("original_name", String(300), default=""),
    Column("size", Integer),
    _fk("artifact_id", "artifacts.id", required=False),
    _fk("package_row_id", "packages.id", required=False),
    _required("attached_at", UTCDateTime, default=utcnow),
    _fk("attached_by_id", "users.id"),
)

settings = Table(
    "settings", metadata,
    _required("key", String(64), primary_key=True),
    _required("value", JSON),
    _required("updated_at", UTCDateTime, default=utcnow),
)

#: Gapless per-year counters for references, advanced inside the using transaction.
counters = Table(
    "counters", metadata,
    _required("name", String(32), primary_key=True),
    _required("value", Integer, default=0),
)

trust_anchors = Table(
    "trust_anchors", metadata,
    _id(),
    _required("subject", String(500)),
    _required("fingerprint", String(64), unique=True),
    _required("pem", Text),
    _required("added_at", UTCDateTime, default=utcnow),
)

revocation_lists = Table(
    "revocation_lists", metadata,
    _id(),
    _required("issuer", String(500)),
    _required("der_sha256", String(64), unique=True),
    _required("der", LargeBinary),
    _required("this_update", UTCDateTime),
    Column("next_update", UTCDateTime),
    _required("added_at", UTCDateTime, default=utcnow),
)

saved_filters = Table(
    "saved_filters", metadata,
    _id(),
    _fk("user_id", "users.id"),
    _required("name", String(100)),
    _required("spec", JSON),
    UniqueConstraint("user_id", "name", name="uq_saved_filters_user_name"),
)

#: The append-only, hash-chained audit trail. Triggers refuse UPDATE and DELETE.
audit_events = Table(
    "audit_events", metadata,
    _required("seq", Integer, primary_key=True, autoincrement=False),
    _required("occurred_at", String(32)),
    _required("actor", String(64)),
    _required("action", String(64)),
    _required("entity_type", String(32)),
    _required("entity_id", String(64)),
    Column("before", Text),
    Column("after", Text),
    _required("prev_hash", String(64)),
    _required("hash", String(64), unique=True),
    Index("ix_audit_entity", "entity_type", "entity_id"),
)
