"""The letter dialogs on the offscreen platform: verify, preview, sign, view, print, trust admin, Letters tab."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QDialog

from desktop_app.domain.types import Decision
from desktop_app.services.bundle import Services

from .support import PASSPHRASE, PASSWORD, add_finding, import_sample, to_awaiting_signoff


@pytest.fixture
def services(issued_folder):  # noqa: ANN001, ANN201
    """Services over a copy of the folder where CL-2026-0001 was issued."""
    return Services.from_context(issued_folder[0])


@pytest.fixture
def folder(issued_folder):  # noqa: ANN001, ANN201
    return issued_folder[1]


def test_verify_dialog_shows_each_check_for_a_good_and_a_tampered_letter(qtbot, services, folder, tmp_path) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.verify import VerifyDialog

    dialog = VerifyDialog(services.letters)
    qtbot.addWidget(dialog)
    good = tmp_path / "good.pdf"
    good.write_bytes(services.letters.pdf(folder.letter_id))
    with qtbot.waitSignal(dialog.finished_checks, timeout=20_000) as done:
        dialog.verify_file(good)
    assert all(result.ok for result in done.args[0])
    assert dialog.checks.topLevelItemCount() == 10
    assert dialog.verdict.text().startswith("✓ CL-2026-0001 verifies")
    assert not dialog.checks.topLevelItem(0).icon(0).isNull()

    bad = tmp_path / "bad.pdf"
    bad.write_bytes(good.read_bytes() + b"% one more line\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(dialog.finished_checks, timeout=20_000):
        dialog.drop.dropEvent(drop)
    texts = [dialog.checks.topLevelItem(i).text(1) for i in range(dialog.checks.topLevelItemCount())]
    assert dialog.verdict.text().startswith("✗ Does not verify — covers the whole file")
    assert sum(text.startswith("Failed") for text in texts) == 2  # coverage and the registered digest
    assert str(bad) in dialog.source.text()


def test_preview_renders_offscreen_in_a_worker_process(qtbot, ctx, people, configured, awaiting) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.preview import LetterPreviewDialog

    preview = LetterPreviewDialog(Services.from_context(ctx), people["sup"], awaiting)
    qtbot.addWidget(preview)
    qtbot.waitUntil(lambda: preview.continue_button.isEnabled(), timeout=30_000)
    assert preview.pane.document.status() == QPdfDocument.Status.Ready
    assert preview.page_count >= 2 and "CL-2026-0001 (provisional number)" in preview.status.text()
    with qtbot.waitSignal(preview.rendered, timeout=30_000) as again:
        preview.appendix.setChecked(False)
    assert again.args[0] is not None and preview.page_count < 3


def test_signing_dialog_signs_and_clears_every_secret(qtbot, ctx, people, configured, awaiting, pki) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.signing import SigningDialog

    services = Services.from_context(ctx)
    dialog = SigningDialog(services, people["sup"], awaiting)
    qtbot.addWidget(dialog)
    dialog.key.use_file.setChecked(True)
    dialog.key.p12_path.setText(str(pki.supervisor_p12))
    dialog.key.passphrase.setText("not the passphrase")
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.signed, timeout=30_000) as failed:
        dialog.sign_button.click()
    assert failed.args == [None] and "wrong passphrase" in dialog.error.text()
    assert dialog.key.passphrase.text() == "" and dialog.password.text() == ""
    dialog.key.passphrase.setText(PASSPHRASE)
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.signed, timeout=30_000) as signed:
        dialog.sign_button.click()
    issued = signed.args[0]
    assert issued.number == "CL-2026-0001" and dialog.result() == QDialog.DialogCode.Accepted
    assert services.submissions.detail(awaiting).letters[0].number == "CL-2026-0001"
    # the key's location is remembered, never the passphrase
    from PySide6.QtCore import QSettings

    stored = {key: QSettings().value(key) for key in QSettings().allKeys()}
    assert str(pki.supervisor_p12) in stored.values()
    assert not any(PASSPHRASE in str(value) or PASSWORD in str(value) for value in stored.values())


def test_viewer_shows_the_issued_letter_and_prints_it_to_pdf(qtbot, services, folder, tmp_path) -> None:  # noqa: ANN001
    from PySide6.QtPrintSupport import QPrinter

    from desktop_app.ui.letters.viewer import LetterViewer, paint_pages

    viewer = LetterViewer(services.letters, folder.letter_id)
    qtbot.addWidget(viewer)
    assert viewer.pane.document.status() == QPdfDocument.Status.Ready and viewer.pane.page_count >= 2
    assert "CL-2026-0001" in viewer.windowTitle()
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setResolution(150)
    paint_pages(printer, viewer.pane.document)
    printed = QPdfDocument()
    printed.load(str(tmp_path / "printed.pdf"))
    assert printed.pageCount() == viewer.pane.page_count


def test_trust_dialog_lists_and_enrols(qtbot, services, folder, pki, monkeypatch) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.trust import EnrolDialog, TrustDialog

    admin = folder.people["admin"]
    dialog = TrustDialog(services.letters.trust, admin)
    qtbot.addWidget(dialog)
    assert dialog.anchors.rowCount() == 1 and dialog.anchors.item(0, 0).text() == "DEMO Clearance Desk Root CA"
    assert dialog.crls.rowCount() == 2 and dialog.crls.item(0, 4).text() == "current"
    users = [dialog.people.item(r, 0).text() for r in range(dialog.people.rowCount())]
    assert users == ["sup", "sup2"] and dialog.people.item(1, 2).text() == "not enrolled"
    enrol = EnrolDialog(services.letters.trust, admin, "sup2")
    qtbot.addWidget(enrol)
    enrol.key.use_file.setChecked(True)
    enrol.key.p12_path.setText(str(pki.supervisor_p12))
    enrol.key.passphrase.setText(PASSPHRASE)
    with qtbot.waitSignal(enrol.accepted, timeout=20_000):
        enrol.enrol()
    dialog.reload()
    assert dialog.people.item(1, 2).text() == "DEMO Supervisor Dana Supervisor"
    assert enrol.key.passphrase.text() == ""


def test_letters_tab_buttons_reach_the_letter_actions(qtbot, services, folder, monkeypatch) -> None:  # noqa: ANN001
    from desktop_app.ui.mainwindow.window import MainWindow

    calls: list[tuple[str, int]] = []
    from desktop_app.ui.letters import actions as letter_actions

    for name in ("open_letter", "save_letter", "print_letter", "verify_letter", "revoke_letter", "correct_letter"):
        monkeypatch.setattr(letter_actions.LetterActions, name,
                            lambda self, letter_id, name=name: calls.append((name, letter_id)))
    sup = services.users.authenticate("sup", PASSWORD)
    window = MainWindow(services, sup)
    qtbot.addWidget(window)
    window.show()
    entry = services.letters.entry(folder.letter_id)
    window.detail.show_submission(services.submissions.detail(entry.submission_id),
                                  services.submissions.history(entry.submission_id))
    assert window.detail.letters.rowCount() == 1
    for key in ("open", "save", "print", "verify", "revoke", "correct"):
        window.detail.letter_buttons[key].click()
    assert [name for name, _ in calls] == ["open_letter", "save_letter", "print_letter", "verify_letter",
                                           "revoke_letter", "correct_letter"]
    assert {letter_id for _, letter_id in calls} == {folder.letter_id}
    menus = {action.text() for menu in window.menuBar().findChildren(type(window.file_menu))
             for action in menu.actions()}
    assert "&Verify a letter…" in menus
    window.close()


def test_gui_thread_stays_responsive_while_a_300_finding_letter_renders(qtbot, ctx, people, configured,
                                                                         samples_dir) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.preview import LetterPreviewDialog

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    for number in range(300):
        add_finding(ctx, submission_id, people["rev2"], f"Finding {number}: multi-turn exploit drafting", "Low",
                    releasable=True)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.NOT_CLEARED)
    services = Services.from_context(ctx)
    services.letters.preview(people["sup"], submission_id, in_subprocess=True)  # the worker process is warm
    lateness: list[float] = []
    expected = [time.perf_counter() + 0.01]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(now - expected[0])
        expected[0] = now + 0.01

    dialog = LetterPreviewDialog(services, people["sup"], submission_id)
    qtbot.addWidget(dialog)
    dialog.show()
    timer = QTimer(interval=10)
    timer.timeout.connect(tick)
    expected[0] = time.perf_counter() + 0.01
    timer.start()
    qtbot.waitUntil(lambda: dialog.continue_button.isEnabled(), timeout=60_000)
    timer.stop()
    assert dialog.page_count > 5
    worst = max(lateness[1:]) * 1000
    assert worst < 50, f"the GUI thread was late by {worst:.0f} ms"


def test_approve_and_sign_flow_previews_then_signs(qtbot, ctx, people, configured, awaiting, pki,
                                                   monkeypatch) -> None:  # noqa: ANN001
    """The entry point the detail pane's "Approve…" calls, with both modal dialogs driven as a user would."""
    from desktop_app.ui.letters import preview as letter_preview
    from desktop_app.ui.letters import signing as letter_signing

    seen: dict[str, object] = {}

    def preview_exec(dialog: letter_preview.LetterPreviewDialog) -> int:
        qtbot.addWidget(dialog)
        qtbot.waitUntil(dialog.continue_button.isEnabled, timeout=30_000)
        seen["pages"] = dialog.page_count
        dialog.continue_button.click()
        return dialog.result()

    def signing_exec(dialog: letter_signing.SigningDialog) -> int:
        qtbot.addWidget(dialog)
        dialog.key.use_file.setChecked(True)
        dialog.key.p12_path.setText(str(pki.supervisor_p12))
        dialog.key.passphrase.setText(PASSPHRASE)
        dialog.password.setText(PASSWORD)
        with qtbot.waitSignal(dialog.signed, timeout=30_000):
            dialog.sign_button.click()
        return dialog.result()

    monkeypatch.setattr(letter_preview.LetterPreviewDialog, "exec", preview_exec)
    monkeypatch.setattr(letter_signing.SigningDialog, "exec", signing_exec)
    services = Services.from_context(ctx)
    assert letter_signing.approve_and_sign(None, services, people["sup"], awaiting) is True
    assert seen["pages"] and services.submissions.detail(awaiting).state.value == "ISSUED"
    (letter,) = services.submissions.detail(awaiting).letters
    assert all(check.ok for check in services.letters.verify(services.letters.pdf(letter.id)))


def test_signing_dialog_for_a_refusal_notice(qtbot, ctx, people, configured, pki, samples_dir) -> None:  # noqa: ANN001
    from desktop_app.domain.types import LetterKind, SubmissionState
    from desktop_app.ui.letters.signing import SigningDialog

    from .support import to_state

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_state(ctx, submission_id, people["rev"], SubmissionState.REFUSED, reasons=["No weights were delivered."])
    dialog = SigningDialog(Services.from_context(ctx), people["sup"], submission_id, kind=LetterKind.REFUSAL)
    qtbot.addWidget(dialog)
    assert not dialog.comment.isVisible() and dialog.sign_button.text() == "&Sign and issue"
    dialog.key.use_file.setChecked(True)
    dialog.key.p12_path.setText(str(pki.supervisor_p12))
    dialog.key.passphrase.setText(PASSPHRASE)
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.signed, timeout=30_000) as signed:
        dialog.sign_button.click()
    assert signed.args[0].kind is LetterKind.REFUSAL
