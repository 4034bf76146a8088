"""Settings are saved together in one transaction, or not at all; the acting admin is re-read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, PermissionDenied
from desktop_app.services.settings import SettingsService
from desktop_app.services.users import UserService
from desktop_app.storage.models import AuditEvent


def changes(ctx) -> list[str]:  # noqa: ANN001
    with ctx.reading() as session:
        return list(session.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "setting.change")))


def test_several_settings_are_one_transaction(ctx, people) -> None:  # noqa: ANN001
    settings = SettingsService(ctx)
    saved = settings.set_many(people["admin"], {"agency_name": "Office of Model Review", "review_window_days": 45})
    assert sorted(saved) == ["agency_name", "review_window_days"] and sorted(changes(ctx)) == sorted(saved)
    assert settings.set_many(people["admin"], {"review_window_days": 45}) == []  # unchanged: nothing written

    with pytest.raises(InputRejected) as rejected:
        settings.set_many(people["admin"], {"agency_name": "Another office", "review_window_days": 999})
    assert [p.field for p in rejected.value.problems] == ["review_window_days"]
    assert settings.get("agency_name") == "Office of Model Review"  # the valid one was not saved either


def test_settings_need_an_active_admin_as_stored_now(ctx, people) -> None:  # noqa: ANN001
    settings = SettingsService(ctx)
    with pytest.raises(PermissionDenied):
        settings.set_many(people["sup"], {"agency_name": "Not mine"})
    admin = people["admin"]
    UserService(ctx).create_user(admin, "admin2", "Second Admin", admin.role, "correct horse battery staple 7",
                                 must_change_password=False)
    second = UserService(ctx).authenticate("admin2", "correct horse battery staple 7")
    UserService(ctx).deactivate(admin, "admin2")
    with pytest.raises(PermissionDenied):
        settings.set_many(second, {"agency_name": "Deactivated meanwhile"})
    assert changes(ctx) == [] and settings.get("agency_name") != "Deactivated meanwhile"
