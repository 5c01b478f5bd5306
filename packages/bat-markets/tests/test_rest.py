"""Live start (clock, markets), public fetches, the REST executor's retries, bans and clock rejections."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest
from bm_client_fake import CLOCK_CODE, FakeAdapter, FakeRest, MakeClient, fast_options

from bat_markets.client import BatMarkets
from bat_markets.core import (
    ConfigError,
    RateLimited,
    RateLimitRule,
    RestFlow,
    RestRequest,
    TemporaryUnavailable,
    TransportError,
    Unsupported,
)


async def test_live_start_measures_clock_offset_and_loads_markets(
    make_client: MakeClient, rest: FakeRest
) -> None:
    rest.server_offset_ms = 5000
    rest.instruments = ["BTCUSDT", "ETHUSDT", "LINKUSDT"]
    bm = await make_client()
    offset = bm.status().clock_offset_ms
    assert offset is not None
    assert abs(offset - 5000) < 250
    assert abs(bm._runtime.clock.now_ms() - (time.time() * 1000 + 5000)) < 250  # type: ignore[union-attr]
    assert [s.id for s in bm.markets()] == ["BTCUSDT", "ETHUSDT", "LINKUSDT"]
    diag = bm.advanced().diagnostics()
    assert diag.clock.synced
    assert diag.clock.syncs == 1
    assert rest.count("/time") == 1
    assert rest.count("/instruments") == 1


async def test_request_timestamps_are_clock_corrected(
    make_client: MakeClient, rest: FakeRest
) -> None:
    rest.server_offset_ms = -60_000
    bm = await make_client()
    await bm.fetch_ticker("BTCUSDT")
    ts = int(rest.requests[-1].url.params["ts"])
    assert abs(ts - (time.time() * 1000 - 60_000)) < 500


async def test_fetch_ticker_accepts_unified_and_native_symbols(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    a = await bm.fetch_ticker("BTC/USDT:USDT")
    b = await bm.fetch_ticker("btcusdt")
    assert a.symbol == b.symbol == "BTC/USDT:USDT"
    assert a.last == Decimal("100.5")
    assert [r.url.params["symbol"] for r in rest.requests if r.url.path == "/ticker"] == [
        "BTCUSDT",
        "BTCUSDT",
    ]


async def test_bad_input_fails_before_any_request(make_client: MakeClient, rest: FakeRest) -> None:
    bm = await make_client()
    before = len(rest.requests)
    with pytest.raises(ConfigError, match="unknown symbol"):
        await bm.fetch_ticker("NOPEUSDT")
    with pytest.raises(ConfigError, match="limit"):
        await bm.fetch_trades("BTCUSDT", limit=0)
    with pytest.raises(ConfigError, match="limit"):
        await bm.fetch_order_book("BTCUSDT", limit=-7)
    with pytest.raises(ConfigError, match="interval"):
        await bm.fetch_ohlcv("BTCUSDT", "7m")
    with pytest.raises(ConfigError, match="since"):
        await bm.fetch_trades("BTCUSDT", since=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="empty"):
        await bm.fetch_tickers([])
    with pytest.raises(Unsupported, match="fetch_mark_price"):
        await bm.fetch_mark_price("BTCUSDT")
    assert len(rest.requests) == before


async def test_fetch_order_book_returns_sorted_decimal_levels(
    make_client: MakeClient, rest: FakeRest
) -> None:
    rest.book = {
        "lastUpdateId": 42,
        "bids": [["99.5", "2"], ["100.0", "1"]],
        "asks": [["101.5", "3"], ["101.0", "1"]],
    }
    bm = await make_client()
    book = await bm.fetch_order_book("BTCUSDT", limit=5)
    assert [b.price for b in book.bids] == [Decimal("100.0"), Decimal("99.5")]
    assert [a.price for a in book.asks] == [Decimal("101.0"), Decimal("101.5")]
    assert book.sequence == 42


async def test_idempotent_reads_are_retried_on_5xx(make_client: MakeClient, rest: FakeRest) -> None:
    bm = await make_client()
    rest.script["/ticker"].extend([httpx.Response(503), httpx.Response(502)])
    t = await bm.fetch_ticker("BTCUSDT")
    assert t.last == Decimal("100.5")
    assert rest.count("/ticker") == 3
    assert bm.advanced().diagnostics().rest.retries == 2


async def test_retries_are_bounded_then_the_error_surfaces(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    rest.script["/ticker"].extend([httpx.Response(503)] * 5)
    with pytest.raises(TemporaryUnavailable):
        await bm.fetch_ticker("BTCUSDT")
    assert rest.count("/ticker") == 3  # 1 + rest_retries (2)


async def test_transport_errors_are_retried_then_raised_as_transport_error(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    events = bm.watch_status()
    rest.script["/ticker"].extend([httpx.ConnectError("refused")] * 3)
    with pytest.raises(TransportError, match="refused"):
        await bm.fetch_ticker("BTCUSDT")
    assert rest.count("/ticker") == 3
    status = bm.status()  # three failed attempts in a row
    assert status.rest.health.value == "disconnected"
    assert "refused" in (status.rest.detail or "")
    await bm.fetch_ticker("BTCUSDT")
    assert bm.status().rest.health.value == "healthy"
    seen = []
    while len(events._sink):
        e = await events.recv()
        seen.append((e.kind, e.health.value))
    # One event per health change, not one per failed attempt.
    assert [h for k, h in seen if k == "health"] == ["degraded", "disconnected", "healthy"]
    await events.shutdown()


def _write_flow(sent: list[int]) -> RestFlow[int]:
    response = yield RestRequest(method="POST", path="/ticker", idempotent=False)
    sent.append(response.status)
    return response.status


async def test_non_idempotent_requests_are_never_resent(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    rt = bm._runtime
    assert rt is not None
    rest.script["/ticker"].append(httpx.Response(503))
    sent: list[int] = []
    status = await rt.rest.run(_write_flow(sent))
    assert status == 503
    assert sent == [503]
    rest.script["/ticker"].append(httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError):
        await rt.rest.run(_write_flow(sent))
    assert rest.count("/ticker") == 2


async def test_rate_limit_ban_stops_all_requests_until_it_ends(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    rest.script["/ticker"].append(
        httpx.Response(429, json={"code": -1003}, headers={"retry-after": "30"})
    )
    with pytest.raises(RateLimited) as first:
        await bm.fetch_ticker("BTCUSDT")
    assert first.value.retry_after == 30
    sent = len(rest.requests)
    with pytest.raises(RateLimited) as second:
        await bm.fetch_ticker("ETHUSDT")
    with pytest.raises(RateLimited):
        await bm.fetch_order_book("BTCUSDT")
    assert len(rest.requests) == sent  # nothing left during the ban
    assert second.value.retry_after is not None
    assert 29 < second.value.retry_after <= 30
    status = bm.status()
    assert status.rate_limited_for_s is not None
    assert status.rest.health.value == "degraded"
    assert bm.advanced().diagnostics().rest.refused == 2


async def test_418_without_retry_after_bans_for_the_default_ip_ban(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    rest.script["/ticker"].append(httpx.Response(418, json={"code": -1003}))
    with pytest.raises(RateLimited):
        await bm.fetch_ticker("BTCUSDT")
    remaining = bm.status().rate_limited_for_s
    assert remaining is not None
    assert remaining > 100


async def test_clock_rejection_resyncs_the_clock_and_retries_once(
    make_client: MakeClient, rest: FakeRest
) -> None:
    bm = await make_client()
    assert rest.count("/time") == 1
    rest.server_offset_ms = 2000
    rest.script["/ticker"].append(
        httpx.Response(400, json={"code": CLOCK_CODE, "msg": "Timestamp outside recvWindow"})
    )
    t = await bm.fetch_ticker("BTCUSDT")
    assert t.last == Decimal("100.5")
    assert rest.count("/time") == 2
    offset = bm.status().clock_offset_ms
    assert offset is not None
    assert abs(offset - 2000) < 250


async def test_limiter_is_fed_by_usage_headers(rest: FakeRest, make_client: MakeClient) -> None:
    adapter = FakeAdapter(rules=[RateLimitRule(key="weight", limit=10, window_s=60.0)])
    bm = await make_client(adapter, max_throttle_wait_s=0.05)
    await bm.fetch_ticker("BTCUSDT")  # response header: used weight 3
    usage = {u.key: u for u in bm.advanced().diagnostics().rest.rate_limits}
    assert usage["weight"].used >= 3
    rest.script["/ticker"].append(
        httpx.Response(200, json={"T": 1, "last": "1"}, headers={"x-used-weight": "9"})
    )
    await bm.fetch_ticker("BTCUSDT")
    sent = len(rest.requests)
    # 9 used of a budget of 9 (10 * 0.9): the next request would exceed it: refused, not sent.
    with pytest.raises(RateLimited, match="local rate limiter"):
        await bm.fetch_ticker("BTCUSDT")
    assert len(rest.requests) == sent


async def test_usage_headers_are_keyed_by_the_request_endpoint(
    rest: FakeRest, make_client: MakeClient
) -> None:
    bm = await make_client(FakeAdapter())
    rest.script["/ticker"].append(
        httpx.Response(200, json={"T": 1, "last": "1"}, headers={"x-endpoint-used": "7"})
    )
    await bm.fetch_ticker("BTCUSDT")
    usage = {u.key: u for u in bm.advanced().diagnostics().rest.rate_limits}
    assert usage["GET /ticker"].used == 7


async def test_close_releases_the_runtime_and_further_calls_fail(
    make_client: MakeClient,
) -> None:
    bm = await make_client()
    await bm.close()
    await bm.close()  # idempotent
    with pytest.raises(ConfigError, match="closed"):
        await bm.fetch_ticker("BTCUSDT")
    assert bm.status().health.value == "closed"


async def test_live_is_an_async_context_manager(ws_server: object, rest: FakeRest) -> None:
    from bat_markets.core import Endpoints

    eps = Endpoints(rest="http://fake.test", public_ws="ws://127.0.0.1:1", private_ws="")
    async with BatMarkets.live(FakeAdapter(), endpoints=eps, options=fast_options(rest)) as bm:
        assert (await bm.fetch_ticker("BTCUSDT")).last == Decimal("100.5")
        rt = bm._runtime
    assert rt is not None
    assert rt.closed


async def test_failed_start_cleans_up_and_raises(rest: FakeRest) -> None:
    from bat_markets.core import Endpoints

    rest.script["/time"].extend([httpx.ConnectError("down")] * 3)
    eps = Endpoints(rest="http://fake.test", public_ws="ws://127.0.0.1:1", private_ws="")
    connect = BatMarkets.live(FakeAdapter(), endpoints=eps, options=fast_options(rest))
    with pytest.raises(TransportError):
        await connect
    assert connect._client._runtime is not None
    assert connect._client._runtime.closed
