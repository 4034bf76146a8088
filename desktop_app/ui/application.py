"""Start the GUI: QApplication, data folder, first run or sign-in, main window.

`--smoke-test` signs in with CLEARANCE_DESK_PASSWORD, paints the first queue page,
prints timings and exits: CI and the packaged build use it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktop_app.ui import startup

startup.read_sources_lightly()  # before SQLAlchemy and the rest are imported (see ui.startup)

from desktop_app import APP_ID, APP_NAME, __version__  # noqa: E402
from desktop_app.domain.errors import ClearanceDeskError  # noqa: E402

log = logging.getLogger("clearance_desk.ui")

DEMO_HINT = ("Demo data folder. Users: reviewer, reviewer2, supervisor, admin — "
             "password: clearance-demo. Everything here is marked DEMO.")


def make_application() -> QApplication:
    startup.switch_threads_often()  # the GUI thread never waits 5 ms for a worker's Python (ui.startup)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName("Clearance Desk")
    QCoreApplication.setOrganizationDomain("clearance-desk.gov")
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    return app  # type: ignore[return-value]


def _build_demo_with_progress(data_dir: Path, db_url: str | None) -> None:
    """Fill a new demo folder off the GUI thread, showing progress (the operations' progress dialog)."""
    from desktop_app.services.context import open_data_folder
    from desktop_app.services.demo import DemoBuilder
    from desktop_app.ui.operations.dialog import ProgressDialog

    def work(progress: Callable[[str, int, int], None], _cancelled: object) -> str:
        ctx = open_data_folder(data_dir, db_url=db_url)
        try:
            return DemoBuilder(ctx).build(progress=lambda message: progress(str(message), 0, 0))
        finally:
            ctx.close()

    dialog = ProgressDialog(APP_NAME, work, cancellable=False)
    dialog.stage.setText("Preparing the demo data folder…")
    dialog.exec()
    if dialog.failure is not None:
        raise dialog.failure


def run_gui(args: argparse.Namespace, *, data_dir: Path, db_url: str | None, started: float) -> int:
    app = make_application()
    from desktop_app.services.bundle import Services

    is_demo = bool(args.demo)
    if is_demo and not (data_dir / "clearance-desk.sqlite3").exists() and db_url is None:
        _apply_palette()
        with startup.collector_running():  # building the demo allocates a lot; speed does not matter then
            _build_demo_with_progress(data_dir, db_url)
    try:
        services = Services.open(data_dir, db_url=db_url)
    except ClearanceDeskError as error:
        _apply_palette()
        QMessageBox.critical(None, APP_NAME, f"Cannot open the data folder {data_dir}:\n{error}")
        return 1
    opened = time.perf_counter()
    try:
        actor = _sign_in(services, args, is_demo=is_demo)
        if actor is None:
            return 0
        from desktop_app.ui.mainwindow.window import MainWindow

        window = MainWindow(services, actor, defer_review=True)
        window.auto_backup_on_close = not args.smoke_test
        window.show()
        startup.resume_collector()
        if args.smoke_test:
            return _smoke(app, window, started, opened)
        return app.exec()
    finally:
        from desktop_app.ui.threads import wait_for_workers

        startup.collector_on()  # if the window never came up
        wait_for_workers()
        services.close()


def _sign_in(services, args: argparse.Namespace, *, is_demo: bool):  # noqa: ANN001, ANN202
    password = os.environ.get("CLEARANCE_DESK_PASSWORD")
    if args.smoke_test and password is None:
        print("clearance-desk: --smoke-test needs CLEARANCE_DESK_PASSWORD", file=sys.stderr)
        return None
    if args.user and password is not None:  # scripted sessions: smoke test, documentation screenshots
        return _scripted_sign_in(services, args.user, password)
    # Only now: the dialogs and their message boxes (~30 ms of imports) are not needed by a scripted start.
    from desktop_app.ui.account.dialogs import FirstRunDialog, LoginDialog

    _apply_palette()
    if not services.users.has_accounts():
        if FirstRunDialog(services.users).exec() != QDialog.DialogCode.Accepted:
            return None
    dialog = LoginDialog(services.users, hint=DEMO_HINT if is_demo else "",
                         username=args.user or ("reviewer" if is_demo else ""))
    QTimer.singleShot(0, _import_while_signing_in)  # while the user types, so the window follows OK at once
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.actor


def _apply_palette() -> None:
    """The palette kept in QSettings, before the first window (the sign-in dialog or the main window).

    Once a process: applying it also starts following the system's colour scheme.
    """
    global _palette_applied
    if not _palette_applied:
        from desktop_app.ui.common import theme

        theme.apply_saved()
        _palette_applied = True


_palette_applied = False


def _import_main_window() -> None:
    import desktop_app.ui.mainwindow.window  # noqa: F401


def _import_while_signing_in() -> None:
    """The main window's modules here; the review half's and the ORM-based services (~250 ms) on a worker.

    The sign-in dialog waits seconds for a person to type; whatever loads meanwhile is not
    waited for after OK. (A scripted sign-in has no such pause: there the review half loads
    just after the first paint, and the services after that, see MainWindow._build_review_later.)
    """
    _import_main_window()
    from desktop_app.services.bundle import load_record_services
    from desktop_app.ui.mainwindow.review_side import import_review_modules
    from desktop_app.ui.threads import run_task

    def preload() -> None:
        import_review_modules()
        load_record_services()

    run_task(preload, on_error=lambda error: log.warning("preloading the review half: %s", error))


def _scripted_sign_in(services, username: str, password: str):  # noqa: ANN001, ANN202
    """Check the password on a thread while the palette is set and the main window's modules import.

    argon2 releases the GIL while it hashes (~25 ms with 19 MiB), so the two overlap; the
    account is read before and the outcome recorded after, here (see UserService.authenticate).
    """
    attempt = services.users.sign_in_attempt(username)
    outcome: dict[str, object] = {}

    def verify() -> None:
        try:
            outcome["verified"] = attempt.verify(password)
        except BaseException as error:  # noqa: BLE001 - raised again on this thread below
            outcome["error"] = error

    thread = threading.Thread(target=verify, name="sign-in")
    thread.start()
    _apply_palette()
    _import_main_window()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    try:
        return services.users.record_sign_in(attempt, password, bool(outcome["verified"]))
    except ClearanceDeskError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def _smoke(app: QApplication, window, started: float, opened: float) -> int:  # noqa: ANN001
    """Time the start, then wait for the review half and the whole id list (at most 30 s)."""
    from desktop_app.ui.common.layouts import after_first_paint

    shown = time.perf_counter()
    result: dict[str, float] = {}

    def painted() -> None:
        result["painted"] = time.perf_counter()

    def settled() -> None:
        """Ready: the whole id list is in, and the detail pane shows the current submission."""
        if window.ready and not window.model.loading and window.detail_is_current():
            result["ready"] = time.perf_counter()
            app.quit()

    # The first paint that happened, not a repaint asked for: until the platform exposes the
    # window, a repaint paints nothing. Noted once the paint pass that drew the page is over.
    after_first_paint(window.queue.viewport(), painted)
    poll = QTimer(interval=1)  # ready to the millisecond
    poll.timeout.connect(settled)
    poll.start()
    QTimer.singleShot(30_000, app.quit)
    app.exec()
    if "painted" not in result:
        print("smoke-test: the queue was never painted within 30 s", file=sys.stderr)
        return 1
    rows = window.model.rowCount()
    print(f"smoke-test: data folder opened in {(opened - started) * 1000:.0f} ms")
    print(f"smoke-test: window shown in {(shown - started) * 1000:.0f} ms")
    print(f"smoke-test: first queue page painted in {(result['painted'] - started) * 1000:.0f} ms "
          f"({rows} submissions in the queue)")
    if "ready" not in result:
        print("smoke-test: the detail pane and the queue were not ready within 30 s", file=sys.stderr)
        return 1
    print(f"smoke-test: detail pane and whole queue ready in {(result['ready'] - started) * 1000:.0f} ms")
    window.close()
    return 0
