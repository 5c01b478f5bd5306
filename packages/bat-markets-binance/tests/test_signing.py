"""Signing and request preparation against the official vectors (fixtures/signing.json)."""

from __future__ import annotations

import base64
import json
import sys
from urllib.parse import unquote

import pytest
from binance_kit import load

from bat_markets.binance import BinanceAdapter
from bat_markets.binance import _signing as signing
from bat_markets.core import AuthError, ConfigError, Credentials, RestRequest

VECTORS = load("signing.json")
HMAC = VECTORS["vectors"]["hmac_sha256"]


@pytest.mark.parametrize("vector", HMAC, ids=lambda v: v["signature"][:8])
def test_hmac_vectors(vector: dict[str, str]) -> None:
    assert signing.hmac_sha256_hex(vector["secret"], vector["payload"]) == vector["signature"]


def _order_params(payload: str) -> list[tuple[str, str]]:
    """The (decoded) params of a vector payload, without recvWindow/timestamp."""
    pairs = [p.split("=", 1) for p in payload.split("&")]
    return [(k, unquote(v)) for k, v in pairs if k not in ("recvWindow", "timestamp")]


def test_prepare_reproduces_fapi_vector_as_form_body() -> None:
    v = HMAC[0]
    creds = Credentials.of(v["apiKey"], v["secret"])
    req = RestRequest(
        method="POST", path="/fapi/v1/order", params=_order_params(v["payload"]), signed=True
    )
    http = BinanceAdapter().prepare(req, creds, timestamp_ms=1591702613943, recv_window_ms=5000)
    assert http.method == "POST"
    assert http.target == "/fapi/v1/order"
    assert http.body == f"{v['payload']}&signature={v['signature']}".encode()
    assert http.headers["X-MBX-APIKEY"] == v["apiKey"]
    assert http.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_prepare_get_signs_the_query_string() -> None:
    v = HMAC[2]  # spot vector: same algorithm, exercised through a GET this time
    creds = Credentials.of(v["apiKey"], v["secret"])
    req = RestRequest(
        method="GET", path="/fapi/v1/x", params=_order_params(v["payload"]), signed=True
    )
    http = BinanceAdapter().prepare(req, creds, timestamp_ms=1499827319559, recv_window_ms=5000)
    assert http.body is None
    assert http.target == f"/fapi/v1/x?{v['payload']}&signature={v['signature']}"
    assert "Content-Type" not in http.headers


def test_prepare_non_ascii_symbol_is_percent_encoded_before_signing() -> None:
    v = HMAC[3]
    params = _order_params(v["payload"])
    assert params[0] == (
        "symbol",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
    )  # the decoded non-ASCII symbol
    creds = Credentials.of(v["apiKey"], v["secret"])
    req = RestRequest(method="DELETE", path="/fapi/v1/order", params=params, signed=True)
    http = BinanceAdapter().prepare(req, creds, timestamp_ms=1499827319559, recv_window_ms=5000)
    assert http.target == f"/fapi/v1/order?{v['payload']}&signature={v['signature']}"
    assert http.target.isascii()


def test_prepare_keyed_and_public_requests() -> None:
    adapter = BinanceAdapter()
    creds = Credentials.of("my-api-key", "s3cret")
    keyed = adapter.prepare(
        RestRequest(method="POST", path="/fapi/v1/listenKey", keyed=True), creds, 1, 5000
    )
    assert keyed.headers == {"X-MBX-APIKEY": "my-api-key"}
    assert keyed.body is None
    assert keyed.target == "/fapi/v1/listenKey"
    public = adapter.prepare(
        RestRequest(method="GET", path="/fapi/v1/depth", params=[("symbol", "BTCUSDT")]),
        None,
        1,
        5000,
    )
    assert public.headers == {}
    assert public.target == "/fapi/v1/depth?symbol=BTCUSDT"
    assert "s3cret" not in repr(keyed)
    assert "my-api-key" not in repr(keyed)


def test_prepare_without_credentials_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="credentials"):
        BinanceAdapter().prepare(
            RestRequest(method="GET", path="/fapi/v3/balance", signed=True, tag="fetch_balance"),
            None,
            1,
            5000,
        )


