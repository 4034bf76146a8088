"""Every agency setting declared once: key, type, default, title, and how to check it.

Values live in the database (so a shared PostgreSQL queue shares them) and every change
is audited by the settings service. The declaration here is the single source of truth
for the admin dialog, validation and defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class SettingSpec:
    key: str
    type: type
    default: Any
    title: str
    check: Callable[[Any], str | None] | None = None
    """Returns an error sentence for a bad value, None when the value is fine."""


def _between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def _non_empty(value: Any) -> str | None:
    return None if str(value).strip() else "must not be empty"


def _time_zone(value: Any) -> str | None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}"
    return None


def _wording(*checks: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """Wording printed in letters: the given checks, then no claim of authority (`infra.wording`)."""

    def check(value: Any) -> str | None:
        from desktop_app.infra.wording import check_no_authority_claim

        for each in checks:
            error = each(value)
            if error:
                return error
        return check_no_authority_claim(value)

    return check


#: wording settings an administrator edits and letters print; each is checked for authority claims
LETTER_WORDING_KEYS = ("agency_name", "agency_address", "handling_marking", "disclaimer", "cui_controlled_by",
                       "cui_category", "cui_point_of_contact")

SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("agency_name", str, "Office of Frontier Model Security Review", "Agency name", _wording(_non_empty)),
    SettingSpec("agency_address", str, "Washington, DC", "Agency address (lines separated by ;)",
                _wording()),
    SettingSpec("agency_logo_blob", str, "", "Agency logo (blob digest)"),
    SettingSpec("handling_marking", str, "CUI", "Handling marking", _wording(_non_empty)),
    SettingSpec("cui_controlled_by", str, "Office of Frontier Model Security Review", "CUI: controlled by",
                _wording()),
    SettingSpec("cui_category", str, "PROPIN", "CUI: category", _wording()),
    SettingSpec("cui_point_of_contact", str, "Records Officer", "CUI: point of contact",
                _wording()),
    SettingSpec("disclaimer", str, "", "Agency statement (after each letter's Important notice)", _wording()),
    SettingSpec("response_days", int, 10, "Response deadline of an information request (calendar days)",
                _between(1, 365)),
    SettingSpec("review_window_days", int, 30, "Review window (calendar days)", _between(1, 365)),
    SettingSpec("agency_time_zone", str, "America/New_York", "Agency time zone", _time_zone),
    SettingSpec("lockout_attempts", int, 5, "Failed sign-ins before lock-out", _between(1, 100)),
    SettingSpec("lockout_minutes", int, 15, "Lock-out duration (minutes)", _between(1, 24 * 60)),
    SettingSpec("package_size_limit_gib", int, 64, "Largest package (GiB, uncompressed)", _between(1, 10_000)),
    SettingSpec("backup_keep", int, 7, "Automatic backups kept", _between(1, 365)),
    SettingSpec("blob_folder", str, "", "Blob folder (empty: inside the data folder)"),
)

SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


def validate(key: str, value: Any) -> Any:
    """Coerce and check one value; raises ValueError with a sentence naming the setting."""
    spec = SPEC_BY_KEY.get(key)
    if spec is None:
        raise ValueError(f"unknown setting {key!r}")
    try:
        coerced = spec.type(value) if not isinstance(value, spec.type) or isinstance(value, bool) else value
    except (TypeError, ValueError):
        raise ValueError(f"{spec.title}: expected {spec.type.__name__}, got {value!r}") from None
    if spec.check is not None:
        error = spec.check(coerced)
        if error:
            raise ValueError(f"{spec.title}: {error}")
    return coerced
