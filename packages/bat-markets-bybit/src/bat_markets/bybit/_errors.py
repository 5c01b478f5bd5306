"""Bybit ``retCode`` / HTTP status classification into the bat-markets error taxonomy (§10.Y)."""

from __future__ import annotations

from collections.abc import Mapping

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    ComplianceRequired,
    ConfigError,
    DecodeError,
    ExchangeReject,
    PermissionDenied,
    RateLimited,
    StateDivergence,
    TemporaryUnavailable,
    TransportError,
    UnknownExecution,
    Unsupported,
)

from ._util import VENUE

__all__ = [
    "AMBIGUOUS_CODES",
    "NOOP_CODES",
    "CLOCK_CODE",
    "error_for_code",
    "http_error",
    "is_noop",
    "retry_after_s",
    "unknown_from",
    "receipt_for_error",
    "thrown_receipt_error",
]

# Outcome unknown on a write (venue timeout/overload/restart, duplicate reqId); reads: retry later.
AMBIGUOUS_CODES = frozenset(
    {429, 10000, 10016, 10019, 10429, 20006, 170001, 170005, 170007, 170032, 500000}
)
_TIMEOUT_CODES = AMBIGUOUS_CODES - {20006}
_RATE_LIMIT_CODES = frozenset({10006, 10403, 20003})
CLOCK_CODE = 10002
_AUTH_CODES = frozenset({10002, 10003, 10004, 10007, 33004})
_PERMISSION_CODES = frozenset({10005, 10008, 10010, 10027, 10029})
_COMPLIANCE_CODES = frozenset({10009, 10024, 110123, 110124, 110125, 110132})
_CONFIG_CODES = frozenset({10017, 10404})
_UNSUPPORTED_CODES = frozenset({10028, 110029, 110088})
_STATE_CODES = frozenset({110001, 110008, 110010, 170213})
_TEMPORARY_CODES = frozenset({110079})
# "Not modified": leverage, position mode, margin mode, margin, TP/SL already as requested.
NOOP_CODES = frozenset({110025, 110026, 110027, 110043, 34040})
_POSITION_IDX_MISMATCH = "position idx not match position mode"


def is_noop(code: int, message: str) -> bool:
    """True when the code means "the state already holds" (34040 only when it says so)."""
    if code not in NOOP_CODES:
        return False
    if code == 34040:
        text = message.lower()
        return "not modified" in text or "unchanged" in text
    return True


def retry_after_s(headers: Mapping[str, str], now_ms: int | None) -> float | None:
    """Seconds until ``X-Bapi-Limit-Reset-Timestamp``, measured against the venue's own clock."""
    reset = headers.get("x-bapi-limit-reset-timestamp")
    if not reset:
        return None
    try:
        reset_ms = int(reset)
    except ValueError:
        return None
    if now_ms is None:
        timenow = headers.get("timenow")
        if timenow is None:
            return None
        try:
            now_ms = int(timenow)
        except ValueError:
            return None
    return max(0.0, (reset_ms - now_ms) / 1000.0)


def _err(
    cls: type[BatMarketsError],
    text: str,
    code: int,
    *,
    venue_message: str | None = None,
    http_status: int | None = None,
    retry_after: float | None = None,
    retryable: bool | None = None,
) -> BatMarketsError:
    return cls(
        text,
        venue=VENUE,
        code=code,
        venue_message=venue_message,
        http_status=http_status,
        retry_after=retry_after,
        retryable=retryable,
    )


def error_for_code(
    code: int,
    message: str,
    *,
    write: bool,
    retry_after: float | None = None,
    http_status: int | None = None,
) -> BatMarketsError:
    """The taxonomy error for a non-zero ``retCode`` (``write`` picks the ambiguous-outcome class)."""
    text = message or f"retCode {code}"
    vm = message or None
    hs = http_status
    if code in AMBIGUOUS_CODES:
        if write:
            return _err(
                UnknownExecution,
                f"outcome unknown: {text}",
                code,
                venue_message=vm,
                http_status=hs,
                retry_after=retry_after,
            )
        cls: type[BatMarketsError] = (
            TemporaryUnavailable if code in _TIMEOUT_CODES else ExchangeReject
        )
        return _err(cls, text, code, venue_message=vm, http_status=hs, retry_after=retry_after)
    if code in _RATE_LIMIT_CODES:
        wait = 1.0 if retry_after is None else retry_after  # per-UID limits roll over each second
        return _err(RateLimited, text, code, venue_message=vm, http_status=hs, retry_after=wait)
    if code in _AUTH_CODES:
        # 10002 (timestamp outside recv_window) succeeds again after a clock resync.
        return _err(
            AuthError, text, code, venue_message=vm, http_status=hs, retryable=code == CLOCK_CODE
        )
    if code in _PERMISSION_CODES:
        cls = PermissionDenied
    elif code in _COMPLIANCE_CODES:
        cls = ComplianceRequired
    elif code in _CONFIG_CODES:
        cls = ConfigError
    elif code in _UNSUPPORTED_CODES:
        cls = Unsupported
    elif code in _STATE_CODES or (code == 10001 and _POSITION_IDX_MISMATCH in message.lower()):
        cls = StateDivergence
    elif code in _TEMPORARY_CODES:
        cls = TemporaryUnavailable
    else:
        cls = ExchangeReject
    return _err(cls, text, code, venue_message=vm, http_status=hs)


