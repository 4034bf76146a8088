"""Gapless per-year reference numbers (CD-YYYY-NNNN, CL-YYYY-NNNN).

The counter row is advanced inside the transaction that uses the number, so a rolled
back transaction gives its number back and two writers can never get the same one.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from desktop_app.storage.models import Counter


def next_number(session: Session, prefix: str, year: int) -> tuple[str, int]:
    name = f"{prefix}-{year}"
    updated = session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar()
    if updated is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        updated = 1
    return f"{prefix}-{year}-{updated:04d}", updated


def peek(session: Session, prefix: str, year: int) -> int:
    return session.scalar(select(Counter.value).where(Counter.name == f"{prefix}-{year}")) or 0
