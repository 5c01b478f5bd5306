"""REST plumbing: request preparation and signing, envelope checks, paging helpers."""

from __future__ import annotations

from collections.abc import Generator
from typing import NamedTuple, TypeVar
from urllib.parse import quote

import msgspec

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    Credentials,
    DecodeError,
    HttpRequest,
    RestRequest,
    RestResponse,
    UnknownExecution,
)

from ._errors import error_for_code, http_error, is_noop, retry_after_s
from ._native import Envelope, Page, ReasonsResult, lax
from ._signing import rest_headers
from ._util import VENUE

__all__ = [
    "CATEGORY",
    "MAX_PAGES",
    "encode_query",
    "prepare",
    "decode_envelope",
    "read_checked",
    "decode_result",
    "get",
    "cursor_pages",
    "Outcome",
    "command_outcome",
]

T = TypeVar("T")
CATEGORY = ("category", "linear")
MAX_PAGES = 10_000  # hard stop for any paging loop (a venue that never ends its cursor)
_ENVELOPE = lax(Envelope)
_REASONS = lax(ReasonsResult)


def encode_query(params: list[tuple[str, str]]) -> str:
    """``k=v&...`` in the given order. ``%`` is kept as is: Bybit cursors arrive URL-encoded
    and must be sent back verbatim."""
    return "&".join(f"{k}={quote(str(v), safe='%,')}" for k, v in params)


def prepare(
    request: RestRequest,
    credentials: Credentials | None,
    timestamp_ms: int,
    recv_window_ms: int,
) -> HttpRequest:
    """Exact bytes to send; the JSON body is serialised once and those bytes are signed."""
    query = encode_query(request.params)
    target = f"{request.path}?{query}" if query else request.path
    headers: dict[str, str] = {}
    body: bytes | None = None
    if request.json is not None or request.method in ("POST", "PUT"):
        body = msgspec.json.encode(request.json if request.json is not None else {})
        headers["Content-Type"] = "application/json"
    if request.signed or request.keyed:
        if credentials is None:
            raise AuthError(
                f"{request.method} {request.path} needs Bybit API credentials "
                "(set BYBIT_API_KEY / BYBIT_API_SECRET or pass credentials)",
                venue=VENUE,
            )
        tail = body if body is not None else query.encode()
        headers.update(rest_headers(credentials, timestamp_ms, recv_window_ms, tail))
    return HttpRequest(
        method=request.method,
        target=target,
        headers=headers,
        body=body,
        weight=request.weight,
        order_weight=request.order_weight,
        idempotent=request.idempotent,
        tag=request.tag,
    )


def decode_envelope(body: bytes) -> Envelope:
    try:
        return _ENVELOPE.decode(body)
    except msgspec.MsgspecError as exc:
        snippet = body[:120].decode("utf-8", "replace")
        raise DecodeError(f"Bybit reply is not a v5 envelope: {snippet!r}", venue=VENUE) from exc


def _reasons(env: Envelope) -> str:
    """``result.reasons`` of a refused ``set-margin-mode`` (empty string when absent)."""
    try:
        reasons = _REASONS.decode(env.result).reasons
    except msgspec.MsgspecError:
        return ""
    return "; ".join(f"{r.reasonCode} {r.reasonMsg}".strip() for r in reasons)


def _code_error(env: Envelope, response: RestResponse, *, write: bool) -> BatMarketsError:
    message = env.retMsg
    reasons = _reasons(env)
    if reasons:
        message = f"{message}: {reasons}" if message else reasons
    return error_for_code(
        env.retCode,
        message,
        write=write,
        retry_after=retry_after_s(response.headers, env.time),
        http_status=response.status,
    )


def read_checked(response: RestResponse) -> Envelope:
    """The envelope of a successful read; otherwise the taxonomy error is raised."""
    err = http_error(response.status, response.body, response.headers, write=False)
    if err is not None:
        raise err
    env = decode_envelope(response.body)
    if env.retCode != 0:
        raise _code_error(env, response, write=False)
    return env


def decode_result(decoder: msgspec.json.Decoder[T], raw: msgspec.Raw, what: str) -> T:
    try:
        return decoder.decode(raw)
    except msgspec.MsgspecError as exc:
        raise DecodeError(f"unexpected Bybit {what} result: {exc}", venue=VENUE) from exc


def get(
    path: str, params: list[tuple[str, str]], *, signed: bool = False, tag: str = ""
) -> Generator[RestRequest, RestResponse, Envelope]:
    """One checked GET (``category=linear`` is the caller's business)."""
    response = yield RestRequest(method="GET", path=path, params=params, signed=signed, tag=tag)
    return read_checked(response)


def cursor_pages(
    path: str,
    params: list[tuple[str, str]],
    decoder: msgspec.json.Decoder[Page[T]],
    *,
    page_size: int,
    want: int | None = None,
    signed: bool = False,
    tag: str = "",
) -> Generator[RestRequest, RestResponse, tuple[list[T], int | None]]:
    """Follow ``nextPageCursor`` until it is empty, a page is short or ``want`` rows arrived.

    Returns the rows in venue order and the venue time of the last reply.
    """
    rows: list[T] = []
    cursor = ""
    seen: set[str] = set()
    server_time: int | None = None
    for _ in range(MAX_PAGES):
        page_params = [*params, ("limit", str(page_size))]
        if cursor:
            page_params.append(("cursor", cursor))
        env = yield from get(path, page_params, signed=signed, tag=tag)
        server_time = env.time
        page = decode_result(decoder, env.result, path)
        rows.extend(page.items)
        if want is not None and len(rows) >= want:
            break
        cursor = page.nextPageCursor
        # A short page is the last one (Bybit may still hand out a cursor to an empty page).
        if not cursor or len(page.items) < page_size:
            break
        if cursor in seen:
            raise DecodeError(f"{path}: pagination cursor repeated", venue=VENUE)
        seen.add(cursor)
    return rows, server_time


class Outcome(NamedTuple):
    """A write's reply: the envelope (if any), the classified error (if any), and ``noop``."""

    envelope: Envelope | None
    error: BatMarketsError | None
    noop: bool = False


def command_outcome(response: RestResponse) -> Outcome:
    """Classify a write's reply. Garbled replies are UNKNOWN: the write may have happened."""
    err = http_error(response.status, response.body, response.headers, write=True)
    if err is not None:
        return Outcome(None, err)
    try:
        env = decode_envelope(response.body)
    except DecodeError as exc:
        unknown = UnknownExecution(
            f"write reply could not be decoded: {exc.message}",
            venue=VENUE,
            http_status=response.status,
        )
        unknown.__cause__ = exc
        return Outcome(None, unknown)
    if env.retCode == 0:
        return Outcome(env, None)
    if is_noop(env.retCode, env.retMsg):
        return Outcome(env, None, noop=True)
    return Outcome(env, _code_error(env, response, write=True))
