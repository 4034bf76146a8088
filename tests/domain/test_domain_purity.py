"""The domain layer imports only the standard library and itself: no Qt, no database, no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from desktop_app.domain import permissions
from desktop_app.domain.errors import PermissionDenied
from desktop_app.domain.types import Role

DOMAIN = Path(__file__).resolve().parents[2] / "desktop_app" / "domain"
IO_NAMES = {"open", "socket", "subprocess", "pathlib", "os", "shutil", "sqlite3", "urllib", "http", "logging"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_only_stdlib_and_domain(path: Path) -> None:
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert name.startswith("desktop_app.domain") or top in sys.stdlib_module_names, f"{path.name}: {name}"
        assert top not in IO_NAMES, f"{path.name} does I/O through {name}"


def test_role_checks() -> None:
    reviewer, supervisor, admin = (permissions.Actor(n, f"user{n}", role) for n, role in enumerate(Role, start=1))
    permissions.require_reviewer(reviewer)
    permissions.require_supervisor(supervisor)
    permissions.require_admin(admin)
    with pytest.raises(PermissionDenied, match="Only a supervisor can sign letters"):
        permissions.require_supervisor(reviewer, "sign letters")
    with pytest.raises(PermissionDenied, match="Administrators manage accounts"):
        permissions.require_reviewer(admin)
    with pytest.raises(PermissionDenied, match="Only an administrator can change settings"):
        permissions.require_admin(supervisor, "change settings")
