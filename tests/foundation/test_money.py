from decimal import Decimal

import pytest

from finance_portal.errors import InvalidInput
from finance_portal.money import discount_price, parse_amount, quantize, validate_currency


def test_design_example_of_the_discount_price():
    interest, price = discount_price(face=Decimal("10000.00"), annual_rate=Decimal("0.036"), days=90, currency="CNY")
    assert (interest, price) == (Decimal("90.00"), Decimal("9910.00"))


def test_rounding_is_half_up_to_the_minor_unit():
    assert quantize(Decimal("1.005"), "CNY") == Decimal("1.01")
    assert quantize(Decimal("1.004999"), "CNY") == Decimal("1.00")
    assert quantize(Decimal("12.5"), "JPY") == Decimal("13")


def test_price_plus_interest_is_the_face():
    for days in range(1, 366, 7):
        interest, price = discount_price(face=Decimal("123456.78"), annual_rate=Decimal("0.0437"), days=days, currency="CNY")
        assert interest + price == Decimal("123456.78")


@pytest.mark.parametrize("value", ["0", "-1", "1.001", "abc", "NaN", "Infinity", 1.5, True, "1e30"])
def test_bad_amounts_are_refused_with_the_field_named(value):
    with pytest.raises(InvalidInput) as err:
        parse_amount(value, "CNY", field="face_amount")
    assert err.value.field == "face_amount"


def test_good_amounts_parse_exactly():
    assert parse_amount("10000.5", "CNY") == Decimal("10000.50")
    assert parse_amount(10, "CNY") == Decimal("10.00")
    assert parse_amount("0", "CNY", allow_zero=True) == Decimal("0.00")


def test_unknown_currencies_are_refused():
    assert validate_currency("cny") == "CNY"
    with pytest.raises(InvalidInput):
        validate_currency("XXX")


# --- hostile and foreign input: always InvalidInput naming the field, never another exception -------------

HOSTILE = [
    "1e999999999", "-1e999999999", "1e-999999999", "1E+1", "1e2", "9" * 400, "9" * 19, "1" + "0" * 18 + ".00",
    "0." + "0" * 100 + "1", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1_000", "1,000.00", "+5",
    "0x10", ".5", "5.", "", " ", "-", "1.2.3", "12\x00", "\x00", "1\x0b2", "١٢٣", "１２３", "１２３.４５", "٣.٥",
    "१२३", "³", "12\u202e34", "\u200b12", "9" * 3_000_000, None, [1], {"a": 1}, b"12", 10**400, -(10**400),
    Decimal("1E+999999999"), Decimal("-1E+999999999"), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
    Decimal("1E-999999999"),
]


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:40] for v in HOSTILE])
@pytest.mark.parametrize("allow_zero", [False, True])
def test_hostile_amounts_are_refused_naming_the_field_and_never_raise_anything_else(value, allow_zero):
    with pytest.raises(InvalidInput) as err:
        parse_amount(value, "CNY", field="total_amount", allow_zero=allow_zero)
    assert err.value.field == "total_amount"
    assert len(err.value.message) < 200  # a huge input is not echoed back


@pytest.mark.parametrize("value", ["１２３", "١٢٣", "۱۲۳", "१२३", "１２３.４５", "12３"])
def test_non_ascii_digits_are_refused_with_a_message_saying_so(value):
    """Input rule (docs/architecture.md): amounts are written with ASCII digits; nothing is normalized."""
    with pytest.raises(InvalidInput, match="ASCII digits 0-9"):
        parse_amount(value, "CNY", field="face")


@pytest.mark.parametrize("value, expected", [("-0", "0.00"), ("0.000", "0.00"), (Decimal("-0"), "0.00"), (0, "0.00")])
def test_negative_zero_is_plain_zero_when_zero_is_allowed_and_refused_otherwise(value, expected):
    parsed = parse_amount(value, "CNY", allow_zero=True)
    assert str(parsed) == expected and not parsed.is_signed()
    with pytest.raises(InvalidInput, match="greater than zero"):
        parse_amount(value, "CNY")


def test_the_largest_amount_a_column_holds_is_accepted_and_one_cent_more_is_not():
    assert parse_amount("999999999999999999.99", "CNY") == Decimal("999999999999999999.99")
    assert parse_amount(" 0000012.50\n", "CNY") == Decimal("12.50")
    for too_large in ("1000000000000000000.00", "1000000000000000000", 10**18):
        with pytest.raises(InvalidInput, match="too large"):
            parse_amount(too_large, "CNY")


def test_exponent_notation_is_refused_even_for_small_values():
    with pytest.raises(InvalidInput, match="digits 0-9"):
        parse_amount("1e2", "CNY")
