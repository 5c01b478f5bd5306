"""REST polling feeds: streams a venue does not push (Binance open interest).

Each feed runs in its own task of the runtime's task group, never inside a socket read loop, and
is shared by every watcher of the same symbol; the last watcher's release cancels it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from bat_markets.core import BatMarketsError, RateLimited, RestFlow

from ._handles import StateSink
from ._rest import RestExecutor

__all__ = ["PollFeed"]


class PollFeed:
    """Polls ``make_flow()`` every ``interval_s`` and pushes each result to its sinks."""

    def __init__(
        self,
        *,
        key: tuple[str, str],
        rest: RestExecutor,
        make_flow: Callable[[], RestFlow[Any]],
        interval_s: float,
        spawn: Callable[..., anyio.CancelScope],
        on_idle: Callable[[PollFeed], None],
    ) -> None:
        self.key = key
        self.rest = rest
        self.make_flow = make_flow
        self.interval_s = interval_s
        self._spawn = spawn
        self._on_idle = on_idle
        self.sinks: list[StateSink[Any]] = []
        self.polls = 0
        self.errors = 0
        self.last_error: str | None = None
        self._scope: anyio.CancelScope | None = None
        self.last: Any = None

    def attach(self, sink: StateSink[Any]) -> None:
        self.sinks.append(sink)
        if self.last is not None:
            sink.push(self.last, self.key[1])
        if self._scope is None:
            self._scope = self._spawn(self._run, name=f"bat-markets poll {self.key}")

    def detach(self, sink: StateSink[Any]) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)
        if not self.sinks:
            self.close()
            self._on_idle(self)

    def close(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None

    async def _run(self) -> None:
        while True:
            delay = self.interval_s
            try:
                result = await self.rest.run(self.make_flow())
            except RateLimited as exc:
                self.errors += 1
                self.last_error = str(exc)
                delay = max(delay, exc.retry_after or 0.0)
            except BatMarketsError as exc:
                self.errors += 1
                self.last_error = str(exc)
            else:
                self.polls += 1
                self.last = result
                for sink in self.sinks:
                    sink.push(result, self.key[1])
            await anyio.sleep(delay)
