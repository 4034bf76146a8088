"""The signing dialog and the approve → preview → sign flow.

The supervisor chooses their key: a PKCS#12 file with its passphrase, or a smart card
or other PKCS#11 token (module, token label, key label) with its PIN. The account
password confirms the approval. Secrets go straight to the service call, off the GUI
thread, and every secret field is cleared after each attempt; only where the key is
(file path, module, labels) is remembered, in QSettings.

`approve_and_sign(parent, services, actor, submission_id)` is the entry point the
detail pane's "Approve…" action calls; `issue_notice_and_sign` does the same for a
refusal notice or an information request.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.domain.types import Decision, LetterKind
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.services.letters import IssuedLetter, KeyFile, KeyToken
from desktop_app.services.submissions import SubmissionDetail
from desktop_app.services.trust_store import EnrolledCertificate
from desktop_app.ui.common import theme
from desktop_app.ui.operations.dialog import OperationDialog

log = logging.getLogger("clearance_desk.ui")

_SETTINGS = "letters/"


def _secret_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


def file_row(edit: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


class KeySourceWidget(QGroupBox):
    """Where the signing key is, and its passphrase or PIN. `source()` builds the service's key source."""

    def __init__(self, title: str = "Signing key", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        settings = QSettings()
        self.use_file = QRadioButton("PKCS#12 &file (.p12, .pfx)")
        self.use_token = QRadioButton("Smart card or &token (PKCS#11)")
        self.kinds = QButtonGroup(self)
        self.kinds.addButton(self.use_file, 0)
        self.kinds.addButton(self.use_token, 1)
        self.p12_path = QLineEdit(str(settings.value(_SETTINGS + "p12Path", "") or ""))
        self.p12_path.setAccessibleName("PKCS#12 file")
        self.p12_path.setPlaceholderText("the .p12 file holding your signing key")
        browse_p12 = QPushButton("&Browse…")
        browse_p12.clicked.connect(self._choose_p12)
        self.passphrase = _secret_field("Key passphrase")
        self.module = QLineEdit(str(settings.value(_SETTINGS + "pkcs11Module", "") or ""))
        self.module.setAccessibleName("PKCS#11 module")
        self.module.setPlaceholderText("e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")
        browse_module = QPushButton("B&rowse…")
        browse_module.clicked.connect(self._choose_module)
        self.token_label = QLineEdit(str(settings.value(_SETTINGS + "tokenLabel", "") or ""))
        self.token_label.setAccessibleName("Token label")
        self.key_label = QLineEdit(str(settings.value(_SETTINGS + "keyLabel", "") or ""))
        self.key_label.setAccessibleName("Key label")
        self.pin = _secret_field("PIN")
        # one form whose rows are shown per kind of key: it keeps its size to the rows shown
        self.form = QFormLayout()
        self.form.addRow("Key &file:", file_row(self.p12_path, browse_p12))
        self.form.addRow("Pa&ssphrase:", self.passphrase)
        self.form.addRow("&Module:", file_row(self.module, browse_module))
        self.form.addRow("&Token label:", self.token_label)
        self.form.addRow("&Key label:", self.key_label)
        self.form.addRow("&PIN:", self.pin)
        self.kinds.idToggled.connect(lambda index, on: on and self._show_rows(index))
        (self.use_token if settings.value(_SETTINGS + "keyKind", "file") == "token" else self.use_file).setChecked(True)
        self._show_rows(self.kinds.checkedId())
        choice = QHBoxLayout()
        choice.addWidget(self.use_file)
        choice.addWidget(self.use_token)
        choice.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(choice)
        layout.addLayout(self.form)

    def _show_rows(self, index: int) -> None:
        for row in range(self.form.rowCount()):
            self.form.setRowVisible(row, (row >= 2) == (index == 1))
        window = self.window()
        if window.isVisible():
            window.adjustSize()

    @property
    def on_token(self) -> bool:
        return self.use_token.isChecked()

    def secret_field(self) -> QLineEdit:
        return self.pin if self.on_token else self.passphrase

    def _choose_p12(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Signing key (PKCS#12)", self.p12_path.text(),
                                              "PKCS#12 files (*.p12 *.pfx);;All files (*)")
        if name:
            self.p12_path.setText(name)

    def _choose_module(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "PKCS#11 module", self.module.text(),
                                              "PKCS#11 modules (*.so *.dylib *.dll);;All files (*)")
        if name:
            self.module.setText(name)

    def source(self) -> tuple[KeyFile | KeyToken, str]:
        """(key source, secret), or InputRejected naming the empty field."""
        problems = []
        if self.on_token:
            for field, label in ((self.module, "module"), (self.token_label, "token label"),
                                 (self.key_label, "key label"), (self.pin, "PIN")):
                if not field.text().strip():
                    problems.append(Problem("must not be empty", field=label))
            source: KeyFile | KeyToken = KeyToken(Path(self.module.text().strip()), self.token_label.text().strip(),
                                                  self.key_label.text().strip())
        else:
            if not self.p12_path.text().strip():
                problems.append(Problem("choose the .p12 file holding your key", field="key file"))
            source = KeyFile(Path(self.p12_path.text().strip()))
        if problems:
            raise InputRejected(problems)
        return source, self.secret_field().text()

    def remember(self) -> None:
        """Where the key is (never the passphrase or PIN)."""
        settings = QSettings()
        settings.setValue(_SETTINGS + "keyKind", "token" if self.on_token else "file")
        settings.setValue(_SETTINGS + "p12Path", self.p12_path.text().strip())
        settings.setValue(_SETTINGS + "pkcs11Module", self.module.text().strip())
        settings.setValue(_SETTINGS + "tokenLabel", self.token_label.text().strip())
        settings.setValue(_SETTINGS + "keyLabel", self.key_label.text().strip())

    def clear_secrets(self) -> None:
        self.passphrase.clear()
        self.pin.clear()


_KIND_TITLES = {
    LetterKind.CLEARANCE: "Approve and sign the clearance letter",
    LetterKind.REFUSAL: "Sign the notice of refusal",
    LetterKind.INFORMATION_REQUEST: "Sign the request for information",
}


class SigningDialog(OperationDialog):
    """Sign one letter; on success `issued` holds the register entry and `signed` fires (None on failure).

    The busy state and failures are the operation dialog's; a signature cannot be cancelled
    half-way, so Cancel waits for it. Every secret field is cleared after each attempt.
    """

    signed = Signal(object)

    def __init__(self, services: Services, actor: Actor, submission_id: int, *,
                 kind: LetterKind = LetterKind.CLEARANCE, appendix: bool = True, reasons: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(_KIND_TITLES[kind], ok_text="&Sign and issue" if kind is not LetterKind.CLEARANCE else
                         "Approve, &sign and issue", parent=parent)
        self.services, self.actor, self.submission_id = services, actor, submission_id
        #: the reasons the supervisor approved in the preview (None: the recommendation's rationale)
        self.kind, self.appendix, self.reasons = kind, appendix, reasons
        self.issued: IssuedLetter | None = None
        self.setMinimumWidth(620)
        detail = services.submissions.detail(submission_id)
        enrolled = services.letters.trust.enrolled(actor.username)
        summary = QLabel(self._summary(detail, enrolled))
        summary.setWordWrap(True)
        summary.setTextFormat(Qt.TextFormat.RichText)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key = KeySourceWidget(parent=self)
        self.password = _secret_field("Your account password")
        self.comment = QLineEdit()
        self.comment.setAccessibleName("Comment")
        self.comment.setPlaceholderText("optional, recorded with the approval")
        self.conditions = _ConditionDates(services, detail) if kind is LetterKind.CLEARANCE else None
        confirm = QGroupBox("Confirm it is you")
        form = QFormLayout(confirm)
        form.addRow("Account pass&word:", self.password)
        if kind is LetterKind.CLEARANCE:
            form.addRow("&Comment:", self.comment)
        self.sign_button = self.ok_button
        self.sign_button.setDefault(True)
        note = QLabel("Your passphrase or PIN and your password are used for this signature only and are not "
                      "stored.")
        note.setWordWrap(True)
        theme.colour_text(note, "muted")
        for widget in (summary, self.conditions if self.conditions is not None and self.conditions.dates else None,
                       self.key, confirm, note):
            if widget is not None:
                self.content.addWidget(widget)
        self.fields.update({"key file": self.key.p12_path, "passphrase": self.key.passphrase,
                            "module": self.key.module, "token label": self.key.token_label,
                            "key label": self.key.key_label, "PIN": self.key.pin,
                            "account password": self.password, "comment": self.comment})
        self.succeeded.connect(self._signed)
        self.key.secret_field().setFocus()
        self.adjustSize()
        if enrolled.fingerprint is None:
            self.error.setText(f"No signing certificate is enrolled for {actor.label}. An administrator enrols it "
                               f"under Admin → Trust anchors and certificates.")
            self.error.show()
            self.sign_button.setEnabled(False)

    def _summary(self, d: SubmissionDetail, enrolled: EnrolledCertificate) -> str:
        lines = [f"<b>{html.escape(d.reference)}</b> — {html.escape(d.developer_name)}, {html.escape(d.model_label)}"]
        pending = d.pending_recommendation
        if self.kind is LetterKind.CLEARANCE and pending is not None:
            lines.append(f"Decision: <b>{Decision(pending.decision).label}</b>, recommended by "
                         f"{html.escape(pending.reviewer)}")
            if self.reasons is not None:
                edited = "as you edited them" if self.reasons != pending.rationale.strip() else "the rationale"
                lines.append(f"Reasons stated in the letter: {edited} in the preview, recorded with your approval")
        elif self.kind is not LetterKind.CLEARANCE:
            lines.append(f"Letter: <b>{_KIND_TITLES[self.kind].removeprefix('Sign the ')}</b>")
        who = html.escape(self.actor.label)
        if enrolled.name:
            until = f", valid until {enrolled.not_after:%Y-%m-%d}" if enrolled.not_after else ""
            lines.append(f"Signing as {who} with the enrolled certificate <i>{html.escape(enrolled.name)}</i> "
                         f"(SHA-256 {(enrolled.fingerprint or '')[:16]}…{until})")
        else:
            lines.append(f"Signing as {who}")
        return "<br>".join(lines)

    def sign(self) -> None:
        self.submit()

    def work(self) -> Callable[[], IssuedLetter]:
        """The key and password as typed (then cleared from the form), and the service call that signs."""
        source, secret = self.key.source()
        if not self.password.text():
            raise InputRejected(Problem("enter your account password to confirm", field="account password"))
        password = self.password.text()
        comment = self.comment.text().strip()
        self.key.clear_secrets()
        self.password.clear()
        self.key.remember()
        letters, actor, submission_id, kind, appendix, reasons = (self.services.letters, self.actor,
                                                                  self.submission_id, self.kind, self.appendix,
                                                                  self.reasons)
        if kind is LetterKind.CLEARANCE:
            due, owner = self.conditions.values() if self.conditions is not None else (None, None)
            return lambda: letters.approve_and_issue(actor, submission_id, password=password, source=source,
                                                     secret=secret, comment=comment, appendix=appendix,
                                                     conditions_due=due, condition_owner_id=owner,
                                                     reasons=reasons)
        return lambda: letters.issue_notice(actor, submission_id, kind, password=password, source=source,
                                            secret=secret)

    def _signed(self, issued: IssuedLetter) -> None:
        self.issued = issued
        self.signed.emit(issued)

    def show_failure(self, error: BaseException) -> None:
        super().show_failure(error)
        self.key.secret_field().setFocus()
        self.signed.emit(None)

    def reject(self) -> None:
        if not self.running:
            self.key.clear_secrets()
            self.password.clear()
        super().reject()


class _ConditionDates(QGroupBox):
    """At sign-off of "cleared with conditions": who follows the conditions up, and each one's due date."""

    def __init__(self, services: Services, detail: SubmissionDetail) -> None:
        super().__init__("Conditions to follow up after clearance")
        import datetime as dt

        from PySide6.QtCore import QDate
        from PySide6.QtWidgets import QComboBox, QDateEdit

        from desktop_app.domain.conditions import DEFAULT_DUE_DAYS

        pending = detail.pending_recommendation
        texts = pending.conditions if pending and pending.decision == Decision.CLEARED_WITH_CONDITIONS.value else ()
        form = QFormLayout(self)
        self.owner = QComboBox()
        self.owner.setAccessibleName("Owner of the conditions")
        for uid, name in services.queue.assignees():
            self.owner.addItem(name, uid)
        if pending is not None:
            self.owner.setCurrentIndex(max(self.owner.findData(pending.reviewer_id), 0))
        if texts:
            form.addRow("&Owner:", self.owner)
        proposed = services.conditions.today() + dt.timedelta(days=DEFAULT_DUE_DAYS)
        self.dates: list[QDateEdit] = []
        for number, text in enumerate(texts, start=1):
            edit = QDateEdit(QDate(proposed.year, proposed.month, proposed.day))
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(f"Due date of condition {number}")
            edit.setToolTip(text)
            short = text if len(text) <= 60 else text[:59] + "…"
            form.addRow(f"{number}. {short}", edit)
            self.dates.append(edit)

    def values(self) -> tuple[list[object] | None, int | None]:
        if not self.dates:
            return None, None
        return [edit.date().toPython() for edit in self.dates], self.owner.currentData()


def _preview_then_sign(parent: QWidget, services: Services, actor: Actor, submission_id: int,
                       kind: LetterKind) -> IssuedLetter | None:
    from desktop_app.ui.letters.preview import LetterPreviewDialog

    preview = LetterPreviewDialog(services, actor, submission_id, kind=kind, parent=parent)
    if preview.exec() != QDialog.DialogCode.Accepted:
        return None
    dialog = SigningDialog(services, actor, submission_id, kind=kind, appendix=preview.include_appendix,
                           reasons=preview.reasons, parent=parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.issued


def approve_and_sign(parent: QWidget, services: Services, actor: Actor, submission_id: int) -> bool:
    """Approve the pending recommendation: preview the letter, then sign it. True if a letter was issued."""
    issued = _preview_then_sign(parent, services, actor, submission_id, LetterKind.CLEARANCE)
    if issued is not None:
        log.info("approved and issued %s", issued.number)
    return issued is not None


def issue_notice_and_sign(parent: QWidget, services: Services, actor: Actor, submission_id: int,
                          kind: LetterKind) -> bool:
    """A signed refusal notice or information request for the submission. True if a letter was issued."""
    return _preview_then_sign(parent, services, actor, submission_id, kind) is not None


class ApproveAndSignFlow:
    """The same flow as an object, for callers that hold on to it: `ApproveAndSignFlow(...).run()`."""

    def __init__(self, parent: QWidget, services: Services, actor: Actor, submission_id: int) -> None:
        self.parent, self.services, self.actor, self.submission_id = parent, services, actor, submission_id
        self.issued: IssuedLetter | None = None

    def run(self) -> bool:
        self.issued = _preview_then_sign(self.parent, self.services, self.actor, self.submission_id,
                                         LetterKind.CLEARANCE)
        return self.issued is not None
