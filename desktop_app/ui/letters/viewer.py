"""Showing, saving and printing letters: Qt's own PDF engine, nothing handed to the OS.

`PdfPane` shows PDF bytes in a QPdfView (the preview before signing and the issued
letter alike). An issued letter comes from the register, which refuses a stored copy
that no longer matches its recorded SHA-256, so what is shown, saved or printed is
exactly what was signed.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.services.letters import LetterService, RegisterEntry
from desktop_app.ui.common.errors import show_problems
from desktop_app.ui.operations import Operation

log = logging.getLogger("clearance_desk.ui")

PRINT_DPI = 300


class PdfPane(QWidget):
    """A read-only PDF view over bytes held in memory; `set_pdf` replaces what is shown."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "Letter") -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setAccessibleName(name)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setPageSpacing(12)
        self._data = QByteArray()
        self._buffer: QBuffer | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def set_pdf(self, pdf: bytes) -> bool:
        """Show `pdf`; False if Qt cannot read it. The buffer lives as long as the document uses it."""
        self.document.close()
        if self._buffer is not None:
            self._buffer.close()
        self._data = QByteArray(pdf)
        self._buffer = QBuffer(self._data, self)
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(self._buffer)
        return self.document.status() == QPdfDocument.Status.Ready

    def clear(self) -> None:
        self.document.close()

    @property
    def page_count(self) -> int:
        return self.document.pageCount()


def print_pdf(parent: QWidget, document: QPdfDocument, title: str) -> bool:
    """Print every page through the platform's print dialog (QPrinter); False if cancelled."""
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(title)
    printer.setResolution(PRINT_DPI)
    printer.setFromTo(1, document.pageCount())
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(f"Print {title}")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    paint_pages(printer, document)
    return True


def paint_pages(printer: object, document: QPdfDocument) -> None:
    """Render each page at the printer's resolution, scaled to fit its printable area."""
    from PySide6.QtPrintSupport import QPrinter

    assert isinstance(printer, QPrinter)
    first, last = printer.fromPage() or 1, printer.toPage() or document.pageCount()
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("the printer could not be opened")
    try:
        dpi = printer.resolution()
        for index in range(first - 1, min(last, document.pageCount())):
            if index > first - 1:
                printer.newPage()
            points = document.pagePointSize(index)
            size = QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
            image = document.render(index, size)
            area = painter.viewport()
            scaled = size.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(QRect(area.topLeft(), scaled), image)
    finally:
        painter.end()


class LetterViewer(QDialog):
    """An issued letter, read-only, with Save a copy…, Print… and Verify."""

    def __init__(self, letters: LetterService, letter_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.letters = letters
        self.entry: RegisterEntry = letters.entry(letter_id)
        self.pdf = letters.pdf(letter_id)
        self.setWindowTitle(f"{self.entry.number} — {self.entry.kind.value.replace('-', ' ')} letter")
        self.resize(860, 980)
        self.pane = PdfPane(self, name=f"Letter {self.entry.number}")
        status = QLabel(f"<b>{self.entry.number}</b> · submission {self.entry.reference} · issued "
                        f"{self.entry.issued_at:%Y-%m-%d %H:%M} UTC by {html.escape(self.entry.signer)} · "
                        f"<b>{self.entry.status}</b>")
        status.setToolTip(f"SHA-256 of the signed PDF: {self.entry.pdf_sha256}")
        status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status.setWordWrap(True)
        save = QPushButton("&Save a copy…")
        save.clicked.connect(lambda: save_letter(self, self.letters, self.entry.id, lambda _target: None))
        print_button = QPushButton("&Print…")
        print_button.clicked.connect(lambda: print_pdf(self, self.pane.document, self.entry.file_name))
        verify = QPushButton("&Verify")
        verify.clicked.connect(self.verify)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        for button in (save, print_button, verify):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(status)
        layout.addWidget(self.pane, 1)
        layout.addLayout(row)
        self.pane.set_pdf(self.pdf)

    def verify(self) -> None:
        from desktop_app.ui.letters.verify import VerifyDialog

        dialog = VerifyDialog(self.letters, self)
        dialog.verify_bytes(self.pdf, f"{self.entry.number} (from the register)")
        dialog.show()


def open_letter(parent: QWidget, letters: LetterService, letter_id: int) -> LetterViewer | None:
    try:
        viewer = LetterViewer(letters, letter_id, parent)
    except ClearanceDeskError as error:
        show_problems(parent, "Cannot open this letter", error)
        return None
    viewer.show()
    return viewer


def save_letter(parent: QWidget, letters: LetterService, letter_id: int, saved: Callable[[Path], None]) -> None:
    """Ask where, then write the letter exactly as issued (never over an existing file), on a worker."""
    try:
        entry = letters.entry(letter_id)
    except ClearanceDeskError as error:
        show_problems(parent, "Cannot save the letter", error)
        return
    name, _ = QFileDialog.getSaveFileName(parent, f"Save {entry.number}", entry.file_name, "PDF (*.pdf)")
    if not name:
        return
    target = Path(name)

    def save() -> Path:
        if target.exists():  # the dialog already asked whether to replace it
            target.unlink()
        return letters.save_copy(letter_id, target)

    Operation(parent, save, title="Cannot save the letter").success(lambda written: saved(written)).run()


def print_letter(parent: QWidget, letters: LetterService, letter_id: int) -> bool:
    try:
        entry = letters.entry(letter_id)
        pane = PdfPane(parent)
        if not pane.set_pdf(letters.pdf(letter_id)):
            raise OSError(f"{entry.number} could not be read for printing")
        try:
            return print_pdf(parent, pane.document, entry.file_name)
        finally:
            pane.deleteLater()
    except (ClearanceDeskError, OSError) as error:
        show_problems(parent, "Cannot print the letter", error)
        return False


__all__ = ["LetterViewer", "PdfPane", "open_letter", "paint_pages", "print_letter", "save_letter"]
