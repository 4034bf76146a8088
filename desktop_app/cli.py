"""Headless commands over the same services as the window.

Exit status: 0 success, 1 rejected input or failed verification (one clear line on
stderr per problem, never a traceback), 2 usage error. Passwords come from
CLEARANCE_DESK_PASSWORD or an interactive prompt, never from an argument.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from desktop_app import APP_NAME, __version__
from desktop_app.domain.errors import ClearanceDeskError, InputRejected, Problem
from desktop_app.infra.paths import DB_URL_ENV, default_data_dir

log = logging.getLogger("clearance_desk.cli")

PASSWORD_ENV = "CLEARANCE_DESK_PASSWORD"
EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Wrong use of the command line (exit 2)."""


def read_password(prompt: str = "Password: ", *, confirm: bool = False) -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(f"no password: set {PASSWORD_ENV} or run interactively")
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat the password: ") != password:
        raise InputRejected("the two passwords differ")
    return password


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clearance-desk", description=f"{APP_NAME}: pre-release model security review")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--data-dir", type=Path, help="data folder (default: the platform user-data folder, "
                                                      "or CLEARANCE_DESK_DATA_DIR)")
    parser.add_argument("--db-url", help=f"database URL (default: SQLite in the data folder, or {DB_URL_ENV})")
    parser.add_argument("--demo", action="store_true", help="open the application on a ready demo data folder")
    parser.add_argument("--smoke-test", action="store_true", help="open the window, load the queue, print timings, exit")
    parser.add_argument("--user", help="user for --smoke-test (password from CLEARANCE_DESK_PASSWORD)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser("init", help="new data folder and first admin")
    init.add_argument("--admin", required=True, metavar="NAME", help="user name of the first administrator")
    init.add_argument("--full-name", default="", help="the administrator's full name")

    demo = commands.add_parser("demo", help="fill a new data folder with realistic demo data")
    demo.add_argument("--submissions", type=int, default=0, metavar="N", help="add N generated submissions")

    imp = commands.add_parser("import", help="import a submission package (folder or .zip)")
    imp.add_argument("path", type=Path)
    imp.add_argument("--as", dest="as_user", required=True, metavar="USER")

    letters_cmd = commands.add_parser("letters", help="letter register commands")
    letters_sub = letters_cmd.add_subparsers(dest="letters_command", metavar="export", required=True)
    export = letters_sub.add_parser("export", help="write every issued letter as CL-….pdf")
    export.add_argument("folder", type=Path, metavar="DIR")

    conditions_cmd = commands.add_parser("conditions", help="conditions of issued letters")
    conditions_sub = conditions_cmd.add_subparsers(dest="conditions_command", metavar="list", required=True)
    listing = conditions_sub.add_parser("list", help="every condition by due date (owner, status, days left)")
    listing.add_argument("--overdue", action="store_true", help="only unresolved conditions past their due date")
    listing.add_argument("--csv", type=Path, metavar="FILE", help="also write them as CSV, with the handling marking")

    verify = commands.add_parser("verify", help="verify a letter: signature, trust anchor, register")
    verify.add_argument("pdf", type=Path, metavar="PDF", nargs="?")
    verify.add_argument("--scan", type=Path, metavar="IMAGE",
                        help="verify a printed letter from a PNG or JPEG of it: its QR code's seal, then the register")
    verify.add_argument("--trust", type=Path, action="append", default=[], metavar="PEM",
                        help="trust only this root certificate, not the data folder's anchors (may be repeated); "
                             "with --scan, the signers' certificates in it too")

    records_cmd = commands.add_parser("records", help="case records that outlive the workstation")
    records_sub = records_cmd.add_subparsers(dest="records_command", metavar="export|verify", required=True)
    rec_export = records_sub.add_parser("export", help="one folder per case: review record, letters, manifests, "
                                                       "audit slice (SUBMISSION_REF DIR, or --closed-before DATE DIR)")
    rec_export.add_argument("where", nargs="+", metavar="[SUBMISSION_REF] DIR")
    rec_export.add_argument("--closed-before", type=_iso_date, metavar="YYYY-MM-DD",
                            help="every closed case decided before this date")
    rec_export.add_argument("--as", dest="as_user", required=True, metavar="USER",
                            help="a supervisor or administrator (password as for every command)")
    rec_verify = records_sub.add_parser("verify", help="check an exported case folder (or a folder of them) "
                                                       "without the database")
    rec_verify.add_argument("folder", type=Path, metavar="DIR")

    audit_cmd = commands.add_parser("audit", help="audit trail commands")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", metavar="verify", required=True)
    audit_verify = audit_sub.add_parser("verify", help="recompute the audit chain and check it against its anchors "
                                                       "and the letter register")
    audit_verify.add_argument("--anchor", type=Path, action="append", default=[], metavar="FILE",
                              help="also check a head noted elsewhere: lines 'SEQUENCE HASH', a letter's "
                                   "printed head, or a backup archive (may be repeated)")

    diff_cmd = commands.add_parser("diff", help="what changed in a resubmission (or since a supplement)")
    diff_cmd.add_argument("submission", metavar="SUBMISSION_REF", help="e.g. CD-2026-0012")
    diff_cmd.add_argument("against", nargs="?", metavar="AGAINST_REF",
                          help="the submission to compare with (default: the one it resubmits)")
    backup_cmd = commands.add_parser("backup", help="write one backup archive: database snapshot, blobs, digests")
    backup_cmd.add_argument("file", type=Path, metavar="FILE")
    backup_cmd.add_argument("--as", dest="as_user", required=True, metavar="USER", help="an administrator")
    restore_cmd = commands.add_parser("restore", help="verify a backup archive, then restore it into the data folder "
                                                      "(the replaced database is kept in backups/)")
    restore_cmd.add_argument("file", type=Path, metavar="FILE")
    restore_cmd.add_argument("--force", action="store_true",
                             help="restore a backup older than the data folder (needs --reason; audited)")
    restore_cmd.add_argument("--reason", default="", help="why a forced restore is needed (recorded in the audit trail)")
    restore_cmd.add_argument("--as", dest="as_user", required=True, metavar="USER",
                             help="an administrator of the data folder (of the backup, if the folder is empty)")
    return parser


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def data_dir_of(args: argparse.Namespace) -> Path:
    return args.data_dir or default_data_dir()


def db_url_of(args: argparse.Namespace) -> str | None:
    return args.db_url or os.environ.get(DB_URL_ENV) or None


def _open(args: argparse.Namespace):  # noqa: ANN202 - ServiceContext, imported lazily
    from desktop_app.services.context import open_data_folder

    return open_data_folder(data_dir_of(args), db_url=db_url_of(args))


def cmd_init(args: argparse.Namespace) -> int:
    from desktop_app.services.users import UserService

    ctx = _open(args)
    try:
        users = UserService(ctx)
        password = read_password("Password for the new administrator: ", confirm=True)
        user = users.create_first_admin(args.admin, args.full_name or args.admin, password)
        print(f"created administrator {user.username} in {ctx.paths.root}")
        return EXIT_OK
    finally:
        ctx.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from desktop_app.services.demo import DemoBuilder

    ctx = _open(args)
    try:
        summary = DemoBuilder(ctx).build(extra_submissions=args.submissions, progress=_print_progress)
        print(summary)
        return EXIT_OK
    finally:
        ctx.close()


def _print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sign_in(ctx, username: str):  # noqa: ANN001, ANN202
    """Sign in for one command; a temporary password is refused, as the window would ask to change it first."""
    from desktop_app.domain.errors import PermissionDenied
    from desktop_app.services.users import UserService

    users = UserService(ctx)
    actor = users.authenticate(username, read_password(f"Password for {username}: "))
    if users.must_change_password(actor):
        raise PermissionDenied(f"{username} has a temporary password that must be changed: "
                               f"change your password in the application first")
    return actor


def cmd_import(args: argparse.Namespace) -> int:
    from desktop_app.services.intake import IntakeService

    ctx = _open(args)
    try:
        actor = _sign_in(ctx, args.as_user)
        result = IntakeService(ctx).import_package(actor, args.path)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(result.reference)
        return EXIT_OK
    finally:
        ctx.close()


def cmd_audit(args: argparse.Namespace) -> int:
    from desktop_app.services.audit_verify import verify_trail

    ctx = _open(args)
    try:
        report = verify_trail(ctx, args.anchor)
    finally:
        ctx.close()
    if report.ok:
        print(f"audit chain intact: {report.events} events, head {report.head_seq} {report.head_hash}")
        print(f"anchors agree: {report.anchors_checked} noted heads, {report.letters_checked} letters in the register")
        return EXIT_OK
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    return EXIT_REJECTED


LETTER_SIZE_LIMIT = 64 * 1024 * 1024
TRUST_FILE_LIMIT = 1024 * 1024


def _open_register(args: argparse.Namespace, needed: str = "the letter register is needed"):  # noqa: ANN202
    """The data folder whose letter register (or records) is consulted; never created as a side effect."""
    from desktop_app.infra.paths import DataPaths

    folder = data_dir_of(args)
    if db_url_of(args) is None and not DataPaths(folder).database.is_file():
        raise InputRejected(f"{folder}: no Clearance Desk data folder here; {needed} "
                            f"(use --data-dir)")
    return _open(args)


def cmd_letters(args: argparse.Namespace) -> int:
    from desktop_app.services.register import RegisterService

    ctx = _open_register(args)
    try:
        written = RegisterService(ctx).export(args.folder)
        for path in written:
            print(path)
        print(f"{len(written)} letter{'s' if len(written) != 1 else ''} in {args.folder}; each one's status and "
              f"SHA-256 in {args.folder / 'index.csv'}", file=sys.stderr)
        return EXIT_OK
    finally:
        ctx.close()


def cmd_conditions(args: argparse.Namespace) -> int:
    """List the conditions of issued letters; `--csv` writes them too (never over an existing file)."""
    from desktop_app.services.conditions import ConditionsService, conditions_csv, text_line
    from desktop_app.services.settings import SettingsService

    ctx = _open_register(args)
    try:
        rows = ConditionsService(ctx).list(overdue=args.overdue)
        marking = str(SettingsService(ctx).get("handling_marking"))
    finally:
        ctx.close()
    if args.csv is not None:
        try:
            with open(args.csv, "x", encoding="utf-8", newline="") as out:
                out.write(conditions_csv(rows, marking))
        except FileExistsError:
            raise InputRejected(f"{args.csv}: already exists; nothing was overwritten") from None
    print(marking)
    for info in rows:
        print(text_line(info))
    what = "overdue condition" if args.overdue else "condition"
    print(f"{len(rows)} {what}{'s' if len(rows) != 1 else ''}" + (f"; CSV in {args.csv}" if args.csv else ""),
          file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Print every check; exit 1 naming each failing check on stderr."""
    from desktop_app.services.letters import LetterService

    if (args.pdf is None) == (args.scan is None):
        raise UsageError("verify needs a PDF or --scan IMAGE (one of them)")
    if args.scan is not None:
        return cmd_verify_scan(args)
    path: Path = args.pdf
    data = read_regular_file(path, LETTER_SIZE_LIMIT, "a letter")
    _check_trust_files(args.trust)
    ctx = _open_register(args)
    try:
        results = LetterService(ctx).verify(data, list(args.trust))
    finally:
        ctx.close()
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'}  {result.name}: {result.detail}")
    failed = [result for result in results if not result.ok]
    number = next((r.extra["number"] for r in results if "number" in r.extra), None) or path.name
    if not failed:
        print(f"{path}: letter {number} verifies")
        return EXIT_OK
    reached = [result for result in failed if not result.detail.startswith("not checked")] or failed
    for result in reached:
        print(f"error: {path}: {result.name}: {result.detail}", file=sys.stderr)
    return EXIT_REJECTED


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """At most `limit` bytes of a regular file; anything else (a FIFO, /dev/zero, a folder) is refused unread."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except OSError as error:
        raise InputRejected(f"{path}: cannot read: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputRejected(f"{path}: not a regular file (a device, pipe or folder); not {what}")
        try:
            data = handle.read(limit + 1)
        except OSError as error:
            raise InputRejected(f"{path}: cannot read: {error.strerror}") from None
    if len(data) > limit:
        raise InputRejected(f"{path}: larger than {limit // (1024 * 1024)} MiB; not {what}")
    return data


def _check_trust_files(paths: list[Path]) -> None:
    """Each --trust file read and parsed first, so a bad one is named."""
    from desktop_app.letters.trust import load_certificates

    for path in paths:
        data = read_regular_file(path, TRUST_FILE_LIMIT, "a certificate")
        try:
            load_certificates(data)
        except InputRejected as error:
            raise InputRejected([Problem(p.message, file=str(path), field="--trust") for p in error.problems]) \
                from None


def cmd_verify_scan(args: argparse.Namespace) -> int:
    """The printed fields, the register's record if there is one, then the one-line answer."""
    from desktop_app.infra.paths import DataPaths
    from desktop_app.services.letter_scan import check_printed_letter

    folder = data_dir_of(args)
    has_register = db_url_of(args) is not None or DataPaths(folder).database.is_file()
    ctx = _open(args) if has_register else None
    try:
        report = check_printed_letter(args.scan, ctx=ctx, extra_trust=list(args.trust))
    finally:
        if ctx is not None:
            ctx.close()
    if report.fields is not None:
        print("printed on the letter (QR code):")
        for label, value in report.fields.lines():
            print(f"  {label + ':':<28} {value}")
    if report.record is not None:
        print("in the register:")
        for label, value in report.record.lines():
            print(f"  {label + ':':<28} {value}")
    print(report.line, file=sys.stdout if report.ok else sys.stderr)
    return EXIT_OK if report.ok else EXIT_REJECTED


def cmd_records(args: argparse.Namespace) -> int:
    if args.records_command == "verify":
        return _records_verify(args.folder)
    from desktop_app.services.records import RecordService

    if args.closed_before is not None:
        if len(args.where) != 1:
            raise UsageError("records export --closed-before DATE takes one folder: DIR")
        reference, folder = None, Path(args.where[0])
    elif len(args.where) == 2:
        reference, folder = args.where[0], Path(args.where[1])
    else:
        raise UsageError("records export needs SUBMISSION_REF DIR, or --closed-before DATE DIR")
    ctx = _open_register(args)
    try:
        actor = _sign_in(ctx, args.as_user)
        records = RecordService(ctx)
        ids = records.case_ids(reference=reference, closed_before=args.closed_before)
        exported = records.export(actor, ids, folder, progress=_print_progress)
    finally:
        ctx.close()
    for case in exported:
        print(f"{case.folder}  ({case.files} files, manifest SHA-256 {case.manifest_sha256})")
    print(f"{len(exported)} case record{'s' if len(exported) != 1 else ''} in {folder}", file=sys.stderr)
    return EXIT_OK


def _records_verify(folder: Path) -> int:
    """Without the database: one line per case, one line on stderr per problem naming the file."""
    from desktop_app.services.records import case_folders, verify_case

    failed = 0
    for case in case_folders(folder):
        problems = verify_case(case)
        if problems:
            failed += 1
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
        else:
            print(f"{case}: intact")
    return EXIT_REJECTED if failed else EXIT_OK


def _stage_printer() -> Callable[[str, int, int], None]:
    """Progress for long commands: each stage once on stderr, not every chunk."""
    seen: set[str] = set()

    def show(message: str, _done: int, _total: int) -> None:
        stage = message.split(" (", 1)[0]
        if stage not in seen:
            seen.add(stage)
            print(stage, file=sys.stderr, flush=True)

    return show


def cmd_diff(args: argparse.Namespace) -> int:
    from desktop_app.services.diff import DiffService

    ctx = _open_register(args, "the submissions are needed")
    try:
        print(DiffService(ctx).compare_references(args.submission, args.against).text())
        return EXIT_OK
    finally:
        ctx.close()


def _not_postgres(args: argparse.Namespace) -> None:
    from desktop_app.services.backup import PostgresNotBackedUp, _hide_password

    url = db_url_of(args)
    if url and not url.startswith("sqlite"):
        raise PostgresNotBackedUp(_hide_password(url))


def cmd_backup(args: argparse.Namespace) -> int:
    """An administrator, signed in, writes the archive; the backup is an audited event."""
    from desktop_app.infra.paths import DataPaths
    from desktop_app.services.backup import backup_as

    _not_postgres(args)
    database = DataPaths(data_dir_of(args)).database
    if db_url_of(args) is None and not database.is_file():
        raise InputRejected(f"{database}: no database to back up")
    ctx = _open(args)
    try:
        actor = _sign_in(ctx, args.as_user)
        result = backup_as(ctx, actor, args.file, progress=_stage_printer())
    finally:
        ctx.close()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(result.summary())
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    """An administrator of the data folder (or, into an empty folder, of the backup) restores it."""
    from desktop_app.infra.paths import DataPaths
    from desktop_app.services.backup import (
        check_archive_admin,
        inspect_archive,
        prepare_restore,
        require_admin,
        restore,
    )

    if args.force and not args.reason.strip():
        raise UsageError("--force needs --reason \"why\": a forced restore is recorded in the audit trail")
    if args.reason.strip() and not args.force:
        raise UsageError("--reason goes with --force")
    _not_postgres(args)
    folder = data_dir_of(args)
    inspect_archive(args.file)  # not an archive at all: refused before anyone signs in (which is recorded)
    if DataPaths(folder).database.is_file():
        ctx = _open(args)
        try:
            actor = _sign_in(ctx, args.as_user)
            require_admin(ctx, actor, "restore a backup")
        finally:
            ctx.close()
        result = restore(args.file, folder, db_url=db_url_of(args), actor=actor.username, progress=_stage_printer(),
                         force=args.force, reason=args.reason)
    else:
        password = read_password(f"Password for {args.as_user} (an administrator in the backup): ")
        with prepare_restore(args.file, folder, db_url=db_url_of(args), actor=args.as_user,
                             progress=_stage_printer(), force=args.force, reason=args.reason) as prepared:
            check_archive_admin(prepared, args.as_user, password)
            result = prepared.commit()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(result.summary())
    return EXIT_OK


READ_ONLY_COMMANDS = frozenset({"verify", "audit", "backup", "letters", "diff"})
"""Commands that read an existing data folder: they never create one, not even for their log."""

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "demo": cmd_demo,
    "import": cmd_import,
    "audit": cmd_audit,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "letters": cmd_letters,
    "conditions": cmd_conditions,
    "verify": cmd_verify,
    "diff": cmd_diff,
    "records": cmd_records,
}


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; expected failures become one line each on stderr."""
    try:
        return COMMANDS[args.command](args)
    except InputRejected as error:
        subject = f"{error.subject}: " if error.subject else ""
        for problem in error.problems:
            print(f"error: {subject}{problem}", file=sys.stderr)
        return EXIT_REJECTED
    except ClearanceDeskError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except UsageError as error:
        print(f"clearance-desk: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; nothing more was written", file=sys.stderr)
        return EXIT_REJECTED
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_REJECTED
    except Exception as error:
        message = database_failure(error, args)
        if message is None:
            raise
        log.warning("%s", message, exc_info=True)
        print(f"error: {message}", file=sys.stderr)
        return EXIT_REJECTED


def database_failure(error: BaseException, args: argparse.Namespace) -> str | None:
    """One line for a database that cannot be used (damaged, locked, half-written, a table missing,
    an unreachable or unknown --db-url); None for any other error."""
    import sqlite3

    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = db_url_of(args)
    if url:
        from desktop_app.services.backup import _hide_password

        where = _hide_password(url)
    else:
        from desktop_app.infra.paths import DataPaths

        where = str(DataPaths(data_dir_of(args)).database)
    if isinstance(error, ArgumentError):
        return f"{where}: not a database URL this application can use ({_first_line(error)})"
    if isinstance(error, ImportError) and url:
        return f"{where}: the database driver for this URL is not installed ({error.name or error})"
    if not isinstance(error, (SQLAlchemyError, sqlite3.Error)):
        return None
    detail = _first_line(getattr(error, "orig", None) or error)
    return (f"{where}: the database cannot be used ({detail}); it may be damaged, locked by another program, "
            f"unreachable, or not a {APP_NAME} database")


def _first_line(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
