"""Writes that cost time leave the GUI thread: revoking (argon2 re-authentication, signing the notice) and
attaching files by hand (hashing whole files) answer later, by signal."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from desktop_app.services.bundle import Services

from .support import PASSPHRASE, PASSWORD


@pytest.fixture
def services(issued_folder):  # noqa: ANN001, ANN201
    return Services.from_context(issued_folder[0])


@pytest.fixture
def folder(issued_folder):  # noqa: ANN001, ANN201
    return issued_folder[1]


def test_revoking_re_authenticates_on_a_worker(qtbot, services, folder, pki) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.actions import RevokeDialog

    dialog = RevokeDialog(services, folder.people["sup"], folder.letter_id)
    qtbot.addWidget(dialog)
    dialog.show()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.reason.setPlainText("Issued against the wrong package.")

    def key() -> None:
        dialog.key.use_file.setChecked(True)
        dialog.key.p12_path.setText(str(pki.supervisor_p12))
        dialog.key.passphrase.setText(PASSPHRASE)

    key()
    dialog.password.setText("not my password")
    ok.click()
    assert not dialog.buttons.isEnabled() and dialog.isVisible()  # argon2 runs elsewhere; the dialog waits
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "password" in dialog.error.text() and dialog.buttons.isEnabled()
    key()
    dialog.password.setText(PASSWORD)
    ok.click()
    assert dialog.result() != QDialog.DialogCode.Accepted  # not yet: the answer comes by signal
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=30_000)
    assert services.letters.entry(folder.letter_id).revoked


def test_attaching_files_by_hand_hashes_on_a_worker(qtbot, services, folder, tmp_path: Path,  # noqa: ANN001
                                                    monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from desktop_app.ui.mainwindow.window import MainWindow

    window = MainWindow(services, folder.people["rev"])
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window._poll_timer.stop()
    submission_id = services.letters.entry(folder.letter_id).submission_id
    before = len(services.submissions.detail(submission_id).artifacts)
    note = tmp_path / "call notes.txt"
    note.write_bytes(b"notes " * 200_000)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(note)], "")))
    window.attach_files(submission_id)
    assert len(services.submissions.detail(submission_id).artifacts) == before  # not saved on this thread
    qtbot.waitUntil(lambda: len(services.submissions.detail(submission_id).artifacts) == before + 1, timeout=10_000)
    qtbot.waitUntil(lambda: "Attached 1 file(s) by hand" in window.statusBar().currentMessage())
