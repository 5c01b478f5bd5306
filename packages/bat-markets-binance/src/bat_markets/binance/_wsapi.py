"""WS API (ws-fapi) request envelopes and responses (PROTOCOLS §2.B, §8.B).

Every request carries ``apiKey``, ``timestamp``, ``recvWindow`` and a signature over the sorted
parameters, so it is valid with or without a ``session.logon`` (Ed25519 keys only). INT parameters
are JSON numbers, DECIMAL ones JSON strings.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from bat_markets.core import Credentials

from ._errors import ErrorBody
from ._signing import sign_payload, ws_signing_payload

__all__ = [
    "WsApiResponse",
    "ws_params",
    "ws_request",
    "session_logon",
    "decode_response",
    "reply_id",
]

_INT_PARAMS = frozenset({"orderId", "algoId", "goodTillDate", "recvWindow", "timestamp"})
_encoder = msgspec.json.Encoder()


class WsApiResponse(msgspec.Struct, gc=False):
    """``{"id", "status", "result" | "error", "rateLimits"}``."""

    status: int
    id: str | int | None = None
    result: msgspec.Raw = msgspec.Raw(b"")  # b"" or b"null" when absent
    error: ErrorBody | None = None

    @property
    def result_body(self) -> bytes | None:
        body = bytes(self.result)
        return None if body in (b"", b"null") else body


class _ReplyId(msgspec.Struct, gc=False):
    id: str | int | None = None
    status: int | None = None


_response = msgspec.json.Decoder(WsApiResponse)
_reply = msgspec.json.Decoder(_ReplyId)


def ws_params(params: Iterable[tuple[str, str]]) -> dict[str, object]:
    """REST-style string params as WS API params (INT fields become numbers)."""
    out: dict[str, object] = {}
    for key, value in params:
        out[key] = int(value) if key in _INT_PARAMS else value
    return out


def ws_request(
    method: str,
    params: dict[str, object],
    req_id: str,
    credentials: Credentials,
    now_ms: int,
    recv_window_ms: int | None,
) -> bytes:
    """A signed request frame."""
    signed = dict(params)
    signed["apiKey"] = credentials.api_key
    signed["timestamp"] = int(now_ms)
    if recv_window_ms is not None:
        signed["recvWindow"] = int(recv_window_ms)
    signed["signature"] = sign_payload(credentials, ws_signing_payload(signed))
    return _encoder.encode({"id": req_id, "method": method, "params": signed})


def session_logon(req_id: str, credentials: Credentials, now_ms: int) -> bytes:
    """``session.logon``: binds an Ed25519 key to the connection."""
    return ws_request("session.logon", {}, req_id, credentials, now_ms, None)


def decode_response(frame: bytes | str) -> WsApiResponse:
    return _response.decode(frame)


def reply_id(frame: bytes | str) -> str | None:
    """The request id a WS API answer refers to, or ``None`` for anything else."""
    try:
        reply = _reply.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if reply.status is None or reply.id is None:
        return None
    return str(reply.id)
