"""The one expression language: the allow-list, its caps, Decimal semantics and the escape corpus."""

from __future__ import annotations

import ast
import decimal
import keyword
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebr.domain import calculations, expression_eval
from ebr.domain.calculations import (
    DEFAULT_LIMITS,
    FUNCTION_NAMES,
    Expression,
    ExpressionError,
    ExpressionRefused,
    Kind,
    Limits,
    parse,
)
from ebr.domain.errors import DomainError, InvalidInput
from tests.unit.domain.escape_corpus import ESCAPES

KINDS: tuple[Kind, ...] = ("expression", "script")
NAMES = ("a", "b", "c")
VARIABLES = {"x": Decimal(1), "a": Decimal(2), "b": Decimal(3), "c": Decimal(0), "y": Decimal(4)}


def evaluate(source: str, **variables: object) -> object:
    return parse(source).evaluate(variables)


def unchecked(source: str, kind: Kind) -> Expression | None:
    """An Expression built straight from Python's tree, skipping parse()'s checks; None if Python cannot parse it."""
    try:
        return Expression(source, kind, ast.parse(source, mode="eval" if kind == "expression" else "exec"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def execute(expression: Expression, variables: dict[str, object]) -> object:
    return expression.evaluate(variables) if expression.kind == "expression" else expression.run(variables)


# Corpus items Python itself can parse: a tree exists that could reach the interpreter.
RUNNABLE = [
    pytest.param(source, kind, id=f"{name}-{kind}")
    for name, source in ESCAPES
    for kind in KINDS
    if unchecked(source, kind) is not None
]


# The escape corpus


def test_the_corpus_holds_at_least_25_distinct_escapes_and_bombs() -> None:
    assert len(ESCAPES) >= 25
    assert len({name for name, _ in ESCAPES}) == len({source for _, source in ESCAPES}) == len(ESCAPES)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", [source for _, source in ESCAPES], ids=[name for name, _ in ESCAPES])
def test_every_corpus_item_is_refused_at_parse_time(source: str, kind: Kind) -> None:
    with pytest.raises(ExpressionRefused) as refusal:
        parse(source, kind=kind)
    assert str(refusal.value).strip()


@pytest.mark.parametrize(("source", "kind"), RUNNABLE)
def test_every_corpus_item_is_refused_at_run_time_when_the_parse_check_is_skipped(source: str, kind: Kind) -> None:
    expression = unchecked(source, kind)
    assert expression is not None
    with pytest.raises((ExpressionRefused, ExpressionError)) as refusal:
        execute(expression, dict(VARIABLES))
    assert str(refusal.value).strip()


def test_most_corpus_items_reach_the_run_time_check_rather_than_failing_in_pythons_parser() -> None:
    reached = {name for name, source in ESCAPES if any(unchecked(source, kind) for kind in KINDS)}
    assert len(reached) >= 0.9 * len(ESCAPES)


@pytest.mark.parametrize(
    "source",
    [
        "9**9**9",
        "10**100000",
        "'a'*10**10",
        "[1]*10**9",
        "'%*d' % (999999999, 1)",
        "1 << 10**9",
        "__import__('os')",
        "''.__class__",
        "getattr(1, 'real')",
        "(lambda: 1)()",
        "x[0]",
        "(y := 1)",
        "max(*x)",
        "round(x, ndigits=2)",
        "_secret",
        "(x for x in ()).gi_frame",
    ],
)
def test_the_interpreter_refuses_on_its_own_even_without_any_allow_list_check(source: str) -> None:
    tree = ast.parse(source, mode="eval")
    with pytest.raises(DomainError):
        expression_eval.Evaluator(VARIABLES, DEFAULT_LIMITS).evaluate(tree.body)


@pytest.mark.parametrize(
    "module", [Path(calculations.__file__), *sorted(Path(calculations.__file__).parent.glob("expression_*.py"))]
)
def test_the_module_never_calls_eval_exec_or_compile(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}


# Python's eval over Decimals as the oracle

Pair = tuple[str, str]  # (our source, the oracle's source)
ORACLE_LIMITS = Limits(max_nodes=2_000, max_magnitude=Decimal("9E+999999"))
ORACLE_CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def literal(text: str) -> Pair:
    return text, f"D('{text}')"


def binary(left: Pair, op: str, right: Pair) -> Pair:
    return f"({left[0]} {op} {right[0]})", f"({left[1]} {op} {right[1]})"


def unary(op: str, operand: Pair) -> Pair:
    return f"({op} {operand[0]})", f"({op} {operand[1]})"


def power(base: Pair, exponent: int) -> Pair:
    return f"({base[0]} ** {exponent})", f"P({base[1]}, {exponent})"


def choice(body: Pair, test: Pair, orelse: Pair) -> Pair:
    return f"({body[0]} if {test[0]} else {orelse[0]})", f"({body[1]} if {test[1]} else {orelse[1]})"


def chain(first: Pair, op1: str, second: Pair, op2: str, third: Pair) -> Pair:
    return (
        f"({first[0]} {op1} {second[0]} {op2} {third[0]})",
        f"({first[1]} {op1} {second[1]} {op2} {third[1]})",
    )


def oracle_power(base: Decimal, exponent: int) -> Decimal:
    """Python's own **, except that 0 ** -n is division by zero rather than Infinity, as in the language."""
    result = base**exponent
    if not result.is_finite():
        raise ZeroDivisionError
    return result


COMPARISONS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
LEAVES = st.one_of(
    st.integers(0, 20).map(str).map(literal),
    st.decimals(min_value=0, max_value=100, places=2).map(lambda d: literal(format(d, "f"))),
    st.sampled_from(NAMES).map(lambda name: (name, name)),
)


def extend_numbers(inner: st.SearchStrategy[Pair]) -> st.SearchStrategy[Pair]:
    operators = st.sampled_from(["+", "-", "*", "/", "//", "%", "and", "or"])
    return st.one_of(
        st.builds(binary, inner, operators, inner),
        st.builds(unary, st.sampled_from(["-", "+"]), inner),
        st.builds(power, inner, st.integers(-2, 3)),
        st.builds(choice, inner, st.builds(binary, inner, COMPARISONS, inner), inner),
    )


NUMBERS = st.recursive(LEAVES, extend_numbers, max_leaves=10)
CONDITIONS = st.recursive(
    st.one_of(
        st.sampled_from([("True", "True"), ("False", "False")]),
        st.builds(binary, NUMBERS, COMPARISONS, NUMBERS),
        st.builds(chain, NUMBERS, COMPARISONS, NUMBERS, COMPARISONS, NUMBERS),
    ),
    lambda inner: st.one_of(
        st.builds(binary, inner, st.sampled_from(["and", "or"]), inner),
        st.builds(unary, st.just("not"), inner),
    ),
    max_leaves=4,
)
VALUES = st.one_of(st.just(Decimal(0)), st.decimals(min_value=-1000, max_value=1000, places=3))


def oracle(source: str, variables: dict[str, Decimal]) -> tuple[bool, object]:
    """(raised, value) of Python's own eval; run only here, on generated text, with no builtins."""
    namespace: dict[str, object] = {"__builtins__": {}, "D": Decimal, "P": oracle_power}
    try:
        with decimal.localcontext(ORACLE_CONTEXT):
            return False, eval(source, namespace, dict(variables))  # noqa: S307 - the test oracle, never product code
    except ArithmeticError:
        return True, None


@settings(max_examples=400, deadline=None)
@given(expression=st.one_of(NUMBERS, CONDITIONS), values=st.tuples(VALUES, VALUES, VALUES))
def test_allowed_expressions_evaluate_as_python_does_over_decimals_errors_included(
    expression: Pair, values: tuple[Decimal, Decimal, Decimal]
) -> None:
    ours, theirs = expression
    variables = dict(zip(NAMES, values, strict=True))
    raised, expected = oracle(theirs, variables)
    try:
        actual = parse(ours, limits=ORACLE_LIMITS).evaluate(variables)
    except ExpressionError:
        assert raised, f"{ours} failed, Python gives {expected!r}"
        return
    assert not raised, f"{ours} gave {actual!r}, Python raises"
    assert type(actual) is type(expected)
    assert str(actual) == str(expected)


IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name) and name not in FUNCTION_NAMES
)
FOREIGN = st.one_of(
    st.builds(
        lambda target, attribute: f"{target}.{attribute}",
        st.sampled_from(["a", "(a)", "(1)", "'t'", "abs(a)", "(a, b)", "max", "round(a, 1)"]),
        IDENTIFIERS,
    ),
    st.builds(
        lambda function, arguments: f"{function}({', '.join(arguments)})",
        IDENTIFIERS,
        st.lists(st.sampled_from(["a", "1", "'os'", "abs(b)"]), max_size=3),
    ),
)


