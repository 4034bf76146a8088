"""Make the user guide's screenshots by driving the real application on a virtual screen.

    python scripts/make_screenshots.py [--out docs/screenshots] [--data-dir DIR] [--submissions N]

Without a display it starts Xvfb (1600x1000) and runs itself inside it, with Qt's xcb
platform, so what is captured is what an X server shows. It builds a demo data folder
through the real services (the demo users, sample packages, signed letters, plus N
generated submissions for realistic charts), opens the real main window, dashboard,
settings dialog and shortcuts list, captures each from the screen, switches to the dark
palette and captures again, and renders the first page of a periodic report and of a
review record with poppler's pdftoppm. Needs Xvfb and poppler-utils.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (1600, 960)
LAPTOP = (1366, 768)
ONLY: set[str] = set()
"""Picture names to write (all when empty)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--data-dir", type=Path, help="an existing demo data folder (default: build a fresh one)")
    parser.add_argument("--submissions", type=int, default=3000, help="generated submissions added to a fresh demo")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="write only this picture (e.g. letter-register.png; may be repeated)")
    args = parser.parse_args()
    ONLY.update(args.only)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return _rerun_under_xvfb()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="clearance-shots-") as scratch:
        data_dir = args.data_dir or _build_demo(Path(scratch) / "demo", args.submissions)
        os.environ.setdefault("XDG_CONFIG_HOME", str(Path(scratch) / "config"))  # QSettings: not the user's own
        _shoot(data_dir, args.out, Path(scratch))
    return 0


