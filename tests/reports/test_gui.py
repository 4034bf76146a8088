"""The dashboard, the Reports and Help menus, the settings dialog and the palettes, offscreen."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog

from desktop_app.domain.types import Role, SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.queue import QueueFilter
from desktop_app.services.reports import QueueLink, ReportService
from desktop_app.ui.common import theme
from desktop_app.ui.reports.dashboard import Dashboard
from desktop_app.ui.mainwindow.help import ShortcutsDialog, UserGuide, menu_actions, plain, shortcut_rows
from desktop_app.ui.mainwindow.window import MainWindow

from .small_db import EXPECTED


def run_now(fn: Callable[[], Any], *, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[Exception], None] | None = None, **_kwargs: Any) -> None:
    """run_task's contract, on this thread: what the dashboard sees is what a worker would hand back."""
    try:
        result = fn()
    except Exception as error:  # noqa: BLE001
        if on_error is not None:
            on_error(error)
        return
    if on_done is not None:
        on_done(result)


@pytest.fixture
def services(small):  # noqa: ANN001, ANN201
    return Services.from_context(small.ctx)


def make_window(qtbot, services, actor) -> MainWindow:  # noqa: ANN001
    window = MainWindow(services, actor)
    qtbot.addWidget(window)
    return window


# -- menus -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rev", "sup", "admin"])
def test_every_menu_action_has_a_name_and_a_shortcut_or_mnemonic(qtbot, small, services, who) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people[who])
    actions = menu_actions(window.menuBar())
    assert len(actions) > 15
    shortcuts: dict[str, str] = {}
    for path, action in actions:
        name = plain(action.text())
        assert name, f"an action in {path} has no visible name"
        assert not action.shortcut().isEmpty() or "&" in action.text().replace("&&", ""), \
            f"{path} → {name}: neither a shortcut nor a mnemonic"
        for sequence in action.shortcuts():
            key = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            assert key not in shortcuts, f"{key} is both {shortcuts[key]} and {path} → {name} (ambiguous)"
            shortcuts[key] = f"{path} → {name}"
    for top in window.menuBar().actions():  # the menus themselves: Alt+letter opens each
        assert "&" in top.text(), top.text()


def test_reports_help_and_admin_entries_are_where_the_guide_says(qtbot, small, services) -> None:  # noqa: ANN001
    admin = {(path, plain(a.text())): a for path, a in menu_actions(make_window(qtbot, services,
                                                                                small.people["admin"]).menuBar())}
    assert admin[("View", "Dashboard")].shortcut().toString() == "Ctrl+D"
    assert {("Reports", "Periodic report"), ("Reports", "Export queue as CSV"), ("Reports", "Review record"),
            ("Admin", "Settings"), ("Help", "User guide"), ("Help", "Keyboard shortcuts"),
            ("Help", "About Clearance Desk"), ("View → Palette", "Dark palette")} <= set(admin)
    assert admin[("Help", "User guide")].shortcut().toString() == "F1"
    reviewer = {(path, plain(a.text())) for path, a in menu_actions(make_window(qtbot, services,
                                                                                small.people["rev"]).menuBar())}
    assert ("Admin", "Settings") not in reviewer and ("Reports", "Review record") in reviewer


def test_shortcuts_list_is_generated_from_the_menus(qtbot, small, services) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people["sup"])
    rows = shortcut_rows(window.menuBar())
    assert ("View", "Dashboard", QKeySequence("Ctrl+D").toString(QKeySequence.SequenceFormat.NativeText)) in rows
    dialog = ShortcutsDialog(window.menuBar(), window)
    qtbot.addWidget(dialog)
    texts = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert {"Dashboard", "Periodic report", "Keyboard shortcuts", "Choose a bar in a chart, then show it in the queue"} <= texts


def test_user_guide_opens_the_guide_from_docs(qtbot) -> None:  # noqa: ANN001
    guide = UserGuide()
    qtbot.addWidget(guide)
    text = guide.browser.toPlainText()
    assert "Clearance Desk user guide" in text and "Dashboard" in text


# -- the dashboard ---------------------------------------------------------------------------


