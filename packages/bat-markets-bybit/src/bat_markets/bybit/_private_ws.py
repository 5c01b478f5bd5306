"""Private websocket frames (``/v5/private``) to lane events (§7.Y).

Topics ``order``, ``execution``, ``execution.fast``, ``position`` and ``wallet`` (and their
``.linear`` variants) decode to ``Order``, ``MyTrade``, ``Position`` and ``Balance`` events.
All-in-one topics also carry spot/option/inverse and USDC rows: only USDT linear rows are kept.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from bat_markets.core import Control, DecodeError, PrivateData, PrivateEvent, PrivateFrame

from ._convert import (
    Unify,
    balance_from_coin,
    my_trade_from_fast,
    my_trade_from_row,
    order_from_row,
    position_from_row,
)
from ._native import (
    ExecutionRow,
    FastExecutionRow,
    OrderRow,
    PositionRow,
    WalletAccount,
    WsEnvelope,
    lax,
    strict,
)
from ._public_ws import DECODE_FAILURES, control_from
from ._util import VENUE

__all__ = ["PrivateDecoder", "PRIVATE_TOPICS"]

PRIVATE_TOPICS = ("order", "execution", "position", "wallet")
_ENVELOPE = strict(WsEnvelope)
_ORDERS = lax(list[OrderRow])
_EXECUTIONS = lax(list[ExecutionRow])
_FAST = lax(list[FastExecutionRow])
_POSITIONS = lax(list[PositionRow])
_WALLETS = lax(list[WalletAccount])


class PrivateDecoder:
    """Decoder for one adapter instance; ``accept`` filters native symbols (USDT linear)."""

    __slots__ = ("_accept", "_handlers", "_unify", "unknown_frames")

    def __init__(self, unify: Unify, accept: Callable[[str], bool]) -> None:
        self._unify = unify
        self._accept = accept
        self.unknown_frames = 0
        self._handlers: dict[str, Callable[[msgspec.Raw, int | None], list[PrivateEvent]]] = {
            "order": self._orders,
            "order.linear": self._orders,
            "execution": self._executions,
            "execution.linear": self._executions,
            "execution.fast": self._fast,
            "execution.fast.linear": self._fast,
            "position": self._positions,
            "position.linear": self._positions,
            "wallet": self._wallet,
        }

    def decode(self, frame: bytes | str) -> PrivateFrame:
        try:
            env = _ENVELOPE.decode(frame)
            topic = env.topic
            if not topic:
                control = control_from(env) if env.op else Control(kind="unknown")
                if control.kind == "unknown":
                    self.unknown_frames += 1
                return control
            handler = self._handlers.get(topic)
            if handler is None:  # greeks, dcp, anything new
                self.unknown_frames += 1
                return Control(kind="unknown", message=f"unknown topic {topic!r}", topics=[topic])
            if not env.data:
                raise DecodeError(f"{topic}: frame without data", venue=VENUE)
            return PrivateData(
                topic=topic,
                events=handler(env.data, env.creationTime),
                timestamp=env.creationTime,
            )
        except DecodeError:
            raise
        except DECODE_FAILURES as exc:
            raise DecodeError(f"malformed Bybit private frame: {exc}", venue=VENUE) from exc

    def _keep(self, category: str, symbol: str) -> bool:
        return category == "linear" and self._accept(symbol)

    def _orders(self, raw: msgspec.Raw, ts: int | None) -> list[PrivateEvent]:
        return [
            order_from_row(row, self._unify)
            for row in _ORDERS.decode(raw)
            if self._keep(row.category, row.symbol)
        ]

    def _executions(self, raw: msgspec.Raw, ts: int | None) -> list[PrivateEvent]:
        out: list[PrivateEvent] = []
        for row in _EXECUTIONS.decode(raw):
            if self._keep(row.category, row.symbol):
                trade = my_trade_from_row(row, self._unify)
                if trade is not None:
                    out.append(trade)
        return out

    def _fast(self, raw: msgspec.Raw, ts: int | None) -> list[PrivateEvent]:
        return [
            my_trade_from_fast(row, self._unify)
            for row in _FAST.decode(raw)
            if self._keep(row.category, row.symbol)
        ]

    def _positions(self, raw: msgspec.Raw, ts: int | None) -> list[PrivateEvent]:
        return [
            position_from_row(row, self._unify)
            for row in _POSITIONS.decode(raw)
            if self._keep(row.category, row.symbol)
        ]

    def _wallet(self, raw: msgspec.Raw, ts: int | None) -> list[PrivateEvent]:
        return [
            balance_from_coin(coin, ts) for account in _WALLETS.decode(raw) for coin in account.coin
        ]
