"""The private lane: signed REST reads, the account stream and the account state projection.

One private websocket per client carries every private watcher (``watch_balance``,
``watch_orders``, ``watch_my_trades``, ``watch_positions``) and the command lane's stream
confirmations. It is opened by the first lease and closed after a linger once the last lease is
gone. Per connection:

1. ``adapter.private_session`` (a REST flow: Binance creates a listenKey; Bybit builds the signed
   ``auth`` frame) gives the URL, the frames to send first and an optional keepalive request;
2. the socket opens, the frames are sent, and when the venue requires it the lane waits for the
   ``Control(kind="auth")`` answer (a refusal is an ``AuthError``, terminal for the watchers);
3. frames are decoded with ``adapter.decode_private``; every event goes through
   ``AccountState.apply`` (regression guards, dedupe) and only events that changed the state are
   published — duplicated or reordered venue events are harmless;
4. a keepalive task repeats the session's keepalive request (Binance listenKey PUT); a rejected
   keepalive (key gone) or a ``StreamExpired`` event (``listenKeyExpired``) re-establishes the
   session; an idle socket (no frame, pongs included, within the heartbeat's idle timeout)
   reconnects; connections are recycled before the venue's 24 h cut;
5. after every (re)connect a REST snapshot (balances, positions, open orders) runs in its own task
   and the ``on_established`` hooks run (the command lane reconciles its pending commands).

A bad frame is counted and skipped; it never ends the stream.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio
import websockets
from websockets.asyncio.client import ClientConnection, connect

from bat_markets.core import (
    AccountState,
    AuthError,
    Balance,
    BatMarketsError,
    ComplianceRequired,
    ConfigError,
    Control,
    Credentials,
    DecodeError,
    Endpoints,
    MyTrade,
    Order,
    PermissionDenied,
    Position,
    PrivateData,
    PrivateEvent,
    PrivateSession,
    RestFlow,
    StreamExpired,
    Timeout,
    TransportError,
    Unsupported,
    VenueAdapter,
    VenueConfig,
)

from ._clock import Clock
from ._errors import StreamClosed
from ._handles import EventSink, EventWatch, StateSink, StateWatch
from ._options import ClientOptions
from ._rest import RestExecutor
from ._status import ConnectionDiagnostics, Health, LaneStatus

__all__ = ["PrivateLane", "require_credentials"]

log = logging.getLogger("bat_markets.client.private")

T = TypeVar("T")
Spawn = Callable[..., anyio.CancelScope]
Emit = Callable[[str, "str | None"], None]  # (kind, detail) of a status event on this lane
EventHook = Callable[[Sequence[PrivateEvent]], None]


def require_credentials(adapter: VenueAdapter, config: VenueConfig, what: str) -> Credentials:
    """The configured credentials, or ``AuthError`` before any I/O."""
    if config.credentials is None:
        raise AuthError(
            f"{adapter.name}: {what} needs API credentials (pass credentials= or set "
            f"{adapter.id.upper()}_API_KEY / {adapter.id.upper()}_API_SECRET)",
            venue=adapter.id,
        )
    return config.credentials


class _Drop(Exception):
    """Internal: end the current private socket (reason in the message)."""


class _Fatal(Exception):
    """Internal: stop the connection task and fail the watchers with ``error``."""

    def __init__(self, error: BatMarketsError) -> None:
        super().__init__(str(error))
        self.error = error


class _Filtered:
    """A sink plus the symbols it wants (``None`` = all)."""

    __slots__ = ("sink", "symbols")

    def __init__(self, sink: Any, symbols: frozenset[str] | None) -> None:
        self.sink = sink
        self.symbols = symbols


class PrivateLane:
    """Private REST reads, the shared private stream, and the account state."""

    def __init__(
        self,
        adapter: VenueAdapter,
        endpoints: Endpoints,
        config: VenueConfig,
        options: ClientOptions,
        rest: RestExecutor,
        clock: Clock,
        *,
        spawn: Spawn,
        emit: Emit,
        state: AccountState | None = None,
    ) -> None:
        self.adapter = adapter
        self.endpoints = endpoints
        self.config = config
        self.options = options
        self.rest = rest
        self.clock = clock
        self._spawn = spawn
        self._emit_fn = emit
        self.state = state if state is not None else AccountState()
        self.heartbeat = adapter.heartbeat()
        # called once per frame / REST read with the events that changed the state, so that a
        # consumer sees e.g. Bybit's "New" and "Cancelled" of one frame together
        self.hooks: list[EventHook] = []
        self.on_established: list[Callable[[str], Awaitable[None]]] = []
        self._orders: list[_Filtered] = []
        self._trades: list[_Filtered] = []
        self._balances: list[StateSink[Balance]] = []
        self._positions: list[_Filtered] = []
        self._raw: list[EventSink[PrivateEvent]] = []
        self._leases = 0
        self._scope: anyio.CancelScope | None = None
        self._changed = anyio.Event()  # set (and replaced) on every connection state change
        self._recycle = False
        self._lingered = False
        self._error: BatMarketsError | None = None  # terminal (auth) error
        self._last_failure: BatMarketsError | None = None
        self._wake = anyio.Event()
        self.closed = False
        # diagnostics
        self.conn_state = "idle"
        self.url = ""
        self.connected_at: float | None = None
        self.last_rx = time.monotonic()
        self.frames = 0
        self.invalid = 0
        self.unknown = 0
        self.duplicates = 0
        self.reconnects = 0
        self.keepalives = 0
        self.expirations = 0
        self.drop_reason: str | None = None
        self._connections = 0

    # -- helpers

    def _creds(self, what: str) -> Credentials:
        return require_credentials(self.adapter, self.config, what)

    def _emit(self, kind: str, detail: str | None) -> None:
        self._emit_fn(kind, detail)

    def _native(self, symbol: str) -> str:
        return self.adapter.markets.resolve(symbol).id

    def _unified(self, symbol: str) -> str:
        return self.adapter.markets.resolve(symbol).symbol

    async def _run_flow(self, flow: RestFlow[T], what: str) -> T:
        self._creds(what)
        return await self.rest.run(flow, signed=True)

    # -- private REST (each result is folded into the state and published if it changed)

    # ``notify=False``: the caller feeds what it read to the command tracker itself (reconcile),
    # so the tracker hooks are skipped; watchers are still updated.

    async def fetch_balance(self) -> list[Balance]:
        """Balances per asset (``GET`` account / wallet balance)."""
        self._creds("fetch_balance")
        balances = await self._run_flow(self.adapter.fetch_balance(), "fetch_balance")
        self._publish_all(self.state.replace_balances(balances))
        return balances

    async def fetch_positions(
        self, symbols: Sequence[str] | None = None, *, notify: bool = True
    ) -> list[Position]:
        """Position legs (hedge legs separately), flat legs included where the venue lists them."""
        self._creds("fetch_positions")
        native = [self._native(s) for s in symbols] if symbols else None
        stamp = self.clock.now_ms()
        positions = await self._run_flow(self.adapter.fetch_positions(native), "fetch_positions")
        scope = [self._unified(s) for s in symbols] if symbols else None
        self._publish_all(self.state.replace_positions(positions, scope, timestamp=stamp), notify)
        return positions

    async def fetch_open_orders(
        self, symbol: str | None = None, *, notify: bool = True
    ) -> list[Order]:
        """Open orders of one symbol, or of every symbol (other symbols' state is untouched)."""
        self._creds("fetch_open_orders")
        native = self._native(symbol) if symbol else None
        stamp = self.clock.now_ms()
        orders = await self._run_flow(self.adapter.fetch_open_orders(native), "fetch_open_orders")
        unified = self._unified(symbol) if symbol else None
        self._publish_all(self.state.replace_open_orders(orders, unified, timestamp=stamp), notify)
        return orders

    async def fetch_order(
        self,
        id: str | None,
        symbol: str,
        *,
        client_order_id: str | None = None,
        notify: bool = True,
    ) -> Order:
        """One order by venue id or client order id."""
        self._creds("fetch_order")
        if not id and not client_order_id:
            raise ConfigError(
                "fetch_order needs an order id or a client_order_id", venue=self.adapter.id
            )
        flow = self.adapter.fetch_order(self._native(symbol), id or None, client_order_id)
        order = await self._run_flow(flow, "fetch_order")
        if self.state.apply(order) is not None:
            self._publish_all([order], notify)
        return order

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        *,
        notify: bool = True,
    ) -> list[MyTrade]:
        """Our fills (deduplicated into the state; every fill returned)."""
        self._creds("fetch_my_trades")
        native = self._native(symbol) if symbol else None
        trades = await self._run_flow(
            self.adapter.fetch_my_trades(native, since, limit), "fetch_my_trades"
        )
        self._publish_all([t for t in trades if self.state.apply(t) is not None], notify)
        return trades

    async def snapshot(self) -> list[str]:
        """Refresh balances, positions and open orders by REST; returns what failed."""
        errors = []
        for name, call in (
            ("balances", self.fetch_balance),
            ("positions", self.fetch_positions),
            ("open_orders", self.fetch_open_orders),
        ):
            try:
                await call()
            except BatMarketsError as err:
                errors.append(f"{name}: {err}")
        return errors

    # -- publication

    def _publish_all(self, events: Sequence[PrivateEvent], notify: bool = True) -> None:
        """Publish state changes to the watchers, then (``notify``) to the hooks at once."""
        for event in events:
            self._publish(event)
        if not notify or not events:
            return
        for hook in self.hooks:
            try:
                hook(events)
            except Exception:  # a hook bug must not stop the stream
                log.exception("private event hook failed")

    def _publish(self, event: PrivateEvent) -> None:
        for raw in self._raw:
            raw.push(event)
        kind = type(event)
        if kind is Order:
            assert isinstance(event, Order)
            for f in self._orders:
                if f.symbols is None or event.symbol in f.symbols:
                    f.sink.push(event)
        elif kind is MyTrade:
            assert isinstance(event, MyTrade)
            for f in self._trades:
                if f.symbols is None or event.symbol in f.symbols:
                    f.sink.push(event)
        elif kind is Balance:
            assert isinstance(event, Balance)
            for sink in self._balances:
                sink.push(event, event.asset)
        elif kind is Position:
            assert isinstance(event, Position)
            for f in self._positions:
                if f.symbols is None or event.symbol in f.symbols:
                    f.sink.push(event, event.key)

    def apply_events(self, events: Sequence[PrivateEvent]) -> list[PrivateEvent]:
        """Fold events into the state; publish and return the ones that changed it."""
        out = []
        for event in events:
            applied = self.state.apply(event)
            if applied is None:
                self.duplicates += 1
                continue
            out.append(applied)
        self._publish_all(out)
        return out

    def ingest(self, frame: bytes | str) -> list[PrivateEvent]:
        """Decode a raw private frame offline, apply it and publish it (``advanced()``)."""
        out = self.adapter.decode_private(frame)
        if isinstance(out, PrivateData):
            return self.apply_events(out.events)
        return []

    def subscribe_events(self, capacity: int | None = None) -> EventWatch[PrivateEvent]:
        """Every private event that changed the state (stream, REST reads, ingest)."""
        sink: EventSink[PrivateEvent] = EventSink(
            "private events", capacity or self.options.event_buffer, self.adapter.id
        )
        self._raw.append(sink)
        return EventWatch(sink, lambda: _discard(self._raw, sink), description="private events")

    # -- watchers

    def _symbols(self, symbols: str | Sequence[str] | None) -> frozenset[str] | None:
        if symbols is None:
            return None
        if isinstance(symbols, str):
            symbols = [symbols]
        return frozenset(self._unified(s) for s in symbols)

    def watch_balance(self) -> StateWatch[Balance]:
        """Balance per asset (conflated: the latest per asset)."""
        self._lease("watch_balance")
        sink: StateSink[Balance] = StateSink("balance", self.adapter.id)
        for b in self.state.balances.values():
            sink.push(b, b.asset)
        self._balances.append(sink)
        return StateWatch(sink, self._releaser(self._balances, sink), description="balance")

    def watch_positions(self, symbols: str | Sequence[str] | None = None) -> StateWatch[Position]:
        """Position legs keyed by (symbol, position side); conflated."""
        wanted = self._symbols(symbols)
        self._lease("watch_positions")
        sink: StateSink[Position] = StateSink("positions", self.adapter.id)
        for p in self.state.positions.values():
            if wanted is None or p.symbol in wanted:
                sink.push(p, p.key)
        entry = _Filtered(sink, wanted)
        self._positions.append(entry)
        return StateWatch(sink, self._releaser(self._positions, entry), description="positions")

    def watch_orders(self, symbol: str | None = None) -> EventWatch[Order]:
        """Order updates (bounded buffer; ``Lagged`` on overflow)."""
        wanted = self._symbols(symbol)
        self._lease("watch_orders")
        sink: EventSink[Order] = EventSink("orders", self.options.event_buffer, self.adapter.id)
        entry = _Filtered(sink, wanted)
        self._orders.append(entry)
        return EventWatch(sink, self._releaser(self._orders, entry), description="orders")

    def watch_my_trades(self, symbol: str | None = None) -> EventWatch[MyTrade]:
        """Our fills, deduplicated (bounded buffer; ``Lagged`` on overflow)."""
        wanted = self._symbols(symbol)
        self._lease("watch_my_trades")
        sink: EventSink[MyTrade] = EventSink(
            "my trades", self.options.event_buffer, self.adapter.id
        )
        entry = _Filtered(sink, wanted)
        self._trades.append(entry)
        return EventWatch(sink, self._releaser(self._trades, entry), description="my trades")

    def _lease(self, what: str) -> None:
        """Credentials check (``AuthError`` before any I/O), then a lease on the stream."""
        self._creds(what)
        self.acquire()

    def _releaser(self, registry: list[Any], entry: Any) -> Callable[[], None]:
        def release() -> None:
            _discard(registry, entry)
            self.release()

        return release

    # -- the connection

    @property
    def live(self) -> bool:
        """The private stream is connected and authenticated."""
        return self.conn_state == "connected"

    def acquire(self) -> None:
        """Hold the private stream open (sync). Pair with ``release()``."""
        if self.closed:
            raise StreamClosed("the client was closed", venue=self.adapter.id)
        self._creds("the private stream")
        self._leases += 1
        self._wake.set()
        if self._scope is None:
            self._error = None
            self._scope = self._spawn(self._run, name="bat-markets private ws")

    def release(self) -> None:
        if self._leases > 0:
            self._leases -= 1
            self._wake.set()

    def _notify(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def wait_ready(self, limit_s: float) -> None:
        """Wait until the stream is live; raise its terminal error or ``Timeout``."""
        with anyio.move_on_after(limit_s):
            while not self.live and self._error is None:
                await self._changed.wait()
        if self._error is not None:
            raise self._error
        if not self.live:
            last = f": {self._last_failure}" if self._last_failure else ""
            raise Timeout(
                f"{self.adapter.name} private stream not connected within {limit_s:g}s{last}",
                venue=self.adapter.id,
            )

    async def _run(self) -> None:
        opts = self.options
        attempt = 0
        try:
            while not self.closed:
                if self._leases <= 0:
                    with anyio.move_on_after(opts.linger_s):
                        while self._leases <= 0:
                            self._wake = anyio.Event()
                            await self._wake.wait()
                    if self._leases <= 0:
                        break
                self.drop_reason = None
                self._lingered = False
                connected_for = 0.0
                recycle = False
                try:
                    recycle, connected_for = await self._connect_once()
                except _Fatal as fatal:
                    self._fail(fatal.error)
                    return
                except BatMarketsError as err:
                    self._last_failure = err
                    self.drop_reason = self.drop_reason or str(err)
                except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                    self._last_failure = TransportError(
                        f"private stream: {type(exc).__name__}: {exc}", venue=self.adapter.id
                    )
                    self.drop_reason = self.drop_reason or str(self._last_failure)
                if self.closed or self._lingered:
                    break
                if self._leases <= 0:
                    continue
                if connected_for >= opts.healthy_reset_s:
                    attempt = 0
                if recycle:
                    delay = 0.0
                else:
                    base = min(opts.reconnect_max_s, opts.reconnect_initial_s * 2**attempt)
                    delay = base * (0.5 + random.random() / 2)
                    attempt += 1
                self.conn_state = "reconnecting"
                self.reconnects += 1
                self._emit("reconnecting", f"private in {delay:.2f}s ({self.drop_reason})")
                await anyio.sleep(delay)
        finally:
            self.conn_state = "closed" if self.closed else "idle"
            self.connected_at = None
            self._scope = None

    def _fail(self, error: BatMarketsError) -> None:
        self._error = error
        self._last_failure = error
        self.drop_reason = str(error)
        self._emit("error", f"private stream: {error}")
        for registry in (self._orders, self._trades, self._positions):
            for f in registry:
                f.sink.fail(error)
        for sink in self._balances:
            sink.fail(error)
        self._notify()

    async def _connect_once(self) -> tuple[bool, float]:
        """One session: establish, read until it drops. Returns (recycle now, seconds up)."""
        creds = self._creds("the private stream")
        self.conn_state = "connecting"
        try:
            session: PrivateSession = await self.rest.run(
                self.adapter.private_session(
                    self.endpoints, creds, self.clock.now_ms(), self.config.recv_window_ms
                ),
                signed=True,
            )
        except (AuthError, PermissionDenied, ComplianceRequired, Unsupported, ConfigError) as err:
            raise _Fatal(err) from None  # retrying cannot help: fail the watchers
        self.url = _mask_url(session.url)
        ws = await connect(
            session.url,
            open_timeout=self.config.timeouts.ws_handshake,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=1.0,
            max_size=self.options.ws_max_size,
            compression=None,
            max_queue=256,
        )
        started = time.monotonic()
        recycle = False
        try:
            recycle = await self._session(ws, session)
        finally:
            with anyio.CancelScope(shield=True):
                with anyio.move_on_after(1.0):
                    await ws.close()
                if ws.transport is not None and not ws.transport.is_closing():
                    ws.transport.abort()
            was_live = self.conn_state == "connected"
            self.conn_state = "reconnecting"
            self.connected_at = None
            self._notify()
            if was_live:
                self._emit("disconnected", f"private: {self.drop_reason or 'closed'}")
        return recycle, time.monotonic() - started

    async def _session(self, ws: ClientConnection, session: PrivateSession) -> bool:
        self.last_rx = time.monotonic()
        for frame in session.frames:
            await ws.send(frame.decode())
        if session.auth_required:
            await self._await_auth(ws)
        self._connections += 1
        first = self._connections == 1
        self.conn_state = "connected"
        self.connected_at = time.monotonic()
        self._notify()
        self._emit("connected", "private stream")
        trigger = "connect" if first else "reconnect"
        self._spawn(self._after_connect, trigger, name="bat-markets private snapshot")
        recycle = False
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._guard, self._keepalive_ws, ws, tg.cancel_scope)
            if session.keepalive is not None and session.keepalive_interval_s:
                tg.start_soon(self._guard_rest, session, tg.cancel_scope)
            tg.start_soon(self._guard_age, session.max_age_s, tg.cancel_scope)
            tg.start_soon(self._guard_linger, tg.cancel_scope)
            recycle = await self._guard(self._reader, ws, tg.cancel_scope)
        return recycle or self._recycle

    async def _await_auth(self, ws: ClientConnection) -> None:
        timeout = self.config.timeouts.ws_handshake
        with anyio.move_on_after(timeout):
            while True:
                frame = await ws.recv(decode=False)
                self.last_rx = time.monotonic()
                try:
                    out = self.adapter.decode_private(frame)
                except DecodeError:
                    self.invalid += 1
                    continue
                if isinstance(out, Control) and out.kind == "auth":
                    if out.ok:
                        return
                    raise _Fatal(
                        AuthError(
                            f"{self.adapter.name} refused the private stream login: "
                            f"{out.message or 'no reason given'}",
                            venue=self.adapter.id,
                            venue_message=out.message,
                        )
                    )
                if isinstance(out, PrivateData):  # data before the auth answer: keep it
                    self._handle_data(out)
        raise Timeout(
            f"{self.adapter.name} private stream: no login answer within {timeout:g}s",
            venue=self.adapter.id,
        )

    async def _after_connect(self, trigger: str) -> None:
        errors = await self.snapshot()
        if errors:
            self._emit("error", f"private snapshot after {trigger}: {'; '.join(errors)}")
        for hook in list(self.on_established):
            try:
                await hook(trigger)
            except Exception:
                log.exception("on_established hook failed")

    async def _guard(
        self,
        fn: Callable[[ClientConnection], Awaitable[Any]],
        ws: ClientConnection,
        scope: anyio.CancelScope,
    ) -> bool:
        recycle = False
        try:
            await fn(ws)
        except websockets.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            self.drop_reason = self.drop_reason or f"closed by peer (code {code})"
        except _Drop as exc:
            self.drop_reason = str(exc)
            recycle = self._recycle
        except Exception as exc:
            self.drop_reason = f"{type(exc).__name__}: {exc}"
            log.exception("private websocket session error")
        finally:
            scope.cancel()
        return recycle

    async def _guard_rest(self, session: PrivateSession, scope: anyio.CancelScope) -> None:
        try:
            await self._keepalive_rest(session)
        except _Drop as exc:
            self.drop_reason = str(exc)
            self._recycle = True
            scope.cancel()

    async def _guard_age(self, max_age_s: float, scope: anyio.CancelScope) -> None:
        limit = min(max_age_s, self.options.max_connection_age_s)
        await anyio.sleep(limit)
        self.drop_reason = "maximum connection age reached: proactive reconnect"
        self._recycle = True
        scope.cancel()

    async def _guard_linger(self, scope: anyio.CancelScope) -> None:
        while True:
            while self._leases > 0:
                self._wake = anyio.Event()
                await self._wake.wait()
            with anyio.move_on_after(self.options.linger_s):
                while self._leases <= 0:
                    self._wake = anyio.Event()
                    await self._wake.wait()
            if self._leases <= 0:
                self.drop_reason = "no private watcher left (linger expired)"
                self._lingered = True
                scope.cancel()
                return

    async def _reader(self, ws: ClientConnection) -> None:
        self._recycle = False
        decode = self.adapter.decode_private
        while True:
            frame = await ws.recv(decode=False)
            self.last_rx = time.monotonic()
            self.frames += 1
            try:
                out = decode(frame)
            except DecodeError:
                self.invalid += 1
                continue
            except Exception:  # adapter bug on an odd frame: count it, keep the stream
                self.invalid += 1
                log.exception("decode_private raised on a private frame")
                continue
            if isinstance(out, PrivateData):
                if self._handle_data(out):
                    self._recycle = True
                    raise _Drop("the venue expired the private stream session")
            elif isinstance(out, Control):
                if out.kind == "unknown":
                    self.unknown += 1
                elif out.kind == "error" or not out.ok:
                    self._emit("error", f"private stream: {out.message}")

    def _handle_data(self, data: PrivateData) -> bool:
        """Apply one decoded frame; True when it carried a session expiry."""
        expired = False
        events: list[PrivateEvent] = []
        for event in data.events:
            if isinstance(event, StreamExpired):
                expired = True
                self.expirations += 1
                self._publish(event)
            else:
                events.append(event)
        self.apply_events(events)
        return expired

    async def _keepalive_ws(self, ws: ClientConnection) -> None:
        hb = self.heartbeat
        tick = max(0.02, min(hb.interval_s, hb.idle_timeout_s) / 4)
        next_ping = time.monotonic() + hb.interval_s
        while True:
            await anyio.sleep(tick)
            now = time.monotonic()
            if now - self.last_rx > hb.idle_timeout_s:
                raise _Drop(f"no frame for {now - self.last_rx:.1f}s (idle timeout)")
            if now >= next_ping:
                next_ping = now + hb.interval_s
                if hb.frame is not None:
                    await ws.send(hb.frame.decode())
                else:
                    waiter = await ws.ping()
                    waiter.add_done_callback(self._on_pong)  # type: ignore[attr-defined]

    def _on_pong(self, fut: Any) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self.last_rx = time.monotonic()

    async def _keepalive_rest(self, session: PrivateSession) -> None:
        request = session.keepalive
        interval = session.keepalive_interval_s
        assert request is not None
        assert interval
        while True:
            await anyio.sleep(interval)
            try:
                response = await self.rest.send(request)
            except BatMarketsError as err:
                self._emit("error", f"private keepalive failed: {err}")
                continue
            error = self.adapter.classify_http_error(response)
            if error is None:
                self.keepalives += 1
                continue
            # The session is gone (Binance -1125): a new one is needed.
            raise _Drop(f"keepalive rejected ({error}): re-establishing the private stream")

    # -- lifecycle and introspection

    def close(self) -> None:
        self.closed = True
        self._leases = 0
        self._wake.set()
        if self._scope is not None:
            self._scope.cancel()
        err = StreamClosed("the client was closed", venue=self.adapter.id)
        for registry in (self._orders, self._trades, self._positions):
            for f in registry:
                f.sink.fail(err)
        for sink in self._balances:
            sink.fail(err)
        for raw in self._raw:
            raw.fail(err)

    def lane_status(self) -> LaneStatus:
        streams = len(self._orders) + len(self._trades) + len(self._balances) + len(self._positions)
        up = self.live
        age = round(time.monotonic() - self.last_rx, 3) if self.frames else None
        if self._error is not None:
            health, detail = Health.DISCONNECTED, str(self._error)
        elif self.conn_state in ("idle", "closed"):
            health, detail = Health.IDLE, None
        elif up:
            health, detail = Health.HEALTHY, None
        elif self.conn_state == "connecting" and self.reconnects == 0:
            health, detail = Health.DEGRADED, "connecting"
        else:
            health, detail = Health.DISCONNECTED, self.drop_reason
        return LaneStatus(
            lane="private",
            health=health,
            detail=detail,
            connections=0 if self.conn_state in ("idle", "closed") else 1,
            connected=1 if up else 0,
            streams=streams,
            reconnects=self.reconnects,
            last_message_age_s=age,
        )

    def connection_diagnostics(self, conn_id: int = 0) -> ConnectionDiagnostics | None:
        if self.conn_state in ("idle",) and not self.frames:
            return None
        now = time.monotonic()
        return ConnectionDiagnostics(
            id=conn_id,
            lane="private",
            route="private",
            url=self.url,
            state=self.conn_state,
            topics=len(self._orders)
            + len(self._trades)
            + len(self._balances)
            + len(self._positions),
            connected_for_s=round(now - self.connected_at, 3) if self.connected_at else None,
            last_message_age_s=round(now - self.last_rx, 3) if self.frames else None,
            frames=self.frames,
            invalid_frames=self.invalid,
            unknown_frames=self.unknown,
            unrouted_frames=0,
            reconnects=self.reconnects,
            last_error=self.drop_reason,
        )


def _mask_url(url: str) -> str:
    """Hide a session token in the URL path (Binance listenKey) from diagnostics."""
    path = url.split("?", maxsplit=1)[0]
    base, _, last = path.rpartition("/")
    return f"{base}/***" if len(last) >= 20 else path


def _discard(registry: list[Any], entry: Any) -> None:
    with contextlib.suppress(ValueError):
        registry.remove(entry)
