"""Reading and judging manifest.json: bytes → JSON → schema → rules the schema cannot say.

The manifest is attacker-written text, so each step bounds what the next may cost:
size before decoding, nesting depth before parsing (the parser recurses), no NaN,
infinities, duplicate keys or unpaired surrogates (two readers could disagree on what
they mean), and a schema validator whose `uniqueItems` and `pattern` cannot be turned
against it. Every problem found is collected, each naming its manifest field.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from desktop_app.domain.errors import Problem
from desktop_app.domain.text import BIDI_CONTROLS, ZERO_WIDTH, name_key, text_problem
from desktop_app.domain.types import ArtifactKind, PackageKind
from desktop_app.infra.resources import read_json
from desktop_app.services.packages.model import (
    DeveloperInfo,
    ModelInfo,
    PackageArtifact,
    PackageLimits,
)
from desktop_app.services.packages.paths import collision_key, listed_path_problems, parent_folders
from desktop_app.services.packages.text import count, field_path, join_field, shown, type_name

MANIFEST_NAME = "manifest.json"
SCHEMA_RESOURCE = "schemas/submission-manifest-v1.schema.json"

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+", re.ASCII)
_PATTERN_MEANINGS = {
    "^[0-9a-f]{64}$": "64 lowercase hex characters",
    "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$": (
        "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    ),
    "^CL-[0-9]{4}-[0-9]{4,6}$": "a letter number such as CL-2026-0007",
}
_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class ManifestRejected(Exception):
    """Internal: the manifest cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def problem(message: str, field: str | None = None) -> Problem:
    return Problem(message, file=MANIFEST_NAME, field=field or None)


# --- bytes to JSON ---------------------------------------------------------------------


def _line_column(data: bytes, offset: int) -> str:
    head, newline = data[:offset], b"\n"
    return f"line {head.count(newline) + 1}, column {offset - head.rfind(newline)}"


def _text_line_column(text: str, offset: int) -> str:
    head, newline = text[:offset], "\n"
    return f"line {head.count(newline) + 1}, column {offset - head.rfind(newline)}"


