"""Bybit v5 signing: REST headers, private-websocket auth and trade-websocket auth (§2.Y).

HMAC keys sign with lowercase hex HMAC-SHA256; RSA keys (self-generated, PEM private key in the
credentials' secret) sign with base64 RSA-SHA256 PKCS#1 v1.5, which needs the optional
``cryptography`` dependency (``pip install "bat-markets-bybit[keys]"``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from typing import Any

from bat_markets.core import ConfigError, Credentials

from ._util import VENUE

__all__ = [
    "SIGN_TYPE",
    "sign_bytes",
    "rest_headers",
    "ws_auth_args",
    "ws_auth_payload",
]

SIGN_TYPE = "2"


def _hmac_hex(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=8)
def _load_rsa_key(pem: str) -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError as exc:  # the optional extra is not installed
        raise ConfigError(
            'RSA keys need the "cryptography" package: pip install "bat-markets-bybit[keys]"',
            venue=VENUE,
        ) from exc
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            "the RSA secret is not a PEM private key (unencrypted PKCS#8 or PKCS#1)",
            venue=VENUE,
        ) from exc


def _rsa_b64(pem: str, payload: bytes) -> str:
    key = _load_rsa_key(pem)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("key_type='rsa' needs an RSA private key", venue=VENUE)
    signature = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def sign_bytes(credentials: Credentials, payload: bytes) -> str:
    """Signature of ``payload`` with the credentials' key type (hex for HMAC, base64 for RSA)."""
    if credentials.key_type == "hmac":
        return _hmac_hex(credentials.secret.reveal(), payload)
    if credentials.key_type == "rsa":
        return _rsa_b64(credentials.secret.reveal(), payload)
    raise ConfigError(
        f"Bybit v5 does not document {credentials.key_type} keys: use an HMAC or RSA API key",
        venue=VENUE,
    )


def rest_headers(
    credentials: Credentials, timestamp_ms: int, recv_window_ms: int, tail: bytes
) -> dict[str, str]:
    """The ``X-BAPI-*`` headers for ``timestamp + apiKey + recvWindow + tail``.

    ``tail`` is the exact query string (GET) or the exact JSON body bytes (POST) that are sent.
    """
    ts = str(int(timestamp_ms))
    recv = str(int(recv_window_ms))
    prefix = f"{ts}{credentials.api_key}{recv}".encode()
    return {
        "X-BAPI-API-KEY": credentials.api_key,
        "X-BAPI-TIMESTAMP": ts,
        "X-BAPI-RECV-WINDOW": recv,
        "X-BAPI-SIGN": sign_bytes(credentials, prefix + tail),
        "X-BAPI-SIGN-TYPE": SIGN_TYPE,
    }


def ws_auth_payload(expires_ms: int) -> bytes:
    """What a websocket ``auth`` op signs: ``"GET/realtime" + expires``."""
    return f"GET/realtime{int(expires_ms)}".encode()


def ws_auth_args(credentials: Credentials, expires_ms: int) -> list[object]:
    """``args`` of the ``auth`` op: ``[apiKey, expires, signature]``."""
    return [
        credentials.api_key,
        int(expires_ms),
        sign_bytes(credentials, ws_auth_payload(expires_ms)),
    ]
