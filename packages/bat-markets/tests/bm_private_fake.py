"""A tiny in-memory venue for private-lane and command tests.

``MiniVenue`` keeps orders, fills, positions, leverage and a balance, and serves them over three
real transports: REST through an ``httpx.MockTransport`` (async handler), the account stream and
the order websocket on loopback websocket servers. ``MiniAdapter`` is a complete sans-I/O adapter
for it (flows, private session, frame decoding, websocket commands). Faults are injected per
request path (``venue.faults["POST /order"] = ["drop"]``) or on the websockets.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import anyio
import httpx
import msgspec
from websockets.asyncio.server import ServerConnection, serve

from bat_markets.client import ClientOptions
from bat_markets.core import (
    AccountConfigEvent,
    AdapterBase,
    Balance,
    BatMarketsError,
    CancelRequest,
    Capabilities,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    Control,
    Credentials,
    DecodeError,
    EditRequest,
    Endpoints,
    Environment,
    ExchangeReject,
    Heartbeat,
    HttpRequest,
    InstrumentSpec,
    LeverageRequest,
    LifecyclePolicy,
    MarginMode,
    MarginModeRequest,
    MyTrade,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionModeRequest,
    PositionSide,
    PrivateData,
    PrivateEvent,
    PrivateFrame,
    PrivateSession,
    RestFlow,
    RestRequest,
    RestResponse,
    Side,
    StateDivergence,
    StreamExpired,
    TemporaryUnavailable,
    VenueConfig,
    WsCommand,
    WsSession,
)

SYMBOL = "BTC/USDT:USDT"
NATIVE = "BTCUSDT"
PRICE = Decimal("50000")
NOOP_CODES = {-4046, -4059}

ALL_METHODS = frozenset(
    {
        "fetch_balance", "fetch_positions", "fetch_open_orders", "fetch_order", "fetch_my_trades",
        "watch_balance", "watch_orders", "watch_my_trades", "watch_positions",
        "create_order", "create_orders", "edit_order", "edit_orders", "cancel_order",
        "cancel_orders", "cancel_all_orders", "close_position", "validate_order",
        "set_leverage", "set_margin_mode", "set_position_mode",
        "create_order_ws", "create_orders_ws", "edit_order_ws", "edit_orders_ws",
        "cancel_order_ws", "cancel_orders_ws", "cancel_all_orders_ws",
    }
)  # fmt: skip
WS_COMMANDS = frozenset(m for m in ALL_METHODS if m.endswith("_ws"))


@dataclasses.dataclass(frozen=True)
class TestOptions(ClientOptions):
    """``ClientOptions`` plus the lifecycle policy the command lane reads."""

    lifecycle: LifecyclePolicy | None = None


FAST_POLICY = LifecyclePolicy(
    receipt_timeout_ms=3_000,
    confirm_timeout_ms=300,
    absence_grace_ms=400,
    requery_interval_ms=100,
    unknown_window_ms=2_000,
)


def fast_options(venue: MiniVenue, **overrides: Any) -> TestOptions:
    values: dict[str, Any] = {
        "http_transport": venue.transport,
        "load_markets_on_start": False,
        "sync_clock_on_start": False,
        "clock_refresh_s": 0,
        "linger_s": 0.2,
        "reconnect_initial_s": 0.02,
        "reconnect_max_s": 0.1,
        "retry_backoff_s": 0.01,
        "retry_backoff_max_s": 0.02,
        "lifecycle": FAST_POLICY,
    }
    values.update(overrides)
    return TestOptions(**values)


def spec() -> InstrumentSpec:
    return InstrumentSpec(
        venue="mini",
        symbol=SYMBOL,
        id=NATIVE,
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=Decimal("0.1"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("5"),
    )


# -- the venue ------------------------------------------------------------------------------------


class MiniVenue:
    """In-memory account + matching of market orders at ``PRICE``; limit orders rest."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.fills: list[dict[str, Any]] = []
        self.positions: dict[str, Decimal] = {"BOTH": Decimal(0)}  # position side -> signed size
        self.hedge = False
        self.leverage = 10
        self.margin_mode = "cross"
        self.balance = Decimal("1000")
        self.clock = 1_700_000_000_000
        self.next_id = 1000
        self.requests: list[str] = []  # "METHOD /path"
        self.faults: dict[str, list[str]] = {}
        self.ack_only = False  # create answers carry ids only (Bybit style)
        self.hold_stream = False  # keep private events back
        self.duplicate_events = False
        self.reverse_events = False
        self.auth_mode = False  # private stream needs an auth frame (Bybit style)
        self.refuse_auth = False
        self.listen_keys: set[str] = set()
        self.private_conns: set[ServerConnection] = set()
        self.private_connects = 0
        self.cmd_conns: set[ServerConnection] = set()
        self.cmd_faults: list[str] = []
        self.cmd_frames: list[dict[str, Any]] = []
        self.held: list[dict[str, Any]] = []
        self._servers: list[Any] = []
        self.private_url = ""
        self.command_url = ""
        self.transport = httpx.MockTransport(self._handle)

    # -- servers

    async def __aenter__(self) -> MiniVenue:
        private = await serve(self._private, "127.0.0.1", 0)
        command = await serve(self._command, "127.0.0.1", 0)
        self._servers = [private, command]
        self.private_url = f"ws://127.0.0.1:{private.sockets[0].getsockname()[1]}/ws"
        self.command_url = f"ws://127.0.0.1:{command.sockets[0].getsockname()[1]}/trade"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def endpoints(self) -> Endpoints:
        return Endpoints(
            rest="http://mini.test",
            public_ws="ws://127.0.0.1:9/unused",
            private_ws=self.private_url,
            command_ws=self.command_url,
        )

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.requests if r.startswith(prefix))

    # -- clock and ids

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    # -- events

    async def emit(self, events: list[dict[str, Any]]) -> None:
        if self.reverse_events:
            events = list(reversed(events))
        if self.duplicate_events:
            events = [e for e in events for _ in range(2)]
        if self.hold_stream:
            self.held += events
            return
        for event in events:
            text = json.dumps(event)
            for conn in list(self.private_conns):
                try:
                    await conn.send(text)
                except Exception:
                    self.private_conns.discard(conn)

    async def release_held(self) -> None:
        held, self.held = self.held, []
        self.hold_stream = False
        await self.emit(held)

    async def expire_stream(self) -> None:
        """Binance listenKeyExpired: the key dies and the stream says so."""
        self.listen_keys.clear()
        await self.emit([{"e": "expired", "E": self.tick()}])

    def order_event(self, o: dict[str, Any]) -> dict[str, Any]:
        return {"e": "order", "o": dict(o)}

    # -- matching

    def _position_side(self, o: dict[str, Any]) -> str:
        return str(o.get("ps", "BOTH"))

    def _fill(self, o: dict[str, Any], qty: Decimal) -> list[dict[str, Any]]:
        now = self.tick()
        o["filled"] = str(Decimal(o["filled"]) + qty)
        o["status"] = "FILLED" if Decimal(o["filled"]) >= Decimal(o["qty"]) else "PARTIALLY_FILLED"
        o["updated"] = now
        fill = {
            "e": "fill",
            "t": f"t{len(self.fills) + 1}",
            "i": o["id"],
            "c": o["cid"],
            "s": o["symbol"],
            "S": o["side"],
            "p": str(PRICE),
            "q": str(qty),
            "T": now,
            "ps": o.get("ps", "BOTH"),
        }
        self.fills.append(fill)
        pside = self._position_side(o)
        signed = qty if o["side"] == "BUY" else -qty
        if pside == "BOTH":
            self.positions["BOTH"] = self.positions.get("BOTH", Decimal(0)) + signed
        else:
            self.positions[pside] = self.positions.get(pside, Decimal(0)) + abs(signed) * (
                1 if (pside == "LONG") == (o["side"] == "BUY") else -1
            )
        return [self.order_event(o), fill, self.position_event(pside)]

    def position_event(self, pside: str) -> dict[str, Any]:
        return {
            "e": "position",
            "s": NATIVE,
            "ps": pside,
            "pa": str(self.positions.get(pside, Decimal(0))),
            "l": self.leverage,
            "mt": self.margin_mode,
            "T": self.tick(),
        }

    def position_rows(self) -> list[dict[str, Any]]:
        sides = ["LONG", "SHORT"] if self.hedge else ["BOTH"]
        return [
            {
                "s": NATIVE,
                "ps": ps,
                "pa": str(self.positions.get(ps, Decimal(0))),
                "l": self.leverage,
                "mt": self.margin_mode,
                "T": self.clock,
            }
            for ps in sides
        ]

    def create(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        price = Decimal(body["price"]) if body.get("price") else None
        would_take = price is not None and (
            (body["side"] == "BUY" and price >= PRICE)
            or (body["side"] == "SELL" and price <= PRICE)
        )
        post_only_takes = body.get("tif") == "POST_ONLY" and would_take
        if post_only_takes and not self.ack_only:
            return (
                400,
                {"code": -5022, "msg": "Due to the order could not be executed as maker"},
                [],
            )
        qty = Decimal(body["qty"])
        if qty * PRICE > self.balance * self.leverage:
            return 400, {"code": -2019, "msg": "Margin is insufficient."}, []
        for existing in self.orders.values():
            if existing["cid"] == body["cid"]:
                return 400, {"code": -4116, "msg": "ClientOrderId is duplicated."}, []
        now = self.tick()
        o = {
            "id": self.new_id(),
            "cid": body["cid"],
            "symbol": body["symbol"],
            "side": body["side"],
            "type": body["type"],
            "qty": body["qty"],
            "price": body.get("price"),
            "filled": "0",
            "status": "NEW",
            "ps": body.get("ps", "BOTH"),
            "reduce": bool(body.get("reduce")),
            "reason": None,
            "created": now,
            "updated": now,
        }
        self.orders[o["id"]] = o
        events = [self.order_event(o)]
        if body["type"] == "MARKET":
            events += self._fill(o, qty)
        elif post_only_takes:  # ack_only venues accept, then kill a crossing post-only (Bybit)
            o["status"] = "CANCELED"
            o["reason"] = "EC_PostOnlyWillTakeLiquidity"
            events = [self.order_event(o)]
        return 200, dict(o), events

    def find(self, params: Mapping[str, str]) -> dict[str, Any] | None:
        if params.get("id"):
            return self.orders.get(params["id"])
        cid = params.get("cid")
        for o in self.orders.values():
            if o["cid"] == cid:
                return o
        return None

    def cancel(self, o: dict[str, Any]) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        if o["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return 400, {"code": -2011, "msg": "Unknown order sent."}, []
        o["status"] = "CANCELED"
        o["updated"] = self.tick()
        return 200, dict(o), [self.order_event(o)]

    def amend(
        self, o: dict[str, Any], body: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        if o["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return 400, {"code": -2013, "msg": "Order does not exist."}, []
        if body.get("side") != o["side"]:
            return 400, {"code": -1102, "msg": "side is required and must match"}, []
        if body.get("price") is not None:
            o["price"] = body["price"]
        if body.get("qty") is not None:
            o["qty"] = body["qty"]
        o["updated"] = self.tick()
        return 200, dict(o), [self.order_event(o)]

    # -- REST

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        key = f"{request.method} {path}"
        self.requests.append(key)
        params = dict(urllib.parse.parse_qsl(request.url.query.decode()))
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        faults = self.faults.get(key)
        fault = faults.pop(0) if faults else None
        if fault == "503":
            return httpx.Response(503, json={"code": -1001, "msg": "Service Unavailable."})
        if fault is not None and fault.startswith("reject:"):
            _, code, msg = fault.split(":", 2)
            return httpx.Response(400, json={"code": int(code), "msg": msg})
        if fault == "lost":  # never reached the venue, but the client cannot know
            raise httpx.ReadTimeout("simulated: request lost", request=request)
        status, payload, events = self._route(request.method, path, params, body)
        await self.emit(events)
        if fault == "drop":  # executed, but the answer never arrives
            raise httpx.ReadTimeout("simulated: response dropped", request=request)

        return httpx.Response(status, json=payload)

    def _route(
        self, method: str, path: str, params: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, Any, list[dict[str, Any]]]:
        if path == "/listenKey":
            if method == "POST":
                key = f"lk{self.tick()}abcdefghijklmnopqrstuvwxyz"
                self.listen_keys.add(key)
                return 200, {"listenKey": key}, []
            if params.get("listenKey") in self.listen_keys:
                return 200, {}, []
            return 400, {"code": -1125, "msg": "This listenKey does not exist."}, []
        if path == "/order":
            if method == "POST":
                return self.create(body)
            found = self.find(params if method != "PUT" else body)
            if found is None:
                return 400, {"code": -2013, "msg": "Order does not exist."}, []
            if method == "GET":
                return 200, dict(found), []
            if method == "DELETE":
                return self.cancel(found)
            return self.amend(found, body)
        if path == "/orders" and method == "POST":  # batch create
            results, events = [], []
            for item in body["orders"]:
                _, payload, evs = self.create(item)
                results.append(payload)
                events += evs
            return 200, results, events
        if path == "/allOpenOrders":
            events = []
            for o in self.orders.values():
                if o["status"] in ("NEW", "PARTIALLY_FILLED"):
                    events += self.cancel(o)[2]
            return 200, {"code": 200, "msg": "done"}, events
        if path == "/openOrders":
            rows = [o for o in self.orders.values() if o["status"] in ("NEW", "PARTIALLY_FILLED")]
            return 200, rows, []
        if path == "/myTrades":
            since = int(params.get("since", 0))
            return 200, [f for f in self.fills if f["T"] >= since], []
        if path == "/positions":
            return 200, self.position_rows(), []
        if path == "/balance":
            return 200, [{"a": "USDT", "wb": str(self.balance), "T": self.clock}], []
        if path == "/leverage":
            self.leverage = int(body["leverage"])
            return (
                200,
                {"leverage": self.leverage},
                [{"e": "config", "s": NATIVE, "l": self.leverage, "T": self.tick()}],
            )
        if path == "/marginType":
            if body["mode"] == self.margin_mode:
                return 400, {"code": -4046, "msg": "No need to change margin type."}, []
            self.margin_mode = body["mode"]
            return 200, {"code": 200}, []
        if path == "/positionMode":
            hedge = body["mode"] == "hedge"
            if hedge == self.hedge:
                return 400, {"code": -4059, "msg": "No need to change position side."}, []
            self.hedge = hedge
            return 200, {"code": 200}, []
        if path == "/order/test":
            return 200, {}, []
        return 404, {"code": -1, "msg": f"no route {method} {path}"}, []

    # -- private websocket

    async def _private(self, ws: ServerConnection) -> None:
        key = ws.request.path.rsplit("/", 1)[-1] if ws.request is not None else ""
        if not self.auth_mode and key not in self.listen_keys:
            await ws.close(4001, "invalid listenKey")
            return
        self.private_connects += 1
        try:
            if self.auth_mode:
                first = json.loads(await ws.recv())
                ok = first.get("op") == "auth" and not self.refuse_auth
                await ws.send(
                    json.dumps({"op": "auth", "ok": ok, "msg": None if ok else "bad sign"})
                )
                if not ok:
                    return
            self.private_conns.add(ws)
            async for message in ws:
                data = json.loads(message)
                if data.get("op") == "ping":
                    await ws.send(json.dumps({"op": "pong"}))
        except Exception:
            pass
        finally:
            self.private_conns.discard(ws)

    async def drop_private(self) -> None:
        for conn in list(self.private_conns):
            await conn.close(1011, "simulated drop")

    # -- order websocket

    async def _command(self, ws: ServerConnection) -> None:
        self.cmd_conns.add(ws)
        try:
            async for message in ws:
                data = json.loads(message)
                self.cmd_frames.append(data)
                if data.get("op") == "auth":
                    await ws.send(json.dumps({"id": data["id"], "op": "auth", "ok": True}))
                    continue
                fault = self.cmd_faults.pop(0) if self.cmd_faults else None
                results, events = [], []
                for arg in data["args"]:
                    status, payload, evs = self._ws_op(data["op"], arg)
                    results.append(payload if status == 200 else {"error": payload})
                    events += evs
                await self.emit(events)
                if fault == "silent":
                    continue
                if fault == "close":
                    await ws.close(1011, "simulated")
                    return
                if fault is not None and fault.startswith("hold:"):
                    await anyio.sleep(float(fault.split(":")[1]))
                await ws.send(json.dumps({"id": data["id"], "results": results}))
        except Exception:
            pass
        finally:
            self.cmd_conns.discard(ws)

    def _ws_op(self, op: str, arg: dict[str, Any]) -> tuple[int, Any, list[dict[str, Any]]]:
        if op == "create_order":
            return self.create(arg)
        found = self.find(arg)
        if found is None:
            return 400, {"code": -2013, "msg": "Order does not exist."}, []
        if op == "cancel_order":
            return self.cancel(found)
        return self.amend(found, arg)

    async def kill_command_ws(self) -> None:
        for conn in list(self.cmd_conns):
            await conn.close(1011, "killed")


# -- the adapter ----------------------------------------------------------------------------------

_json = msgspec.json.Decoder()
_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
_PSIDE = {"BOTH": PositionSide.BOTH, "LONG": PositionSide.LONG, "SHORT": PositionSide.SHORT}


def _error(status: int, body: bytes) -> BatMarketsError:
    try:
        obj = _json.decode(body)
    except msgspec.DecodeError:
        obj = {}
    code = obj.get("code") if isinstance(obj, dict) else None
    msg = str(obj.get("msg", "")) if isinstance(obj, dict) else ""
    if status >= 500:
        return TemporaryUnavailable(msg or f"HTTP {status}", venue="mini", code=code)
    if code in (-2013, -1125, -2011):
        return StateDivergence(msg, venue="mini", code=code)
    return ExchangeReject(msg, venue="mini", code=code, venue_message=msg)


class MiniAdapter(AdapterBase):
    """Sans-I/O adapter for ``MiniVenue``."""

    id = "mini"
    name = "Mini"

    def __init__(
        self, *, keepalive_s: float | None = None, ws_commands: frozenset[str] = WS_COMMANDS
    ) -> None:
        self.capabilities = Capabilities(
            methods=ALL_METHODS,
            ws_commands=ws_commands,
            max_batch_create=2,
            max_batch_edit=2,
            max_batch_cancel=2,
            ohlcv_intervals=(),
            order_book_depths=(),
            watch_book_depths=(),
            liquidations_complete=True,
            open_interest_push=True,
            position_mode_scope="account",
            margin_mode_scope="symbol",
        )
        self.keepalive_s = keepalive_s
        self.auth_mode = False
        super().__init__()

    def bundled_instruments(self) -> list[InstrumentSpec]:
        return [spec()]

    def endpoints(self, environment: Environment) -> Endpoints:
        return Endpoints(rest="http://mini.test", public_ws="", private_ws="")

    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest:
        query = urllib.parse.urlencode(request.params)
        headers = {"content-type": "application/json"}
        if request.signed and credentials is not None:
            headers["x-key"] = credentials.api_key
        body = json.dumps(request.json).encode() if request.json is not None else None
        return HttpRequest(
            method=request.method,
            target=request.path + (f"?{query}" if query else ""),
            headers=headers,
            body=body,
            idempotent=request.idempotent,
        )

    def classify_http_error(self, response: RestResponse) -> BatMarketsError | None:
        return None if response.status < 400 else _error(response.status, response.body)

    # -- conversions

    def order(self, o: Mapping[str, Any]) -> Order:
        return Order(
            symbol=SYMBOL,
            id=str(o["id"]),
            client_order_id=o.get("cid"),
            side=Side.BUY if o["side"] == "BUY" else Side.SELL,
            type=OrderType.MARKET if o["type"] == "MARKET" else OrderType.LIMIT,
            status=_STATUS[o["status"]],
            amount=Decimal(o["qty"]),
            filled=Decimal(o["filled"]),
            price=Decimal(o["price"]) if o.get("price") else None,
            position_side=_PSIDE[o.get("ps", "BOTH")],
            reduce_only=bool(o.get("reduce")),
            created_at=o.get("created"),
            updated_at=o.get("updated"),
            reject_reason=o.get("reason"),
            venue_status=o["status"],
        )

    def trade(self, f: Mapping[str, Any]) -> MyTrade:
        return MyTrade(
            symbol=SYMBOL,
            id=f["t"],
            order_id=str(f["i"]),
            client_order_id=f.get("c"),
            side=Side.BUY if f["S"] == "BUY" else Side.SELL,
            price=Decimal(f["p"]),
            amount=Decimal(f["q"]),
            timestamp=f["T"],
            position_side=_PSIDE[f.get("ps", "BOTH")],
        )

    def position(self, p: Mapping[str, Any]) -> Position:
        pside = _PSIDE[p["ps"]]
        size = Decimal(p["pa"])
        return Position(
            symbol=SYMBOL,
            position_side=pside,
            size=size if pside is PositionSide.BOTH else abs(size),
            leverage=Decimal(p["l"]),
            margin_mode=MarginMode(p["mt"]),
            timestamp=p.get("T"),
        )

    def _wire_order(self, r: OrderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "symbol": r.symbol,
            "side": "BUY" if r.side is Side.BUY else "SELL",
            "type": "MARKET" if r.type is OrderType.MARKET else "LIMIT",
            "qty": str(r.amount),
            "cid": r.client_order_id,
            "ps": r.position_side.value.upper(),
            "reduce": r.reduce_only,
        }
        if r.price is not None:
            body["price"] = str(r.price)
        if r.time_in_force is not None and r.time_in_force.value == "post_only":
            body["tif"] = "POST_ONLY"
        return body

    def _receipt(
        self, kind: CommandKind, payload: Any, status: int, ids: Mapping[str, Any]
    ) -> CommandReceipt:
        if status >= 400 or (isinstance(payload, dict) and "error" in payload):
            body = payload.get("error", payload) if isinstance(payload, dict) else {}
            err = ExchangeReject(str(body.get("msg")), venue="mini", code=body.get("code"))
            if body.get("code") in (-2013, -2011):
                err = StateDivergence(str(body.get("msg")), venue="mini", code=body.get("code"))
            noop = body.get("code") in NOOP_CODES
            return CommandReceipt(
                kind=kind,
                status=CommandStatus.ACCEPTED if noop else CommandStatus.REJECTED,
                venue="mini",
                symbol=SYMBOL,
                order_id=ids.get("id"),
                client_order_id=ids.get("cid"),
                error=err,
                noop=noop,
            )
        order = self.order(payload) if isinstance(payload, dict) and "status" in payload else None
        if order is not None and self.ack_only and kind is CommandKind.CREATE_ORDER:
            return CommandReceipt(
                kind=kind, status=CommandStatus.ACCEPTED, venue="mini", symbol=SYMBOL,
                order_id=order.id, client_order_id=order.client_order_id,
            )  # fmt: skip
        return CommandReceipt(
            kind=kind,
            status=CommandStatus.ACCEPTED,
            venue="mini",
            symbol=SYMBOL,
            order_id=order.id if order else ids.get("id"),
            client_order_id=order.client_order_id if order else ids.get("cid"),
            order=order,
        )

    ack_only = False

    def _unknown(
        self, kind: CommandKind, err: BatMarketsError, ids: Mapping[str, Any]
    ) -> CommandReceipt:
        return CommandReceipt(
            kind=kind, status=CommandStatus.UNKNOWN, venue="mini", symbol=SYMBOL,
            order_id=ids.get("id"), client_order_id=ids.get("cid"), error=err,
        )  # fmt: skip

    def _command(
        self, kind: CommandKind, request: RestRequest, ids: Mapping[str, Any]
    ) -> RestFlow[CommandReceipt]:
        try:
            response = yield request
        except BatMarketsError as err:
            return self._unknown(kind, err, ids)
        if response.status >= 500:
            return self._unknown(kind, _error(response.status, response.body), ids)
        return self._receipt(kind, _json.decode(response.body), response.status, ids)

    def _read(self, request: RestRequest) -> RestFlow[Any]:
        response = yield request
        if response.status >= 400:
            raise _error(response.status, response.body)
        return _json.decode(response.body)

    # -- private REST

    def fetch_balance(self) -> RestFlow[list[Balance]]:
        rows = yield from self._read(RestRequest(method="GET", path="/balance", signed=True))
        return [
            Balance(asset=r["a"], wallet_balance=Decimal(r["wb"]), timestamp=r["T"]) for r in rows
        ]

    def fetch_positions(self, symbols: Sequence[str] | None) -> RestFlow[list[Position]]:
        rows = yield from self._read(RestRequest(method="GET", path="/positions", signed=True))
        return [self.position(r) for r in rows]

    def fetch_open_orders(self, symbol: str | None) -> RestFlow[list[Order]]:
        rows = yield from self._read(RestRequest(method="GET", path="/openOrders", signed=True))
        return [self.order(r) for r in rows]

    def fetch_order(
        self, symbol: str, id: str | None, client_order_id: str | None
    ) -> RestFlow[Order]:
        params = [("symbol", symbol)] + ([("id", id)] if id else [("cid", client_order_id or "")])
        row = yield from self._read(
            RestRequest(method="GET", path="/order", params=params, signed=True)
        )
        return self.order(row)

    def fetch_my_trades(
        self, symbol: str | None, since: int | None, limit: int | None
    ) -> RestFlow[list[MyTrade]]:
        params = [("since", str(since))] if since is not None else []
        rows = yield from self._read(
            RestRequest(method="GET", path="/myTrades", params=params, signed=True)
        )
        return [self.trade(r) for r in rows]

    # -- commands

    def create_orders(self, requests: Sequence[OrderRequest]) -> RestFlow[list[CommandReceipt]]:
        out = []
        for r in requests:
            req = RestRequest(
                method="POST",
                path="/order",
                json=self._wire_order(r),
                signed=True,
                idempotent=False,
            )
            out.append(
                (
                    yield from self._command(
                        CommandKind.CREATE_ORDER, req, {"cid": r.client_order_id}
                    )
                )
            )
        return out

    def edit_orders(self, requests: Sequence[EditRequest]) -> RestFlow[list[CommandReceipt]]:
        out = []
        for r in requests:
            body = {
                "id": r.id, "cid": r.client_order_id, "side": r.side.value.upper() if r.side else None,
                "price": str(r.price) if r.price is not None else None,
                "qty": str(r.amount) if r.amount is not None else None,
            }  # fmt: skip
            req = RestRequest(method="PUT", path="/order", json=body, signed=True, idempotent=False)
            out.append(
                (
                    yield from self._command(
                        CommandKind.EDIT_ORDER, req, {"id": r.id, "cid": r.client_order_id}
                    )
                )
            )
        return out

    def cancel_orders(self, requests: Sequence[CancelRequest]) -> RestFlow[list[CommandReceipt]]:
        out = []
        for r in requests:
            params = [("id", r.id)] if r.id else [("cid", r.client_order_id or "")]
            req = RestRequest(
                method="DELETE", path="/order", params=params, signed=True, idempotent=False
            )
            out.append(
                (
                    yield from self._command(
                        CommandKind.CANCEL_ORDER, req, {"id": r.id, "cid": r.client_order_id}
                    )
                )
            )
        return out

    def cancel_all_orders(self, symbol: str | None) -> RestFlow[list[CommandReceipt]]:
        req = RestRequest(method="DELETE", path="/allOpenOrders", signed=True, idempotent=False)
        receipt = yield from self._command(CommandKind.CANCEL_ALL_ORDERS, req, {})
        return [receipt]

    def validate_order(self, request: OrderRequest) -> RestFlow[CommandReceipt]:
        req = RestRequest(
            method="POST", path="/order/test", json=self._wire_order(request), signed=True
        )
        return (yield from self._command(CommandKind.VALIDATE_ORDER, req, {}))

    def set_leverage(self, request: LeverageRequest) -> RestFlow[CommandReceipt]:
        req = RestRequest(
            method="POST",
            path="/leverage",
            json={"leverage": str(request.leverage)},
            signed=True,
            idempotent=False,
        )
        return (yield from self._command(CommandKind.SET_LEVERAGE, req, {}))

    def set_margin_mode(self, request: MarginModeRequest) -> RestFlow[CommandReceipt]:
        req = RestRequest(
            method="POST",
            path="/marginType",
            json={"mode": request.margin_mode.value},
            signed=True,
            idempotent=False,
        )
        return (yield from self._command(CommandKind.SET_MARGIN_MODE, req, {}))

    def set_position_mode(self, request: PositionModeRequest) -> RestFlow[CommandReceipt]:
        mode = "hedge" if request.position_mode is PositionMode.HEDGE else "one_way"
        req = RestRequest(
            method="POST", path="/positionMode", json={"mode": mode}, signed=True, idempotent=False
        )
        return (yield from self._command(CommandKind.SET_POSITION_MODE, req, {}))

    # -- private websocket

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(interval_s=0.5, frame=b'{"op":"ping"}', idle_timeout_s=5.0)

    def private_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int, recv_window_ms: int
    ) -> RestFlow[PrivateSession]:
        if self.auth_mode:
            return PrivateSession(
                url=endpoints.private_ws + "/auth", frames=[b'{"op":"auth"}'], auth_required=True
            )
        body = yield from self._read(RestRequest(method="POST", path="/listenKey", keyed=True))
        key = body["listenKey"]
        keepalive = RestRequest(
            method="PUT", path="/listenKey", params=[("listenKey", key)], keyed=True
        )
        return PrivateSession(
            url=f"{endpoints.private_ws}/{key}",
            keepalive=keepalive if self.keepalive_s else None,
            keepalive_interval_s=self.keepalive_s,
        )

    def decode_private(self, frame: bytes | str) -> PrivateFrame:
        try:
            obj = _json.decode(frame)
        except msgspec.DecodeError:
            raise DecodeError("not JSON", venue="mini") from None
        if not isinstance(obj, dict):
            raise DecodeError("not an object", venue="mini")
        if obj.get("op") == "auth":
            return Control(kind="auth", ok=bool(obj.get("ok")), message=obj.get("msg"))
        if obj.get("op") == "pong":
            return Control(kind="pong")
        kind = obj.get("e")
        try:
            events: list[PrivateEvent]
            if kind == "order":
                events = [self.order(obj["o"])]
            elif kind == "fill":
                events = [self.trade(obj)]
            elif kind == "position":
                events = [self.position(obj)]
            elif kind == "config":
                events = [AccountConfigEvent(timestamp=obj["T"], symbol=SYMBOL, leverage=obj["l"])]
            elif kind == "expired":
                events = [StreamExpired(timestamp=obj["E"], reason="listenKeyExpired")]
            else:
                return Control(kind="unknown", message=str(kind))
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"bad {kind} event: {exc}", venue="mini") from None
        return PrivateData(topic=str(kind), events=events)

    # -- order websocket

    def ws_command_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int
    ) -> WsSession:
        assert endpoints.command_ws is not None
        return WsSession(
            url=endpoints.command_ws,
            auth_frame=b'{"op":"auth","id":"auth-1"}',
            auth_req_id="auth-1",
        )

    def ws_command(
        self,
        kind: CommandKind,
        requests: Sequence[OrderRequest] | Sequence[EditRequest] | Sequence[CancelRequest],
        req_id: str,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> WsCommand:
        args: list[dict[str, Any]] = []
        ids: list[dict[str, Any]] = []
        for r in requests:
            if isinstance(r, OrderRequest):
                args.append(self._wire_order(r))
                ids.append({"cid": r.client_order_id})
            elif isinstance(r, EditRequest):
                args.append({
                    "id": r.id, "cid": r.client_order_id, "side": r.side.value.upper() if r.side else None,
                    "price": str(r.price) if r.price is not None else None,
                    "qty": str(r.amount) if r.amount is not None else None,
                })  # fmt: skip
                ids.append({"id": r.id, "cid": r.client_order_id})
            else:
                args.append({"id": r.id, "cid": r.client_order_id})
                ids.append({"id": r.id, "cid": r.client_order_id})
        frame = json.dumps({"id": req_id, "op": str(kind), "args": args}).encode()

        def decode(reply: bytes) -> list[CommandReceipt]:
            results = _json.decode(reply)["results"]
            return [self._receipt(kind, res, 200, i) for res, i in zip(results, ids, strict=False)]

        def unknown(err: BatMarketsError) -> list[CommandReceipt]:
            return [self._unknown(kind, err, i) for i in ids]

        return WsCommand(req_id=req_id, frame=frame, kind=kind, decode=decode, unknown=unknown)

    def ws_reply_id(self, frame: bytes | str) -> str | None:
        try:
            obj = _json.decode(frame)
        except msgspec.DecodeError:
            return None
        rid = obj.get("id") if isinstance(obj, dict) else None
        return str(rid) if rid is not None else None


# -- the composed client (until the facade wires the private and command lanes in) -------------

from bat_markets.client import BatMarkets  # noqa: E402
from bat_markets.client._advanced_private import PrivateAdvanced  # noqa: E402
from bat_markets.client._commands import CommandAPI  # noqa: E402
from bat_markets.client._private_methods import PrivateAPI  # noqa: E402


def _compose() -> type[BatMarkets]:
    """``BatMarkets`` with the private and command lanes (itself once the facade wires them)."""
    if issubclass(BatMarkets, PrivateAPI) and issubclass(BatMarkets, CommandAPI):
        return BatMarkets

    class Composed(PrivateAPI, CommandAPI, BatMarkets):  # type: ignore[misc]
        def __init__(self, venue: Any) -> None:
            super().__init__(venue)
            if not isinstance(self._advanced, PrivateAdvanced):
                self._advanced = PrivateAdvanced(self)

    return Composed


Client: Any = _compose()


CREDS = Credentials.of("mini-key-123456", "mini-secret")


async def open_client(
    venue: MiniVenue,
    adapter: MiniAdapter | None = None,
    *,
    credentials: Credentials | None = CREDS,
    config: VenueConfig | None = None,
    **options: Any,
) -> Any:
    bm = await Client.live(
        adapter or MiniAdapter(),
        endpoints=venue.endpoints(),
        credentials=credentials,
        config=config,
        options=fast_options(venue, **options),
    )
    assert isinstance(bm, Client)
    return bm  # type: ignore[no-any-return]
