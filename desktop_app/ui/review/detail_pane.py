"""The selected submission: overview, artifacts, findings, history and letters tabs.

Everything from a package is untrusted text: it is HTML-escaped before display, links
are never followed, and nothing is handed to the operating system to open.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.types import Decision
from desktop_app.domain.units import human_size
from desktop_app.services.detail import ActionChoices, HistoryEntry, LetterInfo, SubmissionDetail
from desktop_app.services.taxonomy import category_title
from desktop_app.ui.common.layouts import FlowLayout
from desktop_app.ui.review.findings import FindingsPage
from desktop_app.ui.review.history_text import describe as describe_event
from desktop_app.ui.review.workflow import ActionPanel


#: The widest a title column gets before it is elided (the full title is in the tooltip).
TITLE_WIDTH = 320


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def make_table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAccessibleName(name)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    table.setWordWrap(False)
    return table


def fill_table(table: QTableWidget, rows: list[list[str]], ids: list[int] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            if ids is not None and c == 0:
                item.setData(Qt.ItemDataRole.UserRole, ids[r])
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def overview_html(d: SubmissionDetail) -> str:
    claims = d.claims or {}
    safeguards = "".join(f"<li>{esc(s)}</li>" for s in claims.get("safeguards", []))
    rows = [
        ("State", d.state.label),
        ("Developer", d.developer_name),
        ("Contact", f"{d.contact_name} &lt;{esc(d.contact_email)}&gt;" if d.contact_email else d.contact_name),
        ("Model", f"{d.model_name} {d.model_version}" + (f" (family {d.model_family})" if d.model_family else "")),
        ("Parameters", f"{d.parameters_billion:g} billion" if d.parameters_billion else "not stated"),
        ("Modalities", ", ".join(d.modalities) or "not stated"),
        ("Deployment", ", ".join(d.deployment) or "not stated"),
        ("Intended release", d.intended_release.isoformat() if d.intended_release else "not stated"),
        ("Received", d.received_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Review window", f"{d.window_days} days" + (f", paused {d.paused_days} days" if d.paused_days else "")),
        ("Due", d.due_date.isoformat()),
        ("Assignee", d.assignee or "Unassigned"),
        ("Packages", ", ".join(d.package_ids) or ("registered by hand" if d.registered_by_hand else "")),
        ("Manifest SHA-256", d.manifest_sha256 or "—"),
    ]
    if d.previous_reference:
        rows.append(("Resubmission of", d.previous_reference))
    table = "".join(
        f"<tr><th align='left' valign='top' style='padding-right:12px'>{esc(k)}</th><td>"
        f"{v if k == 'Contact' else esc(v)}</td></tr>" for k, v in rows)
    parts = [f"<h2>{esc(d.reference)} — {esc(d.model_label)}</h2>", latest_signoff_html(d), f"<table>{table}</table>"]
    if d.registered_by_hand:
        parts.append("<p><i>Registered by hand: no package manifest was imported.</i></p>")
    parts.append(review_html(d))  # what a supervisor signs off comes before the developer's claims
    if d.description:
        parts.append(f"<h3>Description</h3><p>{esc(d.description)}</p>")
    if claims.get("cyber_capability_summary"):
        parts.append(f"<h3>Developer's cyber capability summary</h3><p>{esc(claims['cyber_capability_summary'])}</p>")
    if safeguards:
        parts.append(f"<h3>Safeguards claimed</h3><ul>{safeguards}</ul>")
    if claims.get("known_limitations"):
        parts.append(f"<h3>Known limitations</h3><p>{esc(claims['known_limitations'])}</p>")
    return "".join(parts)


_OUTCOMES = {"pending": "awaiting sign-off", "approved": "approved", "returned": "returned to the reviewer",
             "withdrawn": "withdrawn with the submission"}


def latest_signoff_html(d: SubmissionDetail) -> str:
    """The supervisor's latest word, first thing on the Overview: a return says what to change."""
    rec = next((r for r in reversed(d.recommendations) if r.signed_off_at is not None), None)
    if rec is None:
        return ""
    verb = "Returned to review" if rec.outcome == "returned" else "Approved"
    said = f": {esc(rec.signoff_comment)}" if rec.signoff_comment else " (no comment)"
    return (f"<p style='margin:6px 0 10px 0'><b>{verb} by {esc(rec.signed_off_by)}</b>, "
            f"{rec.signed_off_at:%Y-%m-%d %H:%M} UTC{said}</p>")


