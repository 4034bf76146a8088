"""Amounts as people read them."""

from __future__ import annotations


def human_size(size: int) -> str:
    """Bytes in binary units: "512 bytes", "1.5 KiB", "2.0 GiB"."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover - the loop returns at TiB
