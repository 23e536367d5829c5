"""Form validation as properties over any input (VAL-03): every field type answers arbitrary text with a typed value
or a refusal naming the rule, numbers keep their exact digits within the field's precision, and a wrong unit is always
refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebr.domain.errors import InvalidInput
from ebr.domain.records import _PARSERS, NUMERIC_TYPES, validate_value
from ebr.domain.steps import FieldDefinition

TYPES = sorted(_PARSERS)
UNITS = st.sampled_from(["", "kg", "g", "°C", "KG", " kg", "mL"])


@given(kind=st.sampled_from(TYPES), text=st.text(max_size=40), unit=UNITS, required=st.booleans())
def test_any_text_is_a_typed_value_or_a_refusal_never_another_error(
    kind: str, text: str, unit: str, required: bool
) -> None:
    field = FieldDefinition("f", "Field", kind, unit="kg", required=required, precision=3, choices=("A", "B"))
    try:
        validate_value(field, text, unit)
    except InvalidInput as refusal:
        assert str(refusal).startswith("Field")


@pytest.mark.limits("precision")
@given(
    number=st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False, allow_infinity=False),
    precision=st.integers(0, 6),
)
def test_a_number_is_kept_with_its_exact_digits_when_within_the_precision_and_refused_beyond_it(
    number: Decimal, precision: int
) -> None:
    field = FieldDefinition("m", "Mass", "quantity", unit="kg", precision=precision)
    text = str(number)
    places = -int(number.as_tuple().exponent)
    if places <= precision:
        parsed = validate_value(field, text, "kg")
        assert parsed == number and str(parsed) == text  # trailing zeros too: 1.500 stays 1.500
    else:
        with pytest.raises(InvalidInput, match=f"at most {precision} decimal places"):
            validate_value(field, text, "kg")


@pytest.mark.limits("units")
@given(kind=st.sampled_from(sorted(NUMERIC_TYPES)), unit=UNITS, expected=st.sampled_from(["", "kg", "°C"]))
def test_a_numeric_value_is_accepted_only_in_its_fields_unit(kind: str, unit: str, expected: str) -> None:
    field = FieldDefinition("m", "Mass", kind, unit=expected)
    if unit.strip() == expected:
        assert validate_value(field, "1.5", unit) == Decimal("1.5")
    else:
        with pytest.raises(InvalidInput, match="wrong unit"):
            validate_value(field, "1.5", unit)


@given(text=st.text(st.characters(codec="ascii"), max_size=20))
def test_only_a_plain_signed_decimal_is_a_number(text: str) -> None:
    field = FieldDefinition("x", "X", "number")
    stripped = text.strip()
    plain = stripped.lstrip("+-")
    is_plain = (
        plain.count(".") <= 1 and all(part.isdigit() for part in plain.split(".")) and len(stripped) - len(plain) <= 1
    )
    if not stripped:
        with pytest.raises(InvalidInput, match="required"):
            validate_value(field, text)
    elif is_plain:
        assert validate_value(field, text) == Decimal(stripped)
    else:
        with pytest.raises(InvalidInput):
            validate_value(field, text)
