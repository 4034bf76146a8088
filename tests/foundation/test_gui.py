"""First run, sign-in and the main window, driven with pytest-qt on the offscreen platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop_app.domain.types import SubmissionState
from desktop_app.services.bundle import Services
from desktop_app.services.context import open_data_folder
from desktop_app.services.demo import DEMO_PASSWORD, DemoBuilder
from desktop_app.ui.account.dialogs import FirstRunDialog, LoginDialog
from desktop_app.ui.mainwindow.window import MainWindow


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-template")
    ctx = open_data_folder(folder)
    DemoBuilder(ctx).build()
    ctx.close()
    return folder


@pytest.fixture
def services(demo_template: Path, tmp_path: Path):  # noqa: ANN201
    folder = tmp_path / "demo"
    shutil.copytree(demo_template, folder)
    bundle = Services.open(folder)
    yield bundle
    bundle.close()


@pytest.fixture
def window(qtbot, services):  # noqa: ANN001, ANN201
    actor = services.users.authenticate("reviewer", DEMO_PASSWORD)
    win = MainWindow(services, actor)
    qtbot.addWidget(win)
    with qtbot.waitExposed(win):
        win.show()
    return win


def test_first_run_dialog_creates_the_admin(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    bundle = Services.open(tmp_path / "fresh")
    try:
        dialog = FirstRunDialog(bundle.users)
        qtbot.addWidget(dialog)
        dialog.username.setText("chief")
        dialog.full_name.setText("Chief Admin")
        dialog.password.setText("short")
        dialog.repeat.setText("short")
        dialog.try_create()  # checked and hashed on a worker: the dialog waits, painting
        qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
        assert dialog.result() != QDialog.DialogCode.Accepted
        assert "12 characters" in dialog.error.text()
        assert not bundle.users.has_accounts()
        dialog.password.setText("a long enough passphrase")
        dialog.repeat.setText("a long enough passphrase")
        with qtbot.waitSignal(dialog.accepted, timeout=10_000):
            dialog.try_create()
        assert bundle.users.get("chief").role.value == "admin"
    finally:
        bundle.close()


def test_login_dialog_refuses_then_accepts(qtbot, services) -> None:  # noqa: ANN001
    dialog = LoginDialog(services.users, username="reviewer")
    qtbot.addWidget(dialog)
    dialog.password.setText("not the password")
    dialog.try_sign_in()
    assert dialog.running  # argon2 checks the password on a worker
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert dialog.actor is None
    assert "wrong user name or password" in dialog.error.text()
    assert dialog.password.text() == ""  # never kept after an attempt
    dialog.password.setText(DEMO_PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.try_sign_in()
    assert dialog.actor is not None and dialog.actor.username == "reviewer"
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_window_shows_who_is_signed_in(window) -> None:  # noqa: ANN001
    assert "Riley Chen" in window.status_user.text() and "reviewer" in window.status_user.text()
    assert "reviewer" in window.windowTitle()


def test_queue_model_passes_qtmodeltester(qtmodeltester, window) -> None:  # noqa: ANN001
    qtmodeltester.check(window.model, force_py=True)


def test_queue_lists_submissions_and_selection_shows_detail(qtbot, window, services) -> None:  # noqa: ANN001
    model = window.model
    assert model.rowCount() == 16
    references = {model.data(model.index(r, 0)) for r in range(model.rowCount())}
    assert "CD-2026-0001" in references
    row = model.row_for_id(services.submissions.id_for_reference("CD-2026-0001"))
    window.queue.selectRow(row)
    assert window.detail.detail is not None and window.detail.detail.reference == "CD-2026-0001"
    # four from the package, one from its supplement, one from the supplement that answers a condition
    assert window.detail.artifacts.rowCount() == 6
    assert "Orca 3.1" in window.detail.overview.toPlainText()
    assert window.detail.history.rowCount() >= 2


def test_sidebar_filters_by_state_with_counts(qtbot, window, services) -> None:  # noqa: ANN001
    counts = services.queue.counts().states
    assert counts[SubmissionState.RECEIVED] and counts[SubmissionState.ISSUED]  # the demo has every state
    for state in (SubmissionState.RECEIVED, SubmissionState.ISSUED):
        row = 4 + list(SubmissionState).index(state)
        window.sidebar.setCurrentRow(row)
        assert window.model.rowCount() == counts[state]
        assert f"({counts[state]})" in window.sidebar.item(row).text()


def test_search_is_debounced_and_filters(qtbot, window) -> None:  # noqa: ANN001
    qtbot.keyClicks(window.search, "Sparrow")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=2000)
    assert window.model.data(window.model.index(0, 2)) == "Sparrow 2.0"


def test_sorting_goes_through_sql_and_keeps_selection(qtbot, window, services) -> None:  # noqa: ANN001
    target = services.submissions.id_for_reference("CD-2026-0002")
    window.queue.selectRow(window.model.row_for_id(target))
    window.queue.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    refs = [window.model.data(window.model.index(r, 0)) for r in range(window.model.rowCount())]
    assert refs == sorted(refs, reverse=True)
    assert window.current_id() == target
    window.reload()
    assert window.current_id() == target


def test_window_state_is_kept_in_qsettings(qtbot, services) -> None:  # noqa: ANN001
    from PySide6.QtCore import QSettings

    actor = services.users.authenticate("reviewer", DEMO_PASSWORD)
    first = MainWindow(services, actor)
    qtbot.addWidget(first)
    first.show()
    first.splitter.setSizes([150, 900, 300])
    sizes = first.splitter.sizes()
    first.close()
    assert QSettings().value("main/splitter") is not None
    second = MainWindow(services, actor)
    qtbot.addWidget(second)
    second.show()
    assert second.splitter.sizes() == sizes


def test_menus_have_shortcuts(window) -> None:  # noqa: ANN001
    actions = [a for menu in window.menuBar().actions() for a in menu.menu().actions() if not a.isSeparator()]
    assert actions
    for action in actions:
        assert not action.shortcut().isEmpty() or "&" in action.text(), action.text()


def test_queue_survives_20000_repaints(qtbot, window) -> None:  # noqa: ANN001
    """PySide6 6.12 on CPython 3.11 aborted after ~5,000 repaints ("deallocating None")."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QTableView

    class PaintCounter(QObject):
        count = 0

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                PaintCounter.count += 1
            return False

    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(window.model)
    view.resize(420, 160)  # a few rows and columns: every repaint still calls into the model
    with qtbot.waitExposed(view):
        view.show()
    counter = PaintCounter()
    view.viewport().installEventFilter(counter)
    for _ in range(20_000):
        view.viewport().repaint()
    assert PaintCounter.count == 20_000
    assert window.model.rowCount() == 16


