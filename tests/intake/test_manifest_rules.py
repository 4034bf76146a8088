"""Rule: manifest.json is UTF-8 JSON, at most 1 MiB, valid against the schema, with real dates.

Each test writes a folder package whose manifest breaks one rule and checks that the
refusal names manifest.json and the field, and that nothing reached the blob store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.services.packages import PackageLimits
from desktop_app.services.packages.manifest import schema_problems

from .builders import DEFAULT_FILES, Importer, make_folder, manifest_for, one_matching


def test_broken_json_is_refused_with_its_position(tmp_path: Path, importer: Importer) -> None:
    text = json.dumps(manifest_for(DEFAULT_FILES), indent=2).replace('"kind": "new",', '"kind": "new"', 1)
    problems = importer.reject(make_folder(tmp_path, manifest=text.encode()))
    assert problems == ["manifest.json: is not valid JSON: expecting ',' delimiter at line 6, column 3"]


def test_empty_manifest_is_refused(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=b""))
    assert problems == ["manifest.json: is not valid JSON: expecting value at line 1, column 1"]


def test_non_utf8_manifest_is_refused_with_its_position(tmp_path: Path, importer: Importer) -> None:
    text = json.dumps(manifest_for(DEFAULT_FILES), indent=2).encode()
    latin1 = text.replace(b'"Test Labs"', '"Tést Labs"'.encode("latin-1"))
    problems = importer.reject(make_folder(tmp_path, manifest=latin1))
    assert len(problems) == 1
    assert problems[0].startswith("manifest.json: is not UTF-8 text: byte 0xe9 at line 7, column 15")


def test_utf16_manifest_is_refused(tmp_path: Path, importer: Importer) -> None:
    data = json.dumps(manifest_for(DEFAULT_FILES)).encode("utf-16")
    one_matching(importer.reject(make_folder(tmp_path, manifest=data)), "manifest.json", "not UTF-8", "byte 0xff")


def test_byte_order_mark_is_tolerated(tmp_path: Path, importer: Importer) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(manifest_for(DEFAULT_FILES)).encode()
    assert importer.accept(make_folder(tmp_path, manifest=data)).package_id == "TEST-0001"


def test_manifest_over_one_mebibyte_is_refused(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES, model={"name": "P", "version": "1", "intended_release": "2026-12-15",
                                                  "description": "x" * (1024 * 1024)})
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert problems == ["manifest.json: is larger than 1,048,576 bytes, the most a manifest may be"]


def test_deep_nesting_is_refused_before_parsing(tmp_path: Path, importer: Importer) -> None:
    data = b'{"claims": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    problems = importer.reject(make_folder(tmp_path, manifest=data))
    assert problems == ["manifest.json: is nested more than 32 levels deep (at line 1, column 43); the format needs 4"]


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES, claims={"known_limitations": "[[[[" * 100 + '\\"{{{{' * 100})
    assert importer.accept(make_folder(tmp_path, manifest=manifest)).package_id == "TEST-0001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'"parameters_billion": NaN', "NaN is not valid JSON"),
        (b'"parameters_billion": Infinity', "Infinity is not valid JSON"),
        (b'"parameters_billion": 1e999', 'the number "1e999" is too large'),
        (b'"parameters_billion": 1' + b"0" * 5000, "it holds a number with too many digits"),
        (b'"name": "a", "name": "b"', 'the key "name" appears twice in one object'),
    ],
)
def test_json_that_parsers_disagree_on_is_refused(tmp_path: Path, importer: Importer, raw: bytes, expected: str) -> None:
    text = json.dumps(manifest_for(DEFAULT_FILES)).encode()
    data = text.replace(b'"name": "Probe"', raw, 1)
    problems = importer.reject(make_folder(tmp_path, manifest=data))
    assert problems == [f"manifest.json: is not acceptable JSON: {expected}"]


def test_nul_and_unpaired_surrogates_in_text_are_refused(tmp_path: Path, importer: Importer) -> None:
    text = json.dumps(manifest_for(DEFAULT_FILES)).encode()
    data = text.replace(b'"Test Labs"', b'"Test\\u0000Labs"').replace(b'"Probe"', b'"Pro\\ud800be"')
    problems = importer.reject(make_folder(tmp_path, manifest=data))
    assert "manifest.json: developer.name: contains a NUL character (\\u0000)" in problems
    assert "manifest.json: model.name: contains an unpaired surrogate escape (\\ud800-\\udfff)" in problems


def test_top_level_must_be_an_object(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=b"[1, 2]"))
    assert problems == ["manifest.json: expected a JSON object at the top level, got a list"]


def test_every_schema_error_is_listed_with_its_field(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES, format="v2", package_id="-bad id", surprise=True)
    del manifest["developer"]["contact"]["email"]
    manifest["artifacts"][1]["sha256"] = "XYZ"
    manifest["artifacts"][2]["bytes"] = -1
    manifest["artifacts"][2]["kind"] = "binary"
    manifest["model"]["modalities"] = ["text", "text"]
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert problems == [
        'manifest.json: artifacts[1].sha256: expected 64 lowercase hex characters, got "XYZ"',
        "manifest.json: artifacts[2].bytes: expected a number of at least 0, got -1",
        "manifest.json: artifacts[2].kind: expected one of model-card, system-card, eval-report, eval-log, "
        'red-team-report, safeguards, weights, other; got "binary"',
        "manifest.json: developer.contact.email: is required but missing",
        'manifest.json: format: expected "clearance-desk/submission-v1", got "v2"',
        "manifest.json: model.modalities: lists the same value more than once",
        "manifest.json: package_id: expected 1 to 64 letters, digits, '.', '_' or '-', "
        'starting with a letter or digit, got "-bad id"',
        "manifest.json: surprise: is not a field of format v1 (unknown field)",
    ]


def test_wrong_types_are_named(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"][0]["bytes"] = "569"
    manifest["artifacts"][1]["bytes"] = 1.5
    manifest["developer"] = ["Test Labs"]
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert problems == [
        'manifest.json: artifacts[0].bytes: expected a whole number, got text "569"',
        "manifest.json: artifacts[1].bytes: expected a whole number, got a number 1.5",
        "manifest.json: developer: expected an object, got a list",
    ]


def test_a_trailing_newline_does_not_slip_through_a_pattern(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=manifest_for(DEFAULT_FILES, package_id="TEST-1\n")))
    one_matching(problems, "manifest.json: package_id: expected 1 to 64 letters", '"TEST-1\\u000a"')


def test_uppercase_digest_is_refused(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"][0]["sha256"] = manifest["artifacts"][0]["sha256"].upper()
    one_matching(importer.reject(make_folder(tmp_path, manifest=manifest)), "artifacts[0].sha256", "64 lowercase hex")


def test_no_artifacts_is_refused(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, files={}, manifest=manifest_for({})))
    assert problems == ["manifest.json: artifacts: expected at least 1 entry, got 0"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-30", '"2026-02-30" is not a real calendar date'),
        ("2026-13-01", '"2026-13-01" is not a real calendar date'),
        ("2026-1-5", 'expected a date written YYYY-MM-DD, got "2026-1-5"'),
        ("20261215", 'expected a date written YYYY-MM-DD, got "20261215"'),
        ("2026-12-15T00:00:00Z", 'expected a date written YYYY-MM-DD, got "2026-12-15T00:00:00Z"'),
        ("２０２６-12-15", 'expected a date written YYYY-MM-DD, got "２０２６-12-15"'),
    ],
)
def test_intended_release_must_be_a_real_date(tmp_path: Path, importer: Importer, value: str, expected: str) -> None:
    manifest = manifest_for(DEFAULT_FILES, model={"name": "P", "version": "1", "intended_release": value})
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert problems == [f"manifest.json: model.intended_release: {expected}"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-18T15:04:00", '"2026-11-18T15:04:00" has no UTC offset; add "Z" or one such as "+01:00"'),
        ("2026-02-30T15:04:00Z", '"2026-02-30T15:04:00Z" is not a real date and time'),
        ("2026-11-18T25:04:00Z", '"2026-11-18T25:04:00Z" is not a real date and time'),
        ("2026-11-18T15:04:00+24:00", '"2026-11-18T15:04:00+24:00" is not a real date and time'),
        ("2026-11-18 15:04:00Z", "expected an RFC 3339 date and time"),
        ("18/11/2026", "expected an RFC 3339 date and time"),
    ],
)
def test_submitted_at_must_be_rfc3339_with_an_offset(tmp_path: Path, importer: Importer, value: str, expected: str) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=manifest_for(DEFAULT_FILES, submitted_at=value)))
    assert len(problems) == 1
    assert problems[0].startswith(f"manifest.json: submitted_at: {expected}")


def test_offsets_and_fractions_are_kept(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES, submitted_at="2026-11-21T20:00:00.123456789+01:00")
    package = importer.accept(make_folder(tmp_path, manifest=manifest))
    assert package.submitted_at.isoformat() == "2026-11-21T20:00:00.123456+01:00"


def test_supplement_needs_refers_to(tmp_path: Path, importer: Importer) -> None:
    problems = importer.reject(make_folder(tmp_path, manifest=manifest_for(DEFAULT_FILES, kind="supplement")))
    assert problems == [
        "manifest.json: refers_to: is required when kind is supplement: the package_id of the earlier package"
    ]


def test_a_package_cannot_refer_to_itself(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES, kind="resubmission", refers_to="TEST-0001")
    one_matching(importer.reject(make_folder(tmp_path, manifest=manifest)), "refers_to: names this package itself")


def test_problem_count_is_bounded(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    manifest["artifacts"] = [{"path": f"f{i}", "kind": "nope", "sha256": "x", "bytes": -1} for i in range(2000)]
    problems = importer.reject(make_folder(tmp_path, manifest=manifest), PackageLimits(max_problems=50))
    assert len(problems) <= 51
    assert problems[-1].startswith("… and ")


def test_quadratic_unique_items_check_is_avoided() -> None:
    # jsonschema's own uniqueItems compares unhashable items pairwise: 20,000 of them
    # would take minutes. The replacement is linear.
    document = manifest_for(DEFAULT_FILES)
    document["model"]["modalities"] = [{}] * 20_000
    problems = [str(problem) for problem in schema_problems(document, limit=10**6)]
    one_matching(problems, "model.modalities: lists the same value more than once")


def test_hostile_text_is_escaped_in_messages(tmp_path: Path, importer: Importer) -> None:
    manifest = manifest_for(DEFAULT_FILES, package_id="evil\u202egnp.exe" + "x" * 500)
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    problem = one_matching(problems, "package_id", "got")
    assert "\u202e" not in problem and "\\u202e" in problem
    assert len(problem) < 300
    one_matching(problems, "package_id: contains the bidirectional control U+202E")


def test_field_names_with_unusual_digits_are_reported(tmp_path: Path, importer: Importer) -> None:
    # Found by the fuzz test: "¹" is a digit to str.isdigit() but not to int().
    problems = importer.reject(make_folder(tmp_path, manifest=manifest_for(DEFAULT_FILES, **{"0¹0": None})))
    assert problems == ['manifest.json: ["0¹0"]: is not a field of format v1 (unknown field)']


# -- text that shows otherwise than it is stored (issue 14, item 7) -----------------------------

@pytest.mark.parametrize(("where", "value", "expected"), [
    (("model", "version"), "\u202e1.3", "model.version: contains the bidirectional control U+202E"),
    (("model", "version"), "3.1\u2066", "model.version: contains the bidirectional control U+2066"),
    (("developer", "name"), "Test\u200b Labs", "developer.name: contains the invisible character U+200B"),
    (("developer", "contact", "name"), "Com\ufeffpliance", "developer.contact.name: contains the invisible character U+FEFF"),
    (("model", "description"), "fine\u200ftext", "model.description: contains the bidirectional control U+200F"),
    (("model", "name"), "Probe\u061c", "model.name: contains the bidirectional control U+061C"),
])
def test_bidi_and_invisible_characters_are_refused(tmp_path: Path, importer: Importer, where: tuple[str, ...],
                                                   value: str, expected: str) -> None:
    manifest = manifest_for(DEFAULT_FILES)
    node = manifest
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert len(problems) == 1 and problems[0].startswith(f"manifest.json: {expected}"), problems


def test_a_submitted_at_before_year_one_in_utc_is_refused(tmp_path: Path, importer: Importer) -> None:
    """A real date and time with a real offset that no datetime can hold in UTC (OverflowError before; item 8)."""
    manifest = manifest_for(DEFAULT_FILES, submitted_at="0001-01-01T00:00:00+23:59")
    problems = importer.reject(make_folder(tmp_path, manifest=manifest))
    assert problems == ['manifest.json: submitted_at: "0001-01-01T00:00:00+23:59" is out of range once converted '
                        'to UTC']
