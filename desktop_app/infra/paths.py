"""Where the data folder is, and the fixed layout inside it.

The folder is the platform user-data folder unless `--data-dir` or
`CLEARANCE_DESK_DATA_DIR` says otherwise. Nothing here creates files at import.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from desktop_app import APP_NAME

DATA_DIR_ENV = "CLEARANCE_DESK_DATA_DIR"
DB_URL_ENV = "CLEARANCE_DESK_DB_URL"


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def default_data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when no folder was given: ~7 ms of start-up otherwise

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class DataPaths:
    """The layout of one data folder."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "clearance-desk.sqlite3"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def demo_pki(self) -> Path:
        return self.root / "demo-pki"

    def sqlite_url(self) -> str:
        return f"sqlite:///{self.database}"

    def ensure(self) -> DataPaths:
        for folder in (self.root, self.blobs, self.backups, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self
