"""Fixtures of the reports tests: the hand-computed database (small_db.py).

`small` is a fresh copy per test (for tests that write: settings, exports, audit);
`small_shared` is built once per module for the many tests that only read figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from .small_db import Small, build_small, make_people


@pytest.fixture
def small(ctx, people) -> Small:  # noqa: ANN001
    return build_small(ctx, people)


@pytest.fixture(scope="module")
def small_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Small]:
    from desktop_app.services.context import open_data_folder

    moment = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)  # the suite's FakeClock start
    context = open_data_folder(tmp_path_factory.mktemp("small") / "data", clock=lambda: moment)
    try:
        yield build_small(context, make_people(context))
    finally:
        context.close()
