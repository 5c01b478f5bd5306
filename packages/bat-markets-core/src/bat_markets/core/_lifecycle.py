"""Command lifecycle and reconciliation logic (sans-I/O).

A ``CommandTracker`` follows each command from the moment it is sent to a final
``CommandOutcome``. It is fed three kinds of facts, always with an explicit clock (``now_ms``):

* the command's ``CommandReceipt`` (the venue's answer, or ``UNKNOWN`` when the transport failed
  after the request may have left),
* private-stream events (order updates, fills, positions, account config) — matched to commands
  by client order id or order id (settings commands by symbol),
* ``Evidence`` the runtime gathered when the tracker asked for it (``due``): a query by client
  order id, open orders, recent fills, position rows.

Every method returns the ``LifecycleEvent``\\ s it produced; the runtime routes them to handles
and subscribers. Decisions are made by ``decide`` (pure, per command kind):

* create / close: the order found in any live or traded state → ACCEPTED; killed on arrival
  (venue ``REJECTED``, or canceled without a fill and with a reject reason such as Bybit's
  post-only) → REJECTED; absent after ``absence_grace_ms`` with successful lookups of the order,
  the open orders and recent fills → REJECTED ("did not execute"). A "not found" earlier than
  that is not proof of absence (Binance ``-2013`` right after a create).
* cancel: ACCEPTED only if the order is now canceled; filled first → REJECTED ("too late");
  still open after the grace → REJECTED with the evidence. A cancel or edit the venue refuses
  with "order not found / not live" (``StateDivergence``: Binance -2011/-2013, Bybit 110001) is
  verified before concluding: the order may have been canceled by this very command (a retry
  after a lost answer) or filled meanwhile.
* edit: ACCEPTED only if the order now shows the requested values; final first → REJECTED.
* cancel all: ACCEPTED when no order older than the command is still open.
* set_*: verified against position rows where the venue exposes the setting; when no read can
  tell, the outcome is an honest final ``UNKNOWN`` with the evidence.

The tracker never asks for a create to be re-sent. Every command reaches a final outcome:
``UNKNOWN`` ones after ``unknown_window_ms`` at the latest, receipt-less ones after
``receipt_timeout_ms`` become ``UNKNOWN`` and follow the same path.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Literal

import msgspec

from ._commands import CommandReceipt
from ._enums import (
    CommandKind,
    CommandStatus,
    MarginMode,
    OrderStatus,
    PositionMode,
    PositionSide,
)
from ._errors import BatMarketsError, ExchangeReject, StateDivergence, Timeout
from ._events import AccountConfigEvent, PrivateEvent
from ._models import MyTrade, Order, Position

__all__ = [
    "LifecycleStage",
    "CommandPhase",
    "LifecyclePolicy",
    "EditExpectation",
    "SettingTarget",
    "EvidenceItem",
    "Evidence",
    "Verdict",
    "CommandAck",
    "CommandOutcome",
    "LifecycleEvent",
    "ReconcilePlan",
    "ReconcileReport",
    "TrackedCommand",
    "CommandTracker",
    "decide",
    "order_verdict",
    "plan_for",
    "combine_receipts",
]

_NEVER = 2**62
_ResolvedBy = Literal["receipt", "stream", "reconcile", "window"]
_NO_REASON = frozenset({"", "EC_NoError", "EC_NONE", "NONE", "0"})
_ORDER_KINDS = frozenset(
    {
        CommandKind.CREATE_ORDER,
        CommandKind.CLOSE_POSITION,
        CommandKind.EDIT_ORDER,
        CommandKind.CANCEL_ORDER,
    }
)
_CREATE_KINDS = frozenset({CommandKind.CREATE_ORDER, CommandKind.CLOSE_POSITION})
_SETTING_KINDS = frozenset(
    {CommandKind.SET_LEVERAGE, CommandKind.SET_MARGIN_MODE, CommandKind.SET_POSITION_MODE}
)


class _StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)


class LifecycleStage(_StrEnum):
    """Where a lifecycle event comes from."""

    ACK = "ack"  # the venue answered (or the transport failed: status UNKNOWN)
    RECEIPT = "receipt"  # the classified answer
    ORDER = "order"  # an order update for this command from the private stream
    FILL = "fill"  # a fill for this command from the private stream
    RECONCILING = "reconciling"  # the outcome is unknown; reconciliation started
    RESOLVED = "resolved"  # final outcome; always the last event of a command


class CommandPhase(_StrEnum):
    AWAITING_RECEIPT = "awaiting_receipt"
    CONFIRMING = "confirming"  # the venue answered; waiting for the stream to show the effect
    UNKNOWN = "unknown"  # reconciling
    RESOLVED = "resolved"


class LifecyclePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Time bounds of the lifecycle (milliseconds)."""

    receipt_timeout_ms: int = 45_000  # no receipt at all (REST retries included) → UNKNOWN
    confirm_timeout_ms: int = 2_000  # accepted, no stream confirmation → query / trust receipt
    absence_grace_ms: int = 3_000  # "not found"/"still open" earlier than this is not proof
    requery_interval_ms: int = 1_000  # between reconciliation queries of one command
    unknown_window_ms: int = 30_000  # after this, an unresolved command is final UNKNOWN


