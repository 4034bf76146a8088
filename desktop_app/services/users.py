"""Accounts: argon2id passwords, policy, lock-out, roles; deactivated, never deleted.

Refused sign-ins are audited (without the password). The lock-out counts consecutive
failures and locks for a setting's minutes; the clock is injectable for tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop_app.domain.errors import AccountLocked, AuthenticationFailed, InputRejected, NotFound, PermissionDenied, Problem
from desktop_app.domain.passwords import policy_problems
from desktop_app.domain.types import Role
from desktop_app.infra import resources
from desktop_app.services import audit
from desktop_app.services.context import SYSTEM_ACTOR, Actor, ServiceContext
from desktop_app.services.settings import SettingsService
from desktop_app.storage.models import User

# OWASP's argon2id recommendation: 19 MiB memory, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


@functools.cache
def _blocklist() -> frozenset[str]:
    lines = resources.read_text("common-passwords.txt").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    title: str
    role: Role
    active: bool
    must_change_password: bool
    locked_until: dt.datetime | None
    certificate_fingerprint: str | None


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.title, Role(user.role), user.active,
                    user.must_change_password, user.locked_until, user.certificate_fingerprint)


def _public(user: User) -> dict[str, object]:
    """What the audit trail records of a user: never the password hash."""
    return {"username": user.username, "display_name": user.display_name, "title": user.title,
            "role": user.role, "active": user.active, "must_change_password": user.must_change_password}


def check_password_policy(password: str, username: str = "") -> None:
    problems = policy_problems(password, username=username, blocklist=_blocklist())
    if problems:
        raise InputRejected([Problem(p, field="password") for p in problems])


class UserService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = SettingsService(ctx)

    # -- queries -----------------------------------------------------------------
    def has_accounts(self) -> bool:
        with self.ctx.reading() as session:
            return bool(session.scalar(select(func.count(User.id))))

    def list_users(self) -> list[UserInfo]:
        with self.ctx.reading() as session:
            return [_info(u) for u in session.scalars(select(User).order_by(User.username))]

    def get(self, username: str) -> UserInfo:
        with self.ctx.reading() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user named {username!r}")
            return _info(user)

    # -- first run and administration --------------------------------------------
    def create_first_admin(self, username: str, display_name: str, password: str) -> UserInfo:
        """Create the first account; refused once any account exists."""
        with self.ctx.transaction() as session:
            if session.scalar(select(func.count(User.id))):
                raise PermissionDenied("an administrator already exists; sign in instead")
            user = self._new_user(session, username, display_name, "Administrator", Role.ADMIN, password)
            audit.record(session, actor=SYSTEM_ACTOR, action="user.create_first_admin", entity_type="user",
                         entity_id=user.username, after=_public(user), now=self.ctx.now())
            return _info(user)

    def create_user(self, admin: Actor, username: str, display_name: str, role: Role, password: str,
                    *, title: str = "", must_change_password: bool = True) -> UserInfo:
        self._require_admin(admin, "create accounts")
        with self.ctx.transaction() as session:
            user = self._new_user(session, username, display_name, title, role, password)
            user.must_change_password = must_change_password
            audit.record(session, actor=admin.username, action="user.create", entity_type="user",
                         entity_id=user.username, after=_public(user), now=self.ctx.now())
            return _info(user)

    def _new_user(self, session: Session, username: str, display_name: str, title: str, role: Role,
                  password: str) -> User:
        username = username.strip()
        problems = []
        if not USERNAME_RE.match(username):
            problems.append(Problem("use 2 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter",
                                    field="user name"))
        elif session.scalar(select(User.id).where(User.username == username)):
            problems.append(Problem(f"{username!r} is taken (user names are never reused)", field="user name"))
        if not display_name.strip():
            problems.append(Problem("must not be empty", field="full name"))
        problems += [Problem(p, field="password")
                     for p in policy_problems(password, username=username, blocklist=_blocklist())]
        if problems:
            raise InputRejected(problems)
        user = User(username=username, display_name=display_name.strip(), title=title.strip(), role=role.value,
                    password_hash=HASHER.hash(password), created_at=self.ctx.now())
        session.add(user)
        session.flush()
        return user

    def set_role(self, admin: Actor, username: str, role: Role) -> None:
        self._admin_update(admin, username, "user.set_role", lambda u: setattr(u, "role", role.value))

    def set_title(self, admin: Actor, username: str, title: str) -> None:
        self._admin_update(admin, username, "user.set_title", lambda u: setattr(u, "title", title.strip()))

    def deactivate(self, admin: Actor, username: str) -> None:
        if username == admin.username:
            raise PermissionDenied("you cannot deactivate your own account")
        self._admin_update(admin, username, "user.deactivate", lambda u: setattr(u, "active", False))

    def reactivate(self, admin: Actor, username: str) -> None:
        self._admin_update(admin, username, "user.reactivate", lambda u: setattr(u, "active", True))

    def reset_password(self, admin: Actor, username: str, temporary_password: str) -> None:
        """Set a temporary password the user must change at next sign-in."""
        check_password_policy(temporary_password, username)

        def apply(user: User) -> None:
            user.password_hash = HASHER.hash(temporary_password)
            user.must_change_password = True
            user.failed_logins = 0
            user.locked_until = None

        self._admin_update(admin, username, "user.reset_password", apply)

    def _admin_update(self, admin: Actor, username: str, action: str, change: object) -> None:
        self._require_admin(admin, "manage accounts")
        with self.ctx.transaction() as session:
            user = self._load(session, username)
            before = _public(user)
            change(user)  # type: ignore[operator]
            audit.record(session, actor=admin.username, action=action, entity_type="user", entity_id=username,
                         before=before, after=_public(user), now=self.ctx.now())

    def _require_admin(self, actor: Actor, what: str) -> None:
        if actor.role is not Role.ADMIN:
            reason = f"only an administrator may {what}"
            audit.record_refusal(self.ctx, actor=actor.username, attempted=what, entity_type="user",
                                 entity_id=actor.username, reason=reason)
            raise PermissionDenied(reason)

    @staticmethod
    def _load(session: Session, username: str) -> User:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    # -- signing in ---------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Actor:
        """Check a password; audit refusals; lock after repeated failures.

        The refusal is committed even though sign-in fails, so lock-out counts hold.
        """
        now = self.ctx.now()
        attempts = self.settings.get("lockout_attempts")
        minutes = self.settings.get("lockout_minutes")
        with self.ctx.transaction() as session:
            user = session.scalar(select(User).where(User.username == username.strip()))
            if user is None or not user.active:
                audit.record(session, actor=username.strip()[:64] or "?", action="login.refused", entity_type="user",
                             entity_id=username.strip()[:64] or "?", after={"reason": "unknown or inactive account"},
                             now=now)
                error: Exception = AuthenticationFailed("wrong user name or password")
            elif user.locked_until is not None and user.locked_until > now:
                audit.record(session, actor=user.username, action="login.refused", entity_type="user",
                             entity_id=user.username, after={"reason": "locked"}, now=now)
                error = AccountLocked(f"account locked after repeated failures until "
                                      f"{user.locked_until:%H:%M} UTC; ask an administrator or wait")
            elif not _verify(user.password_hash, password):
                user.failed_logins += 1
                reason = "wrong password"
                if user.failed_logins >= attempts:
                    user.locked_until = now + dt.timedelta(minutes=minutes)
                    user.failed_logins = 0
                    reason = f"wrong password; locked for {minutes} minutes"
                audit.record(session, actor=user.username, action="login.refused", entity_type="user",
                             entity_id=user.username, after={"reason": reason}, now=now)
                error = AuthenticationFailed("wrong user name or password")
            else:
                user.failed_logins = 0
                user.locked_until = None
                user.last_login_at = now
                if HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = HASHER.hash(password)
                audit.record(session, actor=user.username, action="login", entity_type="user",
                             entity_id=user.username, now=now)
                return Actor(user.id, user.username, Role(user.role), user.display_name)
        raise error

    def reauthenticate(self, actor: Actor, password: str) -> None:
        """Ask for the password again at a moment that matters (signing off)."""
        confirmed = self.authenticate(actor.username, password)
        if confirmed.user_id != actor.user_id:
            raise AuthenticationFailed("wrong user name or password")

    def must_change_password(self, actor: Actor) -> bool:
        return self.get(actor.username).must_change_password

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        check_password_policy(new_password, actor.username)
        with self.ctx.transaction() as session:
            user = self._load(session, actor.username)
            if not _verify(user.password_hash, old_password):
                raise AuthenticationFailed("the current password is wrong")
            if _verify(user.password_hash, new_password):
                raise InputRejected(Problem("choose a password different from the current one", field="new password"))
            user.password_hash = HASHER.hash(new_password)
            user.must_change_password = False
            audit.record(session, actor=actor.username, action="user.change_password", entity_type="user",
                         entity_id=actor.username, now=self.ctx.now())

    def set_certificate(self, admin: Actor, username: str, certificate_pem: str, fingerprint: str) -> None:
        def apply(user: User) -> None:
            user.certificate_pem = certificate_pem
            user.certificate_fingerprint = fingerprint

        self._admin_update(admin, username, "user.enrol_certificate", apply)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
