"""The Reports menu and the dashboard, for the main window.

The main window makes one `ReportActions`; its methods are the menu entries. Every
report is written by the reports service on a worker thread (a periodic report over a
year of a large queue takes a second or two, a queue CSV of 100,000 rows a few), with
a progress dialog that a CSV export can cancel; a cancelled or failed export leaves no
file behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QObject, QStandardPaths, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, OperationCancelled
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.ui.common import theme
from desktop_app.ui.threads import CancelToken

if TYPE_CHECKING:
    from desktop_app.services.reports import Period, ReportService


def _default_folder() -> Path:
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(folder) if folder else Path.home()


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _date(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


def presets(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Named periods ending today or on the last whole month or quarter."""
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - dt.timedelta(days=1)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter_start - dt.timedelta(days=1)
    last_quarter_start = dt.date(last_quarter_end.year, 3 * ((last_quarter_end.month - 1) // 3) + 1, 1)
    monday = today - dt.timedelta(days=today.weekday())
    return [
        ("Last 13 weeks", monday - dt.timedelta(weeks=12), today),
        ("Previous month", last_month_end.replace(day=1), last_month_end),
        ("Previous quarter", last_quarter_start, last_quarter_end),
        ("This year so far", dt.date(today.year, 1, 1), today),
        ("Last 52 weeks", monday - dt.timedelta(weeks=51), today),
    ]


class PeriodicReportDialog(QDialog):
    """Choose the period and where to write the PDF (the CSV goes beside it)."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Periodic report")
        self.setMinimumWidth(520)
        self.today = today
        self.preset = QComboBox()
        self.preset.setAccessibleName("Period preset")
        for label, start, end in presets(today):
            self.preset.addItem(label, (start, end))
        self.preset.addItem("Custom dates", None)
        self.start = QDateEdit()
        self.end = QDateEdit()
        for edit, name in ((self.start, "First day of the period"), (self.end, "Last day of the period")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
            edit.setMaximumDate(_qdate(today))
            edit.dateChanged.connect(self._dates_edited)
        self.target = QLineEdit()
        self.target.setAccessibleName("PDF file to write")
        browse = QPushButton("&Browse…")
        browse.setAccessibleName("Choose the PDF file")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.target, 1)
        where.addWidget(browse)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Error message")
        self.error.hide()
        note = QLabel("The report is marked with the agency's handling marking on every page. The same figures "
                      "are written beside it as CSV (same name, .csv). Writing it is recorded in the audit trail.")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&Period:", self.preset)
        form.addRow("&From:", self.start)
        form.addRow("&To:", self.end)
        form.addRow("&Save as:", where)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Write report")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self._preset_chosen()

    def _preset_chosen(self) -> None:
        dates = self.preset.currentData()
        if dates is None:
            return
        start, end = dates
        for edit, day in ((self.start, start), (self.end, end)):
            edit.blockSignals(True)
            edit.setDate(_qdate(day))
            edit.blockSignals(False)
        self.target.setText(str(_default_folder() / f"clearance-report-{start.isoformat()}-to-{end.isoformat()}.pdf"))

    def _dates_edited(self) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.count() - 1)
        self.preset.blockSignals(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the periodic report", self.target.text(), "PDF (*.pdf)")
        if path:
            self.target.setText(path if path.lower().endswith(".pdf") else path + ".pdf")

    def period(self) -> Period:
        from desktop_app.services.reports import Period

        return Period(_date(self.start.date()), _date(self.end.date()))

    def _accept(self) -> None:
        try:
            self.period()
            if not self.target.text().strip():
                raise InputRejected("choose where to save the report")
        except ClearanceDeskError as error:
            self.error.setText(f"<span style='color:{theme.colour('error').name()}'>{error}</span>")
            self.error.show()
            return
        self.accept()


class ReportActions(QObject):
    """Dashboard, periodic report, queue CSV and review record, for one signed-in user."""

    def __init__(self, window: Any, services: Services, actor: Actor) -> None:
        super().__init__(window)
        self.window, self.services, self.actor = window, services, actor
        self.dashboard: QWidget | None = None

    @property
    def reports(self) -> ReportService:
        """The report service, imported on first use: the window is ready before it (~50 ms of imports)."""
        return self.services.reports

    def _status(self, text: str, timeout: int = 10_000) -> None:
        self.window.statusBar().showMessage(text, timeout)

    def _problem(self, title: str, error: Exception) -> None:
        from desktop_app.ui.common.errors import show_problems

        if isinstance(error, OperationCancelled):
            self._status(str(error))
            return
        show_problems(self.window, title, error)

    # -- dashboard --------------------------------------------------------------------------
    def open_dashboard(self) -> QWidget | None:
        try:
            from desktop_app.ui.reports.dashboard import Dashboard
        except ImportError as error:  # a build without Qt Charts: say so instead of failing silently
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(self.window, "Dashboard", f"The dashboard needs Qt Charts, which this installation "
                                                          f"lacks ({error}). The reports still work.")
            return None
        if self.dashboard is None:
            dashboard = Dashboard(self.reports, self.window, change_marker=self.services.queue.change_marker)
            dashboard.filter_requested.connect(self._show_in_queue)
            self.dashboard = dashboard
        self.dashboard.show()
        self.dashboard.raise_()
        self.dashboard.activateWindow()
        return self.dashboard

    def _show_in_queue(self, link: Any) -> None:
        self.window.apply_external_filter(link.filter, link.description)
        self.window.raise_()
        self.window.activateWindow()

    # -- running a report with a progress dialog ----------------------------------------------
    def _run(self, title: str, label: str, work: Callable[[Any, CancelToken], Any], done: Callable[[Any], None], *,
             cancellable: bool = False) -> QDialog:
        """`work(progress, cancelled)` in the operations' progress dialog (ui.operations.dialog), without
        blocking the window; `done(result)` when it ends, the failure shown if it fails."""
        from desktop_app.ui.operations.dialog import ProgressDialog

        dialog = ProgressDialog(title, work, self.window, cancellable=cancellable)
        dialog.stage.setText(label)
        dialog.amount_text = lambda done, total: f"{done:,} of {total:,} rows"
        dialog.succeeded.connect(done)

        def ended(_code: int) -> None:
            if dialog.failure is not None:  # a cancel is said in the status bar
                self._problem(title, dialog.failure)  # type: ignore[arg-type]

        dialog.finished.connect(ended)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.start()
        dialog.open()
        return dialog

    # -- the menu entries ---------------------------------------------------------------------
    def periodic_report(self) -> None:
        dialog = PeriodicReportDialog(self.reports.today(), self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        period, target = dialog.period(), Path(dialog.target.text().strip())
        reports, actor = self.reports, self.actor
        self._run("Periodic report", f"Writing the report for {period.label}…",
                  lambda _progress, _cancelled: reports.write_periodic_report(actor, period, target),
                  lambda path: self._status(f"Wrote {path.name} and {path.with_suffix('.csv').name} to {path.parent}"))

    def export_queue_csv(self) -> None:
        model = self.window.model
        default = _default_folder() / f"clearance-queue-{self.reports.today().isoformat()}.csv"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the queue as CSV", str(default), "CSV (*.csv)")
        if not path:
            return
        target = Path(path if path.lower().endswith(".csv") else path + ".csv")
        flt, sort, descending = model.filter, model.sort_column, model.descending
        reports, actor = self.reports, self.actor

        def work(progress: Callable[[str, int, int], None], cancelled: CancelToken) -> int:
            return reports.export_queue_csv(actor, target, flt, sort, descending, cancelled=cancelled,
                                            progress=lambda n, total: progress(f"Writing {target.name}", n, total))

        self._run("Export the queue", f"Writing {target.name}", work,
                  lambda rows: self._status(f"Exported {rows:,} submissions to {target}"), cancellable=True)

    def review_record(self) -> None:
        submission_id = self.window.current_id()
        if submission_id is None:
            self._status("Select a submission first, then choose Reports → Review record")
            return
        reference = self.services.submissions.detail(submission_id).reference
        default = _default_folder() / f"{reference}-review-record.pdf"
        path, _ = QFileDialog.getSaveFileName(self.window, f"Save the review record of {reference}", str(default),
                                              "PDF (*.pdf)")
        if not path:
            return
        target = Path(path if path.lower().endswith(".pdf") else path + ".pdf")
        reports, actor = self.reports, self.actor
        self._run("Review record", f"Writing the review record of {reference}…",
                  lambda _progress, _cancelled: reports.write_review_record(actor, submission_id, target),
                  lambda written: self._status(f"Wrote the review record of {reference} to {written}"))
