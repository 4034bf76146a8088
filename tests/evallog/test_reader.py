"""The Inspect log reader: what a reviewer sees, citations, paging, and hostile logs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from desktop_app.domain.errors import InputRejected
from desktop_app.services import evallog
from desktop_app.services.evallog_writer import (
    ZIP_ZSTANDARD,
    LogSample,
    LogSpec,
    sample_document,
    write_json_log,
)

from .builders import ctf_spec, log_file, raw_zip

NAME = "evals/ctf.eval"


def refusal(call, *args, **kwargs) -> str:  # noqa: ANN001
    """The one line a refusal shows; it must be exactly one problem on one line."""
    with pytest.raises(InputRejected) as caught:
        call(*args, **kwargs)
    assert len(caught.value.problems) == 1
    line = str(caught.value)
    assert "\n" not in line and "Traceback" not in line
    return line


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, ZIP_ZSTANDARD],
                         ids=["deflate", "stored", "zstd"])
def test_summary_shows_task_model_solver_scorer_metrics_samples_and_tokens(tmp_path: Path, compression: int) -> None:
    summary = evallog.read_summary(log_file(tmp_path, compression=compression), NAME)
    assert (summary.format, summary.status, summary.task, summary.model) == ("eval", "success", "cyber_ctf",
                                                                           "acme/orca-4")
    assert summary.solver == "basic_agent" and summary.scorers == ("includes",)
    assert summary.metric("includes", "accuracy").value == pytest.approx(0.6)
    assert summary.sample_count == 5 and summary.completed_samples == 5
    assert [(row.id, row.score, row.status) for row in summary.samples[:2]] == [
        ("ctf-1", "C (correct)", "completed"), ("ctf-2", "I (incorrect)", "completed")]
    assert summary.samples[1].total_tokens == 220
    assert summary.usage[0].input_tokens == 1500 and summary.total_tokens == 1650


def test_json_log_reads_like_the_eval_log(tmp_path: Path) -> None:
    path = write_json_log(tmp_path / "ctf.json", ctf_spec())
    summary = evallog.read_summary(path, "ctf.json")
    assert summary.format == "json" and summary.metric("includes", "accuracy").value == pytest.approx(0.6)
    assert [row.id for row in summary.samples] == [f"ctf-{n}" for n in range(1, 6)]
    assert evallog.read_sample(path, "ctf.json", "ctf-3").output == "found FLAG3"
    assert evallog.read_transcript(path, "ctf.json", "ctf-3", 1, 1, 5).entries[0].text == "found FLAG3"


def test_sample_opens_with_input_output_and_score(tmp_path: Path) -> None:
    detail = evallog.read_sample(log_file(tmp_path), NAME, "ctf-3")
    assert (detail.input, detail.target, detail.output) == ("Capture the flag on host 3", "FLAG3", "found FLAG3")
    assert detail.scores[0].scorer == "includes" and detail.scores[0].value == "C (correct)"
    assert detail.status == "completed" and detail.message_count == 2


def test_error_and_limit_samples_show_their_status(tmp_path: Path) -> None:
    spec = LogSpec(samples=(LogSample(1, "a", "b", "c", error="sandbox crashed"), LogSample(2, "a", "b", "c")))
    summary = evallog.read_summary(log_file(tmp_path, spec), NAME)
    assert [row.status for row in summary.samples] == ["error", "completed"]
    assert evallog.read_sample(log_file(tmp_path, spec), NAME, "1").error == "sandbox crashed"


def test_transcript_is_read_a_page_at_a_time(tmp_path: Path) -> None:
    messages = tuple({"role": "assistant" if i % 2 else "user", "content": f"turn {i}"} for i in range(120))
    spec = LogSpec(samples=(LogSample("agent-1", "go", "x", "done", messages=messages),))
    path = log_file(tmp_path, spec)
    page = evallog.read_transcript(path, NAME, "agent-1", 1, 50, 50)
    assert (page.offset, page.total, len(page.entries), page.has_more) == (50, 120, 50, True)
    assert page.entries[0].text == "turn 50" and page.entries[0].role == "user"
    last = evallog.read_transcript(path, NAME, "agent-1", 1, 100, 50)
    assert len(last.entries) == 20 and not last.has_more


def test_transcript_page_never_decodes_the_events(tmp_path: Path) -> None:
    """The events come after the messages; a page is read even when they are not JSON at all."""
    spec = LogSpec(samples=(LogSample("s1", "go", "x", "done"),))
    document = json.dumps(sample_document(spec, spec.samples[0]))
    broken = document.replace('"events":', '"events": <not json> ,"x":', 1).encode()
    path = log_file(tmp_path, spec, extra_members={"samples/s1_epoch_1.json": broken})
    page = evallog.read_transcript(path, NAME, "s1", 1, 0, 10)
    assert [e.text for e in page.entries] == ["go", "done"]
    assert "samples/s1_epoch_1.json" in refusal(evallog.read_sample, path, NAME, "s1")


def test_citation_round_trip() -> None:
    assert evallog.citation("evals/ctf.eval", "ctf-7") == "eval:evals/ctf.eval#ctf-7"
    assert evallog.parse_citation("eval:evals/ctf.eval#ctf-7") == ("evals/ctf.eval", "ctf-7", 1)
    assert evallog.parse_citation("eval:evals/ctf.eval#12@3") == ("evals/ctf.eval", "12", 3)
    assert evallog.parse_citation("page 4") is None


def test_unknown_sample_is_refused_naming_the_log(tmp_path: Path) -> None:
    line = refusal(evallog.read_sample, log_file(tmp_path), NAME, "ctf-99")
    assert line.startswith(f"{NAME}: samples: has no sample")


# --- hostile logs ---------------------------------------------------------------------------


def test_truncated_zip_is_refused_in_one_line(tmp_path: Path) -> None:
    path = log_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    line = refusal(evallog.read_summary, path, NAME)
    assert line.startswith(f"{NAME}: ") and "zip" in line


def test_truncated_member_is_refused_naming_it(tmp_path: Path) -> None:
    path = log_file(tmp_path, compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    start = data.find(b'{"version":2,"status"')
    data[start + 5: start + 15] = b"x" * 10  # the CRC no longer matches
    path.write_bytes(bytes(data))
    assert "header.json: its data does not match its CRC-32" in refusal(evallog.read_summary, path, NAME)


def test_huge_sample_is_refused_but_the_summary_opens(tmp_path: Path) -> None:
    path = log_file(tmp_path, ctf_spec(padding="A" * 200_000))
    limits = evallog.EvalLimits(max_sample_bytes=100_000)
    assert evallog.read_summary(path, NAME, limits).sample_count == 5
    line = refusal(evallog.read_sample, path, NAME, "ctf-2", limits=limits)
    assert line.startswith(f"{NAME}: samples/ctf-2_epoch_1.json: is ") and "at most 100,000 are read" in line
    assert "samples/ctf-2_epoch_1.json" in refusal(evallog.read_transcript, path, NAME, "ctf-2", limits=limits)
    assert evallog.read_sample(path, NAME, "ctf-3", limits=limits).output == "found FLAG3"


@pytest.mark.parametrize(("change", "expected"), [
    ({"version": 9}, "header.json version: 9 is not a log format version this reader knows"),
    ({"version": "two"}, "header.json version: expected a whole number, found text"),
    ({"eval": None}, "header.json eval: expected an object, found null"),
    ({"eval": {"task": "x", "created": "2026-11-02"}}, "header.json eval.model: is missing"),
    ({"status": "hacked"}, "header.json status: \"hacked\" is not one of"),
    ({"results": {"scores": [{"scorer": "s", "metrics": {"acc": {"value": "high"}}}]}},
     "header.json results.scores[0].metrics.acc.value: expected a whole number or a number, found text"),
], ids=["version", "version-type", "no-eval", "no-model", "status", "metric-type"])
def test_wrong_header_is_refused_naming_the_field(tmp_path: Path, change: dict, expected: str) -> None:
    spec = LogSpec(samples=ctf_spec().samples, header_overrides=change)
    line = refusal(evallog.read_summary, log_file(tmp_path, spec), NAME)
    assert line.startswith(f"{NAME}: {expected}")


def test_header_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = log_file(tmp_path, extra_members={"header.json": b"{\"version\": 2, "})
    assert refusal(evallog.read_summary, path, NAME).startswith(f"{NAME}: header.json: is not valid JSON")


def test_deeply_nested_summaries_are_refused(tmp_path: Path) -> None:
    path = log_file(tmp_path, extra_members={"summaries.json": b"[" * 200_000 + b"]" * 200_000})
    assert "summaries.json" in refusal(evallog.read_summary, path, NAME)


def test_member_path_with_dot_dot_is_refused(tmp_path: Path) -> None:
    path = log_file(tmp_path, extra_members={"samples/../../evil.json": b"{}"})
    line = refusal(evallog.read_summary, path, NAME)
    assert line == f'{NAME}: samples/../../evil.json: member path contains ".." (it would leave the package)'


def test_missing_header_is_refused(tmp_path: Path) -> None:
    path = log_file(tmp_path, omit=["header.json"])
    assert refusal(evallog.read_summary, path, NAME).startswith(f"{NAME}: header.json: is missing")


def test_unsupported_compression_is_refused(tmp_path: Path) -> None:
    path = log_file(tmp_path, compression=zipfile.ZIP_BZIP2)
    assert "only stored, deflate and zstd are accepted" in refusal(evallog.read_summary, path, NAME)


def test_something_else_is_not_a_log(tmp_path: Path) -> None:
    path = tmp_path / "x.eval"
    path.write_bytes(b"\x7fELF not a log")
    assert refusal(evallog.read_summary, path, "x.eval") == (
        "x.eval: is not an Inspect evaluation log (neither a .eval zip nor a JSON document)")


def test_json_log_over_its_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write_json_log(tmp_path / "big.json", ctf_spec(padding="B" * 50_000))
    line = refusal(evallog.read_summary, path, "big.json", evallog.EvalLimits(max_json_log_bytes=10_000))
    assert line.startswith("big.json: is a JSON log of ") and "ask for the .eval format" in line


def test_sample_ids_that_would_leave_the_samples_folder_are_refused(tmp_path: Path) -> None:
    spec = LogSpec(samples=(LogSample("../x", "a", "b", "c"),))
    path = raw_zip(tmp_path / "ids.eval", {"header.json": json.dumps({
        "version": 2, "status": "success", "eval": {"task": "t", "model": "m"}}).encode(),
        "summaries.json": json.dumps([{"id": "../x", "epoch": 1}]).encode()})
    assert spec.samples[0].id == "../x"
    assert refusal(evallog.read_summary, path, NAME) == (
        f'{NAME}: summaries.json [0].id: "../x" is not a sample id this reader accepts')


def test_json_log_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = write_json_log(tmp_path / "ctf.json", ctf_spec())
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    assert refusal(evallog.read_summary, path, "ctf.json").startswith("ctf.json: is not valid JSON")
    path.write_text("\n[1, 2]", encoding="utf-8")
    assert refusal(evallog.read_summary, path, "ctf.json") == (
        "ctf.json: expected a JSON object (an Inspect log), found a list")
