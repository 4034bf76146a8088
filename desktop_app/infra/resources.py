"""One locator for shipped resources (taxonomy, fonts, icons, templates).

It works from a source checkout (`resources/` beside the package), an installed wheel
(`desktop_app/resources/`) and a PyInstaller bundle (`sys._MEIPASS/resources`), and
refuses any name that would escape the resource folder.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@functools.cache
def resource_root() -> Path:
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates += [_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"]
    for candidate in candidates:
        if (candidate / "taxonomy.json").is_file():
            return candidate
    raise FileNotFoundError("Clearance Desk resources not found; the installation is incomplete")


def resource_path(name: str) -> Path:
    """The path of a shipped resource, given as a relative POSIX name."""
    parts = PurePosixPath(name)
    if parts.is_absolute() or ".." in parts.parts or "\\" in name or not name:
        raise ValueError(f"invalid resource name: {name!r}")
    path = resource_root() / parts
    if not path.is_file():
        raise FileNotFoundError(f"resource not found: {name}")
    return path


def read_text(name: str) -> str:
    return resource_path(name).read_text(encoding="utf-8")


def read_json(name: str) -> Any:
    return json.loads(read_text(name))
