"""Register a submission by hand when a package is incomplete (the manifest's fields)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.services.context import Actor
from desktop_app.services.intake import ImportResult, IntakeService, ManualRegistration
from desktop_app.ui.common.errors import error_label, show_error


class RegisterDialog(QDialog):
    def __init__(self, intake: IntakeService, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intake, self.actor = intake, actor
        self.result_value: ImportResult | None = None
        self.setWindowTitle("Register a submission by hand")
        self.setMinimumWidth(520)
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout(self)
        intro = QLabel("Use this when a package arrived incomplete. The audit trail records that the "
                       "submission was registered by hand; attach files later from its Artifacts tab.")
        intro.setWordWrap(True)
        form.addRow(intro)
        for key, label in (("developer_name", "&Developer:"), ("developer_address", "Developer &address:"),
                           ("contact_name", "&Contact name:"), ("contact_email", "Contact &e-mail:"),
                           ("model_name", "&Model name:"), ("model_version", "Model &version:"),
                           ("package_id", "&Package id (if known):")):
            field = QLineEdit()
            field.setAccessibleName(label.replace("&", "").rstrip(":"))
            self.fields[key] = field
            form.addRow(label, field)
        self.has_release = QCheckBox("Intended release date &known")
        self.release = QDateEdit(QDate.currentDate().addDays(30))
        self.release.setCalendarPopup(True)
        self.release.setDisplayFormat("yyyy-MM-dd")
        self.release.setAccessibleName("Intended release date")
        form.addRow(self.has_release, self.release)
        self.description = QPlainTextEdit()
        self.description.setAccessibleName("Description")
        self.description.setFixedHeight(80)
        form.addRow("Descri&ption:", self.description)
        self.error = error_label()
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Register")
        buttons.accepted.connect(self.try_register)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def form(self) -> ManualRegistration:
        text = {key: field.text() for key, field in self.fields.items()}
        release = self.release.date().toPython() if self.has_release.isChecked() else None
        assert release is None or isinstance(release, dt.date)
        return ManualRegistration(developer_name=text["developer_name"], contact_name=text["contact_name"],
                                  contact_email=text["contact_email"], model_name=text["model_name"],
                                  model_version=text["model_version"], intended_release=release,
                                  package_id=text["package_id"], developer_address=text["developer_address"],
                                  description=self.description.toPlainText())

    def try_register(self) -> None:
        try:
            self.result_value = self.intake.register_by_hand(self.actor, self.form())
        except ClearanceDeskError as error:
            show_error(self.error, error)
            return
        self.accept()