def decode_manifest(data: bytes) -> str:
    """UTF-8 text of the manifest (a leading byte-order mark is tolerated)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = _line_column(data, error.start)
        raise ManifestRejected(
            [problem(f"is not UTF-8 text: byte 0x{data[error.start]:02x} at {where} (byte {error.start})")]
        ) from None
    return text.removeprefix("\ufeff")


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than `max_depth` before the (recursive) parser sees it."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > max_depth:
                where = _text_line_column(text, match.start())
                raise ManifestRejected(
                    [problem(f"is nested more than {max_depth} levels deep (at {where}); the format needs 4")]
                )
        elif token == "]" or token == "}":
            depth -= 1


class _BadValue(ValueError):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadValue(f"the number {shown(text)} is too large")
    return value


def _no_constants(name: str) -> float:
    raise _BadValue(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BadValue(f"the key {shown(key)} appears twice in one object")
        result[key] = value
    return result


def parse_json(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_float=_finite_float,
            parse_constant=_no_constants,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as error:
        message = error.msg[:1].lower() + error.msg[1:]
        raise ManifestRejected(
            [problem(f"is not valid JSON: {message} at line {error.lineno}, column {error.colno}")]
        ) from None
    except _BadValue as error:
        raise ManifestRejected([problem(f"is not acceptable JSON: {error}")]) from None
    except ValueError:  # int() refusing a number with thousands of digits
        raise ManifestRejected([problem("is not acceptable JSON: it holds a number with too many digits")]) from None
    except RecursionError:
        raise ManifestRejected([problem("is nested too deeply")]) from None


def load_manifest(data: bytes, limits: PackageLimits) -> Any:
    if len(data) > limits.max_manifest_bytes:
        raise ManifestRejected(
            [problem(f"is larger than {limits.max_manifest_bytes:,} bytes, the most a manifest may be")]
        )
    text = decode_manifest(data)
    check_depth(text, limits.max_json_depth)
    return parse_json(text)


# --- text sanity --------------------------------------------------------------------


def _walk_strings(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, node)]
    while stack:
        here, value = stack.pop()
        if isinstance(value, str):
            yield here, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield here + (key,), key
                stack.append((here + (key,), item))
        elif isinstance(value, list):
            stack.extend((here + (index,), item) for index, item in enumerate(value))


def text_problems(document: Any) -> list[Problem]:
    """NUL and unpaired surrogates (no database or file system stores them faithfully), and
    bidirectional controls and zero-width characters (the window and the signed letter would
    not show the same text, and names that look alike would differ)."""
    found = []
    for path, text in _walk_strings(document):
        if "\x00" in text:
            found.append(problem("contains a NUL character (\\u0000)", field_path(path)))
        elif any("\ud800" <= char <= "\udfff" for char in text):
            found.append(problem("contains an unpaired surrogate escape (\\ud800-\\udfff)", field_path(path)))
        elif (hidden := next((char for char in text if char in BIDI_CONTROLS or char in ZERO_WIDTH), None)):
            found.append(problem(text_problem(hidden) or "", field_path(path)))
    return found


# --- schema ----------------------------------------------------------------------------


def check_date(value: str) -> str | None:
    """Why `value` is not a real calendar date written YYYY-MM-DD (None when it is)."""
    match = _DATE.fullmatch(value)
    if not match:
        return f"expected a date written YYYY-MM-DD, got {shown(value)}"
    try:
        dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return f"{shown(value)} is not a real calendar date"
    return None


def check_date_time(value: str) -> str | None:
    """Why `value` is not an RFC 3339 date-time with an offset (None when it is)."""
    match = _DATE_TIME.fullmatch(value)
    if not match:
        return f'expected an RFC 3339 date and time such as "2026-11-18T15:04:00Z", got {shown(value)}'
    if match.group(8) is None:
        return f'{shown(value)} has no UTC offset; add "Z" or one such as "+01:00"'
    try:
        parse_date_time(value).astimezone(dt.UTC)  # 0001-01-01T00:00:00+23:59 is before year 1 in UTC
    except ValueError:
        return f"{shown(value)} is not a real date and time"
    except OverflowError:
        return f"{shown(value)} is out of range once converted to UTC"
    return None


def parse_date_time(value: str) -> dt.datetime:
    match = _DATE_TIME.fullmatch(value)
    if not match or match.group(8) is None:
        raise ValueError(value)
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ".0"
    micro = int((fraction[1:] + "000000")[:6])
    offset = match.group(8)
    if offset in ("Z", "z"):
        zone = dt.UTC
    else:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(value)
        sign = 1 if offset[0] == "+" else -1
        zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date")(lambda value: not isinstance(value, str) or check_date(value) is None)
    checker.checks("date-time")(lambda value: not isinstance(value, str) or check_date_time(value) is None)
    checker.checks("email")(lambda value: not isinstance(value, str) or bool(_EMAIL.fullmatch(value)))
    return checker


def _canonical(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def _unique_items(validator: Any, unique: bool, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """jsonschema's own check is quadratic for unhashable items; this one is linear."""
    if unique and validator.is_type(instance, "array"):
        seen = set()
        for item in instance:
            key = _canonical(item)
            if key in seen:
                yield ValidationError("has duplicate entries")
                return
            seen.add(key)


