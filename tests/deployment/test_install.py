"""Installation from a wheel (the offline wheelhouse path): the wheel must carry every package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_lists_every_package_and_the_resources() -> None:
    """setuptools cannot discover `resources/` as desktop_app.resources, so the list is explicit; keep it whole."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "desktop_app").rglob("__init__.py")}
    assert on_disk - listed == set(), "packages missing from pyproject.toml [tool.setuptools] packages"
    assert "desktop_app.resources" in listed and config["package-dir"]["desktop_app.resources"] == "resources"
    assert (ROOT / "resources" / "taxonomy.json").is_file()
    assert "**/*" in config["package-data"]["desktop_app.resources"]
