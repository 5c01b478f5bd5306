"""Instrument catalog: unified and native symbols, helpful errors, derived unified symbols."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bat_markets.core import (
    ConfigError,
    InstrumentKind,
    InstrumentSpec,
    Markets,
    UnifiedSymbol,
    derive_unified,
    parse_symbol,
)


def spec(
    symbol: str, native: str, kind: InstrumentKind = InstrumentKind.PERPETUAL
) -> InstrumentSpec:
    base = symbol.split("/", maxsplit=1)[0]
    return InstrumentSpec(
        venue="binance",
        symbol=symbol,
        id=native,
        base=base,
        quote="USDT",
        settle="USDT",
        kind=kind,
        tick_size=Decimal("0.10"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
    )


BTC = spec("BTC/USDT:USDT", "BTCUSDT")
BTC_Q = spec("BTC/USDT:USDT-250926", "BTCUSDT_250926", InstrumentKind.FUTURE)
ETH = spec("ETH/USDT:USDT", "ETHUSDT")


@pytest.fixture
def markets() -> Markets:
    return Markets("binance", [BTC, BTC_Q, ETH])


def test_resolve_unified_and_native(markets: Markets) -> None:
    assert markets.resolve("BTC/USDT:USDT") is BTC
    assert markets.resolve("BTCUSDT") is BTC
    assert markets.resolve("btcusdt") is BTC
    assert markets.resolve("BtcUsdt_250926") is BTC_Q
    assert markets.resolve("BTC/USDT:USDT-250926") is BTC_Q
    assert markets.native("ETH/USDT:USDT") == "ETHUSDT"
    assert markets.by_id("ethusdt") is ETH
    assert len(markets) == 3
    assert set(markets) == {BTC, BTC_Q, ETH}
    assert "BTCUSDT" in markets
    assert "ethusdt" in markets
    assert "XRPUSDT" not in markets
    assert 5 not in markets


def test_unknown_symbol_has_a_hint(markets: Markets) -> None:
    with pytest.raises(ConfigError) as info:
        markets.resolve("BTCUSD")
    message = str(info.value)
    assert "'BTCUSD'" in message
    assert "binance" in message
    assert "did you mean BTCUSDT, BTCUSDT_250926" in message
    assert "load_markets()" in message
    assert info.value.venue == "binance"
    with pytest.raises(ConfigError, match="XRP/USDT:USDT") as info:
        markets.resolve("XRP/USDT:USDT")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("bad", ["", None, 42])
def test_resolve_rejects_non_symbols(markets: Markets, bad: object) -> None:
    with pytest.raises(ConfigError, match="non-empty string"):
        markets.resolve(bad)  # type: ignore[arg-type]


def test_replace_swaps_the_catalog(markets: Markets) -> None:
    markets.replace([ETH])
    assert markets.get("BTCUSDT") is None
    with pytest.raises(ConfigError):
        markets.resolve("BTCUSDT")


def test_unified_for_native_ids(markets: Markets) -> None:
    assert markets.unified("BTCUSDT") == "BTC/USDT:USDT"
    assert markets.unified("btcusdt_250926") == "BTC/USDT:USDT-250926"
    assert markets.unified("SOLUSDT") == "SOL/USDT:USDT"  # unknown: derived


@pytest.mark.parametrize(
    ("native", "unified"),
    [
        ("BTCUSDT", "BTC/USDT:USDT"),
        ("btcusdt", "BTC/USDT:USDT"),
        ("BTCUSDT_250926", "BTC/USDT:USDT-250926"),
        ("1000PEPEUSDT", "1000PEPE/USDT:USDT"),
        ("ETHUSDC", "ETH/USDC:USDC"),
        ("BTC-26SEP25", "BTC-26SEP25"),  # Bybit dated futures stay native
        ("USDT", "USDT"),
        ("BTCUSD", "BTCUSD"),
    ],
)
def test_derive_unified(native: str, unified: str) -> None:
    assert derive_unified(native) == unified


def test_parse_symbol() -> None:
    assert parse_symbol("BTC/USDT:USDT") == UnifiedSymbol("BTC", "USDT", "USDT")
    parsed = parse_symbol("BTC/USDT:USDT-250926")
    assert parsed is not None
    assert parsed.expiry == "250926"
    assert str(parsed) == "BTC/USDT:USDT-250926"
    assert (parsed.base, parsed.quote, parsed.settle) == ("BTC", "USDT", "USDT")
    assert parse_symbol("BTCUSDT") is None
    assert parse_symbol("btc/usdt:usdt") is None