@settings(max_examples=300, deadline=None)
@given(valid=NUMBERS, foreign=FOREIGN, data=st.data())
def test_inserting_attribute_access_or_a_call_of_a_foreign_name_anywhere_is_refused(
    valid: Pair, foreign: str, data: st.DataObject
) -> None:
    source = valid[0]
    spots = [match.start() for match in re.finditer(r"\b[abc]\b", source)]
    if spots:
        at = data.draw(st.sampled_from(spots))
        source = f"{source[:at]}({foreign}){source[at + 1 :]}"
    else:
        source = f"{source} + ({foreign})"
    with pytest.raises(ExpressionRefused):
        parse(source)
    expression = unchecked(source, "expression")
    assert expression is not None
    with pytest.raises(ExpressionRefused):
        expression.evaluate(VARIABLES)


MIXED_LEAVES = st.sampled_from(
    ["1", "0", "2.5", "1e20", "'t'", "''", "'12'", "True", "False", "None", "a", "s", "f", "n", "l", "(1, 't')"]
)
EVERY_OPERATOR = ["+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]


def extend_mixed(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda left, op, right: f"({left} {op} {right})", inner, st.sampled_from(EVERY_OPERATOR), inner),
        st.builds(lambda op, operand: f"({op} {operand})", st.sampled_from(["-", "+", "not"]), inner),
        st.builds(lambda operand, n: f"({operand} ** {n})", inner, st.integers(-10, 10)),
        st.builds(
            lambda function, arguments: f"{function}({', '.join(arguments)})",
            st.sampled_from(sorted(FUNCTION_NAMES)),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(lambda body, test, orelse: f"({body} if {test} else {orelse})", inner, inner, inner),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
    )


@settings(max_examples=400, deadline=None)
@given(source=st.recursive(MIXED_LEAVES, extend_mixed, max_leaves=12))
def test_any_mix_of_types_evaluates_to_a_language_value_or_fails_with_a_domain_error(source: str) -> None:
    variables = {"a": Decimal("2"), "s": "text", "f": True, "n": None, "l": [1, "x", 2.5]}
    try:
        value = parse(source).evaluate(variables)
    except DomainError:
        return
    assert isinstance(value, Decimal | bool | str | tuple) or value is None


# Caps


def test_the_exponent_must_be_a_written_whole_number_within_ten() -> None:
    assert evaluate("x ** 10", x=2) == Decimal(1024)
    assert evaluate("x ** -10", x=2) == Decimal(1) / Decimal(1024)
    for source in ("x ** 11", "x ** -11", "x ** y", "x ** 0.5", "x ** (1 + 1)", "x ** True"):
        with pytest.raises(ExpressionRefused, match=r"exponent after '\*\*'"):
            parse(source)


def test_a_power_whose_result_passes_the_magnitude_cap_fails() -> None:
    with pytest.raises(ExpressionError, match="beyond"):
        evaluate("x ** 10", x=10_000)


def test_text_literals_are_capped_at_200_characters_and_built_text_as_well() -> None:
    assert evaluate("'" + "a" * 200 + "'") == "a" * 200
    with pytest.raises(ExpressionRefused, match="longer than 200"):
        parse("'" + "a" * 201 + "'")
    with pytest.raises(ExpressionError, match="beyond 200"):
        evaluate("s + s", s="a" * 101)


def test_text_and_lists_can_never_be_repeated_or_formatted() -> None:
    for source in ("s * 3", "3 * s", "l * 2", "s % 1"):
        with pytest.raises(ExpressionError, match="needs two numbers"):
            evaluate(source, s="ab", l=[1])


def test_a_backslash_is_refused_anywhere_in_the_source() -> None:
    with pytest.raises(ExpressionRefused, match="backslash is not allowed \\(line 2, col 6\\)"):
        parse("a = 1\nb = '\\x41'", kind="script")


def test_source_longer_than_2000_characters_is_refused_before_parsing() -> None:
    parse("1" + " " * 1999)
    with pytest.raises(ExpressionRefused, match="longer than 2000"):
        parse("1" + " " * 2000)


def test_more_than_200_nodes_is_refused() -> None:
    ninety = ", ".join(["1"] * 90)
    parse(f"max({ninety}) + max({ninety})")
    with pytest.raises(ExpressionRefused, match="too large"):
        parse(f"max({ninety}) + max({ninety}) + max({ninety})")


def test_nesting_deeper_than_50_is_refused() -> None:
    assert evaluate(" + ".join(["x"] * 49), x=1) == 49
    with pytest.raises(ExpressionRefused, match="more than 50 levels"):
        parse(" + ".join(["x"] * 50))


def test_the_step_budget_stops_an_evaluation() -> None:
    parse("1 + 2 + 3", limits=Limits(max_steps=5)).evaluate({})
    with pytest.raises(ExpressionError, match="stopped after 5 steps"):
        parse("1 + 2 + 3 + 4", limits=Limits(max_steps=5)).evaluate({})
    with pytest.raises(ExpressionError, match="stopped"):
        parse("sum(l)", limits=Limits(max_steps=50)).evaluate({"l": list(range(60))})


def test_lists_are_capped_in_literals_and_in_variables() -> None:
    with pytest.raises(ExpressionRefused, match="more than 100 items"):
        parse("[" + ", ".join(["1"] * 101) + "]")
    with pytest.raises(ExpressionError, match="more than 100 items"):
        evaluate("len(l)", l=[1] * 101)


def test_numbers_beyond_ten_to_the_thirty_are_refused_wherever_they_appear() -> None:
    with pytest.raises(ExpressionRefused, match="beyond"):
        parse("1" + "0" * 31)
    with pytest.raises(ExpressionError, match="beyond"):
        evaluate("x * 10", x=10**30)
    with pytest.raises(ExpressionError, match="not a number within"):
        evaluate("x", x=10**31)
    with pytest.raises(ExpressionError, match="not a number within"):
        evaluate("x", x=10**100_000)


# Errors while evaluating


@pytest.mark.parametrize("source", ["1 / 0", "1 // 0", "x / c", "0 ** -1"])
def test_division_by_zero_is_an_expression_error(source: str) -> None:
    with pytest.raises(ExpressionError, match="division by zero"):
        parse(source).evaluate(VARIABLES)


@pytest.mark.parametrize("source", ["1 % 0", "0 ** 0", "sqrt(-1)", "round(1e27, 2)"])
def test_undefined_arithmetic_is_an_expression_error(source: str) -> None:
    with pytest.raises(ExpressionError, match="undefined arithmetic"):
        evaluate(source)


def test_an_unknown_name_is_an_expression_error_naming_it() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'weight'"):
        evaluate("weight * 2")


@pytest.mark.parametrize(
    "source",
    ["'a' + 1", "1 < 'a'", "-'a'", "abs('a')", "None + 1", "True + 1", "x in 5", "1 in l", "min()", "len(1)"],
)
def test_type_errors_are_expression_errors_never_bare_python_exceptions(source: str) -> None:
    with pytest.raises(DomainError):
        evaluate(source, x=1, l="ab")


@pytest.mark.parametrize("value", [object(), {"a": 1}, float("nan"), float("inf"), Decimal("NaN"), [[1]]])
def test_variables_of_foreign_types_or_non_finite_numbers_are_refused(value: object) -> None:
    with pytest.raises(ExpressionError, match="variable 'x'"):
        evaluate("x", x=value)


def test_refusals_are_invalid_input_and_evaluation_errors_are_domain_errors() -> None:
    assert issubclass(ExpressionRefused, InvalidInput)
    assert issubclass(ExpressionError, DomainError)
    assert not issubclass(ExpressionError, InvalidInput)


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("ab.c", "expression", "attribute access is not allowed (col 1)"),
        ("1 + x.y", "expression", "attribute access is not allowed (col 5)"),
        ("x = 1\ny = a.b", "script", "attribute access is not allowed (line 2, col 5)"),
        ("x = 1\nimport os", "script", "import is not allowed (line 2, col 1)"),
        ("print(1)", "expression", "the function 'print' is not allowed (col 1)"),
        ("1 + (", "expression", "not a valid expression"),
    ],
)
def test_a_refusal_names_the_construct_and_its_position(source: str, kind: Kind, message: str) -> None:
    with pytest.raises(ExpressionRefused) as refusal:
        parse(source, kind=kind)
    assert message in str(refusal.value)


