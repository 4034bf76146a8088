"""Inspect evaluation logs (`.eval` and `.json`) read as structured evidence; nothing is executed.

Why a reader of our own rather than `inspect_ai.log`: the inspect_ai wheel is 35 MiB and
pulls some forty packages (fastapi, uvicorn, boto3, s3fs, numpy, textual, tiktoken,
pydantic …) into an air-gapped PyInstaller bundle whose job is to read a few JSON members;
and its reader validates whole documents into objects, so a hostile 64 MiB sample costs
what it likes. The format is documented and small: we read the parts a reviewer sees,
under limits, and refuse anything else with one line naming the file and the field.

The `.eval` format is a zip (read through the package reader's guarded ZipSource:
member names with "..", links, overlapping members, lying headers and bombs are refused
before anything is decompressed) holding

- `header.json`: the EvalLog without samples (version, status, eval spec, plan, results,
  stats with token usage, error);
- `summaries.json`: one EvalSampleSummary per sample and epoch (id, epoch, scores,
  model_usage, error, limit); an unfinished log has `_journal/summaries/N.json` instead;
- `samples/<id>_epoch_<n>.json`: one whole EvalSample (input, messages, output, scores,
  events, attachments …), read only when a reviewer opens that sample;
- `reductions.json` and `_journal/start.json`, which nothing here needs.

Members are stored, deflated or zstd-compressed (Inspect writes zstd since 2026); zstd is
decoded as a stream with the same bound on output as deflate. A `.json` log is one
EvalLog document with its samples inline, so it has a lower size limit.

The summary reads only the header and the summaries, so a 200 MiB log with 5,000 samples
opens in a fraction of a second (benchmarks/bench_evallog.py). An agent transcript is
read a page at a time: the sample's JSON text is scanned and only the messages of the
page are decoded; the events, which hold most of a long transcript, are never decoded.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.services.eval_citations import (  # re-exported: how logs are named and samples cited
    EVAL_SUFFIXES,
    FILE_REFERENCE_PREFIX,
    LogRef,
    citation,
    file_reference,
    file_reference_hash,
    is_log_artifact,
    looks_like_eval_log,
    parse_citation,
)
from desktop_app.services.packages.model import GiB, MiB, PackageLimits
from desktop_app.services.packages.source import PackageReadError, read_bounded
from desktop_app.services.packages.text import field_path, shown, shown_name
from desktop_app.services.packages.zipsource import ZIP_MAGIC, ZipSource

HEADER_JSON = "header.json"
SUMMARIES_JSON = "summaries.json"
JOURNAL_SUMMARIES = "_journal/summaries/"
SAMPLES_DIR = "samples/"
KNOWN_VERSIONS = (1, 2)
KNOWN_STATUSES = ("started", "success", "cancelled", "error")
ZIP_ZSTANDARD = 93
TEXT_SHOWN_MAX = 20_000
"""Characters of one message, input or output shown; the rest is counted, not shown."""
TRANSCRIPT_PAGE = 50
_SCORE_WORDS = {"C": "correct", "I": "incorrect", "P": "partly correct", "N": "no answer"}


@dataclass(frozen=True)
class EvalLimits:
    """What reading one log may cost; tests pass small ones to reach a limit cheaply."""

    max_file_bytes: int = 16 * GiB
    max_header_bytes: int = 32 * MiB
    max_summaries_bytes: int = 256 * MiB
    max_sample_bytes: int = 64 * MiB
    max_json_log_bytes: int = 128 * MiB
    max_members: int = 250_000
    max_samples: int = 250_000


# --- what a reviewer sees -----------------------------------------------------------------


@dataclass(frozen=True)
class TokenUsage:
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class Metric:
    """One metric of one scorer (e.g. accuracy of `includes`), as the log's results give it."""

    scorer: str
    name: str
    value: float | None
    reducer: str = ""

    @property
    def shown_value(self) -> str:
        return "—" if self.value is None else f"{self.value:.4g}"


@dataclass(frozen=True)
class SampleRow:
    id: str
    epoch: int
    score: str
    status: str
    total_tokens: int

    @property
    def citation_id(self) -> str:
        return self.id if self.epoch == 1 else f"{self.id}@{self.epoch}"


