"""Samples of a log attached to a finding as a file: cited, resolved, opened, and picked from a list."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from desktop_app.domain.errors import InputRejected
from desktop_app.domain.findings import FindingDraft
from desktop_app.services.demo_evals import RESUBMISSION
from desktop_app.services.eval_evidence import LogRef
from desktop_app.services.findings import FindingService
from desktop_app.services.submissions import SubmissionService
from desktop_app.services.workflow import WorkflowService
from desktop_app.storage.models import AuditEvent, Evidence
from desktop_app.ui.operations import bus

LOG = "evals/cyber-ctf.eval"


def _finding(ctx, actor, submission_id: int, title: str = "Builds a ROP chain unaided") -> int:  # noqa: ANN001
    return FindingService(ctx).create(actor, submission_id, FindingDraft(
        title=title, category="cyber.exploit-dev", severity="High", description="see the log")).id


def _rerun(tmp_path: Path) -> Path:
    """The developer's re-run log (the resubmission's), as a reviewer would attach it: ctf-02 solved."""
    return tmp_path / "packages" / RESUBMISSION / LOG


def test_a_sample_of_an_attached_log_is_cited_by_file_hash_and_resolves(  # noqa: ANN001
        ctx, logs, people, chain, tmp_path: Path) -> None:
    first, _ = chain
    findings = FindingService(ctx)
    holder, citing = _finding(ctx, people["rev"], first), _finding(ctx, people["rev"], first, "Second finding")
    attached = findings.attach_file(people["rev"], holder, _rerun(tmp_path), title="the developer's rerun")
    digest = hashlib.sha256(_rerun(tmp_path).read_bytes()).hexdigest()
    cited = findings.cite_file_sample(people["rev"], citing, attached.id, "ctf-02")
    assert cited.locator == f"eval:file:{digest[:12]}/cyber-ctf.eval#ctf-02"
    assert (cited.kind, cited.blob_sha256, cited.title) == ("file", digest, "cyber-ctf.eval #ctf-02")
    sample = logs.cited_sample(cited.id)
    assert (sample.log, sample.sample_id, sample.epoch) == (LogRef("evidence", cited.id), "ctf-02", 1)
    assert logs.sample(sample.log, "ctf-02").output == "Captured FLAG{demo-02}"
    with ctx.reading() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.cite_sample"))
    assert json.loads(event.after)["locator"] == cited.locator and json.loads(event.after)["sha256"] == digest
    # the citation holds the file itself: detaching the attachment it was picked from leaves it resolvable
    findings.detach_evidence(people["rev"], attached.id, "attached to the wrong finding")
    assert logs.sample(logs.cited_sample(cited.id).log, "ctf-02").scores[0].value == "C (correct)"


def test_a_file_sample_citation_is_refused_for_a_missing_sample_or_another_submission(  # noqa: ANN001
        ctx, people, chain, tmp_path: Path) -> None:
    first, second = chain
    findings = FindingService(ctx)
    finding = _finding(ctx, people["rev"], first)
    attached = findings.attach_file(people["rev"], finding, _rerun(tmp_path))
    with pytest.raises(InputRejected) as missing:
        findings.cite_file_sample(people["rev"], finding, attached.id, "ctf-99")
    assert str(missing.value) == "locator: cyber-ctf.eval has no sample 'ctf-99'"
    WorkflowService(ctx).accept_and_assign(people["rev"], second, people["rev"].user_id)
    elsewhere = _finding(ctx, people["rev"], second)
    with pytest.raises(InputRejected, match=r"^log: is not a log attached to a finding of CD-"):
        findings.cite_file_sample(people["rev"], elsewhere, attached.id, "ctf-02")
    with ctx.reading() as session:
        assert session.scalars(select(Evidence).where(Evidence.locator != "")).all() == []


def test_a_citation_naming_another_file_does_not_resolve(ctx, logs, people, chain, tmp_path: Path) -> None:  # noqa: ANN001
    first, _ = chain
    findings = FindingService(ctx)
    finding = _finding(ctx, people["rev"], first)
    attached = findings.attach_file(people["rev"], finding, _rerun(tmp_path))
    cited = findings.cite_file_sample(people["rev"], finding, attached.id, "ctf-02")
    with ctx.transaction() as session:  # a record edited outside the application
        session.get(Evidence, cited.id).locator = "eval:file:000000000000/cyber-ctf.eval#ctf-02"
    with pytest.raises(InputRejected, match="file:000000000000/cyber-ctf.eval is not the file this evidence holds"):
        logs.cited_sample(cited.id)


def test_a_cited_sample_of_an_attached_log_opens_from_the_findings_tab(  # noqa: ANN001
        qtbot, ctx, services, people, chain, tmp_path: Path) -> None:
    from desktop_app.ui.review.detail_pane import DetailPane
    from desktop_app.ui.review.eval_view import SampleDialog, open_evidence

    first, _ = chain
    finding = _finding(ctx, people["rev"], first)
    attached = FindingService(ctx).attach_file(people["rev"], finding, _rerun(tmp_path))
    cited = FindingService(ctx).cite_file_sample(people["rev"], finding, attached.id, "ctf-02")
    detail = SubmissionService(ctx).detail(first)
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.show_submission(detail, [])
    page = pane.findings_page
    page.view.evidence.selectRow(1)
    assert page.view.evidence.item(1, 2).text() == cited.locator and page.buttons["open"].isEnabled()
    dialog = open_evidence(None, services, detail, cited.id)
    assert isinstance(dialog, SampleDialog) and dialog.cited == cited.locator
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.output.toPlainText() != "", timeout=10_000)
    assert dialog.output.toPlainText() == "Captured FLAG{demo-02}"


def _cite_dialog(qtbot, services, people, submission_id: int):  # noqa: ANN001, ANN202
    from desktop_app.ui.mainwindow.window import MainWindow
    from desktop_app.ui.review.findings import CiteArtifactDialog

    window = MainWindow(services, people["rev"])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.select_submission(submission_id)
    qtbot.waitUntil(lambda: window.detail.detail is not None and window.detail.detail.id == submission_id)
    page = window.detail.findings_page
    window.detail.setCurrentWidget(page)
    page.select_finding(window.detail.detail.findings[0].id)
    qtbot.mouseClick(page.buttons["cite"], Qt.MouseButton.LeftButton)
    dialog = window.review.dialog
    assert isinstance(dialog, CiteArtifactDialog)
    return window, dialog


def test_the_reviewer_picks_a_sample_from_the_log_s_list_instead_of_typing_it(  # noqa: ANN001
        qtbot, services, people, chain) -> None:
    first, _ = chain
    finding = _finding(services.ctx, people["rev"], first)
    _window, dialog = _cite_dialog(qtbot, services, people, first)
    assert dialog.sample_box.isHidden()  # the first artifact is no log
    with qtbot.waitSignal(dialog.samples_loaded, timeout=10_000):
        dialog.artifact.setCurrentIndex(dialog.artifact.findText(LOG, Qt.MatchFlag.MatchStartsWith))
    assert not dialog.sample_box.isHidden() and dialog.samples_model.rowCount() == 10
    assert dialog.samples_model.data(dialog.samples_model.index(3, 0)) == "ctf-04"
    assert dialog.samples_model.data(dialog.samples_model.index(3, 3)) == "completed"
    assert "10 samples of cyber_ctf" in dialog.sample_status.text()
    dialog.sample_filter.setText("ctf-07")
    assert dialog.samples_proxy.rowCount() == 1
    dialog.samples.setCurrentIndex(dialog.samples_proxy.index(0, 0))
    assert dialog.locator.text() == "#ctf-07" and dialog.title_edit.placeholderText() == "defaults to the artifact's path"
    with qtbot.waitSignal(bus().changed, timeout=5000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    (evidence,) = services.findings.get(finding).evidence
    assert (evidence.kind, evidence.locator) == ("artifact", f"eval:{LOG}#ctf-07")


def test_the_picker_lists_logs_attached_to_findings_and_cites_their_samples(  # noqa: ANN001
        qtbot, services, people, chain, tmp_path: Path) -> None:
    first, _ = chain
    finding = _finding(services.ctx, people["rev"], first)
    attached = services.findings.attach_file(people["rev"], finding, _rerun(tmp_path))
    _window, dialog = _cite_dialog(qtbot, services, people, first)
    label = "cyber-ctf.eval (evaluation log attached to F-1)"
    assert dialog.artifact.findText(label) >= 0
    with qtbot.waitSignal(dialog.samples_loaded, timeout=10_000):
        dialog.artifact.setCurrentIndex(dialog.artifact.findText(label))
    assert dialog.select_sample("ctf-02") and dialog.locator.text() == "#ctf-02"
    assert dialog.title_edit.placeholderText() == "defaults to cyber-ctf.eval #ctf-02"
    with qtbot.waitSignal(bus().changed, timeout=5000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    evidence = services.findings.get(finding).evidence
    assert [e.locator for e in evidence] == ["", f"eval:file:{attached.blob_sha256[:12]}/cyber-ctf.eval#ctf-02"]


def test_citing_an_attached_log_without_picking_a_sample_is_refused_in_the_dialog(  # noqa: ANN001
        qtbot, services, people, chain, tmp_path: Path) -> None:
    first, _ = chain
    finding = _finding(services.ctx, people["rev"], first)
    services.findings.attach_file(people["rev"], finding, _rerun(tmp_path))
    _window, dialog = _cite_dialog(qtbot, services, people, first)
    with qtbot.waitSignal(dialog.samples_loaded, timeout=10_000):
        dialog.artifact.setCurrentIndex(dialog.artifact.findText("cyber-ctf.eval", Qt.MatchFlag.MatchStartsWith))
    dialog.submit()
    assert dialog.isVisible() and dialog.error.text().endswith("pick a sample of the log")
    assert len(services.findings.get(finding).evidence) == 1
