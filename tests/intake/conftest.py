"""Fixtures for the package reader tests: a blob store with a blob already in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .builders import Importer


@pytest.fixture
def importer(tmp_path: Path) -> Importer:
    return Importer(tmp_path / "blobs")
