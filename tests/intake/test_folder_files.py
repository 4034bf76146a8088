"""Rule: every listed file exists, is a regular file, has exactly `bytes` and its SHA-256;
links (symbolic or hard) are refused and never followed; unlisted files are warnings.

Every test runs twice: with the descriptor walk (openat + O_NOFOLLOW, used on POSIX)
and with the path walk used where the platform has no descriptor-relative calls.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop_app.services.packages import PackageLimits, open_package
from desktop_app.services.packages import folder as folder_module
from desktop_app.services.packages.source import PackageReadError

from .builders import DEFAULT_FILES, Importer, make_folder, manifest_for, one_matching, sha256

SHARD = "weights/shard-0.bin"


@pytest.fixture(params=["descriptors", "paths"], autouse=True)
def walk_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "paths":
        monkeypatch.setattr(folder_module, "descriptor_walk_supported", lambda: False)
    return str(request.param)


def test_valid_folder_is_read_and_stored(tmp_path: Path, importer: Importer) -> None:
    package = importer.accept(make_folder(tmp_path))
    assert [artifact.path for artifact in package.artifacts] == list(DEFAULT_FILES)
    for artifact in package.artifacts:
        assert importer.store.read_bytes(artifact.sha256) == DEFAULT_FILES[artifact.path]
    assert package.warnings == ()


def test_missing_files_are_all_reported(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    (folder / SHARD).unlink()
    (folder / "model-card.md").unlink()
    problems = importer.reject(folder)
    assert problems == [
        "model-card.md: is listed in the manifest but not in the package",
        f"{SHARD}: is listed in the manifest but not in the package",
    ]


def test_wrong_size_is_refused_before_hashing(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"][2]["bytes"] = 262144
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert problems == [f"{SHARD}: size is 16,384 bytes, the manifest says 262,144"]


def test_every_wrong_digest_is_reported(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"][0]["sha256"] = "0" * 64
    manifest["artifacts"][2]["sha256"] = "f" * 64
    problems = importer.reject(make_folder(tmp_path, manifest=manifest), hashed=True)
    assert problems == [
        f"model-card.md: SHA-256 is {sha256(DEFAULT_FILES['model-card.md'])}, the manifest says {'0' * 64}",
        f"{SHARD}: SHA-256 is {sha256(DEFAULT_FILES[SHARD])}, the manifest says {'f' * 64}",
    ]


def test_a_file_that_grows_while_read_is_refused(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)

    def grow(report: object) -> None:
        with (folder / "model-card.md").open("ab") as handle:
            handle.write(b"appended")

    problems = importer.reject(folder, hashed=True, progress=grow)
    one_matching(problems, "model-card.md: is larger than the 31 bytes the manifest says")


def test_symlink_to_a_file_outside_is_refused_and_not_followed(tmp_path: Path, importer: Importer) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the package")
    files = {"model-card.md": b"outside the package"}
    folder = make_folder(tmp_path, files={}, manifest=manifest_for(files))
    (folder / "model-card.md").symlink_to(secret)
    problems = importer.reject(folder)
    assert problems == ["model-card.md: is a symbolic link; links are refused and never followed"]


def test_unlisted_symlink_is_refused_too(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    (folder / "etc").symlink_to("/etc")
    assert importer.reject(folder) == ["etc: is a symbolic link; links are refused and never followed"]


def test_symlinked_folder_in_a_path_is_refused(tmp_path: Path, importer: Importer) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "cyber.json").write_bytes(DEFAULT_FILES["evals/cyber.json"])
    folder = make_folder(tmp_path, files={}, manifest=manifest_for(DEFAULT_FILES))
    (folder / "evals").symlink_to(outside)
    problems = importer.reject(folder)
    one_matching(problems, "evals: is a symbolic link; links are refused")


def test_dangling_and_looping_symlinks_are_refused(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    (folder / "nowhere").symlink_to(tmp_path / "does-not-exist")
    (folder / "loop").symlink_to(folder / "loop")
    problems = importer.reject(folder)
    one_matching(problems, "nowhere: is a symbolic link")
    one_matching(problems, "loop: is a symbolic link")


def test_symlinked_manifest_is_refused(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    real = tmp_path / "real-manifest.json"
    (folder / "manifest.json").rename(real)
    (folder / "manifest.json").symlink_to(real)
    assert importer.reject(folder) == ["manifest.json: is a symbolic link; links are refused and never followed"]


def test_hard_link_is_refused(tmp_path: Path, importer: Importer) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(DEFAULT_FILES[SHARD])
    folder = make_folder(tmp_path, files={}, manifest=manifest_for(DEFAULT_FILES))
    for path in ("model-card.md", "evals/cyber.json"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(DEFAULT_FILES[path])
    (folder / "weights").mkdir()
    os.link(outside, folder / SHARD)
    problems = importer.reject(folder)
    assert problems == [f"{SHARD}: is a hard link (the same file has 2 names); links are refused"]


def test_link_swapped_in_after_listing_is_not_followed(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside")
    with open_package(folder) as source:
        (folder / "model-card.md").unlink()
        (folder / "model-card.md").symlink_to(secret)
        with pytest.raises(PackageReadError, match="is a symbolic link"):
            source.open_file("model-card.md")
        os.link(secret, folder / "hard.txt")
        with pytest.raises(PackageReadError, match="is a hard link"):
            source.open_file("hard.txt")


def test_a_listed_pipe_is_refused_without_blocking(tmp_path: Path, importer: Importer) -> None:
    files = {"log.txt": b""}
    folder = make_folder(tmp_path, files={}, manifest=manifest_for(files))
    os.mkfifo(folder / "log.txt")
    assert importer.reject(folder) == ["log.txt: is a device, pipe or socket, not a regular file"]


def test_a_listed_folder_is_refused(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"].append({"path": "reports", "kind": "other", "sha256": "0" * 64, "bytes": 0})
    folder = make_folder(tmp_path, manifest=manifest)
    (folder / "reports").mkdir()
    assert importer.reject(folder) == ["reports: is a folder, not a file"]


def test_name_must_match_exactly(tmp_path: Path, importer: Importer) -> None:
    files = {"Model-Card.md": DEFAULT_FILES["model-card.md"]}
    folder = make_folder(tmp_path, files={"model-card.md": files["Model-Card.md"]}, manifest=manifest_for(files))
    problem = importer.reject(folder)[0]
    assert problem.startswith("Model-Card.md: is not in the package, which holds model-card.md instead")


def test_unlisted_files_are_warnings_and_not_stored(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    (folder / "notes.txt").write_bytes(b"not listed")
    os.mkfifo(folder / "pipe")
    package = importer.accept(folder)
    assert [str(warning) for warning in package.warnings] == [
        "notes.txt: is not listed in the manifest; it was not stored",
        "pipe: is not listed in the manifest; it was not stored",
    ]
    assert not importer.store.exists(sha256(b"not listed"))


def test_missing_manifest_is_refused_with_a_hint(tmp_path: Path, importer: Importer) -> None:
    make_folder(tmp_path / "outer", name="inner")
    problems = importer.reject(tmp_path / "outer")
    assert problems == [
        "manifest.json: is missing: a package has manifest.json at its root "
        "(found inner/manifest.json: choose the folder that holds it)"
    ]


def test_too_many_entries_are_refused(tmp_path: Path, importer: Importer) -> None:
    files = {f"f{i:02}.txt": b"x" for i in range(12)}
    problems = importer.reject(make_folder(tmp_path, files=files), PackageLimits(max_members=10))
    assert problems == ["the package holds more than 10 files and folders; at most 10 are accepted"]


def test_too_deep_folders_are_refused(tmp_path: Path, importer: Importer) -> None:
    files = {"a/b/c/d/e.txt": b"deep"}
    problems = importer.reject(make_folder(tmp_path, files=files), PackageLimits(max_folder_depth=3))
    assert problems == ["a/b/c/d: is nested more than 3 folders deep"]
