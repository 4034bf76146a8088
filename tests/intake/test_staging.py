"""Rule: hashing streams files into staging with progress, can be cancelled, and an import
is all or nothing; the shared samples import cleanly."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from desktop_app.domain.errors import OperationCancelled
from desktop_app.domain.types import ArtifactKind, PackageKind
from desktop_app.services.packages import ImportProgress, read_and_stage
from desktop_app.storage import blobstore

from .builders import Importer, make_folder, make_zip, manifest_for, snapshot

BIG = os.urandom(1024 * 1024)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Many chunks from a small file, so "mid-hash" is reachable in a fast test."""
    monkeypatch.setattr(blobstore, "CHUNK_SIZE", 64 * 1024)
    return 64 * 1024


@pytest.mark.parametrize("make", [make_folder, make_zip])
def test_cancel_mid_hash_writes_nothing(tmp_path: Path, importer: Importer, small_chunks: int, make) -> None:  # type: ignore[no-untyped-def]
    files = {"small.txt": b"hello", "weights/big.bin": BIG, "after.txt": b"never reached"}
    package = make(tmp_path, files=files, manifest=manifest_for(files))
    seen: list[ImportProgress] = []

    def cancel_after_three_chunks() -> bool:
        return sum(1 for report in seen if report.current_path == "weights/big.bin") > 3

    before = snapshot(importer.store.root)
    with importer.store.staging() as area:
        with pytest.raises(OperationCancelled):
            read_and_stage(package, area, progress=seen.append, cancelled=cancel_after_three_chunks)
        assert area.folder.exists()  # it really was mid-hash: something had been staged
    assert snapshot(importer.store.root) == before
    last = seen[-1]
    assert last.current_path == "weights/big.bin" and 0 < last.bytes_done - 5 < len(BIG)
    assert last.files_done == 1


def test_cancel_before_hashing_writes_nothing(tmp_path: Path, importer: Importer) -> None:
    before = snapshot(importer.store.root)
    with importer.store.staging() as area:
        with pytest.raises(OperationCancelled):
            read_and_stage(make_folder(tmp_path), area, cancelled=lambda: True)
        assert not area.folder.exists()
    assert snapshot(importer.store.root) == before


def test_progress_counts_bytes_and_files(tmp_path: Path, importer: Importer, small_chunks: int) -> None:
    files = {"a.txt": b"a" * 10, "weights/big.bin": BIG}
    reports: list[ImportProgress] = []
    importer.accept(make_folder(tmp_path, files=files, manifest=manifest_for(files)), progress=reports.append)
    total = 10 + len(BIG)
    assert all(report.bytes_total == total and report.files_total == 2 for report in reports)
    done = [report.bytes_done for report in reports]
    assert done == sorted(done) and done[-1] == total
    assert reports[-1] == ImportProgress(total, total, 2, 2, "")
    assert len([report for report in reports if report.current_path == "weights/big.bin"]) >= 16


def test_validated_package_describes_the_manifest(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    package = importer.accept(folder)
    assert package.manifest_sha256 == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert package.kind is PackageKind.NEW and package.refers_to is None
    assert package.developer.contact_email == "c@test.example"
    assert package.model.intended_release.isoformat() == "2026-12-15"
    assert package.artifacts[2].kind is ArtifactKind.WEIGHTS


def test_samples_read_cleanly(samples_dir: Path, importer: Importer) -> None:
    results = {path.name: importer.accept(path) for path in sorted(samples_dir.iterdir())}
    orca = results["northwind-orca-3.1"]
    assert orca.package_id == "NW-2026-0042" and len(orca.artifacts) == 4 and orca.source_kind == "folder"
    supplement = results["northwind-orca-3.1-supplement"]
    assert supplement.kind is PackageKind.SUPPLEMENT and supplement.refers_to == "NW-2026-0042"
    helix = results["helix-sparrow-2.0.zip"]
    assert helix.source_kind == "zip" and helix.artifacts[0].path == "card/Sparrow 2.0 — model card.md"
    assert helix.submitted_at.utcoffset() is not None
    for package in results.values():
        assert package.warnings == ()
        for artifact in package.artifacts:
            assert importer.store.exists(artifact.sha256)
