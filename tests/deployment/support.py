"""Helpers for the deployment tests: folder fingerprints and archive surgery."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

from desktop_app.services.audit import iter_events, verify_chain


def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with the SHA-256 of its bytes ("dir" for folders)."""
    result: dict[str, str] = {}
    if not folder.exists():
        return result
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        result[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return result


Transform = Callable[[dict[str, bytes]], dict[str, bytes]]


def rewrite(source: Path, target: Path, transform: Transform, *, fix_manifest: bool = False) -> Path:
    """Copy an archive member by member through `transform` (a valid zip comes out).

    With `fix_manifest`, the manifest's database digest and size are recomputed, so only
    deeper checks (integrity, audit chain) can notice what the transform did.
    """
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members = transform(members)
    if fix_manifest and "manifest.json" in members and "database.sqlite3" in members:
        manifest = json.loads(members["manifest.json"])
        db = members["database.sqlite3"]
        manifest["database"]["sha256"] = hashlib.sha256(db).hexdigest()
        manifest["database"]["bytes"] = len(db)
        members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def edit_database(data: bytes, tmp: Path, *sql: str) -> bytes:
    """Run SQL on a copy of an archived database and return the new bytes."""
    path = tmp / "edit.sqlite3"
    path.unlink(missing_ok=True)
    path.write_bytes(data)
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in sql:
        conn.execute(statement)
    conn.close()
    return path.read_bytes()


def integrity(database: Path) -> list[str]:
    conn = sqlite3.connect(database)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def chain_ok(ctx) -> tuple[bool, int]:  # noqa: ANN001
    with ctx.reading() as session:
        report = verify_chain(iter_events(session))
    return report.ok, report.events
