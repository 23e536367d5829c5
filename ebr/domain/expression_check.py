"""The expression language's allow-list: which syntax may appear, within which caps, and how a refusal reads.

Every node of Python's tree is checked before anything runs, branches that would never run included. The
interpreter reuses the per-node checks, so a tree that somehow skipped this module is still refused node by node.
"""

from __future__ import annotations

import ast
from decimal import Decimal

from ebr.domain.expression_operations import BINARY, COMPARE, FUNCTIONS, Function
from ebr.domain.expression_terms import ExpressionRefused, Limits, Value, whole_to_decimal

NODES = frozenset(
    {ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.List, ast.Tuple}
)
_VOCABULARY = frozenset({ast.Load, ast.And, ast.Or, ast.USub, ast.UAdd, ast.Not, *BINARY, *COMPARE})

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


def position(line: object, column: object) -> str:
    if not isinstance(line, int) or not isinstance(column, int):
        return ""
    return f" (col {column})" if line == 1 else f" (line {line}, col {column})"


def refuse(message: str, node: ast.AST | None = None) -> ExpressionRefused:
    column = getattr(node, "col_offset", None)
    return ExpressionRefused(message + position(getattr(node, "lineno", None), column + 1 if column is not None else 0))


def not_allowed(node: ast.AST, where: ast.AST | None = None) -> ExpressionRefused:
    name = type(node).__name__
    default = f"a '{name.lower()}' statement" if isinstance(node, ast.stmt) else f"'{name}'"
    return refuse(f"{_CONSTRUCTS.get(type(node), default)} is not allowed", where or node)


def check_expression(tree: ast.AST, limits: Limits) -> ast.expr:
    if not isinstance(tree, ast.Expression):
        raise refuse("an expression was expected, not a script")
    _check([tree.body], limits, count=1)
    return tree.body


def check_script(tree: ast.AST, limits: Limits) -> list[tuple[str, ast.expr]]:
    if not isinstance(tree, ast.Module):
        raise refuse("a script was expected, not an expression")
    lines = [_assignment(line) for line in tree.body]
    _check([value for _, value in lines], limits, count=1 + 2 * len(lines))
    return lines


def _check(roots: list[ast.expr], limits: Limits, count: int) -> None:
    """Every node must pass, branches that would never run included; iterative, so no depth exhausts the stack."""
    stack: list[tuple[ast.AST, ast.AST, int]] = [(root, root, 2) for root in roots]
    while stack:
        node, parent, depth = stack.pop()
        if type(node) in _VOCABULARY:
            continue
        if type(node) not in NODES:
            raise not_allowed(node, node if hasattr(node, "lineno") else parent)
        count += 1
        if count > limits.max_nodes:
            raise refuse(f"the expression is too large (more than {limits.max_nodes} parts)")
        if depth > limits.max_depth:
            raise refuse(f"the expression nests more than {limits.max_depth} levels deep", node)
        _check_node(node, limits)
        stack.extend((child, node, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST, limits: Limits) -> None:
    if isinstance(node, ast.Constant):
        constant_value(node, limits)
    elif isinstance(node, ast.Name):
        check_name(node)
    elif isinstance(node, ast.Call):
        called_function(node)
    elif isinstance(node, ast.BinOp):
        _check_bin_op(node, limits)
    elif isinstance(node, ast.List | ast.Tuple) and len(node.elts) > limits.max_items:
        raise refuse(f"a list of more than {limits.max_items} items is not allowed", node)
    elif isinstance(node, ast.Compare) and len(node.ops) != len(node.comparators):
        raise refuse("a malformed comparison is not allowed", node)


def _check_bin_op(node: ast.BinOp, limits: Limits) -> None:
    if isinstance(node.op, ast.Mult) and (_is_text_or_list(node.left) or _is_text_or_list(node.right)):
        raise refuse("repeating text or lists with '*' is not allowed", node)
    if isinstance(node.op, ast.Mod) and _is_text_or_list(node.left):
        raise refuse("formatting text with '%' is not allowed", node)
    if isinstance(node.op, ast.Pow):
        signed = isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub | ast.UAdd)
        exponent = node.right.operand if isinstance(node.right, ast.UnaryOp) and signed else node.right
        value = exponent.value if isinstance(exponent, ast.Constant) else None
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > limits.max_exponent:
            bound = limits.max_exponent
            raise refuse(f"the exponent after '**' must be a whole number from -{bound} to {bound}", node.right)


def _is_text_or_list(node: ast.AST) -> bool:
    return isinstance(node, ast.List | ast.Tuple | ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def check_name(node: ast.Name) -> None:
    if node.id.startswith("_"):
        raise refuse("names starting with '_' are not allowed", node)


def constant_value(node: ast.Constant, limits: Limits) -> Value:
    """A literal's value, once it passes the caps; the interpreter reads literals through here too."""
    value = node.value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > limits.max_string:
            raise refuse(f"text longer than {limits.max_string} characters is not allowed", node)
        return value
    if isinstance(value, int):
        number = whole_to_decimal(value, limits)
    elif isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
    else:
        raise refuse(f"a constant of type {type(value).__name__} is not allowed", node)
    if not number.is_finite() or number.copy_abs() > limits.max_magnitude:
        raise refuse(f"numbers beyond {limits.max_magnitude} are not allowed", node)
    return number


def called_function(node: ast.Call) -> Function:
    """The function table entry a call names; only plain names on the table, with positional arguments."""
    name = node.func.id if isinstance(node.func, ast.Name) else ""
    if name not in FUNCTIONS:
        raise refuse(
            f"the function '{name}' is not allowed" if name else "calling a computed value is not allowed", node
        )
    if node.keywords:
        raise refuse("keyword arguments are not allowed", node)
    entry = FUNCTIONS[name]
    if not entry.min_args <= len(node.args) <= entry.max_args:
        raise refuse(f"{name}() takes {entry.min_args} to {entry.max_args} arguments", node)
    return entry


def _assignment(line: ast.AST) -> tuple[str, ast.expr]:
    """A script line: one plain name, '=', one expression."""
    if not isinstance(line, ast.Assign):
        raise not_allowed(line)
    target = line.targets[0] if len(line.targets) == 1 else None
    if not isinstance(target, ast.Name):
        raise refuse("only 'name = expression' is allowed, with one plain name on the left", line)
    check_name(target)
    return target.id, line.value
