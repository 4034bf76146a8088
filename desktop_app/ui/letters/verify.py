"""Verify a letter…: choose or drop a PDF, see each check with a pass or fail mark and why.

The checks are the register service's (the six cryptographic ones, then the register's
four), run off the GUI thread. A file that is not a letter at all gives failing checks,
not an error box.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import CheckResult, ClearanceDeskError
from desktop_app.services.letters import LetterService
from desktop_app.ui.common import icons
from desktop_app.ui.threads import run_task
from desktop_app.ui.common import theme

LETTER_SIZE_LIMIT = 64 * 1024 * 1024
_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def _dropped_pdf(event: QDragEnterEvent | QDropEvent) -> Path | None:
    data = event.mimeData()
    urls = data.urls() if data.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.is_file() else None


class DropZone(QFrame):
    """The dashed area a PDF can be dropped on; also holds the "Choose file…" button."""

    dropped = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setObjectName("dropZone")
        self.setStyleSheet("#dropZone { border: 2px dashed #8c96a8; border-radius: 6px; }"
                           "#dropZone[hover=\"true\"] { border-color: #1f3864; background: palette(alternate-base); }")
        self.setMinimumHeight(76)
        self.choose = QPushButton("&Choose file…")
        label = QLabel("Drop a signed letter (PDF) here, or")
        layout = QHBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(label)
        layout.addWidget(self.choose)
        layout.addStretch(1)

    def _hover(self, on: bool) -> None:
        self.setProperty("hover", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if _dropped_pdf(event) is not None:
            event.acceptProposedAction()
            self._hover(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: object) -> None:  # noqa: N802
        self._hover(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._hover(False)
        path = _dropped_pdf(event)
        if path is not None:
            event.acceptProposedAction()
            self.dropped.emit(path)


class VerifyDialog(QDialog):
    """Each check of a letter with a pass/fail icon and text; `finished_checks` fires with the results."""

    finished_checks = Signal(object)

    def __init__(self, letters: LetterService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.letters = letters
        self.results: list[CheckResult] | None = None
        self.setWindowTitle("Verify a letter")
        self.resize(900, 540)
        self.setAcceptDrops(True)
        self.drop = DropZone(self)
        self.drop.choose.clicked.connect(self.choose)
        self.drop.dropped.connect(self.verify_file)
        self.source = QLabel("No letter chosen yet.")
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.source.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setAccessibleName("Verification result")
        self.verdict.hide()
        self.checks = QTreeWidget()
        self.checks.setAccessibleName("Checks")
        self.checks.setColumnCount(2)
        self.checks.setHeaderLabels(["Check", "Result"])
        self.checks.setRootIsDecorated(False)
        self.checks.setUniformRowHeights(False)
        self.checks.setWordWrap(True)
        self.checks.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.checks.header().setStretchLastSection(True)
        self.check_detail = QLabel()
        self.check_detail.setAccessibleName("Selected check")
        self.check_detail.setWordWrap(True)
        self.check_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checks.currentItemChanged.connect(self._show_detail)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.drop)
        layout.addWidget(self.source)
        layout.addWidget(self.verdict)
        layout.addWidget(self.checks, 1)
        layout.addWidget(self.check_detail)
        layout.addWidget(buttons)

    # the whole dialog accepts a drop, not only the zone
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        self.drop.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.drop.dropEvent(event)

    def choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Verify a letter", "", "PDF letters (*.pdf);;All files (*)")
        if name:
            self.verify_file(Path(name))

    def verify_file(self, path: Path) -> None:
        path = Path(path)
        try:
            if path.stat().st_size > LETTER_SIZE_LIMIT:
                raise OSError(f"larger than {LETTER_SIZE_LIMIT // (1024 * 1024)} MiB; not a letter")
            data = path.read_bytes()
        except OSError as error:
            self._show_error(f"{path}: cannot read: {error.strerror or error}")
            return
        self.verify_bytes(data, str(path))

    def verify_bytes(self, pdf: bytes, label: str) -> None:
        self.source.setText(f"<b>File:</b> {_escape(label)}")
        self.checks.clear()
        self.check_detail.clear()
        self.results = None
        self.verdict.setText("Checking…")
        self.verdict.setStyleSheet("")
        self.verdict.show()
        self.drop.setEnabled(False)
        run_task(lambda: self.letters.verify(pdf), on_done=self._show_results, on_error=self._failed)

    def _failed(self, error: Exception) -> None:
        self.drop.setEnabled(True)
        if isinstance(error, ClearanceDeskError):
            self._show_error(str(error))
        else:
            self._show_error(f"verification stopped: {type(error).__name__}: {error}")
        self.finished_checks.emit(None)

    def _show_error(self, text: str) -> None:
        self.verdict.setText(text)
        theme.colour_text(self.verdict, "error", "font-weight: bold;")
        self.verdict.show()

    def _show_detail(self, item: QTreeWidgetItem | None, _previous: object = None) -> None:
        self.check_detail.setText(str(item.data(1, Qt.ItemDataRole.UserRole) or "") if item is not None else "")

    def _show_results(self, results: list[CheckResult]) -> None:
        self.drop.setEnabled(True)
        self.results = results
        passed, failed = icons.icon("check-pass"), icons.icon("check-fail")
        for result in results:
            outcome = "Passed — " if result.ok else "Failed — "
            item = QTreeWidgetItem([result.name, outcome + short_digests(result.detail)])
            item.setIcon(0, passed if result.ok else failed)
            item.setToolTip(1, result.detail)
            item.setData(1, Qt.ItemDataRole.UserRole, f"<b>{_escape(result.name)}</b>: {outcome}{_escape(result.detail)}")
            item.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"{result.name}: {'passed' if result.ok else 'failed'}")
            self.checks.addTopLevelItem(item)
        bad = [result for result in results if not result.ok]
        number = next((r.extra["number"] for r in results if "number" in r.extra), "This letter")
        if not bad:
            self.verdict.setText(f"✓ {number} verifies: all {len(results)} checks passed.")
            theme.colour_text(self.verdict, "ok", "font-weight: bold; font-size: 14px;")
        else:
            first = next((r for r in bad if not r.detail.startswith("not checked")), bad[0])
            self.verdict.setText(f"✗ Does not verify — {first.name}: {first.detail}")
            theme.colour_text(self.verdict, "error", "font-weight: bold; font-size: 14px;")
        if bad:
            self.checks.setCurrentItem(self.checks.topLevelItem(results.index(first)))
        self.finished_checks.emit(results)


def short_digests(text: str) -> str:
    """SHA-256 digests shortened to their ends, so a check fits on its line (the full text is below)."""
    return _DIGEST.sub(lambda m: f"{m.group(0)[:12]}…{m.group(0)[-8:]}", text)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
