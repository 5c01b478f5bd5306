"""Request-parameter readers with the venue's 10001 "params error" answers.

GET parameters arrive as strings; POST bodies are JSON, where the venue accepts decimal fields
as strings (numbers are tolerated), integers as numbers or numeric strings and flags as bools.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import _codes as C
from ._errors import BybitError
from ._format import parse_decimal

__all__ = [
    "Params",
    "LINK_ID",
    "page_cursor",
    "parse_cursor",
]

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def _bad(name: str, why: str = "invalid") -> BybitError:
    return BybitError(C.PARAM_ERROR, f"params error: {name} {why}")


class Params:
    """Typed access to one request's parameters."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is not None and value != ""

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise _bad(name, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _bad(name)
        return str(value)

    def req_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise _bad(name, "is required")
            return None
        d = parse_decimal(value)
        if d is None:
            raise _bad(name)
        return d

    def integer(
        self, name: str, default: int | None = None, *, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise _bad(name)
        try:
            n = int(value) if isinstance(value, (int, str)) else None
        except ValueError:
            n = None
        if n is None:
            raise _bad(name)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise _bad(name, "out of range")
        return n

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _bad(name)

    def category(self) -> None:
        """Only ``category=linear`` is simulated."""
        cat = self.raw.get("category")
        if cat is None or cat == "":
            raise _bad("category", "is required")
        if cat != "linear":
            raise BybitError(
                C.PARAM_ERROR, f"params error: category {cat!r} is not simulated (linear only)"
            )

    def limit(self, default: int, hi: int) -> int:
        n = self.integer("limit", default, lo=1, hi=hi)
        assert n is not None
        return n


def page_cursor(offset: int) -> str:
    """An opaque ``nextPageCursor`` in the venue's percent-encoded look."""
    return f"page%3D{offset}%26"


def parse_cursor(value: str | None) -> int:
    """Offset of a cursor produced by :func:`page_cursor` (raw or URL-decoded)."""
    if not value:
        return 0
    m = re.match(r"^page(?:%3D|=)(\d+)(?:%26|&)?$", value)
    if m is None:
        raise _bad("cursor")
    return int(m.group(1))
