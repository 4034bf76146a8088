"""Inspect logs made for the tests: ordinary ones through the product's writer, hostile ones by hand."""

from __future__ import annotations

import zipfile
from pathlib import Path

from desktop_app.services.evallog_writer import LogSample, LogSpec, write_eval_log


def ctf_spec(count: int = 5, *, solved: frozenset[int] = frozenset({1, 3, 5}), model: str = "acme/orca-4",
             padding: str = "") -> LogSpec:
    return LogSpec(task="cyber_ctf", model=model, solver="basic_agent", scorer="includes", samples=tuple(
        LogSample(f"ctf-{n}", f"Capture the flag on host {n}", f"FLAG{n}",
                  f"found FLAG{n}" if n in solved else "no flag", "C" if n in solved else "I",
                  input_tokens=100 * n, output_tokens=10 * n, padding=padding if n == 2 else "")
        for n in range(1, count + 1)))


def log_file(tmp_path: Path, spec: LogSpec | None = None, *, name: str = "ctf.eval", **options: object) -> Path:
    return write_eval_log(tmp_path / name, spec or ctf_spec(), **options)  # type: ignore[arg-type]


def raw_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
