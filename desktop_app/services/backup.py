"""Backups that restore: one zip archive of the database snapshot, its blobs and a manifest.

`backup()` takes the SQLite database through the online backup API in one step, which
reads one consistent snapshot even while other connections keep writing (WAL readers
do not block writers), then archives exactly the blobs that snapshot refers to, and
last a manifest of SHA-256 digests. The archive is written to a hidden temporary file
beside the target and renamed into place, so a half-written backup never has the
final name.

`restore()` checks everything before it replaces anything: the zip's structure and
CRCs, every member's SHA-256 against the manifest, `PRAGMA integrity_check`, the
schema revision, the audit chain (no shorter than the manifest says) and the blob
references of the archived database. It trusts nothing of the archive's schema: one
that differs from what the migrations make at its revision (an extra trigger or view,
a missing append-only trigger) is refused, and the database is rebuilt from the
migrations with only the known tables' rows copied in. A backup older than what the
data folder has seen (its audit head, its newest letter) is refused unless forced with
a reason, which is audited; counters never go back, so no number is issued twice.
Only then does it migrate the restored copy (a backup from an older version), move
the blobs into the store, keep the replaced database aside in `backups/`, and rename
the restored database into place. A refused archive leaves the data folder as it was.

PostgreSQL databases are not backed up here: that is the DBA's `pg_dump` job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from desktop_app import APP_ID, APP_NAME, __version__
from desktop_app.domain.errors import ClearanceDeskError, InputRejected, OperationCancelled, PermissionDenied, Problem
from desktop_app.domain.units import human_size
from desktop_app.infra.paths import DataPaths
from desktop_app.services import audit
from desktop_app.services.context import SYSTEM_ACTOR, Actor, ServiceContext
from desktop_app.storage.blobstore import is_sha256_hex

log = logging.getLogger("clearance_desk.backup")

FORMAT = "clearance-desk-backup"
FORMAT_VERSION = 1
MANIFEST_MEMBER = "manifest.json"
DATABASE_MEMBER = "database.sqlite3"
BLOB_PREFIX = "blobs/"
AUTO_PREFIX = "clearance-desk-auto-"
ARCHIVE_SUFFIX = ".zip"
CHUNK = 1024 * 1024
MANIFEST_LIMIT = 256 * 1024 * 1024
STORE_ABOVE = 64 * 1024 * 1024
"""Blobs larger than this (weight shards) are stored uncompressed: deflating them costs time for little gain."""

BLOB_COLUMNS: tuple[tuple[str, str], ...] = (
    ("artifacts", "sha256"),
    ("evidence", "blob_sha256"),
    ("letters", "pdf_sha256"),
    ("packages", "manifest_blob"),
    ("condition_evidence", "blob_sha256"),
)
"""Every column that names a blob. Settings whose key ends in `_blob` name one too."""

Progress = Callable[[str, int, int], None]
"""Called with what is being done, bytes done so far, and bytes in all."""
CancelCheck = Callable[[], bool]


class RestoreGoesBack(InputRejected):
    """The backup is older than the data folder: restoring it needs `force` and a reason, which is audited."""


class PostgresNotBackedUp(ClearanceDeskError):
    """The database is PostgreSQL: backing it up is the DBA's pg_dump job."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the database is PostgreSQL ({url}): back it up with pg_dump, which is the database "
            f"administrator's job; {APP_NAME} backs up and restores SQLite data folders only")


class DatabaseInUse(ClearanceDeskError):
    """Another connection has the database open, so it cannot be replaced now."""


# -- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path
    created_at: str
    schema_revision: str | None
    database_bytes: int
    blobs: int
    blob_bytes: int
    archive_bytes: int
    audit_events: int
    seconds: float
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        return (f"backup written: {self.path} ({human_size(self.archive_bytes)}; "
                f"database {human_size(self.database_bytes)}, {self.blobs} blobs {human_size(self.blob_bytes)}, "
                f"{self.audit_events} audit events) "
                f"in {self.seconds:.2f} s")


@dataclass(frozen=True)
class ArchiveInfo:
    """What an archive's manifest says, for the confirmation before a restore."""

    path: Path
    created_at: str
    app_version: str
    schema_revision: str | None
    database_bytes: int
    blobs: int
    blob_bytes: int
    audit_events: int
    manifest: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def summary(self) -> str:
        return (f"backup of {self.created_at} made by {APP_NAME} {self.app_version} (schema {self.schema_revision}): "
                f"database {human_size(self.database_bytes)}, {self.blobs} blobs {human_size(self.blob_bytes)}, "
                f"{self.audit_events} audit events")


@dataclass(frozen=True)
class RestoreResult:
    data_dir: Path
    info: ArchiveInfo
    kept_aside: Path | None
    migrated_from: str | None
    blobs_added: int
    audit_events: int
    seconds: float
    warnings: tuple[str, ...] = ()
    overridden: tuple[str, ...] = ()
    """What a forced restore went past (the backup was older than the folder), as recorded in the audit trail."""

    def summary(self) -> str:
        lines = [f"restored {self.info.path} ({self.info.created_at}, {APP_NAME} {self.info.app_version}) "
                 f"into {self.data_dir}: {self.audit_events} audit events verified, {self.blobs_added} blobs added "
                 f"in {self.seconds:.2f} s"]
        if self.overridden:
            lines.append("forced: " + "; ".join(self.overridden) + " (recorded in the audit trail; the reference "
                         "and letter counters were kept, so no number is issued twice)")
        if self.migrated_from:
            lines.append(f"the backup's schema {self.migrated_from} was migrated to the current one")
        if self.kept_aside is not None:
            lines.append(f"the replaced database is kept as {self.kept_aside}")
        return "\n".join(lines)


# -- helpers -----------------------------------------------------------------------------


def _utc_stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check(cancelled: CancelCheck | None, what: str) -> None:
    if cancelled is not None and cancelled():
        raise OperationCancelled(f"{what} cancelled by the user; nothing was changed")


def _quiet(_message: str, _done: int, _total: int) -> None:
    pass


@dataclass(frozen=True)
class _Source:
    database: Path
    blobs: Path
    backups: Path
    now: Callable[[], dt.datetime]


