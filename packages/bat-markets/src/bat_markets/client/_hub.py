"""The shared public websocket hub: leases, topics, sharded connections, heartbeats, reconnects.

Structure (one hub per live client):

* a **topic entry** per venue stream name (``btcusdt@depth@100ms``, ``orderbook.50.BTCUSDT``)
  holds the listeners that leased it; the first lease subscribes, the last release unsubscribes;
* a **connection** per route shard holds at most ``adapter.max_topics_per_connection()`` topics;
  its task connects, (re)subscribes everything still leased, reads frames, sends heartbeats, and
  reconnects with jittered backoff. A connection left without topics closes after a linger.

The read loop only decodes and dispatches: REST work (book snapshots, open-interest polling) runs in
its own tasks. A frame that fails to decode is counted and skipped; an unknown control frame is
counted; neither ever ends a connection. Acquire and release are synchronous (they only change
the desired topic set and wake the connection's writer), so a garbage-collected handle can release
its lease from ``__del__``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import anyio
import websockets

from bat_markets.core import (
    BatMarketsError,
    Control,
    DecodeError,
    Endpoints,
    ExchangeReject,
    Heartbeat,
    PublicEvent,
    StreamData,
    Topic,
    TransportError,
    VenueAdapter,
)

from ._handles import EventSink
from ._options import ClientOptions
from ._status import ConnectionDiagnostics, Health, LaneStatus, StreamDiagnostics
from ._wire import Wire, WireClosed, open_wire

__all__ = ["Listener", "Lease", "PublicHub"]

log = logging.getLogger("bat_markets.client.hub")
_monotonic = time.monotonic  # one global lookup per frame on the read loop

Spawn = Callable[..., anyio.CancelScope]
Emit = Callable[[str, "str | None", "int | None"], None]


class Listener(Protocol):
    """What a topic delivers to: a stream's filter, an order-book feed..."""

    def on_events(self, topic: str, events: list[PublicEvent]) -> None: ...

    def on_disconnect(self, topic: str) -> None:
        """The connection carrying ``topic`` dropped; data may have been missed."""

    def on_failed(self, topic: str, error: BatMarketsError) -> None:
        """The venue rejected the subscription (or the URL is unusable): terminal for ``topic``."""


class _Drop(Exception):
    """Internal: end the current websocket session (reason in the message)."""


class _TopicEntry:
    __slots__ = ("conn", "last_at", "listeners", "messages", "name", "route", "state")

    def __init__(self, name: str, route: str, conn: _Connection) -> None:
        self.name = name
        self.route = route
        self.conn = conn
        self.listeners: list[Listener] = []
        self.state = "pending"  # pending | subscribed | failed
        self.messages = 0
        self.last_at: float | None = None