@dataclass(frozen=True)
class EvalSummary:
    name: str
    format: str
    version: int
    status: str
    task: str
    task_version: str
    model: str
    solver: str
    scorers: tuple[str, ...]
    metrics: tuple[Metric, ...]
    sample_count: int
    completed_samples: int
    created: str
    samples: tuple[SampleRow, ...]
    usage: tuple[TokenUsage, ...]
    error: str = ""

    @property
    def total_tokens(self) -> int:
        return sum(u.total_tokens for u in self.usage)

    def metric(self, scorer: str, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.scorer == scorer and m.name == name), None)


@dataclass(frozen=True)
class SampleScore:
    scorer: str
    value: str
    answer: str
    explanation: str


@dataclass(frozen=True)
class SampleDetail:
    id: str
    epoch: int
    input: str
    target: str
    output: str
    scores: tuple[SampleScore, ...]
    status: str
    error: str
    usage: tuple[TokenUsage, ...]
    message_count: int


@dataclass(frozen=True)
class TranscriptEntry:
    index: int
    role: str
    text: str


@dataclass(frozen=True)
class TranscriptPage:
    sample_id: str
    epoch: int
    offset: int
    total: int
    entries: tuple[TranscriptEntry, ...] = field(default=())

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.entries) < self.total


# --- reading -------------------------------------------------------------------------------


def _refuse(name: str, message: str, where: str = "") -> InputRejected:
    return InputRejected(Problem(message, file=shown_name(name), field=where or None))


def read_summary(path: Path, name: str, limits: EvalLimits | None = None) -> EvalSummary:
    """Header, metrics, token usage and one row per sample; never reads a sample's member."""
    with open_log(path, name, limits) as log:
        return log.summary()


def read_sample(path: Path, name: str, sample_id: str, epoch: int = 1,
                limits: EvalLimits | None = None) -> SampleDetail:
    with open_log(path, name, limits) as log:
        return log.sample(sample_id, epoch)


def read_transcript(path: Path, name: str, sample_id: str, epoch: int = 1, offset: int = 0,
                    count: int = TRANSCRIPT_PAGE, limits: EvalLimits | None = None) -> TranscriptPage:
    with open_log(path, name, limits) as log:
        return log.transcript(sample_id, epoch, offset, count)


def open_log(path: Path, name: str, limits: EvalLimits | None = None) -> EvalLogFile:
    """Open the log at `path` (`name` is how the reviewer knows it); the content decides its format."""
    limits = limits or EvalLimits()
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise _refuse(name, f"cannot be read: {error.strerror}") from None
    if size > limits.max_file_bytes:
        raise _refuse(name, f"is {size:,} bytes; evaluation logs of at most {limits.max_file_bytes:,} bytes are read")
    if magic in ZIP_MAGIC:
        return _ZipLog(path, name, limits)
    if magic[:1] in (b"{", b" ", b"\n", b"\r", b"\t", b"\xef"):
        return _JsonLog(path, name, limits, size)
    raise _refuse(name, "is not an Inspect evaluation log (neither a .eval zip nor a JSON document)")


