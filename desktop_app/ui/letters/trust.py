"""Admin → Trust anchors and certificates: agency roots, imported CRLs, supervisors' certificates.

Every change goes through the trust-store service, which checks it, audits it and
refuses anyone but an administrator. Enrolling a certificate asks for the key it
belongs to (the supervisor types their passphrase or PIN at this workstation), so a
certificate that is not the key's, or that may not sign, is refused at enrolment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.services.context import Actor
from desktop_app.services.trust_store import TrustStoreService
from desktop_app.ui.letters.signing import KeySourceWidget, file_row
from desktop_app.ui.operations import ChangeKind, Changes, Operation, bus, follow_changes
from desktop_app.ui.operations.dialog import OperationDialog
from desktop_app.ui.common import theme



def _table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], keys: list[object]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            if c == 0:
                item.setData(Qt.ItemDataRole.UserRole, keys[r])
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def _day(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "—"


def _selected_key(table: QTableWidget) -> object | None:
    row = table.currentRow()
    return None if row < 0 else table.item(row, 0).data(Qt.ItemDataRole.UserRole)


class TrustDialog(QDialog):
    def __init__(self, store: TrustStoreService, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.actor = store, actor
        self.setWindowTitle("Trust anchors and certificates")
        self.resize(980, 520)
        self.tabs = QTabWidget()
        self.anchors = _table(["Trust anchor", "Valid until", "Added", "SHA-256 fingerprint"], "Trust anchors")
        self.crls = _table(["Issuer", "Issued", "Next update", "Revoked", "Status"], "Revocation lists")
        self.people = _table(["User", "Name", "Certificate", "Valid until", "SHA-256 fingerprint"],
                             "Supervisors' certificates")
        self.tabs.addTab(self._page(self.anchors, (
            ("&Add certificate (PEM)…", self.add_anchor), ("&Remove", self.remove_anchor)),
            "Letters verify only when their signer chains to one of these agency root certificates."),
            "Trust &anchors")
        self.tabs.addTab(self._page(self.crls, (("&Import CRL…", self.import_crl),),
            "Certificate revocation lists from the agency's CAs; import a fresh one before its next update. "
            "A newer CRL of the same issuer replaces the older."), "&Revocation lists")
        self.tabs.addTab(self._page(self.people, (("&Enrol certificate…", self.enrol),),
            "A supervisor signs only with the certificate enrolled here, checked against their key."),
            "&Supervisors' certificates")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.reload()
        theme.follow_palette(self, self.reload)  # the expired-CRL colour follows the palette
        follow_changes(self, lambda changes: changes.what is ChangeKind.TRUST and self.reload())

    def _page(self, table: QTableWidget, actions: tuple[tuple[str, object], ...], note: str) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        hint = QLabel(note)
        hint.setWordWrap(True)
        layout.addWidget(hint)
        row = QHBoxLayout()
        for text, slot in actions:
            button = QPushButton(text)
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(table)
        return page

    def reload(self) -> None:
        now = dt.datetime.now(dt.UTC)
        anchors = self.store.anchors()
        _fill(self.anchors, [[a.name, _day(a.not_after), _day(a.added_at), a.fingerprint] for a in anchors],
              [a.id for a in anchors])
        crls = self.store.crls()
        _fill(self.crls, [[c.name, f"{c.this_update:%Y-%m-%d %H:%M}", _day(c.next_update), str(c.revoked_count),
                           "overdue: import a fresh CRL" if c.overdue(now) else "current"] for c in crls],
              [c.id for c in crls])
        for row, entry in enumerate(crls):
            if entry.overdue(now):
                for column in (2, 4):
                    self.crls.item(row, column).setForeground(QBrush(theme.colour('overdue')))
        people = self.store.supervisors()
        _fill(self.people, [[p.username, p.display_name, p.name or "not enrolled", _day(p.not_after),
                             p.fingerprint or ""] for p in people], [p.username for p in people])

    def _run(self, title: str, change: Callable[[], object], done: str) -> None:
        """One change of the trust store as an operation (off the GUI thread); the lists refresh when it is announced."""
        def run() -> object:
            try:
                return change()
            except OSError as error:  # the chosen file could not be read
                raise InputRejected(f"{getattr(error, 'filename', '') or 'file'}: cannot read: {error.strerror}") \
                    from None

        Operation(self, run, title=title).success(lambda _result: Changes(None, ChangeKind.TRUST, done)).run()

    def add_anchor(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Add a trust anchor", "",
                                              "Certificates (*.pem *.crt *.cer *.der);;All files (*)")
        if name:
            store, actor = self.store, self.actor
            self._run("Add a trust anchor",
                      lambda: store.add_anchor(actor, Path(name).read_bytes(), source=Path(name).name),
                      f"Added the trust anchor {Path(name).name}")

    def remove_anchor(self) -> None:
        anchor_id = _selected_key(self.anchors)
        if anchor_id is None:
            return
        name = self.anchors.item(self.anchors.currentRow(), 0).text()
        answer = QMessageBox.question(
            self, "Remove trust anchor",
            f"Stop trusting {name}?\n\nLetters signed under it will no longer verify in this register.")
        if answer == QMessageBox.StandardButton.Yes:
            store, actor = self.store, self.actor
            self._run("Remove trust anchor", lambda: store.remove_anchor(actor, int(anchor_id)),
                      f"Stopped trusting {name}")

    def import_crl(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a CRL", "", "CRLs (*.crl *.pem *.der);;All files (*)")
        if name:
            store, actor = self.store, self.actor
            self._run("Import a CRL",
                      lambda: store.import_crl(actor, Path(name).read_bytes(), source=Path(name).name),
                      f"Imported the CRL {Path(name).name}")

    def enrol(self) -> None:
        username = _selected_key(self.people)
        if username is None:
            QMessageBox.information(self, "Enrol certificate", "Select the supervisor first.")
            return
        EnrolDialog(self.store, self.actor, str(username), self).exec()  # it announces the enrolment


class EnrolDialog(OperationDialog):
    """The supervisor's key (file or token) and its passphrase or PIN; the certificate file is optional.

    The key is opened and checked on a worker (ui.operations.dialog); the enrolment is announced.
    """

    def __init__(self, store: TrustStoreService, actor: Actor, username: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Enrol a signing certificate for {username}",
                         f"<b>{username}</b> types the passphrase or PIN of their key: enrolment proves the "
                         "certificate belongs to that key and may sign. Nothing secret is stored.", "&Enrol", parent)
        self.store, self.actor, self.username = store, actor, username
        self.setMinimumWidth(600)
        self.key = KeySourceWidget("The supervisor's key", self)
        self.certificate = QLineEdit()
        self.certificate.setAccessibleName("Certificate file")
        self.certificate.setPlaceholderText("optional: the key's own certificate is used when empty")
        browse = QPushButton("Bro&wse…")
        browse.clicked.connect(self._choose)
        self.content.insertWidget(self.content.indexOf(self.form), self.key)
        self.form.addRow("&Certificate (PEM):", file_row(self.certificate, browse))
        self.fields.update({"key file": self.key.p12_path, "module": self.key.module,
                            "token label": self.key.token_label, "key label": self.key.key_label,
                            "PIN": self.key.pin, "certificate": self.certificate})
        self.succeeded.connect(lambda _result: bus().announce(
            Changes(None, ChangeKind.TRUST, f"Enrolled the signing certificate of {username}")))

    def _choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Certificate", "", "Certificates (*.pem *.crt *.cer);;All (*)")
        if name:
            self.certificate.setText(name)

    def enrol(self) -> None:
        self.submit()

    def work(self) -> Callable[[], object]:
        source, secret = self.key.source()
        path = self.certificate.text().strip()
        try:
            certificate = Path(path).read_bytes() if path else None
        except OSError as error:
            raise InputRejected(Problem(f"cannot read: {error.strerror}", file=path, field="certificate")) from None
        self.key.clear_secrets()
        store, actor, username = self.store, self.actor, self.username
        return lambda: store.enrol(actor, username, source, secret, certificate=certificate)