class Lease:
    """A claim on one or more topics for one listener. ``release()`` is idempotent and sync."""

    __slots__ = ("_entries", "_hub", "_listener", "released")

    def __init__(self, hub: PublicHub, entries: list[_TopicEntry], listener: Listener) -> None:
        self._hub = hub
        self._entries = entries
        self._listener = listener
        self.released = False

    @property
    def topics(self) -> list[str]:
        return [e.name for e in self._entries]

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._hub._release(self._entries, self._listener)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class _Connection:
    """One websocket on one route: its desired topics and the task that keeps them flowing."""

    def __init__(self, hub: PublicHub, conn_id: int, route: str, url: str) -> None:
        self.hub = hub
        self.id = conn_id
        self.route = route
        self.url = url
        self.entries: dict[str, _TopicEntry] = {}
        self.live: set[str] = set()  # subscribe frame sent on the current socket
        self.pending_acks: dict[str, list[str]] = {}
        self.resub: set[str] = set()
        self.isolate: set[str] = set()  # topics to subscribe one per frame (after a batch reject)
        self.state = "connecting"
        self.closing = False
        self.recycle = False
        self.scope: anyio.CancelScope | None = None
        self._wake_ev = anyio.Event()
        self._next_control = 0.0
        self.connected_at: float | None = None
        self.last_rx = time.monotonic()
        self.frames = 0
        self.invalid = 0
        self.unknown = 0
        self.unrouted = 0
        self.pongs = 0
        self.reconnects = 0
        self.errors = 0
        self.last_error: str | None = None
        self.drop_reason: str | None = None

    # -- desired set (sync, called by the hub)
    def wake(self) -> None:
        self._wake_ev.set()

    def add(self, entry: _TopicEntry) -> None:
        self.entries[entry.name] = entry
        self.wake()

    def discard(self, entry: _TopicEntry) -> None:
        if self.entries.get(entry.name) is entry:
            del self.entries[entry.name]
            self.isolate.discard(entry.name)
            self.wake()

    def resubscribe(self, name: str) -> None:
        if name in self.entries:
            self.resub.add(name)
            self.wake()

    # -- task
    async def run(self) -> None:
        opts = self.hub.options
        attempt = 0
        never_connected_failures = 0
        try:
            while not self.closing and self.entries:
                self.drop_reason = None
                self.recycle = False
                connected_at: float | None = None
                try:
                    ws = await open_wire(
                        self.url,
                        self.on_frame,
                        open_timeout=self.hub.handshake_timeout,
                        max_size=opts.ws_max_size,
                    )
                except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                    self.errors += 1
                    self.last_error = f"connect failed: {type(exc).__name__}: {exc}"
                    if self.connected_at is None:
                        never_connected_failures += 1
                        if self._permanent(exc, never_connected_failures):
                            self.hub._fail_connection(
                                self,
                                TransportError(
                                    f"cannot open {self.url}: {exc}", venue=self.hub.adapter.id
                                ),
                            )
                            return
                else:
                    connected_at = self.connected_at = time.monotonic()
                    try:
                        await self._session(ws)
                    finally:
                        await self._close_ws(ws)
                        self.last_error = self.drop_reason or "closed"
                        self._lost()
                if self.closing or not self.entries:
                    break
                if (
                    connected_at is not None
                    and time.monotonic() - connected_at >= opts.healthy_reset_s
                ):
                    attempt = 0
                if self.recycle:
                    delay = 0.0
                else:
                    base = min(opts.reconnect_max_s, opts.reconnect_initial_s * 2**attempt)
                    delay = base * (0.5 + random.random() / 2)
                    attempt += 1
                self.state = "reconnecting"
                self.reconnects += 1
                self.hub._emit(
                    "reconnecting",
                    f"{self.route} #{self.id} in {delay:.2f}s ({self.drop_reason or self.last_error})",
                    self.id,
                )
                await anyio.sleep(delay)
        finally:
            self.state = "closed"
            self.hub._connection_closed(self)

    @staticmethod
    def _permanent(exc: BaseException, failures: int) -> bool:
        if isinstance(exc, websockets.InvalidURI):
            return True
        if isinstance(exc, websockets.InvalidStatus):
            status = exc.response.status_code
            return 400 <= status < 500 and status != 429 and failures >= 3
        return False

    async def _close_ws(self, ws: Wire) -> None:
        with anyio.CancelScope(shield=True):
            await ws.close(timeout=1.0)

    def _lost(self) -> None:
        """The socket is gone: every leased topic must be resubscribed and may have gaps."""
        self.live.clear()
        self.pending_acks.clear()
        self.resub.clear()
        self.state = "reconnecting" if not self.closing else "closed"
        self.hub._emit(
            "disconnected", f"{self.route} #{self.id}: {self.drop_reason or 'closed'}", self.id
        )
        if self.closing:
            return  # nothing will be resubscribed: the streams end with the client or the lease
        for entry in list(self.entries.values()):
            entry.state = "pending"
            for listener in tuple(entry.listeners):
                try:
                    listener.on_disconnect(entry.name)
                except Exception:  # a listener bug must not stop the others
                    log.exception("listener failed in on_disconnect(%s)", entry.name)

    async def _session(self, ws: Wire) -> None:
        self.state = "connected"
        self.last_rx = time.monotonic()
        self.hub._emit("connected", f"{self.route} #{self.id} {self.url}", self.id)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._guard, self._writer, ws, tg.cancel_scope)
            tg.start_soon(self._guard, self._keepalive, ws, tg.cancel_scope)
            await self._guard(self._reader, ws, tg.cancel_scope)

    async def _guard(
        self,
        fn: Callable[[Wire], Any],
        ws: Wire,
        scope: anyio.CancelScope,
    ) -> None:
        try:
            await fn(ws)
        except WireClosed as exc:
            who = "by peer" if exc.by_peer else "locally"
            detail = f": {exc.reason}" if exc.reason else ""
            self.drop_reason = self.drop_reason or f"closed {who} (code {exc.code}{detail})"
        except _Drop as exc:
            self.drop_reason = str(exc)
        except Exception as exc:
            self.errors += 1
            self.drop_reason = f"{type(exc).__name__}: {exc}"
            log.exception("websocket session error on %s", self.url)
        finally:
            scope.cancel()

    async def _reader(self, ws: Wire) -> None:
        # Frames reach ``on_frame`` from the wire's data_received; this only waits for the end.
        await ws.wait_closed()

    def on_frame(self, frame: bytes) -> None:
        """Decode one frame and dispatch it (the read loop's body; never raises)."""
        self.last_rx = now = _monotonic()
        self.frames += 1
        hub = self.hub
        try:
            out = hub.adapter.decode_public(frame)
        except DecodeError:
            self.invalid += 1
            return
        except Exception:  # adapter bug on an odd frame: count it, keep the stream
            self.invalid += 1
            log.exception("decode_public raised on a frame from %s", self.url)
            return
        if type(out) is StreamData:
            entry = self.entries.get(out.topic)
            if entry is None:
                self.unrouted += 1
                return
            entry.messages += 1
            entry.last_at = now
            if entry.state == "pending":
                entry.state = "subscribed"
            topic = out.topic
            events = out.events
            for listener in entry.listeners:
                try:
                    listener.on_events(topic, events)
                except Exception:
                    log.exception("listener failed on %s", topic)
            raw = hub.raw_sinks
            if raw:
                for sink in raw:
                    sink.push(out)
        elif isinstance(out, Control):
            self._on_control(out)
        else:
            self.unknown += 1

    def _on_control(self, c: Control) -> None:
        kind = c.kind
        if kind == "pong":
            self.pongs += 1
            return
        if kind in ("ack", "error"):
            topics = self.pending_acks.pop(c.req_id, None) if c.req_id is not None else None
            if topics is not None:
                if kind == "ack" and c.ok:
                    self.isolate.difference_update(topics)
                    for name in topics:
                        entry = self.entries.get(name)
                        if entry is not None:
                            entry.state = "subscribed"
                    return
                named = set(c.topics or ()) & set(topics)
                if len(topics) > 1 and not named:
                    # One bad topic fails a whole batch: retry each alone to find the culprit.
                    self.isolate.update(topics)
                    self.live.difference_update(topics)
                    self.wake()
                    return
                failed = named or set(topics)
                error = ExchangeReject(
                    f"{self.hub.adapter.name} rejected the subscription to "
                    f"{', '.join(sorted(failed))}: {c.message or 'no reason given'}",
                    venue=self.hub.adapter.id,
                    venue_message=c.message,
                )
                for name in topics:
                    self.live.discard(name)
                    entry = self.entries.get(name)
                    if entry is None:
                        continue
                    if name in failed:
                        self.hub._fail_entry(entry, error)
                    else:
                        self.isolate.add(name)
                self.wake()
                return
            if kind == "error" or not c.ok:
                self.errors += 1
                self.last_error = c.message
                self.hub._emit("error", f"{self.route} #{self.id}: {c.message}", self.id)
            return
        if kind == "unknown":
            self.unknown += 1

    async def _send_control(self, ws: Wire, frame: bytes) -> None:
        now = time.monotonic()
        wait = self._next_control - now
        if wait > 0:
            await anyio.sleep(wait)
        self._next_control = (
            max(now, self._next_control) + 1.0 / self.hub.options.control_frames_per_s
        )
        await ws.send(frame)

    async def _sync(self, ws: Wire) -> None:
        """Bring the socket's subscriptions in line with the desired topic set."""
        adapter = self.hub.adapter
        size = self.hub.options.topics_per_frame
        gone = [n for n in self.live if n not in self.entries]
        for chunk in _chunks(gone, size):
            self.live.difference_update(chunk)
            await self._send_control(ws, adapter.unsubscribe_frame(chunk, self.hub.next_req_id()))
        if self.resub:
            again = [n for n in self.resub if n in self.live]
            self.resub.clear()
            for chunk in _chunks(again, size):
                self.live.difference_update(chunk)
                await self._send_control(
                    ws, adapter.unsubscribe_frame(chunk, self.hub.next_req_id())
                )
        new = [n for n in self.entries if n not in self.live]
        alone = [n for n in new if n in self.isolate]
        batched = [n for n in new if n not in self.isolate]
        for chunk in [[n] for n in alone] + list(_chunks(batched, size)):
            req_id = self.hub.next_req_id()
            self.pending_acks[str(req_id)] = chunk
            self.live.update(chunk)
            await self._send_control(ws, adapter.subscribe_frame(chunk, req_id))

    async def _writer(self, ws: Wire) -> None:
        while True:
            self._wake_ev = anyio.Event()  # fresh before looking, so no wake-up is lost
            await self._sync(ws)
            if self.entries or self._wake_ev.is_set():
                await self._wake_ev.wait()
                continue
            with anyio.move_on_after(self.hub.options.linger_s):
                await self._wake_ev.wait()
            if not self.entries:
                self.closing = True
                self.hub._forget(self)
                raise _Drop("no streams left (linger expired)")

    async def _keepalive(self, ws: Wire) -> None:
        hb: Heartbeat = self.hub.heartbeat
        opts = self.hub.options
        tick = max(0.02, min(hb.interval_s, hb.idle_timeout_s) / 4)
        next_ping = time.monotonic() + hb.interval_s
        while True:
            await anyio.sleep(tick)
            now = time.monotonic()
            rx = ws.last_rx  # any bytes received, pings and pongs included
            if now - rx > hb.idle_timeout_s:
                raise _Drop(f"no frame for {now - rx:.1f}s (idle timeout)")
            if (
                self.connected_at is not None
                and now - self.connected_at > opts.max_connection_age_s
            ):
                self.recycle = True
                raise _Drop("maximum connection age reached: proactive reconnect")
            if now >= next_ping:
                next_ping = now + hb.interval_s
                if hb.frame is not None:
                    await ws.send(hb.frame)
                else:
                    waiter = await ws.ping()
                    waiter.add_done_callback(self._on_pong)

    def _on_pong(self, fut: Any) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self.pongs += 1

    def diagnostics(self) -> ConnectionDiagnostics:
        now = time.monotonic()
        up = self.state == "connected" and self.connected_at is not None
        return ConnectionDiagnostics(
            id=self.id,
            lane="public",
            route=self.route,
            url=self.url,
            state=self.state,
            topics=len(self.entries),
            connected_for_s=round(now - self.connected_at, 3) if up and self.connected_at else None,
            last_message_age_s=round(now - self.last_rx, 3) if self.frames or up else None,
            frames=self.frames,
            invalid_frames=self.invalid,
            unknown_frames=self.unknown,
            unrouted_frames=self.unrouted,
            reconnects=self.reconnects,
            last_error=self.last_error,
        )


