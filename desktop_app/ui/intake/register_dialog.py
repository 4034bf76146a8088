"""Register a submission by hand when a package is incomplete (the manifest's fields)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QCheckBox, QDateEdit, QLineEdit, QPlainTextEdit, QWidget

from desktop_app.services.context import Actor
from desktop_app.services.intake import ImportResult, IntakeService, ManualRegistration
from desktop_app.ui.operations.dialog import OperationDialog


class RegisterDialog(OperationDialog):
    """The manifest's fields typed in; Register runs off the GUI thread, refusals stay in the dialog."""

    def __init__(self, intake: IntakeService, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__("Register a submission by hand",
                         "Use this when a package arrived incomplete. The audit trail records that the "
                         "submission was registered by hand; attach files later from its Artifacts tab.",
                         "&Register", parent)
        self.intake, self.actor = intake, actor
        self.result_value: ImportResult | None = None
        self.inputs: dict[str, QLineEdit] = {}
        form = self.form
        for key, label in (("developer_name", "&Developer:"), ("developer_address", "Developer &address:"),
                           ("contact_name", "&Contact name:"), ("contact_email", "Contact &e-mail:"),
                           ("model_name", "&Model name:"), ("model_version", "Model &version:"),
                           ("package_id", "&Package id (if known):")):
            field = QLineEdit()
            field.setAccessibleName(label.replace("&", "").rstrip(":"))
            self.inputs[key] = field
            self.fields[key.replace("_", " ")] = field  # the service names problems "developer name", …
            form.addRow(label, field)
        self.has_release = QCheckBox("Intended release date &known")
        self.release = QDateEdit(QDate.currentDate().addDays(30))
        self.release.setCalendarPopup(True)
        self.release.setDisplayFormat("yyyy-MM-dd")
        self.release.setAccessibleName("Intended release date")
        form.addRow(self.has_release, self.release)
        self.fields["intended release"] = self.release
        self.description = QPlainTextEdit()
        self.description.setAccessibleName("Description")
        self.description.setFixedHeight(80)
        form.addRow("Descri&ption:", self.description)
        self.fields["description"] = self.description

    def registration(self) -> ManualRegistration:
        text = {key: field.text() for key, field in self.inputs.items()}
        release = self.release.date().toPython() if self.has_release.isChecked() else None
        assert release is None or isinstance(release, dt.date)
        return ManualRegistration(developer_name=text["developer_name"], contact_name=text["contact_name"],
                                  contact_email=text["contact_email"], model_name=text["model_name"],
                                  model_version=text["model_version"], intended_release=release,
                                  package_id=text["package_id"], developer_address=text["developer_address"],
                                  description=self.description.toPlainText())

    def work(self) -> Callable[[], ImportResult]:
        intake, actor, registration = self.intake, self.actor, self.registration()
        return lambda: intake.register_by_hand(actor, registration)