def _rerun_under_xvfb() -> int:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("make_screenshots: no DISPLAY and no Xvfb (apt-get install xvfb)", file=sys.stderr)
        return 2
    display = next(f":{n}" for n in range(90, 140) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen([xvfb, display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        return subprocess.call([sys.executable, *sys.argv], env=env)
    finally:
        server.terminate()
        server.wait()


def _build_demo(folder: Path, submissions: int) -> Path:
    from desktop_app.services import demo_bulk
    from desktop_app.services.context import open_data_folder
    from desktop_app.services.demo import DemoBuilder
    from desktop_app.services.users import UserService

    print(f"building a demo data folder in {folder} …")
    ctx = open_data_folder(folder)
    try:
        DemoBuilder(ctx).build()
        if submissions:
            users = UserService(ctx)

            def person(name: str) -> demo_bulk.Person:
                return demo_bulk.Person(users.get(name).id, name)

            demo_bulk.generate(ctx, submissions, reviewers=[person("reviewer"), person("reviewer2")],
                               supervisors=[person("supervisor")])
    finally:
        ctx.close()
    return folder


def _wait(app: object, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get ready in time")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def _settle(app: object, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def _capture(app: object, widget: object, target: Path) -> None:
    """What the X server shows in the widget's window (not a re-render of the widget)."""
    if ONLY and target.name not in ONLY:
        return
    _settle(app)
    window = widget.window()  # type: ignore[attr-defined]
    screen = window.screen()
    frame = window.frameGeometry()
    pixmap = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if pixmap.isNull() or pixmap.width() < 10:  # no window system to grab from (offscreen): render it
        pixmap = window.grab()
    pixmap.save(str(target))
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def _shoot(data_dir: Path, out: Path, scratch: Path) -> None:
    from desktop_app.ui.application import make_application

    app = make_application()
    from desktop_app.services.bundle import Services
    from desktop_app.services.demo import DEMO_PASSWORD
    from desktop_app.ui.common import theme
    from desktop_app.ui.mainwindow.help import ShortcutsDialog
    from desktop_app.ui.mainwindow.window import MainWindow
    from desktop_app.ui.admin.settings import SettingsDialog

    theme.apply(theme.PaletteChoice.LIGHT, remember=False)
    services = Services.open(data_dir)
    try:
        supervisor = services.users.authenticate("supervisor", DEMO_PASSWORD)
        window = MainWindow(services, supervisor)
        window.setGeometry(0, 0, *SIZE)
        window.show()
        _wait(app, lambda: window.isVisible() and not window.model.loading)
        window.sidebar.setCurrentRow(3)  # "Due within 7 days": open work, overdue first
        _wait(app, lambda: not window.model.loading)
        if window.model.rowCount():
            window.queue.selectRow(min(2, window.model.rowCount() - 1))
        window.queue.setFocus()
        _capture(app, window, out / "main-window.png")

        dashboard = window.report_actions.open_dashboard()
        assert dashboard is not None, "the dashboard needs PySide6.QtCharts"
        dashboard.setGeometry(40, 20, 1440, 900)
        _wait(app, lambda: dashboard.figures is not None)
        _capture(app, dashboard, out / "dashboard.png")

        shortcuts = ShortcutsDialog(window.menuBar(), window)
        shortcuts.move(200, 100)
        shortcuts.show()
        _capture(app, shortcuts, out / "shortcuts.png")
        shortcuts.close()

        theme.apply(theme.PaletteChoice.DARK, remember=False)
        dashboard.raise_()
        _capture(app, dashboard, out / "dashboard-dark.png")
        dashboard.close()
        window.raise_()
        window.activateWindow()
        _capture(app, window, out / "main-window-dark.png")
        window.setGeometry(0, 0, *LAPTOP)  # the smallest screen we design for: triage columns still show
        _capture(app, window, out / "main-window-1366-dark.png")
        theme.apply(theme.PaletteChoice.LIGHT, remember=False)
        _capture(app, window, out / "main-window-1366.png")
        window.setGeometry(0, 0, *SIZE)

        admin = services.users.authenticate("admin", DEMO_PASSWORD)
        settings = SettingsDialog(services, admin, window)
        settings.move(240, 120)
        settings.resize(760, 640)
        settings.show()
        _capture(app, settings, out / "settings.png")
        settings.close()
        _evaluation_and_changes(app, services, supervisor, window, out)
        _conditions(app, services, supervisor, window, out)
        _letters(app, services, supervisor, window, out, scratch)  # revokes a demo letter: last
        window.close()

        _reports(services, supervisor, out, scratch)
    finally:
        services.close()


def _evaluation_and_changes(app: object, services: object, actor: object, window: object, out: Path) -> None:
    """The demo's Inspect log (summary, and the sample a finding cites) and its resubmission's changes."""
    from sqlalchemy import select

    from PySide6.QtCore import Qt

    from desktop_app.services.demo_evals import CITED_SAMPLE, FIRST_PACKAGE, LOG_PATH, RESUBMISSION
    from desktop_app.services.eval_evidence import LogRef
    from desktop_app.storage.models import Artifact, Package
    from desktop_app.ui.review.diff_view import DiffDialog
    from desktop_app.ui.review.eval_view import EvalLogViewer, SampleDialog

    with services.ctx.reading() as session:  # type: ignore[attr-defined]
        first, second = (session.scalar(select(Package.submission_id).where(Package.package_id == package))
                         for package in (FIRST_PACKAGE, RESUBMISSION))
        artifact = session.scalar(select(Artifact.id).where(Artifact.submission_id == first,
                                                            Artifact.path == LOG_PATH))
    viewer = EvalLogViewer(services, LogRef("artifact", artifact), LOG_PATH, window)  # type: ignore[arg-type]
    viewer.setGeometry(60, 40, 1000, 720)
    viewer.show()
    _wait(app, lambda: viewer.summary is not None)
    viewer.samples.selectRow(6)
    _capture(app, viewer, out / "eval-log.png")
    sample = SampleDialog(services, LogRef("artifact", artifact), LOG_PATH, CITED_SAMPLE, 1, window)  # type: ignore[arg-type]
    sample.setGeometry(120, 60, 980, 760)
    sample.show()
    _wait(app, lambda: sample.output.toPlainText() != "" and sample.page is not None)
    _capture(app, sample, out / "eval-sample.png")
    sample.tabs.setCurrentIndex(1)
    _capture(app, sample, out / "eval-transcript.png")
    sample.close()
    viewer.close()
    from desktop_app.ui.review.findings import CiteArtifactDialog

    detail = services.submissions.detail(first)  # type: ignore[attr-defined]
    cite = CiteArtifactDialog(window.review, detail, detail.findings[0], window)  # type: ignore[attr-defined]
    cite.setGeometry(120, 60, 760, 640)
    cite.show()
    cite.artifact.setCurrentIndex(cite.artifact.findText(LOG_PATH, Qt.MatchFlag.MatchStartsWith))
    _wait(app, lambda: cite.samples_model.rowCount() > 0)
    cite.select_sample(CITED_SAMPLE)
    _capture(app, cite, out / "cite-sample.png")
    cite.reject()
    reference = services.submissions.detail(second).reference  # type: ignore[attr-defined]
    changes = DiffDialog(services, actor, second, reference, window)  # type: ignore[arg-type]
    changes.setGeometry(60, 30, 1180, 900)
    changes.show()
    _wait(app, lambda: changes.diff is not None)
    changes.findings.selectRow(0)
    _capture(app, changes, out / "changes.png")
    changes.close()


def _letters(app: object, services: object, actor: object, window: object, out: Path, scratch: Path) -> None:
    """The letter register (one letter revoked, one kind filtered) and a printed letter checked from a scan."""
    from desktop_app.services.demo import DEMO_PASSWORD
    from desktop_app.ui.letters.register import RegisterDialog
    from desktop_app.ui.letters.printed import PrintedLetterDialog

    letters = services.letters  # type: ignore[attr-defined]
    entries = letters.register()
    clearances = [e for e in entries if e.kind.value == "clearance"]
    if len(clearances) > 1 and not clearances[-1].revoked:
        letters.revoke(actor, clearances[-1].id, "Issued against the wrong package manifest (DEMO).",
                       password=DEMO_PASSWORD)
    register = RegisterDialog(services, actor, window)  # type: ignore[arg-type]
    register.setGeometry(60, 40, 1240, 560)
    register.show()
    _wait(app, lambda: register.export_button.isEnabled())
    register.table.selectRow(0)
    _capture(app, register, out / "letter-register.png")
    register.close()

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None or not clearances:
        print("  (pdftoppm not found or no letter: the printed-letter picture is skipped)")
        return
    from PIL import Image

    pdf = scratch / f"{clearances[0].number}.pdf"
    pdf.write_bytes(letters.pdf(clearances[0].id))
    subprocess.run([pdftoppm, "-r", "150", "-png", str(pdf), str(scratch / "printed")], check=True)
    pages = sorted(scratch.glob("printed*.png"))
    scan = scratch / "scan.png"  # a photocopy: grey noise and a 2° tilt
    page = Image.open(pages[min(1, len(pages) - 1)]).convert("L")
    page = Image.blend(page, Image.effect_noise(page.size, 40), 0.15)
    page.rotate(2, expand=True, fillcolor=255).save(scan)
    dialog = PrintedLetterDialog(services, window)  # type: ignore[arg-type]
    dialog.setGeometry(80, 60, 1100, 520)
    dialog.show()
    done: list[object] = []
    dialog.checked.connect(done.append)
    dialog.check_image(scan)
    _wait(app, lambda: bool(done), timeout=60)
    _capture(app, dialog, out / "printed-letter.png")
    dialog.close()


def _conditions(app: object, services: object, actor: object, window: object, out: Path) -> None:
    """The Conditions window on the demo's clearance: met, due, overdue, and the one a supplement answered."""
    from desktop_app.domain.conditions import ConditionStatus
    from desktop_app.ui.letters.conditions import ConditionsWindow

    view = ConditionsWindow(services, actor, window)  # type: ignore[arg-type]
    view.setGeometry(60, 30, 1180, 720)
    view.show()
    _wait(app, lambda: bool(view.rows))
    view.show_choice.setCurrentIndex(3)  # all conditions, closed ones too
    _wait(app, lambda: len(view.rows) >= 4)
    answered = next((r for r, info in enumerate(view.rows) if info.status is ConditionStatus.EVIDENCE_RECEIVED), 0)
    view.tree.setCurrentItem(view.tree.topLevelItem(answered))
    _capture(app, view, out / "conditions.png")
    view.close()


def _reports(services: object, actor: object, out: Path, scratch: Path) -> None:
    reports = services.reports  # type: ignore[attr-defined]
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("  (pdftoppm not found: report pictures skipped)")
        return
    periodic = reports.write_periodic_report(actor, reports.recent_weeks(13), scratch / "periodic.pdf")
    _first_page(pdftoppm, periodic, out / "periodic-report.png")
    # a submission with a signed clearance letter: its record shows findings, letters and events
    letters = [e for e in services.letters.register() if e.kind.value == "clearance"]  # type: ignore[attr-defined]
    if letters:
        record = reports.write_review_record(actor, letters[0].submission_id, scratch / "record.pdf")
        _first_page(pdftoppm, record, out / "review-record.png", page=2)


def _first_page(pdftoppm: str, pdf: Path, target: Path, page: int = 1) -> None:
    if ONLY and target.name not in ONLY:
        return
    stem = target.with_suffix("")
    subprocess.run([pdftoppm, "-r", "80", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf),
                    str(stem)], check=True)
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


if __name__ == "__main__":
    sys.exit(main())
