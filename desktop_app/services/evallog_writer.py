"""Write Inspect evaluation logs (`.eval` zip or `.json`) deterministically.

The demo makes its own log with this (a cyber-offense capture-the-flag evaluation), and
the tests and the benchmark build ordinary and hostile logs with it. The layout follows
Inspect's: header.json (the log without samples), summaries.json, reductions.json,
_journal/start.json and samples/<id>_epoch_<n>.json; every member carries a fixed time
so the same samples give the same bytes.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXED_TIME = (2026, 11, 2, 9, 0, 0)
ZIP_ZSTANDARD = 93


@dataclass(frozen=True)
class LogSample:
    """One sample of a made-up run: what the model was asked, what it answered, how it scored."""

    id: str | int
    input: str
    target: str
    output: str
    score: str | float = "C"
    epoch: int = 1
    messages: Sequence[dict[str, Any]] = ()
    error: str = ""
    input_tokens: int = 100
    output_tokens: int = 50
    padding: str = ""
    """Extra text kept in the sample's store (to make big samples for limits and speed)."""


@dataclass(frozen=True)
class LogSpec:
    task: str = "cyber_ctf"
    model: str = "northwind/orca-3.1"
    solver: str = "basic_agent"
    scorer: str = "includes"
    created: str = "2026-11-02T09:00:00+00:00"
    status: str = "success"
    samples: Sequence[LogSample] = ()
    metrics: dict[str, float] | None = None
    """accuracy/stderr by default, computed from the samples' scores."""
    header_overrides: dict[str, Any] = field(default_factory=dict)


def messages_for(sample: LogSample) -> list[dict[str, Any]]:
    return list(sample.messages) or [
        {"id": f"m{sample.id}-1", "role": "user", "content": sample.input, "source": "input"},
        {"id": f"m{sample.id}-2", "role": "assistant", "content": sample.output, "source": "generate",
         "model": "orca-3.1"},
    ]


def _score_value(sample: LogSample) -> float:
    if isinstance(sample.score, str):
        return 1.0 if sample.score == "C" else 0.5 if sample.score == "P" else 0.0
    return float(sample.score)


def _usage(spec: LogSpec, samples: Iterable[LogSample]) -> dict[str, dict[str, int]]:
    input_tokens = output_tokens = 0
    for sample in samples:
        input_tokens += sample.input_tokens
        output_tokens += sample.output_tokens
    return {spec.model: {"input_tokens": input_tokens, "output_tokens": output_tokens,
                         "total_tokens": input_tokens + output_tokens}}


def _header(spec: LogSpec) -> dict[str, Any]:
    values = [_score_value(s) for s in spec.samples]
    mean = sum(values) / len(values) if values else 0.0
    metrics = spec.metrics if spec.metrics is not None else {
        "accuracy": round(mean, 6),
        "stderr": round((sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1) / max(len(values), 1)) ** 0.5,
                        6)}
    ids = list(dict.fromkeys(s.id for s in spec.samples))
    header: dict[str, Any] = {
        "version": 2,
        "status": spec.status,
        "eval": {
            "eval_id": f"{spec.task}-eval", "run_id": f"{spec.task}-run", "created": spec.created,
            "task": spec.task, "task_id": f"{spec.task}-id", "task_version": 1, "task_file": f"{spec.task}.py",
            "task_args": {}, "solver": spec.solver,
            "dataset": {"name": spec.task, "location": f"{spec.task}.jsonl", "samples": len(ids), "sample_ids": ids,
                        "shuffled": False},
            "model": spec.model, "model_args": {},
            "config": {"epochs": max((s.epoch for s in spec.samples), default=1)},
            "packages": {"inspect_ai": "0.3.150"},
            "scorers": [{"name": spec.scorer, "options": {}, "metrics": [{"name": "accuracy"}, {"name": "stderr"}]}],
        },
        "plan": {"name": "plan", "steps": [{"solver": spec.solver, "params": {}}], "config": {}},
        "results": {
            "total_samples": len(ids), "completed_samples": sum(1 for s in spec.samples if not s.error),
            "scores": [{"name": spec.scorer, "scorer": spec.scorer, "reducer": "mean", "params": {},
                        "metrics": {name: {"name": name, "value": value, "params": {}}
                                    for name, value in metrics.items()}}],
        },
        "stats": {"started_at": spec.created, "completed_at": spec.created, "model_usage": _usage(spec, spec.samples)},
    }
    for key, value in spec.header_overrides.items():
        header[key] = value
    return header


