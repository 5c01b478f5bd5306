"""Builders of public watch handles on top of the runtime's hub (validation happens before)."""

from __future__ import annotations

from typing import TypeVar

from bat_markets.core import (
    Channel,
    InstrumentSpec,
    OpenInterest,
    StreamData,
    Topic,
)

from ._books import BookFeed, BookSink, OrderBookWatch
from ._feeds import TypedListener
from ._handles import EventSink, EventWatch, StateSink, StateWatch, StatusWatch
from ._polling import PollFeed
from ._runtime import Runtime
from ._status import StatusEvent

__all__ = ["PublicLane"]

T = TypeVar("T")


def _describe(what: str, specs: list[InstrumentSpec], extra: str = "") -> str:
    names = ",".join(s.symbol for s in specs[:3]) + ("..." if len(specs) > 3 else "")
    return f"{what} {names}{extra}"


class PublicLane:
    """Creates handles for public streams: typed topic streams, books, polls, status, raw events."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _topics(
        self,
        channel: Channel,
        specs: list[InstrumentSpec],
        *,
        interval: str | None = None,
        depth: int | None = None,
    ) -> list[Topic]:
        topics: dict[tuple[str, str], Topic] = {}
        for spec in specs:
            for topic in self.rt.adapter.public_topics(
                channel, spec.id, interval=interval, depth=depth
            ):
                topics.setdefault((topic.route, topic.name), topic)
        return list(topics.values())

    def watch_state(
        self, kind: type[T], channel: Channel, specs: list[InstrumentSpec], what: str
    ) -> StateWatch[T]:
        topics = self._topics(channel, specs)  # the adapter refuses what it cannot serve
        sink: StateSink[T] = StateSink(_describe(what, specs), self.rt.venue)
        listener: TypedListener[T] = TypedListener(sink, kind, frozenset(s.symbol for s in specs))
        lease = self.rt.hub.acquire(topics, listener)
        self.rt.track(sink)
        return StateWatch(sink, lease.release, description=sink.name)

    def watch_events(
        self,
        kind: type[T],
        channel: Channel,
        specs: list[InstrumentSpec],
        what: str,
        *,
        buffer: int,
        interval: str | None = None,
    ) -> EventWatch[T]:
        topics = self._topics(channel, specs, interval=interval)
        extra = f" {interval}" if interval else ""
        sink: EventSink[T] = EventSink(_describe(what, specs, extra), buffer, self.rt.venue)
        listener: TypedListener[T] = TypedListener(
            sink, kind, frozenset(s.symbol for s in specs), interval
        )
        lease = self.rt.hub.acquire(topics, listener)
        self.rt.track(sink)
        return EventWatch(sink, lease.release, description=sink.name)

    def watch_book(self, spec: InstrumentSpec, depth: int | None) -> OrderBookWatch:
        rt = self.rt
        key = (spec.id, depth)
        feed = rt.books.get(key)
        if feed is None or feed.closed:
            topics = self._topics(Channel.ORDER_BOOK, [spec], depth=depth)

            def forget(done: BookFeed) -> None:
                if rt.books.get(key) is done:
                    del rt.books[key]
                    rt.book_resyncs_closed += done.resyncs

            feed = BookFeed(
                adapter=rt.adapter,
                hub=rt.hub,
                rest=rt.rest,
                options=rt.options,
                spawn=rt.spawn,
                emit=lambda kind, detail: rt.emit("public", kind, detail),
                spec=spec,
                depth=depth,
                topics=topics,
                on_idle=forget,
            )
            feed.start()
            rt.books[key] = feed
        sink = BookSink(feed, depth)
        feed.attach(sink)
        rt.track(sink)
        bound = feed
        return OrderBookWatch(
            sink,
            lambda: bound.detach(sink),
            description=f"order book {spec.symbol}" + (f" depth={depth}" if depth else ""),
        )

    def watch_polled_open_interest(self, spec: InstrumentSpec) -> StateWatch[OpenInterest]:
        rt = self.rt
        key = ("open_interest", spec.symbol)
        feed = rt.polls.get(key)
        if feed is None:

            def forget(done: PollFeed) -> None:
                if rt.polls.get(key) is done:
                    del rt.polls[key]

            native = spec.id
            feed = PollFeed(
                key=key,
                rest=rt.rest,
                make_flow=lambda: rt.adapter.fetch_open_interest(native),
                interval_s=rt.options.open_interest_poll_s,
                spawn=rt.spawn,
                on_idle=forget,
            )
            rt.polls[key] = feed
        sink: StateSink[OpenInterest] = StateSink(f"open interest {spec.symbol}", rt.venue)
        feed.attach(sink)
        rt.track(sink)
        bound = feed
        return StateWatch(sink, lambda: bound.detach(sink), description=sink.name)

    def watch_status(self, buffer: int) -> StatusWatch:
        rt = self.rt
        sink: EventSink[StatusEvent] = EventSink("status", buffer, rt.venue)
        rt.status_sinks.append(sink)

        def release() -> None:
            if sink in rt.status_sinks:
                rt.status_sinks.remove(sink)

        return StatusWatch(sink, release, rt.status)

    def subscribe_raw(self, buffer: int) -> EventWatch[StreamData]:
        rt = self.rt
        sink: EventSink[StreamData] = EventSink("public lane events", buffer, rt.venue)
        rt.hub.raw_sinks.append(sink)
        rt.track(sink)

        def release() -> None:
            if sink in rt.hub.raw_sinks:
                rt.hub.raw_sinks.remove(sink)

        return EventWatch(sink, release, description=sink.name)

    def publish_raw(self, data: StreamData) -> None:
        for sink in self.rt.hub.raw_sinks:
            sink.push(data)
