"""Listeners that turn a topic's decoded events into one stream's items.

A ``TypedListener`` keeps the events of one unified type (``Trade``, ``Ticker``...) for a set of
symbols and pushes them into a sink. Where a venue serves a family only inside another topic (Bybit
mark price, funding and open interest live in ``tickers.<SYM>``), and the adapter emits only the
richer type, the listener derives the narrower one from it (``Ticker`` -> ``MarkPrice``...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from bat_markets.core import (
    BatMarketsError,
    FundingRate,
    MarkPrice,
    OpenInterest,
    PublicEvent,
    Ticker,
)

from ._handles import EventSink, StateSink

__all__ = ["TypedListener", "derive_from_ticker"]

T = TypeVar("T")


def _mark_from_ticker(t: Ticker) -> MarkPrice | None:
    if t.mark_price is None:
        return None
    return MarkPrice(
        symbol=t.symbol, timestamp=t.timestamp, mark_price=t.mark_price, index_price=t.index_price
    )


def _funding_from_ticker(t: Ticker) -> FundingRate | None:
    if t.funding_rate is None:
        return None
    return FundingRate(
        symbol=t.symbol,
        timestamp=t.timestamp,
        funding_rate=t.funding_rate,
        funding_time=t.next_funding_time,
        mark_price=t.mark_price,
        index_price=t.index_price,
    )


def _oi_from_ticker(t: Ticker) -> OpenInterest | None:
    if t.open_interest is None:
        return None
    return OpenInterest(symbol=t.symbol, timestamp=t.timestamp, amount=t.open_interest)


_DERIVE: dict[type[Any], Callable[[Ticker], Any]] = {
    MarkPrice: _mark_from_ticker,
    FundingRate: _funding_from_ticker,
    OpenInterest: _oi_from_ticker,
}


def derive_from_ticker(kind: type[T], ticker: Ticker) -> T | None:
    """``kind`` built from the fields of ``ticker``, or ``None`` when it lacks them."""
    fn = _DERIVE.get(kind)
    result: T | None = fn(ticker) if fn is not None else None
    return result


class TypedListener(Generic[T]):
    """Pushes the events of type ``kind`` (optionally one ohlcv ``interval``) into ``sink``.

    State sinks are keyed by symbol, so ``watch_tickers`` conflates per symbol.
    """

    __slots__ = ("_push", "derive", "interval", "kind", "sink", "symbols")

    def __init__(
        self,
        sink: EventSink[T] | StateSink[T],
        kind: type[T],
        symbols: frozenset[str] | None = None,
        interval: str | None = None,
    ) -> None:
        self.sink = sink
        self.kind = kind
        self.symbols = symbols
        self.interval = interval
        self.derive = kind in _DERIVE
        self._push: Callable[[Any], None]
        if isinstance(sink, StateSink):
            state = sink
            self._push = lambda item: state.push(item, item.symbol)
        else:
            self._push = sink.push

    def on_events(self, topic: str, events: list[PublicEvent]) -> None:
        kind = self.kind
        symbols = self.symbols
        interval = self.interval
        push = self._push
        matched = False
        for event in events:
            if type(event) is not kind:
                continue
            matched = True
            item: Any = event
            if symbols is not None and item.symbol not in symbols:
                continue
            if interval is not None and item.interval != interval:
                continue
            push(item)
        if matched or not self.derive:
            return
        for event in events:
            if type(event) is Ticker and (symbols is None or event.symbol in symbols):
                derived = derive_from_ticker(kind, event)
                if derived is not None:
                    push(derived)

    def on_disconnect(self, topic: str) -> None:
        if isinstance(self.sink, EventSink):  # state streams heal with the next value
            self.sink.gap(f"the connection carrying {topic} dropped")

    def on_failed(self, topic: str, error: BatMarketsError) -> None:
        self.sink.fail(error)
