"""Port of the controlled paper forms issued for a step before a system outage (OPS-02)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredPaperForm:
    """One numbered paper form, issued for one step record by one person at one time; never changed."""

    id: int
    number: str
    sequence: int
    batch_id: int
    step_record_id: int
    issued_by: int
    issued_at: datetime


class PaperFormRepository(Protocol):
    """Issued paper forms: append-only, numbered by a site-wide running sequence."""

    def next_sequence(self) -> int:
        """The next running number (the unique constraint refuses a concurrent duplicate)."""
        ...

    def add(self, form: StoredPaperForm) -> StoredPaperForm: ...
    def by_number(self, number: str) -> StoredPaperForm | None: ...
    def for_step(self, step_pk: int) -> list[StoredPaperForm]: ...
