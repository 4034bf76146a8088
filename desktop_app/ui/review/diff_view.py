""""Changes since the previous submission": artifacts, manifest fields, evaluation metrics,
and the earlier submission's findings with a one-click carry-over.

The comparison reads manifests and evaluation logs, so it runs on a worker; carrying a
finding over is a service call on a worker too, and the window refreshes afterwards.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.context import Actor
from desktop_app.services.diff import MetricChange, SubmissionDiff
from desktop_app.services.submissions import FindingInfo
from desktop_app.ui.common.errors import error_label, show_error
from desktop_app.ui.operations import ChangeKind, Changes, Operation, follow_changes
from desktop_app.ui.threads import run_task

_MARKS = {"added": "added", "removed": "removed", "changed": "changed", "unchanged": "unchanged"}


def _section(title: str, headers: list[str], name: str) -> tuple[QWidget, QLabel, QTableWidget]:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 4, 0, 0)
    label = QLabel(f"<b>{html.escape(title)}</b>")
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    table.setAccessibleName(name)
    layout.addWidget(label)
    layout.addWidget(table)
    return box, label, table


def _fill(table: QTableWidget, rows: list[list[str]], highlight: list[bool] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            if highlight and highlight[r]:  # what changed stands out from what did not
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


class DiffDialog(QDialog):
    """The comparison of one submission with the earlier one; carry-over of earlier findings."""

    loaded = Signal()

    def __init__(self, services: Any, actor: Actor, submission_id: int, reference: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.actor, self.submission_id = services, actor, submission_id
        self.diff: SubmissionDiff | None = None
        self.setWindowTitle(f"Changes since the previous submission — {reference}")
        self.resize(1040, 780)
        self.heading = QLabel(f"Comparing {html.escape(reference)} with the earlier submission…")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        self.heading.setAccessibleName("Comparison")
        self.error = error_label()
        self.message = QLabel()
        artifacts, self.artifacts_label, self.artifacts = _section(
            "Artifacts", ["Change", "Path", "SHA-256 before", "SHA-256 after", "Bytes"], "Artifacts changed")
        fields, self.fields_label, self.fields = _section(
            "Manifest fields", ["Field", "Before", "After"], "Manifest fields changed")
        metrics, self.metrics_label, self.metrics = _section(
            "Evaluation metrics (same task and scorer)", ["Task", "Scorer", "Metric", "Before", "After", ""],
            "Evaluation metrics")
        findings, self.findings_label, self.findings = _section(
            "Findings of the earlier submission", ["Finding", "Title", "Severity", "Status", "Carried over as"],
            "Earlier findings")
        self.carry_button = QPushButton("&Carry over")
        self.carry_button.setToolTip("Record the selected earlier finding on this submission as a new open finding, "
                                     "linked to the earlier one")
        self.carry_button.setEnabled(False)
        self.carry_button.clicked.connect(self.carry_over_selected)
        self.findings.itemSelectionChanged.connect(self._update_carry)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for part in (artifacts, fields, metrics, findings):
            splitter.addWidget(part)
        splitter.setChildrenCollapsible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.carry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.error)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.reload()
        follow_changes(self, self._changes)

    def _changes(self, changes: Changes) -> None:
        """A finding carried over (here or elsewhere) changes the earlier findings' "carried over as"."""
        if changes.what is ChangeKind.FINDING and changes.submission_id == self.submission_id:
            self.reload()

    def reload(self) -> None:
        submission_id = self.submission_id
        run_task(lambda: self.services.diff.compare(submission_id), on_done=self._show, on_error=self._failed,
                 owner=self)

    def _failed(self, error: Exception) -> None:
        show_error(self.error, error)
        self.loaded.emit()

    def _show(self, diff: SubmissionDiff) -> None:
        self.diff = diff
        self.heading.setText(f"<h3 style='margin:0'>{html.escape(diff.title)}</h3>Packages: "
                             f"{html.escape(', '.join(diff.packages_before) or '—')} → "
                             f"{html.escape(', '.join(diff.packages_after) or '—')}"
                             + "".join(f"<br><i>{html.escape(note)}</i>" for note in diff.notes))
        self.artifacts_label.setText(
            f"<b>Artifacts</b>: {diff.count('added')} added, {diff.count('removed')} removed, "
            f"{diff.count('changed')} changed, {diff.count('unchanged')} unchanged")
        _fill(self.artifacts, [[_MARKS[a.change], a.path, _digest(a.before_sha256), _digest(a.after_sha256),
                                _bytes(a.before_bytes, a.after_bytes)] for a in diff.artifacts],
              [a.change != "unchanged" for a in diff.artifacts])
        for row, change in enumerate(diff.artifacts):  # the whole digest in the tooltip
            for column, digest in ((2, change.before_sha256), (3, change.after_sha256)):
                self.artifacts.item(row, column).setToolTip(digest or "—")
        self.fields_label.setText(f"<b>Manifest fields</b>: {len(diff.fields)} changed")
        _fill(self.fields, [[f.field, f.before, f.after] for f in diff.fields])
        changed = sum(m.changed for m in diff.metrics)
        self.metrics_label.setText(f"<b>Evaluation metrics</b> (same task and scorer): {changed} changed")
        _fill(self.metrics, [[m.task, m.scorer, m.metric, MetricChange.shown(m.before), MetricChange.shown(m.after),
                              "changed" if m.changed else ""] for m in diff.metrics],
              [m.changed for m in diff.metrics])
        label = ("Findings (same submission; nothing to carry over)" if diff.basis == "supplement"
                 else f"Findings of {diff.against_reference}")
        self.findings_label.setText(f"<b>{html.escape(label)}</b>: {len(diff.findings)}")
        _fill(self.findings, [[f.label, f.title, f.severity, f.status, f.carried_over_as or "—"]
                              for f in diff.findings])
        self._update_carry()
        self.loaded.emit()

    def selected_finding(self) -> int | None:
        row = self.findings.currentRow()
        if self.diff is None or not 0 <= row < len(self.diff.findings):
            return None
        return row

    def _update_carry(self) -> None:
        row = self.selected_finding()
        available = (row is not None and self.diff is not None and self.diff.basis != "supplement"
                     and not self.diff.findings[row].carried_over_as)
        self.carry_button.setEnabled(available)

    def carry_over_selected(self) -> None:
        row = self.selected_finding()
        if row is None or self.diff is None:
            return
        earlier = self.diff.findings[row]
        self.carry_button.setEnabled(False)
        actor, submission_id = self.actor, self.submission_id
        Operation(self, lambda: self.services.findings.carry_over(actor, submission_id, earlier.id),
                  title="Could not carry the finding over").success(
            lambda info: self._carried(earlier.label, info)).failure(self._carry_failed).run()

    def _carried(self, earlier_label: str, info: FindingInfo) -> Changes:
        self.error.hide()
        text = f"{earlier_label} of {self.diff.against_reference if self.diff else ''} carried over as {info.label}."
        self.message.setText(text)
        return Changes(self.submission_id, ChangeKind.FINDING, text)

    def _carry_failed(self, error: Exception) -> None:
        show_error(self.error, error)
        self._update_carry()


def _digest(sha256: str) -> str:
    """The first 16 hex digits (the table stays readable; the tooltip and the record hold all 64)."""
    return f"{sha256[:16]}…" if sha256 else "—"


def _bytes(before: int | None, after: int | None) -> str:
    if before is not None and after is not None and before != after:
        return f"{before:,} → {after:,}"
    value = after if after is not None else before
    return f"{value:,}" if value is not None else ""


__all__ = ["DiffDialog"]
