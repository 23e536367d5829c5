"""The expression language's interpreter: a tree walk over Decimal, never eval, exec or compile.

It re-applies the allow-list node by node and carries its own guards (step budget, sizes, magnitudes, types), so it
stays safe even for a tree that never went through ebr.domain.expression_check.
"""

from __future__ import annotations

import ast
import decimal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ebr.domain.expression_check import NODES, called_function, check_name, constant_value, not_allowed, refuse
from ebr.domain.expression_operations import BINARY, COMPARE
from ebr.domain.expression_terms import ExpressionError, Limits, Value, kind_of, require_number, whole_to_decimal

# 28 digits and banker's rounding as decimal's default; the traps turn silent NaN and Infinity into errors.
_CONTEXT = decimal.Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow]
)


@contextmanager
def _arithmetic() -> Iterator[None]:
    """Decimal arithmetic in the language's own context; its signals become ExpressionError."""
    try:
        with decimal.localcontext(_CONTEXT):
            yield
    except ZeroDivisionError:
        raise ExpressionError("division by zero") from None
    except decimal.Overflow:
        raise ExpressionError("a number grew too large") from None
    except ArithmeticError:
        raise ExpressionError(
            "undefined arithmetic (0 / 0, 0 ** 0, the root of a negative number, too many digits)"
        ) from None


class Evaluator:
    """Walks a tree; its own guards (budget, sizes, types) hold even for a tree that skipped the check."""

    def __init__(self, variables: Mapping[str, object], limits: Limits) -> None:
        self.variables = variables
        self.limits = limits
        self.assigned: dict[str, Value] = {}
        self.steps = 0

    def evaluate(self, node: ast.expr) -> Value:
        with _arithmetic():
            return self.value(node)

    def run(self, lines: list[tuple[str, ast.expr]]) -> dict[str, Value]:
        with _arithmetic():
            for name, value in lines:
                self.assigned[name] = self.value(value)
        return self.assigned

    def value(self, node: ast.AST) -> Value:
        self.charge(1)
        if type(node) not in NODES:
            raise not_allowed(node)
        step: Callable[[Any], Value] = getattr(self, "on_" + type(node).__name__.lower())
        return step(node)

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > self.limits.max_steps:
            raise ExpressionError(f"evaluation stopped after {self.limits.max_steps} steps")

    def number(self, value: Decimal) -> Decimal:
        if not value.is_finite():  # decimal answers 0 ** -1 with Infinity rather than a signal
            raise ExpressionError("division by zero")
        if value.copy_abs() > self.limits.max_magnitude:
            raise ExpressionError(f"a number grew beyond {self.limits.max_magnitude}")
        return value

    def on_constant(self, node: ast.Constant) -> Value:
        return constant_value(node, self.limits)

    def on_name(self, node: ast.Name) -> Value:
        check_name(node)
        if node.id in self.assigned:
            return self.assigned[node.id]
        if node.id not in self.variables:
            raise ExpressionError(f"unknown name '{node.id}'")
        return _from_python(node.id, self.variables[node.id], self.limits)

    def on_binop(self, node: ast.BinOp) -> Value:
        if type(node.op) not in BINARY:
            raise not_allowed(node.op, node)
        symbol, function = BINARY[type(node.op)]
        left, right = self.value(node.left), self.value(node.right)
        if symbol == "+" and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > self.limits.max_string:  # checked before the long text exists
                raise ExpressionError(f"a text grew beyond {self.limits.max_string} characters")
            return left + right
        if not isinstance(left, Decimal) or not isinstance(right, Decimal):
            raise ExpressionError(f"'{symbol}' needs two numbers, not {kind_of(left)} and {kind_of(right)}")
        if symbol == "**" and (right != right.to_integral_value() or abs(right) > self.limits.max_exponent):
            raise ExpressionError(f"the exponent after '**' must be a whole number up to {self.limits.max_exponent}")
        return self.number(function(left, right))

    def on_unaryop(self, node: ast.UnaryOp) -> Value:
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            raise not_allowed(node.op, node)
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        number = require_number(operand, "'-'" if isinstance(node.op, ast.USub) else "'+'")
        return self.number(-number if isinstance(node.op, ast.USub) else +number)

    def on_boolop(self, node: ast.BoolOp) -> Value:
        stop_at = isinstance(node.op, ast.Or)  # 'and' stops at the first false operand, 'or' at the first true
        result: Value = None
        for operand in node.values:
            result = self.value(operand)
            if bool(result) is stop_at:
                return result
        return result

    def on_compare(self, node: ast.Compare) -> Value:
        left = self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.value(comparator)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    def on_ifexp(self, node: ast.IfExp) -> Value:
        return self.value(node.body) if self.value(node.test) else self.value(node.orelse)

    def on_call(self, node: ast.Call) -> Value:
        function = called_function(node)
        return function.apply(self, [self.value(argument) for argument in node.args])

    def on_list(self, node: ast.List | ast.Tuple) -> Value:
        if len(node.elts) > self.limits.max_items:
            raise refuse(f"a list of more than {self.limits.max_items} items is not allowed", node)
        return tuple(self.value(element) for element in node.elts)

    on_tuple = on_list


def _compare(op: ast.cmpop, left: Value, right: Value) -> bool:
    if type(op) not in COMPARE:
        raise not_allowed(op)
    symbol, function = COMPARE[type(op)]
    same = type(left) is type(right) and isinstance(left, Decimal | str)
    if symbol in ("<", "<=", ">", ">=") and not same:
        raise ExpressionError(f"'{symbol}' compares two numbers or two texts, not {kind_of(left)} and {kind_of(right)}")
    if symbol in ("in", "not in") and not (isinstance(right, tuple) or (isinstance(right, str) and same)):
        raise ExpressionError(f"'{symbol}' needs a list, or text in text, not {kind_of(left)} and {kind_of(right)}")
    return bool(function(left, right))


def _from_python(name: str, value: object, limits: Limits) -> Value:
    """Variables enter as the language's own types only, so no foreign object's methods ever run."""
    if isinstance(value, list | tuple):
        if len(value) > limits.max_items:
            raise ExpressionError(f"variable '{name}' holds more than {limits.max_items} items")
        return tuple(_scalar(name, item, limits) for item in value)
    return _scalar(name, value, limits)


def _scalar(name: str, value: object, limits: Limits) -> Value:
    if value is None or isinstance(value, bool):
        return bool(value) if value is not None else None
    if isinstance(value, str):
        return str.__str__(value)  # a plain str, never a subclass with operators of its own
    if isinstance(value, int):
        number = whole_to_decimal(int(value), limits)
    elif isinstance(value, float | Decimal):
        number = Decimal(str(float(value))) if isinstance(value, float) else Decimal(value)
    else:
        raise ExpressionError(f"variable '{name}' holds {type(value).__name__}, which expressions cannot use")
    if not number.is_finite() or number.copy_abs() > limits.max_magnitude:
        raise ExpressionError(f"variable '{name}' is not a number within {limits.max_magnitude}")
    return number
