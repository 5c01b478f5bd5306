"""Small conversion helpers shared by the Bybit modules (no I/O, no clock)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bat_markets.core import ConfigError, DecodeError

__all__ = [
    "VENUE",
    "dec",
    "dec_opt",
    "dec_nonzero",
    "int_opt",
    "fmt_decimal",
    "ORDER_LINK_ID",
    "check_order_link_id",
]

VENUE = "bybit"
ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def dec_opt(text: str | None, field: str = "value") -> Decimal | None:
    """Venue decimal string to ``Decimal``; empty or missing gives ``None``."""
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise DecodeError(f"bad decimal in {field}: {text!r}", venue=VENUE) from exc
    if not value.is_finite():
        raise DecodeError(f"non-finite decimal in {field}: {text!r}", venue=VENUE)
    return value


def dec(text: str | None, field: str = "value") -> Decimal:
    """Venue decimal string to ``Decimal``; empty is a ``DecodeError``."""
    value = dec_opt(text, field)
    if value is None:
        raise DecodeError(f"missing decimal in {field}", venue=VENUE)
    return value


def dec_nonzero(text: str | None, field: str = "value") -> Decimal | None:
    """Like ``dec_opt`` but ``"0"``/``"0.00"`` (Bybit's "not set") also gives ``None``."""
    value = dec_opt(text, field)
    if value is None or value == 0:
        return None
    return value


def int_opt(text: str | int | None, field: str = "value") -> int | None:
    """Integer from a venue string (``"1684738540559"``); empty / ``"0"`` gives ``None``."""
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except (ValueError, TypeError) as exc:
        raise DecodeError(f"bad integer in {field}: {text!r}", venue=VENUE) from exc
    return value or None


def fmt_decimal(value: object, field: str, *, positive: bool = True) -> str:
    """A plain decimal string for a request (no exponent); rejects non-finite and non-positive."""
    if not isinstance(value, Decimal):
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            try:
                value = Decimal(value)
            except InvalidOperation as exc:
                raise ConfigError(f"{field} is not a decimal: {value!r}", venue=VENUE) from exc
        else:
            raise ConfigError(f"{field} must be a Decimal, got {type(value).__name__}", venue=VENUE)
    if not value.is_finite():
        raise ConfigError(f"{field} must be finite, got {value}", venue=VENUE)
    if positive and value <= 0:
        raise ConfigError(f"{field} must be positive, got {value}", venue=VENUE)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def check_order_link_id(value: str) -> str:
    """Validate a client order id against Bybit's ``orderLinkId`` rule (≤36, ``[A-Za-z0-9_-]``)."""
    if not isinstance(value, str) or not ORDER_LINK_ID.match(value):
        raise ConfigError(
            f"invalid client order id {value!r}: Bybit allows 1-36 characters of [A-Za-z0-9_-]",
            venue=VENUE,
        )
    return value
