"""The queue table itself: Enter opens the current row, a dropped package is imported."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTableView


class QueueView(QTableView):
    """The queue table; Enter opens the current submission."""

    open_requested = Signal(int)
    package_dropped = Signal(object)

    @staticmethod
    def _dropped_path(event) -> Path | None:  # noqa: ANN001
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) != 1 or not urls[0].isLocalFile():
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.is_dir() or path.suffix.lower() == ".zip" else None

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001, N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: ANN001, N802
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.package_dropped.emit(path)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)
