"""What each allowed operator and function of the expression language computes.

One table per construct, read twice: the allow-list checker takes the operator types and the function names and
arities from it, the interpreter takes the meaning. The functions see the interpreter only through the Interpreter
protocol, so this module imports neither of them.
"""

from __future__ import annotations

import ast
import decimal
import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

from ebr.domain.expression_terms import ExpressionError, Limits, Value, kind_of, require_number

BINARY: dict[type[ast.AST], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
COMPARE: dict[type[ast.AST], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda item, container: item in container),
    ast.NotIn: ("not in", lambda item, container: item not in container),
}


class Interpreter(Protocol):
    """What a function may use of the interpreter running it: the caps, the step budget and the magnitude guard."""

    @property
    def limits(self) -> Limits: ...

    def charge(self, steps: int) -> None: ...

    def number(self, value: Decimal) -> Decimal: ...


@dataclass(frozen=True)
class Function:
    """One entry of the function table."""

    min_args: int
    max_args: int
    apply: Callable[[Interpreter, list[Value]], Value]


def _numbers(ev: Interpreter, args: list[Value], what: str) -> list[Decimal]:
    """sum, min and max take numbers, or one list of numbers."""
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], tuple) else args
    ev.charge(len(items))
    if not items:
        raise ExpressionError(f"{what} of an empty list")
    return [require_number(item, what) for item in items]


def _round(ev: Interpreter, args: list[Value]) -> Value:
    number = require_number(args[0], "round()")
    places = require_number(args[1], "round()") if len(args) == 2 else Decimal(0)
    if places != places.to_integral_value() or abs(places) > 28:
        raise ExpressionError("round() takes a whole number of places from -28 to 28")
    return ev.number(number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_EVEN))


def _len(ev: Interpreter, args: list[Value]) -> Value:
    if not isinstance(args[0], str | tuple):
        raise ExpressionError(f"len() needs text or a list, not {kind_of(args[0])}")
    return Decimal(len(args[0]))


def _decimal(ev: Interpreter, value: Value, what: str) -> Decimal:
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise ExpressionError(f"{what} cannot read {value[:20]!r} as a number")
        value = number
    return ev.number(require_number(value, what))


def _str(ev: Interpreter, args: list[Value]) -> Value:
    value = args[0]
    if isinstance(value, tuple):
        raise ExpressionError("str() needs a number, text, true/false or None, not a list")
    if isinstance(value, Decimal) and value.adjusted() < -ev.limits.max_string:  # refused before 'f' spells it out
        raise ExpressionError(f"a text grew beyond {ev.limits.max_string} characters")
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    if len(text) > ev.limits.max_string:
        raise ExpressionError(f"a text grew beyond {ev.limits.max_string} characters")
    return text


def _within(ev: Interpreter, args: list[Value]) -> Value:
    """within(value, target, tolerance): |value - target| <= tolerance, the edges included."""
    value, target, tolerance = (require_number(arg, "within()") for arg in args)
    if tolerance < 0:
        raise ExpressionError("within() needs a tolerance of zero or more")
    return abs(value - target) <= tolerance


def _between(ev: Interpreter, args: list[Value]) -> Value:
    """between(value, low, high): low <= value <= high, the edges included."""
    value, low, high = (require_number(arg, "between()") for arg in args)
    if low > high:
        raise ExpressionError("between() needs the low limit before the high one")
    return low <= value <= high


FUNCTIONS: dict[str, Function] = {
    "abs": Function(1, 1, lambda ev, args: ev.number(abs(require_number(args[0], "abs()")))),
    "min": Function(1, 100, lambda ev, args: min(_numbers(ev, args, "min()"))),
    "max": Function(1, 100, lambda ev, args: max(_numbers(ev, args, "max()"))),
    "sum": Function(1, 100, lambda ev, args: ev.number(sum(_numbers(ev, args, "sum()"), Decimal(0)))),
    "round": Function(1, 2, _round),
    "len": Function(1, 1, _len),
    "int": Function(1, 1, lambda ev, args: _decimal(ev, args[0], "int()").to_integral_value(ROUND_DOWN)),
    "decimal": Function(1, 1, lambda ev, args: _decimal(ev, args[0], "decimal()")),
    "str": Function(1, 1, _str),
    "sqrt": Function(1, 1, lambda ev, args: ev.number(require_number(args[0], "sqrt()").sqrt())),
    "floor": Function(1, 1, lambda ev, args: require_number(args[0], "floor()").to_integral_value(ROUND_FLOOR)),
    "ceil": Function(1, 1, lambda ev, args: require_number(args[0], "ceil()").to_integral_value(ROUND_CEILING)),
    "within": Function(3, 3, _within),
    "between": Function(3, 3, _between),
}
FUNCTION_NAMES = frozenset(FUNCTIONS)
