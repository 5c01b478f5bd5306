"""Watch handles and the consumer-side buffers behind them.

A *sink* is what the runtime pushes into; a *handle* (``Watch``) is what the user pulls from. The
runtime only ever references sinks, never handles, so a handle the user drops is garbage-collected
and its ``__del__`` releases the lease (with a ``ResourceWarning``: call ``shutdown()``).

Two buffering policies:

* ``StateSink`` **conflates** (order book, ticker, mark price, funding, open interest, balances,
  positions): one slot per key (symbol), a newer value replaces an unread one, so a slow consumer
  always sees the latest state and memory stays bounded.
* ``EventSink`` is a **bounded buffer** (trades, ohlcv, liquidations, orders, fills): when it is
  full the oldest event is dropped and counted; the next ``recv()`` raises ``Lagged(count)`` once,
  then continues with the oldest event still buffered. Loss is never silent and memory never grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections import deque
from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Generic, TypeVar

import anyio

from bat_markets.core import BatMarketsError

from ._errors import Lagged, StreamClosed, StreamGap
from ._status import Status, StatusEvent

__all__ = [
    "Sink",
    "EventSink",
    "StateSink",
    "Watch",
    "EventWatch",
    "StateWatch",
    "StatusWatch",
    "closed_error",
]

T = TypeVar("T")


class Sink(Generic[T]):
    """Base of consumer buffers: a wake-up event and a terminal error."""

    __slots__ = ("__weakref__", "_error", "_waiter", "name", "venue")

    def __init__(self, name: str, venue: str | None = None) -> None:
        self.name = name
        self.venue = venue
        self._waiter: anyio.Event | None = None
        self._error: BaseException | None = None

    @property
    def error(self) -> BaseException | None:
        return self._error

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    async def _wait(self) -> None:
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = anyio.Event()
        await waiter.wait()

    def fail(self, error: BaseException) -> None:
        """Terminate the stream: buffered items are still delivered, then ``error`` is raised."""
        if self._error is None:
            self._error = error
        self._wake()

    def clear(self) -> None:
        """Drop buffered items (used on shutdown)."""

    async def get(self) -> T:  # pragma: no cover - abstract
        raise NotImplementedError


class _Gap:
    """A ``StreamGap`` marker at its place in an event buffer."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class EventSink(Sink[T]):
    """Bounded FIFO: overflow drops the oldest item and is reported once as ``Lagged``."""

    __slots__ = ("_buf", "_lost", "capacity", "delivered", "gaps", "lagged_total")

    def __init__(self, name: str, capacity: int, venue: str | None = None) -> None:
        super().__init__(name, venue)
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._buf: deque[T | _Gap] = deque()
        self._lost = 0
        self.lagged_total = 0
        self.delivered = 0
        self.gaps = 0

    def __len__(self) -> int:
        return len(self._buf)

    def push(self, item: T | _Gap) -> None:
        if self._error is not None:
            return
        buf = self._buf
        if len(buf) >= self.capacity:
            buf.popleft()
            self._lost += 1
            self.lagged_total += 1
        buf.append(item)
        if self._waiter is not None:
            self._wake()

    def gap(self, reason: str) -> None:
        """Mark that events may be missing here (``StreamGap`` when the consumer reaches it)."""
        buf = self._buf
        if self._error is not None or (buf and type(buf[-1]) is _Gap):
            return
        self.gaps += 1
        self.push(_Gap(reason))

    def clear(self) -> None:
        self._buf.clear()
        self._lost = 0

    async def get(self) -> T:
        while True:
            if self._lost:
                lost, self._lost = self._lost, 0
                raise Lagged(lost, venue=self.venue, stream=self.name)
            if self._buf:
                item = self._buf.popleft()
                if isinstance(item, _Gap):
                    raise StreamGap(item.reason, venue=self.venue, stream=self.name)
                self.delivered += 1
                return item
            if self._error is not None:
                raise self._error
            await self._wait()


class StateSink(Sink[T]):
    """Conflating buffer: the latest unread value per key (e.g. per symbol)."""

    __slots__ = ("_slots", "conflated", "delivered")

    def __init__(self, name: str, venue: str | None = None) -> None:
        super().__init__(name, venue)
        self._slots: dict[Hashable, T] = {}
        self.conflated = 0  # values replaced before being read
        self.delivered = 0

    def __len__(self) -> int:
        return len(self._slots)

    def push(self, item: T, key: Hashable = None) -> None:
        if self._error is not None:
            return
        if key in self._slots:
            self.conflated += 1
        self._slots[key] = item
        if self._waiter is not None:
            self._wake()

    def clear(self) -> None:
        self._slots.clear()

    async def get(self) -> T:
        while True:
            slots = self._slots
            if slots:
                self.delivered += 1
                return slots.pop(next(iter(slots)))
            if self._error is not None:
                raise self._error
            await self._wait()


