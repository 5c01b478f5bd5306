"""Binance error classification into the bat-markets taxonomy (PROTOCOLS §10.B, §9.B).

``classify`` maps an HTTP status plus the ``{"code", "msg"}`` body to one taxonomy error. The
ambiguous answers (HTTP 408, 503 "Unknown error...", -1006, -1007, and -1000 on writes) become
``UnknownExecution`` for writes and ``Timeout`` for reads: the request may have executed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import msgspec

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    ComplianceRequired,
    DecodeError,
    ExchangeReject,
    PermissionDenied,
    RateLimited,
    RateLimitRule,
    RateLimitUsage,
    StateDivergence,
    TemporaryUnavailable,
    Timeout,
    UnknownExecution,
    Unsupported,
)

__all__ = [
    "VENUE",
    "NOOP_CODES",
    "CLOCK_CODES",
    "AMBIGUOUS_CODES",
    "RATE_LIMIT_RULES",
    "ErrorBody",
    "classify",
    "classify_code",
    "parse_rate_limits",
    "is_noop",
]

VENUE = "binance"

NOOP_CODES = frozenset({-4046, -4059, -4171, -5027})
"""Rejections that mean the requested state already holds: margin type, position side,
multi-assets mode unchanged; amend with no change."""

CLOCK_CODES = frozenset({-1021, -5028})
AMBIGUOUS_CODES = frozenset({-1006, -1007})

_TEMPORARY = frozenset({-1001, -1008, -1016})
_RATE = frozenset({-1003, -1015})
_AUTH = frozenset({-1021, -5028, -1022, -2014, -2015, -1099})
_PERMISSION = frozenset({-1002, -2017, -4087, -4088})
_COMPLIANCE = frozenset({-4402, -4403, -4202, -4203, -4205, -4206, -4192})
_DIVERGENCE = frozenset({-2011, -2013, -4061, -4531, -1125})
_UNSUPPORTED = frozenset({-4120})

RATE_LIMIT_RULES = (
    RateLimitRule(key="weight", limit=2400, window_s=60.0),
    RateLimitRule(key="orders", limit=300, window_s=10.0),
    RateLimitRule(key="orders", limit=1200, window_s=60.0),
)

_UNKNOWN_503 = "unknown error, please check your request or try again later"
_BAN_UNTIL = re.compile(r"banned until (\d{10,16})")


class ErrorBody(msgspec.Struct, gc=False):
    """A Binance error body ``{"code": -2019, "msg": "..."}`` (code may be a string)."""

    code: int | str | None = None
    msg: str | None = None


_error_decoder = msgspec.json.Decoder(ErrorBody)


def _decode_body(body: bytes) -> ErrorBody | None:
    try:
        return _error_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _header_retry_after(headers: Mapping[str, str] | None) -> float | None:
    raw = headers.get("retry-after") if headers else None
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
    return None


def _ban_retry_after(headers: Mapping[str, str] | None, msg: str) -> float | None:
    """Seconds until "IP banned until <ms>", measured against the response's ``Date`` header."""
    m = _BAN_UNTIL.search(msg)
    raw_date = headers.get("date") if headers else None
    if m is None or not raw_date:
        return None
    try:
        sent = parsedate_to_datetime(raw_date).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, int(m.group(1)) / 1000.0 - sent)


def _make(
    cls: type[BatMarketsError],
    text: str,
    *,
    code: int | None,
    msg: str,
    status: int | None,
    retry_after: float | None = None,
    retryable: bool | None = None,
) -> BatMarketsError:
    return cls(
        text,
        venue=VENUE,
        code=code,
        venue_message=msg or None,
        http_status=status,
        retry_after=retry_after,
        retryable=retryable,
    )


def is_noop(code: int | str | None) -> bool:
    return isinstance(code, int) and code in NOOP_CODES


def classify_code(
    code: int,
    msg: str,
    *,
    http_status: int | None = None,
    write: bool = True,
    retry_after: float | None = None,
) -> BatMarketsError:
    """The taxonomy error for a venue error code (no-op codes included: callers decide)."""
    text = f"Binance error {code}: {msg}"
    cls: type[BatMarketsError]
    retryable: bool | None = None
    if code in AMBIGUOUS_CODES or (code == -1000 and write):
        if write:
            return _make(
                UnknownExecution,
                text + " (outcome unknown: reconcile)",
                code=code,
                msg=msg,
                status=http_status,
            )
        cls = Timeout
    elif code == -1000 or code in _TEMPORARY:
        cls = TemporaryUnavailable
    elif code in _RATE:
        cls = RateLimited
    elif code in _AUTH:
        cls = AuthError
        # -1021/-5028: definitely not executed; retry once after a clock resync
        retryable = code in CLOCK_CODES
    elif code in _PERMISSION:
        cls = PermissionDenied
    elif code in _COMPLIANCE:
        cls = ComplianceRequired
    elif code in _DIVERGENCE:
        cls = StateDivergence
    elif code in _UNSUPPORTED:
        cls = Unsupported
    else:
        cls = ExchangeReject
    return _make(
        cls,
        text,
        code=code,
        msg=msg,
        status=http_status,
        retry_after=retry_after if cls is RateLimited else None,
        retryable=retryable,
    )