def review_html(d: SubmissionDetail) -> str:
    """Recommendations (newest first) and information requests: what a supervisor signs off."""
    parts = []
    for rec in reversed(d.recommendations):
        conditions = "".join(f"<li>{esc(c)}</li>" for c in rec.conditions)
        parts.append(
            f"<h3>Recommendation: {esc(Decision(rec.decision).label)} ({esc(_OUTCOMES.get(rec.outcome, rec.outcome))})"
            f"</h3><p>By {esc(rec.reviewer)}, {rec.submitted_at:%Y-%m-%d %H:%M} UTC.</p><p>{esc(rec.rationale)}</p>"
            + (f"<p><b>Conditions</b></p><ol>{conditions}</ol>" if conditions else "")
            + (f"<p><i>{'Returned' if rec.outcome == 'returned' else 'Approved'} by {esc(rec.signed_off_by)}, "
               f"{rec.signed_off_at:%Y-%m-%d %H:%M} UTC" + (f": {esc(rec.signoff_comment)}" if rec.signoff_comment
                                                           else "") + "</i></p>"
               if rec.signed_off_at is not None else ""))
    if d.requests:
        items = "".join(
            f"<li><b>Request {r.number}</b> by {esc(r.requested_by)}, {r.requested_at:%Y-%m-%d}: {esc(r.text)}<br>"
            + (f"<i>Answered {r.answered_at:%Y-%m-%d}</i>" + (f": {esc(r.answer_note)}" if r.answer_note else "")
               if r.answered_at else "<i>Awaiting the answer; the review clock is paused.</i>") + "</li>"
            for r in d.requests)
        parts.append(f"<h3>Information requests</h3><ul>{items}</ul>")
    return "".join(parts)


