"""Public streams: topics, URLs, frames, and decoding of every market-stream fixture."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from binance_kit import load, raw

from bat_markets.binance import BinanceAdapter
from bat_markets.core import (
    OHLCV,
    BookDeltaEvent,
    BookSnapshotEvent,
    BookTop,
    Channel,
    ConfigError,
    Control,
    DecodeError,
    Endpoints,
    Environment,
    FundingRate,
    Liquidation,
    MarkPrice,
    Side,
    StreamData,
    Ticker,
    Trade,
    Unsupported,
)

D = Decimal


def data(adapter: BinanceAdapter, frame: bytes | str) -> StreamData:
    out = adapter.decode_public(frame)
    assert isinstance(out, StreamData), out
    return out


def combined(stream: str, name: str) -> bytes:
    return json.dumps({"stream": stream, "data": load(name)}).encode()


# -- endpoints and topics


def test_endpoint_presets(adapter: BinanceAdapter) -> None:
    main = adapter.endpoints(Environment.MAINNET)
    assert main.rest == "https://fapi.binance.com"
    assert main.command_ws == "wss://ws-fapi.binance.com/ws-fapi/v1"
    assert adapter.public_ws_url(main, "public") == "wss://fstream.binance.com/public/stream"
    assert adapter.public_ws_url(main, "market") == "wss://fstream.binance.com/market/stream"
    test = adapter.endpoints(Environment.TESTNET)
    assert test.rest == "https://testnet.binancefuture.com"
    assert adapter.public_ws_url(test, "public") == "wss://fstream.binancefuture.com/stream"
    assert test.command_ws == "wss://testnet.binancefuture.com/ws-fapi/v1"
    demo = adapter.endpoints(Environment.DEMO)
    assert demo.rest == "https://demo-fapi.binance.com"
    custom = Endpoints(
        rest="http://127.0.0.1:9", public_ws="ws://127.0.0.1:9/", private_ws="ws://127.0.0.1:9"
    )
    assert adapter.public_ws_url(custom, "market") == "ws://127.0.0.1:9/market/stream"
    with pytest.raises(Unsupported):
        adapter.public_ws_url(main, "nowhere")


@pytest.mark.parametrize(
    ("channel", "kw", "name", "route"),
    [
        (Channel.ORDER_BOOK, {}, "btcusdt@depth@100ms", "public"),
        (Channel.ORDER_BOOK, {"depth": 1000}, "btcusdt@depth@100ms", "public"),
        (Channel.ORDER_BOOK, {"depth": 20}, "btcusdt@depth20@100ms", "public"),
        (Channel.BOOK_TOP, {}, "btcusdt@bookTicker", "public"),
        (Channel.TRADES, {}, "btcusdt@aggTrade", "market"),
        (Channel.TICKER, {}, "btcusdt@ticker", "market"),
        (Channel.OHLCV, {"interval": "1M"}, "btcusdt@kline_1M", "market"),
        (Channel.MARK_PRICE, {}, "btcusdt@markPrice@1s", "market"),
        (Channel.FUNDING_RATE, {}, "btcusdt@markPrice@1s", "market"),
        (Channel.LIQUIDATIONS, {}, "btcusdt@forceOrder", "market"),
    ],
)
def test_topics(
    adapter: BinanceAdapter, channel: Channel, kw: dict[str, object], name: str, route: str
) -> None:
    (topic,) = adapter.public_topics(channel, "BTCUSDT", **kw)  # type: ignore[arg-type]
    assert topic.name == name
    assert topic.route == route


def test_topic_errors(adapter: BinanceAdapter) -> None:
    with pytest.raises(Unsupported, match="openInterest"):
        adapter.public_topics(Channel.OPEN_INTEREST, "BTCUSDT")
    with pytest.raises(ConfigError):
        adapter.public_topics(Channel.OHLCV, "BTCUSDT", interval="2m")
    with pytest.raises(Unsupported):
        adapter.public_topics(Channel.ORDER_BOOK, "BTCUSDT", depth=5000)


def test_subscribe_frames_match_the_fixture(adapter: BinanceAdapter) -> None:
    frame = adapter.subscribe_frame(["btcusdt@aggTrade", "btcusdt@depth"], 1)
    assert json.loads(frame) == load("ws/subscribe_request.json")
    assert json.loads(adapter.unsubscribe_frame(["a"], 2)) == {
        "method": "UNSUBSCRIBE",
        "params": ["a"],
        "id": 2,
    }


def test_control_frames(adapter: BinanceAdapter) -> None:
    ack = adapter.decode_public(raw("ws/subscribe_response.json"))
    assert ack == Control(kind="ack", req_id="1", ok=True)
    listed = adapter.decode_public(raw("ws/list_subscriptions_response.json"))
    assert listed == Control(kind="ack", req_id="3", ok=True, topics=["btcusdt@aggTrade"])
    error = adapter.decode_public(
        b'{"code": 2, "msg": "Invalid request: unknown variant", "id": 7}'
    )
    assert isinstance(error, Control)
    assert error.kind == "error"
    assert not error.ok
    assert error.req_id == "7"
    assert error.message is not None
    assert "Invalid request" in error.message
    unknown = adapter.decode_public(b'{"stream":"x@y","data":{"e":"somethingNew","s":"BTCUSDT"}}')
    assert isinstance(unknown, Control)
    assert unknown.kind == "unknown"
    assert unknown.topics == ["x@y"]


# -- every market-stream fixture


def test_depth_diff_combined(adapter: BinanceAdapter) -> None:
    out = data(adapter, raw("ws/combined_depth_update.json"))
    assert out.topic == "btcusdt@depth@0ms"
    (e,) = out.events
    assert isinstance(e, BookDeltaEvent)
    assert e.symbol == "BTC/USDT:USDT"
    assert (e.first_id, e.last_id, e.prev_id) == (1801732831593, 1801732832589, 1801732831561)
    assert e.timestamp == 1660228023931
    assert len(e.bids) == 15
    assert len(e.asks) == 16
    assert e.bids[0] == ("2467.10", "0.000")
    assert e.asks[-1] == ("24729.10", "0.171")


def test_depth_diff_raw(adapter: BinanceAdapter) -> None:
    out = data(adapter, raw("ws/depth_update.json"))
    assert out.topic == "btcusdt@depthUpdate"
    (e,) = out.events
    assert isinstance(e, BookDeltaEvent)
    assert (e.first_id, e.last_id, e.prev_id) == (157, 160, 149)
    assert e.bids == [("0.0024", "10")]
    assert e.asks == [("0.0026", "100")]


def test_partial_depth_is_a_snapshot_on_its_stream(adapter: BinanceAdapter) -> None:
    (e,) = data(adapter, combined("btcusdt@depth5@100ms", "ws/depth_partial.json")).events
    assert isinstance(e, BookSnapshotEvent)
    assert e.source == "ws"
    assert e.update_id == 390497878
    assert e.bids[0] == ("7403.89", "0.002")
    assert e.asks[4] == ("7407.20", "0.175")
    assert len(e.bids) == 5
    # without the stream name (raw frame) the payload is an ordinary diff
    (raw_e,) = data(adapter, raw("ws/depth_partial.json")).events
    assert isinstance(raw_e, BookDeltaEvent)
    assert raw_e.prev_id == 390497794


def test_agg_trade(adapter: BinanceAdapter) -> None:
    out = data(adapter, combined("btcusdt@aggTrade", "ws/agg_trade.json"))
    (t,) = out.events
    assert isinstance(t, Trade)
    assert t.id == "5933014"
    assert t.price == D("0.001")
    assert t.amount == D("100")
    assert t.timestamp == 123456785
    assert t.side is Side.SELL
    assert t.aggregated
    assert t.symbol == "BTC/USDT:USDT"
    assert data(adapter, raw("ws/agg_trade.json")).events == [t]


def test_raw_trade(adapter: BinanceAdapter) -> None:
    out = data(adapter, raw("ws/trade.json"))
    assert out.topic == "btcusdt@trade"
    (t,) = out.events
    assert isinstance(t, Trade)
    assert t.id == "2691833663"
    assert t.price == D("24670.90")
    assert t.amount == D("0.022")
    assert t.side is Side.SELL
    assert not t.aggregated


def test_book_tickers(adapter: BinanceAdapter) -> None:
    (top,) = data(adapter, raw("ws/combined_book_ticker.json")).events
    assert isinstance(top, BookTop)
    assert top.symbol == "SOL/USDT:USDT"
    assert (top.bid, top.bid_size, top.ask, top.ask_size) == (
        D("142.4440"),
        D("50"),
        D("142.4450"),
        D("3"),
    )
    assert top.sequence == 4456408609867
    assert top.timestamp == 1713571200009
    (top2,) = data(adapter, raw("ws/book_ticker.json")).events
    assert isinstance(top2, BookTop)
    assert top2.symbol == "BNB/USDT:USDT"
    assert top2.bid == D("25.35190000")
    assert top2.ask_size == D("40.66000000")


def test_klines(adapter: BinanceAdapter) -> None:
    (k,) = data(adapter, combined("btcusdt@kline_1m", "ws/kline.json")).events
    assert isinstance(k, OHLCV)
    assert k.interval == "1m"
    assert (k.open_time, k.close_time) == (1638747660000, 1638747719999)
    assert (k.open, k.high, k.low, k.close) == (D("0.0010"), D("0.0025"), D("0.0015"), D("0.0020"))
    assert k.volume == D("1000")
    assert k.quote_volume == D("1.0000")
    assert k.trades == 100
    assert not k.closed
    (c,) = data(adapter, raw("ws/continuous_kline.json")).events
    assert isinstance(c, OHLCV)
    assert c.symbol == "BTC/USDT:USDT"
    assert c.close == D("18804.04")
    assert c.trades == 543


def test_tickers(adapter: BinanceAdapter) -> None:
    (t,) = data(adapter, combined("btcusdt@ticker", "ws/ticker_24hr.json")).events
    assert isinstance(t, Ticker)
    assert t.last == D("0.0025")
    assert t.change == D("0.0015")
    assert t.percentage == D("250.00")
    assert t.vwap == D("0.0018")
    assert t.volume == D("10000")
    assert t.quote_volume == D("18")
    assert t.timestamp == 123456789
    arr = data(adapter, combined("!ticker@arr", "ws/ticker_24hr_array.json"))
    assert arr.events == [t]
    (m,) = data(adapter, raw("ws/mini_ticker.json")).events
    assert isinstance(m, Ticker)
    assert (m.last, m.open, m.high, m.low) == (D("0.0025"), D("0.0010"), D("0.0025"), D("0.0010"))
    assert m.change is None
    mini_arr = data(adapter, raw("ws/mini_ticker_array.json"))
    assert mini_arr.topic == "!miniTicker@arr"
    assert mini_arr.events == [m]


def test_mark_price_gives_mark_and_funding(adapter: BinanceAdapter) -> None:
    mark, funding = data(
        adapter, combined("btcusdt@markPrice@1s", "ws/mark_price_update.json")
    ).events
    assert isinstance(mark, MarkPrice)
    assert mark.mark_price == D("11794.15000000")
    assert mark.index_price == D("11784.62659091")
    assert mark.estimated_settle_price == D("11784.25641265")
    assert mark.timestamp == 1562305380000
    assert isinstance(funding, FundingRate)
    assert funding.funding_rate == D("0.00038167")
    assert funding.funding_time == 1562306400000
    arr = data(adapter, raw("ws/mark_price_update_array.json"))
    assert arr.topic == "!markPrice@arr"
    assert [type(e) for e in arr.events] == [MarkPrice, FundingRate]
    assert arr.events[0].mark_price == D("11185.87786614")  # type: ignore[union-attr]
    dated = {
        "e": "markPriceUpdate",
        "E": 1,
        "s": "BTCUSDT_250926",
        "p": "1",
        "i": "1",
        "P": "1",
        "r": "",
        "T": 0,
    }
    (only_mark,) = data(adapter, json.dumps(dated)).events
    assert isinstance(only_mark, MarkPrice)
    assert only_mark.symbol == "BTC/USDT:USDT-250926"


def test_force_order(adapter: BinanceAdapter) -> None:
    (liq,) = data(adapter, combined("btcusdt@forceOrder", "ws/force_order.json")).events
    assert isinstance(liq, Liquidation)
    assert liq.side is Side.SELL
    assert liq.price == D("9910")
    assert liq.amount == D("0.014")
    assert liq.average_price == D("9910")
    assert liq.timestamp == 1568014460893
    assert not liq.complete_feed


def test_contract_info_is_a_counted_unknown(adapter: BinanceAdapter) -> None:
    out = adapter.decode_public(raw("ws/contract_info.json"))
    assert isinstance(out, Control)
    assert out.kind == "unknown"
    assert out.message == "contractInfo IOTAUSDT status=TRADING type=PERPETUAL"


def test_malformed_known_events_are_decode_errors(adapter: BinanceAdapter) -> None:
    with pytest.raises(DecodeError):
        adapter.decode_public(
            b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT","p":"x"}}'
        )
    with pytest.raises(DecodeError):
        adapter.decode_public(b'{"e":"depthUpdate","s":"BTCUSDT","U":"one"}')
    with pytest.raises(DecodeError):
        adapter.decode_public(b'{"stream":')
    with pytest.raises(DecodeError):
        adapter.decode_public(b"")


def test_market_replacement_refreshes_the_symbol_cache(adapter: BinanceAdapter) -> None:
    from bat_markets.core import Markets

    (t,) = data(adapter, raw("ws/agg_trade.json")).events
    assert t.symbol == "BTC/USDT:USDT"
    spec = adapter.markets.resolve("BTCUSDT")
    import msgspec

    adapter.markets = Markets("binance", [msgspec.structs.replace(spec, symbol="BTC/USDT:USDT-X")])
    (t2,) = data(adapter, raw("ws/agg_trade.json")).events
    assert t2.symbol == "BTC/USDT:USDT-X"
