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
