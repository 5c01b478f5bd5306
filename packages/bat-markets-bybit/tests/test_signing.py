"""Signing vectors (fixtures/signing.json), REST request preparation and key types."""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import json
import sys

import pytest

from bat_markets.bybit import BybitAdapter, _signing
from bat_markets.core import (
    AuthError,
    ConfigError,
    Credentials,
    RestRequest,
    Secret,
)


def test_pybit_hmac_vector(h) -> None:
    vectors = h.load_json("signing.json")
    creds = Credentials.of("mykey", vectors["secret"])
    assert _signing.sign_bytes(creds, vectors["payload"].encode()) == vectors["signature"]
    # The same vector through the REST header builder: ts=12345, key, recv=6789, tail="payload".
    headers = _signing.rest_headers(creds, 12345, 6789, b"payload")
    assert headers["X-BAPI-SIGN"] == vectors["signature"]
    assert headers["X-BAPI-SIGN-TYPE"] == "2"
    assert headers["X-BAPI-API-KEY"] == "mykey"
    assert headers["X-BAPI-TIMESTAMP"] == "12345"
    assert headers["X-BAPI-RECV-WINDOW"] == "6789"


def _captured_payload(adapter: BybitAdapter, request: RestRequest, ts: int, recv: int) -> bytes:
    """The exact bytes the adapter signed, recovered by checking the HMAC."""
    secret = "capture-secret"
    prepared = adapter.prepare(request, Credentials.of("XXXXXXXXXX", secret), ts, recv)
    tail = (
        prepared.body if prepared.body is not None else prepared.target.partition("?")[2].encode()
    )
    payload = f"{ts}XXXXXXXXXX{recv}".encode() + tail
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    assert prepared.headers["X-BAPI-SIGN"] == expected
    return payload


def test_docs_get_string_to_sign(adapter: BybitAdapter, h) -> None:
    doc = h.load_json("signing.json")["vectors"]["official_docs_without_secret"][0]
    request = RestRequest(
        method="GET",
        path="/v5/order/realtime",
        params=[("category", "option"), ("symbol", "BTC-29JUL22-25000-C")],
        signed=True,
    )
    payload = _captured_payload(adapter, request, 1658384314791, 5000)
    assert payload.decode() == doc["payload"]


def test_docs_post_string_to_sign_signs_exact_body(adapter: BybitAdapter, h) -> None:
    doc = h.load_json("signing.json")["vectors"]["official_docs_without_secret"][1]
    request = RestRequest(method="POST", path="/v5/x", json={"category": "option"}, signed=True)
    payload = _captured_payload(adapter, request, 1658385579423, 5000)
    # msgspec writes compact JSON; the docs example has a space. What matters: the signed bytes
    # are exactly the body bytes sent.
    prepared = adapter.prepare(request, Credentials.of("XXXXXXXXXX", "s"), 1658385579423, 5000)
    assert prepared.body == b'{"category":"option"}'
    assert payload == b"1658385579423XXXXXXXXXX5000" + prepared.body
    assert doc["payload"].replace(" ", "") == payload.decode()


def test_ws_auth_string_to_sign(h) -> None:
    doc = h.load_json("signing.json")["vectors"]["official_docs_without_secret"][2]
    assert _signing.ws_auth_payload(doc["expires"]) == f"GET/realtime{doc['expires']}".encode()
    creds = Credentials.of("k", "secret")
    key, expires, sig = _signing.ws_auth_args(creds, doc["expires"])
    assert (key, expires) == ("k", 1711010121452)
    assert sig == hmac.new(b"secret", b"GET/realtime1711010121452", hashlib.sha256).hexdigest()


