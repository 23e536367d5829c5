"""Ports of the batch record: the machine-readable export of the canonical record (REC-01)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class BatchRecordExporter(Protocol):
    """Turns the canonical record into an ISA-88 BatchProductionRecord document and checks such a document."""

    def to_batchml(self, record: Mapping[str, object]) -> bytes:
        """The record as BatchML XML (UTF-8, no DTD)."""
        ...

    def validate_batchml(self, xml: bytes) -> list[str]:
        """The document's problems against the official schema; empty when it is valid."""
        ...
