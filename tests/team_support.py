"""The colleagues most tests work with: the first administrator and named reviewers and supervisors."""

from __future__ import annotations

from desktop_app.domain.types import Role
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.users import UserService

PASSWORD = "correct horse battery staple 7"
TEAM = {"rev": ("Riley Reviewer", Role.REVIEWER), "rev2": ("Jo Reviewer", Role.REVIEWER),
        "sup": ("Dana Supervisor", Role.SUPERVISOR), "sup2": ("Sam Supervisor", Role.SUPERVISOR)}


def add_team(ctx: ServiceContext, names: tuple[str, ...] = tuple(TEAM), *, password: str = PASSWORD) -> Actor:
    """Create "admin" (Ada Admin) and the named colleagues, no password change due; returns the admin, signed in."""
    users = UserService(ctx)
    users.create_first_admin("admin", "Ada Admin", password)
    admin = users.authenticate("admin", password)
    for name in names:
        full, role = TEAM[name]
        users.create_user(admin, name, full, role, password, must_change_password=False)
    return admin
