"""Rule: artifact paths are relative POSIX paths (no `..`, no leading `/`, no backslash, no
drive letter), listed once each; names two systems would read as one file are refused.

The packages are real folders holding a file at the hostile path's target where one can
exist, so a refusal cannot be a mere "missing file".
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from .builders import DEFAULT_FILES, Importer, make_folder, make_zip, manifest_for, sha256


def _listing(path: str, data: bytes = b"secret\n") -> dict:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"].append({"path": path, "kind": "other", "sha256": sha256(data), "bytes": len(data)})
    return manifest


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("../outside.txt", 'must not contain ".." (it would leave the package) ("../outside.txt")'),
        ("evals/../../outside.txt", 'must not contain ".." (it would leave the package)'),
        ("/etc/passwd", 'expected a relative path; it starts with "/" ("/etc/passwd")'),
        ("evals\\..\\x.txt", 'expected a relative POSIX path with "/" separators; it contains a backslash'),
        ("C:/Windows/win.ini", 'expected a relative path; "C:" is a drive letter'),
        ("c:evil.txt", 'expected a relative path; "c:" is a drive letter'),
        ("evals//x.txt", 'has an empty segment ("//" or a trailing "/")'),
        ("evals/", 'has an empty segment ("//" or a trailing "/")'),
        ("./model-card.md", 'must not contain "." segments'),
        ("evals/x\n.txt", "contains a control character"),
        ("reports/CON.txt", '"CON.txt" is a device name on Windows'),
        ("reports/COM0.txt", '"COM0.txt" is a device name on Windows'),
        ("reports/lpt0", '"lpt0" is a device name on Windows'),
        ("CONIN$", '"CONIN$" is a device name on Windows'),
        ("logs/CONOUT$.log", '"CONOUT$.log" is a device name on Windows'),
        ("reports/summary.", '"summary." ends with a dot or space, which Windows drops'),
    ],
)
def test_path_rules(tmp_path: Path, importer: Importer, path: str, expected: str) -> None:
    (tmp_path / "outside.txt").write_bytes(b"secret\n")
    problems = importer.reject(make_folder(tmp_path, manifest=_listing(path)))
    index = len(DEFAULT_FILES)
    assert any(
        problem.startswith(f"manifest.json: artifacts[{index}].path: {expected}") for problem in problems
    ), problems


def test_nul_in_a_path_is_reported_once(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=_listing("model-card.md\x00.exe")))
    assert problems == ["manifest.json: artifacts[3].path: contains a NUL character (\\u0000)"]


def test_a_path_listed_twice_is_refused(tmp_path: Path, importer: Importer) -> None:
    data = DEFAULT_FILES["model-card.md"]
    problems = importer.reject(make_folder(tmp_path, manifest=_listing("model-card.md", data)))
    assert problems == ['manifest.json: artifacts[3].path: lists "model-card.md" again; it is already artifacts[0].path']


def test_paths_differing_only_in_case_are_refused(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=_listing("Model-Card.md")))
    assert problems == [
        'manifest.json: artifacts[3].path: "Model-Card.md" differs from artifacts[0].path "model-card.md" '
        "only in letter case or Unicode normalisation"
    ]


@pytest.mark.parametrize("twin", ["f\u0131le.txt", "\ufb01le.txt", "FILE.TXT"])
def test_paths_that_windows_or_compatibility_folding_merge_are_refused(tmp_path: Path, importer: Importer,
                                                                     twin: str) -> None:
    """NTFS upper-cases names to compare them: "fıle" (dotless i) and "FILE" are one file there."""
    files = {"FILE.txt": b"one", twin: b"two"}
    problems = importer.reject(make_zip(tmp_path, files=files, manifest=manifest_for(files)))
    assert len(problems) == 1, problems
    assert problems[0].startswith("manifest.json: artifacts[1].path: ")
    assert "only in letter case or Unicode normalisation" in problems[0]


def test_paths_differing_only_in_normalisation_are_refused(tmp_path: Path, importer: Importer) -> None:
    composed = unicodedata.normalize("NFC", "résumé.md")
    decomposed = unicodedata.normalize("NFD", "résumé.md")
    files = {composed: b"one", decomposed: b"two"}
    problems = importer.reject(make_folder(tmp_path, files=files, manifest=manifest_for(files)))
    assert len(problems) == 1
    assert problems[0].startswith("manifest.json: artifacts[1].path: ")
    assert "only in letter case or Unicode normalisation" in problems[0]


def test_a_file_listed_also_as_a_folder_is_refused(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=_listing("evals")))
    assert problems == [
        'manifest.json: artifacts[3].path: "evals" is listed as a file, but artifacts[1].path uses it as a folder'
    ]


def test_zip_paths_follow_the_same_rules(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_zip(tmp_path, manifest=_listing("../outside.txt"), extra=[("x", b"")]))
    assert any(problem.startswith('manifest.json: artifacts[3].path: must not contain ".."') for problem in problems)
