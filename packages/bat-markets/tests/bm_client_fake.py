"""A small fake venue for the runtime's unit tests: a sans-I/O adapter plus loopback servers.

Wire protocol (JSON):
* subscribe   ``{"op":"subscribe","id":N,"args":[topics]}`` -> ``{"op":"ack","id":N,"ok":true}``
* unsubscribe ``{"op":"unsubscribe","id":N,"args":[topics]}`` -> ack
* ping        ``{"op":"ping"}`` -> ``{"op":"pong"}`` (the app-level heartbeat)
* data        ``{"topic":"trade.BTCUSDT","data":...}``

Topics: ``ticker.S``, ``trade.S``, ``book.S`` (deltas with U/u/pu, REST snapshot sync),
``book50.S`` (WS snapshot + deltas with consecutive u, resubscribe sync), ``kline.I.S``,
``liq.S``. Mark price and funding live inside ``ticker.S`` (derived by the runtime).

REST (``httpx.MockTransport``): ``/time``, ``/instruments``, ``/ticker``, ``/depth``, ``/oi``,
``/trades``; ``FakeRest.script`` queues canned responses per path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import httpx
import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve

from bat_markets.client import BatMarkets, ClientOptions
from bat_markets.core import (
    OHLCV,
    AdapterBase,
    BatMarketsError,
    BookDeltaEvent,
    BookSnapshotEvent,
    Capabilities,
    Channel,
    Control,
    Credentials,
    DecodeError,
    Endpoints,
    Environment,
    ExchangeReject,
    Heartbeat,
    HttpRequest,
    InstrumentSpec,
    Liquidation,
    OpenInterest,
    OrderBook,
    PublicEvent,
    PublicFrame,
    RateLimited,
    RateLimitRule,
    RateLimitUsage,
    RestFlow,
    RestRequest,
    RestResponse,
    Side,
    StreamData,
    SyncStatus,
    TemporaryUnavailable,
    Ticker,
    Topic,
    Trade,
    Unsupported,
)

CLOCK_CODE = 1021


def spec(native: str, tick: str = "0.1", step: str = "0.001") -> InstrumentSpec:
    base = native.removesuffix("USDT")
    return InstrumentSpec(
        venue="fake",
        symbol=f"{base}/USDT:USDT",
        id=native,
        base=base,
        quote="USDT",
        settle="USDT",
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_qty=Decimal(step),
    )


SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT"]


class FakeBookSync:
    """Binance-like (``rest_snapshot``) or Bybit-like (``resubscribe``) sync, simplified."""

    def __init__(
        self, s: InstrumentSpec, depth: int | None, mode: Literal["rest_snapshot", "resubscribe"]
    ) -> None:
        self.book = OrderBook(s.symbol, s.tick_size, s.step_size)
        self.resync: Literal["rest_snapshot", "resubscribe"] = mode
        self.snapshot_limit = 1000 if mode == "rest_snapshot" else None
        self._synced = False
        self._buffer: list[BookDeltaEvent] = []
        self._pending: BookSnapshotEvent | None = None
        self._asked = False
        self.last_id = 0

    @property
    def synced(self) -> bool:
        return self._synced

    def reset(self) -> None:
        self.book.clear()
        self._synced = False
        self._buffer.clear()
        self._pending = None
        self._asked = False
        self.last_id = 0

    def _apply(self, d: BookDeltaEvent) -> None:
        self.book.apply_delta(d.bids, d.asks, update_id=d.last_id, timestamp=d.timestamp)
        self.last_id = d.last_id

    def on_event(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        if self.resync == "resubscribe":
            return self._on_ws(event)
        if isinstance(event, BookSnapshotEvent):
            self._pending = event
            return self._bridge()
        if self._synced:
            if event.prev_id != self.last_id:
                self.reset()
                return SyncStatus.GAP
            self._apply(event)
            return SyncStatus.APPLIED
        self._buffer.append(event)
        if self._pending is not None:
            return self._bridge()
        if not self._asked:
            self._asked = True
            return SyncStatus.NEED_SNAPSHOT
        return SyncStatus.BUFFERED

    def _bridge(self) -> SyncStatus:
        snap = self._pending
        assert snap is not None
        assert snap.update_id is not None
        last = snap.update_id
        self._buffer = [d for d in self._buffer if d.last_id >= last]
        if not self._buffer:
            return SyncStatus.BUFFERED
        first = self._buffer[0]
        if first.first_id is not None and first.first_id > last:
            self._pending = None
            self._asked = True
            return SyncStatus.NEED_SNAPSHOT
        self.book.apply_snapshot(snap.bids, snap.asks, update_id=last, timestamp=snap.timestamp)
        self.last_id = last
        for i, d in enumerate(self._buffer):
            if i and d.prev_id != self.last_id:
                self.reset()
                return SyncStatus.GAP
            self._apply(d)
        self._buffer.clear()
        self._pending = None
        self._synced = True
        return SyncStatus.APPLIED

    def _on_ws(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        if isinstance(event, BookSnapshotEvent):
            self.book.apply_snapshot(event.bids, event.asks, update_id=event.update_id)
            self.last_id = event.update_id or 0
            self._synced = True
            return SyncStatus.APPLIED
        if not self._synced:
            return SyncStatus.IGNORED
        if event.last_id != self.last_id + 1:
            self.reset()
            return SyncStatus.GAP
        self._apply(event)
        return SyncStatus.APPLIED


class _Frame(msgspec.Struct):
    topic: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")
    op: str | None = None
    id: int | None = None
    ok: bool = True
    msg: str | None = None


_DEC = msgspec.json.Decoder(_Frame)
_ENC = msgspec.json.Encoder()


class FakeAdapter(AdapterBase):
    """The fake venue's adapter. Knobs: ``max_topics``, ``heartbeat_``, ``oi_push``."""

    id = "fake"
    name = "Fake"

    def __init__(
        self,
        *,
        max_topics: int = 200,
        heartbeat: Heartbeat | None = None,
        oi_push: bool = False,
        rules: Sequence[RateLimitRule] = (),
    ) -> None:
        self.max_topics = max_topics
        self.heartbeat_ = heartbeat or Heartbeat(
            interval_s=5.0, frame=b'{"op":"ping"}', idle_timeout_s=10.0
        )
        self.rate_limit_rules = tuple(rules)
        methods = {
            "markets",
            "load_markets",
            "fetch_ticker",
            "fetch_tickers",
            "fetch_order_book",
            "fetch_trades",
            "fetch_open_interest",
            "fetch_ohlcv",
            "watch_ticker",
            "watch_tickers",
            "watch_trades",
            "watch_trades_for_symbols",
            "watch_order_book",
            "watch_ohlcv",
            "watch_ohlcv_for_symbols",
            "watch_mark_price",
            "watch_funding_rate",
            "watch_open_interest",
            "watch_liquidations",
        }
        self.capabilities = Capabilities(
            methods=frozenset(methods),
            ws_commands=frozenset(),
            max_batch_create=1,
            max_batch_edit=1,
            max_batch_cancel=1,
            ohlcv_intervals=("1m", "5m"),
            order_book_depths=(5, 100, 1000),
            watch_book_depths=(0, 50),
            liquidations_complete=True,
            open_interest_push=oi_push,
            position_mode_scope="account",
            margin_mode_scope="account",
        )
        super().__init__()

    def bundled_instruments(self) -> list[InstrumentSpec]:
        return [spec(s) for s in SYMBOLS]

    def endpoints(self, environment: Environment) -> Endpoints:
        return Endpoints(rest="http://fake.invalid", public_ws="ws://127.0.0.1:1", private_ws="")

    # -- REST
    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest:
        params = [*list(request.params), ("ts", str(timestamp_ms))]
        query = "&".join(f"{k}={v}" for k, v in params)
        return HttpRequest(
            method=request.method,
            target=f"{request.path}?{query}",
            headers={},
            weight=request.weight,
            idempotent=request.idempotent,
        )

    def classify_http_error(self, response: RestResponse) -> BatMarketsError | None:
        if response.status < 400:
            return None
        body: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            body = json.loads(response.body or b"{}")
        code = body.get("code")
        if response.status in (418, 429):
            ra = response.headers.get("retry-after")
            return RateLimited(
                "fake rate limit",
                venue="fake",
                code=code,
                retry_after=float(ra) if ra else None,
                http_status=response.status,
            )
        if response.status >= 500:
            return TemporaryUnavailable("fake unavailable", venue="fake", code=code)
        return ExchangeReject(body.get("msg", "rejected"), venue="fake", code=code)

    def parse_rate_limits(
        self, headers: Mapping[str, str], endpoint: str | None = None
    ) -> list[RateLimitUsage]:
        usage = []
        used = headers.get("x-used-weight")
        if used is not None:
            usage.append(RateLimitUsage(key="weight", used=int(used)))
        per_endpoint = headers.get("x-endpoint-used")  # Bybit-style: usage of this endpoint
        if per_endpoint is not None and endpoint is not None:
            usage.append(RateLimitUsage(key=endpoint, used=int(per_endpoint), limit=50))
        return usage

    def is_clock_error(self, error: BatMarketsError) -> bool:
        return error.code == CLOCK_CODE

    def _check(self, response: RestResponse) -> Any:
        error = self.classify_http_error(response)
        if error is not None:
            raise error
        return json.loads(response.body)

    def server_time(self) -> RestFlow[int]:
        r = yield RestRequest(method="GET", path="/time")
        return int(self._check(r)["serverTime"])

    def load_markets(self) -> RestFlow[list[InstrumentSpec]]:
        r = yield RestRequest(method="GET", path="/instruments")
        return [spec(s) for s in self._check(r)]

    def fetch_ticker(self, symbol: str) -> RestFlow[Ticker]:
        r = yield RestRequest(method="GET", path="/ticker", params=[("symbol", symbol)])
        body = self._check(r)
        return Ticker(
            symbol=self.markets.unified(symbol), timestamp=body["T"], last=Decimal(body["last"])
        )

    def fetch_tickers(self, symbols: Sequence[str] | None) -> RestFlow[list[Ticker]]:
        out = []
        for s in symbols or [x.id for x in self.markets]:
            out.append((yield from self.fetch_ticker(s)))
        return out

    def fetch_order_book(self, symbol: str, limit: int | None) -> RestFlow[BookSnapshotEvent]:
        r = yield RestRequest(
            method="GET",
            path="/depth",
            params=[("symbol", symbol), ("limit", str(limit))],
            weight=20,
        )
        body = self._check(r)
        return BookSnapshotEvent(
            symbol=self.markets.unified(symbol),
            bids=[tuple(x) for x in body["bids"]],
            asks=[tuple(x) for x in body["asks"]],
            update_id=body["lastUpdateId"],
            source="rest",
        )

    def fetch_open_interest(self, symbol: str) -> RestFlow[OpenInterest]:
        r = yield RestRequest(method="GET", path="/oi", params=[("symbol", symbol)])
        body = self._check(r)
        return OpenInterest(
            symbol=self.markets.unified(symbol), timestamp=body["T"], amount=Decimal(body["oi"])
        )

    def fetch_trades(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Trade]]:
        r = yield RestRequest(method="GET", path="/trades", params=[("symbol", symbol)])
        return [self._trade(symbol, t) for t in self._check(r)]

    # -- websocket
    def public_topics(
        self,
        channel: Channel,
        symbol: str,
        *,
        interval: str | None = None,
        depth: int | None = None,
    ) -> list[Topic]:
        if channel in (Channel.TICKER, Channel.MARK_PRICE, Channel.FUNDING_RATE):
            return [Topic(name=f"ticker.{symbol}")]
        if channel is Channel.OPEN_INTEREST:
            return [Topic(name=f"ticker.{symbol}")]
        if channel is Channel.TRADES:
            return [Topic(name=f"trade.{symbol}")]
        if channel is Channel.ORDER_BOOK:
            if depth is not None and depth > 1000:
                raise Unsupported(f"fake books go to 1000 levels, not {depth}", venue="fake")
            return [Topic(name=f"book50.{symbol}" if depth == 50 else f"book.{symbol}")]
        if channel is Channel.OHLCV:
            return [Topic(name=f"kline.{interval}.{symbol}")]
        if channel is Channel.LIQUIDATIONS:
            return [Topic(name=f"liq.{symbol}", route="other")]
        return super().public_topics(channel, symbol, interval=interval, depth=depth)

    def public_ws_url(self, endpoints: Endpoints, route: str) -> str:
        return endpoints.public_ws + ("/other" if route == "other" else "/ws")

    def max_topics_per_connection(self) -> int:
        return self.max_topics

    def subscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return _ENC.encode({"op": "subscribe", "id": req_id, "args": list(topics)})

    def unsubscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return _ENC.encode({"op": "unsubscribe", "id": req_id, "args": list(topics)})

    def heartbeat(self) -> Heartbeat:
        return self.heartbeat_

    def book_sync(self, spec: InstrumentSpec, depth: int | None) -> FakeBookSync:
        return FakeBookSync(spec, depth, "resubscribe" if depth == 50 else "rest_snapshot")

    def _trade(self, symbol: str, t: dict[str, Any]) -> Trade:
        return Trade(
            symbol=self.markets.unified(symbol),
            id=str(t["i"]),
            timestamp=t["T"],
            price=Decimal(t["p"]),
            amount=Decimal(t["q"]),
            side=Side(t["s"]),
        )

    def decode_public(self, frame: bytes | str) -> PublicFrame:
        try:
            f = _DEC.decode(frame)
            if f.topic is None:
                if f.op == "ack":
                    return Control(kind="ack", req_id=str(f.id), ok=f.ok, message=f.msg)
                if f.op == "pong":
                    return Control(kind="pong")
                return Control(kind="unknown", message=f.op)
            data = json.loads(bytes(f.data))
            kind, _, rest = f.topic.partition(".")
            symbol = rest.rsplit(".", 1)[-1]
            unified = self.markets.unified(symbol)
            events: list[PublicEvent]
            if kind == "trade":
                events = [self._trade(symbol, t) for t in data]
            elif kind == "ticker":
                events = [
                    Ticker(
                        symbol=unified,
                        timestamp=data["T"],
                        last=Decimal(data["last"]),
                        mark_price=Decimal(data["mark"]) if "mark" in data else None,
                        funding_rate=Decimal(data["funding"]) if "funding" in data else None,
                        open_interest=Decimal(data["oi"]) if "oi" in data else None,
                    )
                ]
            elif kind in ("book", "book50"):
                if data.get("type") == "snapshot":
                    events = [
                        BookSnapshotEvent(
                            symbol=unified, bids=data["b"], asks=data["a"], update_id=data["u"]
                        )
                    ]
                else:
                    events = [
                        BookDeltaEvent(
                            symbol=unified,
                            bids=data["b"],
                            asks=data["a"],
                            first_id=data.get("U"),
                            last_id=data["u"],
                            prev_id=data.get("pu"),
                        )
                    ]
            elif kind == "kline":
                interval = rest.split(".")[0]
                events = [
                    OHLCV(
                        symbol=unified,
                        interval=interval,
                        open_time=data["t"],
                        close_time=data["t"] + 59_999,
                        open=Decimal(data["o"]),
                        high=Decimal(data["h"]),
                        low=Decimal(data["l"]),
                        close=Decimal(data["c"]),
                        volume=Decimal(data["v"]),
                        closed=data["x"],
                    )
                ]
            elif kind == "liq":
                events = [
                    Liquidation(
                        symbol=unified,
                        timestamp=data["T"],
                        side=Side(data["s"]),
                        price=Decimal(data["p"]),
                        amount=Decimal(data["q"]),
                    )
                ]
            else:
                return Control(kind="unknown", message=f.topic)
            return StreamData(topic=f.topic, events=events)
        except (msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
            raise DecodeError(f"fake: bad frame: {exc}", venue="fake") from exc


# -- loopback websocket server -------------------------------------------------------------


class FakeWsServer:
    """A scriptable loopback venue websocket server."""

    def __init__(self) -> None:
        self.server: Server | None = None
        self.port = 0
        self.conns: list[ServerConnection] = []
        self.subs: dict[ServerConnection, set[str]] = defaultdict(set)
        self.received: list[tuple[int, dict[str, Any]]] = []  # (connection index, frame)
        self.reject: set[str] = set()
        self.answer_pings = True
        self.accepting = True
        self.opened = 0
        self.paths: list[str] = []
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeWsServer:
        self.server = await serve(self._handler, "127.0.0.1", 0, compression=None)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handler(self, ws: ServerConnection) -> None:
        if not self.accepting:
            await ws.close(1013, "try later")
            return
        index = len(self.conns)
        self.conns.append(ws)
        self.opened += 1
        self.paths.append(ws.request.path if ws.request else "")
        self._signal()
        try:
            async for raw in ws:
                msg = json.loads(raw)
                self.received.append((index, msg))
                op = msg.get("op")
                if op == "ping":
                    if self.answer_pings:
                        await ws.send('{"op":"pong"}')
                elif op in ("subscribe", "unsubscribe"):
                    args = msg["args"]
                    bad = [a for a in args if a in self.reject]
                    if op == "subscribe":
                        self.subs[ws].update(a for a in args if a not in self.reject)
                    else:
                        self.subs[ws].difference_update(args)
                    ok = not bad or op == "unsubscribe"
                    reply = {"op": "ack", "id": msg["id"], "ok": ok}
                    if not ok:
                        reply["msg"] = f"invalid topic {bad[0]}"
                    await ws.send(json.dumps(reply))
                self._signal()
        except Exception:
            pass
        finally:
            self.subs.pop(ws, None)
            self._signal()

    def _signal(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (re-checked on every server-side change)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("condition not reached in time")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    def open_conns(self) -> list[ServerConnection]:
        return [c for c in self.conns if c.state.name == "OPEN"]

    def subscribed(self, topic: str) -> list[ServerConnection]:
        return [c for c, s in self.subs.items() if topic in s]

    def frames(self, op: str) -> list[dict[str, Any]]:
        return [m for _, m in self.received if m.get("op") == op]

    def topics_sent(self, op: str) -> list[str]:
        return [t for m in self.frames(op) for t in m["args"]]

    async def publish(self, topic: str, data: Any) -> int:
        """Send ``data`` on ``topic`` to every connection subscribed to it."""
        text = json.dumps({"topic": topic, "data": data})
        n = 0
        for ws in self.subscribed(topic):
            await ws.send(text)
            n += 1
        return n

    async def send_raw(self, topic: str, text: str) -> None:
        for ws in self.subscribed(topic):
            await ws.send(text)

    async def drop_all(self) -> None:
        for ws in self.open_conns():
            await ws.close(1011, "dropped by test")


# -- REST ----------------------------------------------------------------------------------


class FakeRest:
    """The fake venue's REST side as an ``httpx.MockTransport`` handler."""

    def __init__(self) -> None:
        self.server_offset_ms = 0
        self.requests: list[httpx.Request] = []
        self.script: dict[str, deque[httpx.Response | Exception]] = defaultdict(deque)
        self.book: dict[str, Any] = {
            "lastUpdateId": 100,
            "bids": [["100.0", "1"]],
            "asks": [["101.0", "1"]],
        }
        self.oi = "12345.5"
        self.instruments = list(SYMBOLS)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        queue = self.script.get(path)
        if queue:
            item = queue.popleft()
            if isinstance(item, Exception):
                raise item
            return item
        now = int(time.time() * 1000)
        if path == "/time":
            return httpx.Response(200, json={"serverTime": now + self.server_offset_ms})
        if path == "/instruments":
            return httpx.Response(200, json=self.instruments)
        if path == "/ticker":
            return httpx.Response(
                200, json={"T": now, "last": "100.5"}, headers={"x-used-weight": "3"}
            )
        if path == "/depth":
            return httpx.Response(200, json=self.book)
        if path == "/oi":
            return httpx.Response(200, json={"T": now, "oi": self.oi})
        if path == "/trades":
            return httpx.Response(
                200, json=[{"i": 1, "T": now, "p": "100", "q": "0.5", "s": "buy"}]
            )
        return httpx.Response(404, json={"code": -1, "msg": "not found"})


# -- client helpers ------------------------------------------------------------------------

MakeClient = Callable[..., Awaitable[BatMarkets]]


def fast_options(rest: FakeRest, **overrides: Any) -> ClientOptions:
    """Runtime timers shortened for tests; REST goes to ``rest``'s mock transport."""
    values: dict[str, Any] = {
        "http_transport": rest.transport,
        "linger_s": 0.2,
        "reconnect_initial_s": 0.02,
        "reconnect_max_s": 0.1,
        "control_frames_per_s": 1000.0,
        "clock_refresh_s": 0,
        "snapshot_retry_s": 0.02,
        "retry_backoff_s": 0.01,
        "retry_backoff_max_s": 0.02,
    }
    values.update(overrides)
    return ClientOptions(**values)