class EditExpectation(msgspec.Struct, frozen=True, kw_only=True):
    """The values an edit asked for (``None`` = unchanged)."""

    amount: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None

    def shown_by(self, order: Order) -> bool:
        return (
            (self.amount is None or order.amount == self.amount)
            and (self.price is None or order.price == self.price)
            and (self.trigger_price is None or order.trigger_price == self.trigger_price)
        )


SettingTarget = Decimal | MarginMode | PositionMode


class EvidenceItem(msgspec.Struct, frozen=True, kw_only=True):
    """One human-readable fact the outcome rests on."""

    source: Literal["receipt", "stream", "query", "open_orders", "fills", "positions", "policy"]
    detail: str
    timestamp: int | None = None


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """Facts about one command: from the stream, or gathered by the runtime on request.

    ``order_lookup`` tells how the query of the order by id / client id went. ``open_orders`` and
    ``fills`` are the command symbol's open orders and recent fills (``None`` = not read);
    ``positions`` the symbol's position rows. ``error`` is why a read failed.
    """

    timestamp: int
    source: Literal["stream", "query"] = "query"
    order: Order | None = None
    order_lookup: Literal["found", "not_found", "failed", "skipped"] = "skipped"
    open_orders: list[Order] | None = None
    fills: list[MyTrade] | None = None
    positions: list[Position] | None = None
    leverage: Decimal | None = None  # pushed by the venue (Binance ACCOUNT_CONFIG_UPDATE)
    error: BatMarketsError | None = None


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """A decision about a command. ``UNKNOWN`` here means final: nothing more can be learned."""

    status: CommandStatus
    reason: str
    error: BatMarketsError | None = None
    order: Order | None = None


class CommandAck(msgspec.Struct, frozen=True, kw_only=True):
    """The venue answered the request (``status`` UNKNOWN: the transport failed after sending)."""

    command_id: str
    kind: CommandKind
    status: CommandStatus
    transport: Literal["rest", "ws"]
    timestamp: int
    order_id: str | None = None
    client_order_id: str | None = None


class CommandOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """The final outcome of one command.

    ``ACCEPTED``: the command took effect. ``REJECTED``: it did not (``error`` says why — the
    venue's rejection, or e.g. the timeout after which the order was found never placed).
    ``UNKNOWN``: reconciliation could not tell within its window; ``evidence`` lists what is known.
    """

    command_id: str
    kind: CommandKind
    status: CommandStatus
    venue: str
    timestamp: int
    resolved_by: Literal["receipt", "stream", "reconcile", "window"]
    reason: str = ""
    symbol: str | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    order: Order | None = None
    fills: tuple[MyTrade, ...] = ()
    receipt: CommandReceipt | None = None
    error: BatMarketsError | None = None
    noop: bool = False
    evidence: tuple[EvidenceItem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is CommandStatus.ACCEPTED


class LifecycleEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One step in a command's life; ``RESOLVED`` (with ``outcome``) is always the last."""

    command_id: str
    kind: CommandKind
    stage: LifecycleStage
    timestamp: int
    ack: CommandAck | None = None
    receipt: CommandReceipt | None = None
    order: Order | None = None
    trade: MyTrade | None = None
    outcome: CommandOutcome | None = None
    detail: str = ""


class ReconcilePlan(msgspec.Struct, frozen=True, kw_only=True):
    """Which reads the runtime should make to gather ``Evidence`` for a command."""

    lookup_order: bool = False
    open_orders: bool = False
    fills: bool = False
    positions: bool = False

    @property
    def empty(self) -> bool:
        return not (self.lookup_order or self.open_orders or self.fills or self.positions)


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one reconciliation pass did (``advanced().reconcile()``)."""

    timestamp: int
    trigger: str
    refreshed: tuple[str, ...] = ()  # "balances", "positions", "open_orders"
    resolved: tuple[CommandOutcome, ...] = ()
    pending: tuple[str, ...] = ()  # command ids still unresolved
    errors: tuple[str, ...] = ()


class TrackedCommand:
    """Mutable tracking record of one command (read it, don't write it)."""

    __slots__ = (
        "client_order_id",
        "command_id",
        "confirm_with_stream",
        "deadline",
        "error",
        "evidence",
        "expect",
        "fills",
        "kind",
        "next_check",
        "order",
        "order_id",
        "outcome",
        "phase",
        "position_side",
        "receipt",
        "receipt_verdict",
        "sent_at",
        "stream_verdict",
        "symbol",
        "target",
        "transport",
        "venue",
    )

    def __init__(
        self,
        command_id: str,
        kind: CommandKind,
        venue: str,
        *,
        symbol: str | None,
        client_order_id: str | None,
        order_id: str | None,
        sent_at: int,
        transport: Literal["rest", "ws"],
        expect: EditExpectation | None,
        target: SettingTarget | None,
        position_side: PositionSide | None,
        confirm_with_stream: bool,
    ) -> None:
        self.command_id = command_id
        self.kind = kind
        self.venue = venue
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.order_id = order_id
        self.sent_at = sent_at
        self.transport: Literal["rest", "ws"] = transport
        self.expect = expect
        self.target = target
        self.position_side = position_side
        self.confirm_with_stream = confirm_with_stream
        self.phase = CommandPhase.AWAITING_RECEIPT
        self.receipt: CommandReceipt | None = None
        self.receipt_verdict: Verdict | None = None  # decisive receipt, awaiting the stream
        self.stream_verdict: Verdict | None = None  # the stream decided before the receipt came
        self.order: Order | None = None
        self.fills: list[MyTrade] = []
        self.evidence: list[EvidenceItem] = []
        self.error: BatMarketsError | None = None
        self.outcome: CommandOutcome | None = None
        self.next_check = sent_at
        self.deadline = sent_at

    def __repr__(self) -> str:
        return (
            f"TrackedCommand({self.command_id}, {self.kind}, {self.phase}, "
            f"symbol={self.symbol!r}, client_order_id={self.client_order_id!r})"
        )


# -- pure decisions


def order_verdict(order: Order) -> Verdict:
    """What an observed order says about the create that placed it."""
    if order.filled > 0:
        return Verdict(
            status=CommandStatus.ACCEPTED,
            reason=f"order {order.id} {order.status} with {order.filled} filled",
            order=order,
        )
    reason = order.reject_reason if order.reject_reason not in _NO_REASON else None
    if order.status is OrderStatus.REJECTED or (
        order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED) and reason is not None
    ):
        why = reason or order.venue_status or str(order.status)
        return Verdict(
            status=CommandStatus.REJECTED,
            reason=f"order {order.id} was {order.status} on arrival: {why}",
            error=ExchangeReject(f"order rejected: {why}", code=reason),
            order=order,
        )
    return Verdict(
        status=CommandStatus.ACCEPTED,
        reason=f"order {order.id} is {order.status}",
        order=order,
    )


def _matches(cmd: TrackedCommand, order_id: str | None, client_order_id: str | None) -> bool:
    return (cmd.order_id is not None and order_id == cmd.order_id) or (
        cmd.client_order_id is not None and client_order_id == cmd.client_order_id
    )


def _find_order(cmd: TrackedCommand, orders: Iterable[Order] | None) -> Order | None:
    for order in orders or ():
        if _matches(cmd, order.id, order.client_order_id):
            return order
    return None


def _past_grace(cmd: TrackedCommand, ev: Evidence, policy: LifecyclePolicy) -> bool:
    return ev.source == "query" and ev.timestamp - cmd.sent_at >= policy.absence_grace_ms


def _reject(reason: str, venue: str, cls: type[BatMarketsError] = StateDivergence) -> Verdict:
    return Verdict(status=CommandStatus.REJECTED, reason=reason, error=cls(reason, venue=venue))


def _decide_create(cmd: TrackedCommand, ev: Evidence, policy: LifecyclePolicy) -> Verdict | None:
    order = (
        ev.order
        if ev.order is not None and _matches(cmd, ev.order.id, ev.order.client_order_id)
        else None
    )
    order = order or _find_order(cmd, ev.open_orders)
    if order is not None:
        return order_verdict(order)
    for fill in ev.fills or ():
        if _matches(cmd, fill.order_id, fill.client_order_id):
            return Verdict(
                status=CommandStatus.ACCEPTED, reason=f"fill {fill.id} of order {fill.order_id}"
            )
    if (
        ev.order_lookup == "not_found"
        and ev.open_orders is not None
        and ev.fills is not None
        and _past_grace(cmd, ev, policy)
    ):
        waited = ev.timestamp - cmd.sent_at
        reason = (
            f"did not execute: client order id {cmd.client_order_id} not found {waited} ms after "
            "sending; not among open orders or recent fills"
        )
        error = cmd.error or StateDivergence(reason, venue=cmd.venue)
        return Verdict(status=CommandStatus.REJECTED, reason=reason, error=error)
    return None


def _decide_cancel(cmd: TrackedCommand, ev: Evidence, policy: LifecyclePolicy) -> Verdict | None:
    order = (
        ev.order
        if ev.order is not None and _matches(cmd, ev.order.id, ev.order.client_order_id)
        else None
    )
    order = order or _find_order(cmd, ev.open_orders)
    if order is not None:
        if order.status is OrderStatus.CANCELED:
            return Verdict(
                status=CommandStatus.ACCEPTED, reason=f"order {order.id} is canceled", order=order
            )
        if order.status is OrderStatus.FILLED:
            v = _reject(
                f"too late: order {order.id} was filled before the cancel",
                cmd.venue,
                ExchangeReject,
            )
            return Verdict(status=v.status, reason=v.reason, error=v.error, order=order)
        if order.status.is_final:
            v = _reject(f"order {order.id} was already {order.status}", cmd.venue, ExchangeReject)
            return Verdict(status=v.status, reason=v.reason, error=v.error, order=order)
        if _past_grace(cmd, ev, policy):
            v = _reject(f"order {order.id} is still {order.status} after the cancel", cmd.venue)
            return Verdict(status=v.status, reason=v.reason, error=v.error, order=order)
        return None
    if ev.order_lookup == "not_found" and _past_grace(cmd, ev, policy):
        return _reject("order to cancel was not found", cmd.venue)
    return None


def _decide_edit(cmd: TrackedCommand, ev: Evidence, policy: LifecyclePolicy) -> Verdict | None:
    order = (
        ev.order
        if ev.order is not None and _matches(cmd, ev.order.id, ev.order.client_order_id)
        else None
    )
    order = order or _find_order(cmd, ev.open_orders)
    expect = cmd.expect or EditExpectation()
    if order is not None:
        if expect.shown_by(order):
            return Verdict(
                status=CommandStatus.ACCEPTED,
                reason=f"order {order.id} shows the new values",
                order=order,
            )
        if order.status.is_final:
            v = _reject(
                f"too late: order {order.id} was {order.status} before the edit applied",
                cmd.venue,
                ExchangeReject,
            )
            return Verdict(status=v.status, reason=v.reason, error=v.error, order=order)
        if _past_grace(cmd, ev, policy):
            v = _reject(f"order {order.id} is unchanged after the edit", cmd.venue)
            return Verdict(status=v.status, reason=v.reason, error=v.error, order=order)
        return None
    if ev.order_lookup == "not_found" and _past_grace(cmd, ev, policy):
        return _reject("order to edit was not found", cmd.venue)
    return None


def _decide_cancel_all(
    cmd: TrackedCommand, ev: Evidence, policy: LifecyclePolicy
) -> Verdict | None:
    if ev.open_orders is None:
        return None
    older = [
        o
        for o in ev.open_orders
        if (cmd.symbol is None or o.symbol == cmd.symbol)
        and (o.created_at is None or o.created_at <= cmd.sent_at)
    ]
    if not older:
        return Verdict(
            status=CommandStatus.ACCEPTED, reason="no order older than the command is open"
        )
    if _past_grace(cmd, ev, policy):
        ids = ", ".join(o.id for o in older[:5])
        return _reject(f"{len(older)} orders still open after cancel all ({ids})", cmd.venue)
    return None


def _rows(cmd: TrackedCommand, positions: Sequence[Position] | None) -> list[Position]:
    return [p for p in positions or () if cmd.symbol is None or p.symbol == cmd.symbol]


def _single(values: set[object]) -> object:
    """The one value observed, the set when rows disagree, ``None`` when nothing was seen."""
    if len(values) == 1:
        return next(iter(values))
    return values or None


def _decide_setting(cmd: TrackedCommand, ev: Evidence, policy: LifecyclePolicy) -> Verdict | None:
    target = cmd.target
    rows = _rows(cmd, ev.positions)
    observed: object = None
    what = ""
    if cmd.kind is CommandKind.SET_LEVERAGE:
        what = "leverage"
        if ev.leverage is not None:
            observed = ev.leverage
        else:
            observed = _single({p.leverage for p in rows if p.leverage is not None})
    elif cmd.kind is CommandKind.SET_MARGIN_MODE:
        what = "margin mode"
        observed = _single({p.margin_mode for p in rows if p.margin_mode is not None})
    else:
        what = "position mode"
        sides = {p.position_side for p in rows}
        if sides & {PositionSide.LONG, PositionSide.SHORT}:
            observed = PositionMode.HEDGE if PositionSide.BOTH not in sides else sides
        elif sides:
            observed = PositionMode.ONE_WAY
    if observed is None:
        if ev.source == "query" and ev.positions is not None:
            return Verdict(
                status=CommandStatus.UNKNOWN,
                reason=f"the venue's position rows do not show the {what}; cannot verify",
                error=cmd.error,
            )
        return None
    if observed == target:
        return Verdict(status=CommandStatus.ACCEPTED, reason=f"{what} is now {target}")
    if _past_grace(cmd, ev, policy):
        return _reject(f"{what} is {observed}, not {target}", cmd.venue)
    return None


def decide(
    cmd: TrackedCommand, evidence: Evidence, policy: LifecyclePolicy | None = None
) -> Verdict | None:
    """Decide a command's outcome from one piece of evidence; ``None`` = not decidable yet.

    Negative verdicts ("did not execute", "still open", "unchanged") are only drawn from queries
    made at least ``absence_grace_ms`` after the command was sent; stream evidence can only
    confirm or show a final state.
    """
    policy = policy or LifecyclePolicy()
    if cmd.kind in _CREATE_KINDS:
        return _decide_create(cmd, evidence, policy)
    if cmd.kind is CommandKind.CANCEL_ORDER:
        return _decide_cancel(cmd, evidence, policy)
    if cmd.kind is CommandKind.EDIT_ORDER:
        return _decide_edit(cmd, evidence, policy)
    if cmd.kind is CommandKind.CANCEL_ALL_ORDERS:
        return _decide_cancel_all(cmd, evidence, policy)
    if cmd.kind in _SETTING_KINDS:
        return _decide_setting(cmd, evidence, policy)
    return None


def plan_for(cmd: TrackedCommand) -> ReconcilePlan:
    """The reads that can decide ``cmd``."""
    if cmd.phase is CommandPhase.CONFIRMING and cmd.kind in _ORDER_KINDS:
        return ReconcilePlan(lookup_order=True)
    if cmd.kind in _CREATE_KINDS:
        return ReconcilePlan(lookup_order=True, open_orders=True, fills=True)
    if cmd.kind in (CommandKind.CANCEL_ORDER, CommandKind.EDIT_ORDER):
        return ReconcilePlan(lookup_order=True)
    if cmd.kind is CommandKind.CANCEL_ALL_ORDERS:
        return ReconcilePlan(open_orders=True)
    if cmd.kind in _SETTING_KINDS:
        return ReconcilePlan(positions=True)
    return ReconcilePlan()


def combine_receipts(
    kind: CommandKind, venue: str, receipts: Sequence[CommandReceipt], symbol: str | None = None
) -> CommandReceipt:
    """Fold the receipts of a multi-request command (cancel all: orders + algo orders) into one.

    Any UNKNOWN part makes the whole UNKNOWN; any real rejection makes it REJECTED.
    """
    if not receipts:
        return CommandReceipt(kind=kind, status=CommandStatus.ACCEPTED, venue=venue, symbol=symbol)
    unknown = [r for r in receipts if r.status is CommandStatus.UNKNOWN]
    rejected = [r for r in receipts if r.status is CommandStatus.REJECTED and not r.noop]
    pick = (unknown or rejected or list(receipts))[0]
    return CommandReceipt(
        kind=kind,
        status=pick.status if (unknown or rejected) else CommandStatus.ACCEPTED,
        venue=venue,
        symbol=symbol if symbol is not None else pick.symbol,
        error=pick.error,
        noop=all(r.noop for r in receipts),
        timestamp=max((r.timestamp for r in receipts if r.timestamp is not None), default=None),
    )


# -- the tracker


class CommandTracker:
    """Tracks in-flight commands to a final outcome. Pure: every call takes ``now_ms``."""

    def __init__(self, venue: str, policy: LifecyclePolicy | None = None) -> None:
        self.venue = venue
        self.policy = policy or LifecyclePolicy()
        self._commands: dict[str, TrackedCommand] = {}
        self._by_client_id: dict[str, set[str]] = {}
        self._by_order_id: dict[str, set[str]] = {}
        self._ids = itertools.count(1)

    # -- registration

    def track(
        self,
        kind: CommandKind,
        *,
        now_ms: int,
        symbol: str | None = None,
        client_order_id: str | None = None,
        order_id: str | None = None,
        transport: Literal["rest", "ws"] = "rest",
        expect: EditExpectation | None = None,
        target: SettingTarget | None = None,
        position_side: PositionSide | None = None,
        confirm_with_stream: bool = False,
        command_id: str | None = None,
    ) -> TrackedCommand:
        """Start tracking a command just before it is sent.

        ``confirm_with_stream``: the private stream is live, so wait (up to
        ``confirm_timeout_ms``) for it to show the effect before resolving an accepted order
        command.
        """
        cid = command_id or f"{kind}-{next(self._ids)}"
        cmd = TrackedCommand(
            cid,
            kind,
            self.venue,
            symbol=symbol,
            client_order_id=client_order_id,
            order_id=order_id,
            sent_at=now_ms,
            transport=transport,
            expect=expect,
            target=target,
            position_side=position_side,
            confirm_with_stream=confirm_with_stream,
        )
        cmd.deadline = now_ms + self.policy.receipt_timeout_ms
        self._commands[cid] = cmd
        if client_order_id:
            self._by_client_id.setdefault(client_order_id, set()).add(cid)
        if order_id:
            self._by_order_id.setdefault(order_id, set()).add(cid)
        return cmd

    def get(self, command_id: str) -> TrackedCommand | None:
        return self._commands.get(command_id)

    def pending(self) -> list[TrackedCommand]:
        """Commands not resolved yet."""
        return list(self._commands.values())

    def unknown(self) -> list[TrackedCommand]:
        return [c for c in self._commands.values() if c.phase is CommandPhase.UNKNOWN]

    # -- receipts

    def on_receipt(
        self, command_id: str, receipt: CommandReceipt, now_ms: int
    ) -> list[LifecycleEvent]:
        """Record the venue's answer (or an UNKNOWN receipt after a transport failure)."""
        cmd = self._commands.get(command_id)
        if cmd is None or cmd.receipt is not None:
            return []
        cmd.receipt = receipt
        if receipt.order_id and receipt.order_id != cmd.order_id and cmd.kind in _CREATE_KINDS:
            cmd.order_id = receipt.order_id
            self._by_order_id.setdefault(receipt.order_id, set()).add(command_id)
        if receipt.client_order_id and not cmd.client_order_id:
            cmd.client_order_id = receipt.client_order_id
            self._by_client_id.setdefault(receipt.client_order_id, set()).add(command_id)
        ack = CommandAck(
            command_id=command_id,
            kind=cmd.kind,
            status=receipt.status,
            transport=cmd.transport,
            timestamp=now_ms,
            order_id=receipt.order_id or cmd.order_id,
            client_order_id=receipt.client_order_id or cmd.client_order_id,
        )
        events = [
            self._event(cmd, LifecycleStage.ACK, now_ms, ack=ack),
            self._event(cmd, LifecycleStage.RECEIPT, now_ms, receipt=receipt),
        ]
        cmd.evidence.append(
            EvidenceItem(source="receipt", detail=_describe_receipt(receipt), timestamp=now_ms)
        )
        if receipt.order is not None:
            self._observe_order(cmd, receipt.order)

        early = cmd.stream_verdict
        if receipt.noop:
            events += self._resolve(
                cmd,
                Verdict(status=CommandStatus.ACCEPTED, reason="no-op: the state already holds"),
                "receipt",
                now_ms,
            )
        elif early is not None and (
            receipt.status is not CommandStatus.REJECTED
            or (cmd.kind in _CREATE_KINDS and early.status is CommandStatus.ACCEPTED)
        ):
            # The stream showed the effect before the answer came (or the answer was lost).
            events += self._resolve(cmd, early, "stream", now_ms)
        elif (
            receipt.status is CommandStatus.REJECTED
            and isinstance(receipt.error, StateDivergence)
            and cmd.kind in (CommandKind.CANCEL_ORDER, CommandKind.EDIT_ORDER)
        ):
            # "Order not found / not live": the order may have been canceled (by this very
            # command, whose first attempt was lost) or filled. Look before concluding.
            cmd.error = receipt.error
            events += self._go_unknown(
                cmd, now_ms, "the venue says the order is not live: verifying"
            )
        elif receipt.status is CommandStatus.REJECTED:
            events += self._resolve(
                cmd,
                Verdict(
                    status=CommandStatus.REJECTED,
                    reason=_describe_receipt(receipt),
                    error=receipt.error,
                ),
                "receipt",
                now_ms,
            )
        elif receipt.status is CommandStatus.UNKNOWN:
            cmd.error = receipt.error
            events += self._go_unknown(cmd, now_ms, "the venue's answer was lost: reconciling")
        else:
            events += self._accepted(cmd, receipt, now_ms)
        return events

    def _accepted(
        self, cmd: TrackedCommand, receipt: CommandReceipt, now_ms: int
    ) -> list[LifecycleEvent]:
        if cmd.kind not in _ORDER_KINDS:
            return self._resolve(
                cmd,
                Verdict(status=CommandStatus.ACCEPTED, reason="accepted by the venue"),
                "receipt",
                now_ms,
            )
        verdict: Verdict | None = None
        if receipt.order is not None:
            ev = Evidence(
                timestamp=now_ms, source="stream", order=receipt.order, order_lookup="found"
            )
            verdict = decide(cmd, ev, self.policy)
        if verdict is not None and (
            verdict.status is CommandStatus.REJECTED or not cmd.confirm_with_stream
        ):
            return self._resolve(cmd, verdict, "receipt", now_ms)
        cmd.receipt_verdict = verdict
        cmd.phase = CommandPhase.CONFIRMING
        if verdict is None:
            # Nothing decisive in the answer: query after the confirm timeout unless the stream
            # shows the effect first; trust the answer if even the query cannot be made.
            cmd.next_check = now_ms + self.policy.confirm_timeout_ms
            cmd.deadline = cmd.next_check + self.policy.confirm_timeout_ms
        else:
            cmd.next_check = _NEVER
            cmd.deadline = now_ms + self.policy.confirm_timeout_ms
        return []

    # -- stream

    def on_event(self, event: PrivateEvent, now_ms: int) -> list[LifecycleEvent]:
        """Feed one (deduplicated) private event; returns lifecycle events of matched commands."""
        out: list[LifecycleEvent] = []
        if isinstance(event, Order):
            for cmd in self._match(event.id, event.client_order_id):
                if cmd.kind in _CREATE_KINDS and cmd.order_id is None:
                    cmd.order_id = event.id
                    self._by_order_id.setdefault(event.id, set()).add(cmd.command_id)
                self._observe_order(cmd, event)
                out.append(self._event(cmd, LifecycleStage.ORDER, now_ms, order=event))
                out += self._on_stream_evidence(
                    cmd,
                    Evidence(timestamp=now_ms, source="stream", order=event, order_lookup="found"),
                    now_ms,
                )
        elif isinstance(event, MyTrade):
            for cmd in self._match(event.order_id, event.client_order_id):
                if all(f.id != event.id for f in cmd.fills):
                    cmd.fills.append(event)
                out.append(self._event(cmd, LifecycleStage.FILL, now_ms, trade=event))
                if cmd.kind in _CREATE_KINDS:
                    out += self._on_stream_evidence(
                        cmd, Evidence(timestamp=now_ms, source="stream", fills=[event]), now_ms
                    )
        elif isinstance(event, Position):
            for cmd in self._settings(event.symbol):
                out += self._on_stream_evidence(
                    cmd, Evidence(timestamp=now_ms, source="stream", positions=[event]), now_ms
                )
        elif isinstance(event, AccountConfigEvent) and event.leverage is not None:
            for cmd in self._settings(event.symbol):
                if cmd.kind is CommandKind.SET_LEVERAGE:
                    ev = Evidence(
                        timestamp=now_ms, source="stream", leverage=Decimal(event.leverage)
                    )
                    out += self._on_stream_evidence(cmd, ev, now_ms)
        return out

    def _match(self, order_id: str | None, client_order_id: str | None) -> list[TrackedCommand]:
        ids: set[str] = set()
        if order_id:
            ids |= self._by_order_id.get(order_id, set())
        if client_order_id:
            ids |= self._by_client_id.get(client_order_id, set())
        return [self._commands[i] for i in sorted(ids) if i in self._commands]

    def _settings(self, symbol: str | None) -> list[TrackedCommand]:
        return [
            c
            for c in self._commands.values()
            if c.kind in _SETTING_KINDS
            and (c.symbol is None or symbol is None or c.symbol == symbol)
        ]

    def _on_stream_evidence(
        self, cmd: TrackedCommand, ev: Evidence, now_ms: int
    ) -> list[LifecycleEvent]:
        if cmd.phase is CommandPhase.RESOLVED:
            return []
        verdict = decide(cmd, ev, self.policy)
        if verdict is None or verdict.status is CommandStatus.UNKNOWN:
            return []
        cmd.evidence.append(EvidenceItem(source="stream", detail=verdict.reason, timestamp=now_ms))
        if cmd.phase is CommandPhase.AWAITING_RECEIPT:
            # Keep ack → receipt → resolved ordering: resolve when the receipt arrives.
            cmd.stream_verdict = verdict
            return []
        return self._resolve(cmd, verdict, "stream", now_ms)

    # -- reconciliation

    def due(self, now_ms: int) -> list[TrackedCommand]:
        """Commands for which the runtime should gather ``Evidence`` now (see ``plan_for``)."""
        return [
            c
            for c in self._commands.values()
            if c.phase in (CommandPhase.UNKNOWN, CommandPhase.CONFIRMING)
            and c.next_check <= now_ms
            and c.next_check != _NEVER
        ]

    def next_wakeup(self) -> int | None:
        """The earliest time (ms) at which ``due`` or ``expire`` will have work."""
        times = [c.next_check for c in self.due(_NEVER)]
        times += [c.deadline for c in self._commands.values()]
        return min(times) if times else None

    def on_evidence(self, command_id: str, evidence: Evidence, now_ms: int) -> list[LifecycleEvent]:
        """Apply evidence gathered by the runtime for ``command_id``."""
        cmd = self._commands.get(command_id)
        if cmd is None or cmd.phase not in (CommandPhase.UNKNOWN, CommandPhase.CONFIRMING):
            return []
        cmd.evidence.append(
            EvidenceItem(source="query", detail=_describe_evidence(evidence), timestamp=now_ms)
        )
        if evidence.order is not None:
            self._observe_order(cmd, evidence.order)
        verdict = decide(cmd, evidence, self.policy)
        if cmd.phase is CommandPhase.CONFIRMING:
            # The venue already said yes: a query can show the effect or a later failure, but
            # absence is not a reason to doubt the venue's own answer.
            if (
                verdict is not None
                and verdict.status is not CommandStatus.UNKNOWN
                and not _is_absence(verdict)
            ):
                return self._resolve(cmd, verdict, "reconcile", now_ms)
            fallback = cmd.receipt_verdict or Verdict(
                status=CommandStatus.ACCEPTED,
                reason="accepted by the venue; effect not observed yet",
            )
            return self._resolve(cmd, fallback, "receipt", now_ms)
        if verdict is not None:
            return self._resolve(cmd, verdict, "reconcile", now_ms)
        if now_ms >= cmd.deadline:
            return self._final_unknown(cmd, now_ms)
        cmd.next_check = now_ms + self.policy.requery_interval_ms
        return []

    def expire(self, now_ms: int) -> list[LifecycleEvent]:
        """Apply time bounds: receipt timeouts become UNKNOWN, exhausted windows become final."""
        out: list[LifecycleEvent] = []
        for cmd in list(self._commands.values()):
            if cmd.deadline > now_ms:
                continue
            if cmd.phase is CommandPhase.AWAITING_RECEIPT:
                err = Timeout(
                    f"no answer to {cmd.kind} within {self.policy.receipt_timeout_ms} ms",
                    venue=self.venue,
                )
                receipt = CommandReceipt(
                    kind=cmd.kind,
                    status=CommandStatus.UNKNOWN,
                    venue=self.venue,
                    symbol=cmd.symbol,
                    order_id=cmd.order_id,
                    client_order_id=cmd.client_order_id,
                    error=err,
                    timestamp=now_ms,
                )
                out += self.on_receipt(cmd.command_id, receipt, now_ms)
            elif cmd.phase is CommandPhase.CONFIRMING:
                # No stream confirmation (and no query result) in time: trust the venue's answer.
                fallback = cmd.receipt_verdict or Verdict(
                    status=CommandStatus.ACCEPTED,
                    reason="accepted by the venue; effect not observed",
                )
                out += self._resolve(cmd, fallback, "receipt", now_ms)
            elif cmd.phase is CommandPhase.UNKNOWN:
                out += self._final_unknown(cmd, now_ms)
        return out

    def drop(self, command_id: str) -> None:
        """Stop tracking a command whose request was never sent (no outcome, no events)."""
        cmd = self._commands.get(command_id)
        if cmd is not None:
            self._forget(cmd)

    def resolve_unknown_now(
        self, command_id: str, now_ms: int, reason: str
    ) -> list[LifecycleEvent]:
        """Give up on a command immediately (shutdown): final UNKNOWN with the evidence so far."""
        cmd = self._commands.get(command_id)
        if cmd is None:
            return []
        cmd.evidence.append(EvidenceItem(source="policy", detail=reason, timestamp=now_ms))
        return self._final_unknown(cmd, now_ms, reason)

    # -- internals

    def _observe_order(self, cmd: TrackedCommand, order: Order) -> None:
        old = cmd.order
        if old is not None and (
            order.filled < old.filled or (old.status.is_final and not order.status.is_final)
        ):
            return  # never let an older view replace a newer one
        cmd.order = order

    def _go_unknown(self, cmd: TrackedCommand, now_ms: int, detail: str) -> list[LifecycleEvent]:
        if cmd.kind is CommandKind.VALIDATE_ORDER:
            return self._resolve(
                cmd,
                Verdict(
                    status=CommandStatus.UNKNOWN,
                    reason="validation answer lost; a validation never places an order",
                    error=cmd.error,
                ),
                "receipt",
                now_ms,
            )
        cmd.phase = CommandPhase.UNKNOWN
        cmd.next_check = now_ms
        cmd.deadline = now_ms + self.policy.unknown_window_ms
        return [self._event(cmd, LifecycleStage.RECONCILING, now_ms, detail=detail)]

    def _final_unknown(
        self, cmd: TrackedCommand, now_ms: int, reason: str | None = None
    ) -> list[LifecycleEvent]:
        waited = now_ms - cmd.sent_at
        verdict = Verdict(
            status=CommandStatus.UNKNOWN,
            reason=reason or f"outcome still unknown after {waited} ms of reconciliation",
            error=cmd.error,
        )
        return self._resolve(cmd, verdict, "window", now_ms)

    def _resolve(
        self, cmd: TrackedCommand, verdict: Verdict, by: _ResolvedBy, now_ms: int
    ) -> list[LifecycleEvent]:
        if cmd.phase is CommandPhase.RESOLVED:
            return []
        if verdict.order is not None:
            self._observe_order(cmd, verdict.order)
        cmd.phase = CommandPhase.RESOLVED
        receipt = cmd.receipt
        outcome = CommandOutcome(
            command_id=cmd.command_id,
            kind=cmd.kind,
            status=verdict.status,
            venue=cmd.venue,
            timestamp=now_ms,
            resolved_by=by,
            reason=verdict.reason,
            symbol=cmd.symbol or (receipt.symbol if receipt else None),
            order_id=cmd.order_id or (cmd.order.id if cmd.order else None),
            client_order_id=cmd.client_order_id,
            order=cmd.order,
            fills=tuple(cmd.fills),
            receipt=receipt,
            error=verdict.error if verdict.status is not CommandStatus.ACCEPTED else None,
            noop=bool(receipt and receipt.noop),
            evidence=(
                *cmd.evidence,
                EvidenceItem(
                    source="policy",
                    detail=f"resolved {verdict.status}: {verdict.reason}",
                    timestamp=now_ms,
                ),
            ),
        )
        cmd.outcome = outcome
        self._forget(cmd)
        return [self._event(cmd, LifecycleStage.RESOLVED, now_ms, outcome=outcome)]

    def _forget(self, cmd: TrackedCommand) -> None:
        self._commands.pop(cmd.command_id, None)
        for index, key in (
            (self._by_client_id, cmd.client_order_id),
            (self._by_order_id, cmd.order_id),
        ):
            if key and key in index:
                index[key].discard(cmd.command_id)
                if not index[key]:
                    del index[key]

    def _event(
        self,
        cmd: TrackedCommand,
        stage: LifecycleStage,
        now_ms: int,
        *,
        ack: CommandAck | None = None,
        receipt: CommandReceipt | None = None,
        order: Order | None = None,
        trade: MyTrade | None = None,
        outcome: CommandOutcome | None = None,
        detail: str = "",
    ) -> LifecycleEvent:
        return LifecycleEvent(
            command_id=cmd.command_id,
            kind=cmd.kind,
            stage=stage,
            timestamp=now_ms,
            ack=ack,
            receipt=receipt,
            order=order,
            trade=trade,
            outcome=outcome,
            detail=detail,
        )


def _is_absence(verdict: Verdict) -> bool:
    return verdict.status is CommandStatus.REJECTED and verdict.order is None


def _describe_receipt(receipt: CommandReceipt) -> str:
    parts = [f"{receipt.kind} {receipt.status}"]
    if receipt.order_id:
        parts.append(f"order {receipt.order_id}")
    if receipt.noop:
        parts.append("(no-op)")
    if receipt.error is not None:
        parts.append(f"— {receipt.error}")
    return " ".join(parts)


def _describe_evidence(ev: Evidence) -> str:
    parts = [f"lookup {ev.order_lookup}"]
    if ev.order is not None:
        parts.append(f"order {ev.order.id} {ev.order.status} filled {ev.order.filled}")
    if ev.open_orders is not None:
        parts.append(f"{len(ev.open_orders)} open orders")
    if ev.fills is not None:
        parts.append(f"{len(ev.fills)} recent fills")
    if ev.positions is not None:
        parts.append(f"{len(ev.positions)} position rows")
    if ev.error is not None:
        parts.append(f"read failed: {ev.error}")
    return "; ".join(parts)
