"""Agency settings stored in the database, declared in infra.settings, audited on change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, PermissionDenied, Problem
from desktop_app.domain.types import Role
from desktop_app.infra import settings as declared
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.storage.models import Setting


class SettingsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def get(self, key: str) -> Any:
        spec = declared.SPEC_BY_KEY[key]
        with self.ctx.reading() as session:
            row = session.get(Setting, key)
            return spec.default if row is None else row.value

    def all(self) -> dict[str, Any]:
        with self.ctx.reading() as session:
            stored = {row.key: row.value for row in session.scalars(select(Setting))}
        return {spec.key: stored.get(spec.key, spec.default) for spec in declared.SPECS}

    def set(self, actor: Actor, key: str, value: Any) -> None:
        if actor.role is not Role.ADMIN:
            reason = "only an administrator may change settings"
            audit.record_refusal(self.ctx, actor=actor.username, attempted=f"change setting {key}",
                                 entity_type="setting", entity_id=key, reason=reason)
            raise PermissionDenied(reason)
        try:
            value = declared.validate(key, value)
        except ValueError as error:
            raise InputRejected(Problem(str(error), field=key)) from None
        with self.ctx.transaction() as session:
            row = session.get(Setting, key)
            before = declared.SPEC_BY_KEY[key].default if row is None else row.value
            if row is None:
                session.add(Setting(key=key, value=value, updated_at=self.ctx.now()))
            else:
                row.value = value
                row.updated_at = self.ctx.now()
            audit.record(session, actor=actor.username, action="setting.change", entity_type="setting",
                         entity_id=key, before={"value": before}, after={"value": value}, now=self.ctx.now())