class EvalLogFile:
    """One opened log; use as a context manager. Methods raise InputRejected naming file and field."""

    def __init__(self, name: str, limits: EvalLimits) -> None:
        self.name, self.limits = name, limits

    def __enter__(self) -> EvalLogFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the log holds open."""

    def summary(self) -> EvalSummary:
        raise NotImplementedError

    def sample(self, sample_id: str, epoch: int = 1) -> SampleDetail:
        raise NotImplementedError

    def transcript(self, sample_id: str, epoch: int, offset: int, count: int) -> TranscriptPage:
        raise NotImplementedError

    def has_sample(self, sample_id: str, epoch: int = 1) -> bool:
        return any(row.id == sample_id and row.epoch == epoch for row in self.summary().samples)

    # -- shared by both formats --------------------------------------------------------
    def _summary_of(self, header: Any, rows: list[SampleRow], fmt: str, where: str) -> EvalSummary:
        doc = _Doc(self.name, where)
        header = doc.obj(header, ())
        version = doc.get(header, ("version",), int)
        if version not in KNOWN_VERSIONS:
            raise doc.refuse(("version",), f"{shown(version)} is not a log format version this reader knows "
                                           f"({' or '.join(map(str, KNOWN_VERSIONS))})")
        status = doc.get(header, ("status",), str, default="started")
        if status not in KNOWN_STATUSES:
            raise doc.refuse(("status",), f"{shown(status)} is not one of {', '.join(KNOWN_STATUSES)}")
        spec = doc.get(header, ("eval",), dict)
        task = doc.get(spec, ("eval", "task"), str)
        model = doc.get(spec, ("eval", "model"), str)
        created = doc.get(spec, ("eval", "created"), str, default="")
        task_version = doc.get(spec, ("eval", "task_version"), (int, str), default=0)
        dataset = doc.get(spec, ("eval", "dataset"), dict, default={})
        plan = doc.get(header, ("plan",), dict, default={})
        steps = doc.get(plan, ("plan", "steps"), list, default=[])
        solver = doc.get(spec, ("eval", "solver"), str, default=None) or " → ".join(
            doc.get(doc.obj(step, ("plan", "steps", i)), ("plan", "steps", i, "solver"), str)
            for i, step in enumerate(steps[:50]))
        results = doc.get(header, ("results",), dict, default=None) or {}
        scores = doc.get(results, ("results", "scores"), list, default=[])
        metrics: list[Metric] = []
        scorers: list[str] = []
        for i, score in enumerate(scores[:200]):
            at = ("results", "scores", i)
            score = doc.obj(score, at)
            scorer = doc.get(score, (*at, "scorer"), str, default=None) or doc.get(score, (*at, "name"), str)
            scorers.append(scorer)
            reducer = doc.get(score, (*at, "reducer"), str, default=None) or ""
            for key, metric in list(doc.get(score, (*at, "metrics"), dict, default={}).items())[:200]:
                metric = doc.obj(metric, (*at, "metrics", key))
                value = doc.get(metric, (*at, "metrics", key, "value"), (int, float), default=None)
                metrics.append(Metric(scorer, doc.get(metric, (*at, "metrics", key, "name"), str, default=key),
                                      None if value is None or math.isnan(value) else float(value), reducer))
        if not scorers:
            for i, scorer in enumerate(doc.get(spec, ("eval", "scorers"), list, default=[])[:200]):
                scorers.append(doc.get(doc.obj(scorer, ("eval", "scorers", i)), ("eval", "scorers", i, "name"), str))
        stats = doc.get(header, ("stats",), dict, default={})
        usage = _usage(doc, doc.get(stats, ("stats", "model_usage"), dict, default={}), ("stats", "model_usage"))
        error = doc.get(header, ("error",), dict, default=None)
        total = doc.get(results, ("results", "total_samples"), int, default=None)
        dataset_samples = doc.get(dataset, ("eval", "dataset", "samples"), int, default=None)
        completed = doc.get(results, ("results", "completed_samples"), int, default=None)
        return EvalSummary(
            name=self.name, format=fmt, version=version, status=status, task=task, task_version=str(task_version),
            model=model, solver=solver or "(none recorded)", scorers=tuple(dict.fromkeys(scorers)),
            metrics=tuple(metrics),
            sample_count=total if total is not None else (dataset_samples if dataset_samples is not None
                                                          else len({r.id for r in rows})),
            completed_samples=completed if completed is not None else sum(r.status == "completed" for r in rows),
            created=created, samples=tuple(rows), usage=usage,
            error=_bounded(str(error.get("message", ""))) if isinstance(error, dict) else "")

    def _rows(self, items: Any, where: str, path: tuple[str | int, ...] = ()) -> list[SampleRow]:
        doc = _Doc(self.name, where)
        if not isinstance(items, list):
            raise doc.refuse(path, f"expected a list of samples, found {_kind(items)}")
        if len(items) > self.limits.max_samples:
            raise doc.refuse(path, f"holds {len(items):,} samples; at most {self.limits.max_samples:,} are read")
        rows = []
        for i, item in enumerate(items):  # 5,000 rows or more: plain type checks, no helper per field
            if type(item) is not dict:
                raise doc.refuse((*path, i), f"expected an object, found {_kind(item)}")
            sample_id = _sample_id(doc, item, (*path, i))
            epoch = item.get("epoch", 1)
            if type(epoch) is not int:
                raise doc.refuse((*path, i, "epoch"), f"expected a whole number, found {_kind(epoch)}")
            scores = item.get("scores") or {}
            if type(scores) is not dict:
                raise doc.refuse((*path, i, "scores"), f"expected an object, found {_kind(scores)}")
            first = next(iter(scores.values()), None)
            score = _score_text(first.get("value")) if type(first) is dict else "—"
            rows.append(SampleRow(sample_id, epoch, score, _status(item),
                                  _total_tokens(doc, item.get("model_usage"), (*path, i, "model_usage"))))
        return rows

    def _detail(self, sample: Any, where: str) -> SampleDetail:
        doc = _Doc(self.name, where)
        sample = doc.obj(sample, ())
        attachments = sample.get("attachments") if isinstance(sample.get("attachments"), dict) else {}
        output = doc.get(sample, ("output",), dict, default={})
        completion = doc.get(output, ("output", "completion"), str, default="")
        if not completion:
            choices = doc.get(output, ("output", "choices"), list, default=[])
            if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict):
                completion = _message_text(choices[0]["message"])
        scores = []
        for key, score in list((doc.get(sample, ("scores",), dict, default=None) or {}).items())[:100]:
            score = doc.obj(score, ("scores", key))
            scores.append(SampleScore(shown_name(key, 200), _score_text(score.get("value")),
                                      _bounded(_plain(score.get("answer")), 2_000),
                                      _bounded(_plain(score.get("explanation")))))
        messages = doc.get(sample, ("messages",), list, default=[])
        error = sample.get("error")
        return SampleDetail(
            id=_sample_id(doc, sample, ()), epoch=doc.get(sample, ("epoch",), int, default=1),
            input=_resolve(_input_text(sample.get("input")), attachments),
            target=_bounded(_plain(sample.get("target"))), output=_resolve(_bounded(completion), attachments),
            scores=tuple(scores), status=_status(sample),
            error=_bounded(str(error.get("message", ""))) if isinstance(error, dict) else "",
            usage=_usage(doc, doc.get(sample, ("model_usage",), dict, default={}), ("model_usage",)),
            message_count=len(messages))


def _page(name: str, where: str, messages: list[Any], total: int, sample_id: str, epoch: int,
          offset: int) -> TranscriptPage:
    entries = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _refuse(name, f"expected a message object, found {_kind(message)}",
                          f"{where} {field_path(('messages', offset + i))}")
        entries.append(TranscriptEntry(offset + i, shown_name(str(message.get("role", "?")), 20),
                                       _message_text(message)))
    return TranscriptPage(sample_id, epoch, offset, total, tuple(entries))


class _ZipLog(EvalLogFile):
    def __init__(self, path: Path, name: str, limits: EvalLimits) -> None:
        super().__init__(name, limits)
        handle = open(path, "rb")  # noqa: SIM115 - ZipSource owns and closes it
        try:
            self.source = _EvalZip(path, handle, PackageLimits(
                max_members=limits.max_members, max_total_bytes=1 << 62, max_ratio=1e9,
                max_central_directory_bytes=256 * MiB))
        except InputRejected as error:
            raise _refuse(name, _first(error)) from None
        if self.source.problems:
            problem = self.source.problems[0]
            self.source.close()
            raise _refuse(name, problem.message, problem.file or "")
        self._summary: EvalSummary | None = None

    def close(self) -> None:
        self.source.close()

    def _json(self, member: str, limit: int, *, array: bool = False) -> Any:
        info = self.source.member_info(member)
        if info is None:
            raise _refuse(self.name, "is missing from the log", member)
        if info.file_size > limit:
            raise _refuse(self.name, f"is {info.file_size:,} bytes; at most {limit:,} are read", member)
        try:
            with self.source.open_file(member) as stream:
                data = read_bounded(stream, limit)
        except PackageReadError as error:
            raise _refuse(self.name, error.reason, member) from None
        if len(data) > limit:
            raise _refuse(self.name, f"is longer than its header says; at most {limit:,} bytes are read", member)
        return _parse_array(self.name, member, data) if array else _parse(self.name, member, data)

    def summary(self) -> EvalSummary:
        if self._summary is None:
            names = self.source.entries
            if HEADER_JSON not in names:
                raise _refuse(self.name, "is missing: the log is unfinished or not an Inspect .eval log", HEADER_JSON)
            header = self._json(HEADER_JSON, self.limits.max_header_bytes)
            if SUMMARIES_JSON in names:
                rows = self._rows(self._json(SUMMARIES_JSON, self.limits.max_summaries_bytes, array=True),
                                  SUMMARIES_JSON)
            else:
                rows = []
                for member in sorted((n for n in names if n.startswith(JOURNAL_SUMMARIES) and n.endswith(".json")),
                                     key=_journal_order):
                    rows += self._rows(self._json(member, self.limits.max_summaries_bytes, array=True), member)
                    if len(rows) > self.limits.max_samples:
                        raise _refuse(self.name, f"more than {self.limits.max_samples:,} samples", member)
            self._summary = self._summary_of(header, rows, "eval", HEADER_JSON)
        return self._summary

    def _sample_member(self, sample_id: str, epoch: int) -> str:
        member = f"{SAMPLES_DIR}{sample_id}_epoch_{epoch}.json"
        if self.source.member_info(member) is None:
            raise _refuse(self.name, f"has no sample {shown(sample_id, 60)} (epoch {epoch})", "samples")
        return member

    def sample(self, sample_id: str, epoch: int = 1) -> SampleDetail:
        member = self._sample_member(sample_id, epoch)
        return self._detail(self._json(member, self.limits.max_sample_bytes), member)

    def transcript(self, sample_id: str, epoch: int, offset: int, count: int) -> TranscriptPage:
        member = self._sample_member(sample_id, epoch)
        info = self.source.member_info(member)
        assert info is not None
        if info.file_size > self.limits.max_sample_bytes:
            raise _refuse(self.name, f"is {info.file_size:,} bytes; at most {self.limits.max_sample_bytes:,} are "
                                     f"read", member)
        try:
            with self.source.open_file(member) as stream:
                data = read_bounded(stream, self.limits.max_sample_bytes)
        except PackageReadError as error:
            raise _refuse(self.name, error.reason, member) from None
        text = _decode(self.name, member, data)
        try:
            messages, total = _messages_page(text, offset, count)
        except (ValueError, RecursionError, IndexError) as error:
            raise _refuse(self.name, f"is not valid JSON ({shown_name(str(error), 100)})", member) from None
        return _page(self.name, member, messages, total, sample_id, epoch, offset)

    def has_sample(self, sample_id: str, epoch: int = 1) -> bool:
        return self.source.member_info(f"{SAMPLES_DIR}{sample_id}_epoch_{epoch}.json") is not None


class _JsonLog(EvalLogFile):
    def __init__(self, path: Path, name: str, limits: EvalLimits, size: int) -> None:
        super().__init__(name, limits)
        if size > limits.max_json_log_bytes:
            raise _refuse(name, f"is a JSON log of {size:,} bytes; at most {limits.max_json_log_bytes:,} are read "
                                "(ask for the .eval format, which is read sample by sample)")
        with open(path, "rb") as handle:
            self.document = _parse_document(name, handle.read(limits.max_json_log_bytes + 1))
        if not isinstance(self.document, dict):
            raise _refuse(name, f"expected a JSON object (an Inspect log), found {_kind(self.document)}")
        self._summary: EvalSummary | None = None

    def summary(self) -> EvalSummary:
        if self._summary is None:
            samples = self.document.get("samples") or []
            rows = self._rows(samples, "", ("samples",))
            self._summary = self._summary_of(self.document, rows, "json", "")
        return self._summary

    def _find(self, sample_id: str, epoch: int) -> tuple[int, dict[str, Any]]:
        self.summary()
        for i, sample in enumerate(self.document.get("samples") or []):
            if str(sample.get("id")) == sample_id and sample.get("epoch", 1) == epoch:
                return i, sample
        raise _refuse(self.name, f"has no sample {shown(sample_id, 60)} (epoch {epoch})", "samples")

    def sample(self, sample_id: str, epoch: int = 1) -> SampleDetail:
        i, sample = self._find(sample_id, epoch)
        return self._detail(sample, field_path(("samples", i)))

    def transcript(self, sample_id: str, epoch: int, offset: int, count: int) -> TranscriptPage:
        i, sample = self._find(sample_id, epoch)
        messages = sample.get("messages") if isinstance(sample.get("messages"), list) else []
        return _page(self.name, field_path(("samples", i)), messages[offset:offset + count], len(messages),
                     sample_id, epoch, offset)


# --- the zip, with zstd decoded under the same bound as deflate ------------------------------


class _EvalZip(ZipSource):
    accepted_methods: Mapping[int, str] = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
                                           ZIP_ZSTANDARD: "zstd"}

    def _open_member(self, info: zipfile.ZipInfo) -> BinaryIO:
        if info.compress_type != ZIP_ZSTANDARD:
            return super()._open_member(info)
        return _ZstdMember(self._handle, info)  # type: ignore[return-value]


class _ZstdMember:
    """A zstd member as a stream: its compressed bytes sliced from the archive, decoded in
    bounded steps; at the end the size and CRC-32 are checked against the central directory."""

    def __init__(self, handle: BinaryIO, info: zipfile.ZipInfo) -> None:
        import zstandard

        self.info = info
        fd = handle.fileno()
        local = os.pread(fd, 30, info.header_offset)
        if len(local) < 30:
            raise EOFError("local header missing")
        name_length, extra_length = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        start = info.header_offset + 30 + name_length + extra_length
        self._reader = zstandard.ZstdDecompressor().stream_reader(_Slice(fd, start, info.compress_size),
                                                                  read_across_frames=True)
        self._crc = 0
        self._size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._reader.read(size if size >= 0 else 1 << 20)
        if chunk:
            self._crc = zlib.crc32(chunk, self._crc)
            self._size += len(chunk)
            if self._size > self.info.file_size:
                raise zipfile.BadZipFile("Bad CRC-32: more data than the header says")
        elif self._size != self.info.file_size or self._crc != self.info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.info.filename!r}")
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._reader.close()


class _Slice:
    """Bytes [start, start + length) of a file, read with pread (no shared file position)."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        self.fd, self.position, self.end = fd, start, start + length

    def read(self, size: int = -1) -> bytes:
        size = self.end - self.position if size < 0 else min(size, self.end - self.position)
        if size <= 0:
            return b""
        data = os.pread(self.fd, size, self.position)
        if not data:
            raise EOFError("the archive ends inside a member")
        self.position += len(data)
        return data


