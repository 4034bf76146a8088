"""Who may do what, by role alone: the first check behind every workflow rule.

Role checks live here so every service (workflow, findings, settings, users) asks the
same question the same way; rules that depend on the submission (assignee, separation
of duties) live in `workflow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from desktop_app.domain.errors import PermissionDenied
from desktop_app.domain.types import Role

UserId = int  # users.id in storage

#: Roles that review submissions: supervisors do everything a reviewer does.
REVIEWING_ROLES: frozenset[Role] = frozenset({Role.REVIEWER, Role.SUPERVISOR})
#: Roles that approve or return recommendations and sign letters.
SIGNING_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR})
#: Roles that manage accounts, settings and backups; they sign nothing.
ADMIN_ROLES: frozenset[Role] = frozenset({Role.ADMIN})

ADMIN_REVIEWS = "Administrators manage accounts and settings; they do not review or approve submissions."


class ActingUser(Protocol):
    """Anything with a user id and a role: the domain `Actor` or the services' richer one."""

    @property
    def user_id(self) -> UserId: ...

    @property
    def role(self) -> Role: ...


@dataclass(frozen=True)
class Actor:
    """Who is acting: the signed-in user, as the rules, the services and the UI all see them.

    The services re-read role and active flag from the database in every transaction and
    act on a fresh Actor; the one the UI holds says only whom to re-read.
    """

    user_id: UserId
    username: str
    role: Role
    display_name: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.username


def may_review(role: Role) -> bool:
    return role in REVIEWING_ROLES


def may_sign(role: Role) -> bool:
    return role in SIGNING_ROLES


def may_administer(role: Role) -> bool:
    return role in ADMIN_ROLES


def require_reviewer(actor: ActingUser) -> None:
    """Raise unless the actor reviews (reviewer or supervisor)."""
    if not may_review(actor.role):
        if actor.role == Role.ADMIN:
            raise PermissionDenied(ADMIN_REVIEWS)
        raise PermissionDenied("Only reviewers and supervisors can do this.")


def require_supervisor(actor: ActingUser, doing: str = "do this") -> None:
    """Raise unless the actor is a supervisor; `doing` completes "Only a supervisor can …"."""
    if not may_sign(actor.role):
        if actor.role == Role.ADMIN:
            raise PermissionDenied(ADMIN_REVIEWS)
        raise PermissionDenied(f"Only a supervisor can {doing}.")


def require_admin(actor: ActingUser, doing: str = "do this") -> None:
    """Raise unless the actor is an administrator (accounts, settings, backups)."""
    if not may_administer(actor.role):
        raise PermissionDenied(f"Only an administrator can {doing}.")
