"""Rule: a zip is read member by member, never extracted to a path built from member
names; encrypted members, duplicate names, absolute or parent paths, links, more than
10,000 members, sizes over the header or the limits, and ratios over 200:1 are refused.

The hostile archives are built with zipfile and then patched byte by byte where zipfile
would refuse to write them.
"""

from __future__ import annotations

import stat
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from desktop_app.services.packages import PackageLimits

from .builders import (
    DEFAULT_FILES,
    Importer,
    central_entry,
    make_folder,
    make_zip,
    manifest_for,
    one_matching,
    patch_central,
    patch_local,
    read_central,
    sha256,
    zip_bytes,
)

SHARD = "weights/shard-0.bin"


def test_valid_zip_is_read_and_stored(tmp_path: Path, importer: Importer) -> None:
    package = importer.accept(make_zip(tmp_path))
    assert package.source_kind == "zip"
    assert {artifact.path for artifact in package.artifacts} == set(DEFAULT_FILES)
    assert importer.store.read_bytes(sha256(DEFAULT_FILES[SHARD])) == DEFAULT_FILES[SHARD]


def test_stored_members_are_accepted(tmp_path: Path, importer: Importer) -> None:
    assert importer.accept(make_zip(tmp_path, compression=zipfile.ZIP_STORED)).package_id == "TEST-0001"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../evil.txt", 'member path contains ".." (it would leave the package)'),
        ("evals/../../evil.txt", 'member path contains ".." (it would leave the package)'),
        ("..\\..\\evil.txt", 'member path contains ".." (it would leave the package)'),
        ("/etc/cron.d/evil", "member path is absolute"),
        ("\\\\server\\share\\evil", "member path is absolute"),
        ("C:\\Windows\\evil.dll", "member path is absolute"),
    ],
)
def test_absolute_and_parent_member_paths_are_refused(tmp_path: Path, importer: Importer, name: str, expected: str) -> None:
    problems = importer.reject(make_zip(tmp_path, extra=[(name, b"payload")]))
    assert problems == [f"{name}: {expected}"]


def test_symlink_member_is_refused(tmp_path: Path, importer: Importer) -> None:
    link = zipfile.ZipInfo("evals/passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    problems = importer.reject(make_zip(tmp_path, extra=[(link, b"/etc/passwd")]))
    assert problems == ["evals/passwd: is a symbolic link; links are refused and never followed"]


def test_listed_symlink_member_is_refused(tmp_path: Path, importer: Importer) -> None:
    files = {"model-card.md": b"/etc/passwd"}
    link = zipfile.ZipInfo("model-card.md")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    problems = importer.reject(make_zip(tmp_path, files={}, manifest=manifest_for(files), extra=[(link, b"/etc/passwd")]))
    assert problems == ["model-card.md: is a symbolic link; links are refused and never followed"]


def test_device_member_is_refused(tmp_path: Path, importer: Importer) -> None:
    device = zipfile.ZipInfo("dev/sda")
    device.external_attr = (stat.S_IFBLK | 0o600) << 16
    assert importer.reject(make_zip(tmp_path, extra=[(device, b"")])) == ["dev/sda: is a device, pipe or socket, not a file"]


def test_encrypted_member_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path)
    flags = read_central(package, SHARD, "flags")
    patch_central(package, SHARD, flags=flags | 1)
    patch_local(package, SHARD, flags=flags | 1)
    assert importer.reject(package) == [f"{SHARD}: is encrypted; encrypted members are refused"]


def test_encrypted_manifest_is_refused_without_reading_it(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path)
    patch_central(package, "manifest.json", flags=1)
    patch_local(package, "manifest.json", flags=1)
    assert importer.reject(package) == ["manifest.json: is encrypted; encrypted members are refused"]


def test_duplicate_member_names_are_refused(tmp_path: Path, importer: Importer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns when writing a duplicate; that is the point
        package = make_zip(tmp_path, extra=[(SHARD, b"a different shard")])
    assert importer.reject(package) == [f"{SHARD}: appears 2 times in the zip; duplicate names are refused"]


def test_more_than_10000_members_are_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path, extra=[(f"empty/{i}", b"") for i in range(10_000)], compression=zipfile.ZIP_STORED)
    assert importer.reject(package) == ["the zip holds 10,004 members; at most 10,000 are accepted"]


