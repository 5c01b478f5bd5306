"""The live runtime of one client: task group, clock, limiter, REST executor, public hub.

Everything that runs in the background (websocket connections, book snapshots, polls, clock
refresh) is a child of one anyio task group owned by a root task, so ``close()`` cancels all of
it and no task outlives the client. Background tasks are supervised: an unexpected exception is
logged and counted, never propagated into unrelated streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskGroup

from bat_markets.core import (
    BatMarketsError,
    Credentials,
    Endpoints,
    Markets,
    TransportError,
    Unsupported,
    VenueAdapter,
    VenueConfig,
)

from ._books import BookFeed
from ._clock import Clock
from ._handles import EventSink, Sink, closed_error
from ._hub import PublicHub
from ._limiter import RateLimiter
from ._options import ClientOptions
from ._polling import PollFeed
from ._rest import RestExecutor
from ._status import (
    ClockDiagnostics,
    ConnectionDiagnostics,
    Diagnostics,
    Health,
    LaneStatus,
    Status,
    StatusEvent,
    worst,
)

__all__ = ["Runtime"]

log = logging.getLogger("bat_markets.client")


def _not_running(lane: str) -> LaneStatus:
    return LaneStatus(lane=lane, health=Health.IDLE, detail="not implemented in this release")


class Runtime:
    """Owns every live resource of a client. Lanes register here; the facade delegates here."""

    def __init__(
        self,
        adapter: VenueAdapter,
        *,
        config: VenueConfig,
        options: ClientOptions,
        endpoints: Endpoints,
        credentials: Credentials | None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.id
        self.config = config
        self.options = options
        self.endpoints = endpoints
        self.credentials = credentials
        self.environment = str(config.environment)
        self.clock = Clock()
        self.limiter = RateLimiter(
            adapter.rate_limit_rules,
            safety=options.rate_limit_safety,
            max_wait_s=options.max_throttle_wait_s,
            venue=adapter.id,
            wall_ms=self.clock.now_ms,
        )
        self.rest = RestExecutor(
            adapter,
            base_url=endpoints.rest,
            credentials=credentials,
            recv_window_ms=config.recv_window_ms,
            timeouts=config.timeouts,
            options=options,
            clock=self.clock,
            limiter=self.limiter,
            on_event=self.emit,
        )
        self.hub = PublicHub(
            adapter,
            endpoints,
            options,
            spawn=self.spawn,
            emit=lambda kind, detail, conn: self.emit("public", kind, detail, conn),
            handshake_timeout=config.timeouts.ws_handshake,
        )
        self.books: dict[tuple[str, int | None], BookFeed] = {}
        self.book_resyncs_closed = 0  # resyncs of book feeds already closed
        self.polls: dict[tuple[str, str], PollFeed] = {}
        self.status_sinks: list[EventSink[StatusEvent]] = []
        self.sinks: weakref.WeakSet[Sink[Any]] = weakref.WeakSet()
        # Lanes added later (private, command) register their status here.
        self.lane_status: dict[str, Callable[[], LaneStatus]] = {
            "private": lambda: _not_running("private"),
            "command": lambda: _not_running("command"),
        }
        self.close_hooks: list[Callable[[], Awaitable[None]]] = []
        # Diagnostics of sockets owned by other lanes, and the command tracker's counts.
        self.connection_hooks: list[Callable[[], list[ConnectionDiagnostics]]] = []
        self.command_counts: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (pending, unknown)
        self.started = False
        self.closed = False
        self.started_at = time.monotonic()
        self.task_failures = 0
        self._tg: TaskGroup | None = None
        self._root: asyncio.Task[None] | None = None
        self._stop: anyio.Event | None = None
        self._health = Health.IDLE

    # -- lifecycle
    async def start(self) -> None:
        """Start the task group, measure the clock, load markets. Fails (and cleans up) on error."""
        if self.started:
            return
        if self.closed:
            raise TransportError("the client is closed", venue=self.venue)
        self.started = True
        self._stop = anyio.Event()
        ready = anyio.Event()
        self._root = asyncio.get_running_loop().create_task(
            self._main(ready), name=f"bat-markets {self.venue} runtime"
        )
        await ready.wait()
        try:
            if self.options.sync_clock_on_start:
                with contextlib.suppress(Unsupported):  # no server time: use the local clock
                    await self.rest.sync_clock()
            if self.options.load_markets_on_start:
                await self.load_markets()
            if self.options.clock_refresh_s > 0:
                self.spawn(self._refresh_clock, name=f"bat-markets {self.venue} clock")
        except BaseException:
            await self.close()
            raise

    async def _main(self, ready: anyio.Event) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            ready.set()
            assert self._stop is not None
            await self._stop.wait()
            tg.cancel_scope.cancel()

    async def close(self) -> None:
        """Release every socket and task; every open handle's ``recv()`` raises ``StreamClosed``."""
        if self.closed:
            return
        self.closed = True
        for hook in list(self.close_hooks):
            try:
                await hook()
            except Exception:
                log.exception("close hook failed")
        self.hub.close()
        for feed in list(self.books.values()):
            feed.close()
        for poll in list(self.polls.values()):
            poll.close()
        error = closed_error(self.venue)
        for sink in list(self.sinks):
            sink.fail(error)
        self.emit("runtime", "closed", None)
        for sink in list(self.status_sinks):
            sink.fail(error)
        if self._stop is not None:
            self._stop.set()
        if self._root is not None:
            with anyio.CancelScope(shield=True):
                await self._root
        self._tg = None
        await self.rest.aclose()

    def spawn(
        self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None
    ) -> anyio.CancelScope:
        """Run ``fn(*args)`` in the runtime's task group; cancel it with the returned scope."""
        if self._tg is None or self.closed:
            raise TransportError("the live client is not running", venue=self.venue)
        scope = anyio.CancelScope()

        async def supervised() -> None:
            with scope:
                try:
                    await fn(*args)
                except Exception:
                    self.task_failures += 1
                    log.exception("background task %s failed", name or fn)

        self._tg.start_soon(supervised, name=name)
        return scope

    async def _refresh_clock(self) -> None:
        while True:
            await anyio.sleep(self.options.clock_refresh_s)
            try:
                await self.rest.sync_clock()
            except BatMarketsError as exc:
                self.emit("rest", "clock_error", f"clock refresh failed: {exc}")

    async def load_markets(self) -> Markets:
        specs = await self.rest.run(self.adapter.load_markets())
        # A new catalog object (not an in-place update): adapters key their symbol caches on it.
        self.adapter.markets = Markets(self.adapter.id, specs)
        return self.adapter.markets

    def track(self, sink: Sink[Any]) -> None:
        self.sinks.add(sink)

    # -- status
    def emit(self, lane: str, kind: str, detail: str | None, connection: int | None = None) -> None:
        """Publish a status event to ``watch_status()`` watchers (and a health change, if any)."""
        health = Health.CLOSED if self.closed else self._overall()
        if not self.status_sinks:
            self._health = health
            return
        now = self.clock.now_ms()
        event = StatusEvent(
            timestamp=now,
            lane=lane,
            kind=kind,
            health=health,
            detail=detail,
            connection=connection,
        )
        changed = health is not self._health
        self._health = health
        for sink in list(self.status_sinks):
            sink.push(event)
            if changed:
                sink.push(StatusEvent(timestamp=now, lane="client", kind="health", health=health))

    def _lanes(self) -> tuple[LaneStatus, LaneStatus, LaneStatus, LaneStatus]:
        return (
            self.rest.lane_status(),
            self.hub.lane_status(),
            self.lane_status["private"](),
            self.lane_status["command"](),
        )

    def _overall(self) -> Health:
        return worst([lane.health for lane in self._lanes()])

    def status(self) -> Status:
        rest, public, private, command = self._lanes()
        health = (
            Health.CLOSED
            if self.closed
            else worst([rest.health, public.health, private.health, command.health])
        )
        banned = self.limiter.ban_remaining()
        return Status(
            venue=self.venue,
            environment=self.environment,
            health=health,
            rest=rest,
            public=public,
            private=private,
            command=command,
            clock_offset_ms=self.clock.offset_ms if self.clock.synced else None,
            rate_limited_for_s=round(banned, 3) if banned > 0 else None,
        )

    def diagnostics(self) -> Diagnostics:
        status = self.status()
        clock = self.clock
        sinks = list(self.sinks)
        lagged = sum(getattr(s, "lagged_total", 0) for s in sinks)
        connections = [c.diagnostics() for c in self.hub.connections]
        for hook in self.connection_hooks:
            try:
                connections.extend(hook())
            except Exception:
                log.exception("connection diagnostics hook failed")
        pending, unknown = self.command_counts()
        return Diagnostics(
            venue=self.venue,
            environment=self.environment,
            uptime_s=round(time.monotonic() - self.started_at, 3),
            status=status,
            clock=ClockDiagnostics(
                offset_ms=clock.offset_ms,
                rtt_ms=clock.rtt_ms,
                synced=clock.synced,
                last_sync_age_s=(
                    round(time.monotonic() - clock.synced_at, 3)
                    if clock.synced_at is not None
                    else None
                ),
                syncs=clock.syncs,
                errors=clock.errors,
            ),
            rest=self.rest.diagnostics(),
            connections=connections,
            streams=self.hub.stream_diagnostics(),
            books=[f.diagnostics() for f in self.books.values()],
            handles=sum(1 for s in sinks if s.error is None),
            lagged_events=lagged,
            invalid_frames=self.hub.invalid_frames,
            reconnects=status.public.reconnects,
            book_resyncs=self.book_resyncs_closed + sum(f.resyncs for f in self.books.values()),
            pending_commands=pending,
            unknown_commands=unknown,
        )
