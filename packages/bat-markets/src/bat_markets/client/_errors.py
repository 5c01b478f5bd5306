"""Errors specific to the live runtime's streams, placed inside the core taxonomy."""

from __future__ import annotations

from bat_markets.core import TransportError

__all__ = ["Lagged", "StreamClosed", "StreamGap"]


class Lagged(TransportError):
    """The consumer fell behind a bounded event stream and ``count`` events were dropped.

    Raised **once** by ``recv()`` (and by ``async for``) at the point where the loss happened; the
    handle stays usable and the next ``recv()`` returns the oldest event still buffered. It is a
    ``TransportError`` because, from the consumer's side, it is a gap in the stream.
    """

    def __init__(self, count: int, *, venue: str | None = None, stream: str = "") -> None:
        where = f" on {stream}" if stream else ""
        super().__init__(
            f"consumer lagged{where}: {count} event(s) dropped (buffer full)",
            venue=venue,
            retryable=True,
        )
        self.count = count


class StreamGap(TransportError):
    """The connection carrying an event stream dropped: events may be missing at this point.

    Raised **once** by ``recv()`` (and by ``async for``) after the events received before the
    drop; the runtime reconnects and resubscribes, and the next ``recv()`` returns what arrives
    after that. The venues do not replay public events, so what was missed is unknown: refetch
    (``fetch_trades``, ``fetch_ohlcv``) if the consumer needs a complete record.
    """

    def __init__(self, reason: str, *, venue: str | None = None, stream: str = "") -> None:
        where = f" on {stream}" if stream else ""
        super().__init__(
            f"stream gap{where}: {reason}; events may be missing here",
            venue=venue,
            retryable=True,
        )
        self.reason = reason


class StreamClosed(TransportError):
    """The handle was shut down, or the client it belongs to was closed."""

    default_retryable = False
