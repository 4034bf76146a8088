"""Packaging and layering: version, entry points, import-linter contracts, Qt-free core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import desktop_app

ROOT = Path(__file__).resolve().parents[2]


def test_version_flag_prints_the_package_version() -> None:
    out = subprocess.run([sys.executable, "-m", "desktop_app", "--version"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == f"Clearance Desk {desktop_app.__version__}"


def test_python_is_312_or_newer() -> None:
    assert sys.version_info >= (3, 12)


def test_resources_are_found_through_the_locator() -> None:
    from desktop_app.infra.resources import read_json, resource_path

    assert read_json("taxonomy.json")["categories"]
    assert resource_path("fonts/DejaVuSans.ttf").stat().st_size > 100_000
    assert resource_path("schemas/submission-manifest-v1.schema.json").is_file()
    for bad in ("../pyproject.toml", "/etc/passwd", "icons\\app.svg", ""):
        with pytest.raises(ValueError):
            resource_path(bad)


def test_domain_and_services_import_without_qt() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6'):\n"
        "            raise ImportError('Qt is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import desktop_app.domain.types, desktop_app.domain.workflow, desktop_app.domain.clock\n"
        "import desktop_app.services.bundle, desktop_app.services.intake, desktop_app.services.demo\n"
        "import desktop_app.cli\n"
        "assert not any(m.startswith('PySide6') for m in sys.modules)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail("import-linter is not installed (it is part of the test extra)")
    out = subprocess.run([str(lint)], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower() or "0 broken" in out.stdout.lower()
