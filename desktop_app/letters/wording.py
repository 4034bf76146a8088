"""The wording table of letters: one row per kind and decision, read from `templates/letter.json`.

Each row says what a letter of that kind and decision means: its title, opening, the
outcome paragraph (clearance letters only), the "Important notice", the closing, and the
meaning of the signature, which is printed under it, drawn in the visible stamp and
written into the PDF signature's Reason. Keeping the words as data lets a reviewer read
every row in one place, and lets the tests render every row and read it back.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from desktop_app.domain.types import Decision, LetterKind
from desktop_app.infra.resources import read_json

#: kinds that record an evaluation's outcome and so carry a decision
DECIDED_KINDS = frozenset({LetterKind.CLEARANCE, LetterKind.CORRECTED})


@dataclass(frozen=True)
class Wording:
    kind: LetterKind
    decision: Decision | None
    title: str
    opening: str
    notice: str
    closing: str
    date_label: str
    meaning: str
    outcome: str = ""
    body_heading: str = ""


@functools.cache
def template() -> dict[str, Any]:
    data: dict[str, Any] = read_json("templates/letter.json")
    return data


@functools.cache
def rows() -> tuple[Wording, ...]:
    found = []
    for row in template()["rows"]:
        decision = Decision(row["decision"]) if row.get("decision") else None
        found.append(Wording(LetterKind(row["kind"]), decision, row["title"], row["opening"], row["notice"],
                             row["closing"], row["date_label"], row["meaning"], row.get("outcome", ""),
                             row.get("body_heading", "")))
    return tuple(found)


def wording(kind: LetterKind, decision: Decision | None) -> Wording:
    """The row for a kind and decision; a missing row is a broken installation, said plainly."""
    for row in rows():
        if row.kind is kind and row.decision is decision:
            return row
    raise LookupError(f"templates/letter.json has no wording for {kind.value} / {decision.value if decision else '-'}")


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with its {placeholders} filled; one the letter has no value for stays visible, never blank."""
    return text.format_map(_Keep(values))


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