# --- JSON helpers ----------------------------------------------------------------------------


def _decode(name: str, member: str, data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise _refuse(name, f"is not UTF-8 text (byte {error.start})", member) from None


def _parse(name: str, member: str, data: bytes) -> Any:
    text = _decode(name, member, data)
    try:
        return json.loads(text)
    except RecursionError:
        raise _refuse(name, "is nested too deeply to be a log", member) from None
    except ValueError as error:
        raise _refuse(name, f"is not valid JSON ({shown_name(str(error), 100)})", member) from None


def _parse_array(name: str, member: str, data: bytes) -> Any:
    """A JSON array decoded element by element: the same result as json.loads, but the
    decoder returns to Python between elements, so a worker parsing 5,000 summaries lets
    the GUI thread run (json.loads of the whole array would hold the GIL for ~50 ms)."""
    text = _decode(name, member, data)
    start = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", start):
        return _parse(name, member, data)  # not an array: let the plain parser say what it is
    try:
        items, _count, end = _array_page(text, start, 0, 1 << 62)
        if _WS.match(text, end).end() != len(text):  # type: ignore[union-attr]
            raise ValueError(f"extra data after the array at {end}")
    except RecursionError:
        raise _refuse(name, "is nested too deeply to be a log", member) from None
    except (ValueError, IndexError) as error:
        raise _refuse(name, f"is not valid JSON ({shown_name(str(error), 100)})", member) from None
    return items


def _parse_document(name: str, data: bytes) -> Any:
    """A `.json` log decoded key by key, and its samples one at a time (as _parse_array)."""
    text = _decode(name, "", data)
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", pos):
        return _parse(name, "", data)  # not an object: let the plain parser say what it is
    document: dict[str, Any] = {}
    try:
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        while text[pos] != "}":
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos] != ":":
                raise ValueError(f"expected ':' at {pos}")
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if key == "samples" and text[pos] == "[":
                document[key], _count, pos = _array_page(text, pos, 0, 1 << 62)
            else:
                document[key], pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos] == ",":
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            elif text[pos] != "}":
                raise ValueError(f"expected ',' or '}}' at {pos}")
        if _WS.match(text, pos + 1).end() != len(text):  # type: ignore[union-attr]
            raise ValueError(f"extra data after the log at {pos + 1}")
    except RecursionError:
        raise _refuse(name, "is nested too deeply to be a log") from None
    except (ValueError, IndexError) as error:
        raise _refuse(name, f"is not valid JSON ({shown_name(str(error), 100)})") from None
    return document


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _messages_page(text: str, offset: int, count: int) -> tuple[list[Any], int]:
    """The messages [offset, offset + count) of a sample and how many there are.

    Walks the sample object's top-level keys in order; only the messages array is looked
    into, one element at a time, and only the page's elements are kept. The walk stops
    after the messages, so events, store and attachments are never decoded.
    """
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos] != "{":
        raise ValueError("a sample is a JSON object")
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    while text[pos] != "}":
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] != ":":
            raise ValueError(f"expected ':' at {pos}")
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if key == "messages" and text[pos] == "[":
            kept, total, _end = _array_page(text, pos, offset, count)
            return kept, total
        _value, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    return [], 0


