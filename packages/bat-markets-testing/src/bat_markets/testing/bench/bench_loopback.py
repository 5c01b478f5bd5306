"""Loopback end to end: consumer CPU of ``watch_order_book`` and ``watch_trades``.

A minimal Binance USD-M replay server runs in a **separate process** (its CPU is not counted):
it answers ``SUBSCRIBE``, sends the first depth diff, waits for the client's REST snapshot
(``GET /fapi/v1/depth``), then replays every diff (``U/u/pu`` chained, ~10 levels per side) as
fast as the socket takes them. Three consumers read the same replay, one after the other, in this
process; each is timed with process CPU from "book synchronised" to "last diff applied":

* **ours**: ``BatMarkets.live("binance")`` pointed at the server, ``watch_order_book`` with the
  adapter's full sync checks (bridge, ``pu`` continuity, exact integer book), the consumer reading
  the best bid of every update it sees (``recv_view``; the book is conflated, never materialised
  per diff);
* **reference**: a minimal client in the same run: ``websockets`` + ``msgspec`` decode + a plain
  ``dict`` book, no sync checks;
* **ccxt**: ``ccxt.pro.binanceusdm`` with its REST and websocket URLs pointed at the server, a
  ``watch_order_book`` loop (only when ccxt is installed, as in ``nox -s bench``).

``watch_trades`` is measured the same way against the reference (``aggTrade`` frames).
Targets: ours within 1.5x of the reference per diff (and per trade), and at least 4x less CPU per
diff than ccxt. The harness's ``ratio_result`` times synchronous callables; these consumers are
async and their connection setup must stay out of the measurement, so each round returns its own
steady-state CPU figure and the best round of each side builds the ``Result``.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ._harness import Result

__all__ = ["run"]

SYMBOL = "BTCUSDT"
SNAPSHOT_ID = 1_000
TICK_BASE = 650_000  # 65000.0 in 0.1 ticks


# -- replay data (built identically in the server process) -----------------------------------


def _price(ticks: int) -> str:
    return f"{ticks // 10}.{ticks % 10}"


def _snapshot() -> dict[str, Any]:
    rng = random.Random(1)
    bids = [[_price(TICK_BASE - i), f"{rng.randint(1, 5000) / 1000:.3f}"] for i in range(1000)]
    asks = [[_price(TICK_BASE + 1 + i), f"{rng.randint(1, 5000) / 1000:.3f}"] for i in range(1000)]
    return {"lastUpdateId": SNAPSHOT_ID, "E": 1, "T": 1, "bids": bids, "asks": asks}


def _diff_frames(n: int, stream: str, combined: bool) -> tuple[list[str], int]:
    """``n`` depth diffs (Binance ``depthUpdate``), as sent on ``stream``; returns the last ``u``."""
    rng = random.Random(2)
    frames = []
    prev_u = SNAPSHOT_ID - 3
    first_u = SNAPSHOT_ID - 2
    for i in range(n):
        first = first_u if i == 0 else prev_u + 1
        last = first + 4 if i else SNAPSHOT_ID + 3
        bids = [
            [
                _price(TICK_BASE - rng.randint(0, 99)),
                "0" if rng.random() < 0.1 else f"{rng.randint(1, 5000) / 1000:.3f}",
            ]
            for _ in range(rng.randint(5, 15))
        ]
        asks = [
            [
                _price(TICK_BASE + 1 + rng.randint(0, 99)),
                "0" if rng.random() < 0.1 else f"{rng.randint(1, 5000) / 1000:.3f}",
            ]
            for _ in range(rng.randint(5, 15))
        ]
        data = {
            "e": "depthUpdate",
            "E": 1_700_000_000_000 + i,
            "T": 1_700_000_000_000 + i,
            "s": SYMBOL,
            "U": first,
            "u": last,
            "pu": prev_u,
            "b": bids,
            "a": asks,
        }
        prev_u = last
        frames.append(json.dumps({"stream": stream, "data": data} if combined else data))
    return frames, prev_u


def _trade_frames(n: int, stream: str, combined: bool) -> list[str]:
    rng = random.Random(3)
    frames = []
    for i in range(n):
        data = {
            "e": "aggTrade",
            "E": 1_700_000_000_000 + i,
            "a": 1_000_000 + i,
            "s": SYMBOL,
            "p": _price(TICK_BASE + rng.randint(-50, 50)),
            "q": f"{rng.randint(1, 2000) / 1000:.3f}",
            "nq": "0.001",
            "f": 2_000_000 + i,
            "l": 2_000_000 + i,
            "T": 1_700_000_000_000 + i,
            "m": rng.random() < 0.5,
        }
        frames.append(json.dumps({"stream": stream, "data": data} if combined else data))
    return frames


def _exchange_info() -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            }
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [
            {
                "symbol": SYMBOL,
                "pair": SYMBOL,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404802000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAsset": "BTC",
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": 2,
                "quantityPrecision": 3,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "underlyingSubType": [],
                "settlePlan": 0,
                "triggerProtect": "0.0500",
                "liquidationFee": "0.012000",
                "marketTakeBound": "0.30",
                "filters": [
                    {
                        "minPrice": "0.10",
                        "maxPrice": "1000000",
                        "filterType": "PRICE_FILTER",
                        "tickSize": "0.10",
                    },
                    {
                        "stepSize": "0.001",
                        "filterType": "LOT_SIZE",
                        "maxQty": "1000",
                        "minQty": "0.001",
                    },
                    {
                        "stepSize": "0.001",
                        "filterType": "MARKET_LOT_SIZE",
                        "maxQty": "1000",
                        "minQty": "0.001",
                    },
                    {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
                    {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
                    {"notional": "100", "filterType": "MIN_NOTIONAL"},
                    {
                        "multiplierDown": "0.9500",
                        "multiplierUp": "1.0500",
                        "multiplierDecimal": "4",
                        "filterType": "PERCENT_PRICE",
                    },
                ],
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        ],
    }


# -- the replay server (separate process) ------------------------------------------------------


async def _serve(n_diffs: int, n_trades: int) -> None:
    snapshot = json.dumps(_snapshot()).encode()
    info = json.dumps(_exchange_info()).encode()
    cache: dict[tuple[str, bool], list[str]] = {}
    depth_requests = 0
    depth_event = asyncio.Event()

    def frames(kind: str, stream: str, combined: bool) -> list[str]:
        key = (stream, combined)
        if key not in cache:
            if kind == "depth":
                cache[key] = _diff_frames(n_diffs, stream, combined)[0]
            else:
                cache[key] = _trade_frames(n_trades, stream, combined)
        return cache[key]

    def respond(status: int, body: bytes) -> Response:
        headers = Headers(
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ]
        )
        return Response(status, "OK" if status == 200 else "Not Found", headers, body)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        nonlocal depth_requests
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = request.path.partition("?")[0]
        if path == "/fapi/v1/depth":
            depth_requests += 1
            depth_event.set()
            return respond(200, snapshot)
        if path == "/fapi/v1/time":
            return respond(200, json.dumps({"serverTime": int(time.time() * 1000)}).encode())
        if path == "/fapi/v1/exchangeInfo":
            return respond(200, info)
        if path == "/fapi/v1/ping":
            return respond(200, b"{}")
        return respond(404, b'{"code":-1,"msg":"not served by the replay server"}')

    async def replay(ws: ServerConnection, stream: str, combined: bool, flood: bool) -> None:
        kind = "depth" if "@depth" in stream else "trades"
        data = frames(kind, stream, combined)
        if kind == "depth":
            seen = depth_requests
            await ws.send(data[0])
            if not flood:  # the client syncs on a REST snapshot first
                while depth_requests == seen:
                    depth_event.clear()
                    try:
                        await asyncio.wait_for(depth_event.wait(), 10)
                    except asyncio.TimeoutError:
                        return
            data = data[1:]
        for frame in data:
            await ws.send(frame)

    async def handler(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        combined = "/stream" in path
        flood = "flood" in path
        tasks = []
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("method") == "SUBSCRIBE":
                    await ws.send(json.dumps({"result": None, "id": msg.get("id")}))
                    for stream in msg.get("params", []):
                        tasks.append(asyncio.ensure_future(replay(ws, stream, combined, flood)))
                elif "id" in msg:
                    await ws.send(json.dumps({"result": None, "id": msg.get("id")}))
        except Exception:
            pass
        finally:
            for task in tasks:
                task.cancel()

    async with serve(
        handler,
        "127.0.0.1",
        0,
        process_request=process_request,
        compression=None,
        max_size=None,
        ping_interval=None,
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


def _server_main() -> None:
    """Entry point of the server process: ``<n_diffs> <n_trades>`` on argv; prints the port."""
    asyncio.run(_serve(int(sys.argv[1]), int(sys.argv[2])))


# -- consumers (this process) --------------------------------------------------------------------


class _Depth(msgspec.Struct):
    u: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class _Combined(msgspec.Struct):
    data: _Depth


class _AggTrade(msgspec.Struct):
    a: int
    p: str
    q: str
    m: bool


_ZERO = frozenset({"", "."})


async def _reference_book(port: int, last_u: int) -> float:
    """websockets + msgspec + dict book; returns CPU seconds from the first diff to the last."""
    decode = msgspec.json.Decoder(_Depth).decode
    bids: dict[str, str] = {}
    asks: dict[str, str] = {}
    async with connect(
        f"ws://127.0.0.1:{port}/public/ws/flood", compression=None, max_size=None
    ) as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}')
        await ws.recv()  # ack
        start = 0.0
        while True:
            msg = decode(await ws.recv(decode=False))
            if not start:
                start = time.process_time()
            for price, amount in msg.b:
                if amount.strip("0") in _ZERO:
                    bids.pop(price, None)
                else:
                    bids[price] = amount
            for price, amount in msg.a:
                if amount.strip("0") in _ZERO:
                    asks.pop(price, None)
                else:
                    asks[price] = amount
            if msg.u == last_u:
                return time.process_time() - start


async def _ours_book(port: int, last_u: int) -> float:
    from bat_markets.client import BatMarkets, ClientOptions
    from bat_markets.core import Endpoints

    endpoints = Endpoints(
        rest=f"http://127.0.0.1:{port}",
        public_ws=f"ws://127.0.0.1:{port}",
        private_ws=f"ws://127.0.0.1:{port}",
        extra={"public": "/public/stream", "market": "/market/stream"},
    )
    options = ClientOptions(
        sync_clock_on_start=False, load_markets_on_start=False, clock_refresh_s=0
    )
    async with (
        BatMarkets.live("binance", endpoints=endpoints, options=options) as bm,
        bm.watch_order_book(SYMBOL) as sub,
    ):
        view = await sub.recv_view()
        start = time.process_time()
        while view.update_id != last_u:
            view = await sub.recv_view()
            view.best_bid  # noqa: B018 - what a consumer reads
        return time.process_time() - start


async def _ccxt_book(port: int, last_u: int) -> float:
    import ccxt.pro as ccxtpro  # only in the bench session

    ex = ccxtpro.binanceusdm(
        {
            "urls": {
                "api": {
                    "ws": {"linear": f"ws://127.0.0.1:{port}/ws"},
                    "fapiPublic": f"http://127.0.0.1:{port}/fapi/v1",
                    "fapiPublicV2": f"http://127.0.0.1:{port}/fapi/v2",
                    "fapiPublicV3": f"http://127.0.0.1:{port}/fapi/v3",
                    "fapiData": f"http://127.0.0.1:{port}/futures/data",
                }
            },
            "options": {"fetchMarkets": {"types": ["linear"]}, "watchOrderBookLimit": 1000},
        }
    )
    try:
        await ex.load_markets()
        book = await ex.watch_order_book("BTC/USDT:USDT")
        start = time.process_time()
        while book["nonce"] != last_u:
            book = await ex.watch_order_book("BTC/USDT:USDT")
            book["bids"][0]
        return time.process_time() - start
    finally:
        await ex.close()


async def _reference_trades(port: int, n: int) -> float:
    decode = msgspec.json.Decoder(_AggTrade).decode
    async with connect(
        f"ws://127.0.0.1:{port}/market/ws/flood", compression=None, max_size=None
    ) as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}')
        await ws.recv()
        start = 0.0
        for _ in range(n):
            trade = decode(await ws.recv(decode=False))
            if not start:
                start = time.process_time()
        assert trade.a == 1_000_000 + n - 1
        return time.process_time() - start


async def _ours_trades(port: int, n: int) -> float:
    from bat_markets.client import BatMarkets, ClientOptions
    from bat_markets.core import Endpoints

    endpoints = Endpoints(
        rest=f"http://127.0.0.1:{port}",
        public_ws=f"ws://127.0.0.1:{port}",
        private_ws=f"ws://127.0.0.1:{port}",
        extra={"public": "/public/stream", "market": "/market/stream"},
    )
    options = ClientOptions(
        sync_clock_on_start=False, load_markets_on_start=False, clock_refresh_s=0, event_buffer=n
    )
    async with (
        BatMarkets.live("binance", endpoints=endpoints, options=options) as bm,
        bm.watch_trades(SYMBOL) as sub,
    ):
        trade = await sub.recv()
        start = time.process_time()
        for _ in range(n - 1):
            trade = await sub.recv()
        assert trade.id == str(1_000_000 + n - 1)
        return time.process_time() - start


def _breakdown(n: int) -> str:
    """Where a diff's CPU goes, measured in-process on the same frames (no sockets)."""
    from bat_markets.core import BookSnapshotEvent, StreamData, SyncStatus, load_venue

    frames = [f.encode() for f in _diff_frames(n, "btcusdt@depth@100ms", True)[0]]
    adapter = load_venue("binance")
    spec = adapter.markets.resolve(SYMBOL)
    snap = _snapshot()
    sync = adapter.book_sync(spec, None)
    decode = adapter.decode_public
    first = decode(frames[0])
    assert isinstance(first, StreamData)
    for event in first.events:
        sync.on_event(event)  # type: ignore[arg-type]
    status = sync.on_event(
        BookSnapshotEvent(
            symbol=spec.symbol,
            bids=[(p, q) for p, q in snap["bids"]],
            asks=[(p, q) for p, q in snap["asks"]],
            update_id=snap["lastUpdateId"],
            source="rest",
        )
    )
    assert status is SyncStatus.APPLIED
    start = time.process_time()
    for frame in frames[1:]:
        decode(frame)
    t_decode = time.process_time() - start
    start = time.process_time()
    for frame in frames[1:]:
        for event in decode(frame).events:  # type: ignore[union-attr]
            sync.on_event(event)  # type: ignore[arg-type]
    t_sync = time.process_time() - start - t_decode
    dec = msgspec.json.Decoder(_Combined).decode
    bids: dict[str, str] = {}
    start = time.process_time()
    for frame in frames[1:]:
        msg = dec(frame).data
        for price, amount in msg.b + msg.a:
            if amount.strip("0") in _ZERO:
                bids.pop(price, None)
            else:
                bids[price] = amount
    t_ref = time.process_time() - start
    per = 1e6 / (n - 1)
    return (
        f"per diff, in-process: adapter decode {t_decode * per:.1f} us, book sync + "
        f"OrderBook.apply_delta {t_sync * per:.1f} us; reference decode + dict "
        f"{t_ref * per:.1f} us (the rest of each end-to-end figure is the websocket transport "
        "and, for ours, the runtime's dispatch)"
    )