def test_prepare_get_query_and_headers(adapter: BybitAdapter) -> None:
    request = RestRequest(
        method="GET",
        path="/v5/order/realtime",
        params=[("category", "linear"), ("cursor", "page_args%3Dfd43%26symbol%3D6%26")],
        signed=True,
        weight=1,
        tag="fetch_open_orders",
    )
    prepared = adapter.prepare(request, Credentials.of("key", "sec"), 1700000000000, 5000)
    # An already-encoded cursor is sent back verbatim, and that exact string is signed.
    assert (
        prepared.target
        == "/v5/order/realtime?category=linear&cursor=page_args%3Dfd43%26symbol%3D6%26"
    )
    assert prepared.body is None
    assert prepared.method == "GET"
    assert set(prepared.headers) == {
        "X-BAPI-API-KEY",
        "X-BAPI-TIMESTAMP",
        "X-BAPI-RECV-WINDOW",
        "X-BAPI-SIGN",
        "X-BAPI-SIGN-TYPE",
    }
    assert "key" not in repr(prepared)
    assert "sec" not in repr(prepared)


def test_prepare_public_get_is_unsigned(adapter: BybitAdapter) -> None:
    request = RestRequest(method="GET", path="/v5/market/time")
    prepared = adapter.prepare(request, None, 1, 5000)
    assert prepared.target == "/v5/market/time"
    assert prepared.headers == {}


def test_prepare_post_serialises_once(adapter: BybitAdapter) -> None:
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.001"}
    request = RestRequest(
        method="POST",
        path="/v5/order/create",
        json=body,
        signed=True,
        idempotent=False,
        order_weight=1,
    )
    prepared = adapter.prepare(request, Credentials.of("key", "sec"), 1700000000000, 5000)
    assert prepared.headers["Content-Type"] == "application/json"
    assert json.loads(prepared.body or b"") == body
    assert list(json.loads(prepared.body or b"")) == list(body)  # key order kept
    assert prepared.target == "/v5/order/create"
    assert not prepared.idempotent
    assert prepared.order_weight == 1
    expected = hmac.new(
        b"sec", b"1700000000000key5000" + (prepared.body or b""), hashlib.sha256
    ).hexdigest()
    assert prepared.headers["X-BAPI-SIGN"] == expected


def test_signed_request_without_credentials(adapter: BybitAdapter) -> None:
    with pytest.raises(AuthError, match="credentials"):
        adapter.prepare(
            RestRequest(method="GET", path="/v5/position/list", signed=True), None, 1, 1
        )


def _rsa_pem() -> tuple[str, object]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def test_rsa_signature_verifies() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    pem, public_key = _rsa_pem()
    creds = Credentials.of("rsa-key", pem, key_type="rsa")
    headers = _signing.rest_headers(creds, 1, 5000, b'{"a":1}')
    signature = base64.b64decode(headers["X-BAPI-SIGN"])
    public_key.verify(signature, b'1rsa-key5000{"a":1}', padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
    assert "BEGIN" not in repr(creds)


def test_rsa_bad_pem_is_config_error() -> None:
    creds = Credentials(api_key="k", secret=Secret("not a pem"), key_type="rsa")
    with pytest.raises(ConfigError, match="PEM"):
        _signing.sign_bytes(creds, b"x")


def test_rsa_without_cryptography_is_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_crypto(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.startswith("cryptography"):
            raise ImportError("No module named 'cryptography'")
        return real_import(name, *args, **kwargs)

    _signing._load_rsa_key.cache_clear()
    monkeypatch.delitem(sys.modules, "cryptography.hazmat.primitives.serialization", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_crypto)
    creds = Credentials(api_key="k", secret=Secret("-----BEGIN PRIVATE KEY-----"), key_type="rsa")
    with pytest.raises(ConfigError, match=r"bat-markets-bybit\[keys\]"):
        _signing.sign_bytes(creds, b"x")


def test_ed25519_is_refused() -> None:
    creds = Credentials.of("k", "s", key_type="ed25519")
    with pytest.raises(ConfigError, match="HMAC or RSA"):
        _signing.sign_bytes(creds, b"x")
