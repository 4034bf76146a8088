"""The log viewer, an opened sample with its paged transcript, and the changes view (offscreen Qt)."""

from __future__ import annotations

from pathlib import Path

from desktop_app.domain.findings import FindingDraft
from desktop_app.services.eval_evidence import LogRef
from desktop_app.services.evallog_writer import LogSample, LogSpec, write_eval_log
from desktop_app.services.findings import FindingService
from desktop_app.services.submissions import SubmissionService
from desktop_app.services.workflow import WorkflowService
from desktop_app.ui.review.detail_pane import DetailPane
from desktop_app.ui.review.diff_view import DiffDialog
from desktop_app.ui.review.eval_view import (
    EvalLogViewer,
    SampleDialog,
    open_evidence,
    open_log_artifact,
)

LOG = "evals/cyber-ctf.eval"


def _finding(ctx, actor, submission_id: int) -> int:  # noqa: ANN001
    return FindingService(ctx).create(actor, submission_id, FindingDraft(
        title="Builds a ROP chain unaided", category="cyber.exploit-dev", severity="High")).id


def test_log_viewer_shows_the_summary_and_opens_a_sample(qtbot, ctx, services, chain) -> None:  # noqa: ANN001
    first, _ = chain
    detail = SubmissionService(ctx).detail(first)
    artifact = next(a for a in detail.artifacts if a.path == LOG)
    services = services
    assert open_log_artifact(None, services, detail, next(a.id for a in detail.artifacts
                                                          if a.path == "model-card.md")) is None
    viewer = open_log_artifact(None, services, detail, artifact.id)
    assert isinstance(viewer, EvalLogViewer)
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.loaded, timeout=10_000):
        pass
    header = viewer.header.text()
    for text in ("cyber_ctf", "acme/orca-4.0", "basic_agent", "includes", "10 (10 completed"):
        assert text in header
    assert viewer.samples_model.rowCount() == 10
    assert viewer.metrics.item(0, 1).text() == "accuracy" and viewer.metrics.item(0, 2).text() == "0.3"
    assert viewer.usage.item(0, 0).text() == "acme/orca-4.0"
    viewer.samples.selectRow(6)
    sample = viewer.open_selected()
    assert sample is not None
    qtbot.addWidget(sample)
    qtbot.waitUntil(lambda: sample.output.toPlainText() != "", timeout=10_000)
    assert sample.heading.text() == f"<b>eval:{LOG}#ctf-07</b>"
    assert sample.output.toPlainText() == "Captured FLAG{demo-07}"
    assert sample.scores.item(0, 1).text() == "C (correct)"


def test_transcript_pages_forward_and_back(qtbot, ctx, services, people, chain, tmp_path: Path) -> None:  # noqa: ANN001
    first, _ = chain
    messages = tuple({"role": "assistant" if i % 2 else "user", "content": f"turn {i}"} for i in range(120))
    log = write_eval_log(tmp_path / "agent.eval", LogSpec(samples=(LogSample("a1", "go", "x", "done",
                                                                              messages=messages),)))
    evidence = FindingService(ctx).attach_file(people["rev"], _finding(ctx, people["rev"], first), log)
    dialog = SampleDialog(services, LogRef("evidence", evidence.id), "agent.eval", "a1")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.page is not None, timeout=10_000)
    assert dialog.position.text() == "Messages 1–50 of 120"
    assert not dialog.earlier.isEnabled() and dialog.later.isEnabled()
    assert "[50] assistant:\nturn 49" in dialog.transcript.toPlainText()
    assert "turn 50" not in dialog.transcript.toPlainText()  # only the page is held
    with qtbot.waitSignal(dialog.page_loaded, timeout=10_000):
        dialog.later.click()
    with qtbot.waitSignal(dialog.page_loaded, timeout=10_000):
        dialog.later.click()
    assert dialog.position.text() == "Messages 101–120 of 120" and not dialog.later.isEnabled()
    with qtbot.waitSignal(dialog.page_loaded, timeout=10_000):
        dialog.earlier.click()
    assert dialog.position.text() == "Messages 51–100 of 120"


def test_a_cited_sample_opens_from_the_findings_tab(qtbot, ctx, services, people, chain) -> None:  # noqa: ANN001
    first, _ = chain
    finding = _finding(ctx, people["rev"], first)
    artifact = next(a.id for a in SubmissionService(ctx).detail(first).artifacts if a.path == LOG)
    evidence = FindingService(ctx).cite_eval_sample(people["rev"], finding, artifact, "ctf-04")
    detail = SubmissionService(ctx).detail(first)
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.show_submission(detail, [])
    page = pane.findings_page
    page.view.evidence.selectRow(0)
    assert page.view.evidence.item(0, 2).text() == f"eval:{LOG}#ctf-04"
    assert page.buttons["open"].isEnabled()
    with qtbot.waitSignal(page.open_evidence_requested) as opened:
        page.buttons["open"].click()
    assert opened.args == [evidence.id]
    dialog = open_evidence(None, services, detail, evidence.id)
    assert isinstance(dialog, SampleDialog)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.output.toPlainText() != "", timeout=10_000)
    assert dialog.output.toPlainText() == "Captured FLAG{demo-04}" and dialog.input.toPlainText().startswith(
        "Challenge 04")