@functools.cache
def _anchored(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262: `$` is the very end, not "before a final newline".
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _anchored(pattern).search(instance):
        yield ValidationError("does not match the pattern")


@functools.cache
def _validator() -> Any:
    schema = read_json(SCHEMA_RESOURCE)
    Draft202012Validator.check_schema(schema)
    strict = validators.extend(Draft202012Validator, {"uniqueItems": _unique_items, "pattern": _pattern})
    return strict(schema, format_checker=_format_checker())


def schema_problems(document: Any, limit: int) -> list[Problem]:
    """Every schema error, in document order, each as one Problem per field."""
    found: list[Problem] = []
    done: set[tuple[str, str]] = set()
    for error in _validator().iter_errors(document):
        found += _describe(error, done)
        if len(found) > limit:
            break
    listed = sorted(found[:limit], key=lambda item: _natural(item.field or ""))
    if len(found) > limit:
        listed.append(Problem(f"… and more schema problems, not listed (stopped after {limit:,})"))
    return listed


def _natural(text: str) -> list[tuple[int, int | str]]:
    """Sort `artifacts[2]` before `artifacts[10]`."""
    # re.split with a group puts the digit runs at odd positions (str.isdigit would also
    # accept "¹", which int() refuses)
    parts = re.split(r"([0-9]+)", text)
    return [(1, int(part)) if index % 2 else (0, part) for index, part in enumerate(parts)]


def _describe(error: ValidationError, done: set[tuple[str, str]]) -> list[Problem]:
    where = field_path(error.absolute_path)
    keyword = str(error.validator)
    instance = error.instance
    if keyword in ("required", "additionalProperties"):
        if (where, keyword) in done:  # jsonschema reports each missing name separately
            return []
        done.add((where, keyword))
    if keyword == "required":
        return [
            problem("is required but missing", join_field(where, name))
            for name in error.validator_value
            if name not in instance
        ]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        return [
            problem("is not a field of format v1 (unknown field)", join_field(where, str(name)))
            for name in instance
            if name not in known
        ]
    if keyword == "type" and not where:
        return [problem(f"expected a JSON object at the top level, got {type_name(instance)}")]
    return [problem(_explain(keyword, error.validator_value, instance), where)]


def _explain(keyword: str, expected: Any, value: Any) -> str:
    got = f"got {shown(value)}"
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
        if isinstance(value, (dict, list)):
            return f"expected {wanted}, got {type_name(value)}"
        return f"expected {wanted}, got {type_name(value)} {shown(value)}"
    if keyword == "const":
        return f"expected {shown(expected)}, {got}"
    if keyword == "enum":
        return "expected one of " + ", ".join(str(option) for option in expected) + f"; {got}"
    if keyword == "pattern":
        return f"expected {_PATTERN_MEANINGS.get(expected, 'text matching ' + expected)}, {got}"
    if keyword == "format":
        return _explain_format(expected, value)
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"expected at least {count(expected, 'character')}, {got}"
    if keyword == "maxLength":
        return f"expected at most {count(expected, 'character')}, got {len(value):,}"
    if keyword == "minimum":
        return f"expected a number of at least {expected}, {got}"
    if keyword == "exclusiveMinimum":
        return f"expected a number greater than {expected}, {got}"
    if keyword == "minItems":
        return f"expected at least {count(expected, 'entry', 'entries')}, got {len(value)}"
    if keyword == "maxItems":
        return f"expected at most {expected:,} entries, got {len(value):,}"
    if keyword == "uniqueItems":
        return "lists the same value more than once"
    return f"is not valid ({keyword}: {shown(expected)}), {got}"


def _explain_format(name: str, value: Any) -> str:
    if name == "date":
        return check_date(value) or "expected a date written YYYY-MM-DD"
    if name == "date-time":
        return check_date_time(value) or "expected an RFC 3339 date and time with an offset"
    if name == "email":
        return f"expected an e-mail address, got {shown(value)}"
    return f"expected {name}, got {shown(value)}"


# --- rules beyond the schema ---------------------------------------------------------


def artifact_path_problems(document: dict[str, Any]) -> list[Problem]:
    """Path rules, listed-once, case/normalisation collisions and file-versus-folder clashes."""
    artifacts = document.get("artifacts")
    if not isinstance(artifacts, list):
        return []
    found: list[Problem] = []
    first_by_path: dict[str, int] = {}
    first_by_key: dict[str, int] = {}
    for index, artifact in enumerate(artifacts):
        path = artifact.get("path") if isinstance(artifact, dict) else None
        if not isinstance(path, str) or not path:
            continue
        field = f"artifacts[{index}].path"
        if text_problems(path):
            continue  # the NUL or surrogate is already reported for this field
        rule_problems = listed_path_problems(path)
        found += [problem(f"{message} ({shown(path)})", field) for message in rule_problems]
        if path in first_by_path:
            found.append(problem(f"lists {shown(path)} again; it is already artifacts[{first_by_path[path]}].path", field))
            continue
        key = collision_key(path)
        if key in first_by_key:
            other = first_by_key[key]
            found.append(
                problem(
                    f"{shown(path)} differs from artifacts[{other}].path {shown(artifacts[other]['path'])} "
                    "only in letter case or Unicode normalisation",
                    field,
                )
            )
        first_by_path[path] = index
        first_by_key.setdefault(key, index)
    found += _file_folder_clashes(first_by_path)
    return found


def _file_folder_clashes(first_by_path: dict[str, int]) -> list[Problem]:
    found = []
    for path, index in first_by_path.items():
        for folder in parent_folders(path):
            if folder in first_by_path:
                found.append(
                    problem(
                        f"{shown(folder)} is listed as a file, but artifacts[{index}].path uses it as a folder",
                        f"artifacts[{first_by_path[folder]}].path",
                    )
                )
    return found


def reference_problems(document: dict[str, Any]) -> list[Problem]:
    kind = document.get("kind", "new")
    refers_to = document.get("refers_to")
    if kind in ("supplement", "resubmission") and refers_to is None:
        return [problem(f"is required when kind is {kind}: the package_id of the earlier package", "refers_to")]
    if isinstance(refers_to, str) and refers_to == document.get("package_id"):
        return [problem("names this package itself; expected the package_id of an earlier package", "refers_to")]
    if "responds_to_condition" in document and kind != "supplement":
        return [problem(f"only a supplement answers a condition; this package's kind is {kind}",
                        "responds_to_condition")]
    return []


def manifest_problems(document: Any, limits: PackageLimits) -> list[Problem]:
    """All problems with a parsed manifest; an empty list means it is valid."""
    found = text_problems(document)
    found += schema_problems(document, limits.max_problems)
    if isinstance(document, dict):
        found += artifact_path_problems(document)
        found += reference_problems(document)
    return found


# --- the typed view --------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestView:
    """Typed fields of a manifest that passed `manifest_problems`."""

    document: dict[str, Any]
    kind: PackageKind
    package_id: str
    refers_to: str | None
    submitted_at: dt.datetime
    developer: DeveloperInfo
    model: ModelInfo
    artifacts: tuple[PackageArtifact, ...]


def view(document: dict[str, Any]) -> ManifestView:
    kind = PackageKind(document.get("kind", "new"))
    developer, contact, model = document["developer"], document["developer"]["contact"], document["model"]
    parameters = model.get("parameters_billion")
    return ManifestView(
        document=document,
        kind=kind,
        package_id=name_key(document["package_id"]),
        refers_to=name_key(document["refers_to"]) if kind is not PackageKind.NEW and document.get("refers_to") else None,
        submitted_at=parse_date_time(document["submitted_at"]),
        developer=DeveloperInfo(
            name=name_key(developer["name"]),
            address=developer.get("address"),
            contact_name=contact["name"],
            contact_email=contact["email"],
            contact_phone=contact.get("phone"),
        ),
        model=ModelInfo(
            name=model["name"],
            version=model["version"],
            family=model.get("family"),
            intended_release=dt.date.fromisoformat(model["intended_release"]),
            modalities=tuple(model.get("modalities", ())),
            deployment=tuple(model.get("deployment", ())),
            parameters_billion=float(parameters) if parameters is not None else None,
            description=model.get("description"),
        ),
        artifacts=tuple(
            PackageArtifact(
                path=item["path"],
                kind=ArtifactKind(item["kind"]),
                sha256=item["sha256"],
                bytes=int(item["bytes"]),
                description=item.get("description"),
            )
            for item in document["artifacts"]
        ),
    )


def kind_warnings(document: dict[str, Any]) -> list[Problem]:
    if document.get("kind", "new") == "new" and "refers_to" in document:
        return [problem("is ignored: a new package does not refer to an earlier one", "refers_to")]
    return []