def _source_of(source: ServiceContext | DataPaths | Path, db_url: str | None) -> _Source:
    if isinstance(source, ServiceContext):
        url = source.engine.url
        if url.get_backend_name() != "sqlite":
            raise PostgresNotBackedUp(url.render_as_string(hide_password=True))
        database = Path(url.database or source.paths.database)
        return _Source(database, source.blobs.root, source.paths.backups, source.now)
    if db_url and not db_url.startswith("sqlite"):
        raise PostgresNotBackedUp(_hide_password(db_url))
    paths = source if isinstance(source, DataPaths) else DataPaths(Path(source))
    database = Path(db_url.split("///", 1)[1]) if db_url and "///" in db_url else paths.database
    return _Source(database, paths.blobs, paths.backups, lambda: dt.datetime.now(dt.UTC))


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for a message
        return url.split("@")[-1]


def referenced_blobs(conn: sqlite3.Connection) -> set[str]:
    """The blob digests a database refers to (tables and columns that exist in its schema)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found: set[str] = set()
    for table, column in BLOB_COLUMNS:
        if table not in tables:
            continue
        columns = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
        if column in columns:
            found.update(row[0] for row in conn.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'))
    if "settings" in tables:
        for _key, value in conn.execute("SELECT key, value FROM settings WHERE key LIKE '%\\_blob' ESCAPE '\\'"):
            with contextlib.suppress(TypeError, ValueError):
                found.add(json.loads(value))
    return {digest for digest in found if isinstance(digest, str) and is_sha256_hex(digest)}


def _schema_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _audit_report(conn: sqlite3.Connection) -> audit.ChainReport:
    """Recompute the chain with plain SQL, independent of the schema revision's other tables."""
    cursor = conn.execute("SELECT seq, occurred_at, actor, action, entity_type, entity_id, before, after, prev_hash, "
                          "hash FROM audit_events ORDER BY seq")
    return audit.verify_chain(audit.Event(*row) for row in cursor)


def _snapshot(database: Path, target: Path) -> None:
    """One-step online backup: a single read transaction, so one consistent snapshot."""
    source = sqlite3.connect(database, timeout=30)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest, pages=-1)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    finally:
        source.close()


# -- backup ------------------------------------------------------------------------------


def backup(source: ServiceContext | DataPaths | Path, file: Path, *, progress: Progress | None = None,
           cancelled: CancelCheck | None = None, db_url: str | None = None) -> BackupResult:
    """Write one archive of the data folder's database snapshot and the blobs it refers to.

    Safe while the application is writing. Raises OperationCancelled (nothing written),
    PostgresNotBackedUp, or InputRejected when there is no database to back up.
    """
    started = time.perf_counter()
    report = progress or _quiet
    src = _source_of(source, db_url)
    file = Path(file)
    if not src.database.is_file():
        raise InputRejected(Problem("no database to back up", file=str(src.database)))
    if file.is_dir():
        raise InputRejected(Problem("is a folder; give the name of the backup file to write", file=str(file)))
    file.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    partial = file.with_name(f".{file.name}.{token}.partial")
    src.backups.mkdir(parents=True, exist_ok=True)
    snapshot = src.backups / f".snapshot-{token}.sqlite3"
    warnings: list[str] = []
    try:
        report("Taking a snapshot of the database…", 0, 0)
        _snapshot(src.database, snapshot)
        _check(cancelled, "backup")
        conn = sqlite3.connect(snapshot)
        try:
            revision = _schema_revision(conn)
            digests = sorted(referenced_blobs(conn))
            chain = _audit_report(conn)
        finally:
            conn.close()
        if not chain.ok:
            warnings.append(f"the audit chain in this database is broken ({chain.problem}); "
                            f"this backup will be refused by restore")
        present: list[tuple[str, int]] = []
        missing: list[str] = []
        for digest in digests:
            blob = src.blobs / digest[:2] / digest
            if blob.is_file():
                present.append((digest, blob.stat().st_size))
            else:
                missing.append(digest)
        if missing:
            warnings.append(f"{len(missing)} blob(s) the database refers to are missing from the blob store "
                            f"(first: {missing[0]}); the backup records them as missing")
        db_bytes = snapshot.stat().st_size
        total = db_bytes + sum(size for _d, size in present)
        done = 0
        damaged: list[str] = []
        created = src.now().astimezone(dt.UTC)

        def advance(n: int) -> None:
            nonlocal done
            done += n

        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            report("Writing the database…", done, total)
            db_digest = _add_member(archive, DATABASE_MEMBER, snapshot, zipfile.ZIP_DEFLATED, created,
                                    advance, cancelled, lambda: report("Writing the database…", done, total))
            blob_entries = []
            for index, (digest, size) in enumerate(present, 1):
                label = f"Writing the blobs… ({index:,} of {len(present):,})"
                method = zipfile.ZIP_STORED if size > STORE_ABOVE else zipfile.ZIP_DEFLATED
                written = _add_member(archive, f"{BLOB_PREFIX}{digest[:2]}/{digest}",
                                      src.blobs / digest[:2] / digest, method, created, advance, cancelled,
                                      lambda label=label: report(label, done, total))
                if written != digest:
                    damaged.append(digest)
                    continue
                blob_entries.append({"sha256": digest, "bytes": size})
            if damaged:
                # A blob whose content no longer matches its name cannot be restored as itself.
                raise InputRejected([Problem("its content no longer matches its digest (the blob store is damaged); "
                                             "run a check of the data folder and restore the blob before backing up",
                                             file=str(src.blobs / d[:2] / d)) for d in damaged])
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "app": APP_NAME,
                "app_id": APP_ID,
                "app_version": __version__,
                "schema_revision": revision,
                "created_at": created.isoformat(timespec="seconds"),
                "database": {"member": DATABASE_MEMBER, "sha256": db_digest, "bytes": db_bytes},
                "blobs": blob_entries,
                "missing_blobs": missing,
                "audit": {"events": chain.events, "head": chain.head, "intact": chain.ok},
            }
            info = zipfile.ZipInfo(MANIFEST_MEMBER, date_time=_zip_time(created))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, json.dumps(manifest, indent=1, sort_keys=True))
        _check(cancelled, "backup")
        with partial.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, file)
        _fsync_dir(file.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        snapshot.unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):
            snapshot.with_name(snapshot.name + suffix).unlink(missing_ok=True)
    result = BackupResult(path=file, created_at=manifest["created_at"], schema_revision=revision,
                          database_bytes=db_bytes, blobs=len(blob_entries),
                          blob_bytes=sum(e["bytes"] for e in blob_entries), archive_bytes=file.stat().st_size,
                          audit_events=chain.events, seconds=time.perf_counter() - started,
                          warnings=tuple(warnings))
    report("Backup written.", total, total)
    log.info("backup written to %s: %d blobs, %d audit events, %.1f s", file, result.blobs, result.audit_events,
             result.seconds)
    for warning in warnings:
        log.warning("backup %s: %s", file, warning)
    return result


