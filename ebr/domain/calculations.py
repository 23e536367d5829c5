"""The one expression language: gateway conditions, script tasks, calculated fields and limits.

Python's own parser reads the text, an allow-list checks every node of the tree, and a small tree-walking
interpreter evaluates it over Decimal. User text never reaches eval, exec or compile, and SpiffWorkflow's
own script engine is never used.
"""

from __future__ import annotations

import ast
import decimal
import operator
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, TypeAlias

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

# 28 digits and banker's rounding as decimal's default; the traps turn silent NaN and Infinity into errors.
_CONTEXT = decimal.Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow]
)

_BINARY: dict[type[ast.AST], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_COMPARE: dict[type[ast.AST], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda item, container: item in container),
    ast.NotIn: ("not in", lambda item, container: item not in container),
}
_NODES = frozenset(
    {ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.List, ast.Tuple}
)
_VOCABULARY = frozenset({ast.Load, ast.And, ast.Or, ast.USub, ast.UAdd, ast.Not, *_BINARY, *_COMPARE})

# What a refusal calls a construct; any other is named by its node type.
_CONSTRUCTS: dict[type[ast.AST], str] = {
    getattr(ast, node): text
    for text, nodes in (
        ("attribute access", "Attribute"),
        ("a subscript", "Subscript Slice"),
        ("lambda", "Lambda"),
        ("a comprehension", "ListComp SetComp DictComp GeneratorExp comprehension"),
        ("an f-string", "JoinedStr FormattedValue"),
        ("the walrus operator ':='", "NamedExpr"),
        ("a starred argument", "Starred"),
        ("a keyword argument", "keyword"),
        ("a dict or set literal", "Dict Set"),
        ("import", "Import ImportFrom"),
        ("a line other than 'name = expression'", "Expr AugAssign AnnAssign"),
        ("assignment inside an expression", "Store Del"),
        ("the operator 'is'", "Is IsNot"),
        ("a bitwise operator", "BitAnd BitOr BitXor LShift RShift Invert"),
        ("the operator '@'", "MatMult"),
        ("a loop", "For AsyncFor While"),
        ("a definition", "FunctionDef AsyncFunctionDef ClassDef"),
    )
    for node in nodes.split()
}


def _position(line: object, column: object) -> str:
    if not isinstance(line, int) or not isinstance(column, int):
        return ""
    return f" (col {column})" if line == 1 else f" (line {line}, col {column})"


def _refuse(message: str, node: ast.AST | None = None) -> ExpressionRefused:
    column = getattr(node, "col_offset", None)
    return ExpressionRefused(
        message + _position(getattr(node, "lineno", None), column + 1 if column is not None else 0)
    )


def _not_allowed(node: ast.AST, where: ast.AST | None = None) -> ExpressionRefused:
    name = type(node).__name__
    default = f"a '{name.lower()}' statement" if isinstance(node, ast.stmt) else f"'{name}'"
    return _refuse(f"{_CONSTRUCTS.get(type(node), default)} is not allowed", where or node)


def _kind(value: Value) -> str:
    return {Decimal: "a number", bool: "true/false", str: "text", tuple: "a list"}.get(type(value), "None")


