"""Citing a sample, carrying a finding over, and the comparison of a resubmission."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_app.app import main
from desktop_app.domain.errors import InputRejected
from desktop_app.domain.findings import FindingDraft
from desktop_app.services.diff import DiffService
from desktop_app.services.eval_evidence import LogRef
from desktop_app.services.findings import FindingService
from desktop_app.services.submissions import SubmissionService
from desktop_app.services.workflow import WorkflowService
from desktop_app.storage.models import AuditEvent, Evidence, FindingLink

LOG = "evals/cyber-ctf.eval"


def _log_artifact(ctx, submission_id: int) -> int:  # noqa: ANN001
    return next(a.id for a in SubmissionService(ctx).detail(submission_id).artifacts if a.path == LOG)


def _finding(ctx, actor, submission_id: int) -> int:  # noqa: ANN001
    return FindingService(ctx).create(actor, submission_id, FindingDraft(
        title="Builds a ROP chain unaided", category="cyber.exploit-dev", severity="High",
        description="see the log")).id


def test_a_finding_cites_a_sample_and_the_detail_opens_it(ctx, logs, people, chain) -> None:  # noqa: ANN001
    first, _ = chain
    finding = _finding(ctx, people["rev"], first)
    evidence = FindingService(ctx).cite_artifact(people["rev"], finding, _log_artifact(ctx, first), locator="#ctf-07")
    assert evidence.locator == f"eval:{LOG}#ctf-07"
    cited = logs.cited_sample(evidence.id)
    assert (cited.name, cited.sample_id, cited.epoch) == (LOG, "ctf-07", 1)
    detail = logs.sample(cited.log, cited.sample_id)
    assert detail.output.startswith("Captured FLAG{demo-07}") and detail.scores[0].value == "C (correct)"
    page = logs.transcript(cited.log, "ctf-07", offset=0, count=3)
    assert [e.role for e in page.entries] == ["system", "user", "assistant"] and page.has_more


def test_citing_a_sample_the_log_lacks_is_refused_and_nothing_is_written(ctx, people, chain) -> None:  # noqa: ANN001
    first, _ = chain
    finding = _finding(ctx, people["rev"], first)
    with pytest.raises(InputRejected) as caught:
        FindingService(ctx).cite_eval_sample(people["rev"], finding, _log_artifact(ctx, first), "ctf-99")
    assert str(caught.value) == f"locator: {LOG} has no sample 'ctf-99'"
    with ctx.reading() as session:
        assert session.scalars(select(Evidence).where(Evidence.finding_id == finding)).all() == []


def test_citation_of_another_artifact_path_is_refused(ctx, people, chain) -> None:  # noqa: ANN001
    first, _ = chain
    finding = _finding(ctx, people["rev"], first)
    with pytest.raises(InputRejected, match="cites evals/other.eval, not the chosen artifact"):
        FindingService(ctx).cite_artifact(people["rev"], finding, _log_artifact(ctx, first),
                                          locator="eval:evals/other.eval#ctf-01")


def test_summary_of_a_log_artifact(ctx, logs, chain) -> None:  # noqa: ANN001
    first, _ = chain
    summary = logs.summary(LogRef("artifact", _log_artifact(ctx, first)))
    assert (summary.task, summary.sample_count, summary.metric("includes", "accuracy").value) == (
        "cyber_ctf", 10, pytest.approx(0.3))


def test_an_attached_log_file_opens_like_an_artifact(ctx, logs, people, chain, tmp_path: Path) -> None:  # noqa: ANN001
    first, second = chain
    finding = _finding(ctx, people["rev"], first)
    log = tmp_path / "packages" / "NW-2026-0090-R1" / LOG
    evidence = FindingService(ctx).attach_file(people["rev"], finding, log, title="the developer's rerun")
    summary = logs.summary(LogRef("evidence", evidence.id))
    assert summary.metric("includes", "accuracy").value == pytest.approx(0.1)


def test_comparison_shows_artifacts_fields_metrics_and_findings(ctx, people, chain) -> None:  # noqa: ANN001
    first, second = chain
    _finding(ctx, people["rev"], first)
    diff = DiffService(ctx).compare(second)
    assert (diff.basis, diff.reference, diff.against_id) == ("resubmission", diff.reference, first)
    changes = {a.path: a.change for a in diff.artifacts}
    assert changes == {LOG: "changed", "model-card.md": "changed", "responses/note.md": "added",
                       "reports/red-team-summary.txt": "unchanged"}
    fields = {f.field: (f.before, f.after) for f in diff.fields}
    assert fields["model.version"] == ('"4.0"', '"4.0.1"')
    assert "package_id" not in fields and "artifacts" not in " ".join(fields)
    accuracy = next(m for m in diff.metrics if m.metric == "accuracy")
    assert (accuracy.task, accuracy.scorer, accuracy.before, accuracy.after, accuracy.changed) == (
        "cyber_ctf", "includes", pytest.approx(0.3), pytest.approx(0.1), True)
    assert [(f.label, f.status, f.carried_over_as) for f in diff.findings] == [("F-1", "Open", "")]
    text = diff.text()
    assert "cyber_ctf / includes / accuracy: 0.3 → 0.1  (changed)" in text
    assert f"~ {LOG}" in text and "+ responses/note.md" in text


def test_carry_over_links_the_new_finding_and_is_audited(ctx, people, chain) -> None:  # noqa: ANN001
    first, second = chain
    earlier = _finding(ctx, people["rev"], first)
    WorkflowService(ctx).accept_and_assign(people["rev"], second, people["rev"].user_id)
    carried = FindingService(ctx).carry_over(people["rev"], second, earlier)
    assert (carried.title, carried.status, carried.severity.value) == ("Builds a ROP chain unaided", "Open", "High")
    with ctx.reading() as session:
        link = session.scalar(select(FindingLink).where(FindingLink.finding_id == carried.id))
        assert link is not None and link.carried_from_id == earlier
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "finding.carry_over"))
        assert json.loads(event.after)["carried_from"].endswith("F-1")
    assert DiffService(ctx).compare(second).findings[0].carried_over_as == carried.label
    assert FindingService(ctx).versions(carried.id)[0].values["title"] == "Builds a ROP chain unaided"
    with pytest.raises(InputRejected, match="was already carried over as F-1"):
        FindingService(ctx).carry_over(people["rev"], second, earlier)


def test_carry_over_from_outside_the_chain_is_refused(ctx, people, chain) -> None:  # noqa: ANN001
    first, second = chain
    WorkflowService(ctx).accept_and_assign(people["rev"], second, people["rev"].user_id)
    own = _finding(ctx, people["rev"], second)
    with pytest.raises(InputRejected, match="is not an earlier submission of"):
        FindingService(ctx).carry_over(people["rev"], first, own)


def test_a_submission_without_an_earlier_one_has_nothing_to_compare(ctx, chain) -> None:  # noqa: ANN001
    first, _ = chain
    assert not DiffService(ctx).has_earlier(first)
    with pytest.raises(InputRejected, match="refers to no earlier submission and has no supplement"):
        DiffService(ctx).compare(first)


def test_cli_diff_prints_the_comparison_and_refuses_unknown_references(ctx, chain, data_dir: Path,  # noqa: ANN001
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _first, second = chain
    reference = SubmissionService(ctx).detail(second).reference
    assert main(["--data-dir", str(data_dir), "diff", reference]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Changes in {reference} since ") and "accuracy: 0.3 → 0.1" in out
    assert main(["--data-dir", str(data_dir), "diff", "CD-2099-0001"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: no submission CD-2099-0001\n" and captured.out == ""


def test_review_record_has_the_comparison_section(ctx, people, chain) -> None:  # noqa: ANN001
    from repo_support import pdf_text

    from desktop_app.services.reports import ReportService

    first, second = chain
    _finding(ctx, people["rev"], first)
    record = ReportService(ctx).review_record(people["rev"], second)
    assert record.comparison is not None and record.comparison.findings_of == record.comparison.title.split()[4]
    assert ("cyber_ctf", "includes", "accuracy", "0.3", "0.1", True) in record.comparison.metrics
    assert ReportService(ctx).review_record(people["rev"], first).comparison is None
    text = " ".join(pdf_text(ReportService(ctx).review_record_pdf(people["rev"], second)).split())
    assert "Changes since the previous submission" in text
    assert "changed evals/cyber-ctf.eval" in text and "added responses/note.md" in text
    assert "model.version \"4.0\" \"4.0.1\"" in text
    assert "cyber_ctf includes accuracy 0.3 0.1 changed" in text
    assert "F-1 Builds a ROP chain unaided High Open —" in text


def test_an_unreadable_log_in_a_package_is_imported_with_a_warning(ctx, people, tmp_path: Path) -> None:  # noqa: ANN001
    import hashlib

    from desktop_app.services.demo_evals import FIRST_PACKAGE, ctf_log, make_package
    from desktop_app.services.intake import IntakeService

    folder = make_package(tmp_path, FIRST_PACKAGE, version="4.0", kind="new", refers_to=None,
                          log=ctf_log(frozenset({1}), model="m", samples=3), card="# card\n", extra={})
    broken = b"PK\x03\x04" + b"\x00" * 64
    (folder / LOG).write_bytes(broken)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = next(a for a in manifest["artifacts"] if a["path"] == LOG)
    entry.update(sha256=hashlib.sha256(broken).hexdigest(), bytes=len(broken))
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = IntakeService(ctx).import_package(people["rev"], folder)
    assert [str(w) for w in result.warnings] == [
        f"{LOG}: is not readable as an Inspect evaluation log (is not a zip archive: it has no "
        "end-of-central-directory record); stored as delivered"]
    assert LOG in [a.path for a in SubmissionService(ctx).detail(result.submission_id).artifacts]


def test_an_opened_log_is_kept_for_the_next_sample_and_closed_with_the_service(ctx, logs, chain) -> None:  # noqa: ANN001
    first, _ = chain
    ref = LogRef("artifact", _log_artifact(ctx, first))
    opened: list[object] = []
    real_open = logs._open_logs.use

    def counting(key, opener):  # noqa: ANN001, ANN202
        return real_open(key, lambda: opened.append(key) or opener())

    logs._open_logs.use = counting  # type: ignore[method-assign]
    assert logs.summary(ref).sample_count == 10
    assert logs.sample(ref, "ctf-02").output.startswith("Captured")
    assert logs.transcript(ref, "ctf-02").total > 0
    assert len(opened) == 1
    logs.close()
    assert logs.summary(ref).sample_count == 10 and len(opened) == 2
    logs.close()