def _array_page(text: str, pos: int, offset: int, count: int) -> tuple[list[Any], int, int]:
    """Elements [offset, offset + count) of the array at `pos`, how many it has, and where it ends."""
    kept: list[Any] = []
    index = 0
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos] == "]":
        return kept, 0, pos + 1
    while True:
        value, pos = _DECODER.raw_decode(text, pos)
        if offset <= index < offset + count:
            kept.append(value)
        index += 1
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == "]":
            return kept, index, pos + 1
        if text[pos] != ",":
            raise ValueError(f"expected ',' or ']' at {pos}")
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]


class _Doc:
    """Typed access to a parsed member; a wrong type is a refusal naming the JSON field."""

    _MISSING = object()

    def __init__(self, name: str, member: str) -> None:
        self.name, self.member = name, member

    def refuse(self, path: tuple[str | int, ...], message: str) -> InputRejected:
        where = " ".join(part for part in (self.member, field_path(path)) if part)
        return _refuse(self.name, message, where)

    def obj(self, value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(path, f"expected an object, found {_kind(value)}")
        return value

    def get(self, holder: dict[str, Any], path: tuple[str | int, ...], kind: Any, default: Any = _MISSING) -> Any:
        value = holder.get(str(path[-1]), self._MISSING) if path else holder
        if value is self._MISSING or (value is None and default is not self._MISSING):
            if default is self._MISSING:
                raise self.refuse(path, "is missing")
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise self.refuse(path, f"expected {_kind_name(kinds)}, found {_kind(value)}")
        if isinstance(value, str):
            return _bounded(value, 2_000)
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "an object", list: "a list", str: "text", int: "a whole number",
            float: "a number"}.get(type(value), type(value).__name__)