def classify(
    status: int,
    headers: Mapping[str, str] | None,
    body: bytes,
    *,
    write: bool = True,
) -> BatMarketsError | None:
    """The error carried by an HTTP answer, or ``None`` for a success (2xx)."""
    if 200 <= status < 300:
        return None
    err = _decode_body(body)
    raw_code = err.code if err is not None else None
    msg = (err.msg if err is not None else None) or ""
    code: int | None = None
    if isinstance(raw_code, int):
        code = raw_code
    elif isinstance(raw_code, str):
        try:
            code = int(raw_code)
        except ValueError:
            code = None
    if status in (429, 418):
        retry_after = _header_retry_after(headers)
        if retry_after is None:
            retry_after = _ban_retry_after(headers, msg)
        if retry_after is None:
            retry_after = 120.0 if status == 418 else 1.0
        return _make(
            RateLimited,
            f"Binance rate limit (HTTP {status}): {msg or 'too many requests'}",
            code=code,
            msg=msg,
            status=status,
            retry_after=retry_after,
        )
    if status == 408 or (status == 503 and msg.lower().startswith(_UNKNOWN_503)):
        text = f"Binance answered HTTP {status}: {msg or 'request timeout'}"
        if write:
            return _make(
                UnknownExecution,
                text + " (outcome unknown: reconcile)",
                code=code,
                msg=msg,
                status=status,
            )
        return _make(Timeout, text, code=code, msg=msg, status=status)
    if code is not None and code < 0:
        return classify_code(
            code,
            msg,
            http_status=status,
            write=write,
            retry_after=_header_retry_after(headers),
        )
    if status == 451:
        return _make(
            ComplianceRequired,
            f"Binance refuses service from this location (HTTP 451) {msg}".rstrip(),
            code=code,
            msg=msg,
            status=status,
        )
    if status == 403:
        return _make(
            PermissionDenied,
            "Binance WAF blocked the request (HTTP 403); do not retry it unchanged",
            code=code,
            msg=msg,
            status=status,
        )
    if status == 401:
        return _make(
            AuthError,
            "Binance rejected the credentials (HTTP 401)",
            code=code,
            msg=msg,
            status=status,
        )
    if status >= 500:
        return _make(
            TemporaryUnavailable,
            f"Binance unavailable (HTTP {status}): {msg or 'server error'}",
            code=code,
            msg=msg,
            status=status,
        )
    if err is None:
        snippet = body[:80].decode("utf-8", "replace")
        return _make(
            DecodeError,
            f"Binance answered HTTP {status} with a non-JSON body: {snippet!r}",
            code=None,
            msg="",
            status=status,
        )
    return _make(
        ExchangeReject,
        f"Binance rejected the request (HTTP {status}): {msg}",
        code=code,
        msg=msg,
        status=status,
    )


_WEIGHT_PREFIX = "x-mbx-used-weight-"
_ORDER_PREFIX = "x-mbx-order-count-"
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_LIMITS = {(r.key, r.window_s): r.limit for r in RATE_LIMIT_RULES}


def _window(suffix: str) -> float | None:
    suffix = suffix.lower()
    if len(suffix) < 2 or suffix[-1] not in _UNIT_S or not suffix[:-1].isdigit():
        return None
    return int(suffix[:-1]) * _UNIT_S[suffix[-1]]


def parse_rate_limits(headers: Mapping[str, str]) -> list[RateLimitUsage]:
    """``X-MBX-USED-WEIGHT-<n><unit>`` and ``X-MBX-ORDER-COUNT-<n><unit>`` into usages."""
    out: list[RateLimitUsage] = []
    for name, value in headers.items():
        lname = name.lower()
        if lname.startswith(_WEIGHT_PREFIX):
            key, suffix = "weight", lname[len(_WEIGHT_PREFIX) :]
        elif lname.startswith(_ORDER_PREFIX):
            key, suffix = "orders", lname[len(_ORDER_PREFIX) :]
        else:
            continue
        window = _window(suffix)
        try:
            used = int(value.strip())
        except ValueError:
            continue
        if window is None:
            continue
        limit = _LIMITS.get((key, window))
        out.append(
            RateLimitUsage(
                key=key,
                used=used,
                limit=limit,
                remaining=None if limit is None else max(0, limit - used),
                window_s=window,
            )
        )
    return out
