"""The static client: offline metadata and decoding, no I/O, clear errors for live-only calls."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from bm_client_fake import FakeAdapter

from bat_markets.client import BatMarkets, Health
from bat_markets.core import ConfigError, DecodeError, Ticker, Trade


def test_unknown_venue_is_a_config_error_naming_the_distribution() -> None:
    with pytest.raises(ConfigError, match="not installed"):
        BatMarkets("nosuchvenue")
    with pytest.raises(ConfigError, match="invalid venue id"):
        BatMarkets("../evil")


def test_static_client_serves_bundled_markets_offline() -> None:
    bm = BatMarkets(FakeAdapter())
    markets = bm.markets()
    assert len(markets) == 6
    assert markets.resolve("BTC/USDT:USDT").id == "BTCUSDT"
    assert markets.resolve("btcusdt").symbol == "BTC/USDT:USDT"
    assert bm.venue == "fake"
    assert not bm.is_live
    assert bm.status().health is Health.IDLE
    assert repr(bm) == "<BatMarkets fake static>"


def test_ingest_public_json_returns_typed_events() -> None:
    bm = BatMarkets(FakeAdapter())
    frame = json.dumps(
        {"topic": "trade.BTCUSDT", "data": [{"i": 7, "T": 1, "p": "100.5", "q": "2", "s": "sell"}]}
    )
    (trade,) = bm.advanced().ingest_public_json(frame)
    assert isinstance(trade, Trade)
    assert trade.symbol == "BTC/USDT:USDT"
    assert trade.price == Decimal("100.5")
    ticker_frame = b'{"topic":"ticker.ETHUSDT","data":{"T":5,"last":"3000.25"}}'
    (ticker,) = bm.advanced().ingest_public_json(ticker_frame)
    assert isinstance(ticker, Ticker)
    assert ticker.last == Decimal("3000.25")
    assert bm.advanced().ingest_public_json('{"op":"pong"}') == []
    with pytest.raises(DecodeError):
        bm.advanced().ingest_public_json("{not json")


def test_native_returns_the_adapter() -> None:
    adapter = FakeAdapter()
    bm = BatMarkets(adapter)
    assert bm.advanced().native() is adapter


async def test_live_only_calls_on_a_static_client_raise_config_error() -> None:
    bm = BatMarkets(FakeAdapter())
    with pytest.raises(ConfigError, match="static"):
        await bm.fetch_ticker("BTCUSDT")
    with pytest.raises(ConfigError, match="static"):
        bm.watch_trades("BTCUSDT")
    with pytest.raises(ConfigError, match="static"):
        bm.advanced().diagnostics()
    await bm.close()  # no-op


async def test_private_and_command_methods_need_a_live_client() -> None:
    bm = BatMarkets(FakeAdapter())
    with pytest.raises(ConfigError, match="needs a live client"):
        await bm.fetch_balance()
    with pytest.raises(ConfigError, match="needs a live client"):
        await bm.create_order("BTCUSDT", "buy", "limit", "0.01", "50000")
    with pytest.raises(ConfigError, match="needs a live client"):
        bm.watch_orders()
    with pytest.raises(ConfigError, match="needs a live client"):
        await bm.advanced().reconcile()
