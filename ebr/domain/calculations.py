"""The one expression language: gateway conditions, script tasks, calculated fields and limits.

Python's own parser reads the text, an allow-list checks every node of the tree, and a small tree-walking
interpreter evaluates it over Decimal. User text never reaches eval, exec or compile, and SpiffWorkflow's
own script engine is never used.

This module is the language's public API; the rest lives in ebr.domain.expression_* by concept: the values, caps and
errors (expression_terms), the operator and function tables (expression_operations), the allow-list
(expression_check) and the interpreter (expression_eval).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ebr.domain.expression_check import check_expression, check_script, position, refuse
from ebr.domain.expression_eval import Evaluator
from ebr.domain.expression_operations import FUNCTION_NAMES
from ebr.domain.expression_terms import (
    DEFAULT_LIMITS,
    ExpressionError,
    ExpressionRefused,
    Kind,
    Limits,
    Value,
)

__all__ = [
    "DEFAULT_LIMITS",
    "FUNCTION_NAMES",
    "Expression",
    "ExpressionError",
    "ExpressionRefused",
    "Kind",
    "Limits",
    "Value",
    "parse",
]


def _reads(node: ast.AST) -> set[str]:
    callees = {id(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)}
    names = (node for node in ast.walk(node) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load))
    return {name.id for name in names if id(name) not in callees}


@dataclass(frozen=True)
class Expression:
    """A parsed expression or script; every evaluation checks the tree against the allow-list again."""

    source: str
    kind: Kind
    tree: ast.AST = field(compare=False, repr=False)
    limits: Limits = DEFAULT_LIMITS

    @property
    def names(self) -> frozenset[str]:
        """The variables it reads; for a script, those read before the script assigns them."""
        if not isinstance(self.tree, ast.Module):
            return frozenset(_reads(self.tree))
        read: set[str] = set()
        for line in self.tree.body:
            read |= _reads(line.value if isinstance(line, ast.Assign) else line) - set(self._targets(line))
        return frozenset(read)

    @property
    def assigns(self) -> tuple[str, ...]:
        """The names a script assigns, in order of first assignment; empty for an expression."""
        return tuple(dict.fromkeys(self._targets()))

    def _targets(self, stop: ast.AST | None = None) -> list[str]:
        """Names assigned by the lines before stop (all lines when stop is None)."""
        lines = self.tree.body if isinstance(self.tree, ast.Module) else []
        before = lines[: lines.index(stop)] if stop in lines else lines
        return [name.id for line in before for name in getattr(line, "targets", ()) if isinstance(name, ast.Name)]

    def evaluate(self, variables: Mapping[str, object]) -> object:
        """The value for these variables: a Decimal, bool, str, None or tuple."""
        body = check_expression(self.tree, self.limits)
        return Evaluator(variables, self.limits).evaluate(body)

    def run(self, variables: Mapping[str, object]) -> dict[str, object]:
        """Run a script; returns only the variables it created or changed."""
        lines = check_script(self.tree, self.limits)
        assigned = Evaluator(variables, self.limits).run(lines)
        return {name: value for name, value in assigned.items() if not _unchanged(variables, name, value)}


def _unchanged(variables: Mapping[str, object], name: str, value: Value) -> bool:
    old = variables.get(name, ...)
    return type(old) is type(value) and old == value


def parse(source: str, *, kind: Kind = "expression", limits: Limits = DEFAULT_LIMITS) -> Expression:
    """Parse and check against the allow-list; nothing is evaluated. Raises ExpressionRefused."""
    if kind not in ("expression", "script"):
        raise ValueError(f"unknown kind {kind!r}")
    if len(source) > limits.max_source:
        raise refuse(f"the expression is longer than {limits.max_source} characters")
    if "\\" in source:  # escapes are never needed, and Python warns about the invalid ones
        at = source.index("\\")
        raise refuse(
            "a backslash is not allowed" + position(source.count("\n", 0, at) + 1, at - source.rfind("\n", 0, at))
        )
    try:
        tree = ast.parse(source, mode="eval" if kind == "expression" else "exec")
    except SyntaxError as exc:
        raise ExpressionRefused(f"not a valid expression: {exc.msg}{position(exc.lineno, exc.offset)}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionRefused("not a valid expression") from None
    for node in ast.walk(tree):  # a decimal literal means the digits written, not the nearest binary float
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            node.value = Decimal(ast.get_source_segment(source, node) or repr(node.value))  # type: ignore[assignment]
    if kind == "expression":
        check_expression(tree, limits)
    else:
        check_script(tree, limits)
    return Expression(source, kind, tree, limits)
