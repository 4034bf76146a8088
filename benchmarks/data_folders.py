"""Where the benchmarks keep their generated data: the user's cache folder, never a fixed path.

Generating 100,000 submissions takes a while, so the folders are kept between runs
(`--data DIR` and friends still choose another place).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs


def bench_folder(name: str) -> Path:
    """`<user cache>/clearance-desk/benchmarks/<name>`, e.g. ~/.cache/clearance-desk/benchmarks/queue."""
    return Path(platformdirs.user_cache_dir("clearance-desk", appauthor=False)) / "benchmarks" / name
