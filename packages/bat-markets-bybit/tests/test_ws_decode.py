"""Websocket decoders are total, unknown frames are counted, ticker deltas merge exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bat_markets.bybit import BybitAdapter
from bat_markets.core import (
    Control,
    DecodeError,
    FundingRate,
    MarkPrice,
    OpenInterest,
    PrivateData,
    StreamData,
    Ticker,
)

WS_FIXTURES = [
    "all_liquidation.json",
    "auth_response.json",
    "execution.json",
    "execution_fast.json",
    "kline.json",
    "order.json",
    "orderbook_1_delta.json",
    "orderbook_1_snapshot.json",
    "orderbook_50_delta.json",
    "orderbook_50_snapshot.json",
    "pong_private.json",
    "pong_public.json",
    "position.json",
    "position_hedge.json",
    "public_trade.json",
    "subscribe_ack.json",
    "subscribe_ack_private.json",
    "tickers_delta.json",
    "tickers_snapshot.json",
    "trade_auth_response.json",
    "trade_order_create_batch_error_response.json",
    "trade_pong.json",
    "wallet.json",
]


def decode_both(adapter: BybitAdapter, raw: bytes | str) -> None:
    """Both decoders either decode or raise ``DecodeError``; nothing else escapes."""
    for decode in (adapter.decode_public, adapter.decode_private):
        try:
            result = decode(raw)
        except DecodeError:
            continue
        assert isinstance(result, (StreamData, PrivateData, Control))
    assert adapter.ws_reply_id(raw) is None or isinstance(adapter.ws_reply_id(raw), str)


@pytest.mark.parametrize("name", WS_FIXTURES)
def test_truncated_fixture_frames(h, name: str) -> None:
    adapter = BybitAdapter()
    raw = h.load_bytes(f"ws/{name}")
    compact = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    for cut in range(len(compact)):
        decode_both(adapter, compact[:cut])
        with pytest.raises(DecodeError):
            adapter.decode_public(compact[:cut])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "Infinity", "-1", "1e999", "", "Buy", "Sell", "snapshot", "delta"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(obj, dict):
        return {**obj, head: _replace(obj[head], tuple(rest), value)}
    copy = list(obj)
    copy[head] = _replace(obj[head], tuple(rest), value)
    return copy


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(WS_FIXTURES), data=st.data())
def test_garbled_fixture_frames(h, name: str, data: st.DataObject) -> None:
    adapter = BybitAdapter()
    doc = h.load_json(f"ws/{name}")
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        doc = _replace(doc, path, data.draw(json_values))
    decode_both(adapter, json.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_random_input(raw: bytes | str) -> None:
    decode_both(BybitAdapter(), raw)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_json(value: Any) -> None:
    decode_both(BybitAdapter(), json.dumps(value))


def test_unknown_topics_and_ops_are_counted(adapter: BybitAdapter) -> None:
    assert adapter.unknown_frames == 0
    greeks = adapter.decode_private(b'{"topic":"greeks","data":[{"baseCoin":"ETH"}]}')
    assert greeks == Control(kind="unknown", message="unknown topic 'greeks'", topics=["greeks"])
    liq = adapter.decode_public(
        b'{"topic":"liquidation.BTCUSDT","type":"snapshot","ts":1,"data":{}}'
    )
    assert isinstance(liq, Control)
    assert liq.kind == "unknown"
    odd = adapter.decode_public(b'{"op":"whatever","success":true}')
    assert isinstance(odd, Control)
    assert odd.kind == "unknown"
    empty = adapter.decode_public(b"{}")
    assert isinstance(empty, Control)
    assert empty.kind == "unknown"
    assert adapter.unknown_frames == 4


def test_bad_values_are_decode_errors(adapter: BybitAdapter, h) -> None:
    trade = h.load_json("ws/public_trade.json")
    trade["data"][0]["p"] = "NaN"
    with pytest.raises(DecodeError):
        adapter.decode_public(json.dumps(trade))
    trade["data"][0]["p"] = "1"
    trade["data"][0]["S"] = "Up"
    with pytest.raises(DecodeError, match="side"):
        adapter.decode_public(json.dumps(trade))
    book = h.load_json("ws/orderbook_50_delta.json")
    book["type"] = "partial"
    with pytest.raises(DecodeError):
        adapter.decode_public(json.dumps(book))
    kline = h.load_json("ws/kline.json")
    kline["topic"] = "kline.7.BTCUSDT"
    with pytest.raises(DecodeError, match="interval"):
        adapter.decode_public(json.dumps(kline))
    position = h.load_json("ws/position.json")
    position["data"][0]["positionIdx"] = 7
    with pytest.raises(DecodeError, match="positionIdx"):
        adapter.decode_private(json.dumps(position))
    with pytest.raises(DecodeError, match="without data"):
        adapter.decode_public(b'{"topic":"publicTrade.BTCUSDT","type":"snapshot"}')


def test_private_filters_other_categories_and_settle_coins(adapter: BybitAdapter, h) -> None:
    order = h.load_json("ws/order.json")
    spot = dict(order["data"][0], category="spot", symbol="BTCUSDT")
    usdc = dict(order["data"][0], symbol="ETHPERP")
    order["data"] = [spot, usdc, order["data"][0]]
    data = adapter.decode_private(json.dumps(order))
    assert isinstance(data, PrivateData)
    assert len(data.events) == 1


def test_unknown_order_status_is_not_reported_open(adapter: BybitAdapter, h) -> None:
    order = h.load_json("ws/order.json")
    order["data"][0]["orderStatus"] = "SomethingCancelledNew"
    (event,) = adapter.decode_private(json.dumps(order)).events  # type: ignore[union-attr]
    assert event.status.value == "canceled"
    assert event.venue_status == "SomethingCancelledNew"


# -- ticker merge ----------------------------------------------------------------------------------

FIELDS = {
    "lastPrice": "last",
    "bid1Price": "bid",
    "bid1Size": "bid_size",
    "ask1Price": "ask",
    "ask1Size": "ask_size",
    "prevPrice24h": "open",
    "highPrice24h": "high",
    "lowPrice24h": "low",
    "volume24h": "volume",
    "turnover24h": "quote_volume",
    "markPrice": "mark_price",
    "indexPrice": "index_price",
    "fundingRate": "funding_rate",
    "openInterest": "open_interest",
}
decimal_text = st.decimals(
    min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False
).map(lambda d: format(d, "f"))
int_text = st.integers(0, 2**42).map(str)
ticker_update = st.builds(
    lambda decimals, ints: {**decimals, **ints},
    st.dictionaries(
        st.sampled_from([*FIELDS, "price24hPcnt", "openInterestValue"]), decimal_text, max_size=8
    ),
    st.dictionaries(
        st.sampled_from(["nextFundingTime", "fundingIntervalHour"]), int_text, max_size=2
    ),
)


def ticker_frame(kind: str, fields: dict[str, str], ts: int) -> str:
    return json.dumps(
        {
            "topic": "tickers.BTCUSDT",
            "type": kind,
            "data": {"symbol": "BTCUSDT", **fields},
            "cs": ts,
            "ts": ts,
        }
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["snapshot", "delta", "delta", "delta", "bad"]), ticker_update),
        min_size=1,
        max_size=25,
    )
)
def test_ticker_merge_matches_reference(steps) -> None:
    adapter = BybitAdapter()
    reference: dict[str, str] = {}
    for ts, (kind, fields) in enumerate(steps, start=1):
        if kind == "bad":
            # A corrupt delta is refused and leaves the merged state untouched.
            with pytest.raises(DecodeError):
                adapter.decode_public(ticker_frame("delta", {**fields, "lastPrice": "1.2.3"}, ts))
            continue
        reference = dict(fields) if kind == "snapshot" else {**reference, **fields}
        frame = adapter.decode_public(ticker_frame(kind, fields, ts))
        assert isinstance(frame, StreamData)
        ticker = frame.events[0]
        assert isinstance(ticker, Ticker)
        assert ticker.timestamp == ts
        for native, attr in FIELDS.items():
            expected = Decimal(reference[native]) if reference.get(native) else None
            assert getattr(ticker, attr) == expected, native
        expected_next = int(reference.get("nextFundingTime") or 0) or None
        assert ticker.next_funding_time == expected_next
        by_type = {type(e): e for e in frame.events[1:]}
        assert (MarkPrice in by_type) is bool(reference.get("markPrice"))
        assert (FundingRate in by_type) is bool(reference.get("fundingRate"))
        assert (OpenInterest in by_type) is bool(reference.get("openInterest"))
        if FundingRate in by_type:
            funding = by_type[FundingRate]
            assert isinstance(funding, FundingRate)
            assert funding.funding_time == expected_next
            assert funding.interval_hours == (
                int(reference.get("fundingIntervalHour") or 0) or None
            )
        if OpenInterest in by_type:
            oi = by_type[OpenInterest]
            assert isinstance(oi, OpenInterest)
            assert oi.value == (
                Decimal(reference["openInterestValue"])
                if reference.get("openInterestValue")
                else None
            )
        if reference.get("price24hPcnt"):
            assert ticker.percentage == Decimal(reference["price24hPcnt"]) * 100
        if reference.get("lastPrice") and reference.get("prevPrice24h"):
            assert ticker.change == Decimal(reference["lastPrice"]) - Decimal(
                reference["prevPrice24h"]
            )


# -- REST replies are total too ------------------------------------------------------------------

REST_CASES = [
    ("rest/tickers.json", lambda a: a.fetch_ticker("BTCUSD")),
    ("rest/orderbook.json", lambda a: a.fetch_order_book("BTCUSDT", 5)),
    ("rest/kline.json", lambda a: a.fetch_ohlcv("BTCUSDT", "1m", None, None, 5)),
    ("rest/recent_trade.json", lambda a: a.fetch_trades("BTCUSDT", None, 5)),
    ("rest/instruments_info.json", lambda a: a.load_markets()),
    ("rest/wallet_balance.json", lambda a: a.fetch_balance()),
    ("rest/position_list.json", lambda a: a.fetch_positions(None)),
    ("rest/order_realtime.json", lambda a: a.fetch_open_orders(None)),
    ("rest/execution_list.json", lambda a: a.fetch_my_trades(None, None, 5)),
    ("rest/funding_history.json", lambda a: a.fetch_funding_rate_history("BTCUSDT", None, 5)),
    ("rest/server_time.json", lambda a: a.server_time()),
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=st.sampled_from(REST_CASES), data=st.data())
def test_garbled_rest_replies_raise_only_taxonomy_errors(h, case, data: st.DataObject) -> None:
    from bat_markets.core import BatMarketsError, RestResponse, run_flow_sync

    name, make_flow = case
    doc = h.load_json(name)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        doc = _replace(doc, path, data.draw(json_values))
    body = json.dumps(doc).encode()
    status = data.draw(st.sampled_from([200, 200, 200, 403, 500]))
    reply = RestResponse(status=status, headers={}, body=body)
    failure: BatMarketsError | None = None
    try:
        run_flow_sync(make_flow(BybitAdapter(market_statuses=("",))), lambda request: reply)
    except BatMarketsError as err:  # anything else escapes and fails the test
        failure = err
    if failure is not None:
        assert type(failure).__module__ == "bat_markets.core._errors"
        assert failure.message