@pytest.fixture
def dashboard(qtbot, small):  # noqa: ANN001, ANN201
    board = Dashboard(ReportService(small.ctx), run=run_now)
    qtbot.addWidget(board)
    board.period.setCurrentIndex(0)  # the last 4 weeks
    return board


def test_dashboard_shows_the_figures(qtbot, dashboard, small) -> None:  # noqa: ANN001
    with qtbot.waitSignal(dashboard.loaded):
        dashboard.refresh()
    tiles = dashboard.tiles
    assert tiles["open"].value == str(EXPECTED["open_total"])
    assert tiles["overdue"].value == str(EXPECTED["overdue"])
    assert tiles["due_soon"].value == str(EXPECTED["due_soon"])
    assert tiles["unassigned"].value == str(EXPECTED["unassigned_open"])
    assert tiles["overdue"].accessibleName() == "Overdue: 1"
    status = dashboard.charts["status"].accessibleDescription()
    assert "Issued 5" in status and "In review 2" in status and "arrow keys" in status
    assert "Riley Reviewer 2 (Overdue 1, Not overdue 1)" in dashboard.charts["workload"].accessibleDescription()
    assert dashboard.figures is not None and dashboard.figures.period.days == 22  # Monday 12 October to 2 November


def test_a_tile_and_a_bar_open_the_queue(qtbot, dashboard) -> None:  # noqa: ANN001
    dashboard.refresh()
    with qtbot.waitSignal(dashboard.filter_requested) as signal:
        qtbot.mouseClick(dashboard.tiles["overdue"], Qt.MouseButton.LeftButton)
    assert signal.args[0] == QueueLink(QueueFilter(overdue=True), "Overdue submissions")
    card = dashboard.charts["status"]
    bar_set, elements = card._sets[0]
    with qtbot.waitSignal(dashboard.filter_requested) as signal:
        bar_set.clicked.emit(0)  # the bottom bar: the chart lists the states top to bottom
    assert signal.args[0].filter.states == frozenset({SubmissionState.WITHDRAWN})


def test_charts_work_from_the_keyboard(qtbot, dashboard) -> None:  # noqa: ANN001
    dashboard.show()
    dashboard.refresh()
    card = dashboard.charts["status"]
    card.setFocus()
    qtbot.keyClick(card, Qt.Key.Key_Down)
    qtbot.keyClick(card, Qt.Key.Key_Down)
    assert "In review: 2" in card.accessibleDescription()
    with qtbot.waitSignal(dashboard.filter_requested) as signal:
        qtbot.keyClick(card, Qt.Key.Key_Return)
    assert signal.args[0].filter.states == frozenset({SubmissionState.IN_REVIEW})


def test_dashboard_counts_on_a_worker_thread(qtbot, small) -> None:  # noqa: ANN001
    board = Dashboard(ReportService(small.ctx))
    qtbot.addWidget(board)
    with qtbot.waitSignal(board.loaded, timeout=10_000) as signal:
        board.show()  # the first show starts counting; the window paints meanwhile
        assert board.status.text().startswith("Counting")
    assert signal.args[0].open_total == EXPECTED["open_total"]


def test_a_stale_answer_is_dropped(qtbot, small) -> None:  # noqa: ANN001
    pending: list[Callable[[], None]] = []

    def later(fn: Callable[[], Any], *, on_done: Callable[[Any], None], **_kwargs: Any) -> None:
        pending.append(lambda: on_done(fn()))

    board = Dashboard(ReportService(small.ctx), run=later)
    qtbot.addWidget(board)
    board.refresh()
    board.period.setCurrentIndex(3)  # a second request while the first runs
    first, second = pending
    first()
    assert board.figures is None  # out of date: not shown
    second()
    assert board.figures is not None and board.figures.period.days > 300


