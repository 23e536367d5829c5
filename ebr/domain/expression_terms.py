"""The expression language's vocabulary: its values, caps and errors.

Kept apart from ebr.domain.calculations, the public API, so that the checker, the function table and the interpreter
can share these without importing each other in a circle. Callers import them from ebr.domain.calculations.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from ebr.domain.errors import DomainError, InvalidInput

Kind = Literal["expression", "script"]
Value: TypeAlias = "Decimal | bool | str | tuple[Value, ...] | None"


class ExpressionRefused(InvalidInput):
    """The text uses syntax outside the allow-list or breaks a size cap: none of it runs."""


class ExpressionError(DomainError):
    """Evaluation failed: unknown name, wrong types, division by zero, a number or the effort too large."""


@dataclass(frozen=True)
class Limits:
    """Caps that keep every expression small and every evaluation short."""

    max_source: int = 2_000  # characters of source text
    max_nodes: int = 200  # syntax-tree nodes; operators and load/store markers are not counted
    max_depth: int = 50  # nesting of nodes; a chain a + b + ... of n terms nests n + 1 deep
    max_exponent: int = 10  # |n| in x ** n, where n must be a whole number written out
    max_string: int = 200  # characters of a text literal, or of a text the expression builds
    max_items: int = 100  # elements of a list literal or of a list variable
    max_magnitude: Decimal = Decimal("1E+30")  # largest absolute value read or computed
    max_steps: int = 10_000  # interpreter steps per evaluation


DEFAULT_LIMITS = Limits()


def kind_of(value: Value) -> str:
    """A value's type as an error message names it to the person who wrote the expression."""
    return {Decimal: "a number", bool: "true/false", str: "text", tuple: "a list"}.get(type(value), "None")


def require_number(value: Value, what: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise ExpressionError(f"{what} needs a number, not {kind_of(value)}")
    return value


def whole_to_decimal(value: int, limits: Limits) -> Decimal:
    """An int as a Decimal; sized by its bits first, since converting a huge int would itself be slow."""
    too_large = value.bit_length() > 4 * (limits.max_magnitude.adjusted() + 1)  # 2 ** 4k > 10 ** k
    return Decimal("Infinity") if too_large else Decimal(value)