def test_a_central_directory_that_understates_its_count_is_still_counted(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path, extra=[(f"empty/{i}", b"") for i in range(20)])
    data = bytearray(package.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 2, 2)  # "2 entries" on this disk and in total
    package.write_bytes(bytes(data))
    problems = importer.reject(package, PackageLimits(max_members=10))
    assert problems == ["the zip holds more than 10 members; at most 10 are accepted"]


def test_oversized_central_directory_is_refused_before_parsing(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_zip(tmp_path), PackageLimits(max_central_directory_bytes=100))
    assert len(problems) == 1
    assert problems[0].startswith("its central directory is ") and "at most 100 are accepted" in problems[0]


def test_total_uncompressed_size_over_the_limit_is_refused(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_zip(tmp_path), PackageLimits(max_total_bytes=10_000))
    assert len(problems) == 1
    assert problems[0].startswith("the zip's members add up to ") and "at most 10,000 are accepted" in problems[0]


def test_high_compression_ratio_is_refused(tmp_path: Path, importer: Importer) -> None:
    bomb = b"\0" * (2 * 1024 * 1024)
    problems = importer.reject(make_zip(tmp_path, extra=[("padding.bin", bomb)]))
    assert len(problems) == 1
    assert problems[0].startswith("padding.bin: expands from ")
    assert "at most 200:1 is accepted for members over 1,048,576 bytes" in problems[0]


def test_ratio_limit_is_a_setting(tmp_path: Path, importer: Importer) -> None:
    files = {SHARD: b"\0" * 8192}
    package = make_zip(tmp_path, files=files, manifest=manifest_for(files))
    one_matching(importer.reject(package, PackageLimits(ratio_applies_above=4096, max_ratio=5)), SHARD, "expands from")


def test_central_header_that_understates_the_size_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path)
    patch_central(package, SHARD, size=100)
    problems = importer.reject(package)
    one_matching(problems, SHARD, "local header disagrees with the central directory about its size")
    one_matching(problems, f"{SHARD}: size is 100 bytes, the manifest says 16,384")


def test_member_that_decompresses_past_its_headers_is_refused(tmp_path: Path, importer: Importer) -> None:
    # Both headers and the manifest agree on 100 bytes; the compressed stream holds 16 KiB.
    truth = DEFAULT_FILES[SHARD]
    files = {SHARD: truth[:100]}
    package = make_zip(tmp_path, files={}, manifest=manifest_for(files), extra=[(SHARD, truth)])
    patch_central(package, SHARD, size=100)
    patch_local(package, SHARD, size=100)
    problems = importer.reject(package, hashed=True)
    assert problems == [f"{SHARD}: its data does not match its CRC-32 (damaged, or its headers lie about its size)"]


def test_local_header_that_disagrees_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path)
    patch_local(package, SHARD, size=1_000_000)
    assert importer.reject(package) == [
        f"{SHARD}: its local header disagrees with the central directory about its size or CRC"
    ]


def test_overlapping_members_are_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path, extra=[("padding-a.bin", b"a" * 1000), ("padding-b.bin", b"b" * 1000)])
    first = central_entry(package.read_bytes(), "padding-a.bin")
    patch_central(package, "padding-b.bin", local_offset=first.local_offset)
    problems = importer.reject(package)
    one_matching(problems, "padding-b.bin: overlaps member padding-a.bin in the archive")
    one_matching(problems, "padding-b.bin: its local header gives a different name")


def test_data_running_into_the_central_directory_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path, compression=zipfile.ZIP_STORED)
    patch_central(package, SHARD, compressed=10**6)
    one_matching(importer.reject(package), SHARD, "runs into the central directory")


@pytest.mark.parametrize(("method", "number"), [(zipfile.ZIP_LZMA, 14), (zipfile.ZIP_BZIP2, 12)])
def test_unbounded_decompressors_are_refused(tmp_path: Path, importer: Importer, method: int, number: int) -> None:
    problems = importer.reject(make_zip(tmp_path, compression=method))
    one_matching(problems, SHARD, f"uses compression method {number}; only stored and deflate are accepted")


def test_names_that_tools_would_read_differently_are_refused(tmp_path: Path, importer: Importer) -> None:
    info = zipfile.ZipInfo("notes.txt")
    other = "../../evil.txt".encode()
    info.extra = struct.pack("<HHBL", 0x7075, 5 + len(other), 1, zlib.crc32(b"notes.txt")) + other
    problems = importer.reject(make_zip(tmp_path, extra=[(info, b"x")]))
    assert problems == ["notes.txt: its Unicode path field names it ../../evil.txt; tools would disagree on its name"]


