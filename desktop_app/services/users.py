"""Accounts: argon2id passwords, policy, lock-out, roles; deactivated, never deleted.

Refused sign-ins are audited (without the password). The lock-out counts consecutive
failures and locks for a setting's minutes; the clock is injectable for tests.
Core, not the ORM: signing in comes before the first queue page, which must not wait
for the ORM to import.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, func, insert, select, update

from desktop_app.domain.errors import AccountLocked, AuthenticationFailed, InputRejected, NotFound, PermissionDenied, Problem
from desktop_app.domain.passwords import policy_problems
from desktop_app.domain.permissions import may_administer
from desktop_app.domain.text import checked, field_problems
from desktop_app.domain.types import Role
from desktop_app.infra import resources
from desktop_app.services import audit
from desktop_app.services.context import SYSTEM_ACTOR, Actor, ServiceContext, current_actor
from desktop_app.services.settings import SettingsService
from desktop_app.storage.tables import audit_events, users

# OWASP's argon2id recommendation: 19 MiB memory, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
U = users.c


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


def _info(user: Mapping[str, Any]) -> UserInfo:
    return UserInfo(user["id"], user["username"], user["display_name"], user["title"], Role(user["role"]),
                    user["active"], user["must_change_password"], user["locked_until"],
                    user["certificate_fingerprint"])


def _public(user: Mapping[str, Any]) -> dict[str, object]:
    """What the audit trail records of a user: never the password hash."""
    return {key: user[key] for key in ("username", "display_name", "title", "role", "active", "must_change_password")}


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in between reading the account and recording the outcome (UserService.authenticate)."""

    username: str
    password_hash: str | None  # None: no active account of that name

    def verify(self, password: str) -> bool:
        """The argon2 check: touches no database and releases the GIL, so it may run on a thread.

        An unknown name is checked against a stand-in hash, so it takes as long as a known
        one and the time taken does not tell which names exist.
        """
        return _verify(self.password_hash or STAND_IN_HASH, password) and self.password_hash is not None


STAND_IN_HASH = "$argon2id$v=19$m=19456,t=2,p=1$hvcGKovNZ0cQFJCDbXU8Lg$RfiZOFVqyXDX4l1wQF67ckjTMS17kw1Sfzul/iYx5y0"
"""What an unknown name's password is checked against: HASHER's parameters, a random password
nobody knows. A constant, not hashed on first use, so the first sign-in of a process costs
the same for an unknown name as for a known one."""

