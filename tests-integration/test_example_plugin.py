"""The example third-party adapter (tests-integration/example_adapter) satisfies the contract.

The adapter is imported straight from its source folder, as a plugin author would test it before
packaging. ``install_matrix.py`` separately proves the installed distribution is found through
its entry point in a fresh venv.
"""

from __future__ import annotations

import hashlib
import hmac
import pathlib
import sys
from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import EntryPoint, entry_points

import pytest

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    CancelRequest,
    Channel,
    CommandKind,
    Control,
    Credentials,
    DecodeError,
    Environment,
    ExchangeReject,
    OrderRequest,
    OrderType,
    RateLimited,
    RestRequest,
    RestResponse,
    Side,
    StreamData,
    TemporaryUnavailable,
    Ticker,
    Trade,
    Unsupported,
    VenueAdapter,
    clear_registry_cache,
    load_venue,
    run_flow_sync,
)
from bat_markets.core import _registry as registry

EXAMPLE = pathlib.Path(__file__).parent / "example_adapter"
sys.path.insert(0, str(EXAMPLE / "src"))

from bat_markets.example_venue import ExampleAdapter, create_adapter  # noqa: E402

CREDS = Credentials.of("example-key-0001", "example-secret-do-not-leak")


@pytest.fixture
def adapter() -> ExampleAdapter:
    return create_adapter()


def ok(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> RestResponse:
    return RestResponse(status=status, headers=headers or {}, body=body)


# -- contract shape ---------------------------------------------------------------------------


def test_satisfies_the_venue_adapter_protocol(adapter: ExampleAdapter) -> None:
    assert isinstance(adapter, VenueAdapter)
    assert adapter.id == "example"
    assert "fetch_ticker" in adapter.capabilities.methods
    assert adapter.capabilities.ws_commands == frozenset()


def test_bundled_instrument_resolves_both_symbol_forms(adapter: ExampleAdapter) -> None:
    spec = adapter.markets.resolve("BTC/USDT:USDT")
    assert spec.id == "BTC-USDT-PERP"
    assert adapter.markets.resolve("btc-usdt-perp") is spec
    assert spec.tick_size == Decimal("0.1")
    assert spec.min_notional == Decimal("5")


def test_unknown_symbol_is_a_config_error(adapter: ExampleAdapter) -> None:
    with pytest.raises(BatMarketsError, match="unknown symbol 'ETH/USDT:USDT' on example"):
        adapter.markets.resolve("ETH/USDT:USDT")


def test_endpoint_presets(adapter: ExampleAdapter) -> None:
    assert adapter.endpoints(Environment.TESTNET).rest == "https://testnet.example.invalid"
    assert adapter.endpoints(Environment.MAINNET).rest == "https://api.example.invalid"
    with pytest.raises(Unsupported, match="Example does not support the demo environment"):
        adapter.endpoints(Environment.DEMO)


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (lambda a: a.fetch_ohlcv("BTC-USDT-PERP", "1m", None, None, None), "fetch_ohlcv"),
        (lambda a: a.fetch_positions(None), "fetch_positions"),
        (
            lambda a: a.create_orders(
                [
                    OrderRequest(
                        symbol="BTC-USDT-PERP",
                        side=Side.BUY,
                        type=OrderType.LIMIT,
                        amount=Decimal("0.01"),
                        price=Decimal("50000"),
                    )
                ]
            ),
            "create_order",
        ),
        (lambda a: a.public_topics(Channel.ORDER_BOOK, "BTC-USDT-PERP"), "watch order_book"),
        (
            lambda a: a.ws_command(
                CommandKind.CANCEL_ORDER,
                [CancelRequest(symbol="BTC-USDT-PERP", id="1")],
                "r1",
                CREDS,
                0,
                5000,
            ),
            "cancel_order_ws",
        ),
    ],
)
def test_unsupported_methods_name_the_venue_and_method(
    adapter: ExampleAdapter, call: object, method: str
) -> None:
    with pytest.raises(Unsupported) as info:
        call(adapter)  # type: ignore[operator]
    assert info.value.venue == "example"
    assert f"Example does not support {method}" in str(info.value)


# -- REST flows -------------------------------------------------------------------------------


def test_fetch_ticker_flow_builds_the_request_and_decodes_decimals(adapter: ExampleAdapter) -> None:
    seen: list[RestRequest] = []

    def respond(request: RestRequest) -> RestResponse:
        seen.append(request)
        return ok(
            b'{"ok":true,"result":{"symbol":"BTC-USDT-PERP","last":"50000.1",'
            b'"bid":"50000.0","ask":"50000.2","volume":"12.345","ts":1700000000000}}'
        )

    ticker = run_flow_sync(adapter.fetch_ticker("BTC-USDT-PERP"), respond)
    assert [(r.method, r.path, r.params, r.signed) for r in seen] == [
        ("GET", "/api/ticker", [("symbol", "BTC-USDT-PERP")], False)
    ]
    assert isinstance(ticker, Ticker)
    assert ticker.symbol == "BTC/USDT:USDT"
    assert ticker.last == Decimal("50000.1")
    assert ticker.volume == Decimal("12.345")
    assert ticker.mark_price is None


