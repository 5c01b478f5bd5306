"""Request parameters, API-key lookup and signature / timestamp verification (Binance rules).

``totalParams`` = raw query string immediately followed by the raw body (no ``&``), minus the
``signature`` parameter; HMAC-SHA256 hex (case-insensitive) for HMAC keys, base64 Ed25519 /
RSA-PKCS1v15-SHA256 signatures for those key types. Accepted iff
``timestamp < serverTime + 1000`` and ``serverTime - timestamp <= recvWindow``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote

from .._engine import Account, Engine
from ._errors import BinanceError, mandatory

__all__ = [
    "merge_params",
    "signed_payload",
    "verify_signature",
    "check_timestamp",
    "lookup_key",
    "hmac_hex",
    "ws_payload",
]

_KEY_RE = re.compile(r"^[A-Za-z0-9]{1,128}$")


def merge_params(query: str, body: str) -> dict[str, str]:
    """Query and form body merged; the query wins on duplicates."""
    params = dict(parse_qsl(body, keep_blank_values=True)) if body else {}
    params.update(parse_qsl(query, keep_blank_values=True))
    return params


def _strip_signature(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", None
    parts = raw.split("&")
    kept: list[str] = []
    sig: str | None = None
    for part in parts:
        if part.startswith("signature="):
            sig = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), sig


def signed_payload(query: str, body: str) -> tuple[str, str | None]:
    """(string that was signed, URL-decoded signature or None)."""
    q, sig_q = _strip_signature(query)
    b, sig_b = _strip_signature(body)
    sig = sig_q if sig_q is not None else sig_b
    return q + b, unquote(sig) if sig is not None else None


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify_signature(acct: Account, payload: str, signature: str) -> bool:
    """True when ``signature`` is ``acct``'s signature of ``payload``."""
    if acct.key_type == "hmac":
        expected = hmac_hex(acct.secret.reveal(), payload)
        return hmac.compare_digest(expected, signature.lower())
    if acct.public_key is None:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
    except ImportError:  # pragma: no cover - cryptography is part of the dev environment
        return False
    try:
        key = serialization.load_pem_public_key(acct.public_key.encode())
        if acct.key_type == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(raw, payload.encode())
            return True
        if acct.key_type == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(raw, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def check_timestamp(params: Mapping[str, object], server_ms: int) -> None:
    """Raise -1102 / -1021 / -1131 like the venue for a bad ``timestamp`` / ``recvWindow``."""
    raw_ts = params.get("timestamp")
    if raw_ts is None or raw_ts == "":
        raise mandatory("timestamp")
    try:
        ts = int(str(raw_ts))
    except ValueError:
        raise mandatory("timestamp") from None
    raw_rw = params.get("recvWindow")
    recv_window = 5000
    if raw_rw not in (None, ""):
        try:
            recv_window = int(str(raw_rw))
        except ValueError:
            raise BinanceError(-1131, "recvWindow must be less than 60000") from None
        if recv_window <= 0 or recv_window > 60000:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
    if ts >= server_ms + 1000:
        raise BinanceError(
            -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if server_ms - ts > recv_window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def lookup_key(engine: Engine, api_key: str | None) -> Account:
    """The account of ``api_key`` or the venue's -2014 (bad format) / -2015 (unknown) error."""
    if not api_key or not _KEY_RE.match(api_key):
        raise BinanceError(-2014, "API-key format invalid.", 401)
    acct = engine.accounts.get(api_key)
    if acct is None:
        raise BinanceError(
            -2015, "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1", 401
        )
    return acct


def _ws_value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def ws_payload(params: Mapping[str, object]) -> str:
    """WS API string to sign: every param but ``signature``, sorted by name, ``k=v`` joined."""
    return "&".join(f"{k}={_ws_value(params[k])}" for k in sorted(params) if k != "signature")
