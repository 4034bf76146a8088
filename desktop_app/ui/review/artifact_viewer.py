"""Read-only viewer for text artifacts, and "Save a copy…" under a sanitised name.

Nothing from a package is executed or handed to the operating system to open: Markdown
is rendered by Qt itself with links disabled, everything else is shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QTextBrowser, QVBoxLayout, QWidget

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.services.submissions import ArtifactFiles, ArtifactText
from desktop_app.ui.common.errors import show_problems
from desktop_app.ui.operations import Operation

class ArtifactViewer(QDialog):
    def __init__(self, content: ArtifactText, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{content.path} — read-only")
        self.resize(820, 640)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setOpenExternalLinks(False)
        self.text.setAccessibleName(f"Contents of {content.path}")
        if content.is_markdown:
            self.text.setMarkdown(content.text)
        else:
            self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            self.text.setPlainText(content.text)
        layout = QVBoxLayout(self)
        note = QLabel("Read-only view of a submitted artifact. Links are not followed.")
        layout.addWidget(note)
        if content.truncated:
            layout.addWidget(QLabel("<i>Only the first 2 MiB are shown.</i>"))
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

def view_artifact(parent: QWidget, files: ArtifactFiles, artifact_id: int) -> ArtifactViewer | None:
    try:
        content = files.read_text(artifact_id)
    except ClearanceDeskError as error:
        show_problems(parent, "Cannot show this artifact", error)
        return None
    viewer = ArtifactViewer(content, parent)
    viewer.show()
    return viewer

def save_artifact_copy(parent: QWidget, files: ArtifactFiles, artifact_id: int,
                       saved: Callable[[Path], None]) -> None:
    """Ask where, then copy on a worker (an artifact may be gigabytes of weights); `saved(target)` after."""
    folder = QFileDialog.getExistingDirectory(parent, "Save a copy into folder")
    if folder:
        Operation(parent, lambda: files.save_copy(artifact_id, Path(folder)), title="Cannot save a copy").success(
            lambda target: saved(target)).run()

