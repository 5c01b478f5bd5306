"""API keys and signature checks, exactly as Bybit v5 verifies them.

REST: ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-SIGN`` and optional
``X-BAPI-RECV-WINDOW`` (default 5000); the signed string is
``timestamp + apiKey + recvWindow + payload`` where the payload is the exact query string of a GET
or the exact body bytes of a POST. The timestamp is accepted iff
``server - recvWindow <= timestamp < server + 1000`` (else 10002). The key is checked first
(10003), then the clock (10002), then the signature (10004), then IP binding (10010) and
permissions (10005).

Websocket ``auth`` op: ``args = [apiKey, expires, hex(HMAC(secret, "GET/realtime" + expires))]``;
``expires`` must lie in the future.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from . import _codes as C

__all__ = [
    "READ",
    "TRADE",
    "ApiKey",
    "KeyLookup",
    "KeyStore",
    "AuthFailure",
    "sign",
    "rest_headers",
    "ws_auth_args",
    "verify_rest",
    "verify_ws_auth",
    "WsAuthFailure",
]

READ = "read"
TRADE = "trade"


def sign(secret: str, payload: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload`` (the venue's HMAC signature)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _rsa_ok(pem: str, payload: str, signature: str) -> bool:
    """RSA-SHA256 (PKCS#1 v1.5) over ``payload``, base64 signature; needs ``cryptography``."""
    try:
        import base64

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:  # pragma: no cover - optional dependency
        return False
    try:
        key = serialization.load_pem_public_key(pem.encode())
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(raw, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class ApiKey:
    """One API key of the simulated venue.

    ``account`` names the simulated account (UID) the key trades for; ``permissions`` holds
    ``"read"`` and/or ``"trade"``; ``allowed_ips`` empty means any IP.
    """

    api_key: str
    secret: str = field(repr=False)
    account: str
    permissions: frozenset[str] = frozenset({READ, TRADE})
    allowed_ips: tuple[str, ...] = ()
    public_key: str | None = field(default=None, repr=False)  # PEM: RSA key (base64 signatures)

    def check(self, payload: str, signature: str) -> bool:
        """Is ``signature`` this key's signature of ``payload`` (HMAC hex, or RSA base64)?"""
        if self.public_key is not None:
            return _rsa_ok(self.public_key, payload, signature)
        return hmac.compare_digest(sign(self.secret, payload), signature.lower())

    def __repr__(self) -> str:
        return f"ApiKey(api_key={self.api_key[:4]!r}…, account={self.account!r})"


class KeyLookup(Protocol):
    """Anything that finds an :class:`ApiKey` by its public key string."""

    def get(self, api_key: str) -> ApiKey | None: ...


class KeyStore:
    """A standalone key registry (mutable: keys may be added or revoked while running)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._keys: dict[str, ApiKey] = {k.api_key: k for k in keys}

    def add(self, key: ApiKey) -> None:
        self._keys[key.api_key] = key

    def revoke(self, api_key: str) -> None:
        self._keys.pop(api_key, None)

    def get(self, api_key: str) -> ApiKey | None:
        return self._keys.get(api_key)

    def all(self) -> list[ApiKey]:
        return list(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class AuthFailure:
    """A rejected signed REST request: HTTP status plus the venue envelope code/message."""

    http_status: int
    ret_code: int
    ret_msg: str


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def verify_rest(
    keys: KeyLookup,
    headers: Mapping[str, str],
    payload: str,
    now_ms: int,
    *,
    client_ip: str = "127.0.0.1",
    need: str = READ,
) -> ApiKey | AuthFailure:
    """Check one signed REST request; returns the key or the venue's rejection."""
    api_key = _header(headers, "X-BAPI-API-KEY")
    ts_raw = _header(headers, "X-BAPI-TIMESTAMP")
    signature = _header(headers, "X-BAPI-SIGN")
    recv_raw = _header(headers, "X-BAPI-RECV-WINDOW")
    if not api_key or ts_raw is None or signature is None:
        # missing auth headers: the gateway answers 401 before the business layer (PROTOCOLS §10.Y)
        return AuthFailure(401, C.INVALID_KEY, C.MSG[C.INVALID_KEY])
    key = keys.get(api_key)
    if key is None:
        return AuthFailure(200, C.INVALID_KEY, C.MSG[C.INVALID_KEY])
    recv_window = recv_raw if recv_raw else "5000"
    try:
        ts = int(ts_raw)
        window = int(recv_window)
    except ValueError:
        return AuthFailure(
            200, C.TIMESTAMP_WINDOW, C.timestamp_message(ts_raw, now_ms, recv_window)
        )
    if window <= 0 or not (now_ms - window <= ts < now_ms + 1000):
        return AuthFailure(
            200, C.TIMESTAMP_WINDOW, C.timestamp_message(ts_raw, now_ms, recv_window)
        )
    origin = f"{ts_raw}{api_key}{recv_window if recv_raw else ''}{payload}"
    # the venue signs recvWindow as sent: absent header -> empty string in the origin string
    if not key.check(origin, signature):
        return AuthFailure(200, C.BAD_SIGN, C.error_sign_message(origin))
    if key.allowed_ips and client_ip not in key.allowed_ips:
        return AuthFailure(200, C.IP_NOT_WHITELISTED, C.MSG[C.IP_NOT_WHITELISTED])
    if need not in key.permissions:
        return AuthFailure(200, C.PERMISSION_DENIED, C.MSG[C.PERMISSION_DENIED])
    return key


def rest_headers(
    api_key: str, secret: str, payload: str, timestamp_ms: int, recv_window: int = 5000
) -> dict[str, str]:
    """Client side: the ``X-BAPI-*`` headers of one signed request (payload = the exact query
    string of a GET or the exact JSON body of a POST)."""
    origin = f"{timestamp_ms}{api_key}{recv_window}{payload}"
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": str(timestamp_ms),
        "X-BAPI-RECV-WINDOW": str(recv_window),
        "X-BAPI-SIGN": sign(secret, origin),
        "X-BAPI-SIGN-TYPE": "2",
        "Content-Type": "application/json",
    }


def ws_auth_args(api_key: str, secret: str, expires_ms: int) -> list[object]:
    """Client side: ``args`` of the websocket ``auth`` op."""
    return [api_key, expires_ms, sign(secret, f"GET/realtime{expires_ms}")]


@dataclass(frozen=True)
class WsAuthFailure:
    """A rejected websocket ``auth`` op: trade-socket ``retCode`` and private-socket ``ret_msg``."""

    ret_code: int
    ret_msg: str


#: private-socket texts: "Params Error" is the captured reply to an expired/short ``expires``
#: (bybit-exchange/pybit#300); the others are (unverified).
_WS_PARAMS = "Params Error"
_WS_BAD_KEY = "Invalid apikey"
_WS_BAD_SIGN = "Invalid sign"


def verify_ws_auth(keys: KeyLookup, args: object, now_ms: int) -> ApiKey | WsAuthFailure:
    """Check the ``args`` of a websocket ``auth`` op (``[apiKey, expires, signature]``)."""
    if not isinstance(args, list) or len(args) != 3:
        return WsAuthFailure(C.PARAM_ERROR, _WS_PARAMS)
    api_key, expires, signature = args
    if not isinstance(api_key, str) or not isinstance(signature, str):
        return WsAuthFailure(C.PARAM_ERROR, _WS_PARAMS)
    if isinstance(expires, bool) or not isinstance(expires, (int, str)):
        return WsAuthFailure(C.PARAM_ERROR, _WS_PARAMS)
    expires_text = str(expires)
    try:
        expires_ms = int(expires_text)
    except ValueError:
        return WsAuthFailure(C.PARAM_ERROR, _WS_PARAMS)
    key = keys.get(api_key)
    if key is None:
        return WsAuthFailure(C.INVALID_KEY, _WS_BAD_KEY)
    if expires_ms <= now_ms:
        return WsAuthFailure(C.PARAM_ERROR, _WS_PARAMS)
    if not key.check("GET/realtime" + expires_text, signature):
        return WsAuthFailure(C.BAD_SIGN, _WS_BAD_SIGN)
    return key