def _ccxt_available() -> str | None:
    try:
        import ccxt.pro  # noqa: F401
    except Exception as exc:  # not installed outside the bench session
        return f"{type(exc).__name__}: {exc}"
    return None


def _best(fn: Callable[[], Coroutine[Any, Any, float]], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        best = min(best, asyncio.run(fn()))
    return best


def run(quick: bool) -> list[Result]:
    """Start the replay server, time every consumer, return the ratio lines."""
    n_diffs = 5_000 if quick else 20_000
    n_trades = 10_000 if quick else 50_000
    rounds = 2 if quick else 3
    last_u = SNAPSHOT_ID + 3 + 5 * (n_diffs - 1)  # the end of the diffs' u chain
    code = f"from {__name__} import _server_main; _server_main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(n_diffs), str(n_trades)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        results: dict[str, float] = {}
        sides: dict[str, Callable[[], Coroutine[Any, Any, float]]] = {
            "ours": lambda: _ours_book(port, last_u),
            "reference": lambda: _reference_book(port, last_u),
            "ours_trades": lambda: _ours_trades(port, n_trades),
            "reference_trades": lambda: _reference_trades(port, n_trades),
        }
        ccxt_error = _ccxt_available()
        if ccxt_error is None:
            sides["ccxt"] = lambda: _ccxt_book(port, last_u)
        for _ in range(rounds):  # interleaved rounds: machine noise hits every side alike
            for name, fn in sides.items():
                results[name] = min(results.get(name, float("inf")), _best(fn, 1))
    finally:
        server.terminate()
        server.wait(10)
    print(f"  note: {_breakdown(min(n_diffs, 10_000))}")
    per = 10_000 / n_diffs  # seconds per 10k diffs
    out = [
        Result(
            "watch_order_book consumer CPU (full sync checks) vs minimal dict-book client",
            results["ours"] * per,
            results["reference"] * per,
            "websockets+msgspec+dict book, no sync checks",
            1 / 1.5,
            unit="10k diffs",
        ),
        Result(
            "watch_trades consumer CPU vs minimal client",
            results["ours_trades"] / n_trades,
            results["reference_trades"] / n_trades,
            "websockets+msgspec decode",
            1 / 1.5,
            unit="trade",
        ),
    ]
    if "ccxt" in results:
        out.append(
            Result(
                "watch_order_book consumer CPU vs CCXT Pro binanceusdm watch_order_book",
                results["ours"] * per,
                results["ccxt"] * per,
                "ccxt.pro.binanceusdm",
                4.0,
                unit="10k diffs",
            )
        )
    else:
        print(f"  (ccxt comparison skipped: ccxt.pro is not importable: {ccxt_error})")
    return out