def test_dashboard_filters_the_main_window_queue(qtbot, small, services) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people["sup"])
    assert window.model.rowCount() == 13
    board = window.report_actions.open_dashboard()
    assert board is not None
    qtbot.addWidget(board)
    board.filter_requested.emit(QueueLink(QueueFilter(overdue=True), "Overdue submissions"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.model.row_data(0).reference == "CD-2026-0002"
    assert "Overdue submissions" in window.statusBar().currentMessage()
    window.reload()  # a refresh keeps what the dashboard asked for
    qtbot.waitUntil(lambda: not window.model.loading)
    assert window.model.rowCount() == 1
    assert window.filter_bar.due.currentData() == "overdue"  # the filter bar shows what it can of the link
    window.sidebar.setCurrentRow(1)  # choosing a view gives the sidebar back its say: mine, overdue
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    window.clear_filters()
    qtbot.waitUntil(lambda: window.model.rowCount() == 13)


def test_single_state_links_select_that_view_in_the_sidebar(qtbot, small, services) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people["rev"])
    window.apply_external_filter(QueueFilter(states=frozenset({SubmissionState.ISSUED})), "Issued")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    assert window.sidebar.current_key() == "state:ISSUED"


# -- Reports menu entries ----------------------------------------------------------------------


def test_export_queue_as_csv_from_the_menu(qtbot, small, services, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people["rev"])
    target = tmp_path / "out.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), "CSV (*.csv)"))
    window.report_actions.export_queue_csv()
    qtbot.waitUntil(lambda: "Exported 13 submissions" in window.statusBar().currentMessage(), timeout=10_000)
    assert target.read_text(encoding="utf-8").count("\n") == 16  # the marking, the header, 13 rows, the marking


def test_review_record_from_the_menu(qtbot, small, services, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people["rev"])
    window.select_submission(small.ids["S10"])
    target = tmp_path / "record"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), "PDF (*.pdf)"))
    window.report_actions.review_record()
    qtbot.waitUntil(lambda: "Wrote the review record of CD-2026-0010" in window.statusBar().currentMessage(),
                    timeout=10_000)
    assert (tmp_path / "record.pdf").read_bytes().startswith(b"%PDF")


def test_periodic_report_dialog_presets_and_checks(qtbot, small) -> None:  # noqa: ANN001
    import datetime as dt

    from desktop_app.ui.reports.actions import PeriodicReportDialog

    dialog = PeriodicReportDialog(dt.date(2026, 11, 2))
    qtbot.addWidget(dialog)
    dialog.preset.setCurrentIndex(dialog.preset.findText("Previous month"))
    assert (dialog.period().start, dialog.period().end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert dialog.target.text().endswith("clearance-report-2026-10-01-to-2026-10-31.pdf")
    dialog.preset.setCurrentIndex(dialog.preset.findText("Previous quarter"))
    assert (dialog.period().start, dialog.period().end) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    dialog.start.setDate(dialog.end.date().addDays(1))
    assert dialog.preset.currentText() == "Custom dates"
    dialog._accept()
    assert dialog.error.isVisibleTo(dialog) and "before the start" in dialog.error.text()


# -- the settings dialog ---------------------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf"
                    "c0f01f0005000201a5e1d6fa0000000049454e44ae426082")


def setting_events(ctx) -> list[tuple[str, str | None]]:  # noqa: ANN001
    from sqlalchemy import select

    from desktop_app.storage.models import AuditEvent

    with ctx.reading() as session:
        return [(e.entity_id, e.after) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "setting.change").order_by(AuditEvent.seq))]


def test_settings_dialog_shows_every_declared_setting(qtbot, small, services) -> None:  # noqa: ANN001
    from desktop_app.infra import settings as declared
    from desktop_app.ui.admin.settings import SettingsDialog

    dialog = SettingsDialog(services, small.people["admin"])
    qtbot.addWidget(dialog)
    assert set(dialog.editors) == {spec.key for spec in declared.SPECS}
    for key, editor in dialog.editors.items():
        assert editor.accessibleName(), key
    tabs = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert "&Trust" in tabs and "&Database" in tabs
    assert dialog.trust_table.rowCount() == 1  # "no trust anchor is configured"


