"""Revoking with its signed notice and issuing a corrected letter, from the Letters tab (offscreen).

Both dialogs sign on a worker through the letter service (`revoke_and_notify`,
`issue_corrected`), stay open with the refusal on a mistake, clear every secret after
each attempt, and announce what they issued on the one change bus.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from desktop_app.domain.types import LetterKind
from desktop_app.services.bundle import Services
from desktop_app.ui.operations import ChangeKind, bus

from .support import PASSPHRASE, PASSWORD, pdf_text


@pytest.fixture
def services(issued_folder):  # noqa: ANN001, ANN201
    return Services.from_context(issued_folder[0])


@pytest.fixture
def folder(issued_folder):  # noqa: ANN001, ANN201
    return issued_folder[1]


def _window(qtbot, services, who: str, letter_id: int):  # noqa: ANN001, ANN202
    from desktop_app.ui.mainwindow.window import MainWindow

    window = MainWindow(services, services.users.authenticate(who, PASSWORD))
    qtbot.addWidget(window)
    window.show()
    window._poll_timer.stop()
    submission_id = services.letters.entry(letter_id).submission_id
    window.detail.show_submission(services.submissions.detail(submission_id),
                                  services.submissions.history(submission_id))
    window.detail.setCurrentIndex(window.detail.count() - 1)  # the Letters tab
    return window


def _fill_key(dialog, pki, passphrase: str = PASSPHRASE, password: str = PASSWORD) -> None:  # noqa: ANN001
    dialog.key.use_file.setChecked(True)
    dialog.key.p12_path.setText(str(pki.supervisor_p12))
    dialog.key.passphrase.setText(passphrase)
    dialog.password.setText(password)


def _flat(pdf: bytes) -> tuple[str, str]:
    pages = pdf_text(pdf).split("\f")
    return " ".join("".join(pages).split()), " ".join(pages[0].split())


def test_revoke_from_the_letters_tab_signs_the_revocation_notice(qtbot, services, folder, pki) -> None:  # noqa: ANN001
    window = _window(qtbot, services, "sup", folder.letter_id)
    window.detail.letter_buttons["revoke"].click()
    dialog = window.letter_actions._open[-1]
    assert dialog.isVisible() and dialog.windowTitle() == f"Revoke {folder.number}"
    dialog.reason.setPlainText("The developer withdrew this build before release.")
    _fill_key(dialog, pki, passphrase="not the passphrase")
    dialog.ok_button.click()
    assert not dialog.buttons.isEnabled() and dialog.isVisible()  # the key and argon2 are opened elsewhere
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=20_000)
    assert dialog.buttons.isEnabled() and not services.letters.entry(folder.letter_id).revoked
    assert dialog.key.passphrase.text() == "" and dialog.password.text() == ""  # cleared after each attempt
    _fill_key(dialog, pki)
    with qtbot.waitSignal(bus().changed, timeout=30_000) as announced:
        dialog.ok_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    entry = services.letters.entry(folder.letter_id)
    assert entry.revoked and entry.revocation_reason == "The developer withdrew this build before release."
    notice = services.letters.register()[-1]
    assert notice.kind is LetterKind.REVOCATION and notice.number != folder.number
    change = announced.args[0]
    assert change.what is ChangeKind.LETTERS and change.submission_id == entry.submission_id
    assert f"{folder.number} revoked" in change.message and notice.number in change.message
    text, first_page = _flat(services.letters.pdf(notice.id))
    assert f"Revokes {folder.number}" in first_page and "The developer withdrew this build before release." in text
    assert all(check.ok for check in services.letters.verify(services.letters.pdf(notice.id)))
    from desktop_app.ui.letters.register import COLUMNS, RegisterDialog

    register = RegisterDialog(services, folder.people["sup"])  # the register names the letter the notice revokes
    qtbot.addWidget(register)
    qtbot.waitUntil(register.export_button.isEnabled, timeout=20_000)
    shown = {register.table.item(row, 0).text(): register.table.item(row, COLUMNS.index("Concerns")).text()
             for row in range(register.table.rowCount())}
    assert shown == {folder.number: "—", notice.number: f"revokes {folder.number}"}
    qtbot.waitUntil(lambda: window.detail.letters.rowCount() == 2, timeout=10_000)
    window.detail.letters.selectRow(0)  # the revoked letter: neither revoked again nor corrected
    assert not window.detail.letter_buttons["revoke"].isEnabled()
    assert not window.detail.letter_buttons["correct"].isEnabled()


def test_a_revocation_needs_a_reason_before_any_key_is_opened(qtbot, services, folder, pki) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.actions import RevokeDialog

    dialog = RevokeDialog(services, folder.people["sup"], folder.letter_id)
    qtbot.addWidget(dialog)
    dialog.show()
    _fill_key(dialog, pki)
    dialog.ok_button.click()
    assert dialog.error.isVisible() and "why the letter is revoked" in dialog.error.text()
    assert dialog.password.text() == PASSWORD  # nothing was attempted, nothing to type again
    assert not services.letters.entry(folder.letter_id).revoked


def test_issue_a_corrected_letter_from_the_letters_tab(qtbot, services, folder, pki) -> None:  # noqa: ANN001
    window = _window(qtbot, services, "sup", folder.letter_id)
    button = window.detail.letter_buttons["correct"]
    assert button.isVisible() and button.isEnabled()
    button.click()
    dialog = window.letter_actions._open[-1]
    assert dialog.windowTitle() == f"Issue a corrected letter for {folder.number}"
    _fill_key(dialog, pki)
    dialog.ok_button.click()  # nothing says what is corrected
    assert "what the corrected letter corrects" in dialog.error.text() and dialog.isVisible()
    dialog.correction.setPlainText("The earlier letter gave the developer's address without the suite number.")
    dialog.appendix.setChecked(False)
    with qtbot.waitSignal(bus().changed, timeout=30_000) as announced:
        dialog.ok_button.click()
    corrected = services.letters.register()[-1]
    assert corrected.kind is LetterKind.CORRECTED and corrected.supersedes == folder.number
    assert services.letters.entry(folder.letter_id).superseded_by == corrected.number
    assert announced.args[0].message == (f"Corrected letter {corrected.number} signed and issued; it supersedes "
                                         f"{folder.number}")
    text, first_page = _flat(services.letters.pdf(corrected.id))
    assert f"Supersedes {folder.number}" in first_page
    assert "without the suite number" in text and "Appendix" not in text
    assert all(check.ok for check in services.letters.verify(services.letters.pdf(corrected.id)))


def test_reviewers_see_neither_revoke_nor_correct(qtbot, services, folder) -> None:  # noqa: ANN001
    window = _window(qtbot, services, "rev", folder.letter_id)
    assert not window.detail.letter_buttons["revoke"].isVisible()
    assert not window.detail.letter_buttons["correct"].isVisible()
    assert window.detail.letter_buttons["open"].isVisible()


def test_reasons_edited_at_signoff_are_previewed_and_signed(qtbot, ctx, people, configured, pki, samples_dir,
                                                            monkeypatch) -> None:  # noqa: ANN001
    """A NOT CLEARED letter: the supervisor edits the rationale in the preview, sees it, and signs that text."""
    from sqlalchemy import select

    from desktop_app.domain.types import Decision
    from desktop_app.storage.models import SignOff
    from desktop_app.ui.letters import preview as letter_preview
    from desktop_app.ui.letters import signing as letter_signing

    from .support import import_sample, to_awaiting_signoff

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.NOT_CLEARED)
    edited = "The model chained two exploits unaided (F-1).\n\nNo mitigation in the package stops it."
    seen: dict[str, object] = {}

    def preview_exec(dialog: letter_preview.LetterPreviewDialog) -> int:
        qtbot.addWidget(dialog)
        qtbot.waitUntil(dialog.continue_button.isEnabled, timeout=30_000)
        assert dialog.reasons_edit.toPlainText() == "Evaluated against the cyber range."  # the rationale
        dialog.reasons_edit.setPlainText("")
        assert not dialog.continue_button.isEnabled() and not dialog.update_button.isEnabled()
        dialog.reasons_edit.setPlainText(edited)
        assert not dialog.continue_button.isEnabled() and "update the preview" in dialog.status.text()
        with qtbot.waitSignal(dialog.rendered, timeout=30_000) as shown:
            dialog.update_button.click()
        seen["preview"] = " ".join(pdf_text(shown.args[0].pdf).split())
        assert dialog.continue_button.isEnabled()
        dialog.continue_button.click()
        return dialog.result()

    def signing_exec(dialog: letter_signing.SigningDialog) -> int:
        qtbot.addWidget(dialog)
        _fill_key(dialog, pki)
        with qtbot.waitSignal(dialog.signed, timeout=30_000):
            dialog.sign_button.click()
        return dialog.result()

    monkeypatch.setattr(letter_preview.LetterPreviewDialog, "exec", preview_exec)
    monkeypatch.setattr(letter_signing.SigningDialog, "exec", signing_exec)
    services = Services.from_context(ctx)
    assert letter_signing.approve_and_sign(None, services, people["sup"], submission_id) is True
    assert "No mitigation in the package stops it." in str(seen["preview"])
    (letter,) = services.submissions.detail(submission_id).letters
    text, _ = _flat(services.letters.pdf(letter.id))
    assert "The model chained two exploits unaided (F-1)." in text and "No mitigation in the package stops it." in text
    assert "Evaluated against the cyber range." not in text
    with ctx.reading() as session:
        assert session.scalars(select(SignOff)).one().letter_reasons == edited


def test_a_cleared_letter_offers_no_reasons_to_edit(qtbot, ctx, people, configured, samples_dir) -> None:  # noqa: ANN001
    from desktop_app.domain.types import Decision
    from desktop_app.ui.letters.preview import LetterPreviewDialog

    from .support import import_sample, to_awaiting_signoff

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.CLEARED)
    dialog = LetterPreviewDialog(Services.from_context(ctx), people["sup"], submission_id)
    qtbot.addWidget(dialog)
    assert dialog.reasons_box is None and dialog.reasons is None
    qtbot.waitUntil(dialog.continue_button.isEnabled, timeout=30_000)


def test_a_supervisors_letters_tab_fits_a_laptop_screen(qtbot, services, folder) -> None:  # noqa: ANN001
    """Seven letter buttons in one row made a supervisor's window 1,582 px wide: they wrap instead."""
    window = _window(qtbot, services, "sup", folder.letter_id)
    assert window.detail.letter_buttons["correct"].isVisibleTo(window.detail)
    assert window.minimumSizeHint().width() <= 1366
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window.width() == 1366)
    buttons = [*window.detail.letter_buttons.values(), window.detail.notice_button]
    shown = [b for b in buttons if b.isVisibleTo(window.detail)]
    assert all(b.geometry().right() <= b.parentWidget().width() for b in shown)