def _zip_time(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    t = moment.astimezone(dt.UTC)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


def _add_member(archive: zipfile.ZipFile, name: str, path: Path, method: int, moment: dt.datetime,
                advance: Callable[[int], None], cancelled: CancelCheck | None,
                tick: Callable[[], None]) -> str:
    """Copy one file into the archive, hashing what is actually written; returns its SHA-256."""
    info = zipfile.ZipInfo(name, date_time=_zip_time(moment))
    info.compress_type = method
    if method == zipfile.ZIP_DEFLATED:
        # `_compresslevel` is what ZipFile.open(..., "w") reads on 3.12 (3.13 aliases it as compress_level).
        info._compresslevel = 1 if name.startswith(BLOB_PREFIX) else 6  # type: ignore[attr-defined]
    info.file_size = path.stat().st_size
    digest = hashlib.sha256()
    last_tick = time.monotonic()
    with path.open("rb") as source, archive.open(info, "w", force_zip64=info.file_size > 1 << 30) as out:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            _check(cancelled, "backup")
            digest.update(chunk)
            out.write(chunk)
            advance(len(chunk))
            if time.monotonic() - last_tick > 0.1:
                tick()
                last_tick = time.monotonic()
    tick()
    return digest.hexdigest()


# -- automatic backups -------------------------------------------------------------------


def automatic_backups(backups: Path) -> list[Path]:
    """The automatic backups in a folder, oldest first (their names sort by time)."""
    if not backups.is_dir():
        return []
    return sorted(p for p in backups.iterdir()
                  if p.is_file() and p.name.startswith(AUTO_PREFIX) and p.name.endswith(ARCHIVE_SUFFIX))


def _auto_time(path: Path) -> dt.datetime | None:
    stamp = path.name.removeprefix(AUTO_PREFIX).removesuffix(ARCHIVE_SUFFIX)
    try:
        return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def automatic_backup_due(backups: Path, now: dt.datetime) -> bool:
    """True unless an automatic backup was already made on this local calendar day."""
    today = now.astimezone().date()
    for path in automatic_backups(backups):
        made = _auto_time(path)
        if made is not None and made.astimezone().date() == today:
            return False
    return True


def prune_automatic_backups(backups: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` automatic backups; other files are never touched."""
    autos = automatic_backups(backups)
    doomed = autos[:-keep] if keep > 0 else autos
    for path in doomed:
        path.unlink(missing_ok=True)
        log.info("removed old automatic backup %s", path)
    return doomed


def automatic_backup(ctx: ServiceContext, *, keep: int | None = None, progress: Progress | None = None,
                     cancelled: CancelCheck | None = None, force: bool = False) -> BackupResult | None:
    """The backup on exit: at most once a day into <data>/backups, keeping the newest `keep`.

    Returns None when one was already made today or the database is PostgreSQL.
    """
    if ctx.engine.url.get_backend_name() != "sqlite":
        return None
    now = ctx.now()
    if not force and not automatic_backup_due(ctx.paths.backups, now):
        return None
    if keep is None:
        from desktop_app.services.settings import SettingsService

        keep = int(SettingsService(ctx).get("backup_keep"))
    target = ctx.paths.backups / f"{AUTO_PREFIX}{_utc_stamp(now)}{ARCHIVE_SUFFIX}"
    result = backup(ctx, target, progress=progress, cancelled=cancelled)
    prune_automatic_backups(ctx.paths.backups, keep)
    return result


def suggested_name(now: dt.datetime | None = None) -> str:
    moment = (now or dt.datetime.now(dt.UTC)).astimezone()
    return f"clearance-desk-backup-{moment:%Y-%m-%d-%H%M}{ARCHIVE_SUFFIX}"


# -- reading an archive ------------------------------------------------------------------


def _refuse(file: Path, message: str, member: str | None = None) -> InputRejected:
    return InputRejected(Problem(message, file=str(file), field=member))


@contextlib.contextmanager
def _open_archive(file: Path) -> Iterator[zipfile.ZipFile]:
    if not file.is_file():
        raise _refuse(file, "no such backup file")
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as error:
        raise _refuse(file, f"not a {APP_NAME} backup, or a damaged one: it is not a complete zip archive "
                            f"(it may be truncated): {error}") from None
    with archive:
        yield archive


def _read_manifest(file: Path, archive: zipfile.ZipFile) -> ArchiveInfo:
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise _refuse(file, "the archive lists a member twice; it was not written by Clearance Desk")
    if MANIFEST_MEMBER not in names:
        raise _refuse(file, f"not a {APP_NAME} backup: it has no {MANIFEST_MEMBER}")
    info = archive.getinfo(MANIFEST_MEMBER)
    if info.file_size > MANIFEST_LIMIT:
        raise _refuse(file, "the manifest is implausibly large", MANIFEST_MEMBER)
    try:
        manifest = json.loads(archive.read(MANIFEST_MEMBER))
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise _refuse(file, f"the manifest is damaged: {error}", MANIFEST_MEMBER) from None
    except ValueError:
        raise _refuse(file, "the manifest is not valid JSON", MANIFEST_MEMBER) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(file, f"not a {APP_NAME} backup: the manifest does not say format {FORMAT!r}", MANIFEST_MEMBER)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _refuse(file, "the manifest has no valid format_version", MANIFEST_MEMBER)
    if version > FORMAT_VERSION:
        raise _refuse(file, f"made by a newer {APP_NAME} ({manifest.get('app_version', '?')}, backup format "
                            f"{version}); install that version to restore it", MANIFEST_MEMBER)
    database = manifest.get("database")
    blobs = manifest.get("blobs")
    missing = manifest.get("missing_blobs", [])
    if (not isinstance(database, dict) or database.get("member") != DATABASE_MEMBER
            or not is_sha256_hex(str(database.get("sha256"))) or not isinstance(database.get("bytes"), int)):
        raise _refuse(file, "the manifest's database entry is missing or malformed", MANIFEST_MEMBER)
    if not isinstance(blobs, list) or not isinstance(missing, list):
        raise _refuse(file, "the manifest's blob list is missing or malformed", MANIFEST_MEMBER)
    expected = {MANIFEST_MEMBER, DATABASE_MEMBER}
    for entry in blobs:
        if (not isinstance(entry, dict) or not is_sha256_hex(str(entry.get("sha256")))
                or not isinstance(entry.get("bytes"), int)):
            raise _refuse(file, f"malformed blob entry {entry!r}", MANIFEST_MEMBER)
        expected.add(_blob_member(entry["sha256"]))
    absent = sorted(expected - set(names))
    if absent:
        raise _refuse(file, "listed in the manifest but missing from the archive", absent[0])
    unexpected = sorted(set(names) - expected)
    if unexpected:
        raise _refuse(file, "not listed in the manifest (the archive was altered)", unexpected[0])
    for entry in [database, *blobs]:
        name = DATABASE_MEMBER if entry is database else _blob_member(entry["sha256"])
        if archive.getinfo(name).file_size != entry["bytes"]:
            raise _refuse(file, f"its size ({archive.getinfo(name).file_size} bytes) differs from the "
                                f"manifest's ({entry['bytes']} bytes)", name)
    audit_info = manifest.get("audit") if isinstance(manifest.get("audit"), dict) else {}
    return ArchiveInfo(path=file, created_at=str(manifest.get("created_at", "?")),
                       app_version=str(manifest.get("app_version", "?")),
                       schema_revision=manifest.get("schema_revision"), database_bytes=database["bytes"],
                       blobs=len(blobs), blob_bytes=sum(e["bytes"] for e in blobs),
                       audit_events=int(audit_info.get("events", 0) or 0), manifest=manifest)


def _blob_member(digest: str) -> str:
    return f"{BLOB_PREFIX}{digest[:2]}/{digest}"


def inspect_archive(file: Path) -> ArchiveInfo:
    """Read and check an archive's manifest and structure (quick: no member is hashed)."""
    file = Path(file)
    with _open_archive(file) as archive:
        return _read_manifest(file, archive)


def _extract_member(file: Path, archive: zipfile.ZipFile, name: str, expected: str, target: IO[bytes] | None,
                    advance: Callable[[int], None], cancelled: CancelCheck | None) -> None:
    """Stream one member, hashing it (and writing it when `target` is given); refuse on any mismatch."""
    digest = hashlib.sha256()
    try:
        with archive.open(name) as member:
            for chunk in iter(lambda: member.read(CHUNK), b""):
                _check(cancelled, "restore")
                digest.update(chunk)
                if target is not None:
                    target.write(chunk)
                advance(len(chunk))
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
        raise _refuse(file, f"the member is damaged ({error})", name) from None
    if digest.hexdigest() != expected:
        raise _refuse(file, "its content does not match the manifest's SHA-256 (the archive is damaged)", name)


# -- restore -----------------------------------------------------------------------------


@dataclass
class PreparedRestore:
    """A verified, migrated copy of an archive staged inside the data folder, not yet in place.

    `commit()` puts it in place; `discard()` (or leaving the `with` block) removes it.
    """

    data_dir: Path
    staging: Path
    info: ArchiveInfo
    migrated_from: str | None
    audit_events: int
    started: float
    blobs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    overridden: tuple[str, ...] = ()
    _made_dir: bool = False

    @property
    def database(self) -> Path:
        return self.staging / DATABASE_MEMBER

    def __enter__(self) -> PreparedRestore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        if self._made_dir:
            with contextlib.suppress(OSError):
                self.data_dir.rmdir()
            self._made_dir = False

    def commit(self) -> RestoreResult:
        """Keep the current database aside, move the blobs in, rename the restored database into place."""
        if not self.database.is_file():
            raise ClearanceDeskError("this restore was already committed or discarded")
        paths = DataPaths(self.data_dir)
        current = paths.database
        kept: Path | None = None
        if current.is_file():
            kept = _set_aside(current, paths.backups)
        paths.ensure()
        added = 0
        touched: set[Path] = set()
        for digest in self.blobs:
            staged = self.staging / "blobs" / digest
            final = paths.blobs / digest[:2] / digest
            if final.exists():
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged, final)
            touched.add(final.parent)
            added += 1
        for folder in touched:
            _fsync_dir(folder)
        for suffix in ("-wal", "-shm", "-journal"):
            current.with_name(current.name + suffix).unlink(missing_ok=True)
        os.replace(self.database, current)
        _fsync_dir(current.parent)
        _restart_head_file(paths, current)
        self._made_dir = False
        self.discard()
        for stale in self.data_dir.glob(".restore-*"):  # left by a restore that was interrupted
            shutil.rmtree(stale, ignore_errors=True)
        result = RestoreResult(data_dir=self.data_dir, info=self.info, kept_aside=kept,
                               migrated_from=self.migrated_from, blobs_added=added, audit_events=self.audit_events,
                               seconds=time.perf_counter() - self.started, warnings=tuple(self.warnings),
                               overridden=self.overridden)
        log.info("restored %s into %s (%d blobs added, kept the replaced database as %s)", self.info.path,
                 self.data_dir, added, kept)
        return result


def _restart_head_file(paths: DataPaths, database: Path) -> None:
    """After a restore, the head file must describe the restored chain.

    A restore may step back behind heads this folder noted: a forced one on purpose, an
    ordinary one past sign-ins and refusals made after the backup. Those heads are no longer
    in the chain, and every later `audit verify` would call it rewritten. So when any noted
    head is missing from the restored chain, the old file is kept in backups/ for the record
    and a new one starts at the restored head (the restore itself is an audit event).
    """
    from desktop_app.services import audit_anchor

    head_file = paths.root / audit_anchor.HEAD_FILE_NAME
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        try:
            noted = audit_anchor.HeadFile(head_file).heads()
        except ClearanceDeskError:
            noted = [audit_anchor.Head(-1, "", str(head_file))]  # unreadable: kept aside like a stale one
        stale = [head for head in noted if head.seq is not None and conn.execute(
            "SELECT 1 FROM audit_events WHERE seq = ? AND hash = ?", (head.seq, head.hash)).fetchone() is None]
        restored_head = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    if not stale:
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    os.replace(head_file, paths.backups / f"audit-heads-before-restore-{stamp}.log")
    log.info("restore stepped back behind %d noted audit heads; the head file was kept in backups/", len(stale))
    if restored_head is not None:
        audit_anchor.HeadFile(head_file).note(int(restored_head[0]), str(restored_head[1]))


def _set_aside(current: Path, backups: Path) -> Path:
    """Copy the database about to be replaced into backups/, refusing if anything still has it open.

    Leaving WAL mode needs the only connection, so it doubles as the in-use check, and it
    folds the WAL into the main file so nothing committed is lost with it.
    """
    try:
        conn = sqlite3.connect(current, timeout=2, isolation_level=None)
    except sqlite3.Error as error:
        raise DatabaseInUse(f"{current}: cannot open the current database ({error})") from None
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise DatabaseInUse(f"{current} is in use: close {APP_NAME} (every window and command using this "
                                    f"data folder) and try again") from None
            mode = None  # a damaged database: keep its files aside as they are
        except sqlite3.DatabaseError:
            mode = None
        if mode is not None and str(mode).lower() != "delete":
            raise DatabaseInUse(f"{current} is in use: close {APP_NAME} (every window and command using this "
                                f"data folder) and try again")
        backups.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = backups / f"{current.stem}-pre-restore-{stamp}.sqlite3"
        if mode is not None:
            dest = sqlite3.connect(target)
            try:
                conn.backup(dest)
            finally:
                dest.close()
            return target
    finally:
        conn.close()
    # Not a readable database: keep the files exactly as they were, for whoever investigates.
    for suffix in ("", "-wal"):
        path = current.with_name(current.name + suffix)
        if path.is_file():
            shutil.copy2(path, target.with_name(target.name + suffix))
    return target


def prepare_restore(file: Path, data_dir: Path, *, db_url: str | None = None, actor: str = SYSTEM_ACTOR,
                    progress: Progress | None = None, cancelled: CancelCheck | None = None,
                    force: bool = False, reason: str = "") -> PreparedRestore:
    """Verify an archive completely and stage a rebuilt, migrated copy; nothing in place is changed.

    Raises InputRejected naming the archive and the member for any damage, and for a
    backup older than what the data folder has seen (its audit trail, its newest letter)
    unless `force` is given with a `reason`, which the restored audit trail records.
    """
    started = time.perf_counter()
    report = progress or _quiet
    file, data_dir = Path(file), Path(data_dir)
    if db_url and not db_url.startswith("sqlite"):
        raise PostgresNotBackedUp(_hide_password(db_url))
    reason = " ".join(reason.split())
    if force and not reason:
        raise InputRejected(Problem("a forced restore needs a reason, which the audit trail records", field="reason"))
    if data_dir.exists() and not data_dir.is_dir():
        raise InputRejected(Problem("is not a folder; give the data folder to restore into", file=str(data_dir)))
    current = _folder_state(DataPaths(data_dir).database)
    with _open_archive(file) as archive:
        info = _read_manifest(file, archive)
        _check_disk_space(file, data_dir, info)
        made_dir = not data_dir.exists()
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = data_dir / f".restore-{uuid.uuid4().hex[:12]}"
        prepared = PreparedRestore(data_dir=data_dir, staging=staging, info=info, migrated_from=None,
                                   audit_events=0, started=started, _made_dir=made_dir)
        try:
            staging.mkdir()
            (staging / "blobs").mkdir()
            _stage_members(file, archive, info, prepared, DataPaths(data_dir).blobs, report, cancelled)
            _verify_and_migrate(file, info, prepared, DataPaths(data_dir).blobs, actor, report,
                                current=current, force=force, reason=reason)
        except BaseException:
            prepared.discard()
            raise
    return prepared


def _check_disk_space(file: Path, data_dir: Path, info: ArchiveInfo) -> None:
    probe = data_dir if data_dir.exists() else data_dir.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    needed = 2 * info.database_bytes + info.blob_bytes + 16 * 1024 * 1024
    free = shutil.disk_usage(probe).free
    if free < needed:
        raise _refuse(file, f"not enough free space in {probe}: the restore needs about {human_size(needed)}, "
                            f"{human_size(free)} is free")


def _stage_members(file: Path, archive: zipfile.ZipFile, info: ArchiveInfo, prepared: PreparedRestore,
                   store: Path, report: Progress, cancelled: CancelCheck | None) -> None:
    total = info.database_bytes + info.blob_bytes
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n

    report("Checking the database in the backup…", done, total)
    with prepared.database.open("wb") as out:
        _extract_member(file, archive, DATABASE_MEMBER, info.manifest["database"]["sha256"], out, advance, cancelled)
        out.flush()
        os.fsync(out.fileno())
    entries = info.manifest["blobs"]
    last = time.monotonic()
    for index, entry in enumerate(entries, 1):
        digest = entry["sha256"]
        name = _blob_member(digest)
        if (store / digest[:2] / digest).is_file():
            _extract_member(file, archive, name, digest, None, advance, cancelled)
        else:
            with (prepared.staging / "blobs" / digest).open("wb") as out:
                _extract_member(file, archive, name, digest, out, advance, cancelled)
                out.flush()
                os.fsync(out.fileno())
            prepared.blobs.append(digest)
        if time.monotonic() - last > 0.1 or index == len(entries):
            report(f"Checking the blobs… ({index:,} of {len(entries):,})", done, total)
            last = time.monotonic()


def _verify_and_migrate(file: Path, info: ArchiveInfo, prepared: PreparedRestore, store: Path, actor: str,
                        report: Progress, *, current: _FolderState | None, force: bool, reason: str) -> None:
    """Check the archived database, then rebuild it: the migrations' schema with only its rows copied in.

    Nothing of the archive's schema is trusted: a trigger, view or index it brings (one
    that promotes a user, a view that hides revocations, an append-only trigger left
    out) refuses the archive, and the rows are copied column by column into a database
    the migrations made, whose schema is checked again at the end.
    """
    from desktop_app.storage.migrate import head_revision

    report("Checking the database's integrity and audit chain…", 0, 0)
    archived = prepared.database
    revision = _check_database(file, archived)
    if revision != info.schema_revision:
        raise _refuse(file, f"the database's schema revision {revision} differs from the manifest's "
                            f"{info.schema_revision}", DATABASE_MEMBER)
    if revision is None:
        raise _refuse(file, "the database has no schema revision; it was not made by Clearance Desk", DATABASE_MEMBER)
    if not _known_revision(revision):
        raise _refuse(file, f"made by a newer {APP_NAME} ({info.app_version}, schema {revision}); "
                            f"install that version to restore it", DATABASE_MEMBER)
    conn = _open_untrusted(archived)
    try:
        chain = _audit_report(conn)
        referenced = referenced_blobs(conn)
        at_manifest_count = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (info.audit_events,)).fetchone()
    except sqlite3.DatabaseError as error:
        raise _refuse(file, f"the database cannot be read ({error})", DATABASE_MEMBER) from None
    finally:
        conn.close()
    if not chain.ok:
        raise _refuse(file, f"the audit chain is broken at {chain.problem}", DATABASE_MEMBER)
    if chain.events < info.audit_events:
        raise _refuse(file, f"its audit trail has {chain.events} events, fewer than the {info.audit_events} the "
                            f"manifest records: events were removed", DATABASE_MEMBER)
    head = info.manifest.get("audit", {}).get("head") if isinstance(info.manifest.get("audit"), dict) else None
    if info.audit_events and head and (at_manifest_count is None or at_manifest_count[0] != head):
        raise _refuse(file, f"its audit event {info.audit_events} is not the head the manifest records "
                            f"({str(head)[:16]}…): the audit trail was rewritten", DATABASE_MEMBER)
    archived_blobs = {entry["sha256"] for entry in info.manifest["blobs"]}
    acknowledged = {d for d in info.manifest.get("missing_blobs", []) if isinstance(d, str)}
    lacking = sorted(d for d in referenced - archived_blobs - acknowledged if not (store / d[:2] / d).is_file())
    if lacking:
        raise _refuse(file, f"the database refers to {len(lacking)} blob(s) the archive does not contain "
                            f"(first: {lacking[0]})", DATABASE_MEMBER)

    report("Rebuilding the database from the migrations…", 0, 0)
    pristine = prepared.staging / "pristine.sqlite3"
    rebuilt = prepared.staging / "rebuilt.sqlite3"
    _build_schema(file, pristine, revision)
    differences = _schema_differences(_schema_of_file(archived), _schema_of_file(pristine))
    if differences:
        raise _refuse(file, f"its database is not what schema revision {revision} makes: {differences}; a backup "
                            f"brings data only, so it was refused", DATABASE_MEMBER)
    shutil.copyfile(pristine, rebuilt)
    _copy_rows(file, archived, rebuilt)
    _check_database(file, rebuilt)
    if revision != head_revision():
        report(f"Migrating the restored database from schema {revision}…", 0, 0)
        _migrate_copy(file, rebuilt)
        _migrate_copy(file, pristine)
        prepared.migrated_from = revision
        _check_database(file, rebuilt)
    differences = _schema_differences(_schema_of_file(rebuilt), _schema_of_file(pristine))
    if differences:  # pragma: no cover - our own rebuild went wrong
        raise _refuse(file, f"the rebuilt database's schema differs from the migrations' ({differences})",
                      DATABASE_MEMBER)
    overridden = _older_than_folder(rebuilt, current)
    if overridden and not force:
        raise RestoreGoesBack(Problem(
            "; ".join(overridden) + ". Restoring it would go back in time: to do so anyway, force it with a "
            "reason (clearance-desk restore --force --reason \"…\"), which is audited",
            file=str(file), field=DATABASE_MEMBER))
    if current is not None:
        _keep_counters(rebuilt, current)  # a number once issued is never issued again
    prepared.overridden = tuple(overridden)
    prepared.warnings += _missing_letter_pdfs(rebuilt, store, prepared.staging / "blobs")
    _record_restore(rebuilt, info, actor, migrated_from=prepared.migrated_from,
                    forced={"reason": reason, "overridden": overridden} if overridden else None)
    conn = sqlite3.connect(rebuilt)
    try:
        chain = _audit_report(conn)
        if not chain.ok:  # pragma: no cover - our own append broke it
            raise _refuse(file, f"the audit chain broke during the restore at {chain.problem}", DATABASE_MEMBER)
        prepared.audit_events = chain.events
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    os.replace(rebuilt, archived)
    pristine.unlink(missing_ok=True)


# -- rebuilding a restored database ------------------------------------------------------------


def _open_untrusted(database: Path) -> sqlite3.Connection:
    """A connection to a database from outside: its schema's functions and virtual tables are not run."""
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA trusted_schema=OFF")
    return conn


def _build_schema(file: Path, database: Path, revision: str) -> None:
    """An empty database with exactly the schema the migrations make at `revision`."""
    from alembic import command

    from desktop_app.storage.database import make_engine
    from desktop_app.storage.migrate import alembic_config

    engine = make_engine(f"sqlite:///{database}")
    try:
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except Exception as error:  # noqa: BLE001 - reported as the archive's refusal, nothing changed
        raise _refuse(file, f"cannot build schema revision {revision} to restore into: {error}",
                      DATABASE_MEMBER) from None
    finally:
        engine.dispose()
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


SchemaObject = tuple[str, str]
"""(type, name) of one object in sqlite_master."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema_of_file(database: Path) -> dict[SchemaObject, object]:
    conn = _open_untrusted(database)
    try:
        return _schema_of(conn)
    finally:
        conn.close()


def _schema_of(conn: sqlite3.Connection) -> dict[SchemaObject, object]:
    """Every schema object with what matters of it: a table's columns, an index's columns, a trigger's or view's SQL.

    Tables and indices are compared by structure, not text, so a database that reached a
    revision by another path (a batch downgrade rewrites CREATE TABLE) still compares
    equal; SQLite's own objects (autoindexes, statistics) are left out.
    """
    objects: dict[SchemaObject, object] = {}
    for kind, name, table, sql in conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master"):
        if str(name).lower().startswith("sqlite_"):
            continue
        if kind == "table":
            columns = tuple((c[1], str(c[2]).upper(), c[3], c[5], c[6])
                            for c in conn.execute(f"PRAGMA main.table_xinfo({_quote(name)})"))
            virtual = " ".join(str(sql).split()) if str(sql).upper().startswith("CREATE VIRTUAL") else None
            objects[(kind, name)] = (columns, virtual)
        elif kind == "index":
            columns = tuple(c[2] for c in conn.execute(f"PRAGMA main.index_info({_quote(name)})"))
            objects[(kind, name)] = (table.lower(), columns)
        else:
            objects[(kind, name)] = (table.lower(), " ".join(str(sql).split()))
    return objects


def _schema_differences(found: dict[SchemaObject, object], expected: dict[SchemaObject, object]) -> str:
    """One line naming up to three differences (empty when there are none)."""
    notes = [f"an extra {kind} {name!r}" for kind, name in sorted(found.keys() - expected.keys())]
    notes += [f"no {kind} {name!r}" for kind, name in sorted(expected.keys() - found.keys())]
    notes += [f"a different {kind} {name!r}" for kind, name in sorted(found.keys() & expected.keys())
              if found[(kind, name)] != expected[(kind, name)]]
    if not notes:
        return ""
    more = f" and {len(notes) - 3} more difference(s)" if len(notes) > 3 else ""
    return "it has " + ", ".join(notes[:3]) + more


def _copy_rows(file: Path, archived: Path, target: Path) -> None:
    """Copy every table's rows, column by column, from the archived database into the rebuilt one.

    Only the tables of the rebuilt schema are copied (the search index is rebuilt from the
    data instead). Its triggers are set aside while copying, so the search triggers do
    not run for every row, and restored exactly as the migrations made them.
    """
    from desktop_app.services.search import rebuild_sqlite_file

    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("ATTACH DATABASE ? AS archived", (str(archived),))
        schema = conn.execute("SELECT type, name, sql FROM main.sqlite_master").fetchall()
        virtual = [name for kind, name, sql in schema if kind == "table" and str(sql).upper().startswith("CREATE VIRTUAL")]
        tables = [name for kind, name, _sql in schema
                  if kind == "table" and name != "alembic_version" and not name.lower().startswith("sqlite_")
                  and not any(name == v or name.startswith(f"{v}_") for v in virtual)]
        triggers = [(name, sql) for kind, name, sql in schema if kind == "trigger"]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name, _sql in triggers:
                conn.execute(f"DROP TRIGGER main.{_quote(name)}")
            for name in tables:
                columns = ", ".join(_quote(c[1]) for c in conn.execute(f"PRAGMA main.table_xinfo({_quote(name)})")
                                    if c[6] == 0)  # generated columns are computed again, not copied
                conn.execute(f"INSERT INTO main.{_quote(name)} ({columns}) SELECT {columns} "
                             f"FROM archived.{_quote(name)}")
            for _name, sql in triggers:
                conn.execute(sql)
            rebuild_sqlite_file(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE archived")
    except sqlite3.DatabaseError as error:
        raise _refuse(file, f"its rows cannot be copied into the current schema ({error})", DATABASE_MEMBER) from None
    finally:
        conn.close()


@dataclass(frozen=True)
class _FolderState:
    """What the data folder being replaced has seen: a restore must not go back past it unnoticed."""

    database: Path
    events: int
    head: str | None
    newest_letter: tuple[int, int, str] | None
    counters: dict[str, int]

    def hash_at(self, seq: int) -> str | None:
        rows = self._query("SELECT hash FROM audit_events WHERE seq = ?", (seq,)) if seq else []
        return rows[0][0] if rows else None

    def actions_after(self, seq: int) -> list[tuple[str, int]]:
        """The kinds of work recorded after event `seq`, routine events left out, most frequent first."""
        rows = self._query("SELECT action, count(*) FROM audit_events WHERE seq > ? GROUP BY action "
                           "ORDER BY count(*) DESC, action", (seq,))
        return [(str(action), int(count)) for action, count in rows if action not in ROUTINE_ACTIONS]

    def _query(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        conn = _open_untrusted(self.database)
        try:
            return conn.execute(sql, parameters).fetchall()
        finally:
            conn.close()


def _folder_state(database: Path) -> _FolderState | None:
    """The current database's audit head, newest letter and counters; None when there is none or it is unreadable."""
    if not database.is_file():
        return None
    try:
        conn = _open_untrusted(database)
        try:
            last = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
            letter = conn.execute("SELECT year, sequence, number FROM letters "
                                  "ORDER BY year DESC, sequence DESC LIMIT 1").fetchone()
            counters = {str(name): int(value) for name, value in conn.execute("SELECT name, value FROM counters")}
        finally:
            conn.close()
    except (sqlite3.DatabaseError, TypeError, ValueError) as error:
        log.warning("restore: the current database %s cannot be read (%s); nothing to compare the backup with",
                    database, error)
        return None
    return _FolderState(database=database, events=int(last[0]) if last else 0, head=last[1] if last else None,
                        newest_letter=(int(letter[0]), int(letter[1]), str(letter[2])) if letter else None,
                        counters=counters)


ROUTINE_ACTIONS = frozenset({"login", "login.refused", "permission.refused", "data.backup", "data.restore"})
"""Events that record no work: a folder whose only events after the backup's are these (the
administrator signing in to restore, say) is not newer than the backup."""


def _older_than_folder(rebuilt: Path, current: _FolderState | None) -> list[str]:
    """How the backup is behind the folder it would replace (empty when it is not)."""
    if current is None:
        return []
    behind: list[str] = []
    conn = sqlite3.connect(rebuilt)
    try:
        events = conn.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()[0]
        common = min(events, current.events)
        ours = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (common,)).fetchone()
        newest = conn.execute("SELECT year, sequence, number FROM letters "
                              "ORDER BY year DESC, sequence DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    if common and (ours is None or ours[0] != current.hash_at(common)):
        behind.append(f"its audit trail differs from this data folder's at event {common} (another history)")
    elif current.events > events:
        work = current.actions_after(events)
        if work:
            shown = ", ".join(f"{action} ×{count}" for action, count in work[:4]) + (" …" if len(work) > 4 else "")
            behind.append(f"it is older than this data folder: its audit trail ends at event {events}, the "
                          f"folder's at event {current.events} ({shown})")
    if current.newest_letter is not None and (newest is None or (newest[0], newest[1]) < current.newest_letter[:2]):
        behind.append(f"this data folder has issued letter {current.newest_letter[2]}, which the backup does not "
                      f"have (its newest letter is {newest[2] if newest else 'none'})")
    return behind


def _keep_counters(rebuilt: Path, current: _FolderState) -> None:
    """Counters never go back: a restored folder goes on after the highest number the replaced one issued."""
    conn = sqlite3.connect(rebuilt, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for name, value in current.counters.items():
            conn.execute("INSERT INTO counters (name, value) VALUES (?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)", (name, value))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _missing_letter_pdfs(rebuilt: Path, store: Path, staged: Path) -> list[str]:
    conn = sqlite3.connect(rebuilt)
    try:
        letters = conn.execute("SELECT number, pdf_sha256 FROM letters ORDER BY year, sequence").fetchall()
    finally:
        conn.close()
    missing = [number for number, digest in letters
               if not digest or not ((store / digest[:2] / digest).is_file() or (staged / digest).is_file())]
    if not missing:
        return []
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return [f"the signed PDF of {len(missing)} letter(s) is missing from the backup and the blob store ({shown}); "
            f"the register lists them, but they cannot be opened or exported"]


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from desktop_app.storage.migrate import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        return False


def _check_database(file: Path, database: Path) -> str | None:
    try:
        conn = sqlite3.connect(database)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                raise _refuse(file, f"PRAGMA integrity_check failed: {rows[0]}", DATABASE_MEMBER)
            bad_keys = conn.execute("PRAGMA foreign_key_check").fetchone()
            if bad_keys is not None:
                raise _refuse(file, f"foreign key check failed in table {bad_keys[0]}", DATABASE_MEMBER)
            return _schema_revision(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise _refuse(file, f"not a readable SQLite database ({error})", DATABASE_MEMBER) from None


def _migrate_copy(file: Path, database: Path) -> None:
    from desktop_app.storage.database import make_engine
    from desktop_app.storage.migrate import upgrade_to_head

    engine = make_engine(f"sqlite:///{database}")
    try:
        upgrade_to_head(engine, backup_dir=None)
    except Exception as error:  # noqa: BLE001 - any migration failure refuses the archive, untouched data
        raise _refuse(file, f"migrating the backup to the current schema failed: {error}", DATABASE_MEMBER) from None
    finally:
        engine.dispose()


def _record_restore(database: Path, info: ArchiveInfo, actor: str, *, migrated_from: str | None,
                    forced: dict[str, Any] | None = None) -> None:
    """Append the restore itself to the restored chain, so the history says where it came from."""
    from sqlalchemy.orm import Session

    from desktop_app.storage.database import make_engine

    engine = make_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session, session.begin():
            audit.record(session, actor=actor[:64] or SYSTEM_ACTOR, action="data.restore", entity_type="backup",
                         entity_id=info.created_at[:64], after={
                             "archive": info.path.name, "created_at": info.created_at,
                             "app_version": info.app_version, "schema_revision": info.schema_revision,
                             "migrated_from": migrated_from, "restored_by_version": __version__,
                             **({"forced": forced} if forced else {})})
    finally:
        engine.dispose()


def restore(file: Path, data_dir: Path, *, db_url: str | None = None, actor: str = SYSTEM_ACTOR,
            progress: Progress | None = None, cancelled: CancelCheck | None = None,
            force: bool = False, reason: str = "") -> RestoreResult:
    """Verify `file` completely, then replace the data folder's database and add its blobs.

    Close every connection to the data folder first (the window does this itself).
    """
    with prepare_restore(file, data_dir, db_url=db_url, actor=actor, progress=progress,
                         cancelled=cancelled, force=force, reason=reason) as prepared:
        return prepared.commit()


# -- who may back up and restore --------------------------------------------------------------
# A backup copies all of the agency's data and a restore replaces it: only an active
# administrator, as the database says now (not as the session remembers), and the backup
# is written to the audit chain it copies from. (A restore is audited in the restored chain.)


def require_admin(ctx: ServiceContext, actor: Actor, what: str) -> None:
    """Refuse (and audit the refusal) unless `actor` is an active administrator right now."""
    with ctx.connect() as conn:
        if _is_admin(conn, actor):
            return
    reason = f"only an administrator may {what}"
    audit.record_refusal(ctx, actor=actor.username, attempted=what, entity_type="backup", entity_id=actor.username,
                         reason=reason)
    raise PermissionDenied(reason[0].upper() + reason[1:] + ".")


def _is_admin(conn: Any, actor: Actor) -> bool:
    from sqlalchemy import select

    from desktop_app.domain.types import Role
    from desktop_app.storage.tables import users

    row = conn.execute(select(users.c.role, users.c.active).where(users.c.id == actor.user_id)).first()
    return row is not None and bool(row.active) and row.role == Role.ADMIN.value


def backup_as(ctx: ServiceContext, actor: Actor, file: Path, *, progress: Progress | None = None,
              cancelled: CancelCheck | None = None) -> BackupResult:
    """`backup()` by a signed-in administrator, recorded as a `data.backup` event with the archive's SHA-256."""
    require_admin(ctx, actor, "back up the data")
    result = backup(ctx, file, progress=progress, cancelled=cancelled)
    digest = hashlib.sha256()
    with open(result.path, "rb") as archive:
        for chunk in iter(lambda: archive.read(CHUNK), b""):
            digest.update(chunk)
    with ctx.begin() as conn:
        if not _is_admin(conn, actor):  # demoted while the archive was written: it is not kept
            result.path.unlink(missing_ok=True)
            raise PermissionDenied("Only an administrator may back up the data.")
        audit.record(conn, actor=actor.username, action="data.backup", entity_type="backup",
                     entity_id=result.created_at[:64], now=ctx.now(),
                     after={"file": result.path.name, "sha256": digest.hexdigest(), "bytes": result.archive_bytes,
                            "blobs": result.blobs, "audit_events": result.audit_events})
    return result


def check_archive_admin(prepared: PreparedRestore, username: str, password: str) -> None:
    """Restoring into a folder with no database: the restorer must be an active administrator of the archive."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    from desktop_app.domain.errors import AuthenticationFailed

    conn = sqlite3.connect(f"file:{prepared.database}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT password_hash, role, active FROM users WHERE username = ?", (username,)).fetchone()
    finally:
        conn.close()
    try:
        if row is None or not PasswordHasher().verify(row[0], password):
            raise AuthenticationFailed("wrong user name or password for an account in this backup")
    except (VerificationError, InvalidHashError):
        raise AuthenticationFailed("wrong user name or password for an account in this backup") from None
    if row[1] != "admin" or not row[2]:
        raise PermissionDenied("Only an administrator of the backed-up data may restore it.")