def _number(value: Value, what: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise ExpressionError(f"{what} needs a number, not {_kind(value)}")
    return value


def _check(roots: list[ast.expr], limits: Limits, count: int) -> None:
    """Every node must pass, branches that would never run included; iterative, so no depth exhausts the stack."""
    stack: list[tuple[ast.AST, ast.AST, int]] = [(root, root, 2) for root in roots]
    while stack:
        node, parent, depth = stack.pop()
        if type(node) in _VOCABULARY:
            continue
        if type(node) not in _NODES:
            raise _not_allowed(node, node if hasattr(node, "lineno") else parent)
        count += 1
        if count > limits.max_nodes:
            raise _refuse(f"the expression is too large (more than {limits.max_nodes} parts)")
        if depth > limits.max_depth:
            raise _refuse(f"the expression nests more than {limits.max_depth} levels deep", node)
        _check_node(node, limits)
        stack.extend((child, node, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST, limits: Limits) -> None:
    if isinstance(node, ast.Constant):
        _constant(node, limits)
    elif isinstance(node, ast.Name):
        _check_name(node)
    elif isinstance(node, ast.Call):
        _function(node)
    elif isinstance(node, ast.BinOp):
        _check_bin_op(node, limits)
    elif isinstance(node, ast.List | ast.Tuple) and len(node.elts) > limits.max_items:
        raise _refuse(f"a list of more than {limits.max_items} items is not allowed", node)
    elif isinstance(node, ast.Compare) and len(node.ops) != len(node.comparators):
        raise _refuse("a malformed comparison is not allowed", node)


def _check_bin_op(node: ast.BinOp, limits: Limits) -> None:
    if isinstance(node.op, ast.Mult) and (_is_text_or_list(node.left) or _is_text_or_list(node.right)):
        raise _refuse("repeating text or lists with '*' is not allowed", node)
    if isinstance(node.op, ast.Mod) and _is_text_or_list(node.left):
        raise _refuse("formatting text with '%' is not allowed", node)
    if isinstance(node.op, ast.Pow):
        signed = isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub | ast.UAdd)
        exponent = node.right.operand if isinstance(node.right, ast.UnaryOp) and signed else node.right
        value = exponent.value if isinstance(exponent, ast.Constant) else None
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > limits.max_exponent:
            bound = limits.max_exponent
            raise _refuse(f"the exponent after '**' must be a whole number from -{bound} to {bound}", node.right)


def _is_text_or_list(node: ast.AST) -> bool:
    return isinstance(node, ast.List | ast.Tuple | ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def _check_name(node: ast.Name) -> None:
    if node.id.startswith("_"):
        raise _refuse("names starting with '_' are not allowed", node)


def _constant(node: ast.Constant, limits: Limits) -> Value:
    value = node.value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > limits.max_string:
            raise _refuse(f"text longer than {limits.max_string} characters is not allowed", node)
        return value
    if isinstance(value, int):
        number = _whole(value, limits)
    elif isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
    else:
        raise _refuse(f"a constant of type {type(value).__name__} is not allowed", node)
    if not number.is_finite() or number.copy_abs() > limits.max_magnitude:
        raise _refuse(f"numbers beyond {limits.max_magnitude} are not allowed", node)
    return number


def _whole(value: int, limits: Limits) -> Decimal:
    """An int as a Decimal; sized by its bits first, since converting a huge int would itself be slow."""
    too_large = value.bit_length() > 4 * (limits.max_magnitude.adjusted() + 1)  # 2 ** 4k > 10 ** k
    return Decimal("Infinity") if too_large else Decimal(value)


def _function(node: ast.Call) -> _Function:
    """The function table entry a call names; only plain names on the table, with positional arguments."""
    name = node.func.id if isinstance(node.func, ast.Name) else ""
    if name not in _FUNCTIONS:
        raise _refuse(
            f"the function '{name}' is not allowed" if name else "calling a computed value is not allowed", node
        )
    if node.keywords:
        raise _refuse("keyword arguments are not allowed", node)
    function = _FUNCTIONS[name]
    if not function.min_args <= len(node.args) <= function.max_args:
        raise _refuse(f"{name}() takes {function.min_args} to {function.max_args} arguments", node)
    return function


def _assignment(line: ast.AST) -> tuple[str, ast.expr]:
    """A script line: one plain name, '=', one expression."""
    if not isinstance(line, ast.Assign):
        raise _not_allowed(line)
    target = line.targets[0] if len(line.targets) == 1 else None
    if not isinstance(target, ast.Name):
        raise _refuse("only 'name = expression' is allowed, with one plain name on the left", line)
    _check_name(target)
    return target.id, line.value


def _check_expression(tree: ast.AST, limits: Limits) -> ast.expr:
    if not isinstance(tree, ast.Expression):
        raise _refuse("an expression was expected, not a script")
    _check([tree.body], limits, count=1)
    return tree.body


def _check_script(tree: ast.AST, limits: Limits) -> list[tuple[str, ast.expr]]:
    if not isinstance(tree, ast.Module):
        raise _refuse("a script was expected, not an expression")
    lines = [_assignment(line) for line in tree.body]
    _check([value for _, value in lines], limits, count=1 + 2 * len(lines))
    return lines


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


class _Evaluator:
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
        if type(node) not in _NODES:
            raise _not_allowed(node)
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
        return _constant(node, self.limits)

    def on_name(self, node: ast.Name) -> Value:
        _check_name(node)
        if node.id in self.assigned:
            return self.assigned[node.id]
        if node.id not in self.variables:
            raise ExpressionError(f"unknown name '{node.id}'")
        return _from_python(node.id, self.variables[node.id], self.limits)

    def on_binop(self, node: ast.BinOp) -> Value:
        if type(node.op) not in _BINARY:
            raise _not_allowed(node.op, node)
        symbol, function = _BINARY[type(node.op)]
        left, right = self.value(node.left), self.value(node.right)
        if symbol == "+" and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > self.limits.max_string:  # checked before the long text exists
                raise ExpressionError(f"a text grew beyond {self.limits.max_string} characters")
            return left + right
        if not isinstance(left, Decimal) or not isinstance(right, Decimal):
            raise ExpressionError(f"'{symbol}' needs two numbers, not {_kind(left)} and {_kind(right)}")
        if symbol == "**" and (right != right.to_integral_value() or abs(right) > self.limits.max_exponent):
            raise ExpressionError(f"the exponent after '**' must be a whole number up to {self.limits.max_exponent}")
        return self.number(function(left, right))

    def on_unaryop(self, node: ast.UnaryOp) -> Value:
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            raise _not_allowed(node.op, node)
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        number = _number(operand, "'-'" if isinstance(node.op, ast.USub) else "'+'")
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
        function = _function(node)
        return function.apply(self, [self.value(argument) for argument in node.args])

    def on_list(self, node: ast.List | ast.Tuple) -> Value:
        if len(node.elts) > self.limits.max_items:
            raise _refuse(f"a list of more than {self.limits.max_items} items is not allowed", node)
        return tuple(self.value(element) for element in node.elts)

    on_tuple = on_list


def _compare(op: ast.cmpop, left: Value, right: Value) -> bool:
    if type(op) not in _COMPARE:
        raise _not_allowed(op)
    symbol, function = _COMPARE[type(op)]
    same = type(left) is type(right) and isinstance(left, Decimal | str)
    if symbol in ("<", "<=", ">", ">=") and not same:
        raise ExpressionError(f"'{symbol}' compares two numbers or two texts, not {_kind(left)} and {_kind(right)}")
    if symbol in ("in", "not in") and not (isinstance(right, tuple) or (isinstance(right, str) and same)):
        raise ExpressionError(f"'{symbol}' needs a list, or text in text, not {_kind(left)} and {_kind(right)}")
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
        number = _whole(int(value), limits)
    elif isinstance(value, float | Decimal):
        number = Decimal(str(float(value))) if isinstance(value, float) else Decimal(value)
    else:
        raise ExpressionError(f"variable '{name}' holds {type(value).__name__}, which expressions cannot use")
    if not number.is_finite() or number.copy_abs() > limits.max_magnitude:
        raise ExpressionError(f"variable '{name}' is not a number within {limits.max_magnitude}")
    return number


@dataclass(frozen=True)
class _Function:
    """One entry of the function table."""

    min_args: int
    max_args: int
    apply: Callable[[_Evaluator, list[Value]], Value]


def _numbers(ev: _Evaluator, args: list[Value], what: str) -> list[Decimal]:
    """sum, min and max take numbers, or one list of numbers."""
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], tuple) else args
    ev.charge(len(items))
    if not items:
        raise ExpressionError(f"{what} of an empty list")
    return [_number(item, what) for item in items]


