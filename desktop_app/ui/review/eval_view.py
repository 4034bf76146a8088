"""Inspect evaluation logs, read-only: the log's summary and one sample with its transcript.

Every read runs on a worker (services.eval_logs); the GUI thread only paints. The sample
list is a model over the summary's rows (5,000 rows cost nothing to show); a transcript
is fetched a page at a time and only that page is held. Everything from the log is
untrusted text: it is shown as plain text, never as HTML, and never executed.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.evallog import (
    TRANSCRIPT_PAGE,
    EvalSummary,
    LogRef,
    SampleDetail,
    SampleRow,
    TranscriptPage,
    citation,
    is_log_artifact,
    looks_like_eval_log,
    parse_citation,
)
from desktop_app.services.detail import SubmissionDetail
from desktop_app.ui.common.errors import error_label, show_error
from desktop_app.ui.threads import run_task

Index = QModelIndex | QPersistentModelIndex


def _table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    table.setAccessibleName(name)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def _plain(name: str) -> QPlainTextEdit:
    text = QPlainTextEdit()
    text.setReadOnly(True)
    text.setAccessibleName(name)
    text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return text


class SampleTableModel(QAbstractTableModel):
    """The summary's sample rows: id, epoch, score, status, tokens."""

    HEADERS = ("Sample", "Epoch", "Score", "Status", "Tokens")

    def __init__(self, rows: tuple[SampleRow, ...] = ()) -> None:
        super().__init__()
        self.rows = rows

    def set_rows(self, rows: tuple[SampleRow, ...]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        row = self.rows[index.row()]
        return (row.id, str(row.epoch), row.score, row.status, f"{row.total_tokens:,}")[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


def summary_html(summary: EvalSummary) -> str:
    esc = html.escape
    rows = [("Task", f"{summary.task} (version {summary.task_version})"), ("Model", summary.model),
            ("Solver / agent", summary.solver), ("Scorer", ", ".join(summary.scorers) or "—"),
            ("Status", summary.status + (f": {summary.error}" if summary.error else "")),
            ("Samples", f"{summary.sample_count:,} ({summary.completed_samples:,} completed; "
                        f"{len(summary.samples):,} rows with epochs)"),
            ("Tokens", f"{summary.total_tokens:,}"), ("Created", summary.created or "—"),
            ("Format", f".{summary.format} log, version {summary.version}")]
    body = "".join(f"<tr><th align='left' style='padding-right:12px'>{esc(k)}</th><td>{esc(v)}</td></tr>"
                   for k, v in rows)
    return f"<h3 style='margin:0'>{esc(summary.name)}</h3><table>{body}</table>"


class EvalLogViewer(QDialog):
    """The summary of one log: header, metrics, token usage and every sample; opens samples."""

    loaded = Signal()

    def __init__(self, services: Any, ref: LogRef, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.ref, self.name = services, ref, name
        self.summary: EvalSummary | None = None
        self.sample_dialogs: list[SampleDialog] = []
        self.setWindowTitle(f"{name} — evaluation log, read-only")
        self.resize(900, 680)
        self.header = QLabel(f"Reading {html.escape(name)}…")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setAccessibleName("Log summary")
        self.error = error_label()
        self.metrics = _table(["Scorer", "Metric", "Value", "Reducer"], "Metrics")
        self.usage = _table(["Model", "Input tokens", "Output tokens", "Total tokens"], "Token usage")
        self.samples_model = SampleTableModel()
        self.samples = QTableView()
        self.samples.setModel(self.samples_model)
        self.samples.setAccessibleName("Samples")
        self.samples.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.samples.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.samples.verticalHeader().hide()
        for header in (self.samples.verticalHeader(), self.samples.horizontalHeader()):
            header.setResizeContentsPrecision(0)  # column widths from the visible rows: 1 ms, not 110 for 5,000
        self.samples.horizontalHeader().setStretchLastSection(True)
        self.samples.activated.connect(lambda _index: self.open_selected())
        self.open_button = QPushButton("&Open sample")
        self.open_button.setToolTip("Show the sample's input, output, score and transcript")
        self.open_button.clicked.connect(self.open_selected)
        self.open_button.setEnabled(False)
        tables = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.metrics, 3)
        top_layout.addWidget(self.usage, 2)
        tables.addWidget(top)
        tables.addWidget(self.samples)
        tables.setSizes([150, 450])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Read-only view of an Inspect evaluation log; nothing in it is run."))
        layout.addWidget(self.header)
        layout.addWidget(self.error)
        layout.addWidget(tables, 1)
        layout.addWidget(buttons)
        run_task(lambda: services.eval_logs.summary(ref), on_done=self._show, on_error=self._failed, owner=self)

    def _failed(self, error: Exception) -> None:
        self.header.setText(f"<h3 style='margin:0'>{html.escape(self.name)}</h3>")
        show_error(self.error, error)
        self.loaded.emit()

    def _show(self, summary: EvalSummary) -> None:
        self.summary = summary
        self.header.setText(summary_html(summary))
        _fill(self.metrics, [[m.scorer, m.name, m.shown_value, m.reducer] for m in summary.metrics])
        _fill(self.usage, [[u.model, f"{u.input_tokens:,}", f"{u.output_tokens:,}", f"{u.total_tokens:,}"]
                           for u in summary.usage])
        self.samples_model.set_rows(summary.samples)
        self.samples.resizeColumnsToContents()
        self.open_button.setEnabled(bool(summary.samples))
        if summary.samples:
            self.samples.selectRow(0)
        self.loaded.emit()

    def open_selected(self) -> SampleDialog | None:
        index = self.samples.currentIndex()
        if not index.isValid():
            return None
        row = self.samples_model.rows[index.row()]
        dialog = SampleDialog(self.services, self.ref, self.name, row.id, row.epoch, self)
        self.sample_dialogs.append(dialog)
        dialog.show()
        return dialog


class SampleDialog(QDialog):
    """One sample: input, target, output and scores; its transcript one page at a time."""

    loaded = Signal()
    page_loaded = Signal()

    def __init__(self, services: Any, ref: LogRef, name: str, sample_id: str, epoch: int = 1,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.ref, self.sample_id, self.epoch = services, ref, sample_id, epoch
        self.page: TranscriptPage | None = None
        self.cited = citation(name, sample_id, epoch)
        self.setWindowTitle(f"{self.cited} — read-only")
        self.resize(860, 640)
        self.heading = QLabel(f"<b>{html.escape(self.cited)}</b>")
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heading.setAccessibleName("Citation")
        self.error = error_label()
        self.input, self.target, self.output = _plain("Input"), _plain("Target"), _plain("Output")
        self.scores = _table(["Scorer", "Value", "Answer", "Explanation"], "Scores")
        sample_page = QWidget()
        sample_layout = QVBoxLayout(sample_page)
        self.status = QLabel()
        sample_layout.addWidget(self.status)
        for label, widget, stretch in (("Input", self.input, 3), ("Target", self.target, 1),
                                       ("Output", self.output, 3), ("Scores", self.scores, 2)):
            sample_layout.addWidget(QLabel(f"<b>{label}</b>"))
            sample_layout.addWidget(widget, stretch)
        self.transcript = _plain("Transcript")
        self.earlier = QPushButton("◀ &Earlier")
        self.later = QPushButton("&Later ▶")
        self.position = QLabel()
        self.earlier.clicked.connect(lambda: self.load_page(self._offset() - TRANSCRIPT_PAGE))
        self.later.clicked.connect(lambda: self.load_page(self._offset() + TRANSCRIPT_PAGE))
        transcript_page = QWidget()
        transcript_layout = QVBoxLayout(transcript_page)
        transcript_layout.addWidget(QLabel(f"The transcript is read {TRANSCRIPT_PAGE} messages at a time."))
        transcript_layout.addWidget(self.transcript, 1)
        pager = QHBoxLayout()
        pager.addWidget(self.earlier)
        pager.addWidget(self.position, 1)
        pager.addWidget(self.later)
        transcript_layout.addLayout(pager)
        self.tabs = QTabWidget()
        self.tabs.addTab(sample_page, "&Sample")
        self.tabs.addTab(transcript_page, "&Transcript")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.error)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self._set_pager(None)
        run_task(lambda: services.eval_logs.sample(ref, sample_id, epoch), on_done=self._show,
                 on_error=self._failed, owner=self)
        self.load_page(0)

    def _offset(self) -> int:
        return self.page.offset if self.page is not None else 0

    def _failed(self, error: Exception) -> None:
        show_error(self.error, error)
        self.loaded.emit()
        self.page_loaded.emit()

    def _show(self, detail: SampleDetail) -> None:
        self.status.setText(f"Status: {html.escape(detail.status)}"
                            + (f" — {html.escape(detail.error)}" if detail.error else "")
                            + f" · {detail.message_count:,} messages · "
                            + ", ".join(f"{html.escape(u.model)}: {u.total_tokens:,} tokens" for u in detail.usage))
        self.input.setPlainText(detail.input)
        self.target.setPlainText(detail.target)
        self.output.setPlainText(detail.output)
        _fill(self.scores, [[s.scorer, s.value, s.answer, s.explanation] for s in detail.scores])
        self.loaded.emit()

    def load_page(self, offset: int) -> None:
        """Fetch the page starting at `offset` on a worker; the buttons wait until it arrives."""
        offset = max(0, offset)
        self._set_pager(None)
        self.position.setText("Reading…")
        run_task(lambda: self.services.eval_logs.transcript(self.ref, self.sample_id, self.epoch, offset,
                                                            TRANSCRIPT_PAGE),
                 on_done=self._show_page, on_error=self._failed, owner=self)

    def _show_page(self, page: TranscriptPage) -> None:
        self.page = page
        self.transcript.setPlainText("\n\n".join(f"[{e.index + 1}] {e.role}:\n{e.text}" for e in page.entries)
                                     or "(no messages)")
        self._set_pager(page)
        self.page_loaded.emit()

    def _set_pager(self, page: TranscriptPage | None) -> None:
        self.earlier.setEnabled(page is not None and page.offset > 0)
        self.later.setEnabled(page is not None and page.has_more)
        if page is not None:
            first = page.offset + 1 if page.entries else 0
            self.position.setText(f"Messages {first:,}–{page.offset + len(page.entries):,} of {page.total:,}")


def open_log_artifact(parent: QWidget, services: Any, detail: SubmissionDetail | None,
                      artifact_id: int) -> EvalLogViewer | None:
    """The log viewer for an evaluation-log artifact; None for any other artifact."""
    artifact = next((a for a in detail.artifacts if a.id == artifact_id), None) if detail is not None else None
    if artifact is None or not is_log_artifact(artifact.path, artifact.kind):
        return None
    viewer = EvalLogViewer(services, LogRef("artifact", artifact.id), artifact.path, parent)
    viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    viewer.show()
    return viewer


def open_evidence(parent: QWidget, services: Any, detail: SubmissionDetail | None,
                  evidence_id: int) -> QDialog | None:
    """A cited sample (of an artifact or an attached file) opens at that sample; an attached log at its summary."""
    evidence = next((e for f in (detail.findings if detail else ()) for e in f.evidence if e.id == evidence_id), None)
    if evidence is None:
        return None
    dialog: QDialog
    cited = parse_citation(evidence.locator or "")
    if evidence.kind == "artifact" and evidence.artifact_id is not None and cited is not None:
        path, sample_id, epoch = cited
        dialog = SampleDialog(services, LogRef("artifact", evidence.artifact_id), path, sample_id, epoch, parent)
    elif evidence.kind == "file" and cited is not None:  # a sample of a log attached as a file: the row holds it
        path, sample_id, epoch = cited
        dialog = SampleDialog(services, LogRef("evidence", evidence.id), path, sample_id, epoch, parent)
    elif evidence.kind == "file" and looks_like_eval_log(evidence.original_name):
        dialog = EvalLogViewer(services, LogRef("evidence", evidence.id), evidence.original_name, parent)
    else:
        return None
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


__all__ = ["EvalLogViewer", "SampleDialog", "SampleTableModel", "open_evidence", "open_log_artifact",
           "summary_html"]
