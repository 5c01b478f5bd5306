"""Decimal-to-string formatting in the venue's style (never floats)."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["ZERO", "decimals_of", "fixed", "plain", "opt_fixed", "parse_decimal"]

ZERO = Decimal(0)


def decimals_of(step: Decimal) -> int:
    """Number of decimal places of a tick or step (``0.10`` -> 1, ``0.001`` -> 3, ``5`` -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fixed(value: Decimal, places: int) -> str:
    """``value`` with exactly ``places`` decimals (``"10000.00"``), no exponent."""
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def plain(value: Decimal) -> str:
    """Shortest exact form without exponent (``"0"``, ``"119.015"``, ``"10"``)."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def opt_fixed(value: Decimal | None, places: int) -> str:
    """Fixed form, or ``"0.00..."`` at ``places`` when absent (the venue's "not set" value)."""
    return fixed(value if value is not None else ZERO, places)


def parse_decimal(value: object) -> Decimal | None:
    """Parse a venue decimal parameter (string or JSON number); ``None`` when invalid."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
    elif isinstance(value, float):
        text = repr(value)  # JSON numbers from clients: take their shortest repr, not binary
    else:
        return None
    if not text:
        return None
    try:
        d = Decimal(text)
    except ArithmeticError:
        return None
    if not d.is_finite():
        return None
    return d
