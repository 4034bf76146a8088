"""Sizes as people read them (artifacts, import progress, backups share one formatter)."""

from __future__ import annotations

import pytest

from desktop_app.domain.units import human_size


@pytest.mark.parametrize("size, text", [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"),
                                        (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB"), (3 * 1024**5, "3072.0 TiB")])
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text