class DetailPane(QTabWidget):
    """Read-only view of one submission; tabs are filled from a SubmissionDetail."""

    artifact_activated = Signal(int)
    artifact_save_requested = Signal(int)
    attach_requested = Signal(int)
    # Letters tab: the letter's register id (notice: submission id and letter kind)
    letter_open_requested = Signal(int)
    letter_save_requested = Signal(int)
    letter_print_requested = Signal(int)
    letter_verify_requested = Signal(int)
    letter_revoke_requested = Signal(int)
    letter_correct_requested = Signal(int)
    notice_requested = Signal(int, str)
    # History tab: a finding as it stood after an event (finding id, event sequence number)
    finding_version_requested = Signal(int, int)
    # Overview: "Changes since the previous submission" (submission id)
    changes_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Submission detail")
        self.detail: SubmissionDetail | None = None
        self.overview = QTextBrowser()
        self.overview.setOpenLinks(False)
        self.overview.setOpenExternalLinks(False)
        self.overview.setAccessibleName("Overview")
        self.artifacts = make_table(["Path", "Kind", "Size", "SHA-256", "Verified", "Package"], "Artifacts")
        self.artifacts.itemActivated.connect(
            lambda item: self.artifact_activated.emit(self.artifacts.item(item.row(), 0).data(Qt.ItemDataRole.UserRole)))
        # severity and status before the title, so a narrow pane still shows what matters
        self.findings = make_table(["#", "Severity", "Status", "Title", "Category", "Author"], "Findings")
        self.history = make_table(["#", "Time (UTC)", "What happened"], "History")
        self.letters = make_table(["Number", "Kind", "Decision", "Issued (UTC)", "Signed by", "Status", "SHA-256"],
                                  "Letters")
        self.placeholder = QLabel("Select a submission in the queue to see it here.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        overview_page = QWidget()
        layout = QVBoxLayout(overview_page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.action_panel = ActionPanel()  # the review actions open to the signed-in user (workflow_actions)
        self.action_panel.hide()
        self.changes_button = QPushButton("C&hanges since the previous submission…")
        self.changes_button.setToolTip("Artifacts, manifest fields and evaluation metrics that changed, and the "
                                       "earlier submission's findings (carry-over)")
        self.changes_button.clicked.connect(lambda: self.detail and self.changes_requested.emit(self.detail.id))
        self.changes_button.hide()
        layout.addWidget(self.placeholder)
        layout.addWidget(self.action_panel)
        layout.addWidget(self.changes_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.overview)
        self.overview.hide()
        self.findings_page = FindingsPage(self.findings)
        self.history_entries: list[HistoryEntry] = []
        self.addTab(overview_page, "&Overview")
        self.addTab(self._artifacts_page(), "&Artifacts")
        self.addTab(self.findings_page, "Fin&dings")
        self.addTab(self._history_page(), "&History")
        self.can_sign_letters = False
        self.addTab(self._letters_page(), "&Letters")

    def _artifacts_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.view_artifact_button = QPushButton("&View")
        self.view_artifact_button.setToolTip("Show a text artifact (Markdown, JSON, plain text) or an Inspect "
                                             "evaluation log read-only")
        self.view_artifact_button.clicked.connect(lambda: self._emit_for_artifact(self.artifact_activated))
        self.save_artifact_button = QPushButton("Save a &copy…")
        self.save_artifact_button.clicked.connect(lambda: self._emit_for_artifact(self.artifact_save_requested))
        self.attach_button = QPushButton("A&ttach files…")
        self.attach_button.setToolTip("Attach files by hand (recorded in the audit trail as added by hand)")
        self.attach_button.clicked.connect(lambda: self.detail and self.attach_requested.emit(self.detail.id))
        for button in (self.view_artifact_button, self.save_artifact_button, self.attach_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.artifacts)
        return page

    def _history_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.version_button = QPushButton("Show this &version…")
        self.version_button.setToolTip("Show the finding as it stood right after the selected event")
        self.version_button.clicked.connect(self._request_version)
        self.version_button.setEnabled(False)
        buttons.addWidget(self.version_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.history)
        self.history.itemSelectionChanged.connect(
            lambda: self.version_button.setEnabled(self._version_target() is not None))
        self.history.itemActivated.connect(lambda _item: self._request_version())
        return page

    def _version_target(self) -> tuple[int, int] | None:
        """(finding id, seq) of the selected history row, when it is about a finding or its evidence."""
        row = self.history.currentRow()
        if not 0 <= row < len(self.history_entries):
            return None
        entry = self.history_entries[row]
        if entry.entity_type == "finding" and entry.entity_id.isdigit():
            return int(entry.entity_id), entry.seq
        finding_id = (entry.after or {}).get("finding_id") if entry.entity_type == "evidence" else None
        return (int(finding_id), entry.seq) if isinstance(finding_id, int) else None

    def _request_version(self) -> None:
        target = self._version_target()
        if target is not None:
            self.finding_version_requested.emit(*target)

    def _letters_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons_host = QWidget()  # seven buttons for a supervisor: they wrap in a narrow pane (1366 px screens)
        buttons = FlowLayout(buttons_host)
        self.letter_buttons: dict[str, QPushButton] = {}
        for key, text, tip, signal in (
                ("open", "&Open", "Show the signed letter", self.letter_open_requested),
                ("save", "Sa&ve…", "Save the signed PDF exactly as issued", self.letter_save_requested),
                ("print", "&Print…", "Print the letter", self.letter_print_requested),
                ("verify", "&Verify", "Check the signature, trust anchor and register", self.letter_verify_requested),
                ("revoke", "&Revoke…", ("Record that the letter no longer stands and sign the revocation notice "
                                       "to the developer (supervisors)"), self.letter_revoke_requested),
                ("correct", "Issue a co&rrected letter…", ("Correct the agency's own mistake: a signed letter with "
                                                           "the same decision that supersedes this one and names it "
                                                           "(supervisors)"), self.letter_correct_requested)):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, signal=signal: self._emit_for_letter(signal))
            self.letter_buttons[key] = button
            buttons.addWidget(button)
        self.notice_button = QPushButton("Issue &notice letter…")
        self.notice_button.setToolTip("Sign the refusal notice or the request for information (supervisors)")
        self.notice_button.clicked.connect(self._request_notice)
        buttons.addWidget(self.notice_button)
        layout.addWidget(buttons_host)
        layout.addWidget(self.letters)
        self.letters.itemActivated.connect(lambda _item: self._emit_for_letter(self.letter_open_requested))
        self.letters.itemSelectionChanged.connect(self._update_letter_buttons)
        self._update_letter_buttons()
        return page

    def set_letter_signing(self, allowed: bool) -> None:
        """Supervisors revoke letters and sign notices; others see those buttons hidden."""
        self.can_sign_letters = allowed
        self.letter_buttons["revoke"].setVisible(allowed)
        self.letter_buttons["correct"].setVisible(allowed)
        self._update_letter_buttons()

    def current_letter_id(self) -> int | None:
        row = self.letters.currentRow()
        item = self.letters.item(row, 0) if row >= 0 else None
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _emit_for_letter(self, signal: object) -> None:
        letter_id = self.current_letter_id()
        if letter_id is not None:
            signal.emit(letter_id)  # type: ignore[attr-defined]

    def _notice_kind(self) -> str | None:
        state = self.detail.state.value if self.detail else None
        return {"REFUSED": "refusal", "AWAITING_INFO": "information-request"}.get(state or "")

    def _request_notice(self) -> None:
        kind = self._notice_kind()
        if self.detail is not None and kind is not None:
            self.notice_requested.emit(self.detail.id, kind)

    def current_letter(self) -> LetterInfo | None:
        letter_id = self.current_letter_id()
        letters = self.detail.letters if self.detail is not None else ()
        return next((letter for letter in letters if letter.id == letter_id), None)

    def _update_letter_buttons(self) -> None:
        letter = self.current_letter()
        for button in self.letter_buttons.values():
            button.setEnabled(letter is not None)
        standing = letter is not None and not letter.revoked and not letter.superseded_by
        # a revoked letter is not revoked twice; only a standing clearance (or corrected) letter is corrected
        self.letter_buttons["revoke"].setEnabled(letter is not None and not letter.revoked)
        self.letter_buttons["correct"].setEnabled(standing and letter is not None
                                                  and letter.kind in ("clearance", "corrected"))
        self.notice_button.setVisible(self.can_sign_letters and self._notice_kind() is not None)

    def current_artifact_id(self) -> int | None:
        row = self.artifacts.currentRow()
        if row < 0:
            return None
        return self.artifacts.item(row, 0).data(Qt.ItemDataRole.UserRole)

    def _emit_for_artifact(self, signal: object) -> None:
        artifact_id = self.current_artifact_id()
        if artifact_id is not None:
            signal.emit(artifact_id)  # type: ignore[attr-defined]

    def clear(self) -> None:
        self.detail = None
        self.overview.hide()
        self.placeholder.show()
        for table in (self.artifacts, self.findings, self.history, self.letters):
            table.setRowCount(0)
        self.action_panel.clear()
        self.action_panel.hide()
        self.changes_button.hide()
        self.findings_page.clear()
        self.history_entries = []
        self._update_letter_buttons()

    def show_submission(self, d: SubmissionDetail, history: list[HistoryEntry],
                        choices: ActionChoices | None = None) -> None:
        """Fill every tab; `choices` (the user's verdicts) fills the action panel and finding buttons."""
        shown = self.findings_page.current_finding()
        keep = shown.id if shown is not None and self.detail is not None and self.detail.id == d.id else None
        self.detail = d
        if choices is not None:
            self.action_panel.show_choices(d, choices)
            self.action_panel.show()
        else:
            self.action_panel.hide()
        self.placeholder.hide()
        self.changes_button.setVisible(d.previous_reference is not None or len(d.package_ids) > 1)
        self.overview.show()
        self.overview.setHtml(overview_html(d))
        fill_table(self.artifacts, [
            [a.path, a.kind, human_size(a.bytes), a.sha256, a.verified_at.strftime("%Y-%m-%d %H:%M"),
             a.package_id or ("added by hand" if a.added_by_hand else "")] for a in d.artifacts],
            [a.id for a in d.artifacts])
        fill_table(self.findings, [
            [f.label, f.severity.value, f.status, f.title, category_title(f.category), f.author] for f in d.findings],
            [f.id for f in d.findings])
        self.findings.setColumnWidth(3, min(self.findings.columnWidth(3), TITLE_WIDTH))
        self.findings_page.show_findings(d, choices, keep=keep)
        self.history_entries = list(history)
        names = {e.actor: e.actor_name for e in history if e.actor_name}
        fill_table(self.history, [
            [str(e.seq), e.occurred_at[:16].replace("T", " "), describe_event(e, names)] for e in history])
        fill_table(self.letters, [
            [letter.number, letter.kind.replace("-", " ").capitalize(),
             Decision(letter.decision).label if letter.decision else "", letter.issued_at.strftime("%Y-%m-%d %H:%M"),
             letter.signer, "revoked" if letter.revoked else (f"superseded by {letter.superseded_by}"
                                                              if letter.superseded_by else "valid"),
             letter.pdf_sha256] for letter in d.letters],
            [letter.id for letter in d.letters])
        if d.letters and self.letters.currentRow() < 0:
            self.letters.selectRow(len(d.letters) - 1)
        self._update_letter_buttons()
