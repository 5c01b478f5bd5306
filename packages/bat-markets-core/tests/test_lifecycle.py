"""Command lifecycle tracker and reconciliation decisions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.core import (
    AccountConfigEvent,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    ExchangeReject,
    MarginMode,
    MyTrade,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    Side,
    StateDivergence,
    Timeout,
    TransportError,
)
from bat_markets.core._lifecycle import (
    CommandPhase,
    CommandTracker,
    EditExpectation,
    Evidence,
    LifecycleEvent,
    LifecyclePolicy,
    LifecycleStage,
    ReconcilePlan,
    combine_receipts,
    order_verdict,
    plan_for,
)

BTC = "BTC/USDT:USDT"
D = Decimal
T0 = 1_700_000_000_000
POLICY = LifecyclePolicy(
    receipt_timeout_ms=10_000,
    confirm_timeout_ms=1_000,
    absence_grace_ms=3_000,
    requery_interval_ms=500,
    unknown_window_ms=20_000,
)
CID = "bm-7Hq2kqN1c0R9yV3wZp4xT8sLmA"


def tracker() -> CommandTracker:
    return CommandTracker("bybit", POLICY)


def order(
    status: OrderStatus = OrderStatus.NEW,
    filled: str = "0",
    *,
    id: str = "1321003749386327552",
    cid: str | None = CID,
    price: str = "50000",
    amount: str = "0.010",
    reason: str | None = None,
    created: int = T0 + 5,
) -> Order:
    return Order(
        symbol=BTC,
        id=id,
        client_order_id=cid,
        side=Side.BUY,
        type=OrderType.LIMIT,
        status=status,
        amount=D(amount),
        filled=D(filled),
        price=D(price),
        reject_reason=reason,
        created_at=created,
        updated_at=created,
    )


def receipt(
    kind: CommandKind,
    status: CommandStatus,
    *,
    order_id: str | None = "1321003749386327552",
    with_order: Order | None = None,
    error: Exception | None = None,
    noop: bool = False,
) -> CommandReceipt:
    return CommandReceipt(
        kind=kind,
        status=status,
        venue="bybit",
        symbol=BTC,
        order_id=order_id,
        client_order_id=CID,
        order=with_order,
        error=error,  # type: ignore[arg-type]
        noop=noop,
    )


def stages(events: list[LifecycleEvent]) -> list[LifecycleStage]:
    return [e.stage for e in events]


def outcome_of(events: list[LifecycleEvent]):  # type: ignore[no-untyped-def]
    assert events[-1].stage is LifecycleStage.RESOLVED
    out = events[-1].outcome
    assert out is not None
    return out


# -- happy paths


def test_create_accepted_by_decisive_receipt() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.CREATE_ORDER, now_ms=T0, symbol=BTC, client_order_id=CID)
    ev = tr.on_receipt(
        cmd.command_id,
        receipt(CommandKind.CREATE_ORDER, CommandStatus.ACCEPTED, with_order=order()),
        T0 + 20,
    )
    assert stages(ev) == [LifecycleStage.ACK, LifecycleStage.RECEIPT, LifecycleStage.RESOLVED]
    out = outcome_of(ev)
    assert out.status is CommandStatus.ACCEPTED
    assert out.resolved_by == "receipt"
    assert out.order_id == "1321003749386327552"
    assert ev[0].ack is not None
    assert ev[0].ack.transport == "rest"
    assert tr.pending() == []


def test_create_confirmed_by_stream() -> None:
    tr = tracker()
    cmd = tr.track(
        CommandKind.CREATE_ORDER,
        now_ms=T0,
        symbol=BTC,
        client_order_id=CID,
        confirm_with_stream=True,
    )
    ev = tr.on_receipt(
        cmd.command_id, receipt(CommandKind.CREATE_ORDER, CommandStatus.ACCEPTED), T0 + 20
    )
    assert stages(ev) == [LifecycleStage.ACK, LifecycleStage.RECEIPT]
    assert cmd.phase is CommandPhase.CONFIRMING
    ev = tr.on_event(order(), T0 + 30)
    assert stages(ev) == [LifecycleStage.ORDER, LifecycleStage.RESOLVED]
    out = outcome_of(ev)
    assert out.status is CommandStatus.ACCEPTED
    assert out.resolved_by == "stream"
    assert out.order == order()
    # later events for the order no longer concern the resolved command
    assert tr.on_event(order(OrderStatus.FILLED, "0.010"), T0 + 40) == []


def test_post_only_killed_on_arrival_is_rejected() -> None:
    tr = tracker()
    cmd = tr.track(
        CommandKind.CREATE_ORDER,
        now_ms=T0,
        symbol=BTC,
        client_order_id=CID,
        confirm_with_stream=True,
    )
    tr.on_receipt(
        cmd.command_id, receipt(CommandKind.CREATE_ORDER, CommandStatus.ACCEPTED), T0 + 20
    )
    killed = order(OrderStatus.CANCELED, reason="EC_PostOnlyWillTakeLiquidity")
    out = outcome_of(tr.on_event(killed, T0 + 25))
    assert out.status is CommandStatus.REJECTED
    assert isinstance(out.error, ExchangeReject)
    assert out.error.code == "EC_PostOnlyWillTakeLiquidity"


def test_user_cancel_reason_is_not_a_rejection() -> None:
    v = order_verdict(order(OrderStatus.CANCELED, reason="EC_NoError"))
    assert v.status is CommandStatus.ACCEPTED
    v = order_verdict(order(OrderStatus.EXPIRED, "0.001", reason="EC_Whatever"))
    assert v.status is CommandStatus.ACCEPTED  # it traded: it was placed
    assert order_verdict(order(OrderStatus.REJECTED)).status is CommandStatus.REJECTED


def test_stream_before_receipt_keeps_ack_receipt_resolved_order() -> None:
    tr = tracker()
    cmd = tr.track(
        CommandKind.CREATE_ORDER,
        now_ms=T0,
        symbol=BTC,
        client_order_id=CID,
        confirm_with_stream=True,
    )
    ev1 = tr.on_event(order(), T0 + 3)
    assert stages(ev1) == [LifecycleStage.ORDER]
    ev2 = tr.on_receipt(
        cmd.command_id, receipt(CommandKind.CREATE_ORDER, CommandStatus.ACCEPTED), T0 + 9
    )
    assert stages(ev2) == [LifecycleStage.ACK, LifecycleStage.RECEIPT, LifecycleStage.RESOLVED]
    assert outcome_of(ev2).resolved_by == "stream"


def test_rejected_and_noop_receipts() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.CREATE_ORDER, now_ms=T0, symbol=BTC, client_order_id=CID)
    err = ExchangeReject("Margin is insufficient.", venue="binance", code=-2019)
    out = outcome_of(
        tr.on_receipt(
            cmd.command_id,
            receipt(CommandKind.CREATE_ORDER, CommandStatus.REJECTED, error=err),
            T0 + 5,
        )
    )
    assert out.status is CommandStatus.REJECTED
    assert out.error is err
    s = tr.track(CommandKind.SET_MARGIN_MODE, now_ms=T0, symbol=BTC, target=MarginMode.ISOLATED)
    noop_err = ExchangeReject("No need to change margin type.", code=-4046)
    out = outcome_of(
        tr.on_receipt(
            s.command_id,
            receipt(CommandKind.SET_MARGIN_MODE, CommandStatus.REJECTED, error=noop_err, noop=True),
            T0 + 5,
        )
    )
    assert out.status is CommandStatus.ACCEPTED
    assert out.noop
    assert out.error is None


def test_settings_accepted_resolve_immediately() -> None:
    tr = tracker()
    s = tr.track(
        CommandKind.SET_LEVERAGE, now_ms=T0, symbol=BTC, target=D(20), confirm_with_stream=True
    )
    out = outcome_of(
        tr.on_receipt(
            s.command_id, receipt(CommandKind.SET_LEVERAGE, CommandStatus.ACCEPTED), T0 + 5
        )
    )
    assert out.status is CommandStatus.ACCEPTED


# -- unknown creates


def unknown_create(tr: CommandTracker) -> str:
    cmd = tr.track(CommandKind.CREATE_ORDER, now_ms=T0, symbol=BTC, client_order_id=CID)
    ev = tr.on_receipt(
        cmd.command_id,
        receipt(
            CommandKind.CREATE_ORDER,
            CommandStatus.UNKNOWN,
            order_id=None,
            error=Timeout("read timeout", venue="bybit"),
        ),
        T0 + 10_000,
    )
    assert stages(ev) == [LifecycleStage.ACK, LifecycleStage.RECEIPT, LifecycleStage.RECONCILING]
    assert ev[0].ack is not None
    assert ev[0].ack.status is CommandStatus.UNKNOWN
    return cmd.command_id


def test_unknown_create_found_is_accepted() -> None:
    tr = tracker()
    cid = unknown_create(tr)
    [cmd] = tr.due(T0 + 10_000)
    assert plan_for(cmd) == ReconcilePlan(lookup_order=True, open_orders=True, fills=True)
    found = order(OrderStatus.FILLED, "0.010")
    out = outcome_of(
        tr.on_evidence(
            cid, Evidence(timestamp=T0 + 10_050, order=found, order_lookup="found"), T0 + 10_050
        )
    )
    assert out.status is CommandStatus.ACCEPTED
    assert out.resolved_by == "reconcile"
    assert out.order == found
    assert any(e.source == "query" for e in out.evidence)


def test_unknown_create_found_by_fill_or_open_orders() -> None:
    tr = tracker()
    cid = unknown_create(tr)
    f = MyTrade(
        symbol=BTC,
        id="e-1",
        order_id="99",
        client_order_id=CID,
        side=Side.BUY,
        price=D("50000"),
        amount=D("0.01"),
        timestamp=T0,
    )
    ev = Evidence(timestamp=T0 + 10_100, order_lookup="not_found", open_orders=[], fills=[f])
    assert outcome_of(tr.on_evidence(cid, ev, T0 + 10_100)).status is CommandStatus.ACCEPTED
    tr = tracker()
    cid = unknown_create(tr)
    ev = Evidence(timestamp=T0 + 10_100, order_lookup="failed", open_orders=[order()], fills=[])
    assert outcome_of(tr.on_evidence(cid, ev, T0 + 10_100)).status is CommandStatus.ACCEPTED


def test_not_found_right_after_send_is_not_proof() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.CREATE_ORDER, now_ms=T0, symbol=BTC, client_order_id=CID)
    tr.on_receipt(
        cmd.command_id,
        receipt(CommandKind.CREATE_ORDER, CommandStatus.UNKNOWN, order_id=None, error=Timeout("t")),
        T0 + 100,
    )
    absent = Evidence(timestamp=T0 + 600, order_lookup="not_found", open_orders=[], fills=[])
    assert tr.on_evidence(cmd.command_id, absent, T0 + 600) == []  # -2013 within the grace
    assert tr.due(T0 + 700) == []
    assert tr.due(T0 + 1_100) == [cmd]  # re-query after the interval
    absent = Evidence(timestamp=T0 + 3_200, order_lookup="not_found", open_orders=[], fills=[])
    out = outcome_of(tr.on_evidence(cmd.command_id, absent, T0 + 3_200))
    assert out.status is CommandStatus.REJECTED
    assert "did not execute" in out.reason
    assert isinstance(out.error, Timeout)  # why it did not go through


def test_absence_needs_all_reads() -> None:
    tr = tracker()
    cid = unknown_create(tr)
    partial = Evidence(timestamp=T0 + 10_100, order_lookup="not_found", open_orders=None, fills=[])
    assert tr.on_evidence(cid, partial, T0 + 10_100) == []


def test_unknown_create_resolved_by_stream() -> None:
    tr = tracker()
    cid = unknown_create(tr)
    ev = tr.on_event(order(OrderStatus.PARTIALLY_FILLED, "0.002"), T0 + 10_010)
    assert stages(ev) == [LifecycleStage.ORDER, LifecycleStage.RESOLVED]
    out = outcome_of(ev)
    assert out.command_id == cid
    assert out.status is CommandStatus.ACCEPTED
    assert out.resolved_by == "stream"


def test_unknown_create_window_exhausted_is_final_unknown() -> None:
    tr = tracker()
    cid = unknown_create(tr)
    failed = Evidence(
        timestamp=T0 + 10_100, order_lookup="failed", error=TransportError("connection reset")
    )
    assert tr.on_evidence(cid, failed, T0 + 10_100) == []
    assert tr.expire(T0 + 29_000) == []
    out = outcome_of(tr.expire(T0 + 30_000))
    assert out.status is CommandStatus.UNKNOWN
    assert out.resolved_by == "window"
    assert isinstance(out.error, Timeout)
    assert any("connection reset" in e.detail for e in out.evidence)
    assert tr.pending() == []


# -- cancels


def cancel_unknown(tr: CommandTracker, now: int = T0) -> str:
    cmd = tr.track(CommandKind.CANCEL_ORDER, now_ms=now, symbol=BTC, order_id="1321003749386327552")
    tr.on_receipt(
        cmd.command_id,
        receipt(CommandKind.CANCEL_ORDER, CommandStatus.UNKNOWN, error=TransportError("reset")),
        now + 50,
    )
    return cmd.command_id


@pytest.mark.parametrize(
    ("status", "filled", "expected", "text"),
    [
        (OrderStatus.CANCELED, "0", CommandStatus.ACCEPTED, "canceled"),
        (OrderStatus.CANCELED, "0.004", CommandStatus.ACCEPTED, "canceled"),
        (OrderStatus.FILLED, "0.010", CommandStatus.REJECTED, "too late"),
        (OrderStatus.EXPIRED, "0", CommandStatus.REJECTED, "already expired"),
    ],
)
def test_cancel_reconciled_by_order_state(
    status: OrderStatus, filled: str, expected: CommandStatus, text: str
) -> None:
    tr = tracker()
    cid = cancel_unknown(tr)
    out = outcome_of(
        tr.on_evidence(
            cid,
            Evidence(timestamp=T0 + 100, order=order(status, filled), order_lookup="found"),
            T0 + 100,
        )
    )
    assert out.status is expected
    assert text in out.reason


def test_cancel_still_open_is_rejected_only_after_grace() -> None:
    tr = tracker()
    cid = cancel_unknown(tr)
    assert (
        tr.on_evidence(
            cid, Evidence(timestamp=T0 + 100, order=order(), order_lookup="found"), T0 + 100
        )
        == []
    )
    out = outcome_of(
        tr.on_evidence(
            cid, Evidence(timestamp=T0 + 3_100, order=order(), order_lookup="found"), T0 + 3_100
        )
    )
    assert out.status is CommandStatus.REJECTED
    assert "still new" in out.reason
    assert isinstance(out.error, StateDivergence)


def test_cancel_open_in_stream_is_not_decisive_but_fill_is() -> None:
    tr = tracker()
    cid = cancel_unknown(tr)
    assert stages(tr.on_event(order(OrderStatus.PARTIALLY_FILLED, "0.002"), T0 + 60)) == [
        LifecycleStage.ORDER
    ]
    out = outcome_of(tr.on_event(order(OrderStatus.FILLED, "0.010"), T0 + 70))
    assert out.command_id == cid
    assert out.status is CommandStatus.REJECTED
    assert "too late" in out.reason


def test_accepted_cancel_racing_fill_on_stream_is_too_late() -> None:
    tr = tracker()
    cmd = tr.track(
        CommandKind.CANCEL_ORDER,
        now_ms=T0,
        symbol=BTC,
        order_id="1321003749386327552",
        confirm_with_stream=True,
    )
    tr.on_receipt(
        cmd.command_id, receipt(CommandKind.CANCEL_ORDER, CommandStatus.ACCEPTED), T0 + 10
    )
    out = outcome_of(tr.on_event(order(OrderStatus.FILLED, "0.010"), T0 + 15))
    assert out.status is CommandStatus.REJECTED


def test_confirming_falls_back_to_receipt() -> None:
    tr = tracker()
    cmd = tr.track(
        CommandKind.CANCEL_ORDER,
        now_ms=T0,
        symbol=BTC,
        order_id="1321003749386327552",
        confirm_with_stream=True,
    )
    tr.on_receipt(
        cmd.command_id, receipt(CommandKind.CANCEL_ORDER, CommandStatus.ACCEPTED), T0 + 10
    )
    assert tr.due(T0 + 500) == []
    assert tr.due(T0 + 1_010) == [cmd]
    assert plan_for(cmd) == ReconcilePlan(lookup_order=True)
    # query shows it still open before the grace: trust the venue's own answer
    out = outcome_of(
        tr.on_evidence(
            cmd.command_id,
            Evidence(timestamp=T0 + 1_020, order=order(), order_lookup="found"),
            T0 + 1_020,
        )
    )
    assert out.status is CommandStatus.ACCEPTED
    assert out.resolved_by == "receipt"
    # and if the runtime could not even query, expiry does the same
    tr2 = tracker()
    c2 = tr2.track(
        CommandKind.CREATE_ORDER,
        now_ms=T0,
        symbol=BTC,
        client_order_id=CID,
        confirm_with_stream=True,
    )
    tr2.on_receipt(
        c2.command_id,
        receipt(CommandKind.CREATE_ORDER, CommandStatus.ACCEPTED, with_order=order()),
        T0 + 10,
    )
    assert tr2.due(T0 + 5_000) == []  # decisive receipt: nothing to query
    assert tr2.next_wakeup() == T0 + 1_010
    out = outcome_of(tr2.expire(T0 + 1_010))
    assert out.status is CommandStatus.ACCEPTED


# -- edits


def edit_unknown(tr: CommandTracker) -> str:
    cmd = tr.track(
        CommandKind.EDIT_ORDER,
        now_ms=T0,
        symbol=BTC,
        order_id="1321003749386327552",
        expect=EditExpectation(price=D("49900"), amount=D("0.020")),
    )
    tr.on_receipt(
        cmd.command_id,
        receipt(CommandKind.EDIT_ORDER, CommandStatus.UNKNOWN, error=Timeout("t")),
        T0 + 50,
    )
    return cmd.command_id


def test_edit_accepted_only_when_new_values_show() -> None:
    tr = tracker()
    cid = edit_unknown(tr)
    assert tr.on_event(order(price="50000"), T0 + 60) != []  # ORDER only, undecided
    assert tr.get(cid) is not None
    out = outcome_of(tr.on_event(order(price="49900.0", amount="0.02"), T0 + 70))
    assert out.status is CommandStatus.ACCEPTED


def test_edit_unchanged_after_grace_or_final_is_rejected() -> None:
    tr = tracker()
    cid = edit_unknown(tr)
    out = outcome_of(
        tr.on_evidence(
            cid, Evidence(timestamp=T0 + 3_500, order=order(), order_lookup="found"), T0 + 3_500
        )
    )
    assert out.status is CommandStatus.REJECTED
    assert "unchanged" in out.reason
    tr = tracker()
    cid = edit_unknown(tr)
    out = outcome_of(tr.on_event(order(OrderStatus.FILLED, "0.010"), T0 + 60))
    assert "too late" in out.reason


# -- cancel all


def test_cancel_all_reconciled_by_open_orders() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.CANCEL_ALL_ORDERS, now_ms=T0 + 100, symbol=BTC)
    tr.on_receipt(
        cmd.command_id,
        receipt(
            CommandKind.CANCEL_ALL_ORDERS, CommandStatus.UNKNOWN, order_id=None, error=Timeout("t")
        ),
        T0 + 200,
    )
    assert plan_for(cmd) == ReconcilePlan(open_orders=True)
    newer = order(id="new-1", created=T0 + 150)  # placed after the cancel-all: not its business
    older = order(id="old-1", created=T0 + 5)
    assert (
        tr.on_evidence(
            cmd.command_id, Evidence(timestamp=T0 + 300, open_orders=[older, newer]), T0 + 300
        )
        == []
    )
    out = outcome_of(
        tr.on_evidence(
            cmd.command_id, Evidence(timestamp=T0 + 3_200, open_orders=[older, newer]), T0 + 3_200
        )
    )
    assert out.status is CommandStatus.REJECTED
    assert "old-1" in out.reason
    tr = tracker()
    cmd = tr.track(CommandKind.CANCEL_ALL_ORDERS, now_ms=T0 + 100, symbol=BTC)
    tr.on_receipt(
        cmd.command_id,
        receipt(
            CommandKind.CANCEL_ALL_ORDERS, CommandStatus.UNKNOWN, order_id=None, error=Timeout("t")
        ),
        T0 + 200,
    )
    out = outcome_of(
        tr.on_evidence(cmd.command_id, Evidence(timestamp=T0 + 300, open_orders=[newer]), T0 + 300)
    )
    assert out.status is CommandStatus.ACCEPTED


# -- settings


def set_unknown(
    tr: CommandTracker, kind: CommandKind, target: object, symbol: str | None = BTC
) -> str:
    cmd = tr.track(kind, now_ms=T0, symbol=symbol, target=target)  # type: ignore[arg-type]
    tr.on_receipt(
        cmd.command_id,
        receipt(kind, CommandStatus.UNKNOWN, order_id=None, error=Timeout("t")),
        T0 + 10,
    )
    assert plan_for(cmd) == ReconcilePlan(positions=True)
    return cmd.command_id


def row(
    side: PositionSide = PositionSide.BOTH,
    *,
    lev: str | None = "20",
    mode: MarginMode | None = MarginMode.CROSS,
) -> Position:
    return Position(
        symbol=BTC,
        position_side=side,
        size=D(0),
        leverage=None if lev is None else D(lev),
        margin_mode=mode,
    )


def test_set_leverage_verified_by_positions_or_stream() -> None:
    tr = tracker()
    cid = set_unknown(tr, CommandKind.SET_LEVERAGE, D(20))
    out = outcome_of(tr.on_evidence(cid, Evidence(timestamp=T0 + 20, positions=[row()]), T0 + 20))
    assert out.status is CommandStatus.ACCEPTED
    tr = tracker()
    cid = set_unknown(tr, CommandKind.SET_LEVERAGE, D(20))
    out = outcome_of(
        tr.on_event(AccountConfigEvent(timestamp=T0 + 15, symbol=BTC, leverage=20), T0 + 15)
    )
    assert out.status is CommandStatus.ACCEPTED
    tr = tracker()
    cid = set_unknown(tr, CommandKind.SET_LEVERAGE, D(20))
    assert (
        tr.on_evidence(cid, Evidence(timestamp=T0 + 20, positions=[row(lev="10")]), T0 + 20) == []
    )
    out = outcome_of(
        tr.on_evidence(cid, Evidence(timestamp=T0 + 3_100, positions=[row(lev="10")]), T0 + 3_100)
    )
    assert out.status is CommandStatus.REJECTED
    assert "leverage is 10" in out.reason


def test_setting_without_a_read_is_honest_unknown() -> None:
    tr = tracker()
    cid = set_unknown(tr, CommandKind.SET_LEVERAGE, D(20))
    out = outcome_of(tr.on_evidence(cid, Evidence(timestamp=T0 + 20, positions=[]), T0 + 20))
    assert out.status is CommandStatus.UNKNOWN
    assert "cannot verify" in out.reason
    assert isinstance(out.error, Timeout)


def test_position_and_margin_mode_verification() -> None:
    tr = tracker()
    cid = set_unknown(tr, CommandKind.SET_POSITION_MODE, PositionMode.HEDGE, symbol=None)
    ev = Evidence(timestamp=T0 + 20, positions=[row(PositionSide.LONG), row(PositionSide.SHORT)])
    assert outcome_of(tr.on_evidence(cid, ev, T0 + 20)).status is CommandStatus.ACCEPTED
    tr = tracker()
    cid = set_unknown(tr, CommandKind.SET_MARGIN_MODE, MarginMode.ISOLATED)
    ev = Evidence(timestamp=T0 + 3_100, positions=[row(mode=MarginMode.CROSS)])
    out = outcome_of(tr.on_evidence(cid, ev, T0 + 3_100))
    assert out.status is CommandStatus.REJECTED


# -- bounds


def test_receipt_timeout_becomes_unknown_then_final() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.CREATE_ORDER, now_ms=T0, symbol=BTC, client_order_id=CID)
    assert tr.expire(T0 + 9_999) == []
    ev = tr.expire(T0 + 10_000)
    assert stages(ev) == [LifecycleStage.ACK, LifecycleStage.RECEIPT, LifecycleStage.RECONCILING]
    assert cmd.phase is CommandPhase.UNKNOWN
    out = outcome_of(tr.expire(T0 + 30_000))
    assert out.status is CommandStatus.UNKNOWN


def test_validate_unknown_is_final_at_once() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.VALIDATE_ORDER, now_ms=T0, symbol=BTC)
    out = outcome_of(
        tr.on_receipt(
            cmd.command_id,
            receipt(
                CommandKind.VALIDATE_ORDER, CommandStatus.UNKNOWN, order_id=None, error=Timeout("t")
            ),
            T0 + 5,
        )
    )
    assert out.status is CommandStatus.UNKNOWN
    assert "never places" in out.reason


def test_resolve_unknown_now() -> None:
    tr = tracker()
    cid = unknown_create(tr)
    out = outcome_of(tr.resolve_unknown_now(cid, T0 + 10_001, "client closed"))
    assert out.status is CommandStatus.UNKNOWN
    assert out.reason == "client closed"


def test_combine_receipts() -> None:
    ok = CommandReceipt(
        kind=CommandKind.CANCEL_ALL_ORDERS, status=CommandStatus.ACCEPTED, venue="binance"
    )
    unk = CommandReceipt(
        kind=CommandKind.CANCEL_ALL_ORDERS,
        status=CommandStatus.UNKNOWN,
        venue="binance",
        error=Timeout("t"),
    )
    assert (
        combine_receipts(CommandKind.CANCEL_ALL_ORDERS, "binance", [ok, ok]).status
        is CommandStatus.ACCEPTED
    )
    assert (
        combine_receipts(CommandKind.CANCEL_ALL_ORDERS, "binance", [ok, unk]).status
        is CommandStatus.UNKNOWN
    )
    assert (
        combine_receipts(CommandKind.CANCEL_ALL_ORDERS, "binance", []).status
        is CommandStatus.ACCEPTED
    )


KINDS = [
    CommandKind.CREATE_ORDER,
    CommandKind.CLOSE_POSITION,
    CommandKind.EDIT_ORDER,
    CommandKind.CANCEL_ORDER,
    CommandKind.CANCEL_ALL_ORDERS,
    CommandKind.VALIDATE_ORDER,
    CommandKind.SET_LEVERAGE,
    CommandKind.SET_MARGIN_MODE,
    CommandKind.SET_POSITION_MODE,
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.sampled_from(
                [None, CommandStatus.ACCEPTED, CommandStatus.REJECTED, CommandStatus.UNKNOWN]
            ),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_every_command_terminates_without_evidence(
    spec: list[tuple[CommandKind, CommandStatus | None, bool]],
) -> None:
    """No matter the receipts (or none), expiry alone resolves every command within its bounds."""
    tr = tracker()
    resolved: dict[str, int] = {}
    ids = []
    for i, (kind, status, confirm) in enumerate(spec):
        cmd = tr.track(
            kind,
            now_ms=T0,
            symbol=BTC,
            client_order_id=f"c{i}",
            order_id=f"o{i}",
            confirm_with_stream=confirm,
        )
        ids.append(cmd.command_id)
        if status is not None:
            r = CommandReceipt(
                kind=kind, status=status, venue="bybit", order_id=f"o{i}", client_order_id=f"c{i}"
            )
            for e in tr.on_receipt(cmd.command_id, r, T0 + 1):
                if e.stage is LifecycleStage.RESOLVED:
                    resolved[e.command_id] = e.timestamp
    bound = (
        T0 + POLICY.receipt_timeout_ms + POLICY.unknown_window_ms + 2 * POLICY.confirm_timeout_ms
    )
    now = T0
    while now <= bound:
        now += 250
        for e in tr.expire(now):
            if e.stage is LifecycleStage.RESOLVED:
                assert e.command_id not in resolved  # exactly one RESOLVED per command
                resolved[e.command_id] = e.timestamp
    assert set(resolved) == set(ids)
    assert tr.pending() == []


def test_not_live_cancel_is_verified_before_concluding() -> None:
    """A cancel answered "order not found" may have been our own first attempt: look first."""
    tr = tracker()
    cmd = tr.track(CommandKind.CANCEL_ORDER, now_ms=T0, symbol=BTC, order_id="1321003749386327552")
    gone = StateDivergence("order not exists or too late to cancel", venue="bybit", code=110001)
    ev = tr.on_receipt(
        cmd.command_id,
        receipt(CommandKind.CANCEL_ORDER, CommandStatus.REJECTED, error=gone),
        T0 + 5,
    )
    assert stages(ev) == [LifecycleStage.ACK, LifecycleStage.RECEIPT, LifecycleStage.RECONCILING]
    out = outcome_of(
        tr.on_evidence(
            cmd.command_id,
            Evidence(timestamp=T0 + 50, order=order(OrderStatus.CANCELED), order_lookup="found"),
            T0 + 50,
        )
    )
    assert out.status is CommandStatus.ACCEPTED
    # an edit refused the same way, on an order that filled meanwhile: too late
    e = tr.track(
        CommandKind.EDIT_ORDER,
        now_ms=T0,
        symbol=BTC,
        order_id="1321003749386327552",
        expect=EditExpectation(price=D("1")),
    )
    tr.on_receipt(
        e.command_id, receipt(CommandKind.EDIT_ORDER, CommandStatus.REJECTED, error=gone), T0 + 5
    )
    filled = Evidence(
        timestamp=T0 + 50, order=order(OrderStatus.FILLED, "0.010"), order_lookup="found"
    )
    out = outcome_of(tr.on_evidence(e.command_id, filled, T0 + 50))
    assert (out.status, "too late" in out.reason) == (CommandStatus.REJECTED, True)
    # other rejections stay final at once
    c = tr.track(CommandKind.CANCEL_ORDER, now_ms=T0, symbol=BTC, order_id="5")
    bad = ExchangeReject("Parameter error", code=-1102)
    out = outcome_of(
        tr.on_receipt(
            c.command_id,
            receipt(CommandKind.CANCEL_ORDER, CommandStatus.REJECTED, error=bad),
            T0 + 5,
        )
    )
    assert out.status is CommandStatus.REJECTED
    assert out.error is bad


def test_drop_forgets_an_unsent_command() -> None:
    tr = tracker()
    cmd = tr.track(CommandKind.CREATE_ORDER, now_ms=T0, symbol=BTC, client_order_id=CID)
    tr.drop(cmd.command_id)
    assert tr.pending() == []
    assert tr.on_event(order(), T0 + 1) == []
    assert tr.expire(T0 + 10**7) == []