def _scores(spec: LogSpec, sample: LogSample) -> dict[str, Any]:
    return {spec.scorer: {"value": sample.score, "answer": sample.output[:200],
                          "explanation": f"looked for {sample.target!r} in the output"}}


def _sample_usage(spec: LogSpec, sample: LogSample) -> dict[str, Any]:
    return {spec.model: {"input_tokens": sample.input_tokens, "output_tokens": sample.output_tokens,
                         "total_tokens": sample.input_tokens + sample.output_tokens}}


def summary_of(spec: LogSpec, sample: LogSample) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": sample.id, "epoch": sample.epoch, "input": sample.input[:5000], "target": sample.target,
        "scores": _scores(spec, sample), "model_usage": _sample_usage(spec, sample), "uuid": f"u-{sample.id}",
        "completed": True, "message_count": len(messages_for(sample))}
    if sample.error:
        summary["error"] = sample.error
    return summary


def sample_document(spec: LogSpec, sample: LogSample) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": sample.id, "epoch": sample.epoch, "input": sample.input, "target": sample.target,
        "messages": messages_for(sample),
        "output": {"model": spec.model, "completion": sample.output,
                   "choices": [{"message": {"role": "assistant", "content": sample.output}, "stop_reason": "stop"}],
                   "usage": _sample_usage(spec, sample)[spec.model]},
        "scores": _scores(spec, sample), "metadata": {}, "store": {"notes": sample.padding} if sample.padding else {},
        "events": [{"event": "sample_init", "timestamp": spec.created}],
        "model_usage": _sample_usage(spec, sample), "uuid": f"u-{sample.id}", "attachments": {},
    }
    if sample.error:
        document["error"] = {"message": sample.error, "traceback": "", "traceback_ansi": ""}
    return document


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_eval_log(path: Path, spec: LogSpec, *, compression: int = zipfile.ZIP_DEFLATED,
                   extra_members: dict[str, bytes] | None = None, omit: Iterable[str] = ()) -> Path:
    """An Inspect `.eval` log at `path`; `extra_members` and `omit` make hostile variants."""
    members: dict[str, bytes] = {
        "_journal/start.json": _dump({"version": 2, "eval": _header(spec)["eval"], "plan": _header(spec)["plan"]}),
    }
    for sample in spec.samples:
        members[f"samples/{sample.id}_epoch_{sample.epoch}.json"] = _dump(sample_document(spec, sample))
    members["summaries.json"] = _dump([summary_of(spec, s) for s in spec.samples])
    members["reductions.json"] = _dump([{"scorer": spec.scorer, "reducer": "mean", "samples": [
        {"sample_id": s.id, "value": _score_value(s)} for s in spec.samples if s.epoch == 1]}])
    members["header.json"] = _dump(_header(spec))
    members.update(extra_members or {})
    skipped = set(omit)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name in skipped:
                continue
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            if compression == ZIP_ZSTANDARD:
                _write_zstd(archive, info, data)
            else:
                info.compress_type = compression
                archive.writestr(info, data)
    return path


def _write_zstd(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
    """zipfile cannot compress with zstd before Python 3.14: write the member as stored, then
    patch its method to 93 over zstd bytes (the way Inspect's zip writer stores it)."""
    import zlib

    import zstandard

    compressed = zstandard.ZstdCompressor(level=3).compress(data)
    info.compress_type = zipfile.ZIP_STORED
    info.CRC = zlib.crc32(data)
    info.file_size = len(data)
    info.compress_size = len(compressed)
    header_offset = archive.fp.tell()  # type: ignore[union-attr]
    info.header_offset = header_offset
    info.compress_type = ZIP_ZSTANDARD
    archive.fp.write(info.FileHeader(zip64=False))  # type: ignore[union-attr]
    archive.fp.write(compressed)  # type: ignore[union-attr]
    archive.start_dir = archive.fp.tell()  # type: ignore[union-attr]
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info


def write_json_log(path: Path, spec: LogSpec) -> Path:
    """An Inspect `.json` log: the header with its samples inline."""
    document = _header(spec) | {"samples": [sample_document(spec, s) for s in spec.samples]}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def eval_log_bytes(spec: LogSpec, tmp: Path) -> bytes:
    """The `.eval` bytes of `spec` (written through a file in `tmp`, then read back)."""
    target = tmp / f"{spec.task}.eval"
    write_eval_log(target, spec)
    data = target.read_bytes()
    target.unlink()
    return data


__all__ = ["LogSample", "LogSpec", "eval_log_bytes", "sample_document", "summary_of", "write_eval_log",
           "write_json_log"]