UNKNOWN_ACCOUNT = "unknown or inactive account"
"""The audited reason of a refusal for a name with no active account; lock-outs of such names count these."""


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
        with self.ctx.connect() as conn:
            return bool(conn.scalar(select(func.count(U.id))))

    def list_users(self) -> list[UserInfo]:
        with self.ctx.connect() as conn:
            return [_info(u) for u in conn.execute(select(users).order_by(U.username)).mappings()]

    def get(self, username: str) -> UserInfo:
        with self.ctx.connect() as conn:
            return _info(self._load(conn, username))

    # -- first run and administration --------------------------------------------
    def create_first_admin(self, username: str, display_name: str, password: str) -> UserInfo:
        """Create the first account; refused once any account exists."""
        with self.ctx.begin() as conn:
            if conn.scalar(select(func.count(U.id))):
                raise PermissionDenied("an administrator already exists; sign in instead")
            user = self._new_user(conn, username, display_name, "Administrator", Role.ADMIN, password)
            audit.record(conn, actor=SYSTEM_ACTOR, action="user.create_first_admin", entity_type="user",
                         entity_id=user["username"], after=_public(user), now=self.ctx.now())
            return _info(user)

    def create_user(self, admin: Actor, username: str, display_name: str, role: Role, password: str,
                    *, title: str = "", must_change_password: bool = True) -> UserInfo:
        self._require_admin(admin, "create accounts")
        with self.ctx.begin() as conn:
            _current_admin(conn, admin, "create accounts")
            user = self._new_user(conn, username, display_name, title, role, password,
                                  must_change_password=must_change_password)
            audit.record(conn, actor=admin.username, action="user.create", entity_type="user",
                         entity_id=user["username"], after=_public(user), now=self.ctx.now())
            return _info(user)

    def _new_user(self, conn: Connection, username: str, display_name: str, title: str, role: Role,
                  password: str, *, must_change_password: bool = False) -> Mapping[str, Any]:
        username = username.strip()
        problems = []
        if not USERNAME_RE.match(username):
            problems.append(Problem("use 2 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter",
                                    field="user name"))
        elif conn.scalar(select(U.id).where(U.username == username)):
            problems.append(Problem(f"{username!r} is taken (user names are never reused)", field="user name"))
        if not display_name.strip():
            problems.append(Problem("must not be empty", field="full name"))
        problems += field_problems({"full name": display_name, "title": title},
                                   single_line=frozenset({"full name", "title"}))
        problems += [Problem(p, field="password")
                     for p in policy_problems(password, username=username, blocklist=_blocklist())]
        if problems:
            raise InputRejected(problems)
        conn.execute(insert(users).values(
            username=username, display_name=display_name.strip(), title=title.strip(), role=role.value,
            password_hash=HASHER.hash(password), must_change_password=must_change_password, created_at=self.ctx.now()))
        return self._load(conn, username)

    def set_role(self, admin: Actor, username: str, role: Role) -> None:
        self._admin_update(admin, username, "user.set_role", lambda _user: {"role": role.value})

    def set_title(self, admin: Actor, username: str, title: str) -> None:
        checked(title, "title", multiline=False)
        self._admin_update(admin, username, "user.set_title", lambda _user: {"title": title.strip()})

    def deactivate(self, admin: Actor, username: str) -> None:
        if username == admin.username:
            raise PermissionDenied("you cannot deactivate your own account")
        self._admin_update(admin, username, "user.deactivate", lambda _user: {"active": False})

    def reactivate(self, admin: Actor, username: str) -> None:
        self._admin_update(admin, username, "user.reactivate", lambda _user: {"active": True})

    def reset_password(self, admin: Actor, username: str, temporary_password: str) -> None:
        """Set a temporary password the user must change at next sign-in."""
        check_password_policy(temporary_password, username)

        self._admin_update(admin, username, "user.reset_password", lambda _user: {
            "password_hash": HASHER.hash(temporary_password), "must_change_password": True, "failed_logins": 0,
            "locked_until": None})

    def _admin_update(self, admin: Actor, username: str, action: str,
                      change: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
        """Apply `change` (the user's row → the columns to set) and audit before and after."""
        self._require_admin(admin, "manage accounts")
        with self.ctx.begin() as conn:
            _current_admin(conn, admin, "manage accounts")
            user = self._load(conn, username)
            changed = change(user)
            conn.execute(update(users).where(U.id == user["id"]).values(changed))
            audit.record(conn, actor=admin.username, action=action, entity_type="user", entity_id=username,
                         before=_public(user), after=_public({**user, **changed}), now=self.ctx.now())

    def _require_admin(self, actor: Actor, what: str) -> None:
        self.ctx.require(actor, may_administer, f"only an administrator may {what}", attempted=what,
                         entity_type="user", entity_id=actor.username)

    @staticmethod
    def _load(conn: Connection, username: str) -> Mapping[str, Any]:
        user = conn.execute(select(users).where(U.username == username)).mappings().first()
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    # -- signing in ---------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Actor:
        """Check a password; audit refusals; lock after repeated failures.

        The refusal is committed even though sign-in fails, so lock-out counts hold.
        """
        attempt = self.sign_in_attempt(username)
        return self.record_sign_in(attempt, password, attempt.verify(password))

    def sign_in_attempt(self, username: str) -> SignInAttempt:
        """The first step of signing in: the account as it is now (a read; no lock is taken)."""
        name = username.strip()
        with self.ctx.connect() as conn:
            stored = conn.execute(select(U.password_hash).where(U.username == name, U.active.is_(True))).scalar()
        return SignInAttempt(name, stored)

    def record_sign_in(self, attempt: SignInAttempt, password: str, verified: bool) -> Actor:
        """The last step: lock-out counts and the audit event, in one write transaction.

        `verified` is `attempt.verify(password)`, which may have run on another thread: the
        argon2 check (~25 ms) never holds the write lock. The account is read again under
        the lock, so a lock-out, deactivation or password change made meanwhile wins.
        """
        now = self.ctx.now()
        attempts = self.settings.get("lockout_attempts")
        minutes = self.settings.get("lockout_minutes")
        name = attempt.username
        with self.ctx.begin() as conn:
            user = conn.execute(select(users).where(U.username == name)).mappings().first()
            # Read for every name, so the work done does not tell which names exist.
            unknown_lock, unknown_failures = _unknown_name_lockout(conn, name[:64] or "?", attempts, now)
            if user is not None and user["active"] and user["password_hash"] != attempt.password_hash:
                verified = _verify(user["password_hash"], password)  # changed since the attempt was read
            if user is None or not user["active"]:
                refusal: dict[str, Any] = {"reason": UNKNOWN_ACCOUNT}
                error: Exception = AuthenticationFailed("wrong user name or password")
                if unknown_lock is not None:
                    refusal = {"reason": f"{UNKNOWN_ACCOUNT}; locked", "locked_until": unknown_lock.isoformat()}
                    error = _locked(unknown_lock)
                elif unknown_failures + 1 >= attempts:
                    until = now + dt.timedelta(minutes=minutes)
                    refusal = {"reason": f"{UNKNOWN_ACCOUNT}; locked for {minutes} minutes",
                               "locked_until": until.isoformat()}
                audit.record(conn, actor=name[:64] or "?", action="login.refused", entity_type="user",
                             entity_id=name[:64] or "?", after=refusal, now=now)
            elif user["locked_until"] is not None and user["locked_until"] > now:
                audit.record(conn, actor=name, action="login.refused", entity_type="user", entity_id=name,
                             after={"reason": "locked"}, now=now)
                error = _locked(user["locked_until"])
            elif not verified:
                failed: dict[str, Any] = {"failed_logins": user["failed_logins"] + 1}
                reason = "wrong password"
                if failed["failed_logins"] >= attempts:
                    failed = {"failed_logins": 0, "locked_until": now + dt.timedelta(minutes=minutes)}
                    reason = f"wrong password; locked for {minutes} minutes"
                conn.execute(update(users).where(U.id == user["id"]).values(failed))
                audit.record(conn, actor=name, action="login.refused", entity_type="user", entity_id=name,
                             after={"reason": reason}, now=now)
                error = AuthenticationFailed("wrong user name or password")
            else:
                signed_in: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
                if HASHER.check_needs_rehash(user["password_hash"]):
                    signed_in["password_hash"] = HASHER.hash(password)
                conn.execute(update(users).where(U.id == user["id"]).values(signed_in))
                audit.record(conn, actor=name, action="login", entity_type="user", entity_id=name, now=now)
                return Actor(user["id"], user["username"], Role(user["role"]), user["display_name"])
        raise error

    def reauthenticate(self, actor: Actor, password: str) -> None:
        """Ask for the password again at a moment that matters (signing off)."""
        confirmed = self.authenticate(actor.username, password)
        if confirmed.user_id != actor.user_id:
            raise AuthenticationFailed("wrong user name or password")

    def session_problem(self, actor: Actor) -> str | None:
        """Why a signed-in session may act no more (its account deactivated, its role changed), or None."""
        with self.ctx.connect() as conn:
            row = conn.execute(select(U.active, U.role).where(U.id == actor.user_id)).first()
        if row is None or not row.active:
            return "An administrator deactivated your account, so you have been signed out."
        if row.role != actor.role.value:
            return (f"An administrator changed your role from {actor.role.value} to {row.role}, so you have been "
                    f"signed out. Sign in again to work as a {row.role}.")
        return None

    def must_change_password(self, actor: Actor) -> bool:
        return self.get(actor.username).must_change_password

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        check_password_policy(new_password, actor.username)
        with self.ctx.begin() as conn:
            current_actor(conn, actor)
            user = self._load(conn, actor.username)
            if not _verify(user["password_hash"], old_password):
                raise AuthenticationFailed("the current password is wrong")
            if _verify(user["password_hash"], new_password):
                raise InputRejected(Problem("choose a password different from the current one", field="new password"))
            conn.execute(update(users).where(U.id == user["id"]).values(
                password_hash=HASHER.hash(new_password), must_change_password=False))
            audit.record(conn, actor=actor.username, action="user.change_password", entity_type="user",
                         entity_id=actor.username, now=self.ctx.now())

    def set_certificate(self, admin: Actor, username: str, certificate_pem: str, fingerprint: str) -> None:
        self._admin_update(admin, username, "user.enrol_certificate", lambda _user: {
            "certificate_pem": certificate_pem, "certificate_fingerprint": fingerprint})


def _current_admin(conn: Connection, admin: Actor, what: str) -> Actor:
    return current_actor(conn, admin, may=may_administer, refusal=f"only an administrator may {what}")


def _locked(until: dt.datetime) -> AccountLocked:
    return AccountLocked(f"account locked after repeated failures until {until:%H:%M} UTC; "
                         f"ask an administrator or wait")


def _unknown_name_lockout(conn: Connection, name: str, attempts: int,
                          now: dt.datetime) -> tuple[dt.datetime | None, int]:
    """The lock-out a real account would be under, for a name with no active account.

    Otherwise "account locked" would be shown only for real names, and repeating a wrong
    password would tell which names exist. The state comes from the audit trail's refusals
    of the name (the refusal that locks records until when): returns the end of a lock in
    force, or None and the number of failures since the last lock or success.
    """
    rows = conn.execute(
        select(audit_events.c.action, audit_events.c.after)
        .where(audit_events.c.entity_type == "user", audit_events.c.entity_id == name,
               audit_events.c.action.in_(("login", "login.refused")))
        .order_by(audit_events.c.seq.desc()).limit(max(attempts, 1))).all()
    failures = 0
    for action, after in rows:
        details = _details(after)
        if action != "login.refused" or not str(details.get("reason", "")).startswith(UNKNOWN_ACCOUNT):
            break
        if details.get("locked_until"):
            until = _aware(details["locked_until"])
            return (until if until > now else None), failures
        failures += 1
    return None, failures


def _details(after: str | None) -> dict[str, Any]:
    try:
        details = json.loads(after or "null")
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def _aware(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
