"""Benchmark: importing a package with a 1 GiB artifact against a floor measured in the same run.

The floor is what any import must at least do, done by the fastest tools at hand, one
after the other: `openssl dgst -sha256 FILE` (hashing at OpenSSL speed) plus
`cp FILE DEST && sync` (a copy onto the same file system, flushed to disk). The import
(read_and_stage + promote: hash while copying into the blob store's staging area, fsync,
rename) should take at most 1.0x the floor, since it reads the file once instead of
twice. Its peak memory is measured in a child process as the growth of VmHWM (peak
resident set) from the idle, fully imported process to after the import: target under
150 MiB. Run from the repository root:

    .venv/bin/python benchmarks/bench_import.py [--size-mib 1024] [--rounds 5]

This is a benchmark, not a test: it prints figures and exits 0 unless something broke.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_folders import bench_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORK = bench_folder("import")
TARGET_RATIO = 1.0
TARGET_RSS_MIB = 150

CHILD = r"""
import json, sys, time
from pathlib import Path

def high_water_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")

from desktop_app.services.packages import read_and_stage
from desktop_app.storage import blobstore
from desktop_app.storage.blobstore import BlobStore

package, blobs, chunk = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
if chunk:
    blobstore.CHUNK_SIZE = chunk
store = BlobStore(blobs)
idle = high_water_kib()
started = time.perf_counter()
with store.staging() as area:
    result = read_and_stage(package, area)
    area.promote()
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "rss_increase_kib": high_water_kib() - idle,
                  "sha256": result.artifacts[0].sha256, "chunk": blobstore.CHUNK_SIZE}))
"""


def make_package(folder: Path, size: int) -> str:
    """A package folder with one artifact of `size` random bytes; returns its SHA-256."""
    weights = folder / "weights"
    weights.mkdir(parents=True)
    digest = hashlib.sha256()
    block = 8 * 1024 * 1024
    with (weights / "shard-00001.bin").open("wb") as out:
        for written in range(0, size, block):
            data = os.urandom(min(block, size - written))
            digest.update(data)
            out.write(data)
    manifest = {
        "format": "clearance-desk/submission-v1",
        "package_id": "BENCH-1",
        "submitted_at": "2026-11-18T15:04:00Z",
        "developer": {"name": "Bench", "contact": {"name": "Bench", "email": "bench@example.org"}},
        "model": {"name": "Bench", "version": "1", "intended_release": "2026-12-15"},
        "artifacts": [{"path": "weights/shard-00001.bin", "kind": "weights", "sha256": digest.hexdigest(), "bytes": size}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return digest.hexdigest()


def run_floor(artifact: Path, copy: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", str(artifact)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(f'cp "{artifact}" "{copy}" && sync', shell=True, check=True)
    return time.perf_counter() - started


def run_import(package: Path, blobs: Path, chunk: int, expected: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(package), str(blobs), str(chunk)],
        check=True, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    result: dict[str, Any] = json.loads(done.stdout)
    if result["sha256"] != expected:
        raise SystemExit("the import produced a different digest")
    return result


def settle(*paths: Path) -> None:
    """Remove the previous round's output and flush, so no round pays for another's writeback."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    subprocess.run(["sync"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5, help="alternating floor/import rounds (a shared VM is noisy)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="scratch folder on the blob store's file system")
    parser.add_argument("--chunk-mib", type=int, default=0, help="override blobstore.CHUNK_SIZE (0: keep it)")
    options = parser.parse_args()

    work = options.work
    if work.exists():
        shutil.rmtree(work)
    package, blobs, copy = work / "package", work / "blobs", work / "copy.bin"
    try:
        print(f"making a {options.size_mib} MiB artifact in {work} …", flush=True)
        expected = make_package(package, options.size_mib * 1024 * 1024)
        artifact = package / "weights" / "shard-00001.bin"
        run_floor(artifact, copy)  # warm the page cache the same way for both sides
        floors, imports, rss = [], [], []
        for round_number in range(1, options.rounds + 1):
            settle(copy, blobs)
            floors.append(run_floor(artifact, copy))
            settle(copy, blobs)
            result = run_import(package, blobs, options.chunk_mib * 1024 * 1024, expected)
            imports.append(result["seconds"])
            rss.append(result["rss_increase_kib"] / 1024)
            print(f"round {round_number}: floor {floors[-1]:.3f} s, import {imports[-1]:.3f} s, "
                  f"peak RSS +{rss[-1]:.1f} MiB (chunk {result['chunk'] // 1024 // 1024} MiB)", flush=True)
        floor, imported = statistics.median(floors), statistics.median(imports)
        ratio = imported / floor
        print(f"floor (openssl dgst -sha256 + cp && sync): median {floor:.3f} s, best {min(floors):.3f} s")
        print(f"import (read_and_stage + promote):        median {imported:.3f} s, best {min(imports):.3f} s")
        print(f"ratio of medians: {ratio:.2f}x (target <= {TARGET_RATIO:.1f}x) {'OK' if ratio <= TARGET_RATIO else 'OVER'}; "
              f"ratio of bests: {min(imports) / min(floors):.2f}x")
        print(f"peak RSS increase: {max(rss):.1f} MiB (target < {TARGET_RSS_MIB} MiB) "
              f"{'OK' if max(rss) < TARGET_RSS_MIB else 'OVER'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
