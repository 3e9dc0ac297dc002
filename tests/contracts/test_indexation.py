"""The indexation arithmetic: worked cases, half-up edges, series rounding per year, refusals."""

from decimal import Decimal as D

import pytest

from contracts.indexation import Rounding, apply_index, apply_series

ORE, KRONA = Rounding.ORE, Rounding.KRONA

# (old price, percent, rounding, exact new price, rounded new price)
WORKED_CASES = [
    (D("1250.00"), D("3.1"), ORE, D("1288.75"), D("1288.75")),
    (D("985"), D("2.45"), KRONA, D("1009.1325"), D("1009")),
    (D("985"), D("2.45"), ORE, D("1009.1325"), D("1009.13")),
    (D("100"), D("0.005"), ORE, D("100.005"), D("100.01")),  # half-up to öre, not to even
    (D("100"), D("0.0049"), ORE, D("100.0049"), D("100.00")),
    (D("200"), D("0.25"), KRONA, D("200.5"), D("201")),  # half-up to kronor
    (D("250"), D("0.1"), KRONA, D("250.25"), D("250")),
    (D("1000.00"), D("-1.5"), ORE, D("985.00"), D("985.00")),  # negative index
    (D("99"), D("-0.5"), ORE, D("98.505"), D("98.51")),  # negative index, half-up edge
    (D("1234.56"), D("0"), ORE, D("1234.56"), D("1234.56")),  # zero index
    (D("0"), D("3.1"), ORE, D("0"), D("0.00")),  # zero price
    (D("65000.00"), D("4.1234"), ORE, D("67680.2100"), D("67680.21")),  # four-decimal index
    (D("1"), D("100"), ORE, D("2"), D("2.00")),  # the upper bound
    (D("1"), D("-50"), ORE, D("0.5"), D("0.50")),  # the lower bound
    (12, D("2"), KRONA, D("12.24"), D("12")),  # an int price is fine
]


@pytest.mark.parametrize("price, percent, rounding, exact, expected", WORKED_CASES)
def test_worked_cases(price, percent, rounding, exact, expected):
    result = apply_index(price, percent, rounding)
    assert result.exact_new_price == exact
    assert result.new_price == expected
    assert str(result.new_price) == str(expected)  # the exponent too: öre keeps two decimals
    assert result.old_price == price
    assert result.percent == percent
    assert result.factor == 1 + percent / 100
    assert result.difference == expected - price
    assert result.rounding is rounding


def test_rounding_given_as_text():
    assert apply_index(D("985"), D("2.45"), "krona").new_price == D("1009")


def test_series_rounds_each_year_before_the_next_index():
    steps = apply_series(D("100"), [(2025, D("0.5")), (2026, D("0.5"))], KRONA)
    assert [s.new_price for s in steps] == [D("101"), D("102")]
    assert steps[1].old_price == D("101")  # starts from the published, rounded price
    # Compounding without rounding in between would give 101.0025 -> 101: the rule matters.
    assert (D("100") * D("1.005") * D("1.005")).quantize(D("1")) == D("101")


def test_series_over_three_years():
    steps = apply_series(D("1250.00"), [(2024, D("3.1")), (2025, D("2.45")), (2026, D("-1"))], ORE)
    assert [s.year for s in steps] == [2024, 2025, 2026]
    assert [s.new_price for s in steps] == [D("1288.75"), D("1320.32"), D("1307.12")]
    assert steps[1].exact_new_price == D("1320.3243750")
    assert steps[2].exact_new_price == D("1307.1168")


def test_empty_series():
    assert apply_series(D("100"), [], ORE) == []


@pytest.mark.parametrize("price, percent", [(100.0, D("3")), (D("100"), 3.1), (D("100"), True)])
def test_floats_are_refused(price, percent):
    with pytest.raises(TypeError):
        apply_index(price, percent, ORE)


def test_float_in_series_is_refused():
    with pytest.raises(TypeError):
        apply_series(D("100"), [(2026, 2.0)], ORE)


@pytest.mark.parametrize("percent", [D("-50.0001"), D("100.0001"), D("-75"), D("250")])
def test_percent_out_of_range(percent):
    with pytest.raises(ValueError):
        apply_index(D("100"), percent, ORE)


def test_negative_price_and_unknown_rounding_refused():
    with pytest.raises(ValueError):
        apply_index(D("-1"), D("1"), ORE)
    with pytest.raises(ValueError):
        apply_index(D("1"), D("1"), "tiokronor")
    with pytest.raises(ValueError):
        apply_index(D("NaN"), D("1"), ORE)
