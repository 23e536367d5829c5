"""Retention of records (REC-04): how long a record must stay retrievable after the event that closes it."""

from __future__ import annotations

from datetime import date, datetime


def retention_until(closed_at: datetime, years: int) -> date:
    """The first day a record closed at this moment may leave retention; 29 February moves to 28 February."""
    start = closed_at.date()
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        return start.replace(year=start.year + years, day=28)