def _kind_name(kinds: tuple[type, ...]) -> str:
    return " or ".join(_kind(k()) if k is not dict else "an object" for k in kinds)


def _sample_id(doc: _Doc, item: dict[str, Any], at: tuple[str | int, ...]) -> str:
    value = doc.get(item, (*at, "id"), (int, str))
    text = str(value)
    if not text or len(text) > 200 or any(c in text for c in "/\\\x00#") or text in (".", ".."):
        raise doc.refuse((*at, "id"), f"{shown(value)} is not a sample id this reader accepts")
    return text


def _status(item: dict[str, Any]) -> str:
    if item.get("error"):
        return "error"
    limit = item.get("limit")
    if limit:
        kind = limit.get("type") if isinstance(limit, dict) else limit
        return f"limit: {shown_name(str(kind), 40)}"
    if item.get("completed") is False and "completed" in item and "started_at" in item:
        return "incomplete"
    return "completed"


def _usage(doc: _Doc, usage: dict[str, Any], at: tuple[str | int, ...]) -> tuple[TokenUsage, ...]:
    found = []
    for model, counts in list(usage.items())[:100]:
        counts = doc.obj(counts, (*at, model))
        numbers = [doc.get(counts, (*at, model, key), int, default=0)
                   for key in ("input_tokens", "output_tokens", "total_tokens")]
        found.append(TokenUsage(shown_name(model, 200), *numbers))
    return tuple(found)