# -- a session that lost its account (issue 14, item 4) -----------------------------------------

@pytest.mark.parametrize(("change", "said"), [
    ("deactivate", "An administrator deactivated your account, so you have been signed out."),
    ("demote", "An administrator changed your role from reviewer to supervisor, so you have been signed out."),
])
def test_the_window_signs_out_a_user_whose_account_changed(qtbot, services, window, change, said) -> None:  # noqa: ANN001
    """The next click after an administrator's change closes the window and says why; the click does nothing."""
    from desktop_app.domain.types import Role

    admin = services.users.authenticate("admin", DEMO_PASSWORD)
    qtbot.waitUntil(lambda: window.model.rowCount() > 0)
    from desktop_app.ui.session_guard import CHECK_INTERVAL_S

    qtbot.wait(int(CHECK_INTERVAL_S * 1000) + 100)  # the window may have read the account a moment ago
    if change == "deactivate":
        services.users.deactivate(admin, "reviewer")
    else:
        services.users.set_role(admin, "reviewer", Role.SUPERVISOR)
    before = window.queue.currentIndex().row()
    second_row = window.queue.viewport().mapTo(window, window.queue.visualRect(window.model.index(1, 0)).center())
    # through the native window, as the platform delivers a click (the guard watches windows, not every widget)
    qtbot.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, second_row)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert window.queue.currentIndex().row() == before  # the click was not delivered
    message = window.session_guard.message
    assert message is not None and message.isVisible()
    assert message.text().startswith(said)
    message.close()


def test_a_key_press_after_the_account_changed_signs_out_and_does_nothing(qtbot, services, window) -> None:  # noqa: ANN001
    """A key (here Down in the queue), through the native window as the platform delivers it."""
    admin = services.users.authenticate("admin", DEMO_PASSWORD)
    qtbot.waitUntil(lambda: window.model.rowCount() > 1)
    from desktop_app.ui.session_guard import CHECK_INTERVAL_S

    window.queue.setFocus()
    window.queue.setCurrentIndex(window.model.index(0, 0))
    qtbot.wait(int(CHECK_INTERVAL_S * 1000) + 100)
    services.users.deactivate(admin, "reviewer")
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert window.queue.currentIndex().row() == 0  # the key was not delivered
    window.session_guard.message.close()


def test_the_session_guard_sees_input_not_every_paint(qtbot, window) -> None:  # noqa: ANN001
    """An application-wide filter ran Python for every event of every widget (~20 ms of the first paint)."""
    from PySide6.QtCore import QEvent

    from desktop_app.ui.session_guard import SessionGuard

    painted: list[str] = []

    class CountingGuard(SessionGuard):
        def eventFilter(self, watched, event) -> bool:  # noqa: ANN001, N802
            if event.type() == QEvent.Type.Paint:
                painted.append(type(watched).__name__)
            return super().eventFilter(watched, event)

    guard = CountingGuard(window, window.services.users, window.actor)
    assert window.windowHandle() in guard._watched  # the window was shown already: its native window at once
    for _ in range(200):
        window.queue.viewport().repaint()
        window.statusBar().repaint()
    assert painted == []


