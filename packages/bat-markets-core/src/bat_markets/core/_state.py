"""Account state projection: balances, positions, orders and fills built from private events.

Sans-I/O. ``AccountState.apply`` takes one ``PrivateEvent`` and returns it when it changed the
state (so the runtime broadcasts it) or ``None`` when it was a duplicate or an older update that
must not overwrite newer knowledge. Rules:

* Orders never regress: an update with less filled quantity, an older ``updated_at``, or an
  earlier status than what is held is ignored, and a final order (filled, canceled, expired,
  rejected) never reopens. Duplicates and reordered events are therefore harmless.
* Positions are keyed by ``(symbol, position_side)`` so hedge-mode legs never overwrite each
  other. A zero-size update is kept as a flat position, not dropped.
* Fills are deduplicated by ``(symbol, trade id)`` inside a bounded window (Binance reports each
  fill twice: ``TRADE_LITE`` and ``ORDER_TRADE_UPDATE``).
* REST snapshots replace only what they cover: ``replace_open_orders(orders, symbol=...)`` never
  touches other symbols.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal

from ._enums import OrderStatus, PositionSide
from ._events import AccountConfigEvent, PrivateEvent
from ._models import Balance, MyTrade, Order, Position

__all__ = ["AccountState"]

_ZERO = Decimal(0)
_FOREVER = 2**62

# Order status progression. Equal filled quantity and equal rank with a changed body is an
# amendment (price/amount change) and is accepted when it is not older.
_STATUS_RANK: dict[OrderStatus, int] = {
    OrderStatus.NEW: 0,
    OrderStatus.TRIGGERED: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REJECTED: 3,
}


def _order_is_newer(old: Order, new: Order) -> bool:
    """Whether ``new`` carries newer knowledge than ``old`` about the same order."""
    if new == old:
        return False
    if old.status.is_final:
        # A final order never reopens; a later final report may only add fills (Bybit sends a
        # second ``Filled`` when a cancel races a fill).
        return new.status.is_final and new.filled > old.filled
    if new.filled != old.filled:
        return new.filled > old.filled
    if old.updated_at is not None and new.updated_at is not None:
        if new.updated_at < old.updated_at:
            return False
        if new.updated_at > old.updated_at:
            return _STATUS_RANK[new.status] >= _STATUS_RANK[old.status]
    return _STATUS_RANK[new.status] >= _STATUS_RANK[old.status]


def _flat(position: Position, timestamp: int | None) -> Position:
    return Position(
        symbol=position.symbol,
        position_side=position.position_side,
        size=_ZERO,
        leverage=position.leverage,
        margin_mode=position.margin_mode,
        unrealized_pnl=_ZERO,
        notional=_ZERO,
        timestamp=timestamp if timestamp is not None else position.timestamp,
    )


class AccountState:
    """The local projection of one account, fed by private events and REST snapshots.

    ``max_fills`` bounds the fill dedupe window; ``max_closed_orders`` bounds how many final
    orders are remembered (open orders are never evicted).
    """

    def __init__(self, *, max_fills: int = 10_000, max_closed_orders: int = 10_000) -> None:
        self._max_fills = max_fills
        self._max_closed = max_closed_orders
        self.clear()

    def clear(self) -> None:
        """Forget everything (new account, new credentials)."""
        self.balances: dict[str, Balance] = {}
        self.positions: dict[tuple[str, PositionSide], Position] = {}
        self.leverage: dict[str, int] = {}
        self.multi_assets: bool | None = None
        self._orders: dict[str, Order] = {}
        self._by_client_id: dict[str, str] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()  # final order ids, oldest first
        self._gone: OrderedDict[str, int] = OrderedDict()  # id -> snapshot ms it was absent at
        self._fills: OrderedDict[tuple[str, str], MyTrade] = OrderedDict()

    # -- reads

    def order(self, id: str | None = None, client_order_id: str | None = None) -> Order | None:
        """The latest known state of an order by venue id or by client order id."""
        if id is not None:
            found = self._orders.get(id)
            if found is not None:
                return found
        if client_order_id is not None:
            oid = self._by_client_id.get(client_order_id)
            if oid is not None:
                return self._orders.get(oid)
        return None

    def orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values() if symbol is None or o.symbol == symbol]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self._orders.values()
            if not o.status.is_final and (symbol is None or o.symbol == symbol)
        ]

    def position(self, symbol: str, position_side: PositionSide) -> Position | None:
        return self.positions.get((symbol, position_side))

    def positions_for(
        self, symbol: str | None = None, *, include_flat: bool = True
    ) -> list[Position]:
        return [
            p
            for p in self.positions.values()
            if (symbol is None or p.symbol == symbol) and (include_flat or p.size != 0)
        ]

    def fills(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
    ) -> list[MyTrade]:
        """Known fills, oldest first, optionally for one symbol and/or one order."""
        out = []
        for fill in self._fills.values():
            if symbol is not None and fill.symbol != symbol:
                continue
            if order_id is not None or client_order_id is not None:
                by_id = order_id is not None and fill.order_id == order_id
                by_cid = client_order_id is not None and fill.client_order_id == client_order_id
                if not (by_id or by_cid):
                    continue
            out.append(fill)
        return out

    def has_fill(self, symbol: str, trade_id: str) -> bool:
        return (symbol, trade_id) in self._fills

    # -- apply

    def apply(self, event: PrivateEvent) -> PrivateEvent | None:
        """Apply one event; return it if it changed the state, ``None`` if stale or duplicate."""
        if isinstance(event, Order):
            return event if self._apply_order(event) else None
        if isinstance(event, MyTrade):
            return event if self._apply_fill(event) else None
        if isinstance(event, Position):
            return event if self._apply_position(event) else None
        if isinstance(event, Balance):
            return event if self._apply_balance(event) else None
        if isinstance(event, AccountConfigEvent):
            changed = False
            if event.symbol is not None and event.leverage is not None:
                changed = self.leverage.get(event.symbol) != event.leverage
                self.leverage[event.symbol] = event.leverage
            if event.multi_assets is not None:
                changed = changed or self.multi_assets != event.multi_assets
                self.multi_assets = event.multi_assets
            return event if changed else None
        return event  # MarginCallEvent / StreamExpired: advisory or a runtime signal; not stored

    def apply_all(self, events: Iterable[PrivateEvent]) -> list[PrivateEvent]:
        """Apply events in order; return those that changed the state."""
        out: list[PrivateEvent] = []
        for event in events:
            applied = self.apply(event)
            if applied is not None:
                out.append(applied)
        return out

    def _apply_order(self, order: Order) -> bool:
        old = self._orders.get(order.id)
        if old is None:
            gone_at = self._gone.get(order.id)
            # A REST snapshot taken after this update no longer listed the order as open.
            if (
                gone_at is not None
                and not order.status.is_final
                and (order.updated_at is None or order.updated_at <= gone_at)
            ):
                return False
        elif not _order_is_newer(old, order):
            return False
        self._store_order(order)
        return True

    def _store_order(self, order: Order) -> None:
        self._orders[order.id] = order
        self._gone.pop(order.id, None)
        if order.client_order_id:
            current = self._by_client_id.get(order.client_order_id)
            held = None if current is None else self._orders.get(current)
            # Binance client ids are unique among open orders only: prefer the live order.
            if (
                held is None
                or held.id == order.id
                or not order.status.is_final
                or held.status.is_final
            ):
                self._by_client_id[order.client_order_id] = order.id
        if order.status.is_final:
            self._closed[order.id] = None
            self._closed.move_to_end(order.id)
            while len(self._closed) > self._max_closed:
                old_id, _ = self._closed.popitem(last=False)
                self._drop_order(old_id)
                self._tombstone(old_id, _FOREVER)  # an evicted final order still never reopens

    def _tombstone(self, order_id: str, until_ms: int) -> None:
        self._gone[order_id] = until_ms
        self._gone.move_to_end(order_id)
        while len(self._gone) > 4 * self._max_closed:
            self._gone.popitem(last=False)

    def _drop_order(self, order_id: str) -> None:
        dropped = self._orders.pop(order_id, None)
        cid = dropped.client_order_id if dropped is not None else None
        if cid and self._by_client_id.get(cid) == order_id:
            del self._by_client_id[cid]

    def _apply_fill(self, fill: MyTrade) -> bool:
        key = (fill.symbol, fill.id)
        old = self._fills.get(key)
        if old is not None:
            # Same fill reported twice: keep the richer record (fees, pnl), never re-announce it.
            if (old.fee is None and fill.fee is not None) or (
                old.realized_pnl is None and fill.realized_pnl is not None
            ):
                self._fills[key] = fill
            return False
        self._fills[key] = fill
        while len(self._fills) > self._max_fills:
            self._fills.popitem(last=False)
        return True

    def _apply_position(self, position: Position) -> bool:
        old = self.positions.get(position.key)
        if old is not None:
            if old == position:
                return False
            if (
                old.timestamp is not None
                and position.timestamp is not None
                and position.timestamp < old.timestamp
            ):
                return False
        self.positions[position.key] = position
        return True

    def _apply_balance(self, balance: Balance) -> bool:
        old = self.balances.get(balance.asset)
        if old is not None:
            if old == balance:
                return False
            if (
                old.timestamp is not None
                and balance.timestamp is not None
                and balance.timestamp < old.timestamp
            ):
                return False
        self.balances[balance.asset] = balance
        return True

    # -- REST snapshots

    def replace_open_orders(
        self,
        orders: Iterable[Order],
        symbol: str | None = None,
        *,
        timestamp: int | None = None,
    ) -> list[Order]:
        """Make the open orders of ``symbol`` (or of every symbol) match a REST snapshot.

        Orders in the snapshot go through the same regression guard as stream events. Open orders
        held locally but absent from the snapshot are forgotten (their final status is unknown
        here; ``fetch_order`` can tell). Orders of other symbols are never touched. Returns the
        orders that changed.
        """
        snapshot = list(orders)
        listed = {o.id for o in snapshot}
        changed = [o for o in snapshot if self._apply_order(o)]
        for held in self.open_orders(symbol):
            if held.id in listed:
                continue
            if (
                timestamp is not None
                and held.updated_at is not None
                and held.updated_at > timestamp
            ):
                continue  # updated by the stream after the snapshot was taken
            self._drop_order(held.id)
            self._tombstone(held.id, timestamp if timestamp is not None else held.updated_at or 0)
        return changed

    def replace_positions(
        self,
        positions: Iterable[Position],
        symbols: Iterable[str] | None = None,
        *,
        timestamp: int | None = None,
    ) -> list[Position]:
        """Make positions match a REST snapshot covering ``symbols`` (or all symbols).

        Legs held locally but absent from the snapshot become flat (size 0). Returns the
        positions that changed, flat ones included.
        """
        scope = None if symbols is None else set(symbols)
        snapshot = list(positions)
        listed = {p.key for p in snapshot}
        changed = [p for p in snapshot if self._apply_position(p)]
        for key, held in list(self.positions.items()):
            if key in listed or held.size == 0:
                continue
            if scope is not None and held.symbol not in scope:
                continue
            flat = _flat(held, timestamp)
            self.positions[key] = flat
            changed.append(flat)
        return changed

    def replace_balances(self, balances: Iterable[Balance]) -> list[Balance]:
        """Replace balances with a REST snapshot; returns the balances that changed."""
        snapshot = {b.asset: b for b in balances}
        changed = [b for b in snapshot.values() if self.balances.get(b.asset) != b]
        self.balances = snapshot
        return changed
