"""Agency settings stored in the database, declared in infra.settings, audited on change.

Core, not the ORM: sign-in reads the lock-out settings before the window paints.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from desktop_app.domain.errors import InputRejected, PermissionDenied, Problem
from desktop_app.domain.permissions import may_administer
from desktop_app.domain.types import Role
from desktop_app.infra import settings as declared
from desktop_app.services import audit
from desktop_app.services.context import Actor, ServiceContext, current_actor
from desktop_app.storage.tables import settings as settings_table
from desktop_app.storage.tables import users as users_table


_T = settings_table.c


ADMIN_ONLY = "only an administrator may change settings"


def read_setting(conn: Connection, key: str) -> Any:
    """A setting's stored value, or its declared default, read in the caller's connection."""
    row = conn.execute(select(_T.value).where(_T.key == key)).first()
    return declared.SPEC_BY_KEY[key].default if row is None else row.value


class SettingsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def get(self, key: str) -> Any:
        with self.ctx.connect() as conn:
            return read_setting(conn, key)

    def all(self) -> dict[str, Any]:
        with self.ctx.connect() as conn:
            stored = dict(conn.execute(select(_T.key, _T.value)).all())
        return {spec.key: stored.get(spec.key, spec.default) for spec in declared.SPECS}

    def set(self, actor: Actor, key: str, value: Any) -> None:
        self._require_admin(actor, key)
        try:
            value = declared.validate(key, value)
        except ValueError as error:
            raise InputRejected(Problem(str(error), field=key)) from None
        now = self.ctx.now()
        with self.ctx.begin() as conn:
            current_actor(conn, actor, may=may_administer, refusal=ADMIN_ONLY)
            row = conn.execute(select(_T.value).where(_T.key == key)).first()
            before = declared.SPEC_BY_KEY[key].default if row is None else row.value
            if row is None:
                conn.execute(insert(settings_table).values(key=key, value=value, updated_at=now))
            else:
                conn.execute(update(settings_table).where(_T.key == key).values(value=value, updated_at=now))
            audit.record(conn, actor=actor.username, action="setting.change", entity_type="setting",
                         entity_id=key, before={"value": before}, after={"value": value}, now=self.ctx.now())

    def _require_admin(self, actor: Actor, key: str) -> None:
        self.ctx.require(actor, may_administer, ADMIN_ONLY, attempted=f"change setting {key}",
                         entity_type="setting", entity_id=key)

    def set_many(self, actor: Actor, values: dict[str, Any]) -> list[str]:
        """Save several settings in one transaction, each audited; returns the keys that changed.

        Every value is validated first (all problems at once, each naming its key) and the
        acting user's role and active flag are re-read inside the transaction: either all
        changes are kept or none.
        """
        problems: list[Problem] = []
        checked: dict[str, Any] = {}
        for key, value in values.items():
            try:
                checked[key] = declared.validate(key, value)
            except ValueError as error:
                problems.append(Problem(str(error), field=key))
        if problems:
            raise InputRejected(problems, subject="settings")
        now = self.ctx.now()
        changed: list[str] = []
        with self.ctx.begin() as conn:
            user = conn.execute(select(users_table.c.role, users_table.c.active)
                                .where(users_table.c.id == actor.user_id)).first()
            if user is None or not user.active or Role(user.role) is not Role.ADMIN:
                refused = True
            else:
                refused = False
                for key, value in checked.items():
                    row = conn.execute(select(_T.value).where(_T.key == key)).first()
                    before = declared.SPEC_BY_KEY[key].default if row is None else row.value
                    if row is not None and row.value == value:
                        continue
                    if row is None:
                        conn.execute(insert(settings_table).values(key=key, value=value, updated_at=now))
                    else:
                        conn.execute(update(settings_table).where(_T.key == key).values(value=value, updated_at=now))
                    audit.record(conn, actor=actor.username, action="setting.change", entity_type="setting",
                                 entity_id=key, before={"value": before}, after={"value": value}, now=now)
                    changed.append(key)
        if refused:
            reason = "only an active administrator may change settings"
            audit.record_refusal(self.ctx, actor=actor.username, attempted="change settings",
                                 entity_type="setting", entity_id=", ".join(checked)[:200], reason=reason)
            raise PermissionDenied(reason)
        return changed

    # -- the letterhead logo (stored in the blob store; the setting holds its digest) ---------
    LOGO_MAX_BYTES = 2 * 1024 * 1024

    def logo(self) -> bytes | None:
        digest = str(self.get("agency_logo_blob") or "")
        if not digest or not self.ctx.blobs.exists(digest):
            return None
        return self.ctx.blobs.read_bytes(digest)

    def set_logo(self, actor: Actor, image: bytes | None) -> str:
        """Store a PNG or JPEG as the letterhead logo (None removes it); audited like any setting."""
        key = "agency_logo_blob"
        self._require_admin(actor, key)
        if image is None:
            self.set(actor, key, "")
            return ""
        if not (image.startswith(b"\x89PNG\r\n\x1a\n") or image.startswith(b"\xff\xd8\xff")):
            raise InputRejected(Problem("must be a PNG or JPEG image", field="agency logo"))
        if len(image) > self.LOGO_MAX_BYTES:
            raise InputRejected(Problem(f"must be at most {self.LOGO_MAX_BYTES // (1024 * 1024)} MiB",
                                        field="agency logo"))
        digest = self.ctx.blobs.put_bytes(image)
        self.set(actor, key, digest)
        return digest
