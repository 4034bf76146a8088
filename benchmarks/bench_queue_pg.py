"""Benchmark: the queue benchmark on SQLite and on PostgreSQL, figures side by side.

The measurements are bench_queue.py's own (its `interact` workload: keystrokes and
filter changes, sorts by every column both ways, jumps, opening details, peak memory,
GUI-thread lateness; and the cold start of `--smoke-test` to the first painted page),
run once on the SQLite data folder and once on a PostgreSQL database holding a queue
generated the same way (`clearance-desk --db-url URL demo --submissions 100000`, made
once into --pg-data / the database if it is empty). The targets are the queue issue's.

    .venv/bin/python benchmarks/bench_queue_pg.py [--data DIR] [--pg-data DIR] [--db-url URL] [--rounds N]

The default URL is the throw-away cluster of scripts/pg-test-cluster.sh (start it
first). Prints the table; exits 0 when both databases meet every target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_queue as bench  # noqa: E402

DEFAULT_PG_DATA = bench.bench_folder("queue-pg")
DEFAULT_URL = "postgresql+psycopg://clearance@127.0.0.1:54329/bench"


def child_interact(folder: Path, url: str | None, seed: int) -> dict[str, object]:
    """bench_queue.interact, with the window's services opened on `url` when one is given."""
    if url:
        from desktop_app.services import bundle

        opened = bundle.Services.open.__func__  # type: ignore[attr-defined]
        bundle.Services.open = classmethod(  # type: ignore[method-assign, assignment]
            lambda cls, data_dir, **kwargs: opened(cls, data_dir, db_url=url, **kwargs))
    return bench.interact(folder, seed)


def ensure_pg_data(folder: Path, url: str) -> float | None:
    """Generate the PostgreSQL queue once; the seconds it took, or None when it was there."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM submissions")).scalar()
    except DBAPIError:
        count = 0
    finally:
        engine.dispose()
    if count and count >= bench.SUBMISSIONS:
        return None
    print(f"generating {bench.SUBMISSIONS:,} submissions into {url} (once) …", flush=True)
    started = time.perf_counter()
    subprocess.run([*bench.APP, "--data-dir", str(folder), "--db-url", url, "demo", "--submissions",
                    str(bench.SUBMISSIONS)], check=True, env=bench.env(), cwd=bench.REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def cold_start(folder: Path, url: str | None, rounds: int) -> float:
    """Median ms from start to the first painted queue page, the entry-module import included."""
    times, entries = [], []
    for round_number in range(rounds + 1):  # the first round only warms the caches
        command = [*bench.APP, "--data-dir", str(folder), *(["--db-url", url] if url else []), "--smoke-test",
                   "--user", "reviewer"]
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=bench.env(),
                             cwd=bench.REPO).stdout
        painted = float(re.search(r"first queue page painted in (\d+) ms", out).group(1))  # type: ignore[union-attr]
        entry = float(subprocess.run(
            [bench.PYTHON, "-c", "import time; t = time.perf_counter(); import desktop_app.app; "
             "print((time.perf_counter() - t) * 1000)"], check=True, capture_output=True, text=True,
            env=bench.env(), cwd=bench.REPO).stdout)
        if round_number:
            times.append(painted + entry)
            entries.append(entry)
    return statistics.median(times)


def measure(folder: Path, url: str | None, rounds: int, seed: int) -> dict[str, object]:
    result: dict[str, object] = {"cold_start": cold_start(folder, url, rounds)}
    command = [bench.PYTHON, __file__, "--child", "--data", str(folder), "--seed", str(seed),
               *(["--child-url", url] if url else [])]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=bench.env(), cwd=bench.REPO)
    result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=bench.DEFAULT_DATA, help="SQLite data folder")
    parser.add_argument("--pg-data", type=Path, default=DEFAULT_PG_DATA, help="data folder used with PostgreSQL")
    parser.add_argument("--db-url", default=DEFAULT_URL, help=f"PostgreSQL URL (default {DEFAULT_URL})")
    parser.add_argument("--rounds", type=int, default=5, help="cold-start rounds (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-url", default="", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child_interact(options.data, options.child_url or None, options.seed)))
        return 0

    bench.compile_sources()
    made = bench.ensure_data(options.data, False)
    if made is not None:
        print(f"SQLite: demo --submissions {bench.SUBMISSIONS}: {made:.1f} s")
    made = ensure_pg_data(options.pg_data, options.db_url)
    if made is not None:
        print(f"PostgreSQL: demo --submissions {bench.SUBMISSIONS}: {made:.1f} s")
    sqlite = measure(options.data, None, options.rounds, options.seed)
    postgres = measure(options.pg_data, options.db_url, options.rounds, options.seed)

    def med(values: object) -> float:
        return statistics.median(values)  # type: ignore[arg-type]

    def p95(values: object) -> float:
        return bench.percentile(values, 95)  # type: ignore[arg-type]

    figures = [  # (name, how to read it, target, limit; None when the target is relative)
        ("cold start to first painted page, median ms", lambda r: r["cold_start"], "see bench_queue", None),
        ("keystroke to repainted rows, median ms", lambda r: med(r["keystrokes"]), "< 50 ms", 50),
        ("keystroke to repainted rows, p95 ms", lambda r: p95(r["keystrokes"]), "< 100 ms", 100),
        ("sort by any column, worst ms", lambda r: max(r["sorts"]), "< 100 ms", 100),  # type: ignore[arg-type]
        ("sort by any column, median ms", lambda r: med(r["sorts"]), "< 100 ms", 100),
        ("jump to last/any row, worst ms", lambda r: max(r["jumps"]), "< 30 ms", 30),  # type: ignore[arg-type]
        ("open detail painted, median ms", lambda r: med(r["details"]), "< 30 ms", 30),
        ("open detail painted, p95 ms", lambda r: p95(r["details"]), "< 60 ms", 60),
        ("peak memory, MiB", lambda r: r["peak_kib"] / 1024, "< 150 MiB", 150),  # type: ignore[operator]
        ("GUI-thread lateness, worst ms", lambda r: r["lateness_max"], "< 50 ms", 50),
    ]
    print(f"\nqueue of {sqlite['rows']:,} submissions (SQLite, {options.data}) and {postgres['rows']:,} "
          f"(PostgreSQL, {options.db_url.split('@')[-1]}); same workload, seed {options.seed}\n")
    print(f"| {'figure':<44} | {'SQLite':>8} | {'PostgreSQL':>10} | {'PG/SQLite':>9} | {'target':<15} | ok (S/P) |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 12}|{'-' * 11}|{'-' * 17}|----------|")
    all_ok = True
    for name, read, target, limit in figures:
        ours, theirs = float(read(sqlite)), float(read(postgres))  # type: ignore[arg-type]
        oks = ("-", "-") if limit is None else tuple("yes" if v < limit else "NO" for v in (ours, theirs))
        all_ok &= "NO" not in oks
        print(f"| {name:<44} | {ours:8.1f} | {theirs:10.1f} | {theirs / ours if ours else 0:8.2f}x | {target:<15} "
              f"| {oks[0]:>3}/{oks[1]:<3}  |")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
