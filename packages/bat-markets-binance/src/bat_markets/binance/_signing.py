"""Request encoding and signing (PROTOCOLS §2.B).

REST: the string to sign is the query string immediately followed by the form body, exactly as
transmitted (percent-encoded UTF-8); HMAC-SHA256 gives lowercase hex, RSA (PKCS#1 v1.5 / SHA-256)
and Ed25519 give base64 which is percent-encoded when appended as ``signature``.

WS API: every parameter except ``signature``, sorted by name, joined as ``k=v`` with ``&`` (values
not percent-encoded, ``apiKey`` included).

RSA and Ed25519 need the optional ``cryptography`` dependency (``bat-markets-binance[keys]``); it
is imported lazily so HMAC users never pay for it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from bat_markets.core import AuthError, ConfigError, Credentials

__all__ = [
    "encode_params",
    "hmac_sha256_hex",
    "sign_payload",
    "signature_param",
    "ws_signing_payload",
    "ws_value",
]


def _quote(value: str) -> str:
    return quote(value, safe="-_.~", encoding="utf-8")


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """``k=v&k=v`` with every key and value percent-encoded as UTF-8 (order kept)."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params)


def hmac_sha256_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class _PrivateKey(Protocol):
    def sign(self, *args: Any) -> bytes: ...


def _crypto_missing(key_type: str) -> ConfigError:
    return ConfigError(
        f"{key_type} API keys need the 'cryptography' package: "
        'pip install "bat-markets-binance[keys]"',
        venue="binance",
    )


@functools.lru_cache(maxsize=16)
def _load_private_key(pem: str, key_type: str) -> _PrivateKey:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    except ImportError:
        raise _crypto_missing(key_type) from None
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        # never include the key material in the message
        raise AuthError(
            f"the API secret is not a valid unencrypted PEM private key for key_type={key_type}",
            venue="binance",
        ) from exc
    wanted = ed25519.Ed25519PrivateKey if key_type == "ed25519" else rsa.RSAPrivateKey
    if not isinstance(key, wanted):
        raise AuthError(
            f"the API secret is a {type(key).__name__}, not a key of type {key_type}",
            venue="binance",
        )
    return key


def _sign_asymmetric(pem: str, key_type: str, payload: bytes) -> str:
    key = _load_private_key(pem, key_type)
    if key_type == "ed25519":
        raw = key.sign(payload)
    else:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        raw = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def sign_payload(credentials: Credentials, payload: str) -> str:
    """The raw signature of ``payload``: hex for HMAC, base64 for RSA / Ed25519."""
    secret = credentials.secret.reveal()
    if credentials.key_type == "hmac":
        return hmac_sha256_hex(secret, payload)
    return _sign_asymmetric(secret, credentials.key_type, payload.encode())


def signature_param(credentials: Credentials, payload: str) -> str:
    """``signature=<sig>`` ready to append to a REST query string or form body."""
    return "signature=" + _quote(sign_payload(credentials, payload))


def ws_value(value: object) -> str:
    """How a WS API parameter value appears in the signing payload."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ws_signing_payload(params: Mapping[str, object]) -> str:
    """Sorted ``k=v&...`` of every param except ``signature`` (apiKey included)."""
    return "&".join(f"{k}={ws_value(params[k])}" for k in sorted(params) if k != "signature")
