"""Bybit-style identifiers for engine objects (UUID strings), stable and reversible."""

from __future__ import annotations

import uuid

__all__ = ["IdMap"]


class IdMap:
    """Maps the engine's integer ids to the venue's UUID strings and back.

    Ids derive from ``seed`` so two simulators with the same seed hand out the same ids. A
    conditional order and the order it places when triggered share one ``orderId`` (as on Bybit).
    """

    __slots__ = ("_cond_alias", "_cond_by_uuid", "_ns", "_order_by_uuid", "_order_uuid")

    def __init__(self, seed: int = 0) -> None:
        self._ns = uuid.uuid5(uuid.NAMESPACE_URL, f"bat-markets-sim-bybit/{seed}")
        self._order_uuid: dict[int, str] = {}
        self._order_by_uuid: dict[str, int] = {}
        self._cond_by_uuid: dict[str, int] = {}
        self._cond_alias: dict[int, str] = {}

    def _make(self, kind: str, n: int | str) -> str:
        return str(uuid.uuid5(self._ns, f"{kind}:{n}"))

    def cond(self, cond_id: int) -> str:
        text = self._cond_alias.get(cond_id)
        if text is None:
            text = self._make("cond", cond_id)
            self._cond_by_uuid.setdefault(text, cond_id)
        return text

    def alias_cond(self, cond_id: int, text: str) -> None:
        """A replacement conditional keeps the ``orderId`` of the one it replaced."""
        self._cond_alias[cond_id] = text
        self._cond_by_uuid[text] = cond_id

    def order(self, order_id: int, cond_id: int = 0) -> str:
        """The ``orderId`` of an engine order (its conditional's id when it came from one)."""
        text = self._order_uuid.get(order_id)
        if text is None:
            text = self.cond(cond_id) if cond_id else self._make("order", order_id)
            self._order_uuid[order_id] = text
            self._order_by_uuid[text] = order_id
        return text

    def order_of(self, text: str) -> int | None:
        """Engine order id of a venue ``orderId`` (None if unknown or not yet triggered)."""
        return self._order_by_uuid.get(text)

    def cond_of(self, text: str) -> int | None:
        return self._cond_by_uuid.get(text)

    def execution(self, trade_id: int, order_id: int) -> str:
        return self._make("exec", f"{trade_id}:{order_id}")

    def trade(self, symbol: str, trade_id: int) -> str:
        return self._make("trade", f"{symbol}:{trade_id}")

    def message(self, n: int) -> str:
        """An ``id`` for a private-topic message."""
        return self._make("msg", n)

    def conn(self, n: int) -> str:
        """A ``conn_id`` in the venue's look (``cejreaspqfh3sjdnldmg-p``-like)."""
        raw = self._make("conn", n).replace("-", "")
        return f"{raw[:20]}-{n:x}"