def test_changes_view_shows_the_comparison_and_carries_a_finding_over(qtbot, ctx, services, people, chain) -> None:  # noqa: ANN001
    first, second = chain
    _finding(ctx, people["rev"], first)
    WorkflowService(ctx).accept_and_assign(people["rev"], second, people["rev"].user_id)
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.show_submission(SubmissionService(ctx).detail(first), [])
    assert pane.changes_button.isHidden()
    pane.show_submission(SubmissionService(ctx).detail(second), [])
    assert not pane.changes_button.isHidden()
    dialog = DiffDialog(services, people["rev"], second, "the resubmission")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        pass
    assert "since" in dialog.heading.text() and "NW-2026-0090 → NW-2026-0090-R1" in dialog.heading.text()
    rows = {(dialog.artifacts.item(r, 0).text(), dialog.artifacts.item(r, 1).text())
            for r in range(dialog.artifacts.rowCount())}
    assert {("changed", LOG), ("changed", "model-card.md"), ("added", "responses/note.md")} <= rows
    metric = [dialog.metrics.item(0, c).text() for c in range(6)]
    assert metric == ["cyber_ctf", "includes", "accuracy", "0.3", "0.1", "changed"]
    assert dialog.findings.item(0, 4).text() == "—"
    dialog.findings.selectRow(0)
    assert dialog.carry_button.isEnabled()
    from desktop_app.ui.operations import bus

    with qtbot.waitSignal(bus().changed, timeout=10_000):
        dialog.carry_button.click()
    qtbot.waitUntil(lambda: dialog.findings.item(0, 4).text() == "F-1", timeout=10_000)
    assert not dialog.carry_button.isEnabled()
    assert [f.title for f in SubmissionService(ctx).detail(second).findings] == ["Builds a ROP chain unaided"]


def test_a_refused_log_shows_one_line_in_the_viewer(qtbot, ctx, services, people, chain, tmp_path: Path) -> None:  # noqa: ANN001
    first, _ = chain
    bad = tmp_path / "broken.eval"
    bad.write_bytes(b"PK\x03\x04 truncated")
    evidence = FindingService(ctx).attach_file(people["rev"], _finding(ctx, people["rev"], first), bad)
    viewer = EvalLogViewer(services, LogRef("evidence", evidence.id), "broken.eval")
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.loaded, timeout=10_000):
        pass
    assert viewer.error.text() == "• broken.eval: is not a zip archive: it has no end-of-central-directory record"
    assert viewer.samples_model.rowCount() == 0


def test_main_window_opens_logs_samples_and_changes(qtbot, ctx, services, people, chain) -> None:  # noqa: ANN001
    from desktop_app.ui.mainwindow.window import MainWindow

    first, second = chain
    finding = _finding(ctx, people["rev"], first)
    artifact = next(a.id for a in SubmissionService(ctx).detail(first).artifacts if a.path == LOG)
    evidence = FindingService(ctx).cite_eval_sample(people["rev"], finding, artifact, "ctf-02")
    WorkflowService(ctx).accept_and_assign(people["rev"], second, people["rev"].user_id)
    window = MainWindow(services, people["rev"])
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.finish_setup()
    window.select_submission(first)
    qtbot.waitUntil(lambda: window.detail.detail is not None and window.detail.detail.id == first, timeout=10_000)
    window.view_artifact(artifact)
    viewer = window.findChild(EvalLogViewer)
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.summary is not None, timeout=10_000)
    window.open_evidence(evidence.id)
    sample = window.findChild(SampleDialog)
    assert sample is not None and sample.cited == f"eval:{LOG}#ctf-02"
    window.select_submission(second)
    qtbot.waitUntil(lambda: window.detail.detail is not None and window.detail.detail.id == second, timeout=10_000)
    assert not window.detail.changes_button.isHidden()
    window.detail.changes_button.click()
    changes = window.changes_dialog
    assert isinstance(changes, DiffDialog)
    qtbot.waitUntil(lambda: changes.diff is not None, timeout=10_000)
    changes.findings.selectRow(0)
    changes.carry_button.click()
    qtbot.waitUntil(lambda: window.detail.detail is not None and len(window.detail.detail.findings) == 1,
                    timeout=10_000)
    assert window.detail.detail.findings[0].title == "Builds a ROP chain unaided"
