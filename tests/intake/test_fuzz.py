"""Whatever a package holds, the reader either accepts it or refuses it cleanly.

Hypothesis mutates a valid manifest, throws random bytes at the manifest and at the
zip reader, flips bytes in a valid zip and builds zips with random names, flags and
modes. The only exception allowed out is InputRejected, and a refusal leaves the blob
store as it was.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import stat
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.domain.errors import InputRejected
from desktop_app.services.packages import PackageLimits, ValidatedPackage, read_and_stage

from .builders import DEFAULT_FILES, Importer, central_entries, make_folder, make_zip, manifest_for, snapshot, zip_bytes

FUZZ = settings(
    max_examples=int(os.environ.get("INTAKE_FUZZ_EXAMPLES", "120")),  # raise it for a long soak
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SMALL_LIMITS = PackageLimits(max_members=50, max_total_bytes=10 * 1024 * 1024, max_central_directory_bytes=64 * 1024)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
interesting_text = st.sampled_from(
    ["", "../x", "/etc/passwd", "C:\\x", "a//b", "model-card.md", "MODEL-CARD.md", "2026-02-30", "\u202e", "\x00",
     "2026-11-18T15:04:00", "0" * 64, "weights/shard-0.bin", "a" * 500]
) | st.text(max_size=40)


@functools.cache
def _shared_importer() -> Importer:
    """One store for every example (creating one fsyncs); a refusal must leave it unchanged,
    and accepted packages are never promoted, so it stays the same throughout."""
    return Importer(Path(tempfile.mkdtemp(prefix="intake-fuzz-")) / "blobs")


@pytest.fixture(scope="module", autouse=True)
def _remove_shared_store() -> Iterator[None]:
    yield
    if _shared_importer.cache_info().currsize:
        shutil.rmtree(_shared_importer().store.root.parent, ignore_errors=True)
        _shared_importer.cache_clear()


@contextmanager
def fresh_importer() -> Iterator[tuple[Path, Importer]]:
    importer = _shared_importer()
    with tempfile.TemporaryDirectory(dir=importer.store.root.parent) as folder:
        yield Path(folder), importer


def only_clean_refusals(importer: Importer, package: Path, limits: PackageLimits | None = None) -> ValidatedPackage | None:
    before = snapshot(importer.store.root)
    try:
        with importer.store.staging() as area:
            return read_and_stage(package, area, limits=limits)
    except InputRejected as rejected:
        assert rejected.problems and all(str(problem) for problem in rejected.problems)
        assert snapshot(importer.store.root) == before
        return None


def _containers(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _containers(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _containers(value, path + (index,))


Mutation = Callable[[Any], None]


@st.composite
def mutated_manifests(draw: st.DrawFn) -> dict[str, Any]:
    manifest = copy.deepcopy(manifest_for(DEFAULT_FILES))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_containers(manifest))
        target = draw(st.sampled_from(paths))
        if not target:
            continue
        parent = manifest
        for step in target[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "text", "add"]))
        if action == "replace":
            parent[target[-1]] = draw(json_values)
        elif action == "text":
            parent[target[-1]] = draw(interesting_text)
        elif action == "delete":
            del parent[target[-1]]
        elif isinstance(parent, dict):
            parent[draw(interesting_text)] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return manifest


@FUZZ
@given(manifest=mutated_manifests())
def test_mutated_manifests_are_accepted_or_cleanly_refused(manifest: dict[str, Any]) -> None:
    with fresh_importer() as (root, importer):
        data = json.dumps(manifest, allow_nan=True).encode("utf-8", "surrogatepass")
        only_clean_refusals(importer, make_folder(root, manifest=data))


@FUZZ
@given(data=st.binary(max_size=2000) | st.text(max_size=500).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_random_manifest_bytes_are_cleanly_refused(data: bytes) -> None:
    with fresh_importer() as (root, importer):
        assert only_clean_refusals(importer, make_folder(root, manifest=data)) is None


@FUZZ
@given(data=st.binary(max_size=3000), magic=st.sampled_from([b"PK\x03\x04", b"PK\x05\x06", b""]))
def test_random_bytes_as_a_zip_are_cleanly_refused(data: bytes, magic: bytes) -> None:
    with fresh_importer() as (root, importer):
        package = root / "random.zip"
        package.write_bytes(magic + data)
        assert only_clean_refusals(importer, package) is None


_VALID_ZIP = zip_bytes(
    [("manifest.json", json.dumps(manifest_for(DEFAULT_FILES)).encode())] + list(DEFAULT_FILES.items())
)


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, len(_VALID_ZIP) - 1), st.integers(1, 255)), min_size=1, max_size=8),
    cut=st.none() | st.integers(0, len(_VALID_ZIP)),
)
def test_damaged_zips_are_accepted_or_cleanly_refused(flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(_VALID_ZIP)
    for offset, mask in flips:
        data[offset] ^= mask
    with fresh_importer() as (root, importer):
        package = root / "damaged.zip"
        package.write_bytes(bytes(data[:cut]))
        only_clean_refusals(importer, package, SMALL_LIMITS)


def _flip_header_fields(path: Path, fields: list[tuple[int, int, int]]) -> None:
    """Overwrite (entry, offset-in-header, value) triples in central directory headers."""
    data = bytearray(path.read_bytes())
    entries = central_entries(bytes(data))
    for index, offset, value in fields:
        entry = entries[index % len(entries)]
        struct.pack_into("<H", data, entry.offset + offset, value)
    path.write_bytes(bytes(data))


member_names = interesting_text | st.sampled_from(["manifest.json", "weights/shard-0.bin", "dir/", "a\\..\\b"])


@FUZZ
@given(
    members=st.lists(
        st.tuples(member_names, st.binary(max_size=300), st.integers(0, 0xFFFF), st.sampled_from([0, 8, 12, 14])),
        max_size=6,
    ),
    header_edits=st.lists(
        st.tuples(st.integers(0, 20), st.sampled_from([4, 6, 8, 10, 28, 30, 32, 38, 40]), st.integers(0, 0xFFFF)),
        max_size=3,
    ),
)
def test_random_zips_are_accepted_or_cleanly_refused(
    members: list[tuple[str, bytes, int, int]], header_edits: list[tuple[int, int, int]]
) -> None:
    extra = []
    for name, content, mode, method in members:
        info = zipfile.ZipInfo(name.replace("\x00", "") or "x")
        info.external_attr = (mode | (stat.S_IFREG if mode & 1 else 0)) << 16
        info.compress_type = method
        extra.append((info, content))
    with fresh_importer() as (root, importer):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # duplicate names are part of the fuzzing
                package = make_zip(root, extra=extra)
        except (UnicodeEncodeError, ValueError):
            return  # zipfile cannot write this name at all
        if header_edits:
            _flip_header_fields(package, header_edits)
        only_clean_refusals(importer, package, SMALL_LIMITS)