def http_error(
    status: int, body: bytes, headers: Mapping[str, str], *, write: bool, now_ms: int | None = None
) -> BatMarketsError | None:
    """Classify a non-2xx HTTP status; ``None`` when the status itself says nothing (2xx)."""
    if 200 <= status < 300:
        return None
    snippet = body[:200].decode("utf-8", "replace").strip()
    wait = retry_after_s(headers, now_ms)
    cls: type[BatMarketsError]
    if status == 401:
        cls, text = AuthError, "HTTP 401: missing or invalid API key headers"
    elif status == 403:
        lowered = snippet.lower()
        if any(word in lowered for word in ("country", "region", "restricted", "cloudfront")):
            cls, text = ComplianceRequired, "HTTP 403: access from this region is blocked"
        else:
            # IP limit (600 requests / 5 s): the venue bans the IP for at least 10 minutes.
            cls, text = RateLimited, "HTTP 403 access too frequent (IP rate limit)"
            wait = 600.0 if wait is None else wait
    elif status == 404:
        cls, text = ConfigError, "HTTP 404: unknown path or category mismatch"
    elif status == 429:
        wait = 1.0 if wait is None else wait
        if write:
            cls, text = UnknownExecution, "HTTP 429 system protection: outcome unknown"
        else:
            cls, text = RateLimited, "HTTP 429 system protection"
    elif status >= 500 or status == 408:
        if write:
            cls, text = UnknownExecution, f"HTTP {status}: outcome unknown"
        else:
            cls, text = TemporaryUnavailable, f"HTTP {status}"
    elif status in (400, 405):
        cls, text = ConfigError, f"HTTP {status}: bad request"
    else:
        cls, text = ExchangeReject, f"HTTP {status}"
    return _err(
        cls, text, status, venue_message=snippet or None, http_status=status, retry_after=wait
    )


def unknown_from(err: BatMarketsError, what: str) -> UnknownExecution:
    """Wrap a transport-level failure of a write as ``UnknownExecution`` (keeps code and cause)."""
    if isinstance(err, UnknownExecution):
        return err
    wrapped = UnknownExecution(
        f"{what}: outcome unknown after {type(err).__name__}: {err.message}",
        venue=VENUE,
        code=err.code,
        venue_message=err.venue_message,
        retry_after=err.retry_after,
        http_status=err.http_status,
    )
    wrapped.__cause__ = err
    return wrapped


def thrown_receipt_error(err: BatMarketsError, what: str) -> tuple[CommandStatus, BatMarketsError]:
    """Status and error for a failure the runtime threw into a command flow.

    Anything that may have happened after the request left (transport, timeout, 5xx, garbled
    reply) is UNKNOWN; a definite refusal (our limiter, auth, config) is REJECTED.
    """
    ambiguous = (
        isinstance(err, (TransportError, TemporaryUnavailable, DecodeError, UnknownExecution))
        or type(err) is BatMarketsError
    )
    # HTTP/retCode 429 is system protection: the write may still have been processed.
    if ambiguous or (isinstance(err, RateLimited) and err.code in (429, 10429)):
        return CommandStatus.UNKNOWN, unknown_from(err, what)
    return CommandStatus.REJECTED, err


def receipt_for_error(
    kind: CommandKind,
    err: BatMarketsError,
    *,
    symbol: str | None = None,
    order_id: str | None = None,
    client_order_id: str | None = None,
    timestamp: int | None = None,
) -> CommandReceipt:
    """A receipt for a classified venue error: UNKNOWN for ``UnknownExecution``, else REJECTED."""
    status = CommandStatus.UNKNOWN if isinstance(err, UnknownExecution) else CommandStatus.REJECTED
    return CommandReceipt(
        kind=kind,
        status=status,
        venue=VENUE,
        symbol=symbol,
        order_id=order_id,
        client_order_id=client_order_id,
        error=err,
        timestamp=timestamp,
    )