# Decimal semantics and the functions


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("round(2.5)", "2"),
        ("round(3.5)", "4"),
        ("round(-2.5)", "-2"),
        ("round(2.675, 2)", "2.68"),
        ("round(2.665, 2)", "2.66"),
        ("round(0.125, 2)", "0.12"),
        ("round(1250, -2)", "1.2E+3"),
    ],
)
def test_round_is_half_even_on_the_decimal_digits_written(source: str, expected: str) -> None:
    assert str(evaluate(source)) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("10.04", True), ("10.05", True), ("9.95", True), ("10.06", False), ("9.94", False)]
)
def test_within_includes_its_tolerance_edges(value: str, expected: bool) -> None:
    assert evaluate(f"within({value}, 10, 0.05)") is expected


def test_within_refuses_a_negative_tolerance() -> None:
    with pytest.raises(ExpressionError, match="tolerance"):
        evaluate("within(1, 1, -0.1)")


@pytest.mark.parametrize(
    ("value", "expected"), [("2.0", True), ("8.0", True), ("5", True), ("1.99", False), ("8.01", False)]
)
def test_between_includes_both_limits(value: str, expected: bool) -> None:
    assert evaluate(f"between({value}, 2.0, 8.0)") is expected


def test_between_refuses_limits_in_the_wrong_order() -> None:
    with pytest.raises(ExpressionError, match="low limit"):
        evaluate("between(5, 8, 2)")


