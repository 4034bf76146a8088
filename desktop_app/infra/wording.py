"""Checks on wording that ends up in a signed letter: no claim of an authority the order does not give.

Under the order as signed, early access is voluntary; a letter records an evaluation's
outcome and never licenses, permits, authorises or preclears a release. The phrases
that would say otherwise are data (`resources/templates/authority-claims.json`), read
by the settings check for admin-edited wording and by the test of the letter wording.
A phrase counts as denied, and so allowed, when a negation stands a few words before
it in the same clause ("it is not a licence, permit or preclearance").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from desktop_app.infra.resources import read_json

_CLAUSE_END = re.compile(r"[.;:!?]|\bbut\b|\bhowever\b", re.IGNORECASE)
_WORD = re.compile(r"[\w'’-]+")


@dataclass(frozen=True)
class _Rules:
    claims: tuple[tuple[str, re.Pattern[str]], ...]
    negations: frozenset[str]
    window: int


@functools.cache
def _rules() -> _Rules:
    data: dict[str, Any] = read_json("templates/authority-claims.json")
    claims = tuple((str(c["name"]), re.compile(str(c["pattern"]), re.IGNORECASE)) for c in data["claims"])
    return _Rules(claims, frozenset(str(n).lower() for n in data["negations"]), int(data["negation_window_words"]))


def authority_claims(text: str) -> list[str]:
    """The names of the claims `text` makes without denying them (empty when the text is fine)."""
    rules = _rules()
    found: list[str] = []
    for name, pattern in rules.claims:
        for match in pattern.finditer(text):
            if not _denied(text[: match.start()], rules) and name not in found:
                found.append(name)
    return found


def _denied(before: str, rules: _Rules) -> bool:
    clause = _CLAUSE_END.split(before)[-1]
    words = [word.lower() for word in _WORD.findall(clause)][-rules.window:]
    return any(word in rules.negations for word in words)


def check_no_authority_claim(value: Any) -> str | None:
    """A settings check: an error sentence naming the claim, or None."""
    claims = authority_claims(str(value))
    if not claims:
        return None
    return (f"claims an authority the voluntary order does not give ({', '.join(claims)}); letters record an "
            f"evaluation's outcome and never license, permit, authorise or preclear a release")
