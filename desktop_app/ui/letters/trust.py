"""Admin → Trust anchors and certificates: agency roots, imported CRLs, supervisors' certificates.

Every change goes through the trust-store service, which checks it, audits it and
refuses anyone but an administrator. Enrolling a certificate asks for the key it
belongs to (the supervisor types their passphrase or PIN at this workstation), so a
certificate that is not the key's, or that may not sign, is refused at enrolment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
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

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.services.context import Actor
from desktop_app.services.trust_store import TrustStoreService
from desktop_app.ui.common.errors import show_problems
from desktop_app.ui.letters.signing import KeySourceWidget, file_row, error_label, show_error
from desktop_app.ui.threads import run_task
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

    def _run(self, title: str, change: object) -> bool:
        try:
            change()  # type: ignore[operator]
        except (ClearanceDeskError, OSError) as error:
            show_problems(self, title, error)
            return False
        finally:
            self.reload()
        return True

    def add_anchor(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Add a trust anchor", "",
                                              "Certificates (*.pem *.crt *.cer *.der);;All files (*)")
        if name:
            self._run("Add a trust anchor",
                      lambda: self.store.add_anchor(self.actor, Path(name).read_bytes(), source=Path(name).name))

    def remove_anchor(self) -> None:
        anchor_id = _selected_key(self.anchors)
        if anchor_id is None:
            return
        name = self.anchors.item(self.anchors.currentRow(), 0).text()
        answer = QMessageBox.question(
            self, "Remove trust anchor",
            f"Stop trusting {name}?\n\nLetters signed under it will no longer verify in this register.")
        if answer == QMessageBox.StandardButton.Yes:
            self._run("Remove trust anchor", lambda: self.store.remove_anchor(self.actor, int(anchor_id)))

    def import_crl(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a CRL", "", "CRLs (*.crl *.pem *.der);;All files (*)")
        if name:
            self._run("Import a CRL",
                      lambda: self.store.import_crl(self.actor, Path(name).read_bytes(), source=Path(name).name))

    def enrol(self) -> None:
        username = _selected_key(self.people)
        if username is None:
            QMessageBox.information(self, "Enrol certificate", "Select the supervisor first.")
            return
        if EnrolDialog(self.store, self.actor, str(username), self).exec():
            self.reload()


class EnrolDialog(QDialog):
    """The supervisor's key (file or token) and its passphrase or PIN; the certificate file is optional."""

    def __init__(self, store: TrustStoreService, actor: Actor, username: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.actor, self.username = store, actor, username
        self.setWindowTitle(f"Enrol a signing certificate for {username}")
        self.setMinimumWidth(600)
        intro = QLabel(f"<b>{username}</b> types the passphrase or PIN of their key: enrolment proves the "
                       "certificate belongs to that key and may sign. Nothing secret is stored.")
        intro.setWordWrap(True)
        self.key = KeySourceWidget("The supervisor's key", self)
        self.certificate = QLineEdit()
        self.certificate.setAccessibleName("Certificate file")
        self.certificate.setPlaceholderText("optional: the key's own certificate is used when empty")
        browse = QPushButton("Bro&wse…")
        browse.clicked.connect(self._choose)
        form = QFormLayout()
        form.addRow("&Certificate (PEM):", file_row(self.certificate, browse))
        self.error = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Enrol")
        self.buttons.accepted.connect(self.enrol)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.key)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def _choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Certificate", "", "Certificates (*.pem *.crt *.cer);;All (*)")
        if name:
            self.certificate.setText(name)

    def enrol(self) -> None:
        self.error.hide()
        try:
            source, secret = self.key.source()
            path = self.certificate.text().strip()
            certificate = Path(path).read_bytes() if path else None
        except (ClearanceDeskError, OSError) as error:
            show_error(self.error, error if isinstance(error, ClearanceDeskError) else
                       ClearanceDeskError(f"{path}: cannot read: {error.strerror}"))
            return
        self.key.clear_secrets()
        self.buttons.setEnabled(False)
        store, actor, username = self.store, self.actor, self.username
        run_task(lambda: store.enrol(actor, username, source, secret, certificate=certificate),
                 on_done=lambda _result: self.accept(), on_error=self._failed)

    def _failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        show_error(self.error, error)