def test_settings_are_validated_before_anything_is_saved(qtbot, small, services) -> None:  # noqa: ANN001
    from desktop_app.ui.admin.settings import SettingsDialog

    dialog = SettingsDialog(services, small.people["admin"])
    qtbot.addWidget(dialog)
    dialog.editors["agency_name"].setText("Office of Model Review")
    dialog.editors["review_window_days"].setValue(400)
    dialog.editors["agency_time_zone"].setCurrentText("Mars/Olympus_Mons")
    assert not dialog.apply()
    assert dialog.errors["review_window_days"].isVisibleTo(dialog)
    assert "between 1 and 365" in dialog.errors["review_window_days"].text()
    assert "unknown time zone" in dialog.errors["agency_time_zone"].text()
    assert not dialog.errors["agency_name"].isVisibleTo(dialog)
    assert services.settings.get("agency_name") != "Office of Model Review"
    assert setting_events(small.ctx) == []

    dialog.editors["review_window_days"].setValue(45)
    dialog.editors["agency_time_zone"].setCurrentText("America/Chicago")
    dialog.editors["agency_logo_blob"].set_image(PNG)
    with qtbot.waitSignal(dialog.saved, timeout=20_000):
        assert dialog.apply()
    assert services.settings.get("agency_name") == "Office of Model Review"
    assert services.settings.get("review_window_days") == 45
    assert services.settings.get("agency_logo_blob") == hashlib.sha256(PNG).hexdigest()
    assert services.settings.logo() == PNG
    assert sorted(key for key, _ in setting_events(small.ctx)) == [
        "agency_logo_blob", "agency_name", "agency_time_zone", "review_window_days"]
    assert "Saved 4 changes" in dialog.message.text()
    assert dialog.apply() and dialog.message.text() == "No changes to save."


def test_settings_are_saved_on_a_worker_thread_and_announced(qtbot, small, services, monkeypatch) -> None:  # noqa: ANN001
    """The save (argon2-free, but a transaction on a possibly remote database, and the logo hashed) never
    runs on the GUI thread; the dialog stays responsive and the change goes on the one bus."""
    import threading

    from desktop_app.ui.admin.settings import SettingsDialog
    from desktop_app.ui.operations import ChangeKind, bus

    threads: list[threading.Thread] = []
    real_set_many, real_set_logo = services.settings.set_many, services.settings.set_logo

    def set_many(actor, values):  # noqa: ANN001, ANN202 - the real save, noting where it runs
        threads.append(threading.current_thread())
        return real_set_many(actor, values)

    def set_logo(actor, image):  # noqa: ANN001, ANN202
        threads.append(threading.current_thread())
        return real_set_logo(actor, image)

    monkeypatch.setattr(services.settings, "set_many", set_many)
    monkeypatch.setattr(services.settings, "set_logo", set_logo)
    dialog = SettingsDialog(services, small.people["admin"])
    qtbot.addWidget(dialog)
    dialog.editors["agency_name"].setText("Office of Frontier Model Review")
    dialog.editors["agency_logo_blob"].set_image(PNG)
    announced: list[object] = []
    bus().changed.connect(announced.append)
    try:
        with qtbot.waitSignal(dialog.saved, timeout=20_000):
            assert dialog.apply()
            assert not dialog.buttons.isEnabled()  # busy until the worker answers
    finally:
        bus().changed.disconnect(announced.append)
    assert len(threads) == 2 and all(t is not threading.main_thread() for t in threads)
    assert services.settings.get("agency_name") == "Office of Frontier Model Review"
    assert dialog.buttons.isEnabled() and "Saved 2 changes" in dialog.message.text()
    assert [c.what for c in announced] == [ChangeKind.SETTINGS]  # type: ignore[attr-defined]


def test_a_logo_must_be_an_image(small, services) -> None:  # noqa: ANN001
    from desktop_app.domain.errors import InputRejected, PermissionDenied

    with pytest.raises(InputRejected, match="PNG or JPEG"):
        services.settings.set_logo(small.people["admin"], b"GIF89a....")
    with pytest.raises(PermissionDenied):
        services.settings.set_logo(small.people["sup"], PNG)


# -- palettes ----------------------------------------------------------------------------------------


@pytest.fixture
def restore_palette(qapp):  # noqa: ANN001, ANN201
    yield
    theme.apply(theme.PaletteChoice.SYSTEM, remember=False)


