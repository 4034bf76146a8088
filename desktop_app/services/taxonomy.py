"""The findings taxonomy shipped in resources/taxonomy.json, and its titles.

Its own module, beside the findings service rather than in it: the detail pane shows
category titles from its first paint, before the ORM the findings service needs is loaded.
"""

from __future__ import annotations

import functools

from desktop_app.domain import findings as rules
from desktop_app.domain.findings import Category
from desktop_app.infra.resources import read_json


@functools.cache
def categories() -> tuple[Category, ...]:
    """The taxonomy shipped in resources/taxonomy.json."""
    data = read_json("taxonomy.json")
    return tuple(Category(str(c["id"]), str(c["group"]), str(c["title"])) for c in data["categories"])


def category_title(category_id: str, *, full: bool = False) -> str:
    """The taxonomy's title for `category_id` (the id itself for one no longer in the taxonomy)."""
    return rules.category_titles(categories(), full=full).get(category_id, category_id)
