"""Reports → Letter register…: every letter with its status, filters and search, CSV with the handling marking.

The rows are read off the GUI thread once; kind, status and the search box filter them
in place (a register holds thousands of letters at most). "Concerns" names the earlier
letter a letter revokes, corrects, replaces or reports the conditions of. A double click opens the
letter. "Export CSV…" writes the rows shown, between two handling-marking lines.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.domain.types import LetterKind
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.register import STATUSES, RegisterFilter, RegisterRow, RegisterService
from desktop_app.ui.common import theme
from desktop_app.ui.operations import Operation
from desktop_app.ui.threads import run_task

COLUMNS = ("Letter", "Kind", "Decision", "Concerns", "Submission", "Model", "Signer", "Issued (UTC)", "Status")
_STATUS_COLUMN = COLUMNS.index("Status")
_KIND_LABELS = {kind: kind.value.replace("-", " ").capitalize() for kind in LetterKind}


class RegisterDialog(QDialog):
    """The whole register; `loaded` fires once its rows are in, `open_requested` with a letter id."""

    loaded = Signal()
    open_requested = Signal(int)

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.register = RegisterService(services.ctx)
        self.actor = actor
        self.all_rows: list[RegisterRow] = []
        self.shown: list[RegisterRow] = []
        self.setWindowTitle("Letter register")
        self.resize(1100, 560)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Kind of letter")
        self.kind.addItem("All kinds", None)
        for kind, label in _KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.status.addItem("Any status", None)
        for status in STATUSES:
            self.status.addItem(status.capitalize(), status)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search number, submission, model, signer, letter concerned…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the register")
        for combo in (self.kind, self.status):
            combo.currentIndexChanged.connect(self.apply_filter)
        self.search.textChanged.connect(self.apply_filter)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("&Kind:", buddy=self.kind))
        filters.addWidget(self.kind)
        filters.addWidget(QLabel("&Status:", buddy=self.status))
        filters.addWidget(self.status)
        filters.addWidget(self.search, 1)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Letters")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSortingEnabled(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)  # the status and its detail take what is left
        self.table.cellDoubleClicked.connect(self._open_row)
        self.count = QLabel("Reading the register…")
        self.export_button = QPushButton("&Export CSV…")
        self.export_button.setToolTip("The rows shown, with the handling marking at the top and the bottom")
        self.export_button.clicked.connect(self.choose_export)
        self.export_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.export_button)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        run_task(self.register.rows, on_done=self._loaded, on_error=self._failed, owner=self)

    def current_filter(self) -> RegisterFilter:
        return RegisterFilter(self.kind.currentData(), self.status.currentData(), self.search.text())

    def _loaded(self, rows: list[RegisterRow]) -> None:
        self.all_rows = rows
        self.export_button.setEnabled(True)
        self.apply_filter()
        theme.follow_palette(self, self.apply_filter)  # status colours follow the palette
        self.loaded.emit()

    def _failed(self, error: Exception) -> None:
        self.count.setText(str(error) if isinstance(error, ClearanceDeskError) else "The register could not be read.")
        theme.colour_text(self.count, "error")

    def apply_filter(self) -> None:
        flt = self.current_filter()
        self.shown = [row for row in self.all_rows if flt.keeps(row)]
        self.table.setRowCount(len(self.shown))
        colours = {"revoked": theme.colour("error"), "superseded": theme.colour("due_soon")}
        for index, row in enumerate(self.shown):
            status = row.status + (f" — {row.status_detail}" if row.status_detail else "")
            values = (row.number, _KIND_LABELS[row.kind], row.decision or "—", row.about or "—", row.reference,
                      row.model, row.signer, f"{row.issued_at:%Y-%m-%d %H:%M}", status)
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if column == _STATUS_COLUMN and row.status in colours:
                    item.setForeground(colours[row.status])
                self.table.setItem(index, column, item)
        total = len(self.all_rows)
        self.count.setText(f"{len(self.shown)} of {total} letter{'s' if total != 1 else ''}")

    def _open_row(self, index: int, _column: int) -> None:
        if 0 <= index < len(self.shown):
            self.open_requested.emit(self.shown[index].letter_id)

    def choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export the letter register", "letter-register.csv",
                                              "CSV files (*.csv)")
        if name:
            self.export_to(Path(name))

    def export_to(self, target: Path) -> None:
        flt = self.current_filter()
        self.export_button.setEnabled(False)

        def done(rows: int) -> None:
            self.export_button.setEnabled(True)
            self.count.setText(f"{len(self.shown)} of {len(self.all_rows)} letters — {rows} written to {target}")

        def failed(error: Exception) -> None:
            self.export_button.setEnabled(True)
            self._failed(error)

        # An export is audited (it discloses the register), so it is an operation like any save.
        Operation(self, lambda: self.register.export_csv(self.actor, target, flt),
                  title="Could not export the register").success(done).failure(failed).run()
