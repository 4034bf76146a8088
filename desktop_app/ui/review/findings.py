"""The Findings tab: the list, a read-only view with evidence, the editor and evidence dialogs.

Descriptions are Markdown, rendered by Qt itself with raw HTML switched off, links not
followed and no resource loaded (an image reference never reads a file or the
network). The editor saves through the findings service with the version it loaded, so
a finding someone else saved meanwhile is refused with who and when; each saved edit
goes on the window's undo stack (ui.review.undo), and undoing it is itself a saved, audited
change.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDateTime, QObject, QSortFilterProxyModel, Qt, QTimeZone, QUrl, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, Problem
from desktop_app.domain.findings import FindingDraft
from desktop_app.domain.types import FindingStatus, Severity
from desktop_app.domain.workflow import Action, Verdict
from desktop_app.services.detail import ActionChoices, FindingInfo, SubmissionDetail
from desktop_app.services.eval_citations import LogRef, is_log_artifact, looks_like_eval_log, parse_citation
from desktop_app.services.taxonomy import categories, category_title
from desktop_app.ui.common.layouts import FlowLayout
from desktop_app.ui.operations import ChangeKind, Changes, Operation
from desktop_app.ui.operations.dialog import OperationDialog
from desktop_app.ui.threads import run_task
from desktop_app.ui.common import theme

if TYPE_CHECKING:
    from desktop_app.services.evallog import EvalSummary
    from desktop_app.services.findings import FindingVersion
    from desktop_app.ui.review.workflow import WorkflowController

FINDING_ID_ROLE = Qt.ItemDataRole.UserRole
MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML


class SafeBrowser(QTextBrowser):
    """A read-only rich-text view that follows no link and loads no resource."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setAccessibleName(name)

    def loadResource(self, kind: int, name: QUrl) -> Any:  # noqa: N802
        return None  # images in Markdown never read a local file or the network

    def set_markdown(self, text: str) -> None:
        self.document().setMarkdown(text or "", MARKDOWN)


@dataclass(frozen=True)
class _EvidenceRow:
    id: int | None
    kind: str
    title: str
    source: str
    produced: str
    attached: str
    by: str
    openable: bool = False
    """A cited evaluation sample, or an attached evaluation log: the Open button shows it."""