def test_numbers_are_decimals_from_the_digits_written_and_from_variables_via_their_text() -> None:
    assert str(evaluate("1.50")) == "1.50"
    assert evaluate("x + 0.2 == 0.3", x=0.1) is True
    assert evaluate("x", x=3) == Decimal(3)
    assert isinstance(evaluate("x", x=3), Decimal)
    assert evaluate("1 / 3") == Decimal(1) / Decimal(3)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abs(-2.5)", Decimal("2.5")),
        ("min(3, 1, 2)", Decimal(1)),
        ("max([3, 1, 2])", Decimal(3)),
        ("sum([1.5, 2.5])", Decimal("4.0")),
        ("sum(l)", Decimal("6")),
        ("len('abc')", Decimal(3)),
        ("len(l)", Decimal(3)),
        ("int(-2.7)", Decimal(-2)),
        ("int('12')", Decimal(12)),
        ("decimal('1.25') * 2", Decimal("2.50")),
        ("str(1e3)", "1000"),
        ("str(2.50) + ' g'", "2.50 g"),
        ("sqrt(16)", Decimal(4)),
        ("floor(-1.5)", Decimal(-2)),
        ("ceil(1.2)", Decimal(2)),
    ],
)
def test_the_named_functions(source: str, expected: object) -> None:
    assert evaluate(source, l=[1, 2, 3]) == expected


