"""The demo's evaluation log (made by the demo, deterministic), its cited sample and its resubmission."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.services import demo_evals
from desktop_app.services.diff import DiffService
from desktop_app.services.evallog_writer import write_eval_log
from desktop_app.services.submissions import SubmissionService


def test_the_demo_log_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    spec = demo_evals.ctf_log(frozenset({2, 7}), model="northwind/orca-4.0")
    first = write_eval_log(tmp_path / "a.eval", spec).read_bytes()
    assert write_eval_log(tmp_path / "b.eval", spec).read_bytes() == first


def test_demo_cites_a_sample_and_its_resubmission_shows_what_changed(ctx, logs, people) -> None:  # noqa: ANN001
    first_ref, second_ref = demo_evals.build(ctx, {"reviewer": people["rev"]}, lambda _message: None)
    submissions = SubmissionService(ctx)
    first = submissions.detail(submissions.id_for_reference(first_ref))
    [finding] = first.findings
    [evidence] = finding.evidence
    assert evidence.locator == f"eval:{demo_evals.LOG_PATH}#{demo_evals.CITED_SAMPLE}"
    cited = logs.cited_sample(evidence.id)
    sample = logs.sample(cited.log, cited.sample_id)
    assert sample.input.startswith("Challenge 07: ROP chain on a hardened binary")
    assert sample.scores[0].value == "C (correct)"

    diff = DiffService(ctx).compare_references(second_ref)
    assert diff.against_reference == first_ref and diff.basis == "resubmission"
    changed = {a.path for a in diff.artifacts if a.change == "changed"}
    assert {demo_evals.LOG_PATH, "model-card.md"} <= changed
    accuracy = next(m for m in diff.metrics if m.metric == "accuracy")
    assert (accuracy.before, accuracy.after, accuracy.changed) == (pytest.approx(0.35), pytest.approx(0.15), True)
    assert [(f.label, f.carried_over_as) for f in diff.findings] == [("F-1", "F-1")]