def test_fetch_trades_passes_since_and_limit(adapter: ExampleAdapter) -> None:
    seen: list[RestRequest] = []

    def respond(request: RestRequest) -> RestResponse:
        seen.append(request)
        return ok(
            b'{"ok":true,"result":[{"id":"7","symbol":"BTC-USDT-PERP","price":"1.5",'
            b'"qty":"2","taker":"sell","ts":5}]}'
        )

    trades = run_flow_sync(adapter.fetch_trades("BTC-USDT-PERP", 1000, 10), respond)
    assert seen[0].params == [("symbol", "BTC-USDT-PERP"), ("since", "1000"), ("limit", "10")]
    assert trades == [
        Trade(
            symbol="BTC/USDT:USDT",
            id="7",
            timestamp=5,
            price=Decimal("1.5"),
            amount=Decimal("2"),
            side=Side.SELL,
        )
    ]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "retryable"),
    [
        (
            429,
            b'{"ok":false,"code":1005,"message":"slow down"}',
            {"retry-after": "7"},
            RateLimited,
            True,
        ),
        (503, b"<html>bad gateway</html>", {}, TemporaryUnavailable, True),
        (401, b'{"ok":false,"code":1002,"message":"bad key"}', {}, AuthError, False),
        (400, b'{"ok":false,"code":2001,"message":"bad symbol"}', {}, ExchangeReject, False),
    ],
)
def test_http_errors_map_to_the_taxonomy(
    adapter: ExampleAdapter,
    status: int,
    body: bytes,
    headers: dict[str, str],
    error: type[BatMarketsError],
    retryable: bool,
) -> None:
    with pytest.raises(error) as info:
        run_flow_sync(adapter.fetch_ticker("BTC-USDT-PERP"), lambda _: ok(body, status, headers))
    assert info.value.venue == "example"
    assert info.value.http_status == status
    assert info.value.retryable is retryable
    if error is RateLimited:
        assert info.value.retry_after == 7.0
        assert info.value.code == 1005


def test_transport_errors_propagate_out_of_read_flows(adapter: ExampleAdapter) -> None:
    failure = TemporaryUnavailable("connection reset", venue="example")
    with pytest.raises(TemporaryUnavailable, match="connection reset"):
        run_flow_sync(adapter.server_time(), lambda _: failure)


def test_malformed_rest_payload_is_a_decode_error(adapter: ExampleAdapter) -> None:
    with pytest.raises(DecodeError):
        run_flow_sync(adapter.server_time(), lambda _: ok(b'{"ok":true,"result":{}}'))
    with pytest.raises(DecodeError, match="not a decimal"):
        run_flow_sync(
            adapter.fetch_ticker("BTC-USDT-PERP"),
            lambda _: ok(b'{"ok":true,"result":{"symbol":"BTC-USDT-PERP","last":"x","ts":1}}'),
        )


def test_load_markets_builds_instrument_specs(adapter: ExampleAdapter) -> None:
    body = (
        b'{"ok":true,"result":[{"symbol":"ETH-USDT-PERP","base":"ETH","quote":"USDT",'
        b'"tick":"0.01","step":"0.01","min_qty":"0.01","min_notional":"5","status":"halted"}]}'
    )
    (spec,) = run_flow_sync(adapter.load_markets(), lambda _: ok(body))
    assert (spec.symbol, spec.id, spec.status) == ("ETH/USDT:USDT", "ETH-USDT-PERP", "halted")
    assert spec.step_size == Decimal("0.01")


def test_signed_request_carries_a_verifiable_signature(adapter: ExampleAdapter) -> None:
    flow = adapter.fetch_balance()
    request = next(flow)
    assert request.signed
    prepared = adapter.prepare(request, CREDS, 1_700_000_000_000, 5000)
    expected = hmac.new(
        b"example-secret-do-not-leak", b"1700000000000GET/api/balance", hashlib.sha256
    ).hexdigest()
    assert prepared.headers["x-ex-sign"] == expected
    assert prepared.headers["x-ex-key"] == "example-key-0001"
    assert "example-secret" not in repr(prepared)
    assert "example-secret" not in repr(CREDS)


def test_signed_flow_returns_balances(adapter: ExampleAdapter) -> None:
    body = b'{"ok":true,"result":[{"asset":"USDT","total":"10.5","free":"3"}]}'
    (balance,) = run_flow_sync(adapter.fetch_balance(), lambda _: ok(body))
    assert (balance.asset, balance.wallet_balance, balance.available) == (
        "USDT",
        Decimal("10.5"),
        Decimal("3"),
    )


def test_signed_request_without_credentials_is_an_auth_error(adapter: ExampleAdapter) -> None:
    request = next(adapter.fetch_balance())
    with pytest.raises(AuthError, match="needs API credentials"):
        adapter.prepare(request, None, 0, 5000)