def _when(value: dt.datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value[:16].replace("T", " ")
    return value.strftime("%Y-%m-%d %H:%M")


def _rows_of(evidence: Sequence[Any]) -> list[_EvidenceRow]:
    rows = []
    for e in evidence:
        if e.kind == "file" and parse_citation(getattr(e, "locator", "") or "") is not None:
            source, openable = e.locator, True  # a cited sample of an attached log
        elif e.kind == "file":
            size = getattr(e, "size", None)
            name = getattr(e, "original_name", "") or "file"
            source = name + (f" ({size:,} bytes)" if size else "")
            openable = looks_like_eval_log(name)
        else:
            path = getattr(e, "artifact_path", "") or getattr(e, "artifact", "")
            openable = parse_citation(e.locator or "") is not None
            source = e.locator if openable else path + (f", {e.locator}" if e.locator else "")
        rows.append(_EvidenceRow(e.id, "File" if e.kind == "file" else "Artifact", e.title, source,
                                 _when(e.produced_at), _when(e.attached_at), e.attached_by, openable))
    return rows


class FindingView(QWidget):
    """One finding, read-only: header, Markdown description, condition, evidence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel()
        self.header.setObjectName("findingHeader")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description = SafeBrowser("Description")
        self.condition = QLabel()
        self.condition.setWordWrap(True)
        self.condition.setTextFormat(Qt.TextFormat.RichText)
        self.evidence = QTableWidget(0, 6)
        self.evidence.setHorizontalHeaderLabels(["Kind", "Title", "Source", "Produced", "Attached (UTC)", "By"])
        self.evidence.setAccessibleName("Evidence")
        self.evidence.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.evidence.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.evidence.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.evidence.verticalHeader().hide()
        self.evidence.horizontalHeader().setStretchLastSection(True)
        self.evidence.setWordWrap(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.description, 3)
        layout.addWidget(self.condition)
        self.evidence_label = QLabel("Evidence")
        self.evidence_label.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.evidence_label)
        layout.addWidget(self.evidence, 2)
        self.shown_header: tuple[str, dict[str, str], str] | None = None
        theme.follow_palette(self, self._show_header)

    def clear(self) -> None:
        self.shown_header = None
        self.header.setText("<i>No finding selected.</i>")
        self.description.clear()
        self.condition.clear()
        self.evidence.setRowCount(0)

    def show_finding(self, f: FindingInfo) -> None:
        meta = (f"by {html.escape(f.author)}, {f.created_at:%Y-%m-%d %H:%M} UTC; last saved by "
                f"{html.escape(f.updated_by)} {f.updated_at:%Y-%m-%d %H:%M} UTC (version {f.version})")
        self._show(f.label, {"title": f.title, "category": f.category, "severity": f.severity.value,
                             "status": f.status, "description": f.description, "condition": f.condition,
                             "releasable": "yes" if f.releasable else "no"},
                   meta, _rows_of(f.evidence))

    def show_version(self, v: FindingVersion) -> None:
        changed = ", ".join(v.changed) if v.changed and v.action != "finding.create" else ""
        meta = (f"as it stood after event {v.seq}: {html.escape(v.action)} by {html.escape(v.actor)} at "
                f"{html.escape(v.occurred_at[:19].replace('T', ' '))} UTC (version {v.version})"
                + (f"; changed: {html.escape(changed)}" if changed else "")
                + (f"; {html.escape(v.note)}" if v.note else ""))
        self._show(v.label, v.values, meta, _rows_of(v.evidence))

    def _show(self, label: str, values: dict[str, str], meta: str, evidence: list[_EvidenceRow]) -> None:
        self.shown_header = (label, values, meta)
        self._show_header()
        self.description.set_markdown(values.get("description", "") or "*No description.*")
        condition = values.get("condition", "")
        released = ("Releasable to the developer: listed in letters and notices."
                    if values.get("releasable") == "yes" else "Not releasable: letters and notices leave it out.")
        self.condition.setText((f"<b>Condition if cleared with conditions:</b> {html.escape(condition)}"
                                if condition else "<i>This finding imposes no condition.</i>") + f"<br>{released}")
        self.evidence.setRowCount(len(evidence))
        for r, row in enumerate(evidence):
            for c, value in enumerate((row.kind, row.title, row.source, row.produced, row.attached, row.by)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, row.id)
                    item.setData(Qt.ItemDataRole.UserRole + 1, row.kind)
                    item.setData(Qt.ItemDataRole.UserRole + 2, row.openable)
                self.evidence.setItem(r, c, item)
        self.evidence.resizeColumnsToContents()
        self.evidence_label.setText(f"Evidence ({len(evidence)})")

    def _show_header(self) -> None:
        """The header's muted line carries our colour in rich text; written again after a palette switch."""
        if self.shown_header is None:
            return
        label, values, meta = self.shown_header
        severity, status = values.get("severity", ""), values.get("status", "")
        marker = "▲ " if severity in (Severity.CRITICAL.value, Severity.HIGH.value) and status in (
            FindingStatus.OPEN.value, FindingStatus.MITIGATION_REQUESTED.value) else ""
        self.header.setText(
            f"<h3 style='margin:0'>{html.escape(label)} — {html.escape(values.get('title', ''))}</h3>"
            f"<b>{marker}{html.escape(severity)}</b> · {html.escape(status)} · "
            f"{html.escape(category_title(values.get('category', '')))}<br>"
            f"<span style='color:{theme.colour("muted").name()}'>{meta}</span>")


class FindingsPage(QWidget):
    """The Findings tab: buttons, the list (the pane's table) and the selected finding."""

    new_requested = Signal()
    edit_requested = Signal(int)
    withdraw_requested = Signal(int)
    attach_requested = Signal(int)
    cite_requested = Signal(int)
    save_evidence_requested = Signal(int)
    open_evidence_requested = Signal(int)
    detach_requested = Signal(int, int)  # finding id, evidence id

    def __init__(self, table: QTableWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self.detail: SubmissionDetail | None = None
        self.can_add, self.can_edit = Verdict(False), Verdict(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view = FindingView()
        self.buttons: dict[str, QPushButton] = {}
        self.tips: dict[str, str] = {}
        bar_host = QWidget()  # the buttons wrap onto a second line in a narrow pane
        bar = FlowLayout(bar_host)
        for key, text, tip, slot in (
                ("new", "&New finding…", "Record a new finding (numbered F-1, F-2 …)", self.new_requested.emit),
                ("edit", "&Edit…", "Change the selected finding (Ctrl+Z undoes a saved edit)",
                 lambda: self._emit_finding(self.edit_requested)),
                ("withdraw", "&Withdraw…", "Withdraw the selected finding (final; it keeps its number)",
                 lambda: self._emit_finding(self.withdraw_requested)),
                ("attach", "Attach &file…", "Attach a file as evidence for the selected finding",
                 lambda: self._emit_finding(self.attach_requested)),
                ("cite", "C&ite artifact…", "Cite a submitted artifact (page, sample id, line) as evidence",
                 lambda: self._emit_finding(self.cite_requested)),
                ("save", "Save a cop&y…", "Save the selected evidence file", self._emit_evidence),
                ("detach", "De&tach…", "Take the selected evidence off the finding (attached by mistake; the "
                                       "audit trail keeps what it was)", self._emit_detach),
                ("open", "&Open evidence…", "Show the cited evaluation sample, or the attached evaluation log, "
                                            "read-only", self._emit_open)):
            button = QPushButton(text)
            button.setObjectName(f"finding_{key}")
            button.setToolTip(tip)
            self.tips[key] = tip
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
            self.buttons[key] = button
            bar.addWidget(button)
        self.reason = QLabel()
        self.reason.setObjectName("findingsReason")
        self.reason.setWordWrap(True)
        theme.colour_text(self.reason, "muted")
        self.reason.hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        self.table.setMinimumHeight(96)
        splitter.addWidget(self.table)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([180, 420])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(bar_host)
        layout.addWidget(self.reason)
        layout.addWidget(splitter)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemActivated.connect(lambda _item: self._emit_finding(self.edit_requested)
                                         if self.buttons["edit"].isEnabled() else None)
        self.view.evidence.itemSelectionChanged.connect(self._update_buttons)
        self.view.evidence.itemActivated.connect(lambda _item: self._emit_open())
        self.view.clear()
        self._update_buttons()

    def current_finding(self) -> FindingInfo | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        if item is None or self.detail is None:
            return None
        finding_id = item.data(FINDING_ID_ROLE)
        return next((f for f in self.detail.findings if f.id == finding_id), None)

    def current_evidence(self) -> tuple[int, str] | None:
        row = self.view.evidence.currentRow()
        item = self.view.evidence.item(row, 0) if row >= 0 else None
        if item is None:
            return None
        return item.data(Qt.ItemDataRole.UserRole), item.data(Qt.ItemDataRole.UserRole + 1)

    def select_finding(self, finding_id: int) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(FINDING_ID_ROLE) == finding_id:
                self.table.selectRow(row)
                return

    def show_findings(self, detail: SubmissionDetail, choices: ActionChoices | None, *,
                      keep: int | None = None) -> None:
        """After the pane filled the table: verdicts, and the finding shown before (or the first)."""
        self.detail = detail
        if choices is not None:
            self.can_add = choices.verdicts.get(Action.ADD_FINDING, Verdict(False))
            self.can_edit = choices.verdicts.get(Action.EDIT_FINDINGS, Verdict(False))
        else:
            self.can_add = self.can_edit = Verdict(False, "")
        if keep is not None:
            self.select_finding(keep)
        if self.table.currentRow() < 0 and self.table.rowCount():
            self.table.selectRow(0)
        self._selection_changed()
        reason = self.can_edit.reason or self.can_add.reason
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason) and not (self.can_add or self.can_edit))

    def clear(self) -> None:
        self.detail = None
        self.view.clear()
        self.reason.hide()
        self._update_buttons()

    def _selection_changed(self) -> None:
        finding = self.current_finding()
        if finding is None:
            self.view.clear()
        else:
            self.view.show_finding(finding)
        self._update_buttons()

    def _update_buttons(self) -> None:
        finding = self.current_finding()
        editable = finding is not None and finding.status != FindingStatus.WITHDRAWN.value
        self.buttons["new"].setEnabled(bool(self.detail is not None and self.can_add))
        self.buttons["new"].setToolTip(self.can_add.reason or self.tips["new"])
        for key in ("edit", "withdraw", "attach", "cite"):
            button = self.buttons[key]
            button.setEnabled(bool(self.can_edit) and editable)
            if not self.can_edit and self.can_edit.reason:
                button.setToolTip(self.can_edit.reason)  # why not, in the words the service would refuse with
            elif finding is not None and not editable:
                button.setToolTip(f"{finding.label} was withdrawn; withdrawn findings are final.")
            else:
                button.setToolTip(self.tips[key])
        evidence = self.current_evidence()
        self.buttons["save"].setEnabled(evidence is not None and evidence[1] == "File")
        self.buttons["detach"].setEnabled(evidence is not None and bool(self.can_edit) and editable)
        self.buttons["detach"].setToolTip(self.buttons["edit"].toolTip() if not self.buttons["edit"].isEnabled()
                                          and finding is not None else self.tips["detach"])
        self.buttons["open"].setEnabled(self._openable_evidence() is not None)

    def _emit_detach(self) -> None:
        finding, evidence = self.current_finding(), self.current_evidence()
        if finding is not None and evidence is not None:
            self.detach_requested.emit(finding.id, evidence[0])

    def trigger(self, key: str) -> str | None:
        """Press button `key` ("new", "edit") from the keyboard; if it is not open now, the reason why."""
        button = self.buttons[key]
        if button.isEnabled():
            button.click()
            return None
        if self.detail is None:
            return "Select a submission first."
        if key != "new" and self.current_finding() is None and self.can_edit:
            return "Select a finding on the Findings tab first."
        return button.toolTip()

    def _openable_evidence(self) -> int | None:
        row = self.view.evidence.currentRow()
        item = self.view.evidence.item(row, 0) if row >= 0 else None
        if item is None or not item.data(Qt.ItemDataRole.UserRole + 2):
            return None
        return item.data(Qt.ItemDataRole.UserRole)

    def _emit_open(self) -> None:
        evidence_id = self._openable_evidence()
        if evidence_id is not None:
            self.open_evidence_requested.emit(evidence_id)

    def _emit_finding(self, signal: Any) -> None:
        finding = self.current_finding()
        if finding is not None:
            signal.emit(finding.id)

    def _emit_evidence(self) -> None:
        evidence = self.current_evidence()
        if evidence is not None and evidence[0] is not None:
            self.save_evidence_requested.emit(evidence[0])


# == dialogs ====================================================================================


def _combo(name: str, items: Sequence[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    for text, value in items:
        combo.addItem(text, value)
    return combo


def _text(name: str, height: int = 160) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setAccessibleName(name)
    box.setTabChangesFocus(True)
    box.setMinimumHeight(height)
    return box


def _select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def draft_of(finding: FindingInfo) -> FindingDraft:
    return FindingDraft(title=finding.title, category=finding.category, severity=finding.severity.value,
                        status=finding.status, description=finding.description, condition=finding.condition,
                        releasable=finding.releasable)


class FindingEditor(OperationDialog):
    """New or changed finding. `result_value` is the saved FindingInfo."""

    def __init__(self, controller: WorkflowController, detail: SubmissionDetail, finding: FindingInfo | None = None,
                 parent: QWidget | None = None) -> None:
        title = f"Edit {finding.label} of {detail.reference}" if finding else f"New finding for {detail.reference}"
        intro = ("" if finding else "The finding is numbered when it is saved. Evidence is attached after saving.")
        super().__init__(title, intro, "&Save", parent)
        self.setMinimumSize(680, 600)
        self.controller, self.detail, self.finding = controller, detail, finding
        self.title = QLineEdit()
        self.title.setAccessibleName("Title")
        self.title.setMaxLength(200)
        self.category = _combo("Category", [(c.full_title, c.id) for c in categories()])
        self.severity = _combo("Severity", [(s.value, s.value) for s in Severity])
        statuses = [s for s in FindingStatus if s is not FindingStatus.WITHDRAWN]
        self.status = _combo("Status", [(s.value, s.value) for s in statuses])
        self.description = QTabWidget()
        self.description_edit = _text("Description (Markdown)")
        self.description_edit.setPlaceholderText("What was observed, how, and why it matters. Markdown: **bold**, "
                                                 "- lists, `code`.")
        self.preview = SafeBrowser("Description preview")
        self.description.addTab(self.description_edit, "&Write")
        self.description.addTab(self.preview, "&Preview")
        self.description.currentChanged.connect(
            lambda index: self.preview.set_markdown(self.description_edit.toPlainText()) if index == 1 else None)
        self.condition = _text("Condition", height=70)
        self.condition.setMaximumHeight(110)
        self.condition.setPlaceholderText("The condition this finding imposes if the model is cleared with "
                                          "conditions (required for Risk accepted)")
        severity_row = QWidget()
        row = QHBoxLayout(severity_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.severity)
        row.addWidget(QLabel("S&tatus:"))
        row.itemAt(1).widget().setBuddy(self.status)  # type: ignore[union-attr]
        row.addWidget(self.status)
        row.addStretch(1)
        self.form.addRow("&Title:", self.title)
        self.form.addRow("&Category:", self.category)
        self.form.addRow("Se&verity:", severity_row)
        self.form.addRow("&Description:", self.description)
        self.form.addRow("C&ondition:", self.condition)
        self.releasable = QCheckBox("Releasable to the &developer: list it in letters and notices")
        self.releasable.setToolTip("Unticked, the finding stays with the agency; the developer's letter shows "
                                   "only the findings marked releasable.")
        self.form.addRow("", self.releasable)
        self.fields.update(title=self.title, category=self.category, severity=self.severity, status=self.status,
                           description=self.description_edit, condition=self.condition, releasable=self.releasable)
        if finding is not None:
            self.title.setText(finding.title)
            _select(self.category, finding.category)
            _select(self.severity, finding.severity.value)
            _select(self.status, finding.status)
            self.description_edit.setPlainText(finding.description)
            self.condition.setPlainText(finding.condition)
            self.releasable.setChecked(finding.releasable)
        else:
            _select(self.severity, Severity.MEDIUM.value)
        self.title.setFocus()

    def draft(self) -> FindingDraft:
        return FindingDraft(title=self.title.text(), category=str(self.category.currentData() or ""),
                            severity=str(self.severity.currentData() or ""),
                            status=str(self.status.currentData() or ""),
                            description=self.description_edit.toPlainText(),
                            condition=self.condition.toPlainText(), releasable=self.releasable.isChecked())

    def work(self) -> Callable[[], Any]:
        findings, actor, draft = self.controller.services.findings, self.controller.actor, self.draft()
        if self.finding is None:
            submission_id = self.detail.id
            return lambda: findings.create(actor, submission_id, draft)
        finding_id, version = self.finding.id, self.finding.version
        return lambda: findings.edit(actor, finding_id, draft, expected_version=version)


class WithdrawFindingDialog(OperationDialog):
    def __init__(self, controller: WorkflowController, finding: FindingInfo, parent: QWidget | None = None) -> None:
        super().__init__(f"Withdraw {finding.label}",
                         f"Withdraw <b>{html.escape(finding.label)} — {html.escape(finding.title)}</b>? A withdrawn "
                         "finding keeps its number, imposes nothing and cannot be changed again.",
                         "&Withdraw finding", parent)
        self.controller, self.finding = controller, finding
        self.reason = _text("Reason", height=70)
        self.form.addRow("&Reason:", self.reason)
        self.fields["reason"] = self.reason

    def work(self) -> Callable[[], Any]:
        findings, actor, reason = self.controller.services.findings, self.controller.actor, self.reason.toPlainText()
        finding_id, version = self.finding.id, self.finding.version
        return lambda: findings.withdraw(actor, finding_id, reason, expected_version=version)


class DetachEvidenceDialog(OperationDialog):
    def __init__(self, controller: WorkflowController, finding: FindingInfo, evidence_id: int,
                 parent: QWidget | None = None) -> None:
        evidence = next((e for e in finding.evidence if e.id == evidence_id), None)
        title = evidence.title if evidence is not None else f"evidence {evidence_id}"
        super().__init__(f"Detach evidence from {finding.label}",
                         f"Take <b>{html.escape(title)}</b> off <b>{html.escape(finding.label)}</b>? The audit trail "
                         "keeps what it was and who detached it, and why.", "&Detach evidence", parent)
        self.controller, self.evidence_id = controller, evidence_id
        self.reason = _text("Reason", height=70)
        self.reason.setPlaceholderText("e.g. attached to the wrong finding")
        self.form.addRow("&Reason:", self.reason)
        self.fields["reason"] = self.reason

    def work(self) -> Callable[[], Any]:
        findings, actor, reason = self.controller.services.findings, self.controller.actor, self.reason.toPlainText()
        evidence_id = self.evidence_id
        return lambda: findings.detach_evidence(actor, evidence_id, reason)


class _ProducedRow(QWidget):
    """When the evidence was produced (optional; attached-at is recorded by itself)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.known = QCheckBox("Known:")
        self.when = QDateTimeEdit()
        self.when.setTimeZone(QTimeZone.utc())
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
        self.when.setCalendarPopup(True)
        self.when.setDateTime(QDateTime.currentDateTimeUtc())
        self.when.setEnabled(False)
        self.when.setAccessibleName("Produced at (UTC)")
        self.known.toggled.connect(self.when.setEnabled)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.known)
        row.addWidget(self.when)
        row.addStretch(1)

    def value(self) -> dt.datetime | None:
        if not self.known.isChecked():
            return None
        return dt.datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch(), dt.UTC)


class AttachFileDialog(OperationDialog):
    def __init__(self, controller: WorkflowController, finding: FindingInfo, parent: QWidget | None = None) -> None:
        super().__init__(f"Attach a file to {finding.label}",
                         "The file is copied into the data folder's store under its SHA-256; its name is kept for "
                         "display only.", "&Attach", parent)
        self.controller, self.finding = controller, finding
        self.path = QLineEdit()
        self.path.setAccessibleName("File")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        file_row = QWidget()
        row = QHBoxLayout(file_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.title_edit = QLineEdit()
        self.title_edit.setAccessibleName("Title")
        self.title_edit.setPlaceholderText("defaults to the file's name")
        self.produced = _ProducedRow()
        self.form.addRow("&File:", file_row)
        self.form.addRow("&Title:", self.title_edit)
        self.form.addRow("&Produced:", self.produced)
        self.fields.update(file=self.path, title=self.title_edit, produced_at=self.produced)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Evidence file")
        if path:
            self.path.setText(path)

    def work(self) -> Callable[[], Any]:
        text = self.path.text().strip()
        if not text:
            raise InputRejected(Problem("choose the file to attach", field="file"))
        findings, actor, finding_id = self.controller.services.findings, self.controller.actor, self.finding.id
        title, produced = self.title_edit.text(), self.produced.value()
        return lambda: findings.attach_file(actor, finding_id, Path(text), title=title, produced_at=produced)


def citable_logs(detail: SubmissionDetail) -> list[tuple[LogRef, str, str]]:
    """The logs a finding may cite a sample of: (ref, name, where from); each attached log once."""
    found = [(LogRef("artifact", a.id), a.path, "artifact") for a in detail.artifacts
             if is_log_artifact(a.path, a.kind)]
    seen: set[str] = set()
    for finding in detail.findings:
        for e in finding.evidence:
            if e.kind == "file" and e.blob_sha256 and e.blob_sha256 not in seen and not e.locator \
                    and looks_like_eval_log(e.original_name):
                seen.add(e.blob_sha256)
                found.append((LogRef("evidence", e.id), e.original_name, f"attached to {finding.label}"))
    return found


class CiteArtifactDialog(OperationDialog):
    """Cite an artifact, or one sample of an evaluation log picked from the log's own list.

    Choosing a log (an artifact, or a log attached to a finding) reads its summary on a
    worker and lists its samples with score and status; picking one fills the locator, so
    nobody types `#sample-id`. The list is a model over the summary's rows, so a
    5,000-sample log costs the GUI thread nothing.
    """

    samples_loaded = Signal()

    def __init__(self, controller: WorkflowController, detail: SubmissionDetail, finding: FindingInfo,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Cite an artifact for {finding.label}",
                         "Point to the part of a submitted artifact that supports the finding; in an evaluation "
                         "log, pick the sample.", "&Cite", parent)
        self.controller, self.finding = controller, finding
        self.logs = {f"{ref.kind}:{ref.id}": (ref, name) for ref, name, _where in citable_logs(detail)}
        choices = [(f"{a.path} ({a.kind})", f"artifact:{a.id}") for a in detail.artifacts]
        choices += [(f"{name} (evaluation log {where})", f"evidence:{ref.id}")
                    for ref, name, where in citable_logs(detail) if ref.kind == "evidence"]
        self.artifact = _combo("Artifact", choices)
        self.locator = QLineEdit()
        self.locator.setAccessibleName("Locator")
        self.locator.setPlaceholderText("optional: page, line, task …; in an evaluation log, pick the sample below")
        self.sample_filter = QLineEdit()
        self.sample_filter.setAccessibleName("Filter samples")
        self.sample_filter.setPlaceholderText("filter by sample id")
        self.sample_filter.setClearButtonEnabled(True)
        from desktop_app.ui.review.eval_view import SampleTableModel  # the log reader, on first use

        self.samples_model = SampleTableModel()
        self.samples_proxy = QSortFilterProxyModel(self)
        self.samples_proxy.setSourceModel(self.samples_model)
        self.samples_proxy.setFilterKeyColumn(0)
        self.samples_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.sample_filter.textChanged.connect(self.samples_proxy.setFilterFixedString)
        self.samples = QTableView()
        self.samples.setModel(self.samples_proxy)
        self.samples.setAccessibleName("Samples")
        self.samples.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.samples.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.samples.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.samples.verticalHeader().hide()
        self.samples.horizontalHeader().setResizeContentsPrecision(0)
        self.samples.horizontalHeader().setStretchLastSection(True)
        self.samples.setMinimumHeight(200)
        self.samples.selectionModel().currentRowChanged.connect(lambda current, _previous: self._pick(current))
        self.sample_status = QLabel()
        self.sample_status.setWordWrap(True)
        self.sample_box = QWidget()
        box = QVBoxLayout(self.sample_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.sample_filter)
        box.addWidget(self.samples, 1)
        box.addWidget(self.sample_status)
        self.title_edit = QLineEdit()
        self.title_edit.setAccessibleName("Title")
        self.title_edit.setPlaceholderText("defaults to the artifact's path")
        self.produced = _ProducedRow()
        self.form.addRow("&Artifact:", self.artifact)
        self.form.addRow("&Sample:", self.sample_box)
        self.form.addRow("&Locator:", self.locator)
        self.form.addRow("&Title:", self.title_edit)
        self.form.addRow("&Produced:", self.produced)
        self.fields.update(artifact=self.artifact, locator=self.locator, sample=self.samples, title=self.title_edit,
                           produced_at=self.produced, log=self.artifact)
        self._reading = ""
        self.artifact.currentIndexChanged.connect(lambda _index: self._source_changed())
        if not choices:
            self.error.setText("This submission has no artifacts to cite.")
            self.error.show()
            self.ok_button.setEnabled(False)
        self._source_changed()

    def _log(self) -> tuple[LogRef, str] | None:
        return self.logs.get(str(self.artifact.currentData() or ""))

    def _source_changed(self) -> None:
        """Another source: for a log, read its sample list on a worker; otherwise hide the list."""
        self.samples_model.set_rows(())
        self.sample_filter.clear()
        log = self._log()
        self.form.setRowVisible(self.sample_box, log is not None)
        self.produced.setEnabled(log is None or log[0].kind == "artifact")
        self.title_edit.setPlaceholderText("defaults to the artifact's path")
        if log is None:
            self._reading = ""
            return
        ref, name = log
        key = self._reading = f"{ref.kind}:{ref.id}"
        self.sample_status.setText(f"Reading the samples of {name}…")
        run_task(lambda: self.controller.services.eval_logs.summary(ref),
                 on_done=lambda summary: self._show_samples(key, summary),
                 on_error=lambda error: self._samples_failed(key, error), owner=self)

    def _show_samples(self, key: str, summary: EvalSummary) -> None:
        if key != self._reading:  # the reviewer chose another source meanwhile
            return
        self.samples_model.set_rows(summary.samples)
        self.samples.resizeColumnsToContents()
        self.sample_status.setText(f"{summary.sample_count:,} samples of {summary.task} on {summary.model}: "
                                   f"pick the one that supports the finding.")
        self.samples_loaded.emit()

    def _samples_failed(self, key: str, error: Exception) -> None:
        if key == self._reading:
            self.sample_status.setText(str(error))
            self.samples_loaded.emit()

    def _pick(self, index: Any) -> None:
        if not index.isValid():
            return
        row = self.samples_model.rows[self.samples_proxy.mapToSource(index).row()]
        self.locator.setText(f"#{row.citation_id}")
        log = self._log()
        if log is not None and log[0].kind == "evidence":  # an artifact's citation is titled by its path
            self.title_edit.setPlaceholderText(f"defaults to {log[1]} #{row.citation_id}")

    def select_sample(self, sample_id: str, epoch: int = 1) -> bool:
        """Pick the sample as the reviewer would in the list (for the keyboard and for tests)."""
        for row, sample in enumerate(self.samples_model.rows):
            if sample.id == sample_id and sample.epoch == epoch:
                index = self.samples_proxy.mapFromSource(self.samples_model.index(row, 0))
                if index.isValid():
                    self.samples.setCurrentIndex(index)
                    return True
        return False

    def work(self) -> Callable[[], Any]:
        chosen = str(self.artifact.currentData() or "")
        if not chosen:
            raise InputRejected(Problem("choose the artifact", field="artifact"))
        findings, actor, finding_id = self.controller.services.findings, self.controller.actor, self.finding.id
        locator, title, produced = self.locator.text().strip(), self.title_edit.text(), self.produced.value()
        kind, _sep, ident = chosen.partition(":")
        if kind == "evidence":
            cited = parse_citation(f"eval:log{locator}") if locator.startswith("#") else None
            if cited is None:
                raise InputRejected(Problem("pick a sample of the log", field="sample"))
            _path, sample_id, epoch = cited
            return lambda: findings.cite_file_sample(actor, finding_id, int(ident), sample_id, epoch=epoch,
                                                     title=title)
        return lambda: findings.cite_artifact(actor, finding_id, int(ident), locator=locator, title=title,
                                              produced_at=produced)


class FindingVersionDialog(QDialog):
    """An earlier version of a finding, rebuilt from the audit trail."""

    def __init__(self, version: FindingVersion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{version.label} as of event {version.seq}")
        self.resize(720, 560)
        self.view = FindingView()
        self.view.show_version(version)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(buttons)


# == what the buttons do =========================================================================


class FindingActions(QObject):
    """The Findings tab's operations, opened by the workflow controller."""

    def __init__(self, controller: WorkflowController) -> None:
        super().__init__(controller)
        self.controller = controller

    @property
    def services(self) -> Any:
        return self.controller.services

    def _finding(self, finding_id: int) -> FindingInfo:
        # read fresh: the editor carries the version the user sees now, not the one shown earlier
        return self.services.findings.get(finding_id)

    def new(self, detail: SubmissionDetail) -> OperationDialog:
        dialog = FindingEditor(self.controller, detail, None, self.controller.window)
        return self.controller.open(dialog, lambda info: Changes(detail.id, ChangeKind.FINDING, f"{info.label} recorded"))

    def edit(self, detail: SubmissionDetail, finding_id: int) -> OperationDialog | None:
        try:
            before = self._finding(finding_id)
        except ClearanceDeskError as error:
            self.controller.report("Edit finding", error)
            return None
        dialog = FindingEditor(self.controller, detail, before, self.controller.window)

        def saved(after: FindingInfo) -> Changes | None:
            if after.version != before.version:
                from desktop_app.ui.review.undo import EditFindingCommand

                self.controller.undo_stack.push(EditFindingCommand(
                    self.controller, detail.id, after.id, after.label, draft_of(before), draft_of(after),
                    after.version))
            return Changes(detail.id, ChangeKind.FINDING, f"{after.label} saved")

        return self.controller.open(dialog, saved)

    def withdraw(self, detail: SubmissionDetail, finding_id: int) -> OperationDialog | None:
        try:
            finding = self._finding(finding_id)
        except ClearanceDeskError as error:
            self.controller.report("Withdraw finding", error)
            return None
        dialog = WithdrawFindingDialog(self.controller, finding, self.controller.window)
        return self.controller.open(dialog, lambda info: Changes(detail.id, ChangeKind.FINDING, f"{info.label} withdrawn"))

    def attach_file(self, detail: SubmissionDetail, finding_id: int) -> OperationDialog | None:
        finding = next((f for f in detail.findings if f.id == finding_id), None)
        if finding is None:
            return None
        dialog = AttachFileDialog(self.controller, finding, self.controller.window)
        return self.controller.open(dialog, lambda info: Changes(detail.id, ChangeKind.EVIDENCE,
                                                                f"Attached {info.title} to {finding.label}"))

    def cite_artifact(self, detail: SubmissionDetail, finding_id: int) -> OperationDialog | None:
        finding = next((f for f in detail.findings if f.id == finding_id), None)
        if finding is None:
            return None
        dialog = CiteArtifactDialog(self.controller, detail, finding, self.controller.window)
        return self.controller.open(dialog, lambda info: Changes(detail.id, ChangeKind.EVIDENCE,
                                                                f"Cited {info.title} for {finding.label}"))

    def detach_evidence(self, detail: SubmissionDetail, finding_id: int, evidence_id: int) -> OperationDialog | None:
        finding = next((f for f in detail.findings if f.id == finding_id), None)
        if finding is None:
            return None
        dialog = DetachEvidenceDialog(self.controller, finding, evidence_id, self.controller.window)
        return self.controller.open(dialog, lambda info: Changes(detail.id, ChangeKind.EVIDENCE,
                                                                f"Evidence detached from {info.label}"))

    def save_evidence(self, evidence_id: int, saved: Callable[[Path], None]) -> None:
        """Ask where, then copy on a worker; `saved(target)` after, a failure shown in the one place."""
        folder = QFileDialog.getExistingDirectory(self.controller.window, "Save a copy into folder")
        if folder:
            findings = self.services.findings
            Operation(self.controller.window, lambda: findings.save_evidence_copy(evidence_id, Path(folder)),
                      title="Cannot save a copy").success(lambda target: saved(target)).run()

    def show_version(self, finding_id: int, seq: int) -> FindingVersionDialog | None:
        try:
            version = self.services.findings.version_at(finding_id, seq)
        except ClearanceDeskError as error:
            self.controller.report("Cannot show this version", error)
            return None
        dialog = FindingVersionDialog(version, self.controller.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog


__all__ = ["FindingActions", "FindingEditor", "FindingView", "FindingVersionDialog", "FindingsPage",
           "SafeBrowser", "draft_of"]
