"""Quantisation helpers: exact grid rounding, tick counts, request formatting and parsing."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.core import (
    ConfigError,
    InstrumentSpec,
    Rounding,
    format_decimal,
    is_on_grid,
    parse_decimal,
    quantize,
    quantize_amount,
    quantize_price,
    to_ticks,
)

D = Decimal
STEPS = [D("0.01"), D("0.5"), D("5"), D("0.001"), D("0.10"), D("0.25"), D("1E+1")]


@pytest.mark.parametrize(
    ("value", "step", "rounding", "expected"),
    [
        ("1.234", "0.01", Rounding.DOWN, "1.23"),
        ("1.234", "0.01", Rounding.UP, "1.24"),
        ("1.235", "0.01", Rounding.NEAREST, "1.24"),
        ("1.245", "0.01", Rounding.NEAREST_EVEN, "1.24"),
        ("1.255", "0.01", Rounding.NEAREST_EVEN, "1.26"),
        ("1.2349", "0.01", Rounding.NEAREST, "1.23"),
        ("-1.234", "0.01", Rounding.DOWN, "-1.24"),
        ("-1.234", "0.01", Rounding.UP, "-1.23"),
        ("-1.234", "0.01", Rounding.TOWARD_ZERO, "-1.23"),
        ("-1.234", "0.01", Rounding.AWAY_FROM_ZERO, "-1.24"),
        ("-1.235", "0.01", Rounding.NEAREST, "-1.24"),
        ("7.2", "0.5", Rounding.DOWN, "7.0"),
        ("7.2", "0.5", Rounding.UP, "7.5"),
        ("7.25", "0.5", Rounding.NEAREST, "7.5"),
        ("7.25", "0.5", Rounding.NEAREST_EVEN, "7.0"),
        ("7.75", "0.5", Rounding.NEAREST_EVEN, "8.0"),
        ("12", "5", Rounding.DOWN, "10"),
        ("12", "5", Rounding.UP, "15"),
        ("12.5", "5", Rounding.NEAREST, "15"),
        ("12.4999", "5", Rounding.NEAREST, "10"),
        ("0.0015", "0.001", Rounding.DOWN, "0.001"),
        ("0.0015", "0.001", Rounding.NEAREST, "0.002"),
        ("0.0004", "0.001", Rounding.DOWN, "0.000"),
        ("1.23456", "0.010", Rounding.DOWN, "1.230"),
        ("1234", "1E+1", Rounding.DOWN, "1230"),
        ("50000.15", "0.10", Rounding.UP, "50000.20"),
        ("3", "0.01", Rounding.UP, "3.00"),
    ],
)
def test_quantize_table(value: str, step: str, rounding: Rounding, expected: str) -> None:
    result = quantize(D(value), D(step), rounding)
    assert result == D(expected)
    assert str(result) == expected  # the step's decimal places, never an exponent


def test_rounding_accepts_its_string_values() -> None:
    assert quantize(D("1.29"), D("0.1"), "down") == D("1.2")  # type: ignore[arg-type]
    assert str(Rounding.NEAREST) == "nearest"
    with pytest.raises(ValueError, match="sideways"):
        quantize(D("1"), D("0.1"), "sideways")  # type: ignore[arg-type]


@pytest.mark.parametrize("step", [D(0), D(-1), D("NaN"), D("Infinity")])
def test_bad_step(step: Decimal) -> None:
    with pytest.raises(ConfigError, match="step"):
        quantize(D("1"), step, Rounding.DOWN)
    with pytest.raises(ConfigError):
        is_on_grid(D("1"), step)


@pytest.mark.parametrize("value", [D("NaN"), D("-Infinity"), 1.5, "1"])
def test_bad_value(value: object) -> None:
    with pytest.raises(ConfigError, match="value"):
        quantize(value, D("0.1"), Rounding.DOWN)  # type: ignore[arg-type]


def test_absurd_exponents_refused() -> None:
    with pytest.raises(ConfigError, match="range"):
        quantize(D("1E+5000"), D("0.1"), Rounding.DOWN)


values = st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False)


@settings(max_examples=300)
@given(values, st.sampled_from(STEPS), st.sampled_from(list(Rounding)))
def test_quantize_properties(value: Decimal, step: Decimal, rounding: Rounding) -> None:
    result = quantize(value, step, rounding)
    assert is_on_grid(result, step)
    assert abs(result - value) < step
    # an independent computation through exact rational arithmetic
    x = Fraction(value) / Fraction(step)
    floor, ceil = math.floor(x), math.ceil(x)
    away = ceil if x > 0 else floor
    if rounding is Rounding.DOWN:
        expected = floor
    elif rounding is Rounding.UP:
        expected = ceil
    elif rounding is Rounding.TOWARD_ZERO:
        expected = math.trunc(x)
    elif rounding is Rounding.AWAY_FROM_ZERO:
        expected = away
    elif x - floor != Fraction(1, 2):
        expected = floor if x - floor < Fraction(1, 2) else ceil
    elif rounding is Rounding.NEAREST:
        expected = away
    else:
        expected = floor if floor % 2 == 0 else ceil
    assert result == expected * step
    if is_on_grid(value, step):
        assert result == value
        assert to_ticks(value, step) * step == value


@settings(max_examples=200)
@given(st.integers(-(10**12), 10**12), st.sampled_from(STEPS))
def test_to_ticks_round_trip(n: int, step: Decimal) -> None:
    value = n * step
    assert is_on_grid(value, step)
    assert to_ticks(value, step) == n
    off = value + step / 3
    assert not is_on_grid(off, step)
    with pytest.raises(ConfigError, match="not a multiple"):
        to_ticks(off, step)


def test_quantize_is_exact_beyond_context_precision() -> None:
    value = D("123456789012345678901234567890.123456789")
    assert quantize(value, D("0.01"), Rounding.DOWN) == D("123456789012345678901234567890.12")
    assert to_ticks(D("1" * 40), D("1")) == int("1" * 40)


def spec(**changes: object) -> InstrumentSpec:
    base: dict[str, object] = {
        "venue": "binance",
        "symbol": "BTC/USDT:USDT",
        "id": "BTCUSDT",
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT",
        "tick_size": D("0.10"),
        "step_size": D("0.001"),
        "min_qty": D("0.001"),
        "market_step_size": D("0.01"),
    }
    base.update(changes)
    return InstrumentSpec(**base)  # type: ignore[arg-type]


def test_quantize_price_and_amount_use_the_spec() -> None:
    s = spec()
    assert quantize_price(s, D("50000.17"), Rounding.DOWN) == D("50000.1")
    assert quantize_price(s, D("50000.17"), Rounding.UP) == D("50000.2")
    assert quantize_amount(s, D("0.0129"), Rounding.DOWN) == D("0.012")
    assert quantize_amount(s, D("0.0129"), Rounding.DOWN, market=True) == D("0.01")
    assert quantize_amount(spec(market_step_size=None), D("0.0129"), Rounding.UP, market=True) == D(
        "0.013"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1E+2", "100"),
        ("0.00010", "0.0001"),
        ("100", "100"),
        ("100.000", "100"),
        ("-0.0", "0"),
        ("0E-8", "0"),
        ("-1.50", "-1.5"),
        ("1.5E-10", "0.00000000015"),
        ("123456789012345678901234567890.1000", "123456789012345678901234567890.1"),
        ("50000.10", "50000.1"),
    ],
)
def test_format_decimal(value: str, expected: str) -> None:
    text = format_decimal(D(value))
    assert text == expected
    assert D(text) == D(value)


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), 1.0, "1"])
def test_format_decimal_refuses(value: object) -> None:
    with pytest.raises(ConfigError):
        format_decimal(value)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_format_decimal_round_trips(value: Decimal) -> None:
    text = format_decimal(value)
    assert D(text) == value
    assert "E" not in text
    assert "e" not in text
    if "." in text:
        assert not text.endswith("0")
        assert not text.endswith(".")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1.50"), D("1.50")),
        (3, D(3)),
        ("0.1", D("0.1")),
        (" 2.5 ", D("2.5")),
        ("1e-3", D("0.001")),
    ],
)
def test_parse_decimal_accepts(value: object, expected: Decimal) -> None:
    result = parse_decimal(value, "amount")
    assert result == expected
    assert isinstance(result, Decimal)


def test_parse_decimal_refuses_floats_with_explanation() -> None:
    with pytest.raises(ConfigError) as info:
        parse_decimal(0.1, "price")
    message = str(info.value)
    assert "price" in message
    assert "float" in message
    assert "'0.1'" in message
    assert "exactly" in message


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        D("NaN"),
        D("-Infinity"),
        "",
        "abc",
        "1_000",
        True,
        None,
        [1],
    ],
)
def test_parse_decimal_refuses(value: object) -> None:
    with pytest.raises(ConfigError, match="amount"):
        parse_decimal(value, "amount")


def test_parse_decimal_never_goes_through_float() -> None:
    text = "0.1000000000000000000000000001"
    assert str(parse_decimal(text, "price")) == text
    assert math.isclose(float(parse_decimal("0.1", "p")), 0.1)
