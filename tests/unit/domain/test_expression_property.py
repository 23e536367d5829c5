"""The expression language as properties over arbitrary input (VAL-03): whatever the text or the variables, parsing
and evaluating end in a value or in the language's own error, and its arithmetic is Decimal's, digit for digit."""

from __future__ import annotations

import contextlib
import decimal
import string
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebr.domain.calculations import ExpressionError, ExpressionRefused, parse

OWN_ERRORS = (ExpressionError, ExpressionRefused)
SOURCE_ALPHABET = string.ascii_letters + string.digits + " +-*/%().,<>=!'\"[]_:" + "\n\t"
NUMBERS = st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False, allow_infinity=False)
ANY_VALUE = st.one_of(
    NUMBERS,
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=5),
)
# The language's own context: 28 digits, banker's rounding.
CONTEXT = decimal.Context(prec=28, rounding=ROUND_HALF_EVEN)


@given(source=st.one_of(st.text(max_size=80), st.text(SOURCE_ALPHABET, max_size=80)), value=ANY_VALUE)
def test_any_text_with_any_variable_ends_in_a_value_or_the_languages_own_error(source: str, value: object) -> None:
    with contextlib.suppress(*OWN_ERRORS):
        parse(source).evaluate(dict.fromkeys(("a", "b", "x", "y"), value))


@given(
    left=st.sampled_from(["a", "1.5", "0", "-2", "'t'", "[1, 2]", "True", "None", "(a)", "-a"]),
    symbol=st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", "in", "and", "or"]),
    right=st.sampled_from(["b", "0", "0.000001", "3", "'u'", "[a]", "False", "None", "(b * b)", "-b"]),
    a=ANY_VALUE,
    b=ANY_VALUE,
)
def test_every_operator_over_every_kind_of_value_ends_in_a_value_or_the_languages_own_error(
    left: str, symbol: str, right: str, a: object, b: object
) -> None:
    with contextlib.suppress(*OWN_ERRORS):
        parse(f"{left} {symbol} {right}").evaluate({"a": a, "b": b})


@pytest.mark.limits("precision")
@given(a=NUMBERS, b=NUMBERS, symbol=st.sampled_from(["+", "-", "*", "/"]))
def test_arithmetic_on_variables_agrees_with_decimal_digit_for_digit(a: Decimal, b: Decimal, symbol: str) -> None:
    with decimal.localcontext(CONTEXT):
        expected = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b if b else None}
        want = expected[symbol]()
    expression = parse(f"a {symbol} b")
    if want is None:
        with pytest.raises(ExpressionError, match="division by zero"):
            expression.evaluate({"a": a, "b": b})
        return
    got = expression.evaluate({"a": a, "b": b})
    assert isinstance(got, Decimal)
    assert got == want and str(got) == str(want)


@given(a=NUMBERS, b=NUMBERS)
def test_literals_are_the_digits_written_not_binary_floats(a: Decimal, b: Decimal) -> None:
    with decimal.localcontext(CONTEXT):
        want = a + b
    assert parse(f"{a} + ({b})").evaluate({}) == want