def test_the_guard_lets_go_of_a_focused_widget_that_is_gone(qtbot, window) -> None:  # noqa: ANN001
    """A dialog's button had the focus and went with its dialog: moving the focus on is no error."""
    import shiboken6
    from PySide6.QtWidgets import QPushButton

    button = QPushButton("OK")
    window.session_guard._watch_focus(button)
    shiboken6.delete(button)
    window.session_guard._watch_focus(window.queue)  # raised RuntimeError (C++ object already deleted)
    assert window.queue in window.session_guard._watched and button not in window.session_guard._watched


def test_the_guard_watches_one_focused_widget_and_connects_nothing_to_it(window) -> None:  # noqa: ANN001
    """Focus moving back and forth all day leaves one filter on the focused widget and no connections."""
    from PySide6.QtCore import SIGNAL

    guard = window.session_guard
    before = window.queue.receivers(SIGNAL("destroyed(QObject*)"))
    for _ in range(50):
        guard._watch_focus(window.queue)
        guard._watch_focus(window.search)
    assert window.queue.receivers(SIGNAL("destroyed(QObject*)")) == before
    assert guard._watched.count(window.search) == 1 and window.queue not in guard._watched


def test_account_changes_run_on_a_worker_and_the_list_follows_the_bus(qtbot, services, monkeypatch) -> None:  # noqa: ANN001
    """Adding an account hashes its password with argon2: not on the GUI thread. The list refreshes
    because the change is announced (ui.operations), not because the dialog reloads itself after saving."""
    from desktop_app.ui.admin import users as users_ui
    from desktop_app.ui.operations import ChangeKind, bus

    admin = services.users.authenticate("admin", DEMO_PASSWORD)
    dialog = users_ui.UsersDialog(services.users, admin)
    qtbot.addWidget(dialog)
    before = dialog.table.rowCount()

    def filled(form: users_ui.NewUserDialog) -> int:
        form.username.setText("auditor")
        form.full_name.setText("Avery Auditor")
        form.password.setText("a long enough passphrase 7")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(users_ui.NewUserDialog, "exec", filled)
    with qtbot.waitSignal(bus().changed, timeout=10_000) as announced:
        dialog.add_user()
        assert dialog.table.rowCount() == before  # the worker has not answered yet
    assert announced.args[0].what is ChangeKind.USERS and "auditor" in announced.args[0].message
    assert dialog.table.rowCount() == before + 1 and services.users.get("auditor").display_name == "Avery Auditor"


def test_a_password_change_is_checked_on_a_worker(qtbot, services) -> None:  # noqa: ANN001
    from desktop_app.ui.account.dialogs import ChangePasswordDialog

    actor = services.users.authenticate("reviewer", DEMO_PASSWORD)
    dialog = ChangePasswordDialog(services.users, actor)
    qtbot.addWidget(dialog)
    dialog.current.setText("not my password")
    dialog.new.setText("a fresh long passphrase 9")
    dialog.repeat.setText("a fresh long passphrase 9")
    dialog.try_change()
    assert dialog.running and not dialog.ok_button.isEnabled()  # argon2 runs elsewhere; the dialog paints
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert not dialog.error.isHidden() and dialog.result() != QDialog.DialogCode.Accepted
    dialog.current.setText(DEMO_PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.try_change()
    assert services.users.authenticate("reviewer", "a fresh long passphrase 9").username == "reviewer"


def test_an_operation_for_a_closed_dialog_neither_touches_it_nor_loses_a_failure(qtbot) -> None:  # noqa: ANN001
    """The save runs on a worker; its dialog may be closed and deleted before it answers."""
    import threading

    import shiboken6
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    from desktop_app.ui.operations import ChangeKind, Changes, Operation, bus

    announced: list[Changes] = []
    bus().changed.connect(announced.append)
    try:
        for fails in (False, True):
            release = threading.Event()
            dialog = QDialog()
            handled: list[object] = []

            def work(fails: bool = fails, release: threading.Event = release) -> str:
                release.wait(5)
                if fails:
                    raise ValueError("the disk is full")
                return "saved"

            (Operation(dialog, work, title="Could not save")
             .success(lambda result, handled=handled: handled.append(result) or Changes(None, ChangeKind.SETTINGS))
             .failure(handled.append).run())
            shiboken6.delete(dialog)  # closed and deleted while the worker runs
            release.set()
            if fails:  # the failure is still shown, on its own
                qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.windowTitle() == "Could not save"
                                            for w in QApplication.topLevelWidgets() if w.isVisible()))
            else:
                qtbot.wait(300)
            assert handled == [] and announced == []
    finally:
        bus().changed.disconnect(announced.append)
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox):
                widget.close()
