"""Building hostile packages inside a test's tmp_path, and checking nothing was written.

Every test builds its own package from a valid manifest and then breaks exactly one
thing, so a refusal can only be about that thing.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desktop_app.domain.errors import InputRejected
from desktop_app.services.packages import PackageLimits, ValidatedPackage, read_and_stage
from desktop_app.storage.blobstore import BlobStore

Files = Mapping[str, bytes]

DEFAULT_FILES: dict[str, bytes] = {
    "model-card.md": b"# Model card\n\nA careful model.\n",
    "evals/cyber.json": b'{"score": 0.31}\n',
    "weights/shard-0.bin": bytes(range(256)) * 64,
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_for(files: Files, **overrides: Any) -> dict[str, Any]:
    """A valid manifest listing `files` (kind from the extension), with top-level overrides."""
    manifest: dict[str, Any] = {
        "format": "clearance-desk/submission-v1",
        "package_id": "TEST-0001",
        "submitted_at": "2026-11-18T15:04:00Z",
        "kind": "new",
        "developer": {"name": "Test Labs", "contact": {"name": "Compliance", "email": "c@test.example"}},
        "model": {"name": "Probe", "version": "1.0", "intended_release": "2026-12-15"},
        "artifacts": [
            {"path": path, "kind": "weights" if path.endswith(".bin") else "other", "sha256": sha256(data), "bytes": len(data)}
            for path, data in files.items()
        ],
    }
    manifest.update(overrides)
    return manifest


def encode(manifest: dict[str, Any] | bytes) -> bytes:
    return manifest if isinstance(manifest, bytes) else json.dumps(manifest, indent=2).encode()


def make_folder(
    root: Path, files: Files | None = None, manifest: dict[str, Any] | bytes | None = None, name: str = "pkg"
) -> Path:
    files = DEFAULT_FILES if files is None else files
    folder = root / name
    folder.mkdir(parents=True)
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (folder / "manifest.json").write_bytes(encode(manifest if manifest is not None else manifest_for(files)))
    return folder


Members = Sequence[tuple[str | zipfile.ZipInfo, bytes]]


def zip_bytes(members: Members, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def make_zip(
    root: Path,
    files: Files | None = None,
    manifest: dict[str, Any] | bytes | None = None,
    extra: Members = (),
    name: str = "pkg.zip",
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    files = DEFAULT_FILES if files is None else files
    members: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        ("manifest.json", encode(manifest if manifest is not None else manifest_for(files)))
    ]
    members += list(files.items()) + list(extra)
    path = root / name
    path.write_bytes(zip_bytes(members, compression))
    return path


# --- patching zip bytes ------------------------------------------------------------------


@dataclass
class CentralEntry:
    offset: int
    """Where this central directory header starts in the archive."""
    name: bytes
    local_offset: int


def central_entries(data: bytes) -> list[CentralEntry]:
    end = data.rindex(b"PK\x05\x06")
    size, start = struct.unpack_from("<LL", data, end + 12)
    entries, position = [], start
    while position < start + size:
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, position + 28)
        local = struct.unpack_from("<L", data, position + 42)[0]
        name = data[position + 46 : position + 46 + name_length]
        entries.append(CentralEntry(position, name, local))
        position += 46 + name_length + extra_length + comment_length
    return entries


def central_entry(data: bytes, name: str) -> CentralEntry:
    return next(entry for entry in central_entries(data) if entry.name == name.encode())


CENTRAL = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<L"), "compressed": (20, "<L"),
           "size": (24, "<L"), "external": (38, "<L"), "local_offset": (42, "<L")}
LOCAL = {"flags": (6, "<H"), "method": (8, "<H"), "crc": (14, "<L"), "compressed": (18, "<L"), "size": (22, "<L")}


def patch_central(path: Path, name: str, **fields: int) -> None:
    data = bytearray(path.read_bytes())
    entry = central_entry(bytes(data), name)
    for field, value in fields.items():
        at, fmt = CENTRAL[field]
        struct.pack_into(fmt, data, entry.offset + at, value)
    path.write_bytes(bytes(data))


def patch_local(path: Path, name: str, **fields: int) -> None:
    data = bytearray(path.read_bytes())
    entry = central_entry(bytes(data), name)
    for field, value in fields.items():
        at, fmt = LOCAL[field]
        struct.pack_into(fmt, data, entry.local_offset + at, value)
    path.write_bytes(bytes(data))


def read_central(path: Path, name: str, field: str) -> int:
    data = path.read_bytes()
    at, fmt = CENTRAL[field]
    return int(struct.unpack_from(fmt, data, central_entry(data, name).offset + at)[0])


# --- nothing written -------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path below `root` with its content (None for folders)."""
    return {
        str(path.relative_to(root)): (None if path.is_dir() else path.read_bytes())
        for path in sorted(root.rglob("*"))
    }


class Importer:
    """Runs read_and_stage against a blob store that already holds a blob."""

    def __init__(self, root: Path) -> None:
        self.store = BlobStore(root)
        self.existing = self.store.put_bytes(b"a blob that was here before the import")

    def accept(self, package: Path, limits: PackageLimits | None = None, **options: Any) -> ValidatedPackage:
        with self.store.staging() as area:
            result = read_and_stage(package, area, limits=limits, **options)
            area.promote()
        return result

    def reject(self, package: Path, limits: PackageLimits | None = None, *, hashed: bool = False, **options: Any) -> list[str]:
        """The refusal's problems as text; asserts the blob store is byte-for-byte unchanged.

        Unless `hashed`, the refusal must come before anything was written even to
        staging (the manifest and the listing are judged before any hashing).
        """
        before = snapshot(self.store.root)
        with self.store.staging() as area:
            with pytest.raises(InputRejected) as caught:
                read_and_stage(package, area, limits=limits, **options)
            if not hashed:
                assert not area.folder.exists(), "something was staged although the package was refused early"
        assert snapshot(self.store.root) == before
        assert caught.value.subject == str(package)
        return [str(problem) for problem in caught.value.problems]


def one_matching(problems: list[str], *fragments: str) -> str:
    """The single problem containing every fragment (fails, listing them all, otherwise)."""
    matches = [problem for problem in problems if all(fragment in problem for fragment in fragments)]
    assert matches, f"no problem mentions {fragments!r}; got:\n" + "\n".join(problems)
    return matches[0]
