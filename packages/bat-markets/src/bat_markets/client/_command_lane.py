"""The command lane: sends commands, follows them to a final outcome, reconciles unknowns.

* Every command is tracked by the core ``CommandTracker`` from just before it is sent; its
  ``PendingCommandHandle`` receives the tracker's lifecycle events.
* REST commands run the adapter's command flow in a background task of the runtime, so a caller
  cancelled mid-request never loses the outcome of a request that may already have left.
  Requests the adapter refuses to build (``Unsupported``, ``ConfigError``) raise before anything
  is tracked or sent.
* Private-stream events that changed the account state are fed to the tracker (the private lane's
  hook), so handles see order updates and fills and confirmations arrive by stream.
* One background loop applies the tracker's time bounds and gathers evidence for commands that
  need it (``due``): a query by id / client order id, open orders, recent fills, position rows —
  each read shared by every command of the same symbol in one pass. Only one pass runs at a time;
  ``reconcile()`` calls made while one runs wait for it and share its report. A create is never
  re-sent.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import weakref
from collections.abc import Callable, Generator, Sequence
from typing import Any, Literal, TypeVar

import anyio

from bat_markets.core import (
    BatMarketsError,
    CommandKind,
    CommandPhase,
    CommandReceipt,
    CommandStatus,
    CommandTracker,
    DecodeError,
    EditExpectation,
    Evidence,
    LifecycleEvent,
    LifecyclePolicy,
    LifecycleStage,
    MyTrade,
    Order,
    Position,
    PositionSide,
    PrivateEvent,
    ReconcileReport,
    RestFlow,
    RestRequest,
    RestResponse,
    SettingTarget,
    StateDivergence,
    TrackedCommand,
    VenueConfig,
    WsCommand,
    combine_receipts,
    plan_for,
)

from ._command_ws import CommandSocket, WsNotSent
from ._handles import EventSink, EventWatch
from ._pending import PendingCommandHandle
from ._private import PrivateLane, require_credentials
from ._runtime import Runtime
from ._status import Health, LaneStatus

__all__ = ["CommandLane", "CommandSpec", "lanes_for", "listed", "no_requests", "FILLS_LOOKBACK_MS"]

log = logging.getLogger("bat_markets.client.commands")

T = TypeVar("T")
FILLS_LOOKBACK_MS = 60_000  # recent fills are read from this long before the command was sent


class CommandSpec:
    """What the tracker needs to know about one command before it is sent."""

    __slots__ = ("client_order_id", "expect", "order_id", "position_side", "symbol", "target")

    def __init__(
        self,
        symbol: str | None,
        *,
        client_order_id: str | None = None,
        order_id: str | None = None,
        expect: EditExpectation | None = None,
        target: SettingTarget | None = None,
        position_side: PositionSide | None = None,
    ) -> None:
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.order_id = order_id
        self.expect = expect
        self.target = target
        self.position_side = position_side


def _resume(first: RestRequest, flow: RestFlow[T]) -> Generator[RestRequest, RestResponse, T]:
    """Continue a flow whose first request was already taken with ``next()``."""
    request = first
    try:
        while True:
            try:
                response = yield request
            except BatMarketsError as err:
                try:
                    request = flow.throw(err)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
            else:
                try:
                    request = flow.send(response)
                except StopIteration as stop:
                    done: T = stop.value
                    return done
    finally:
        flow.close()


def listed(flow: RestFlow[CommandReceipt]) -> RestFlow[list[CommandReceipt]]:
    """A single-receipt command flow as a list-of-receipts flow."""
    receipt = yield from flow
    return [receipt]


def no_requests() -> RestFlow[list[CommandReceipt]]:
    """A flow that sends nothing (the state already holds)."""
    yield from ()
    return []


class CommandLane:
    """Command submission, lifecycle tracking and reconciliation for one live client."""

    def __init__(
        self, rt: Runtime, private: PrivateLane, policy: LifecyclePolicy, config: VenueConfig
    ) -> None:
        self.rt = rt
        self.config = config
        self.adapter = rt.adapter
        self.private = private
        self.policy = policy
        self.tracker = CommandTracker(rt.adapter.id, policy)
        self.handles: dict[str, PendingCommandHandle] = {}
        self._subs: list[EventSink[LifecycleEvent]] = []
        self._wake = anyio.Event()
        self._loop: anyio.CancelScope | None = None
        self._pass_lock = anyio.Lock()
        self._reconciling: anyio.Event | None = None
        self._last_report: ReconcileReport | None = None
        self._collect: list[list[LifecycleEvent]] = []
        self._stream_lease = False
        self._stream_checked = False
        self.closed = False
        self.socket = CommandSocket(
            rt.adapter,
            rt.endpoints,
            config,
            rt.options,
            rt.clock,
            spawn=rt.spawn,
            emit=lambda kind, detail: rt.emit("command", kind, detail),
        )
        # counters
        self.sent = 0
        self.outcomes: dict[str, int] = {"accepted": 0, "rejected": 0, "unknown": 0}
        self.reconcile_passes = 0
        self.queries = 0
        private.hooks.append(self._on_private_events)
        private.on_established.append(self._on_stream_established)

    # -- plumbing

    @property
    def max_wait_s(self) -> float:
        p = self.policy
        total = p.receipt_timeout_ms + p.unknown_window_ms + 2 * p.confirm_timeout_ms
        return total / 1000 + p.requery_interval_ms / 1000 + 10.0

    def now(self) -> int:
        return self.rt.clock.now_ms()

    def _ensure_loop(self) -> None:
        if self._loop is None and not self.closed:
            self._loop = self.rt.spawn(self._run_loop, name="bat-markets command reconcile")

    def _poke(self) -> None:
        self._wake.set()

    def dispatch(self, events: Sequence[LifecycleEvent]) -> None:
        for event in events:
            handle = self.handles.get(event.command_id)
            if handle is not None:
                handle._feed(event)
            for sink in self._subs:
                sink.push(event)
            for collector in self._collect:
                collector.append(event)
            if event.stage is LifecycleStage.RESOLVED:
                self.handles.pop(event.command_id, None)
                if event.outcome is not None:
                    key = str(event.outcome.status)
                    self.outcomes[key] = self.outcomes.get(key, 0) + 1
            elif event.stage is LifecycleStage.RECONCILING:
                self.rt.emit("command", "unknown_outcome", f"{event.kind}: {event.detail}")
        if events:
            self._poke()

    def _on_private_events(self, events: Sequence[PrivateEvent]) -> None:
        if not self.tracker.pending():
            return
        # One frame may carry several updates of one order (Bybit: "New" then "Cancelled" of a
        # post-only that would take): only the latest view of each order decides.
        last: dict[str, int] = {}
        for i, event in enumerate(events):
            if isinstance(event, Order):
                last[event.id] = i
        now = self.now()
        out: list[LifecycleEvent] = []
        for i, event in enumerate(events):
            if isinstance(event, Order) and last[event.id] != i:
                continue
            out += self.tracker.on_event(event, now)
        self.dispatch(out)

    async def _on_stream_established(self, trigger: str) -> None:
        if trigger == "reconnect" and self.tracker.pending():
            await self.reconcile(trigger="reconnect", refresh=False)

    def subscribe(self, buffer: int) -> EventWatch[LifecycleEvent]:
        sink: EventSink[LifecycleEvent] = EventSink("command events", buffer, self.adapter.id)
        self._subs.append(sink)
        self.rt.track(sink)

        def release() -> None:
            if sink in self._subs:
                self._subs.remove(sink)

        return EventWatch(sink, release, description="command events")

    async def stream_ready(self) -> bool:
        """Hold the private stream open for confirmations; wait for it on the first command."""
        if "watch_orders" not in self.adapter.capabilities.methods:
            return False
        if not self._stream_lease:
            try:
                self.private.acquire()
            except BatMarketsError:
                return False
            self._stream_lease = True
        if self.private.live:
            return True
        if self._stream_checked:
            return False
        self._stream_checked = True
        try:
            await self.private.wait_ready(min(2.0, self.config.timeouts.ws_handshake))
        except BatMarketsError as err:
            self.rt.emit("command", "error", f"private stream unavailable for confirmations: {err}")
            return False
        return True

    def _handle(self, cmd: TrackedCommand) -> PendingCommandHandle:
        handle = PendingCommandHandle(
            cmd.command_id,
            cmd.kind,
            self.adapter.id,
            symbol=cmd.symbol,
            client_order_id=cmd.client_order_id,
            order_id=cmd.order_id,
            max_wait_s=self.max_wait_s,
        )
        self.handles[cmd.command_id] = handle
        return handle

    def _track(
        self,
        kind: CommandKind,
        specs: Sequence[CommandSpec],
        transport: Literal["rest", "ws"],
        live: bool,
    ) -> list[TrackedCommand]:
        now = self.now()
        return [
            self.tracker.track(
                kind,
                now_ms=now,
                symbol=s.symbol,
                client_order_id=s.client_order_id,
                order_id=s.order_id,
                transport=transport,
                expect=s.expect,
                target=s.target,
                position_side=s.position_side,
                confirm_with_stream=live,
            )
            for s in specs
        ]

    def _receipts_in(
        self,
        tracked: Sequence[TrackedCommand],
        receipts: Sequence[CommandReceipt],
        error: BatMarketsError | None,
    ) -> None:
        now = self.now()
        events: list[LifecycleEvent] = []
        for i, cmd in enumerate(tracked):
            if i < len(receipts):
                receipt = receipts[i]
            else:  # the flow gave fewer receipts than items: the rest may have executed
                receipt = CommandReceipt(
                    kind=cmd.kind,
                    status=CommandStatus.UNKNOWN,
                    venue=self.adapter.id,
                    symbol=cmd.symbol,
                    order_id=cmd.order_id,
                    client_order_id=cmd.client_order_id,
                    error=error
                    or DecodeError(
                        "the venue's answer had no entry for this item", venue=self.adapter.id
                    ),
                    timestamp=now,
                )
            events += self.tracker.on_receipt(cmd.command_id, receipt, now)
        self.dispatch(events)

    # -- REST submission

    async def submit(
        self,
        kind: CommandKind,
        specs: Sequence[CommandSpec],
        flow: RestFlow[list[CommandReceipt]],
        *,
        combine: bool = False,
    ) -> list[PendingCommandHandle]:
        """Run a command flow; one handle per spec (``combine``: one spec, many receipts)."""
        require_credentials(self.adapter, self.config, str(kind))
        try:
            first: RestRequest | None = next(flow)
            ready: list[CommandReceipt] | None = None
        except StopIteration as stop:  # nothing to send (e.g. cancel all with no open order)
            first, ready = None, list(stop.value)
        self._ensure_loop()
        live = await self.stream_ready() if kind is not CommandKind.VALIDATE_ORDER else False
        tracked = self._track(kind, specs, "rest", live)
        handles = [self._handle(cmd) for cmd in tracked]

        def finish(receipts: list[CommandReceipt], error: BatMarketsError | None) -> None:
            if combine:
                symbol = specs[0].symbol if specs else None
                receipts = (
                    [combine_receipts(kind, self.adapter.id, receipts, symbol)] if receipts else []
                )
            self._receipts_in(tracked, receipts, error)

        if first is None:
            finish(ready or [], None)
            return handles
        done = anyio.Event()
        self.sent += len(tracked)

        async def send() -> None:
            receipts: list[CommandReceipt] = []
            error: BatMarketsError | None = None
            try:
                receipts = await self.rt.rest.run(_resume(first, flow), signed=True)
            except BatMarketsError as err:
                error = err  # after the first request left: every item is UNKNOWN
            except Exception as exc:
                log.exception("command flow %s failed", kind)
                error = DecodeError(f"command flow failed: {exc}", venue=self.adapter.id)
            finally:
                finish(receipts, error)
                done.set()

        self.rt.spawn(send, name=f"bat-markets {kind}")
        await done.wait()
        return handles

    # -- websocket submission

    async def submit_ws(
        self,
        kind: CommandKind,
        specs: Sequence[CommandSpec],
        commands: Sequence[tuple[WsCommand, int]],
        *,
        combine: CommandKind | None = None,
    ) -> list[PendingCommandHandle]:
        """Send prepared websocket commands (each covering ``n`` consecutive items).

        Nothing sent at all → ``WsNotSent`` is raised and nothing is tracked. When a request
        fails to send after others went out, its items are ``REJECTED`` ("not sent") and the
        others keep their handles. ``combine``: track one command of that kind (one spec) whose
        receipt folds every item's receipt (cancel all).
        """
        require_credentials(self.adapter, self.config, f"{kind}_ws")
        self._ensure_loop()
        await self.socket.ensure()  # WsNotSent / AuthError: nothing tracked, nothing sent
        live = await self.stream_ready()
        tracked = self._track(combine or kind, specs, "ws", live)
        handles = [self._handle(cmd) for cmd in tracked]
        timeout = self.config.timeouts.command
        results: list[list[CommandReceipt] | BatMarketsError] = [[] for _ in commands]

        async def one(i: int) -> None:
            try:
                results[i] = await self.socket.request(commands[i][0], timeout)
            except WsNotSent as err:
                results[i] = err

        async with anyio.create_task_group() as tg:
            for i in range(len(commands)):
                tg.start_soon(one, i)
        if all(isinstance(r, WsNotSent) for r in results):
            for cmd in tracked:
                self.tracker.drop(cmd.command_id)
                self.handles.pop(cmd.command_id, None)
            first_err = results[0]
            assert isinstance(first_err, WsNotSent)
            raise first_err
        self.sent += len(tracked)
        receipts: list[CommandReceipt] = []
        for i, result in enumerate(results):
            n = commands[i][1]
            if isinstance(result, BatMarketsError):
                receipts += [
                    CommandReceipt(
                        kind=kind,
                        status=CommandStatus.REJECTED,
                        venue=self.adapter.id,
                        error=result,
                    )
                ] * n
            else:
                got = list(result)[:n]
                missing = DecodeError(
                    "the venue's reply had no entry for this item", venue=self.adapter.id
                )
                got += [
                    CommandReceipt(
                        kind=kind,
                        status=CommandStatus.UNKNOWN,
                        venue=self.adapter.id,
                        error=missing,
                    )
                ] * (n - len(got))
                receipts += got
        if combine is not None:
            symbol = specs[0].symbol if specs else None
            receipts = [combine_receipts(combine, self.adapter.id, receipts, symbol)]
        else:  # receipts of items that were never sent carry no ids: give them the item's
            receipts = [
                r if r.client_order_id or r.order_id else _with_ids(r, c)
                for r, c in zip(receipts, tracked, strict=True)
            ]
        self._receipts_in(tracked, receipts, None)
        return handles

    # -- the reconcile loop

    async def _run_loop(self) -> None:
        while not self.closed:
            self._wake = anyio.Event()
            now = self.now()
            self.dispatch(self.tracker.expire(now))
            due = self.tracker.due(now)
            if due:
                async with self._pass_lock:
                    await self._gather(due)
                continue
            wake_at = self.tracker.next_wakeup()
            delay = math.inf if wake_at is None else max(0.0, (wake_at - now) / 1000)
            with anyio.move_on_after(delay):
                await self._wake.wait()

    async def _gather(self, commands: Sequence[TrackedCommand]) -> None:
        """Collect evidence for ``commands`` (reads shared per symbol) and feed the tracker."""
        open_cache: dict[str | None, list[Order] | BatMarketsError] = {}
        fills_cache: dict[str, list[MyTrade] | BatMarketsError] = {}
        pos_cache: dict[str | None, list[Position] | BatMarketsError] = {}
        since: dict[str | None, int] = {}
        for cmd in commands:  # one fills read per symbol, covering its oldest command
            since[cmd.symbol] = min(since.get(cmd.symbol, cmd.sent_at), cmd.sent_at)

        async def read_fills(symbol: str) -> list[MyTrade]:
            start = since[symbol] - FILLS_LOOKBACK_MS
            return await self.private.fetch_my_trades(symbol, start, 100, notify=False)

        for cmd in commands:
            if cmd.phase not in (CommandPhase.UNKNOWN, CommandPhase.CONFIRMING):
                continue
            plan = plan_for(cmd)
            started = self.now()
            order: Order | None = None
            lookup: Literal["found", "not_found", "failed", "skipped"] = "skipped"
            error: BatMarketsError | None = None
            if (
                plan.lookup_order
                and cmd.symbol is not None
                and (cmd.order_id or cmd.client_order_id)
            ):
                self.queries += 1
                try:
                    order = await self.private.fetch_order(
                        cmd.order_id, cmd.symbol, client_order_id=cmd.client_order_id, notify=False
                    )
                    lookup = "found"
                except StateDivergence:  # "-2013 / 110001: not found" (not proof of absence yet)
                    lookup = "not_found"
                except BatMarketsError as err:
                    lookup, error = "failed", err
            open_orders = await self._cached(
                open_cache,
                cmd.symbol,
                plan.open_orders,
                lambda s: self.private.fetch_open_orders(s, notify=False),
            )
            fills: list[MyTrade] | BatMarketsError | None = None
            if plan.fills and cmd.symbol is not None:
                fills = await self._cached(fills_cache, cmd.symbol, True, read_fills)
            positions = await self._cached(
                pos_cache,
                cmd.symbol,
                plan.positions,
                lambda s: self.private.fetch_positions([s] if s else None, notify=False),
            )
            for value in (open_orders, fills, positions):
                if isinstance(value, BatMarketsError):
                    error = error or value
            evidence = Evidence(
                timestamp=started,
                order=order,
                order_lookup=lookup,
                open_orders=None if isinstance(open_orders, BatMarketsError) else open_orders,
                fills=None if isinstance(fills, BatMarketsError) else fills,
                positions=None if isinstance(positions, BatMarketsError) else positions,
                error=error,
            )
            self.dispatch(self.tracker.on_evidence(cmd.command_id, evidence, self.now()))

    async def _cached(
        self,
        cache: dict[Any, Any],
        symbol: str | None,
        wanted: bool,
        read: Callable[[Any], Any],
    ) -> Any:
        if not wanted:
            return None
        if symbol not in cache:
            self.queries += 1
            try:
                cache[symbol] = await read(symbol)
            except BatMarketsError as err:
                cache[symbol] = err
        return cache[symbol]

    async def reconcile(self, trigger: str = "manual", *, refresh: bool = True) -> ReconcileReport:
        """One reconciliation pass: REST snapshot, then evidence for every unresolved command.

        Concurrent calls share the pass in progress (and its report).
        """
        running = self._reconciling
        if running is not None:
            await running.wait()
            assert self._last_report is not None
            return self._last_report
        self._reconciling = done = anyio.Event()
        collected: list[LifecycleEvent] = []
        self._collect.append(collected)
        errors: list[str] = []
        refreshed: list[str] = []
        try:
            self.reconcile_passes += 1
            if refresh and self.config.credentials is not None:
                errors = await self.private.snapshot()
                refreshed = [
                    name
                    for name in ("balances", "positions", "open_orders")
                    if not any(e.startswith(name) for e in errors)
                ]
            now = self.now()
            self.dispatch(self.tracker.expire(now))
            pending = [
                c
                for c in self.tracker.pending()
                if c.phase in (CommandPhase.UNKNOWN, CommandPhase.CONFIRMING)
            ]
            async with self._pass_lock:
                await self._gather(pending)
            report = ReconcileReport(
                timestamp=self.now(),
                trigger=trigger,
                refreshed=tuple(refreshed),
                resolved=tuple(
                    e.outcome
                    for e in collected
                    if e.stage is LifecycleStage.RESOLVED and e.outcome is not None
                ),
                pending=tuple(c.command_id for c in self.tracker.pending()),
                errors=tuple(errors),
            )
            self._last_report = report
            return report
        finally:
            self._collect.remove(collected)
            self._reconciling = None
            done.set()

    # -- lifecycle

    async def aclose(self) -> None:
        """Resolve every pending command as UNKNOWN (the client is closing) and stop."""
        if self.closed:
            return
        self.closed = True
        now = self.now()
        for cmd in self.tracker.pending():
            self.dispatch(
                self.tracker.resolve_unknown_now(
                    cmd.command_id, now, "the client was closed before the outcome was known"
                )
            )
        if self._loop is not None:
            self._loop.cancel()
        if self._stream_lease:
            self._stream_lease = False
            self.private.release()
        await self.socket.aclose()

    def lane_status(self) -> LaneStatus:
        unknown = len(self.tracker.unknown())
        pending = len(self.tracker.pending())
        if self.sent == 0 and not self.socket.connects:
            health, detail = Health.IDLE, None
        elif unknown:
            health, detail = Health.DEGRADED, f"{unknown} command outcome(s) unknown: reconciling"
        else:
            health, detail = Health.HEALTHY, f"{pending} pending" if pending else None
        return LaneStatus(
            lane="command",
            health=health,
            detail=detail,
            connections=1 if self.socket.connects else 0,
            connected=1 if self.socket.connected else 0,
            streams=pending,
            reconnects=max(0, self.socket.connects - 1),
        )


def _with_ids(receipt: CommandReceipt, cmd: TrackedCommand) -> CommandReceipt:
    return CommandReceipt(
        kind=receipt.kind,
        status=receipt.status,
        venue=receipt.venue,
        symbol=receipt.symbol or cmd.symbol,
        order_id=cmd.order_id,
        client_order_id=cmd.client_order_id,
        order=receipt.order,
        error=receipt.error,
        noop=receipt.noop,
        timestamp=receipt.timestamp,
    )


# -- lanes per runtime

_LANES: weakref.WeakKeyDictionary[Runtime, tuple[PrivateLane, CommandLane]] = (
    weakref.WeakKeyDictionary()
)


def lanes_for(rt: Runtime) -> tuple[PrivateLane, CommandLane]:
    """The private and command lanes of a live runtime (created and registered on first use)."""
    lanes = _LANES.get(rt)
    if lanes is not None:
        return lanes
    # The runtime holds the resolved credentials (explicit, config or environment).
    config = dataclasses.replace(rt.config, credentials=rt.credentials)
    private = PrivateLane(
        rt.adapter,
        rt.endpoints,
        config,
        rt.options,
        rt.rest,
        rt.clock,
        spawn=rt.spawn,
        emit=lambda kind, detail: rt.emit("private", kind, detail),
    )
    commands = CommandLane(rt, private, rt.options.lifecycle or LifecyclePolicy(), config)
    rt.lane_status["private"] = private.lane_status
    rt.lane_status["command"] = commands.lane_status
    rt.connection_hooks.append(
        lambda: [
            d for d in (private.connection_diagnostics(-1), commands.socket.diagnostics(-2)) if d
        ]
    )
    rt.command_counts = lambda: (len(commands.tracker.pending()), len(commands.tracker.unknown()))

    async def close() -> None:
        await commands.aclose()
        private.close()

    rt.close_hooks.append(close)
    _LANES[rt] = (private, commands)
    return private, commands
