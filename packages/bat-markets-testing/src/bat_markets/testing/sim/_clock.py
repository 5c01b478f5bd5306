"""Engine clocks: wall time (default) or a manual clock for fully deterministic runs."""

from __future__ import annotations

import time

__all__ = ["Clock", "ManualClock"]


class Clock:
    """Wall-clock epoch milliseconds (integer arithmetic only)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def advance(self, ms: int) -> None:
        """Manual clocks move forward; the wall clock ignores this."""


class ManualClock(Clock):
    """A clock that only moves when told (``advance``) — for reproducible timestamps."""

    def __init__(self, start_ms: int = 1_750_000_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms
