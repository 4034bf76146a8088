"""Errors the lower layers raise; the UI and CLI turn them into one clear message each.

Every error carries enough to name what was wrong (file, field) without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ClearanceDeskError(Exception):
    """Base of every expected failure: shown to the user, never as a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file and/or field) and what was expected."""

    message: str
    file: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class InputRejected(ClearanceDeskError):
    """Bad input: one or more problems, nothing was written."""

    def __init__(self, problems: list[Problem] | Problem | str, *, subject: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.subject = subject
        super().__init__("; ".join(str(p) for p in self.problems))


class PermissionDenied(ClearanceDeskError):
    """The signed-in user's role or relation to the record does not allow the action."""


class AccountInactive(PermissionDenied):
    """The signed-in account was deactivated (or removed) since signing in: the session may do nothing more."""

    def __init__(self, message: str = "Your account is no longer active; sign in again.") -> None:
        super().__init__(message)


class TransitionNotAllowed(ClearanceDeskError):
    """The submission's state does not allow the action, or its guard failed."""


class ConcurrentEdit(ClearanceDeskError):
    """Someone else saved the record after it was loaded."""

    def __init__(self, entity: str, changed_by: str | None, changed_at: str | None) -> None:
        self.entity, self.changed_by, self.changed_at = entity, changed_by, changed_at
        who = changed_by or "another user"
        when = f" at {changed_at}" if changed_at else ""
        super().__init__(f"{entity} was changed by {who}{when}; reload to see the new version")


class AuthenticationFailed(ClearanceDeskError):
    """Wrong user name or password (deliberately not saying which)."""


class AccountLocked(ClearanceDeskError):
    """Too many failed sign-ins; the account unlocks at the given time."""


class NotFound(ClearanceDeskError):
    """A record asked for by reference does not exist."""


class IntegrityFailure(ClearanceDeskError):
    """Stored data does not match its digest or chain: evidence of tampering or damage."""


class OperationCancelled(ClearanceDeskError):
    """The user cancelled a long operation; nothing was written."""


@dataclass
class CheckResult:
    """One named check with its outcome, for verification reports."""

    name: str
    ok: bool
    detail: str = ""
    extra: dict[str, str] = field(default_factory=dict)