def test_json_values_in_params_are_percent_encoded() -> None:
    creds = Credentials.of("k", "s")
    req = RestRequest(
        method="DELETE",
        path="/fapi/v1/batchOrders",
        params=[("symbol", "BTCUSDT"), ("orderIdList", "[1,2]")],
        signed=True,
    )
    http = BinanceAdapter().prepare(req, creds, 7, 5000)
    query = http.target.split("?", 1)[1]
    assert query.startswith("symbol=BTCUSDT&orderIdList=%5B1%2C2%5D&recvWindow=5000&timestamp=7")
    signed_part, sig = query.rsplit("&signature=", 1)
    assert sig == signing.hmac_sha256_hex("s", signed_part)


def test_ws_api_vector() -> None:
    v = VECTORS["vectors"]["ws_api_hmac"][0]
    params = dict(v["params"])
    params["apiKey"] = v["apiKey"]
    assert signing.ws_signing_payload(params) == v["payload"]
    creds = Credentials.of(v["apiKey"], v["secret"])
    assert signing.sign_payload(creds, v["payload"]) == v["signature"]


def test_ws_request_frame_carries_vector_signature() -> None:
    from bat_markets.binance._wsapi import ws_request

    v = VECTORS["vectors"]["ws_api_hmac"][0]
    creds = Credentials.of(v["apiKey"], v["secret"])
    p = {k: val for k, val in v["params"].items() if k not in ("recvWindow", "timestamp")}
    frame = json.loads(ws_request("order.place", p, "req-1", creds, v["params"]["timestamp"], 100))
    assert frame["id"] == "req-1"
    assert frame["method"] == "order.place"
    assert frame["params"]["signature"] == v["signature"]
    assert frame["params"]["timestamp"] == 1645423376532  # INT params are JSON numbers
    assert frame["params"]["price"] == "52000.00"  # DECIMAL params are strings


def test_ed25519_vector() -> None:
    v = VECTORS["vectors"]["ed25519"][0]
    creds = Credentials.of("key", v["private_key_pem"], key_type="ed25519")
    assert signing.sign_payload(creds, v["payload"]) == v["signature"]


def test_ed25519_signature_is_url_encoded_in_rest() -> None:
    v = VECTORS["vectors"]["ed25519"][0]
    creds = Credentials.of("key", v["private_key_pem"], key_type="ed25519")
    http = BinanceAdapter().prepare(
        RestRequest(method="GET", path="/fapi/v3/balance", signed=True), creds, 5, 5000
    )
    query = http.target.split("?", 1)[1]
    payload, sig = query.rsplit("&signature=", 1)
    assert payload == "recvWindow=5000&timestamp=5"
    raw_sig = unquote(sig)
    assert raw_sig == signing.sign_payload(creds, payload)
    assert "+" not in sig
    assert "/" not in sig
    assert "=" not in sig


def test_rsa_signature_verifies_with_the_public_key() -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    creds = Credentials.of("key", pem, key_type="rsa")
    payload = "symbol=BTCUSDT&side=BUY&timestamp=1"
    sig = base64.b64decode(signing.sign_payload(creds, payload))
    key.public_key().verify(sig, payload.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_wrong_key_type_and_bad_pem_are_auth_errors_without_the_secret() -> None:
    v = VECTORS["vectors"]["ed25519"][0]
    with pytest.raises(AuthError, match="not a key of type rsa"):
        signing.sign_payload(Credentials.of("k", v["private_key_pem"], key_type="rsa"), "x")
    with pytest.raises(AuthError) as info:
        signing.sign_payload(Credentials.of("k", "not-a-pem-secret", key_type="ed25519"), "x")
    assert "not-a-pem-secret" not in str(info.value)


def test_missing_cryptography_gives_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    signing._load_private_key.cache_clear()
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives", None)
    v = VECTORS["vectors"]["ed25519"][0]
    creds = Credentials.of("k", v["private_key_pem"], key_type="ed25519")
    with pytest.raises(ConfigError, match=r"bat-markets-binance\[keys\]"):
        signing.sign_payload(creds, "payload")
    signing._load_private_key.cache_clear()


def test_hmac_needs_no_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives", None)
    creds = Credentials.of("k", HMAC[0]["secret"])
    assert signing.sign_payload(creds, HMAC[0]["payload"]) == HMAC[0]["signature"]