def test_dark_and_light_palettes_keep_our_colours_readable(qapp, restore_palette) -> None:  # noqa: ANN001
    for choice, dark in ((theme.PaletteChoice.DARK, True), (theme.PaletteChoice.LIGHT, False)):
        theme.apply(choice, remember=False)
        assert theme.is_dark() is dark
        base = QApplication.palette().color(QPalette.ColorRole.Base)
        for role in ("overdue", "due_soon", "conflict", "error", "accent", "muted", "ok"):
            assert theme.contrast_ratio(theme.colour(role), base) >= 4.5, (choice, role)
        text = QApplication.palette().color(QPalette.ColorRole.Text)
        assert theme.contrast_ratio(text, base) >= 7


def test_the_system_palette_brings_back_the_platform_style(qapp, restore_palette, monkeypatch) -> None:  # noqa: ANN001
    """The platform's style is remembered when a fixed palette first switches to Fusion (not at start)."""
    from PySide6.QtWidgets import QStyleFactory

    before = qapp.style().name()
    monkeypatch.setattr(theme, "_system_style", None)
    qapp.setStyle(QStyleFactory.create("Windows"))
    try:
        theme.apply(theme.PaletteChoice.DARK, remember=False)
        assert qapp.style().name().lower() == "fusion"
        theme.apply(theme.PaletteChoice.SYSTEM, remember=False)
        assert qapp.style().name().lower() == "windows"
    finally:
        qapp.setStyle(QStyleFactory.create(before))


def test_palette_choice_is_kept_and_the_queue_follows(qtbot, small, services, restore_palette) -> None:  # noqa: ANN001
    window = make_window(qtbot, services, small.people["rev"])
    window.palette_actions[theme.PaletteChoice.DARK].trigger()
    assert QSettings().value(theme.SETTINGS_KEY) == "dark" and theme.saved_choice() is theme.PaletteChoice.DARK
    row = next(r for r in range(window.model.rowCount()) if window.model.row_data(r).reference == "CD-2026-0002")
    from desktop_app.services.queue import QueueColumn

    brush = window.model.data(window.model.index(row, QueueColumn.DAYS_LEFT), Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == theme.colour("overdue") and brush.color().lightness() > 128  # light red on dark
    assert "overdue" in window.model.data(window.model.index(row, QueueColumn.DAYS_LEFT))  # not colour alone
    window.palette_actions[theme.PaletteChoice.LIGHT].trigger()
    assert not theme.is_dark()
    assert theme.saved_choice() is theme.PaletteChoice.LIGHT


def test_role_is_not_needed_to_read_reports(small) -> None:  # noqa: ANN001
    assert small.people["admin"].role is Role.ADMIN
    ReportService(small.ctx).figures(ReportService(small.ctx).recent_weeks(4))


# -- accessibility of the windows made here ----------------------------------------------------------


def unnamed_controls(root) -> list[str]:  # noqa: ANN001
    """Focusable widgets a screen reader would announce without a name (explicit, label buddy or text)."""
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QAbstractButton, QWidget

    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isVisibleTo(root) or widget.focusProxy():
            continue
        if widget.parent() is not None and type(widget.parent()).__name__ in ("QComboBox", "QAbstractSpinBox",
                                                                               "QSpinBox", "QDateEdit"):
            continue  # the line edit inside a combo or spin box: named through its owner
        interface = QAccessible.queryAccessibleInterface(widget)
        name = interface.text(QAccessible.Text.Name) if interface is not None else ""
        if not (name or widget.accessibleName() or (isinstance(widget, QAbstractButton) and widget.text())):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return missing


def test_dialogs_made_here_name_every_control(qtbot, small, services) -> None:  # noqa: ANN001
    import datetime as dt

    from desktop_app.ui.reports.actions import PeriodicReportDialog
    from desktop_app.ui.admin.settings import SettingsDialog

    window = make_window(qtbot, services, small.people["admin"])
    board = Dashboard(ReportService(small.ctx), run=run_now)
    settings = SettingsDialog(services, small.people["admin"])
    report = PeriodicReportDialog(dt.date(2026, 11, 2))
    shortcuts = ShortcutsDialog(window.menuBar())
    for widget in (board, settings, report, shortcuts):
        qtbot.addWidget(widget)
        widget.show()
        if widget is settings:
            for page in range(settings.tabs.count()):
                settings.tabs.setCurrentIndex(page)
                assert unnamed_controls(settings) == [], settings.tabs.tabText(page)
        else:
            assert unnamed_controls(widget) == [], type(widget).__name__