def test_booleans_and_comparisons_behave_as_in_python() -> None:
    assert evaluate("x != 0 and 1 / x > 2", x=0) is False  # short-circuit: the division never runs
    assert evaluate("1 < x <= 3", x=3) is True
    assert evaluate("1 < x <= 3", x=4) is False
    assert evaluate("x or 5", x=0) == 5
    assert evaluate("x in [1, 2]", x=2) is True
    assert evaluate("'ab' in s", s="cabd") is True
    assert evaluate("'yes' if x > 1 else 'no'", x=2) == "yes"
    assert evaluate("not s", s="") is True


def test_decimal_and_function_errors_name_the_function() -> None:
    with pytest.raises(ExpressionError, match="decimal\\(\\) cannot read 'abc'"):
        evaluate("decimal('abc')")
    with pytest.raises(ExpressionError, match="round\\(\\) takes a whole number of places"):
        evaluate("round(1, 0.5)")
    with pytest.raises(ExpressionRefused, match="round\\(\\) takes 1 to 2 arguments"):
        parse("round(1, 2, 3)")


# Names, scripts and the Expression value


def test_names_are_the_variables_read_never_the_functions_called() -> None:
    assert parse("round(x, 2) + max(y, z) if flag else 0").names == {"x", "y", "z", "flag"}
    assert parse("1 + 2").names == frozenset()
    assert parse("1 + 2").assigns == ()


def test_a_script_reads_names_before_it_assigns_them_and_lists_what_it_assigns() -> None:
    script = parse("total = a + b\nmean = total / 2\na = a * 2\nmean = round(mean, 1)", kind="script")
    assert script.names == {"a", "b"}
    assert script.assigns == ("total", "mean", "a")


def test_running_a_script_returns_only_the_new_or_changed_variables() -> None:
    script = parse("a = a\nb = a + 1\nc = 5\nd = d * 2", kind="script")
    changes = script.run({"a": Decimal(1), "b": Decimal(2), "c": Decimal(5), "d": Decimal(3)})
    assert changes == {"d": Decimal(6)}
    assert script.run({"a": Decimal(1), "d": Decimal(0)}) == {"b": Decimal(2), "c": Decimal(5)}


def test_an_empty_script_changes_nothing() -> None:
    assert parse("", kind="script").run({"a": 1}) == {}


def test_a_script_is_run_and_an_expression_evaluated_never_the_other_way_round() -> None:
    with pytest.raises(ExpressionRefused, match="expression was expected"):
        parse("x = 1", kind="script").evaluate({})
    with pytest.raises(ExpressionRefused, match="script was expected"):
        parse("1").run({})


def test_expressions_compare_by_source_kind_and_limits_not_by_tree_identity() -> None:
    assert parse("1 + x") == parse("1 + x")
    assert parse("1 + x") != parse("1 + x", limits=Limits(max_steps=5))
