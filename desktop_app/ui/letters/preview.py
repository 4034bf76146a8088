"""The letter as it will be issued, shown before the supervisor signs it.

The unsigned preview is rendered in a worker process (reportlab holds the GIL, and a
letter with a long findings appendix takes long enough to stall repaints), waited on
from a worker thread, and shown in a QPdfView. Its number is the next free one; the
number, signing time and audit-chain head are fixed when the letter is signed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.domain.types import LetterKind
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.ui.letters.viewer import PdfPane
from desktop_app.ui.threads import run_task
from desktop_app.ui.common import theme

_WHAT = {
    LetterKind.CLEARANCE: "clearance letter",
    LetterKind.REFUSAL: "notice of refusal",
    LetterKind.INFORMATION_REQUEST: "request for information",
}


class LetterPreviewDialog(QDialog):
    """Preview, then "Continue to signing…" (accept) or Cancel; `rendered` fires when a preview is shown."""

    rendered = Signal(object)

    def __init__(self, services: Services, actor: Actor, submission_id: int, *,
                 kind: LetterKind = LetterKind.CLEARANCE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.actor, self.submission_id, self.kind = services, actor, submission_id, kind
        self.page_count = 0
        self.setWindowTitle(f"Preview the {_WHAT[kind]} — unsigned")
        self.resize(880, 1000)
        note = QLabel(f"This is the {_WHAT[kind]} as it will be issued. It is <b>not signed</b>: the letter "
                      f"number, the signing time and the audit-chain head are fixed when you sign.")
        note.setWordWrap(True)
        self.appendix = QCheckBox("Include the findings &appendix")
        self.appendix.setChecked(True)
        has_findings = bool(services.submissions.detail(submission_id).findings)
        self.appendix.setVisible(kind is LetterKind.CLEARANCE and has_findings)
        self.appendix.toggled.connect(lambda _on: self.render())
        self.status = QLabel("Rendering the preview…")
        self.status.setAccessibleName("Preview status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        self.pane = PdfPane(self, name="Letter preview")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.continue_button = QPushButton("Continue to &signing…")
        self.continue_button.setDefault(True)
        self.continue_button.setEnabled(False)
        self.buttons.addButton(self.continue_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.appendix)
        layout.addWidget(self.status)
        layout.addWidget(self.pane, 1)
        layout.addWidget(self.buttons)
        self._generation = 0
        self.render()

    @property
    def include_appendix(self) -> bool:
        return self.appendix.isChecked()

    def render(self) -> None:
        self._generation += 1
        generation = self._generation
        appendix = self.include_appendix
        self.continue_button.setEnabled(False)
        self.appendix.setEnabled(False)
        self.status.setText("Rendering the preview…")
        letters, actor, submission_id, kind = self.services.letters, self.actor, self.submission_id, self.kind
        run_task(lambda: letters.preview(actor, submission_id, kind=kind, appendix=appendix, in_subprocess=True),
                 on_done=lambda result: self._show(generation, result),
                 on_error=lambda error: self._failed(generation, error))

    def _show(self, generation: int, rendered: object) -> None:
        if generation != self._generation:
            return
        self.appendix.setEnabled(True)
        pdf = getattr(rendered, "pdf", b"")
        if not self.pane.set_pdf(pdf):
            self.status.setText("The preview could not be shown.")
            self.rendered.emit(None)
            return
        self.page_count = self.pane.page_count
        number = getattr(rendered, "number", "")
        pages = f"{self.page_count} page{'s' if self.page_count != 1 else ''}"
        self.status.setText(f"Preview of {number} (provisional number) · {pages} · unsigned")
        self.continue_button.setEnabled(True)
        self.continue_button.setFocus()
        self.rendered.emit(rendered)

    def _failed(self, generation: int, error: Exception) -> None:
        if generation != self._generation:
            return
        self.appendix.setEnabled(True)
        detail = str(error) if isinstance(error, ClearanceDeskError) else f"{type(error).__name__}: {error}"
        self.status.setText(f"<span style='color:{theme.colour("error").name()}'>No letter can be issued: {detail}</span>")
        self.rendered.emit(None)