def _round(ev: _Evaluator, args: list[Value]) -> Value:
    number = _number(args[0], "round()")
    places = _number(args[1], "round()") if len(args) == 2 else Decimal(0)
    if places != places.to_integral_value() or abs(places) > 28:
        raise ExpressionError("round() takes a whole number of places from -28 to 28")
    return ev.number(number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_EVEN))


def _len(ev: _Evaluator, args: list[Value]) -> Value:
    if not isinstance(args[0], str | tuple):
        raise ExpressionError(f"len() needs text or a list, not {_kind(args[0])}")
    return Decimal(len(args[0]))


def _decimal(ev: _Evaluator, value: Value, what: str) -> Decimal:
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise ExpressionError(f"{what} cannot read {value[:20]!r} as a number")
        value = number
    return ev.number(_number(value, what))


def _str(ev: _Evaluator, args: list[Value]) -> Value:
    value = args[0]
    if isinstance(value, tuple):
        raise ExpressionError("str() needs a number, text, true/false or None, not a list")
    if isinstance(value, Decimal) and value.adjusted() < -ev.limits.max_string:  # refused before 'f' spells it out
        raise ExpressionError(f"a text grew beyond {ev.limits.max_string} characters")
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    if len(text) > ev.limits.max_string:
        raise ExpressionError(f"a text grew beyond {ev.limits.max_string} characters")
    return text


