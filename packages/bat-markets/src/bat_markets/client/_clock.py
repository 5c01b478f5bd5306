"""Server-clock offset: measured at start, refreshed periodically and after clock rejections."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["Clock"]


class Clock:
    """``now_ms()`` is the local wall clock corrected by the measured offset to the venue.

    ``offset = server_time - midpoint(send, receive)``: the midpoint halves the request's
    round-trip, which is the usual assumption of a symmetric path.
    """

    def __init__(self, wall_ms: Callable[[], float] | None = None) -> None:
        self._wall_ms = wall_ms or (lambda: time.time() * 1000.0)
        self.offset_ms = 0
        self.rtt_ms: int | None = None
        self.synced_at: float | None = None  # monotonic
        self.syncs = 0
        self.errors = 0
        self._lock = anyio.Lock()

    def local_ms(self) -> int:
        return int(self._wall_ms())

    def now_ms(self) -> int:
        """Venue time estimate in epoch ms: use it for request timestamps."""
        return int(self._wall_ms()) + self.offset_ms

    @property
    def synced(self) -> bool:
        return self.synced_at is not None

    def record(self, sent_ms: float, received_ms: float, server_ms: int) -> int:
        """Fold one measurement in; returns the new offset."""
        midpoint = (sent_ms + received_ms) / 2.0
        self.offset_ms = round(server_ms - midpoint)
        self.rtt_ms = max(0, round(received_ms - sent_ms))
        self.synced_at = time.monotonic()
        self.syncs += 1
        return self.offset_ms

    async def sync(self, server_time: Callable[[], Awaitable[int]]) -> int:
        """Measure the offset with ``server_time()`` (one venue request). Concurrent calls share one."""
        if self._lock.locked():
            async with self._lock:  # someone else is measuring: use their result
                return self.offset_ms
        async with self._lock:
            sent = self._wall_ms()
            try:
                server = await server_time()
            except BaseException:
                self.errors += 1
                raise
            received = self._wall_ms()
            return self.record(sent, received, server)
