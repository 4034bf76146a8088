"""A session keeps no power its account has lost (issue 14, item 4).

Each test signs someone in, lets an administrator deactivate or demote them in another
session, and then uses the first session's stale Actor as an outsider holding an open
window would: nothing is changed, and the refusal is audited.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.domain.errors import AccountInactive, PermissionDenied
from desktop_app.domain.types import Role
from desktop_app.services.intake import IntakeService
from desktop_app.services.settings import SettingsService
from desktop_app.services.users import UserService
from desktop_app.storage.models import AuditEvent, Submission

from conftest import PASSWORD


def _refusals(ctx, actor: str) -> list[str]:  # noqa: ANN001
    with ctx.reading() as session:
        return list(session.scalars(select(AuditEvent.after).where(AuditEvent.action == "permission.refused",
                                                                   AuditEvent.actor == actor)))


def test_a_deactivated_admin_cannot_create_an_admin_or_reactivate_itself(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    users.create_user(people["admin"], "admin2", "Second Admin", Role.ADMIN, PASSWORD, must_change_password=False)
    second = users.authenticate("admin2", PASSWORD)
    users.deactivate(second, "admin")
    stale = people["admin"]
    with pytest.raises(AccountInactive, match="no longer active"):
        users.create_user(stale, "mole", "Mole", Role.ADMIN, PASSWORD)
    with pytest.raises(AccountInactive):
        users.reactivate(stale, "admin")
    with pytest.raises(AccountInactive):
        users.set_role(stale, "rev", Role.SUPERVISOR)
    with pytest.raises(AccountInactive):
        SettingsService(ctx).set(stale, "review_window_days", 90)
    assert "mole" not in {u.username for u in users.list_users()}
    assert not users.get("admin").active and users.get("rev").role is Role.REVIEWER
    assert SettingsService(ctx).get("review_window_days") != 90
    assert len(_refusals(ctx, "admin")) == 4


def test_a_demoted_admin_cannot_manage_accounts(ctx, people) -> None:  # noqa: ANN001
    users = UserService(ctx)
    users.create_user(people["admin"], "admin2", "Second Admin", Role.ADMIN, PASSWORD, must_change_password=False)
    users.set_role(users.authenticate("admin2", PASSWORD), "admin", Role.REVIEWER)
    with pytest.raises(PermissionDenied, match="only an administrator"):
        users.reset_password(people["admin"], "rev", "a brand new temporary passphrase")
    users.authenticate("rev", PASSWORD)  # unchanged


def test_a_deactivated_reviewer_cannot_import(ctx, people, samples_dir: Path) -> None:  # noqa: ANN001
    UserService(ctx).deactivate(people["admin"], "rev")
    with pytest.raises(AccountInactive):
        IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    with ctx.reading() as session:
        assert session.scalar(select(func.count(Submission.id))) == 0
    assert _refusals(ctx, "rev")


def test_a_reviewer_deactivated_while_the_package_is_read_imports_nothing(ctx, people, samples_dir: Path) -> None:  # noqa: ANN001
    """The check before hashing is not enough: the import's own transaction reads the account again."""
    deactivated: list[bool] = []

    def deactivate_meanwhile(_progress: object) -> None:
        if not deactivated:
            deactivated.append(True)
            UserService(ctx).deactivate(people["admin"], "rev")

    with pytest.raises(AccountInactive):
        IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1",
                                          progress=deactivate_meanwhile)
    assert deactivated
    with ctx.reading() as session:
        assert session.scalar(select(func.count(Submission.id))) == 0


def test_a_supervisor_made_administrator_can_no_longer_assign(ctx, people) -> None:  # noqa: ANN001
    """Bulk assignment re-reads the role too: administrators review nothing."""
    from desktop_app.services.queue import QueueService

    UserService(ctx).set_role(people["admin"], "sup", Role.ADMIN)
    with pytest.raises(PermissionDenied):
        QueueService(ctx).bulk_assign(people["sup"], [], people["rev"].user_id)