def _total_tokens(doc: _Doc, usage: Any, at: tuple[str | int, ...]) -> int:
    """A sample's tokens over all models (the row shows the total; the sample shows each model)."""
    if not usage:
        return 0
    if type(usage) is not dict:
        raise doc.refuse(at, f"expected an object, found {_kind(usage)}")
    total = 0
    for model, counts in usage.items():
        tokens = counts.get("total_tokens", 0) if type(counts) is dict else None
        if type(tokens) is not int:
            raise doc.refuse((*at, model, "total_tokens") if type(counts) is dict else (*at, model),
                             f"expected a whole number, found {_kind(tokens)}" if type(counts) is dict
                             else f"expected an object, found {_kind(counts)}")
        total += tokens
    return total


def _score_text(value: Any) -> str:
    if isinstance(value, str):
        word = _SCORE_WORDS.get(value)
        return f"{value} ({word})" if word else _bounded(value, 200)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return _bounded(", ".join(f"{k}={_score_text(v)}" for k, v in list(value.items())[:20]), 200)
    if isinstance(value, list):
        return _bounded(", ".join(_score_text(v) for v in value[:20]), 200)
    return "—"


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_plain(v) for v in value[:1000])
    return json.dumps(value, ensure_ascii=False)[: TEXT_SHOWN_MAX + 1]


