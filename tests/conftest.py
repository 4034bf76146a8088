"""Suite-wide fixtures: every folder the app writes points at tmp_path; Qt runs offscreen.

GUI tests (those using qtbot) are marked `gui` automatically, so `pytest -m "not gui"`
gives fast feedback without widgets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("CLEARANCE_DESK_DATA_DIR", None)
os.environ.pop("CLEARANCE_DESK_DB_URL", None)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user folders: HOME and XDG dirs live under tmp."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("CLEARANCE_DESK_PASSWORD", raising=False)


@pytest.fixture
def samples_dir() -> Path:
    """The shared sample packages (../shared/samples), or tests/data/samples in a bundle."""
    for candidate in (SHARED / "samples", Path(__file__).parent / "data" / "samples"):
        if candidate.is_dir():
            return candidate
    pytest.skip("sample packages not available")
