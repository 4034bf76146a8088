"""Composition root: arguments, logging, data folder, services, QApplication, main window.

Headless subcommands go to `cli` without importing Qt. The window path imports PySide6
only after the arguments are parsed, and paints before loading anything the first page
does not need.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from desktop_app import cli
from desktop_app.infra.logging_setup import setup_logging
from desktop_app.infra.paths import DataPaths, default_data_dir

log = logging.getLogger("clearance_desk.app")


def demo_data_dir() -> Path:
    """The folder `--demo` opens: beside the normal data folder, never inside it."""
    base = default_data_dir()
    return base.parent / f"{base.name} Demo"


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # a PyInstaller bundle re-executes itself for worker processes
        import multiprocessing

        multiprocessing.freeze_support()
    started = time.perf_counter()
    parser = cli.build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.demo and args.data_dir is None:
        args.data_dir = demo_data_dir()
    data_dir = cli.data_dir_of(args)
    if data_dir.exists() and not data_dir.is_dir():
        print(f"error: {data_dir}: is a file, not a data folder; give a folder with --data-dir", file=sys.stderr)
        return cli.EXIT_REJECTED
    # Commands that only read a data folder never create one, not even for their log file.
    reads_only = args.command in cli.READ_ONLY_COMMANDS
    setup_logging(DataPaths(data_dir).logs if data_dir.is_dir() or not reads_only else None)
    if args.command:
        return cli.run(args)
    if args.smoke_test and not args.user:
        parser.print_usage(sys.stderr)
        print("clearance-desk: --smoke-test needs --user", file=sys.stderr)
        return cli.EXIT_USAGE
    from desktop_app.ui import startup

    startup.pause_collector()  # run_gui resumes it once the window is built (see ui.startup)
    from desktop_app.ui.application import run_gui

    return run_gui(args, data_dir=data_dir, db_url=cli.db_url_of(args), started=started)