def _within(ev: _Evaluator, args: list[Value]) -> Value:
    """within(value, target, tolerance): |value - target| <= tolerance, the edges included."""
    value, target, tolerance = (_number(arg, "within()") for arg in args)
    if tolerance < 0:
        raise ExpressionError("within() needs a tolerance of zero or more")
    return abs(value - target) <= tolerance


def _between(ev: _Evaluator, args: list[Value]) -> Value:
    """between(value, low, high): low <= value <= high, the edges included."""
    value, low, high = (_number(arg, "between()") for arg in args)
    if low > high:
        raise ExpressionError("between() needs the low limit before the high one")
    return low <= value <= high


_FUNCTIONS: dict[str, _Function] = {
    "abs": _Function(1, 1, lambda ev, args: ev.number(abs(_number(args[0], "abs()")))),
    "min": _Function(1, 100, lambda ev, args: min(_numbers(ev, args, "min()"))),
    "max": _Function(1, 100, lambda ev, args: max(_numbers(ev, args, "max()"))),
    "sum": _Function(1, 100, lambda ev, args: ev.number(sum(_numbers(ev, args, "sum()"), Decimal(0)))),
    "round": _Function(1, 2, _round),
    "len": _Function(1, 1, _len),
    "int": _Function(1, 1, lambda ev, args: _decimal(ev, args[0], "int()").to_integral_value(ROUND_DOWN)),
    "decimal": _Function(1, 1, lambda ev, args: _decimal(ev, args[0], "decimal()")),
    "str": _Function(1, 1, _str),
    "sqrt": _Function(1, 1, lambda ev, args: ev.number(_number(args[0], "sqrt()").sqrt())),
    "floor": _Function(1, 1, lambda ev, args: _number(args[0], "floor()").to_integral_value(ROUND_FLOOR)),
    "ceil": _Function(1, 1, lambda ev, args: _number(args[0], "ceil()").to_integral_value(ROUND_CEILING)),
    "within": _Function(3, 3, _within),
    "between": _Function(3, 3, _between),
}
FUNCTION_NAMES = frozenset(_FUNCTIONS)


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
        body = _check_expression(self.tree, self.limits)
        return _Evaluator(variables, self.limits).evaluate(body)

    def run(self, variables: Mapping[str, object]) -> dict[str, object]:
        """Run a script; returns only the variables it created or changed."""
        lines = _check_script(self.tree, self.limits)
        assigned = _Evaluator(variables, self.limits).run(lines)
        return {name: value for name, value in assigned.items() if not _unchanged(variables, name, value)}


def _unchanged(variables: Mapping[str, object], name: str, value: Value) -> bool:
    old = variables.get(name, ...)
    return type(old) is type(value) and old == value


def parse(source: str, *, kind: Kind = "expression", limits: Limits = DEFAULT_LIMITS) -> Expression:
    """Parse and check against the allow-list; nothing is evaluated. Raises ExpressionRefused."""
    if kind not in ("expression", "script"):
        raise ValueError(f"unknown kind {kind!r}")
    if len(source) > limits.max_source:
        raise _refuse(f"the expression is longer than {limits.max_source} characters")
    if "\\" in source:  # escapes are never needed, and Python warns about the invalid ones
        at = source.index("\\")
        raise _refuse(
            "a backslash is not allowed" + _position(source.count("\n", 0, at) + 1, at - source.rfind("\n", 0, at))
        )
    try:
        tree = ast.parse(source, mode="eval" if kind == "expression" else "exec")
    except SyntaxError as exc:
        raise ExpressionRefused(f"not a valid expression: {exc.msg}{_position(exc.lineno, exc.offset)}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionRefused("not a valid expression") from None
    for node in ast.walk(tree):  # a decimal literal means the digits written, not the nearest binary float
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            node.value = Decimal(ast.get_source_segment(source, node) or repr(node.value))  # type: ignore[assignment]
    if kind == "expression":
        _check_expression(tree, limits)
    else:
        _check_script(tree, limits)
    return Expression(source, kind, tree, limits)
