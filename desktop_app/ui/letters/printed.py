"""Verify a printed letter…: open a scan or photo, read its QR code, compare it with the register.

Decoding the image and checking the seal run off the GUI thread (a 600-dpi scan takes
a noticeable moment). The answer is the same one line `clearance-desk verify --scan`
prints, above a table of what the paper's code says beside what the register holds, so
the reader can compare both with the paper in hand; a field that differs is marked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.services.bundle import Services
from desktop_app.services.letter_scan import ScanReport, check_printed_letter
from desktop_app.ui.common import theme
from desktop_app.ui.threads import run_task

IMAGE_FILTER = "Scans and photos (*.png *.jpg *.jpeg);;All files (*)"
#: the rows of the comparison, by the label both sides use
_ROWS = ("Letter", "Kind", "Decision", "Submission", "Model", "Issued", "Letter data SHA-256",
         "Signer certificate SHA-256", "Signed by", "Status")


class PrintedLetterDialog(QDialog):
    """The decoded seal beside the register's record; `checked` fires with the report (or None on an error)."""

    checked = Signal(object)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.report: ScanReport | None = None
        self.setWindowTitle("Verify a printed letter")
        self.resize(940, 520)
        self.choose_button = QPushButton("&Open a scan or photo…")
        self.choose_button.clicked.connect(self.choose)
        hint = QLabel("A PNG or JPEG of the page with the QR code (a 150-dpi scan or a phone photo will do).")
        hint.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.choose_button)
        top.addWidget(hint, 1)
        self.source = QLabel("No image chosen yet.")
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setAccessibleName("Verification result")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.hide()
        self.table = QTableWidget(0, 3)
        self.table.setAccessibleName("Printed fields and the register's record")
        self.table.setHorizontalHeaderLabels(["Field", "On the paper (QR code)", "In the register"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.note = QLabel()
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.source)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(buttons)

    def choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Verify a printed letter", "", IMAGE_FILTER)
        if name:
            self.check_image(Path(name))

    def check_image(self, path: Path) -> None:
        self.source.setText(f"Image: {path}")
        self.table.setRowCount(0)
        self.note.clear()
        self.report = None
        self.verdict.setText("Reading the QR code…")
        self.verdict.setStyleSheet("")
        self.verdict.show()
        self.choose_button.setEnabled(False)
        ctx = self.services.ctx
        run_task(lambda: check_printed_letter(path, ctx=ctx), on_done=self._show, on_error=self._failed, owner=self)

    def _failed(self, error: Exception) -> None:
        self.choose_button.setEnabled(True)
        text = str(error) if isinstance(error, ClearanceDeskError) else f"reading stopped: {type(error).__name__}"
        self._verdict(f"✗ {text}", ok=False)
        self.checked.emit(None)

    def _verdict(self, text: str, *, ok: bool) -> None:
        colour = theme.colour("ok" if ok else "error").name()
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {colour}; font-weight: bold; font-size: 14px;")
        self.verdict.show()

    def _show(self, report: ScanReport) -> None:
        self.choose_button.setEnabled(True)
        self.report = report
        self._verdict(("✓ " if report.ok else "✗ ") + report.line, ok=report.ok)
        printed = dict(report.fields.lines()) if report.fields else {}
        if report.signer:
            printed["Signed by"] = f"{report.signer} (certificate)"
        registered = dict(report.record.lines()) if report.record else {}
        labels = [label for label in _ROWS if label in printed or label in registered]
        self.table.setRowCount(len(labels))
        differs = QBrush(theme.colour("error"))
        for row, label in enumerate(labels):
            paper, held = printed.get(label, ""), registered.get(label, "")
            cells = [QTableWidgetItem(label), QTableWidgetItem(paper or "—"), QTableWidgetItem(held or "—")]
            if paper and held and label not in ("Issued", "Signed by", "Status") and paper != held:
                for cell in cells[1:]:
                    cell.setForeground(differs)
                cells[0].setText(f"{label} (differs)")
            for column, cell in enumerate(cells):
                cell.setToolTip(cell.text())
                self.table.setItem(row, column, cell)
        self.table.resizeRowsToContents()
        if report.fields is not None and report.record is None:
            self.note.setText("The register holds no record of this letter here; "
                              "compare the printed fields with the paper.")
        elif report.record is not None:
            self.note.setText("Compare both columns with the paper: the QR code's fields are signed by the "
                              "signer's key, the register's are this workstation's record.")
        self.checked.emit(report)