class PublicHub:
    """Shared public-stream connections of one client."""

    def __init__(
        self,
        adapter: VenueAdapter,
        endpoints: Endpoints,
        options: ClientOptions,
        *,
        spawn: Spawn,
        emit: Emit,
        handshake_timeout: float = 10.0,
    ) -> None:
        self.adapter = adapter
        self.endpoints = endpoints
        self.options = options
        self.heartbeat = adapter.heartbeat()
        self.handshake_timeout = handshake_timeout
        self._spawn = spawn
        self._emit_fn = emit
        self._entries: dict[tuple[str, str], _TopicEntry] = {}
        self._conns: list[_Connection] = []  # accepting topics
        self._all: dict[int, _Connection] = {}  # every connection with a live task
        self._ids = 0
        self._req_ids = 0
        self.raw_sinks: list[EventSink[StreamData]] = []
        self.closed = False
        self.reconnects_closed = 0  # reconnects of connections already gone

    def next_req_id(self) -> int:
        self._req_ids += 1
        return self._req_ids

    def _emit(self, kind: str, detail: str | None, conn: int | None) -> None:
        self._emit_fn(kind, detail, conn)

    # -- leases
    def acquire(self, topics: Sequence[Topic], listener: Listener) -> Lease:
        """Lease ``topics`` for ``listener``: subscribes what is new, shares what exists."""
        if self.closed:
            raise TransportError("the client is closed", venue=self.adapter.id)
        entries: list[_TopicEntry] = []
        for topic in topics:
            key = (topic.route, topic.name)
            entry = self._entries.get(key)
            if entry is None:
                conn = self._connection_for(topic.route)
                entry = _TopicEntry(topic.name, topic.route, conn)
                self._entries[key] = entry
                conn.add(entry)
            entry.listeners.append(listener)
            entries.append(entry)
        return Lease(self, entries, listener)

    def _release(self, entries: list[_TopicEntry], listener: Listener) -> None:
        for entry in entries:
            try:
                entry.listeners.remove(listener)
            except ValueError:
                continue
            if not entry.listeners:
                key = (entry.route, entry.name)
                if self._entries.get(key) is entry:
                    del self._entries[key]
                entry.conn.discard(entry)

    def _connection_for(self, route: str) -> _Connection:
        cap = max(1, self.adapter.max_topics_per_connection())
        for conn in self._conns:
            if conn.route == route and not conn.closing and len(conn.entries) < cap:
                return conn
        url = self.adapter.public_ws_url(self.endpoints, route)
        self._ids += 1
        conn = _Connection(self, self._ids, route, url)
        self._conns.append(conn)
        self._all[conn.id] = conn
        conn.scope = self._spawn(conn.run, name=f"bat-markets public ws #{conn.id} ({route})")
        return conn

    def resubscribe(self, topic: str, route: str) -> bool:
        """Unsubscribe and subscribe ``topic`` again (a book resync by resubscription)."""
        entry = self._entries.get((route, topic))
        if entry is None:
            return False
        entry.conn.resubscribe(topic)
        return True

    # -- failures and teardown
    def _fail_entry(self, entry: _TopicEntry, error: BatMarketsError) -> None:
        entry.state = "failed"
        key = (entry.route, entry.name)
        if self._entries.get(key) is entry:
            del self._entries[key]
        entry.conn.discard(entry)
        self._emit("subscription_failed", f"{entry.name}: {error.message}", entry.conn.id)
        for listener in tuple(entry.listeners):
            try:
                listener.on_failed(entry.name, error)
            except Exception:
                log.exception("listener failed in on_failed(%s)", entry.name)

    def _fail_connection(self, conn: _Connection, error: BatMarketsError) -> None:
        for entry in list(conn.entries.values()):
            self._fail_entry(entry, error)

    def _forget(self, conn: _Connection) -> None:
        if conn in self._conns:
            self._conns.remove(conn)

    def _connection_closed(self, conn: _Connection) -> None:
        self._forget(conn)
        if self._all.pop(conn.id, None) is not None:
            self.reconnects_closed += conn.reconnects
        # Topics left on a connection that ended (e.g. all failed) must not dangle.
        for entry in list(conn.entries.values()):
            key = (entry.route, entry.name)
            if self._entries.get(key) is entry and not self.closed:
                del self._entries[key]
                moved = self._connection_for(entry.route)
                entry.conn = moved
                self._entries[key] = entry
                moved.add(entry)

    def close(self) -> None:
        """Stop every connection (the runtime cancels their tasks)."""
        self.closed = True
        for conn in list(self._all.values()):
            conn.closing = True
            if conn.scope is not None:
                conn.scope.cancel()
        self._conns.clear()

    # -- introspection
    @property
    def connections(self) -> list[_Connection]:
        return list(self._all.values())

    def lane_status(self) -> LaneStatus:
        conns = [c for c in self._all.values() if not c.closing]
        streams = len(self._entries)
        reconnects = self.reconnects_closed + sum(c.reconnects for c in self._all.values())
        ages = [time.monotonic() - c.last_rx for c in conns if c.frames]
        last_age = round(min(ages), 3) if ages else None
        if not conns:
            return LaneStatus(
                lane="public", health=Health.IDLE, reconnects=reconnects, streams=streams
            )
        up = sum(1 for c in conns if c.state == "connected")
        if up == len(conns):
            health, detail = Health.HEALTHY, None
        elif up:
            health, detail = Health.DEGRADED, f"{len(conns) - up} of {len(conns)} connections down"
        elif any(c.connected_at is None and c.reconnects == 0 for c in conns):
            health, detail = Health.DEGRADED, "connecting"
        else:
            health, detail = Health.DISCONNECTED, "no public connection is up"
        return LaneStatus(
            lane="public",
            health=health,
            detail=detail,
            connections=len(conns),
            connected=up,
            streams=streams,
            reconnects=reconnects,
            last_message_age_s=last_age,
        )

    def stream_diagnostics(self) -> list[StreamDiagnostics]:
        now = time.monotonic()
        return [
            StreamDiagnostics(
                topic=e.name,
                route=e.route,
                connection=e.conn.id,
                state=e.state,
                listeners=len(e.listeners),
                messages=e.messages,
                last_message_age_s=round(now - e.last_at, 3) if e.last_at is not None else None,
            )
            for e in self._entries.values()
        ]

    @property
    def invalid_frames(self) -> int:
        return sum(c.invalid for c in self._all.values())
