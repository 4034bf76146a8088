"""The vocabulary of a review, as enums shared by every layer."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class SubmissionState(enum.StrEnum):
    RECEIVED = "RECEIVED"
    IN_REVIEW = "IN_REVIEW"
    AWAITING_INFO = "AWAITING_INFO"
    AWAITING_SIGNOFF = "AWAITING_SIGNOFF"
    ISSUED = "ISSUED"
    REFUSED = "REFUSED"
    WITHDRAWN = "WITHDRAWN"

    @property
    def is_open(self) -> bool:
        """Open submissions can still change; closed ones only gain letters."""
        return self not in (SubmissionState.ISSUED, SubmissionState.REFUSED, SubmissionState.WITHDRAWN)

    @property
    def clock_runs(self) -> bool:
        """Open and not awaiting information: only these can fall due (a paused clock's days left stand still)."""
        return self.is_open and self is not SubmissionState.AWAITING_INFO

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Decision(enum.StrEnum):
    CLEARED = "CLEARED"
    CLEARED_WITH_CONDITIONS = "CLEARED_WITH_CONDITIONS"
    NOT_CLEARED = "NOT_CLEARED"

    @property
    def label(self) -> str:
        return {
            Decision.CLEARED: "Cleared",
            Decision.CLEARED_WITH_CONDITIONS: "Cleared with conditions",
            Decision.NOT_CLEARED: "Not cleared",
        }[self]


class Severity(enum.StrEnum):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    INFORMATIONAL = "Informational"

    @property
    def rank(self) -> int:
        """Higher is worse; stored on submissions so the queue can sort by it in SQL."""
        return {"Critical": 5, "High": 4, "Medium": 3, "Low": 2, "Informational": 1}[self.value]

    @classmethod
    def from_rank(cls, rank: int | None) -> Severity | None:
        for member in cls:
            if member.rank == rank:
                return member
        return None


class FindingStatus(enum.StrEnum):
    OPEN = "Open"
    MITIGATION_REQUESTED = "Mitigation requested"
    MITIGATED = "Mitigated"
    RISK_ACCEPTED = "Risk accepted"
    WITHDRAWN = "Withdrawn"

    @property
    def is_open(self) -> bool:
        return self in (FindingStatus.OPEN, FindingStatus.MITIGATION_REQUESTED)


class ArtifactKind(enum.StrEnum):
    MODEL_CARD = "model-card"
    SYSTEM_CARD = "system-card"
    EVAL_REPORT = "eval-report"
    EVAL_LOG = "eval-log"
    RED_TEAM_REPORT = "red-team-report"
    SAFEGUARDS = "safeguards"
    WEIGHTS = "weights"
    OTHER = "other"


class PackageKind(enum.StrEnum):
    NEW = "new"
    SUPPLEMENT = "supplement"
    RESUBMISSION = "resubmission"


class LetterKind(enum.StrEnum):
    CLEARANCE = "clearance"
    REFUSAL = "refusal"
    INFORMATION_REQUEST = "information-request"
    #: replaces the agency's own clearance letter, naming it (the old one shows as superseded)
    CORRECTED = "corrected"
    #: the signed notice that goes with a revocation, naming the revoked letter
    REVOCATION = "revocation"
    #: the conditions of a "cleared with conditions" letter are met
    CONDITIONS_MET = "conditions-met"
