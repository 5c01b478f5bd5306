"""Exact decimal helpers: rounding to a tick/step grid, tick counts, request formatting, parsing.

Every function works on ``Decimal`` without ever going through ``float``. Grids are anchored at
zero (``value = n * step``) and ``step`` may be any positive decimal (``0.01``, ``0.5``, ``5``...).
"""

from __future__ import annotations

import enum
from decimal import Decimal

from ._errors import ConfigError
from ._models import InstrumentSpec

__all__ = [
    "Rounding",
    "quantize",
    "quantize_price",
    "quantize_amount",
    "is_on_grid",
    "to_ticks",
    "format_decimal",
    "parse_decimal",
]


class Rounding(str, enum.Enum):
    """How to move a value onto a grid when it is not already on it.

    ``DOWN``/``UP`` go toward minus/plus infinity (floor/ceiling), ``TOWARD_ZERO``/``AWAY_FROM_ZERO``
    shrink/grow the magnitude, ``NEAREST`` picks the closest grid point with ties away from zero
    and ``NEAREST_EVEN`` the closest with ties to the even multiple (banker's rounding).
    """

    DOWN = "down"
    UP = "up"
    TOWARD_ZERO = "toward_zero"
    AWAY_FROM_ZERO = "away_from_zero"
    NEAREST = "nearest"
    NEAREST_EVEN = "nearest_even"

    def __str__(self) -> str:
        return str(self.value)


_MAX_EXPONENT = 1000  # |adjusted exponent| beyond this is not a price or an amount


def _check(value: Decimal, step: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ConfigError(f"value must be a finite Decimal, got {value!r}")
    if not isinstance(step, Decimal) or not step.is_finite() or step <= 0:
        raise ConfigError(f"step must be a positive finite Decimal, got {step!r}")
    if max(abs(value.adjusted()), abs(step.adjusted())) > _MAX_EXPONENT:
        raise ConfigError(f"{value} / {step} is outside the supported range")


def _integer(value: Decimal) -> tuple[int, int]:
    """``(n, e)`` with ``value == n * 10**e`` exactly."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    n = int("".join(map(str, digits)) or "0")
    return (-n if sign else n), exponent


def _divmod(value: Decimal, step: Decimal) -> tuple[int, int, int]:
    """Exact ``(q, r, s)`` in integers: ``value == q * step + r * 10**e``, ``step == s * 10**e``,
    ``q`` truncated toward zero and ``r`` carrying the sign of ``value``."""
    vn, ve = _integer(value)
    sn, se = _integer(step)
    e = min(ve, se)
    vn *= 10 ** (ve - e)
    sn *= 10 ** (se - e)
    q, r = divmod(abs(vn), sn)
    return (-q, -r, sn) if vn < 0 else (q, r, sn)


def quantize(value: Decimal, step: Decimal, rounding: Rounding) -> Decimal:
    """``value`` moved onto the grid ``n * step`` with ``rounding``; exact for any positive step.

    The result carries the step's decimal places (``quantize(Decimal("1.23456"), Decimal("0.010"),
    Rounding.DOWN) == Decimal("1.230")``), and never a positive exponent (``Decimal("100")``, not
    ``Decimal("1E+2")``).
    """
    _check(value, step)
    rounding = Rounding(rounding)
    q, r, s = _divmod(value, step)
    if r:
        sign = 1 if r > 0 else -1
        if rounding is Rounding.AWAY_FROM_ZERO:
            away = True
        elif rounding is Rounding.TOWARD_ZERO:
            away = False
        elif rounding is Rounding.UP:
            away = sign > 0
        elif rounding is Rounding.DOWN:
            away = sign < 0
        elif abs(r) * 2 == s:  # a tie between two grid points
            away = rounding is Rounding.NEAREST or q % 2 == 1
        else:
            away = abs(r) * 2 > s
        if away:
            q += sign
    sn, se = _integer(step)
    if se >= 0:
        return Decimal(q * sn * 10**se)
    return Decimal(f"{q * sn}E{se}")


def quantize_price(spec: InstrumentSpec, price: Decimal, rounding: Rounding) -> Decimal:
    """``price`` on the instrument's tick grid (``spec.tick_size``)."""
    return quantize(price, spec.tick_size, rounding)


def quantize_amount(
    spec: InstrumentSpec, amount: Decimal, rounding: Rounding, *, market: bool = False
) -> Decimal:
    """``amount`` on the instrument's step grid; ``market=True`` uses the market-order step
    (``spec.market_step_size``) when the venue has one."""
    step = spec.market_step_size if market and spec.market_step_size else spec.step_size
    return quantize(amount, step, rounding)


def is_on_grid(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is an exact multiple of ``step``."""
    _check(value, step)
    return not _divmod(value, step)[1]


def to_ticks(value: Decimal, step: Decimal) -> int:
    """The exact number of ``step``s in ``value``; ``ConfigError`` when it is off the grid."""
    _check(value, step)
    q, r, _ = _divmod(value, step)
    if r:
        raise ConfigError(f"{value} is not a multiple of {format_decimal(step)}")
    return q


def format_decimal(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros, as venues expect in requests.

    ``Decimal("1E+2") -> "100"``, ``Decimal("0.00010") -> "0.0001"``, ``Decimal("-0.0") -> "0"``.
    """
    if not isinstance(value, Decimal):
        raise ConfigError(f"format_decimal expects a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ConfigError(f"cannot format {value} as a plain decimal")
    text = format(value, "f")  # exact, never rounded, never in exponent form
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_decimal(value: object, field: str) -> Decimal:
    """``value`` (``Decimal``, ``int`` or decimal ``str``) as a finite ``Decimal``.

    Floats are refused: a binary float cannot hold most decimal prices exactly, so the number
    sent would silently differ from the one meant. ``field`` names the argument in errors.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ConfigError(f"{field} must be a Decimal, int or str, got bool {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except ArithmeticError:
            raise ConfigError(f"{field} is not a decimal number: {value!r}") from None
        if not text or "_" in text:
            raise ConfigError(f"{field} is not a decimal number: {value!r}")
    elif isinstance(value, float):
        raise ConfigError(
            f"{field} must not be a float ({value!r}): binary floats cannot represent most "
            f"decimal values exactly (0.1 is stored as 0.1000000000000000055...), so the number "
            f"sent could differ from the one meant; pass a str such as {str(value)!r} or a Decimal"
        )
    else:
        raise ConfigError(f"{field} must be a Decimal, int or str, got {type(value).__name__}")
    if not result.is_finite():
        raise ConfigError(f"{field} must be a finite number, got {value!r}")
    return result
