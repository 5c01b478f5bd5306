"""``PendingCommandHandle``: what every command method returns.

The runtime feeds a handle the ``LifecycleEvent``\\ s of its command (``_feed``); the user awaits
them. Every wait terminates for every command kind: the command tracker bounds each phase by its
policy (receipt timeout, confirmation timeout, reconciliation window), the client resolves every
pending handle as ``UNKNOWN`` when it closes, and as a last line of defence a handle resolves
itself as ``UNKNOWN`` once ``max_wait_s`` has passed without a final outcome.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Generator
from typing import Any

import anyio

from bat_markets.core import (
    CommandAck,
    CommandKind,
    CommandOutcome,
    CommandReceipt,
    CommandStatus,
    EvidenceItem,
    LifecycleEvent,
    LifecycleStage,
    Timeout,
)

__all__ = ["PendingCommandHandle", "LifecycleStream"]

_MAX_BUFFERED = 4096  # lifecycle events kept for next_lifecycle(); fills beyond are dropped


class PendingCommandHandle:
    """A command in flight: ``await ack()``, ``await receipt()``, ``next_lifecycle()``, ``resolved()``.

    * ``ack()``: the venue answered (or the transport failed after sending: status ``UNKNOWN``).
    * ``receipt()``: the classified answer (``CommandReceipt``).
    * ``next_lifecycle()``: ``await`` it for the next event, or ``async for`` over it; iteration
      ends after the ``RESOLVED`` event (later awaits return that final event again).
    * ``resolved(timeout=None)``: the final ``CommandOutcome``; ``timeout`` raises ``Timeout``
      if the outcome is not final by then (the handle stays usable).

    ``max_wait_s`` is the hard bound after which the handle resolves itself as ``UNKNOWN`` even
    if the runtime never delivered an outcome.
    """

    def __init__(
        self,
        command_id: str,
        kind: CommandKind,
        venue: str,
        *,
        symbol: str | None = None,
        client_order_id: str | None = None,
        order_id: str | None = None,
        max_wait_s: float = 120.0,
    ) -> None:
        self.command_id = command_id
        self.kind = kind
        self.venue = venue
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.order_id = order_id
        self.max_wait_s = max_wait_s
        self._created = time.monotonic()
        self._ack: CommandAck | None = None
        self._receipt: CommandReceipt | None = None
        self._outcome: CommandOutcome | None = None
        self._events: deque[LifecycleEvent] = deque()
        self._cursor = 0  # events consumed by next_lifecycle(), counted from _base
        self._base = 0  # events dropped from the front of _events
        self._changed = anyio.Event()

    def __repr__(self) -> str:
        state = self._outcome.status if self._outcome else "pending"
        cid = f" client_order_id={self.client_order_id}" if self.client_order_id else ""
        return f"<PendingCommandHandle {self.kind} {self.symbol or ''}{cid} {state}>"

    # -- runtime side

    def _feed(self, event: LifecycleEvent) -> None:
        if self._outcome is not None:
            return  # RESOLVED is always the last event
        if event.ack is not None and self._ack is None:
            self._ack = event.ack
            self.order_id = self.order_id or event.ack.order_id
        if event.receipt is not None and self._receipt is None:
            self._receipt = event.receipt
            self.order_id = self.order_id or event.receipt.order_id
        if event.outcome is not None:
            self._outcome = event.outcome
            self.order_id = self.order_id or event.outcome.order_id
        self._events.append(event)
        if len(self._events) > _MAX_BUFFERED and event.stage is LifecycleStage.FILL:
            self._events.popleft()
            self._base += 1
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def _self_resolve(self, reason: str) -> None:
        """Last line of defence: the runtime did not deliver an outcome in time."""
        if self._outcome is not None:
            return
        now = int(time.time() * 1000)
        if self._ack is None:
            self._ack = CommandAck(
                command_id=self.command_id,
                kind=self.kind,
                status=CommandStatus.UNKNOWN,
                transport="rest",
                timestamp=now,
                client_order_id=self.client_order_id,
            )
        if self._receipt is None:
            self._receipt = CommandReceipt(
                kind=self.kind,
                status=CommandStatus.UNKNOWN,
                venue=self.venue,
                symbol=self.symbol,
                client_order_id=self.client_order_id,
                timestamp=now,
            )
        outcome = CommandOutcome(
            command_id=self.command_id,
            kind=self.kind,
            status=CommandStatus.UNKNOWN,
            venue=self.venue,
            timestamp=now,
            resolved_by="window",
            reason=reason,
            symbol=self.symbol,
            order_id=self.order_id,
            client_order_id=self.client_order_id,
            receipt=self._receipt,
            evidence=(EvidenceItem(source="policy", detail=reason, timestamp=now),),
        )
        self._feed(
            LifecycleEvent(
                command_id=self.command_id,
                kind=self.kind,
                stage=LifecycleStage.RESOLVED,
                timestamp=now,
                outcome=outcome,
                detail=reason,
            )
        )

    # -- user side

    @property
    def done(self) -> bool:
        """True once the final outcome is known."""
        return self._outcome is not None

    @property
    def outcome(self) -> CommandOutcome | None:
        """The final outcome, or ``None`` while pending (non-blocking)."""
        return self._outcome

    async def _wait_for(self, ready: Any, wait_s: float | None, what: str) -> None:
        hard = self.max_wait_s - (time.monotonic() - self._created)
        limit = hard if wait_s is None else min(wait_s, hard)
        with anyio.move_on_after(max(0.0, limit) if math.isfinite(limit) else None):
            while not ready():
                await self._changed.wait()
        if ready():
            return
        if wait_s is not None and wait_s < hard:
            raise Timeout(
                f"{self.kind} {what} not available within {wait_s:g}s (still in progress)",
                venue=self.venue,
            )
        self._self_resolve(f"no final outcome within {self.max_wait_s:g}s; giving up as unknown")

    async def ack(self, timeout: float | None = None) -> CommandAck:  # noqa: ASYNC109 - public API
        """Wait for the venue's answer (status ``UNKNOWN`` if the transport failed after sending)."""
        await self._wait_for(lambda: self._ack is not None, timeout, "ack")
        assert self._ack is not None
        return self._ack

    async def receipt(self, timeout: float | None = None) -> CommandReceipt:  # noqa: ASYNC109 - public API
        """Wait for the classified answer."""
        await self._wait_for(lambda: self._receipt is not None, timeout, "receipt")
        assert self._receipt is not None
        return self._receipt

    async def resolved(self, timeout: float | None = None) -> CommandOutcome:  # noqa: ASYNC109 - public API
        """Wait for the final outcome (``ACCEPTED``, ``REJECTED`` or ``UNKNOWN`` with evidence)."""
        await self._wait_for(lambda: self._outcome is not None, timeout, "outcome")
        assert self._outcome is not None
        return self._outcome

    def next_lifecycle(self) -> LifecycleStream:
        """``await handle.next_lifecycle()`` or ``async for ev in handle.next_lifecycle()``."""
        return LifecycleStream(self)

    async def _next_event(self) -> LifecycleEvent | None:
        """The next unread event; ``None`` once the RESOLVED event has been consumed."""

        def ready() -> bool:
            return self._cursor - self._base < len(self._events)

        if not ready() and self._consumed_final():
            return None
        await self._wait_for(lambda: ready() or self._consumed_final(), None, "lifecycle event")
        if not ready():
            return None
        index = max(0, self._cursor - self._base)
        self._cursor = self._base + index + 1
        return self._events[index]

    def _consumed_final(self) -> bool:
        return (
            self._outcome is not None
            and bool(self._events)
            and self._cursor - self._base >= len(self._events)
        )


class LifecycleStream:
    """Awaitable (next event) and async iterator (events until ``RESOLVED`` inclusive)."""

    __slots__ = ("_handle",)

    def __init__(self, handle: PendingCommandHandle) -> None:
        self._handle = handle

    def __await__(self) -> Generator[Any, None, LifecycleEvent]:
        return self._one().__await__()

    async def _one(self) -> LifecycleEvent:
        event = await self._handle._next_event()
        if event is None:  # everything consumed: the final event again
            final = self._handle._events[-1]
            return final
        return event

    def __aiter__(self) -> LifecycleStream:
        return self

    async def __anext__(self) -> LifecycleEvent:
        event = await self._handle._next_event()
        if event is None:
            raise StopAsyncIteration
        return event
