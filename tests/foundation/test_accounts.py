"""Password hashing, policy, lock-out (with a fake clock), roles and deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desktop_app.domain.errors import AccountLocked, AuthenticationFailed, InputRejected, PermissionDenied
from desktop_app.domain.passwords import policy_problems
from desktop_app.domain.types import Role
from desktop_app.services.users import UserService
from desktop_app.storage.models import AuditEvent, User

from conftest import PASSWORD


def test_passwords_are_stored_as_argon2id(ctx, people) -> None:  # noqa: ANN001
    with ctx.reading() as session:
        hashes = list(session.scalars(select(User.password_hash)))
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all("m=19456,t=2,p=1" in h for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


@pytest.mark.parametrize("password, fragment", [
    ("short", "at least 12"),
    ("password1234", "too common"),
    ("correct horse battery staple", "too common"),
    ("aaaaaaaaaaaaaaa", "distinct"),
    ("my name is rev and more", "user name"),
])
def test_policy_refuses_short_common_and_personal_passwords(password: str, fragment: str) -> None:
    from desktop_app.services.users import _blocklist

    problems = policy_problems(password, username="rev", blocklist=_blocklist())
    assert any(fragment in p for p in problems), problems


def test_policy_accepts_long_passphrases() -> None:
    from desktop_app.services.users import _blocklist

    assert policy_problems("the quiet heron fishes at dawn", username="rev", blocklist=_blocklist()) == []
    assert policy_problems("Ünïcödé pässphrase ok", blocklist=_blocklist()) == []


def test_create_user_refuses_weak_password_and_writes_nothing(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    before = len(users.list_users())
    with pytest.raises(InputRejected) as error:
        users.create_user(people["admin"], "newbie", "New Person", Role.REVIEWER, "short")
    assert any(p.field == "password" for p in error.value.problems)
    assert len(users.list_users()) == before


def test_user_names_are_unique_and_never_reused(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    users.deactivate(people["admin"], "rev2")
    with pytest.raises(InputRejected, match="never reused"):
        users.create_user(people["admin"], "rev2", "Someone Else", Role.REVIEWER, PASSWORD)


def test_lockout_after_five_failures_for_fifteen_minutes(ctx, people, clock) -> None:  # noqa: ANN001
    users = UserService(ctx)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            users.authenticate("rev", "wrong password!!")
    with pytest.raises(AccountLocked):
        users.authenticate("rev", PASSWORD)  # even the right password is refused while locked
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(AccountLocked):
        users.authenticate("rev", PASSWORD)
    clock.advance(seconds=2)
    assert users.authenticate("rev", PASSWORD).username == "rev"


def test_a_success_resets_the_failure_count(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            users.authenticate("rev", "wrong password!!")
    users.authenticate("rev", PASSWORD)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            users.authenticate("rev", "wrong password!!")
    assert users.authenticate("rev", PASSWORD).username == "rev"


def test_refused_logins_are_audited_without_the_password(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    with pytest.raises(AuthenticationFailed):
        users.authenticate("rev", "a wrong secret value")
    with pytest.raises(AuthenticationFailed):
        users.authenticate("nobody", "another secret value")
    with ctx.reading() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "login.refused")))
    assert {e.entity_id for e in events} == {"rev", "nobody"}
    assert all("secret" not in (e.after or "") for e in events)


def test_deactivated_users_cannot_sign_in(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    users.deactivate(people["admin"], "rev")
    with pytest.raises(AuthenticationFailed):
        users.authenticate("rev", PASSWORD)
    assert any(u.username == "rev" and not u.active for u in users.list_users())  # kept, not deleted


def test_only_admins_manage_accounts_and_refusals_are_audited(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    with pytest.raises(PermissionDenied):
        users.create_user(people["sup"], "intruder", "In Truder", Role.ADMIN, PASSWORD)
    with ctx.reading() as session:
        refusal = session.scalar(select(AuditEvent).where(AuditEvent.action == "permission.refused"))
    assert refusal is not None and refusal.actor == "sup"
    assert all(u.username != "intruder" for u in users.list_users())


def test_reset_password_forces_a_change_at_next_sign_in(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    users.reset_password(people["admin"], "rev", "temporary passphrase 42")
    actor = users.authenticate("rev", "temporary passphrase 42")
    assert users.must_change_password(actor)
    users.change_password(actor, "temporary passphrase 42", "my own new passphrase")
    assert not users.must_change_password(actor)
    users.authenticate("rev", "my own new passphrase")


def test_first_admin_only_once(ctx, people) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        UserService(ctx).create_first_admin("admin2", "Second", PASSWORD)


# -- signing in in steps: read, argon2 (no lock held, any thread), record -------------------

def test_the_password_check_holds_no_write_lock(ctx, people) -> None:  # noqa: ANN001
    from sqlalchemy import event

    users = UserService(ctx)
    begun: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", note)
    try:
        attempt = users.sign_in_attempt("rev")
        assert attempt.verify(PASSWORD) and not attempt.verify("wrong password!!")
        assert begun == []  # reading the account and hashing took no write lock
        users.record_sign_in(attempt, PASSWORD, True)
        assert len(begun) == 1  # only recording the outcome did
    finally:
        event.remove(ctx.engine, "before_cursor_execute", note)


def test_a_lock_out_made_during_the_check_wins(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    attempt = users.sign_in_attempt("rev")
    verified = attempt.verify(PASSWORD)
    for _ in range(5):  # another workstation locks the account while argon2 runs here
        with pytest.raises(AuthenticationFailed):
            users.authenticate("rev", "wrong password!!")
    with pytest.raises(AccountLocked):
        users.record_sign_in(attempt, PASSWORD, verified)


def test_a_password_changed_during_the_check_is_checked_again(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    attempt = users.sign_in_attempt("rev")
    verified = attempt.verify(PASSWORD)
    users.reset_password(people["admin"], "rev", "a brand new temporary passphrase")
    with pytest.raises(AuthenticationFailed):
        users.record_sign_in(attempt, PASSWORD, verified)  # the old password no longer opens it
    fresh = users.sign_in_attempt("rev")
    assert users.record_sign_in(fresh, "a brand new temporary passphrase", True).username == "rev"


def test_an_unknown_name_costs_a_full_password_check(ctx, people, monkeypatch) -> None:  # noqa: ANN001
    """So the time a refusal takes does not tell which user names exist."""
    from desktop_app.services import users as users_module

    checked: list[str] = []
    real = users_module._verify
    monkeypatch.setattr(users_module, "_verify", lambda stored, password: checked.append(stored) or real(stored, password))
    users = UserService(ctx)
    for name in ("nobody-here", "rev"):
        with pytest.raises(AuthenticationFailed):
            users.authenticate(name, "wrong password!!")
    assert len(checked) == 2 and all(h.startswith("$argon2id$") for h in checked)


# -- account names cannot be enumerated (issue 14, item 9) ------------------------------------

@pytest.mark.parametrize("name", ["rev", "nobody-here", "rev2-deactivated"])
def test_repeated_failures_answer_the_same_for_real_and_unknown_names(ctx, people, clock, name) -> None:  # noqa: ANN001
    """An outsider repeating a wrong password sees "account locked" whether or not the name exists."""
    users = UserService(ctx)
    if name == "rev2-deactivated":
        users.deactivate(people["admin"], "rev2")
        name = "rev2"
    answers = []
    for _ in range(7):
        with pytest.raises((AuthenticationFailed, AccountLocked)) as caught:
            users.authenticate(name, "wrong password!!")
        answers.append(f"{type(caught.value).__name__}: {caught.value}")
    assert answers == ["AuthenticationFailed: wrong user name or password"] * 5 + [
        "AccountLocked: account locked after repeated failures until 15:15 UTC; ask an administrator or wait"] * 2
    clock.advance(minutes=15, seconds=1)
    with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        users.authenticate(name, "wrong password!!")


def test_a_first_sign_in_costs_one_password_check_for_any_name(tmp_path, ctx, people) -> None:  # noqa: ANN001
    """In a fresh process, the first unknown name must not pay for hashing a stand-in (~25 ms more)."""
    import subprocess
    import sys

    probe = (
        "import sys, argon2.low_level as low\n"
        "from desktop_app.services.context import open_data_folder\n"
        "from desktop_app.services.users import UserService\n"
        "calls = []\n"
        "for fn in ('hash_secret', 'verify_secret'):\n"
        "    real = getattr(low, fn)\n"
        "    setattr(low, fn, lambda *a, _r=real, _n=fn, **k: calls.append(_n) or _r(*a, **k))\n"
        "import argon2._password_hasher as ph\n"
        "ph.hash_secret, ph.verify_secret = low.hash_secret, low.verify_secret\n"
        "ctx = open_data_folder(sys.argv[1])\n"
        "try:\n"
        "    UserService(ctx).authenticate(sys.argv[2], 'wrong password!!')\n"
        "except Exception:\n"
        "    pass\n"
        "print(','.join(calls))\n"
    )
    ctx.close()
    costs = {}
    for name in ("rev", "nobody-here"):
        out = subprocess.run([sys.executable, "-c", probe, str(ctx.paths.root), name], capture_output=True,
                             text=True, timeout=120, check=True)
        costs[name] = out.stdout.strip()
    assert costs == {"rev": "verify_secret", "nobody-here": "verify_secret"}
    from desktop_app.services.users import HASHER, STAND_IN_HASH

    assert not HASHER.check_needs_rehash(STAND_IN_HASH)  # same parameters, so the same cost as a real hash
