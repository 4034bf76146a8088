"""Every agency setting in one administrator's dialog.

The pages are built from the declarations in `infra.settings` (a setting added there
shows up here without touching this file: anything not placed on a named page lands on
"Other"). Nothing is saved until every changed value passes `infra.settings.validate`;
each problem is shown under its field, and the first bad field gets the focus. Each
change is then saved, on a worker, through `SettingsService.set_many` (one transaction, each
change audited). Trust anchors and
CRLs are managed in their own dialog (`letter_trust`), reached from the Trust page; the
database URL is chosen when the application starts and is shown here read-only.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.infra import settings as declared
from desktop_app.services.bundle import Services
from desktop_app.services.context import Actor
from desktop_app.ui.common import theme
from desktop_app.ui.operations import ChangeKind, Changes, bus
from desktop_app.ui.operations.dialog import OperationDialog

#: Pages and the settings on them, in order. Declared settings not listed go to "Other".
PAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&Agency and letters", ("agency_name", "agency_address", "agency_logo_blob", "handling_marking", "disclaimer",
                             "cui_controlled_by", "cui_category", "cui_point_of_contact")),
    ("&Review", ("review_window_days", "response_days", "agency_time_zone", "package_size_limit_gib")),
    ("&Sign-in", ("lockout_attempts", "lockout_minutes")),
    ("Storage and &backups", ("backup_keep", "blob_folder")),
)
HELP: dict[str, str] = {
    "agency_logo_blob": "PNG or JPEG, at most 2 MiB; printed in the letterhead of letters issued from now on.",
    "handling_marking": "Printed at the top and bottom of every page of letters and reports (for example CUI).",
    "disclaimer": "Optional; printed after the “Important notice” each kind of letter carries. It may not claim "
                  "a licence, permit, preclearance or authorisation to release.",
    "agency_address": "Printed under the agency name in the letterhead; separate lines with a semicolon.",
    "cui_controlled_by": "The CUI designation block of letters and reports (printed when the marking is CUI).",
    "response_days": "Calendar days the developer has to answer an information request; editable per request.",
    "review_window_days": "Calendar days from receipt to the due date, for submissions received from now on.",
    "agency_time_zone": "The calendar the review clock counts in (IANA name, for example America/New_York).",
    "lockout_attempts": "Failed sign-ins in a row before an account is locked.",
    "backup_keep": "How many automatic backups are kept in the data folder's backups folder.",
    "blob_folder": "Leave empty to keep artifacts, evidence and letters inside the data folder.",
}
_LOGO = "agency_logo_blob"


def _plain(title: str) -> str:
    return title.replace("&", "")


def mnemonic_for(title: str, used: set[str]) -> str:
    """`title` with an & before its first letter not yet used on the page (or unchanged if none is free)."""
    for position, char in enumerate(title):
        key = char.lower()
        if char.isalpha() and key not in used:
            used.add(key)
            return title[:position] + "&" + title[position:]
    return title


class LogoField(QWidget):
    """A preview of the letterhead logo with Choose… and Remove; the new image is kept until Apply."""

    def __init__(self, current: bytes | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current = current
        self.chosen: bytes | None = None
        self.removed = False
        self.preview = QLabel()
        self.preview.setFixedSize(72, 72)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFrameShape(QLabel.Shape.StyledPanel)
        self.preview.setAccessibleName("Agency logo preview")
        self.choose = QPushButton("Choose &image…")
        self.choose.clicked.connect(self._choose)
        self.remove = QPushButton("Re&move")
        self.remove.clicked.connect(self._remove)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview)
        layout.addWidget(self.choose)
        layout.addWidget(self.remove)
        layout.addStretch(1)
        self.setFocusProxy(self.choose)
        self._show(current)

    def _show(self, data: bytes | None) -> None:
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data):
            self.preview.setPixmap(pixmap.scaled(68, 68, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))
            self.preview.setToolTip("The current logo")
        else:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("No logo")
        self.remove.setEnabled(bool(data))

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the agency logo", "", "Images (*.png *.jpg *.jpeg)")
        if path:
            self.set_image(Path(path).read_bytes())

    def set_image(self, data: bytes) -> None:
        self.chosen, self.removed = data, False
        self._show(data)

    def _remove(self) -> None:
        self.chosen, self.removed = None, True
        self._show(None)

    @property
    def changed(self) -> bool:
        return self.chosen is not None or (self.removed and self.current is not None)


class SettingsDialog(OperationDialog):
    """Every setting on its page; OK and Apply validate here, then save as one operation on a worker.

    The busy state and a refused save are the operation dialog's (ui.operations.dialog);
    a value that needs correcting is shown under its field before anything runs.
    """

    saved = Signal(int)  # the number of changes saved

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__("Settings", "Agency settings apply to everyone using this database. Every change is "
                         "recorded in the audit trail.", "&OK", parent)
        self.services, self.actor = services, actor
        self.settings = services.settings
        self.setMinimumSize(720, 520)
        self.values = self.settings.all()
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        placed = {key for _title, keys in PAGES for key in keys}
        pages = [*PAGES]
        others = tuple(spec.key for spec in declared.SPECS if spec.key not in placed)
        if others:
            pages.append(("&Other", others))
        for title, keys in pages:
            self.tabs.addTab(self._page([declared.SPEC_BY_KEY[k] for k in keys if k in declared.SPEC_BY_KEY]),
                             title)
        self.tabs.addTab(self._trust_page(), "&Trust")
        self.tabs.addTab(self._database_page(), "&Database")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Settings status")
        apply = self.buttons.addButton(QDialogButtonBox.StandardButton.Apply)
        apply.setText("A&pply")
        apply.clicked.connect(lambda: self.apply())
        self.buttons.accepted.disconnect(self.submit)
        self.buttons.accepted.connect(self._ok)
        self.content.addWidget(self.tabs, 1)
        self.content.addWidget(self.message)
        self.layout().setStretchFactor(self.content, 1)
        self.fields.update(self.editors)  # disabled while saving; a refused key gets the focus
        self._pending: dict[str, Any] = {}
        self._close_after = False

    # -- pages -------------------------------------------------------------------------
    def _page(self, specs: Iterable[declared.SettingSpec]) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Taken by the tabs (a, r, s, b, o, t, d), OK and Apply (o, p), and the buttons in fields (i, m, w).
        used: set[str] = set("arsbotdpimw")
        for spec in specs:
            editor = self._editor(spec)
            title = "Agency logo" if spec.key == _LOGO else spec.title
            label = QLabel(mnemonic_for(title, used) + ":")
            label.setBuddy(editor)
            editor.setAccessibleName(title)
            if spec.key in HELP:
                editor.setAccessibleDescription(HELP[spec.key])
                editor.setToolTip(HELP[spec.key])
            error = QLabel()
            error.setWordWrap(True)
            error.setAccessibleName(f"Problem with {title.lower()}")
            error.hide()
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(editor)
            if spec.key in HELP:
                hint = QLabel(HELP[spec.key])
                hint.setWordWrap(True)
                hint.setObjectName("settingHint")
                theme.colour_text(hint, "muted")
                column.addWidget(hint)
            column.addWidget(error)
            form.addRow(label, column)
            self.editors[spec.key] = editor
            self.errors[spec.key] = error
        return page

    def _editor(self, spec: declared.SettingSpec) -> QWidget:
        value = self.values.get(spec.key, spec.default)
        if spec.key == _LOGO:
            return LogoField(self.settings.logo())
        if spec.key == "disclaimer":
            edit = QPlainTextEdit(str(value))
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(80)
            edit.setMaximumHeight(120)
            return edit
        if spec.key == "agency_time_zone":
            combo = QComboBox()
            combo.setEditable(True)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            combo.addItems(sorted(zoneinfo.available_timezones()))
            combo.setCurrentText(str(value))
            combo.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            combo.completer().setFilterMode(Qt.MatchFlag.MatchContains)
            return combo
        if spec.key == "blob_folder":
            return _FolderField(str(value))
        if spec.type is int:
            spin = QSpinBox()
            spin.setRange(0, 1_000_000)
            spin.setValue(int(value))
            spin.setGroupSeparatorShown(True)
            return spin
        return QLineEdit(str(value))

    def _trust_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel("Letters verify against these agency root certificates (trust anchors); the certificate "
                       "revocation lists (CRLs) the agency provides are checked offline.")
        intro.setWordWrap(True)
        self.trust_table = QTableWidget(0, 3)
        self.trust_table.setHorizontalHeaderLabels(["Kind", "Name", "Valid until / next update"])
        self.trust_table.horizontalHeader().setStretchLastSection(True)
        self.trust_table.setColumnWidth(1, 340)
        self.trust_table.verticalHeader().hide()
        self.trust_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.trust_table.setAccessibleName("Trust anchors and revocation lists")
        manage = QPushButton("&Manage trust anchors and CRLs…")
        manage.clicked.connect(self._manage_trust)
        row = QHBoxLayout()
        row.addWidget(manage)
        row.addStretch(1)
        layout.addWidget(intro)
        layout.addWidget(self.trust_table, 1)
        layout.addLayout(row)
        self._load_trust()
        return page

    def _load_trust(self) -> None:
        store = self.services.letters.trust
        rows: list[tuple[str, str, str]] = []
        try:
            now = self.services.ctx.now()
            rows += [("Trust anchor", a.name, f"{a.not_after:%Y-%m-%d}") for a in store.anchors()]
            rows += [("CRL", c.name, (f"{c.next_update:%Y-%m-%d}" if c.next_update else "—")
                      + (" (overdue: import a fresh one)" if c.overdue(now) else "")) for c in store.crls()]
        except ClearanceDeskError as error:
            rows = [("Problem", str(error), "")]
        if not rows:
            rows = [("None", "No trust anchor is configured: letters cannot be signed or verified yet.", "")]
        self.trust_table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, text in enumerate(values):
                self.trust_table.setItem(r, c, QTableWidgetItem(text))

    def _manage_trust(self) -> None:
        from desktop_app.ui.letters.trust import TrustDialog

        TrustDialog(self.services.letters.trust, self.actor, self).exec()
        self._load_trust()

    def _database_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        folder = QLineEdit(str(self.services.data_dir))
        url = QLineEdit(self.services.database_label)
        for edit, name in ((folder, "Data folder"), (url, "Database URL")):
            edit.setReadOnly(True)
            edit.setAccessibleName(name)
        form.addRow("Data &folder:", folder)
        form.addRow("Database &URL:", url)
        note = QLabel("The database is chosen when Clearance Desk starts, not stored in it: start with "
                      "<code>--db-url URL</code> or set <code>CLEARANCE_DESK_DB_URL</code> (for example "
                      "<code>postgresql+psycopg://clearance@db.agency.lan/clearance</code> for a shared queue), and "
                      "<code>--data-dir</code> or <code>CLEARANCE_DESK_DATA_DIR</code> for the data folder.")
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(note)
        return page

    # -- values ------------------------------------------------------------------------
    def value_of(self, key: str) -> Any:
        editor = self.editors[key]
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText()
        if isinstance(editor, QComboBox):
            return editor.currentText().strip()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, _FolderField):
            return editor.edit.text().strip()
        if isinstance(editor, QLineEdit):
            return editor.text()
        return None

    def changes(self) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        for key, editor in self.editors.items():
            if key == _LOGO:
                if isinstance(editor, LogoField) and editor.changed:
                    changed[key] = editor.chosen
                continue
            value = self.value_of(key)
            if value != self.values.get(key):
                changed[key] = value
        return changed

    def problems(self, changes: dict[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        for key, value in changes.items():
            if key == _LOGO:
                continue
            try:
                declared.validate(key, value)
            except ValueError as error:
                found[key] = str(error)
                continue
            if key == "blob_folder" and value:
                folder = Path(value)
                if not folder.is_absolute():
                    found[key] = f"{_plain(declared.SPEC_BY_KEY[key].title)}: must be an absolute path"
                elif not folder.is_dir():
                    found[key] = f"{_plain(declared.SPEC_BY_KEY[key].title)}: no such folder"
        return found

    def _show_problems(self, problems: dict[str, str]) -> None:
        colour = theme.colour("error").name()
        for key, label in self.errors.items():
            if key in problems:
                label.setText(f"<span style='color:{colour}'>⚠ {problems[key]}</span>")
                label.show()
            else:
                label.hide()
        if problems:
            first = next(k for k in self.editors if k in problems)
            editor = self.editors[first]
            for index in range(self.tabs.count()):
                if self.tabs.widget(index).isAncestorOf(editor):
                    self.tabs.setCurrentIndex(index)
            editor.setFocus()
            self.message.setText(f"Nothing was saved: {len(problems)} setting{'s need' if len(problems) != 1 else ' needs'}"
                                 " correcting.")

    def apply(self, *, then_close: bool = False) -> bool:
        """Validate every change here, then save them off the GUI thread (one transaction, each audited).

        False when a value needs correcting (nothing is saved); True when the save started
        or there was nothing to save. `saved` fires when it is done and the change is
        announced on the bus; a refusal is shown in the dialog and nothing more is saved.
        """
        changes = self.changes()
        problems = self.problems(changes)
        self._show_problems(problems)
        if problems:
            return False
        if not changes:
            self.message.setText("No changes to save.")
            if then_close:
                self.accept()
            return True
        self._pending, self._close_after = changes, then_close
        self.message.setText("Saving…")
        self.submit()
        return True

    def work(self) -> Callable[[], int]:
        settings, actor, changes = self.settings, self.actor, self._pending

        def save() -> int:  # on a worker: the logo is hashed into the blob store, each change audited
            count = 0
            if _LOGO in changes:
                settings.set_logo(actor, changes[_LOGO])
                count += 1
            return count + len(settings.set_many(actor, {k: v for k, v in changes.items() if k != _LOGO}))

        return save

    def completed(self, count: int) -> bool:
        self._reload_values()
        text = f"Saved {count} change{'s' if count != 1 else ''}; each is in the audit trail."
        self.message.setText(text)
        self.saved.emit(count)
        bus().announce(Changes(None, ChangeKind.SETTINGS, text))
        return self._close_after

    def show_failure(self, error: BaseException) -> None:
        self._reload_values()
        self.message.setText("Nothing more was saved: the settings are saved together or not at all.")
        super().show_failure(error)

    def _reload_values(self) -> None:
        self.values = self.settings.all()
        logo = self.editors.get(_LOGO)
        if isinstance(logo, LogoField):
            logo.current, logo.chosen, logo.removed = self.settings.logo(), None, False

    def _ok(self) -> None:
        self.apply(then_close=True)


class _FolderField(QWidget):
    def __init__(self, value: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText("Inside the data folder")
        browse = QPushButton("Bro&wse…")
        browse.setAccessibleName("Choose the blob folder")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)
        self.setFocusProxy(self.edit)

    def setAccessibleName(self, name: str) -> None:  # noqa: N802 - the field a screen reader lands on is the edit
        super().setAccessibleName(name)
        self.edit.setAccessibleName(name)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the blob folder", self.edit.text())
        if folder:
            self.edit.setText(folder)