def test_rate_limit_headers(adapter: ExampleAdapter) -> None:
    (usage,) = adapter.parse_rate_limits({"x-ratelimit-used": "120"})
    assert (usage.key, usage.used, usage.limit) == ("weight", 120, 600)
    assert adapter.parse_rate_limits({}) == []


# -- websocket --------------------------------------------------------------------------------


def test_topics_and_subscribe_frames(adapter: ExampleAdapter) -> None:
    (topic,) = adapter.public_topics(Channel.TRADES, "BTC-USDT-PERP")
    assert topic.name == "trades.BTC-USDT-PERP"
    assert adapter.subscribe_frame([topic.name], 3) == (
        b'{"op":"subscribe","id":3,"topics":["trades.BTC-USDT-PERP"]}'
    )
    assert adapter.heartbeat().frame == b'{"op":"ping"}'


def test_decode_public_trades(adapter: ExampleAdapter) -> None:
    frame = (
        '{"topic":"trades.BTC-USDT-PERP","data":['
        '{"id":"1","symbol":"BTC-USDT-PERP","price":"50000.1","qty":"0.010","taker":"buy","ts":10},'
        '{"id":"2","symbol":"BTC-USDT-PERP","price":"49999.9","qty":"1","taker":"sell","ts":11}]}'
    )
    decoded = adapter.decode_public(frame)
    assert isinstance(decoded, StreamData)
    assert decoded.topic == "trades.BTC-USDT-PERP"
    first, second = decoded.events
    assert isinstance(first, Trade)
    assert isinstance(second, Trade)
    assert (first.price, first.amount, first.side) == (
        Decimal("50000.1"),
        Decimal("0.010"),
        Side.BUY,
    )
    assert (second.id, second.side, second.timestamp) == ("2", Side.SELL, 11)


def test_decode_public_ticker(adapter: ExampleAdapter) -> None:
    frame = (
        b'{"topic":"ticker.BTC-USDT-PERP","data":{"symbol":"BTC-USDT-PERP","last":"1.25","ts":3}}'
    )
    decoded = adapter.decode_public(frame)
    assert isinstance(decoded, StreamData)
    (ticker,) = decoded.events
    assert isinstance(ticker, Ticker)
    assert (ticker.symbol, ticker.last, ticker.bid) == ("BTC/USDT:USDT", Decimal("1.25"), None)


def test_decode_public_control_frames(adapter: ExampleAdapter) -> None:
    ack = adapter.decode_public(b'{"op":"subscribed","id":3,"topics":["trades.BTC-USDT-PERP"]}')
    assert ack == Control(kind="ack", req_id="3", topics=["trades.BTC-USDT-PERP"])
    assert adapter.decode_public(b'{"op":"pong"}') == Control(kind="pong")
    err = adapter.decode_public(b'{"op":"error","id":4,"message":"no such topic"}')
    assert err == Control(kind="error", req_id="4", ok=False, message="no such topic")
    other = adapter.decode_public(b'{"topic":"candles.BTC-USDT-PERP","data":[]}')
    assert isinstance(other, Control)
    assert other.kind == "unknown"


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b'{"topic":"trades.BTC-USDT-PERP","data":[{"id":"1"}]}',
        # a float where the venue promises a decimal string: refused, never coerced
        b'{"topic":"trades.BTC-USDT-PERP","data":[{"id":"1","symbol":"BTC-USDT-PERP",'
        b'"price":50000.1,"qty":"1","taker":"buy","ts":1}]}',
        b'{"topic":"trades.BTC-USDT-PERP","data":[{"id":"1","symbol":"BTC-USDT-PERP",'
        b'"price":"NaN","qty":"1","taker":"buy","ts":1}]}',
    ],
)
def test_malformed_frames_raise_decode_error(adapter: ExampleAdapter, frame: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        adapter.decode_public(frame)
    assert info.value.venue == "example"


# -- discovery through the entry point --------------------------------------------------------


def test_pyproject_registers_the_entry_point() -> None:
    text = (EXAMPLE / "pyproject.toml").read_text()
    section = text.split('[project.entry-points."bat_markets.venues"]', 1)[1]
    assert (
        section.split("[", 1)[0].strip() == 'example = "bat_markets.example_venue:create_adapter"'
    )
    assert not (EXAMPLE / "src" / "bat_markets" / "__init__.py").exists()


@pytest.fixture
def example_entry_point(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the registry see the example's entry point as if the distribution were installed."""

    def patched(*, group: str) -> list[EntryPoint]:
        found = list(entry_points(group=group))
        if group == registry.ENTRY_POINT_GROUP:
            found.append(
                EntryPoint(
                    name="example",
                    value="bat_markets.example_venue:create_adapter",
                    group=registry.ENTRY_POINT_GROUP,
                )
            )
        return found

    monkeypatch.setattr(registry, "entry_points", patched)
    clear_registry_cache()
    yield
    clear_registry_cache()


@pytest.mark.usefixtures("example_entry_point")
def test_load_venue_finds_the_example_through_the_registry() -> None:
    adapter = load_venue("example")
    assert isinstance(adapter, ExampleAdapter)
    assert adapter is not load_venue("example")  # a fresh instance per client