def _bounded(text: str, limit: int = TEXT_SHOWN_MAX) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for part in content[:1000]:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            parts.append(str(part.get("text", "")))
        elif kind == "reasoning":
            parts.append(f"[reasoning] {part.get('reasoning', '') if not part.get('redacted') else '(redacted)'}")
        else:
            parts.append(f"[{shown_name(str(kind), 30)} content not shown]")
    return "\n".join(parts)


def _message_text(message: dict[str, Any]) -> str:
    text = _content_text(message.get("content"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls[:100]:
            if isinstance(call, dict):
                arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)[:2_000]
                text += f"\n→ calls {shown_name(str(call.get('function', '?')), 100)}({arguments})"
    if message.get("role") == "tool" and message.get("function"):
        text = f"[{shown_name(str(message['function']), 100)}] {text}"
    return _bounded(text.strip())


def _input_text(value: Any) -> str:
    if isinstance(value, str):
        return _bounded(value)
    if isinstance(value, list):
        return _bounded("\n\n".join(f"{m.get('role', '?')}: {_message_text(m)}" for m in value[:1000]
                                    if isinstance(m, dict)))
    return ""


def _resolve(text: str, attachments: dict[str, Any]) -> str:
    """Inspect moves long content into `attachments` and leaves `attachment://<hash>` in its place."""
    if "attachment://" not in text:
        return text
    return _bounded(re.sub(r"attachment://([0-9a-f]{1,64})",
                           lambda m: str(attachments.get(m[1], m[0]))[:TEXT_SHOWN_MAX], text))


def _journal_order(name: str) -> tuple[int, str]:
    stem = name.rsplit("/", 1)[-1].removesuffix(".json")
    return (int(stem), name) if stem.isdigit() else (1 << 30, name)


def _first(error: InputRejected) -> str:
    return error.problems[0].message if error.problems else str(error)


__all__ = ["EvalLimits", "EvalLogFile", "EvalSummary", "Metric", "SampleDetail", "SampleRow", "SampleScore",
           "TokenUsage", "TranscriptEntry", "TranscriptPage", "citation", "file_reference", "file_reference_hash",
           "is_log_artifact", "looks_like_eval_log", "open_log", "parse_citation", "read_sample", "read_summary",
           "read_transcript"]