def test_nul_in_a_member_name_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path, extra=[("notes.txtX.exe", b"x")])
    data = package.read_bytes().replace(b"notes.txtX.exe", b"notes.txt\0.exe")
    package.write_bytes(data)
    assert importer.reject(package) == ["notes.txt\\u0000.exe: member name contains a NUL character"]


def test_corrupt_compressed_data_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path)
    data = bytearray(package.read_bytes())
    start = central_entry(bytes(data), SHARD).local_offset + 30 + len(SHARD)
    for offset in range(start + 20, start + 60):
        data[offset] ^= 0x55
    package.write_bytes(bytes(data))
    problems = importer.reject(package, hashed=True)
    assert len(problems) == 1 and problems[0].startswith(f"{SHARD}: ")
    assert "corrupt" in problems[0] or "CRC-32" in problems[0] or "ends before" in problems[0]


def test_truncated_zip_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = make_zip(tmp_path)
    package.write_bytes(package.read_bytes()[:-30])
    assert importer.reject(package) == ["is not a zip archive: it has no end-of-central-directory record"]


@pytest.mark.parametrize("prefix", ["zip", "stub"])
def test_data_before_the_first_member_is_refused(tmp_path: Path, importer: Importer, prefix: str) -> None:
    """A second archive (or any bytes) in front of the package: some tools would read that instead."""
    package = make_zip(tmp_path)
    decoy = zip_bytes([("manifest.json", b"{}")]) if prefix == "zip" else b"PK\x03\x04" + b"\x00" * 60
    package.write_bytes(decoy + package.read_bytes())
    assert importer.reject(package) == [
        f"holds {len(decoy):,} bytes of other data before its first member; a package zip must start with a member"
    ]


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path, importer: Importer) -> None:
    package = tmp_path / "package.zip"
    package.write_bytes(b"MZ\x90\x00 this is an executable, not a zip")
    assert importer.reject(package) == [
        "is neither a package folder nor a .zip file (it does not start with the zip signature)"
    ]


def test_missing_path_is_refused(tmp_path: Path, importer: Importer) -> None:
    assert importer.reject(tmp_path / "nothing.zip") == ["no such file or folder"]


def test_zipped_folder_gets_a_hint(tmp_path: Path, importer: Importer) -> None:
    folder = make_folder(tmp_path)
    members = [(f"pkg/{path.relative_to(folder)}", path.read_bytes()) for path in folder.rglob("*") if path.is_file()]
    package = tmp_path / "zipped.zip"
    package.write_bytes(zip_bytes(members))
    assert importer.reject(package) == [
        "manifest.json: is missing: a package has manifest.json at its root "
        "(found pkg/manifest.json: zip the package's contents, not its folder)"
    ]


def test_unlisted_members_are_warnings_and_not_stored(tmp_path: Path, importer: Importer) -> None:
    package = importer.accept(make_zip(tmp_path, extra=[("__MACOSX/._x", b"junk"), ("docs/", b"")]))
    assert [str(warning) for warning in package.warnings] == [
        "__MACOSX/._x: is not listed in the manifest; it was not stored"
    ]
    assert not importer.store.exists(sha256(b"junk"))


def test_listed_directory_member_is_refused(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"].append({"path": "docs", "kind": "other", "sha256": "0" * 64, "bytes": 0})
    assert importer.reject(make_zip(tmp_path, manifest=manifest, extra=[("docs/", b"")])) == [
        "docs: is a folder, not a file"
    ]


def test_missing_member_and_wrong_digest_are_all_reported(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"][1]["sha256"] = "e" * 64
    files = {path: data for path, data in DEFAULT_FILES.items() if path != "model-card.md"}
    problems = importer.reject(make_zip(tmp_path, files=files, manifest=manifest))
    assert problems == ["model-card.md: is listed in the manifest but not in the package"]
    problems = importer.reject(make_zip(tmp_path, manifest=manifest, name="second.zip"), hashed=True)
    assert problems == [
        f"evals/cyber.json: SHA-256 is {sha256(DEFAULT_FILES['evals/cyber.json'])}, the manifest says {'e' * 64}"
    ]


def test_wrong_size_in_a_zip_is_refused_before_hashing(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"][2]["bytes"] = 262144
    assert importer.reject(make_zip(tmp_path, manifest=manifest)) == [
        f"{SHARD}: size is 16,384 bytes, the manifest says 262,144"
    ]
