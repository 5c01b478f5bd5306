"""Private topics of ``/v5/private`` (order, execution, execution.fast, position, wallet).

Engine events of one account are coalesced per event-loop turn into one message per topic, in
the fixture envelope ``{id, topic, creationTime, data: [...]}`` (``execution.fast`` has no
``id``). Position rows are pushed after every order create/amend/cancel and every fill, even
when unchanged, as the venue does. Fills go out as kind ``fill`` so the fault plan can hold them
back (late fills); everything else as ``private`` (duplicates / reordering apply to both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from .._events import AccountUpdate, ConditionalUpdate, ConfigUpdate, EngineEvent, OrderUpdate
from .._model import CondStatus, ExecType
from .._server import SimConnection
from . import _render as R
from ._public import schedule

if TYPE_CHECKING:
    from .._engine import Engine
    from ._bridge import Bridge

__all__ = ["FAMILIES", "topic_family", "PrivateHub"]

#: subscribable private topic -> family
FAMILIES: dict[str, str] = {
    "order": "order",
    "order.linear": "order",
    "execution": "execution",
    "execution.linear": "execution",
    "execution.fast": "execution.fast",
    "execution.fast.linear": "execution.fast",
    "position": "position",
    "position.linear": "position",
    "wallet": "wallet",
}
_encode = msgspec.json.Encoder().encode


def topic_family(name: object) -> str | None:
    return FAMILIES.get(name) if isinstance(name, str) else None


class _Pending:
    __slots__ = ("execs", "fast", "orders", "positions", "wallet")

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.execs: list[dict[str, Any]] = []
        self.fast: list[dict[str, Any]] = []
        self.positions: set[str] = set()
        self.wallet = False


class PrivateHub:
    """Authenticated private connections per account, and their pushes."""

    def __init__(self, engine: Engine, bridge: Bridge, now_ms: Callable[[], int]) -> None:
        self.engine = engine
        self.bridge = bridge
        self.now_ms = now_ms
        self.conns: dict[str, set[SimConnection]] = {}
        self._pending: dict[str, _Pending] = {}
        self._scheduled = False
        self._msg_n = 0

    # -- connections -----------------------------------------------------------------------------
    def attach(self, conn: SimConnection, api_key: str) -> None:
        conn.state["bybit_key"] = api_key
        conn.state.setdefault("bybit_topics", set())
        self.conns.setdefault(api_key, set()).add(conn)

    def detach(self, conn: SimConnection) -> None:
        key = conn.state.get("bybit_key")
        if key is not None and key in self.conns:
            self.conns[key].discard(conn)
            if not self.conns[key]:
                del self.conns[key]

    # -- events ----------------------------------------------------------------------------------
    def _p(self, account: str) -> _Pending:
        p = self._pending.get(account)
        if p is None:
            p = self._pending[account] = _Pending()
        if not self._scheduled:
            self._scheduled = True
            schedule(self.flush)
        return p

    def on_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, OrderUpdate):
            if ev.account not in self.conns:
                return
            p = self._p(ev.account)
            order = ev.order
            views = self.bridge.instruments[order.symbol]
            p.orders.append(R.order_ws(self.bridge.order_view(order), views))
            if ev.exec_type is ExecType.TRADE and ev.fill is not None:
                ex = self.bridge.exec_view(ev.fill, order)
                p.execs.append(R.execution_ws(ex, views))
                p.fast.append(R.execution_fast_ws(ex, views))
            p.positions.add(order.symbol)
        elif isinstance(ev, ConditionalUpdate):
            if ev.account not in self.conns:
                return
            cond = ev.cond
            if cond.extra.get("bybit_replaced"):
                return  # an amended conditional: its replacement reports under the same orderId
            # TRIGGERED shows once ("Triggered"), then the placed order reports under the same
            # orderId; TRIGGERING is internal and FINISHED is told by the order itself
            if cond.status in (
                CondStatus.NEW,
                CondStatus.TRIGGERED,
                CondStatus.CANCELED,
                CondStatus.EXPIRED,
                CondStatus.REJECTED,
            ):
                p = self._p(ev.account)
                p.orders.append(
                    R.order_ws(self.bridge.cond_view(cond), self.bridge.instruments[cond.symbol])
                )
        elif isinstance(ev, AccountUpdate):
            if ev.account not in self.conns:
                return
            p = self._p(ev.account)
            if ev.balances:
                p.wallet = True
            for pos in ev.positions:
                p.positions.add(pos.symbol)
        elif isinstance(ev, ConfigUpdate):
            if ev.account not in self.conns:
                return
            p = self._p(ev.account)
            if ev.symbol is not None:
                p.positions.add(ev.symbol)

    # -- publishing ------------------------------------------------------------------------------
    def _message(self, topic: str, family: str, data: list[dict[str, Any]]) -> str:
        self._msg_n += 1
        msg_id = None if family == "execution.fast" else self.bridge.ids.message(self._msg_n)
        return _encode(
            R.private_message(topic, data, creation_ms=self.now_ms(), msg_id=msg_id)
        ).decode()

    def _send(self, account: str, family: str, data: list[dict[str, Any]], kind: str) -> None:
        if not data:
            return
        for conn in list(self.conns.get(account, ())):
            topics: set[str] = conn.state.get("bybit_topics", set())
            for name in topics:
                if FAMILIES[name] == family:
                    conn.push(self._message(name, family, data), kind)

    def push_positions(self, account: str, symbols: set[str]) -> None:
        """Queue position rows of ``symbols`` for ``account`` (e.g. after a rejected command)."""
        if account in self.conns:
            self._p(account).positions.update(symbols)

    def flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, {}
        for account, p in pending.items():
            if account not in self.conns:
                continue
            self._send(account, "order", p.orders, "private")
            self._send(account, "execution.fast", p.fast, "fill")
            self._send(account, "execution", p.execs, "fill")
            if p.positions:
                rows = []
                for sym in sorted(p.positions):
                    view = self.bridge.instruments[sym]
                    for row in self.bridge.position_rows(account, sym, include_flat=True):
                        rows.append(R.position_ws(row, view))
                self._send(account, "position", rows, "private")
            if p.wallet:
                self._send(
                    account,
                    "wallet",
                    [R.wallet_account(self.bridge.wallet_view(account))],
                    "private",
                )
