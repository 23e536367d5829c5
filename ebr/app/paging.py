"""One page of a long list: which rows, which page of how many, so a screen's cost stays that of a page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

PAGE_SIZE = 25  # rows a list screen shows at once


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows of page `number` (from 1) of a list of `total` rows, `size` a page."""

    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the list has (one, even when empty)."""
        return max(1, -(-self.total // self.size))


def page_number(raw: object) -> int:
    """The page asked for: anything but a positive whole number means the first page."""
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # a huge number is no page either
        return 1
    return max(1, int(text))


def offset_of(number: int, total: int, size: int) -> int:
    """Where page `number` starts; a page past the end is the first page."""
    start = (number - 1) * size
    return start if 0 <= start < total else 0
