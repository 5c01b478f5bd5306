"""The three websocket endpoints: ``/v5/public/linear``, ``/v5/private`` and ``/v5/trade``.

Control replies follow the captured shapes: public acks
``{success, ret_msg, conn_id, req_id, op}``; private acks ``{[req_id], success, ret_msg, op,
conn_id}``; private pong ``{[req_id], op: "pong", args: ["<ms>"], conn_id}``; trade replies
``{reqId, retCode, retMsg, op, data, retExtInfo, header, connId}``.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.websockets import WebSocket

from .._server import SimConnection
from . import _codes as C
from ._auth import TRADE, WsAuthFailure, verify_ws_auth
from ._errors import BybitError
from ._limits import Charge
from ._private import FAMILIES
from ._public import parse_topic

if TYPE_CHECKING:
    from ._sim import BybitSim

__all__ = ["WsEndpoints", "TRADE_OPS"]

_encode = msgspec.json.Encoder().encode

#: trade op -> (REST path whose budget it shares, handler kind)
TRADE_OPS: dict[str, tuple[str, str]] = {
    "order.create": ("/v5/order/create", "create"),
    "order.amend": ("/v5/order/amend", "amend"),
    "order.cancel": ("/v5/order/cancel", "cancel"),
    "order.create-batch": ("/v5/order/create-batch", "create"),
    "order.amend-batch": ("/v5/order/amend-batch", "amend"),
    "order.cancel-batch": ("/v5/order/cancel-batch", "cancel"),
}
_REQ_ID_MEMORY = 1000


def _dumps(obj: dict[str, Any]) -> str:
    return _encode(obj).decode()


def _parse(text: str) -> dict[str, Any] | None:
    try:
        msg = json.loads(text)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


class WsEndpoints:
    """Websocket handlers of one :class:`BybitSim`."""

    def __init__(self, sim: BybitSim) -> None:
        self.sim = sim
        self._n = 0

    def _conn_id(self) -> str:
        self._n += 1
        return self.sim.ids.conn(self._n)

    # -- public ----------------------------------------------------------------------------------
    async def public(self, ws: WebSocket) -> None:
        await ws.accept()
        sim = self.sim
        conn = SimConnection(ws, sim.faults)
        conn_id = self._conn_id()
        hub = sim.public

        def ack(op: str, req_id: str, ok: bool, msg: str = "") -> None:
            conn.push(
                _dumps(
                    {"success": ok, "ret_msg": msg, "conn_id": conn_id, "req_id": req_id, "op": op}
                ),
                "control",
            )

        async def on_text(text: str) -> None:
            msg = _parse(text)
            if msg is None:
                ack("", "", False, "error:invalid op")
                return
            op = msg.get("op")
            req_id = str(msg.get("req_id", "") or "")
            args = msg.get("args")
            if op == "ping":
                conn.push(
                    _dumps(
                        {
                            "success": True,
                            "ret_msg": "pong",
                            "conn_id": conn_id,
                            "req_id": req_id,
                            "op": "ping",
                        }
                    ),
                    "control",
                )
            elif op == "subscribe":
                if not isinstance(args, list) or not args:
                    ack("subscribe", req_id, False, "error:args is empty")
                    return
                subscribed: set[str] = conn.state.setdefault("bybit_topics", set())
                error = ""
                topics = []
                for name in args:
                    topic = parse_topic(name, sim.engine.instruments)
                    if topic is None:
                        error = error or f"error:handler not found,topic:{name}"
                    elif topic.name in subscribed:
                        error = error or f"error:already subscribed,topic:{name}"
                    else:
                        topics.append(topic)
                ack("subscribe", req_id, not error, error)
                for topic in topics:
                    subscribed.add(topic.name)
                    hub.subscribe(conn, topic)
            elif op == "unsubscribe":
                if not isinstance(args, list) or not args:
                    ack("unsubscribe", req_id, False, "error:args is empty")
                    return
                subscribed = conn.state.setdefault("bybit_topics", set())
                for name in args:
                    if isinstance(name, str):
                        subscribed.discard(name)
                        hub.unsubscribe(conn, name)
                ack("unsubscribe", req_id, True)
            else:
                ack(str(op or ""), req_id, False, "error:invalid op")

        try:
            await conn.run(on_text)
        finally:
            hub.drop(conn)

    # -- private ---------------------------------------------------------------------------------
    async def private(self, ws: WebSocket) -> None:
        await ws.accept()
        sim = self.sim
        conn = SimConnection(ws, sim.faults)
        conn_id = self._conn_id()
        hub = sim.private

        def reply(op: str, req_id: str | None, ok: bool, msg: str = "") -> None:
            body: dict[str, Any] = {}
            if req_id is not None:
                body["req_id"] = req_id
            body.update({"success": ok, "ret_msg": msg, "op": op, "conn_id": conn_id})
            conn.push(_dumps(body), "control")

        async def on_text(text: str) -> None:
            msg = _parse(text)
            if msg is None:
                reply("", None, False, "error:invalid op")
                return
            op = msg.get("op")
            raw_req = msg.get("req_id")
            req_id = str(raw_req) if raw_req is not None else None
            args = msg.get("args")
            if op == "ping":
                body: dict[str, Any] = {}
                if req_id is not None:
                    body["req_id"] = req_id
                body.update({"op": "pong", "args": [str(sim.server_time_ms())], "conn_id": conn_id})
                conn.push(_dumps(body), "control")
            elif op == "auth":
                if "bybit_key" in conn.state:
                    reply("auth", req_id, False, "Repeat auth")
                    return
                out = verify_ws_auth(sim.keys, args, sim.server_time_ms())
                if isinstance(out, WsAuthFailure):
                    reply("auth", req_id, False, out.ret_msg)
                    return
                hub.attach(conn, out.api_key)
                reply("auth", req_id, True)
            elif op == "subscribe":
                if "bybit_key" not in conn.state:
                    reply("subscribe", req_id, False, "Request not authorized")
                    return
                if not isinstance(args, list) or not args:
                    reply("subscribe", req_id, False, "error:args is empty")
                    return
                families: dict[str, str] = {}
                for name in args:
                    fam = FAMILIES.get(name) if isinstance(name, str) else None
                    if fam is None:
                        reply("subscribe", req_id, False, f"error:handler not found,topic:{name}")
                        return
                    if fam in families and families[fam] != name:
                        reply(
                            "subscribe",
                            req_id,
                            False,
                            f"error:all-in-one and categorised topics cannot share a request,topic:{name}",
                        )
                        return
                    families[fam] = name
                topics: set[str] = conn.state.setdefault("bybit_topics", set())
                topics.update(a for a in args if isinstance(a, str))
                reply("subscribe", req_id, True)
            elif op == "unsubscribe":
                topics = conn.state.setdefault("bybit_topics", set())
                if isinstance(args, list):
                    for name in args:
                        if isinstance(name, str):
                            topics.discard(name)
                reply("unsubscribe", req_id, True)
            else:
                reply(str(op or ""), req_id, False, "error:invalid op")

        try:
            await conn.run(on_text)
        finally:
            hub.detach(conn)

    # -- trade -----------------------------------------------------------------------------------
    async def trade(self, ws: WebSocket) -> None:
        await ws.accept()
        sim = self.sim
        conn = SimConnection(ws, sim.faults)
        conn_id = self._conn_id()
        seen: deque[str] = deque(maxlen=_REQ_ID_MEMORY)
        seen_set: set[str] = set()

        def send(body: dict[str, Any]) -> None:
            body["connId"] = conn_id
            conn.push(_dumps(body), "control")

        def answer(
            req_id: Any,
            op: str,
            code: int,
            msg: str,
            data: Any = None,
            ext: Any = None,
            charge: Charge | None = None,
        ) -> dict[str, Any]:
            now = sim.server_time_ms()
            header: dict[str, str] = {}
            if charge is not None:
                header.update(charge.headers())
            header["Traceid"] = secrets.token_hex(16)
            header["Timenow"] = str(now)
            body: dict[str, Any] = {}
            if req_id is not None:
                body["reqId"] = req_id
            body.update(
                {
                    "retCode": code,
                    "retMsg": msg,
                    "op": op,
                    "data": {} if data is None else data,
                    "retExtInfo": {} if ext is None else ext,
                    "header": header,
                }
            )
            return body

        async def on_text(text: str) -> None:
            msg = _parse(text)
            if msg is None:
                send(answer(None, "", C.PARAM_ERROR, "params error: invalid JSON"))
                return
            op = msg.get("op")
            req_id = msg.get("reqId")
            args = msg.get("args")
            if op == "ping":
                body: dict[str, Any] = {}
                if req_id is not None:
                    body["reqId"] = req_id
                body.update(
                    {
                        "retCode": 0,
                        "retMsg": "OK",
                        "op": "pong",
                        "data": [str(sim.server_time_ms())],
                    }
                )
                send(body)
                return
            if op == "auth":
                if "bybit_key" in conn.state:
                    send({"retCode": C.REPEAT_AUTH, "retMsg": C.MSG[C.REPEAT_AUTH], "op": "auth"})
                    return
                out = verify_ws_auth(sim.keys, args, sim.server_time_ms())
                if isinstance(out, WsAuthFailure):
                    send({"retCode": out.ret_code, "retMsg": out.ret_msg, "op": "auth"})
                    return
                conn.state["bybit_key"] = out.api_key
                conn.state["bybit_perms"] = out.permissions
                send({"retCode": 0, "retMsg": "OK", "op": "auth"})
                return
            if not isinstance(op, str) or op not in TRADE_OPS:
                send(answer(req_id, str(op or ""), C.WS_UNKNOWN_OP, f"Invalid op: {op}"))
                return
            await self._trade_op(conn, msg, op, req_id, args, seen, seen_set, send, answer)

        await conn.run(on_text)

    async def _trade_op(
        self,
        conn: SimConnection,
        msg: dict[str, Any],
        op: str,
        req_id: Any,
        args: Any,
        seen: deque[str],
        seen_set: set[str],
        send: Any,
        answer: Any,
    ) -> None:
        sim = self.sim
        api_key = conn.state.get("bybit_key")
        if api_key is None:
            send(answer(req_id, op, C.NOT_AUTHENTICATED, C.MSG[C.NOT_AUTHENTICATED]))
            return
        if TRADE not in conn.state.get("bybit_perms", frozenset()):
            send(answer(req_id, op, C.PERMISSION_DENIED, C.MSG[C.PERMISSION_DENIED]))
            return
        if req_id is not None:
            key = str(req_id)
            if key in seen_set:
                send(answer(req_id, op, C.DUPLICATE_REQ_ID, C.MSG[C.DUPLICATE_REQ_ID]))
                return
            if len(seen) == seen.maxlen:
                seen_set.discard(seen[0])
            seen.append(key)
            seen_set.add(key)
        now = sim.server_time_ms()
        header = msg.get("header")
        ts_raw = header.get("X-BAPI-TIMESTAMP") if isinstance(header, dict) else None
        window_raw = (
            header.get("X-BAPI-RECV-WINDOW", "5000") if isinstance(header, dict) else "5000"
        )
        if ts_raw is None:
            send(
                answer(
                    req_id, op, C.PARAM_ERROR, "params error: header X-BAPI-TIMESTAMP is required"
                )
            )
            return
        try:
            ts, window = int(ts_raw), int(window_raw)
        except (TypeError, ValueError):
            ts, window = -1, 0
        if window <= 0 or not (now - window <= ts < now + 1000):
            send(
                answer(
                    req_id,
                    op,
                    C.TIMESTAMP_WINDOW,
                    C.timestamp_message(str(ts_raw), now, str(window_raw)),
                )
            )
            return
        path, kind = TRADE_OPS[op]
        is_batch = op.endswith("-batch")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            send(
                answer(req_id, op, C.PARAM_ERROR, "params error: args must hold exactly one object")
            )
            return
        params: dict[str, Any] = args[0]
        units = 1
        if is_batch and isinstance(params.get("request"), list):
            units = max(1, len(params["request"]))
        charge = sim.limiter.charge(api_key, path, now, units)
        if charge.allowed == 0:
            send(answer(req_id, op, C.TOO_MANY_VISITS, C.MSG[C.TOO_MANY_VISITS], charge=charge))
            return
        # REST-style fault rules apply to trade ops only when aimed at "/v5/trade" explicitly
        aimed = any(
            r.path is not None and r.matches(op, "/v5/trade") for r in sim.faults.http_rules
        )
        rule = sim.faults.take_http(op, "/v5/trade") if aimed else None
        if rule is not None and not rule.execute and rule.kind == "status":
            code, text = sim.fault_error(rule.error)
            send(answer(req_id, op, code, text, charge=charge))
            return
        try:
            if is_batch:
                data, ext = sim.trading.batch(api_key, kind, params, charge.allowed)
                body = answer(req_id, op, 0, "OK", data, ext, charge)
            else:
                handler = {
                    "create": sim.trading.create,
                    "amend": sim.trading.amend,
                    "cancel": sim.trading.cancel,
                }[kind]
                body = answer(req_id, op, 0, "OK", handler(api_key, params), None, charge)
        except BybitError as err:
            body = answer(req_id, op, err.code, err.msg, err.result, None, charge)
        if rule is not None:
            await sim.apply_trade_fault(conn, rule, body, send, answer, req_id, op, charge)
            return
        send(body)