class Watch(Generic[T]):
    """A live stream: ``await recv()``, ``async for``, ``async with`` and ``await shutdown()``.

    ``shutdown()`` releases the subscription (the last watcher of a stream unsubscribes it); after
    it, ``recv()`` raises ``StreamClosed`` and ``async for`` ends. When the client closes, ``recv()``
    raises ``StreamClosed`` too (it never hangs). A handle garbage-collected without ``shutdown()``
    releases its subscription and emits a ``ResourceWarning``.
    """

    def __init__(
        self,
        sink: Sink[T],
        release: Callable[[], None] | None,
        *,
        description: str,
    ) -> None:
        self._sink = sink
        self._release_fn = release
        self._released = False
        self.description = description
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.description} {state}>"

    @property
    def closed(self) -> bool:
        """True after ``shutdown()``, client close, or a terminal stream error."""
        return self._released or self._sink.error is not None

    @property
    def error(self) -> BaseException | None:
        """The terminal error, if the stream failed (e.g. the venue rejected the subscription)."""
        return self._sink.error

    async def recv(self) -> T:
        """The next item; raises the stream's error (``Lagged`` once on overflow, ``StreamClosed``)."""
        return await self._sink.get()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        release, self._release_fn = self._release_fn, None
        if release is not None:
            release()

    async def shutdown(self) -> None:
        """Release the subscription. Idempotent."""
        if self._released:
            return
        self._release()
        self._sink.clear()
        self._sink.fail(StreamClosed(f"{self.description} was shut down", venue=self._sink.venue))

    def __aiter__(self) -> Watch[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.recv()
        except StreamClosed:
            if self._released:
                raise StopAsyncIteration from None
            raise

    async def __aenter__(self) -> Watch[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    def __del__(self) -> None:
        if getattr(self, "_released", True):
            return
        sink = getattr(self, "_sink", None)
        if sink is not None and sink.error is None:
            warnings.warn(
                f"{self!r} was garbage-collected without shutdown(); its subscription was "
                "released. Use 'async with' or 'await handle.shutdown()'.",
                ResourceWarning,
                stacklevel=2,
            )
        self._released = True
        release, self._release_fn = self._release_fn, None
        if release is None:
            return
        loop = self._loop
        if loop is None:
            release()
            return
        # Never mutate runtime structures from inside an arbitrary GC point; a closed loop has
        # nothing left to release.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(release)


class EventWatch(Watch[T]):
    """An event stream (trades, ohlcv, liquidations) with a bounded buffer and ``Lagged`` signal."""

    _sink: EventSink[T]

    def __init__(
        self, sink: EventSink[T], release: Callable[[], None] | None, *, description: str
    ) -> None:
        super().__init__(sink, release, description=description)

    @property
    def capacity(self) -> int:
        return self._sink.capacity

    @property
    def lagged_total(self) -> int:
        """Events dropped so far because the consumer was too slow."""
        return self._sink.lagged_total

    @property
    def gaps(self) -> int:
        """Connection drops signalled on this stream so far (each raised once as ``StreamGap``)."""
        return self._sink.gaps

    async def __aenter__(self) -> EventWatch[T]:
        return self


class StateWatch(Watch[T]):
    """A state stream (ticker, mark price, funding, open interest): conflated, latest value wins."""

    _sink: StateSink[T]

    def __init__(
        self, sink: StateSink[T], release: Callable[[], None] | None, *, description: str
    ) -> None:
        super().__init__(sink, release, description=description)

    @property
    def conflated(self) -> int:
        """Values replaced by a newer one before the consumer read them."""
        return self._sink.conflated

    async def __aenter__(self) -> StateWatch[T]:
        return self


class StatusWatch(EventWatch[StatusEvent]):
    """Connection and health events of the client (``watch_status()``)."""

    def __init__(
        self,
        sink: EventSink[StatusEvent],
        release: Callable[[], None] | None,
        current: Callable[[], Status],
    ) -> None:
        super().__init__(sink, release, description="status")
        self._current = current

    def current(self) -> Status:
        """The client's status now (same as ``status()``)."""
        return self._current()

    async def __aenter__(self) -> StatusWatch:
        return self


def closed_error(venue: str | None) -> BatMarketsError:
    """The error every handle raises once its client is closed."""
    return StreamClosed("the client was closed", venue=venue)
