"""Two workstations on one database, side by side on one X display: watch a change travel.

    DISPLAY=:99 python scripts/two_workstations.py --db-url URL --data-dir DIR --shots OUT

Starts two application processes on the same database (each with its own data folder
under DIR, as two workstations have): the reviewer's window on the left with a
submission selected, the supervisor's on the right. After a few seconds the supervisor's
process registers a new submission and reassigns the one the reviewer has selected,
then reloads its own window as the application does after an action. The reviewer's
window is left to notice by itself (its change poll). Screenshots of the whole display
are written before the change and after it (OUT/before.png, OUT/after.png), and each
window prints what it shows.

Needs an X server (Xvfb), `xwd` and ImageMagick `convert`, and CLEARANCE_DESK_PASSWORD
for the demo users (a database filled by `clearance-desk --db-url URL demo`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

CHANGE_AT_S = 6.0


def workstation(role: str, data_dir: Path, url: str) -> int:
    from PySide6.QtCore import QTimer

    from desktop_app.domain.types import SubmissionState
    from desktop_app.services.bundle import Services
    from desktop_app.services.intake import ManualRegistration
    from desktop_app.ui.application import make_application
    from desktop_app.ui.mainwindow.window import MainWindow

    app = make_application()
    services = Services.open(data_dir, db_url=url)
    user = "reviewer" if role == "a" else "supervisor"
    actor = services.users.authenticate(user, os.environ["CLEARANCE_DESK_PASSWORD"])
    window = MainWindow(services, actor)
    window.setWindowTitle(f"{window.windowTitle()} — workstation {role.upper()} ({user})")
    window.setGeometry(0 if role == "a" else 800, 0, 795, 990)
    window.show()

    def say(what: str) -> None:
        print(f"[{role}] {time.strftime('%H:%M:%S')} {what}", flush=True)

    def report() -> None:
        current = window.current_id()
        row = window.model.row_for_id(current) if current is not None else None
        data = window.model.row_data(row) if row is not None else None
        say(f"{window.model.rowCount()} rows; selected {data.reference if data else None} "
            f"(assignee {data.assignee if data else '-'}) at row {row}")

    in_review = [r for r in (window.model.row_data(n) for n in range(window.model.rowCount()))
                 if r is not None and r.state is SubmissionState.IN_REVIEW]
    target = in_review[0]
    if role == "a":
        window.select_submission(target.id)
        report()
        window.model.reloaded.connect(lambda _ms: (say("queue reloaded after a change elsewhere"), report()))
    else:
        def change() -> None:
            other = next(u for u in services.users.list_users() if u.username == "reviewer2")
            services.intake.register_by_hand(actor, ManualRegistration(
                developer_name="Elsewhere Labs", contact_name="Compliance", contact_email="c@elsewhere.example",
                model_name="Ibis", model_version="1.0", intended_release=dt.date.today() + dt.timedelta(days=10)))
            services.workflow.reassign(actor, target.id, other.id)
            say(f"registered Ibis 1.0 and reassigned {target.reference} to {other.display_name}")
            window.reload()

        QTimer.singleShot(int(CHANGE_AT_S * 1000), change)
    QTimer.singleShot(int((CHANGE_AT_S + 8) * 1000), app.quit)
    app.exec()
    services.close()
    return 0


def shoot(path: Path) -> None:
    xwd = subprocess.run(["xwd", "-root", "-silent"], check=True, capture_output=True).stdout
    subprocess.run(["convert", "xwd:-", str(path)], input=xwd, check=True)
    print(f"screenshot {path}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="holds a/ and b/, one per workstation")
    parser.add_argument("--shots", type=Path, required=True)
    parser.add_argument("--role", choices=["a", "b"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.role:
        return workstation(options.role, options.data_dir / options.role, options.db_url)
    options.shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    procs = [subprocess.Popen([sys.executable, __file__, "--db-url", options.db_url, "--data-dir",
                               str(options.data_dir), "--shots", str(options.shots), "--role", role], env=env)
             for role in ("a", "b")]
    try:
        time.sleep(CHANGE_AT_S - 1)
        shoot(options.shots / "before.png")
        time.sleep(5)
        shoot(options.shots / "after.png")
        return max(p.wait(timeout=60) for p in procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()


if __name__ == "__main__":
    sys.exit(main())
