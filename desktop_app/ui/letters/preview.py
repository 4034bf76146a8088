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
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.domain.types import Decision, LetterKind
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
        detail = services.submissions.detail(submission_id)
        self.appendix.setVisible(kind is LetterKind.CLEARANCE and bool(detail.findings))
        pending = detail.pending_recommendation
        self.reasons_box = self._reasons_editor(pending.rationale if pending is not None else "") \
            if kind is LetterKind.CLEARANCE and pending is not None and pending.decision != Decision.CLEARED.value \
            else None
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
        if self.reasons_box is not None:
            layout.addWidget(self.reasons_box)
        layout.addWidget(self.status)
        layout.addWidget(self.pane, 1)
        layout.addWidget(self.buttons)
        self._generation = 0
        self._rendered_current = False
        self.render()

    def _reasons_editor(self, rationale: str) -> QGroupBox:
        """"Not cleared" and "cleared with conditions" state the agency's reasons: approved here, as edited."""
        box = QGroupBox("Reasons stated in the letter")
        self.reasons_edit = QPlainTextEdit(rationale)
        self.reasons_edit.setAccessibleName("Reasons stated in the letter")
        self.reasons_edit.setToolTip("The recommendation's rationale as the developer will read it; edit it before "
                                     "you sign. Blank lines separate paragraphs. What you approve is recorded with "
                                     "the sign-off.")
        self.reasons_edit.setTabChangesFocus(True)
        self.reasons_edit.setMaximumHeight(120)
        self.reasons_edit.textChanged.connect(self._reasons_changed)
        self.update_button = QPushButton("&Update preview")
        self.update_button.setEnabled(False)
        self.update_button.clicked.connect(self.render)
        note = QLabel("The recommendation's rationale; edit it as the agency states it to the developer.")
        note.setWordWrap(True)
        theme.colour_text(note, "muted")
        row = QHBoxLayout()
        row.addWidget(note, 1)
        row.addWidget(self.update_button)
        column = QVBoxLayout(box)
        column.addWidget(self.reasons_edit)
        column.addLayout(row)
        self._shown_reasons = rationale.strip()
        return box

    @property
    def include_appendix(self) -> bool:
        return self.appendix.isChecked()

    @property
    def reasons(self) -> str | None:
        """The reasons as approved for the letter (None: a letter that states none)."""
        return self.reasons_edit.toPlainText().strip() if self.reasons_box is not None else None

    def _reasons_changed(self) -> None:
        """Edited reasons are signed only once the preview shows them."""
        if self.reasons == self._shown_reasons:
            self.update_button.setEnabled(False)
            self.continue_button.setEnabled(self.page_count > 0 and self._rendered_current)
            return
        self.update_button.setEnabled(bool(self.reasons))
        self.continue_button.setEnabled(False)
        self.status.setText("The reasons changed: update the preview to see the letter you will sign."
                            if self.reasons else "A letter with this decision states its reasons: write them.")

    def render(self) -> None:
        self._generation += 1
        generation = self._generation
        appendix, reasons = self.include_appendix, self.reasons
        self._rendered_current = False
        self.continue_button.setEnabled(False)
        self.appendix.setEnabled(False)
        if self.reasons_box is not None:
            self.update_button.setEnabled(False)
        self.status.setText("Rendering the preview…")
        letters, actor, submission_id, kind = self.services.letters, self.actor, self.submission_id, self.kind
        run_task(lambda: letters.preview(actor, submission_id, kind=kind, appendix=appendix, in_subprocess=True,
                                         reasons=reasons),
                 on_done=lambda result: self._show(generation, result, reasons),
                 on_error=lambda error: self._failed(generation, error))

    def _show(self, generation: int, rendered: object, reasons: str | None = None) -> None:
        if generation != self._generation:
            return
        self.appendix.setEnabled(True)
        self._shown_reasons = reasons
        self._rendered_current = True
        pdf = getattr(rendered, "pdf", b"")
        if not self.pane.set_pdf(pdf):
            self.status.setText("The preview could not be shown.")
            self.rendered.emit(None)
            return
        self.page_count = self.pane.page_count
        number = getattr(rendered, "number", "")
        pages = f"{self.page_count} page{'s' if self.page_count != 1 else ''}"
        self.status.setText(f"Preview of {number} (provisional number) · {pages} · unsigned")
        if self.reasons_box is not None and self.reasons != reasons:  # edited while it rendered
            self._reasons_changed()
            self.rendered.emit(rendered)
            return
        self.continue_button.setEnabled(True)
        self.continue_button.setFocus()
        self.rendered.emit(rendered)

    def _failed(self, generation: int, error: Exception) -> None:
        if generation != self._generation:
            return
        self.appendix.setEnabled(True)
        if self.reasons_box is not None:
            self.update_button.setEnabled(bool(self.reasons))  # e.g. a character the letter refuses: edit, retry
        detail = str(error) if isinstance(error, ClearanceDeskError) else f"{type(error).__name__}: {error}"
        self.status.setText(f"<span style='color:{theme.colour("error").name()}'>No letter can be issued: {detail}</span>")
        self.rendered.emit(None)
