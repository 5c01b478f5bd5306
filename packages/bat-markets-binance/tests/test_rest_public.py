"""Public REST flows: request shapes and decoding of every market-data fixture."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from binance_kit import Script, err, load, ok, params, raw

from bat_markets.binance import BinanceAdapter
from bat_markets.core import (
    ConfigError,
    InstrumentKind,
    InstrumentStatus,
    Side,
    StateDivergence,
    Timeout,
    Unsupported,
)

D = Decimal


def test_server_time_and_ping(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/time.json")))
    assert s.run(adapter.server_time()) == 1499827319559
    assert s.requests[0].path == "/fapi/v1/time"
    assert not s.requests[0].signed
    s = Script(ok(raw("rest/ping.json")))
    assert s.run(adapter.ping()) is None
    assert s.requests[0].path == "/fapi/v1/ping"


def test_load_markets_parses_every_filter(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/exchange_info.json")), ok(raw("rest/funding_info.json")))
    specs = {spec.id: spec for spec in s.run(adapter.load_markets())}
    assert [r.path for r in s.requests] == ["/fapi/v1/exchangeInfo", "/fapi/v1/fundingInfo"]
    assert set(specs) == {"BTCUSDT", "ETHUSDT", "BTCUSDT_220325"}
    btc = specs["BTCUSDT"]
    assert btc.symbol == "BTC/USDT:USDT"
    assert (btc.base, btc.quote, btc.settle) == ("BTC", "USDT", "USDT")
    assert btc.kind is InstrumentKind.PERPETUAL
    assert btc.status is InstrumentStatus.TRADING
    assert btc.tick_size == D("0.10")
    assert btc.step_size == D("0.001")
    assert btc.min_qty == D("0.001")
    assert btc.max_qty == D("1000")
    assert btc.market_step_size == D("0.001")
    assert btc.market_max_qty == D("1000")
    assert btc.min_price == D("402")
    assert btc.max_price == D("1246396.60")
    assert btc.min_notional == D("10")
    assert btc.max_open_orders == 200
    assert btc.onboard_time == 1569398400000
    assert btc.funding_interval_hours == 8
    eth = specs["ETHUSDT"]
    assert eth.tick_size == D("0.01")
    assert eth.max_qty == D("10000")
    dated = specs["BTCUSDT_220325"]
    assert dated.symbol == "BTC/USDT:USDT-220325"
    assert dated.kind is InstrumentKind.FUTURE
    assert dated.expiry == 1648195200000
    assert dated.funding_interval_hours is None
    assert dated.tick_size == D("0.1")


def test_load_markets_uses_adjusted_funding_intervals_and_skips_broken_symbols(
    adapter: BinanceAdapter,
) -> None:
    info = load("rest/exchange_info.json")
    broken = json.loads(json.dumps(info["symbols"][0]))
    broken["symbol"] = "BROKENUSDT"
    broken["filters"] = [f for f in broken["filters"] if f["filterType"] != "LOT_SIZE"]
    usdc = json.loads(json.dumps(info["symbols"][0]))
    usdc.update(symbol="BTCUSDC", quoteAsset="USDC", marginAsset="USDC")
    info["symbols"] += [broken, usdc]
    funding = [{"symbol": "BTCUSDT", "fundingIntervalHours": 4}]
    specs = Script(ok(info), ok(funding)).run(adapter.load_markets())
    by_id = {s.id: s for s in specs}
    assert "BROKENUSDT" not in by_id  # one bad symbol never fails the whole response
    assert "BTCUSDC" not in by_id  # USDT-settled only
    assert by_id["BTCUSDT"].funding_interval_hours == 4


def test_load_markets_survives_a_failed_funding_info(adapter: BinanceAdapter) -> None:
    specs = Script(ok(raw("rest/exchange_info.json")), Timeout("no answer", venue="binance")).run(
        adapter.load_markets()
    )
    assert len(specs) == 3


def test_bundled_instruments_match_the_exchange_info_fixture(adapter: BinanceAdapter) -> None:
    bundled = {s.id: s for s in adapter.bundled_instruments()}
    assert set(bundled) >= {"BTCUSDT", "ETHUSDT"}
    loaded = {
        s.id: s
        for s in Script(ok(raw("rest/exchange_info.json")), ok(b"[]")).run(adapter.load_markets())
    }
    assert bundled["BTCUSDT"] == loaded["BTCUSDT"]
    assert bundled["ETHUSDT"] == loaded["ETHUSDT"]
    assert bundled["BTCUSDT"].min_notional == D("10")  # not the original's 5e-5 bug
    assert adapter.markets.get("BTCUSDT") == bundled["BTCUSDT"]


def test_fetch_ticker(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/ticker_24hr.json")))
    t = s.run(adapter.fetch_ticker("BTCUSDT"))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT"}
    assert s.requests[0].path == "/fapi/v1/ticker/24hr"
    assert t.symbol == "BTC/USDT:USDT"
    assert t.last == D("4.00000200")
    assert t.open == D("99.00000000")
    assert t.high == D("100.00000000")
    assert t.low == D("0.10000000")
    assert t.volume == D("8913.30000000")
    assert t.quote_volume == D("15.30000000")
    assert t.change == D("-94.99999800")
    assert t.percentage == D("-95.960")
    assert t.vwap == D("0.29628482")
    assert t.timestamp == 1499869899040


def test_fetch_tickers_all_and_filtered(adapter: BinanceAdapter) -> None:
    row = load("rest/ticker_24hr.json")
    other = dict(row, symbol="ETHUSDT", lastPrice="2000.5")
    s = Script(ok([row, other]))
    tickers = s.run(adapter.fetch_tickers(None))
    assert s.requests[0].weight == 40
    assert "symbol" not in params(s.requests[0])
    assert [t.symbol for t in tickers] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    s = Script(ok([row, other]))
    only = s.run(adapter.fetch_tickers(["ETHUSDT", "ETH/USDT:USDT", "XRPUSDT"]))
    assert [t.last for t in only] == [D("2000.5")]
    s = Script(ok(row))
    one = s.run(adapter.fetch_tickers(["BTCUSDT"]))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT"}
    assert one[0].last == D("4.00000200")


def test_fetch_book_ticker_and_last_price(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/book_ticker.json")))
    top = s.run(adapter.fetch_book_ticker("BTCUSDT"))
    assert s.requests[0].path == "/fapi/v1/ticker/bookTicker"
    assert (top.bid, top.bid_size, top.ask, top.ask_size) == (
        D("4.00000000"),
        D("431.00000000"),
        D("4.00000200"),
        D("9.00000000"),
    )
    assert top.timestamp == 1589437530011
    s = Script(ok(raw("rest/ticker_price.json")))
    t = s.run(adapter.fetch_last_price("BTCUSDT"))
    assert s.requests[0].path == "/fapi/v2/ticker/price"
    assert t.last == D("6000.01")
    assert t.timestamp == 1589437530011


@pytest.mark.parametrize(
    ("requested", "sent", "weight", "kept"),
    [
        (None, 1000, 20, 1),
        (5, 5, 2, 1),
        (7, 10, 2, 1),
        (50, 50, 2, 1),
        (51, 100, 5, 1),
        (101, 500, 10, 1),
        (999, 1000, 20, 1),
    ],
)
def test_fetch_order_book_limits(
    adapter: BinanceAdapter, requested: int | None, sent: int, weight: int, kept: int
) -> None:
    s = Script(ok(raw("rest/depth.json")))
    book = s.run(adapter.fetch_order_book("BTCUSDT", requested))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "limit": str(sent)}
    assert s.requests[0].weight == weight
    assert book.source == "rest"
    assert book.update_id == 1027024
    assert book.timestamp == 1589436922959
    assert book.bids == [("4.00000000", "431.00000000")]
    assert book.asks == [("4.00000200", "12.00000000")]
    assert book.symbol == "BTC/USDT:USDT"
    assert len(book.bids) == kept


def test_fetch_order_book_cuts_to_the_requested_depth(adapter: BinanceAdapter) -> None:
    depth = {
        "lastUpdateId": 9,
        "E": 1,
        "T": 2,
        "bids": [[str(100 - i), "1"] for i in range(10)],
        "asks": [],
    }
    book = Script(ok(depth)).run(adapter.fetch_order_book("BTCUSDT", 7))
    assert len(book.bids) == 7
    assert book.bids[-1] == ("94", "1")


def test_fetch_order_book_rejects_impossible_depths(adapter: BinanceAdapter) -> None:
    with pytest.raises(Unsupported, match="1000"):
        Script().run(adapter.fetch_order_book("BTCUSDT", 5000))
    with pytest.raises(ConfigError):
        Script().run(adapter.fetch_order_book("BTCUSDT", 0))


def test_fetch_ohlcv_single_page(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/klines.json"), headers={"date": "Mon, 01 Jan 2024 00:00:00 GMT"}))
    candles = s.run(adapter.fetch_ohlcv("BTCUSDT", "1h", None, None, 10))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "interval": "1h", "limit": "10"}
    assert s.requests[0].weight == 1
    (c,) = candles
    assert c.symbol == "BTC/USDT:USDT"
    assert c.interval == "1h"
    assert c.open_time == 1499040000000
    assert c.close_time == 1499644799999
    assert (c.open, c.high, c.low, c.close) == (
        D("0.01634790"),
        D("0.80000000"),
        D("0.01575800"),
        D("0.01577100"),
    )
    assert c.volume == D("148976.11427815")
    assert c.quote_volume == D("2434.19055334")
    assert c.trades == 308
    assert c.closed  # closed before the response's Date


def _kline(open_time: int, step: int = 60_000) -> list[object]:
    return [open_time, "1", "2", "0.5", "1.5", "10", open_time + step - 1, "15", 3, "5", "7", "0"]


def test_fetch_ohlcv_paginates_forward_oldest_first(adapter: BinanceAdapter) -> None:
    start = 1_700_000_000_000
    page1 = [_kline(start + i * 60_000) for i in range(1500)]
    page2 = [_kline(start + (1500 + i) * 60_000) for i in range(700)]
    s = Script(ok(page1), ok(page2))
    candles = s.run(adapter.fetch_ohlcv("BTCUSDT", "1m", start, None, 2000))
    assert len(candles) == 2000
    assert [c.open_time for c in candles] == [start + i * 60_000 for i in range(2000)]
    first, second = (params(r) for r in s.requests)
    assert first == {
        "symbol": "BTCUSDT",
        "interval": "1m",
        "startTime": str(start),
        "limit": "1500",
    }
    assert second["startTime"] == str(start + 1499 * 60_000 + 1)
    assert second["limit"] == "500"
    assert s.requests[0].weight == 10


def test_fetch_ohlcv_paginates_backwards_without_since(adapter: BinanceAdapter) -> None:
    end = 1_700_000_000_000
    newest = [_kline(end - (1500 - i) * 60_000) for i in range(1500)]
    older = [_kline(end - (2000 - i) * 60_000) for i in range(500)]
    s = Script(ok(newest), ok(older))
    candles = s.run(adapter.fetch_ohlcv("BTCUSDT", "1m", None, end, 2000))
    assert len(candles) == 2000
    times = [c.open_time for c in candles]
    assert times == sorted(times)
    assert times[0] == end - 2000 * 60_000
    assert params(s.requests[1])["endTime"] == str(end - 1500 * 60_000 - 1)
    assert params(s.requests[0])["endTime"] == str(end)


def test_fetch_ohlcv_stops_on_a_short_page_and_respects_until(adapter: BinanceAdapter) -> None:
    start = 1_700_000_000_000
    s = Script(ok([_kline(start), _kline(start + 60_000)]))
    candles = s.run(adapter.fetch_ohlcv("BTCUSDT", "1m", start, start + 120_000, None))
    assert len(candles) == 2
    assert params(s.requests[0])["endTime"] == str(start + 120_000)


def test_fetch_ohlcv_marks_the_running_candle_open(adapter: BinanceAdapter) -> None:
    start = 1_704_067_200_000  # 2024-01-01 00:00 UTC
    s = Script(ok([_kline(start)], headers={"date": "Mon, 01 Jan 2024 00:00:30 GMT"}))
    (c,) = s.run(adapter.fetch_ohlcv("BTCUSDT", "1m", start, None, 1))
    assert not c.closed


def test_fetch_ohlcv_rejects_unknown_interval(adapter: BinanceAdapter) -> None:
    with pytest.raises(ConfigError, match="7m"):
        Script().run(adapter.fetch_ohlcv("BTCUSDT", "7m", None, None, None))


def test_mark_price_klines_fixture(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/mark_price_klines.json")))
    (c,) = s.run(adapter.fetch_mark_price_ohlcv("BTCUSDT", "1m", None, None, 1))
    assert s.requests[0].path == "/fapi/v1/markPriceKlines"
    assert c.open == D("9653.29201333")
    assert c.close == D("9653.07367333")
    assert c.volume == D("0")  # the venue sends "0 " (trailing space)
    assert c.trades == 60


def test_fetch_trades_agg(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/agg_trades.json")))
    (t,) = s.run(adapter.fetch_trades("BTCUSDT", None, 10))
    assert s.requests[0].path == "/fapi/v1/aggTrades"
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "limit": "10"}
    assert t.id == "26129"
    assert t.price == D("0.01633102")
    assert t.amount == D("4.70443515")
    assert t.timestamp == 1498793709153
    assert t.side is Side.SELL  # buyer was maker
    assert t.aggregated


def test_fetch_trades_since_paginates_with_from_id(adapter: BinanceAdapter) -> None:
    def agg(a: int) -> dict[str, object]:
        return {"a": a, "p": "1", "q": "1", "f": a, "l": a, "T": 1000 + a, "m": False}

    s = Script(ok([agg(i) for i in range(1000)]), ok([agg(i) for i in range(1000, 1200)]))
    trades = s.run(adapter.fetch_trades("BTCUSDT", 5, 1500))
    assert len(trades) == 1200
    assert params(s.requests[0])["startTime"] == "5"
    assert params(s.requests[1]) == {"symbol": "BTCUSDT", "fromId": "1000", "limit": "500"}


def test_fetch_trades_latest_beyond_one_page_walks_back(adapter: BinanceAdapter) -> None:
    def agg(a: int) -> dict[str, object]:
        return {"a": a, "p": "1", "q": "1", "T": a, "m": True}

    s = Script(ok([agg(i) for i in range(5000, 6000)]), ok([agg(i) for i in range(4800, 5000)]))
    trades = s.run(adapter.fetch_trades("BTCUSDT", None, 1200))
    assert [t.id for t in trades] == [str(i) for i in range(4800, 6000)]
    assert params(s.requests[1])["fromId"] == "4800"


def test_fetch_recent_trades_raw(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/trades.json")))
    (t,) = s.run(adapter.fetch_recent_trades("BTCUSDT", 5))
    assert s.requests[0].path == "/fapi/v1/trades"
    assert t.id == "28457"
    assert t.price == D("4.00000100")
    assert t.amount == D("12.00000000")
    assert t.side is Side.SELL
    assert not t.aggregated


def test_mark_price_and_funding_rate(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/premium_index.json")))
    m = s.run(adapter.fetch_mark_price("BTCUSDT"))
    assert s.requests[0].path == "/fapi/v1/premiumIndex"
    assert m.mark_price == D("11793.63104562")
    assert m.index_price == D("11781.80495970")
    assert m.estimated_settle_price == D("11781.16138815")
    assert m.timestamp == 1597370495002
    f = Script(ok(raw("rest/premium_index.json"))).run(adapter.fetch_funding_rate("BTCUSDT"))
    assert f.funding_rate == D("0.00038246")
    assert f.funding_time == 1597392000000
    assert f.interval_hours == 8  # from the bundled spec
    assert f.symbol == "BTC/USDT:USDT"


def test_funding_rate_history(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/funding_rate.json")))
    rates = s.run(adapter.fetch_funding_rate_history("BTCUSDT", 1570000000000, 50))
    assert params(s.requests[0]) == {
        "symbol": "BTCUSDT",
        "startTime": "1570000000000",
        "limit": "50",
    }
    assert [r.funding_rate for r in rates] == [D("-0.03750000"), D("0.00010000")]
    assert [r.funding_time for r in rates] == [1570608000000, 1570636800000]
    assert rates[0].mark_price == D("34287.54619963")


def test_open_interest(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/open_interest.json")))
    oi = s.run(adapter.fetch_open_interest("BTCUSDT"))
    assert s.requests[0].path == "/fapi/v1/openInterest"
    assert oi.amount == D("10659.509")
    assert oi.timestamp == 1589437530011
    assert oi.symbol == "BTC/USDT:USDT"


def test_liquidations_point_to_the_stream(adapter: BinanceAdapter) -> None:
    with pytest.raises(Unsupported, match="watch_liquidations"):
        adapter.fetch_liquidations("BTCUSDT", None, None)


def test_read_errors_are_raised_as_taxonomy(adapter: BinanceAdapter) -> None:
    with pytest.raises(StateDivergence):
        Script(err("rest/error_-2011.json")).run(adapter.fetch_ticker("BTCUSDT"))
    with pytest.raises(Timeout):  # an ambiguous answer on a read is a timeout, not "unknown"
        Script(err({"code": -1007, "msg": "Timeout waiting for response"}, 408)).run(
            adapter.fetch_ticker("BTCUSDT")
        )


def test_unified_symbols_are_accepted_by_flows(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/open_interest.json")))
    s.run(adapter.fetch_open_interest("BTC/USDT:USDT"))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT"}
