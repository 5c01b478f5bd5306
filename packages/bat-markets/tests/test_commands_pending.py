"""PendingCommandHandle: every wait terminates; lifecycle iteration ends after RESOLVED."""

from __future__ import annotations

import anyio
import pytest

from bat_markets.client._pending import PendingCommandHandle
from bat_markets.core import (
    CommandKind,
    CommandReceipt,
    CommandStatus,
    CommandTracker,
    LifecycleEvent,
    LifecyclePolicy,
    LifecycleStage,
    Timeout,
)

T0 = 1_700_000_000_000


def _tracked() -> tuple[CommandTracker, PendingCommandHandle, str]:
    tr = CommandTracker("binance", LifecyclePolicy())
    cmd = tr.track(CommandKind.SET_LEVERAGE, now_ms=T0, symbol="BTC/USDT:USDT")
    handle = PendingCommandHandle(cmd.command_id, cmd.kind, "binance", symbol=cmd.symbol)
    return tr, handle, cmd.command_id


def _receipt(status: CommandStatus) -> CommandReceipt:
    return CommandReceipt(kind=CommandKind.SET_LEVERAGE, status=status, venue="binance")


async def test_waits_resolve_when_events_arrive() -> None:
    tr, h, cid = _tracked()
    results: dict[str, object] = {}

    async def waiter() -> None:
        results["ack"] = await h.ack()
        results["outcome"] = await h.resolved()

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.01)
        assert not h.done
        for ev in tr.on_receipt(cid, _receipt(CommandStatus.ACCEPTED), T0 + 3):
            h._feed(ev)
    assert h.done
    outcome = await h.resolved()
    assert outcome is results["outcome"]
    assert outcome.status is CommandStatus.ACCEPTED
    assert (await h.receipt()).status is CommandStatus.ACCEPTED


async def test_lifecycle_stream_ends_after_resolved() -> None:
    tr, h, cid = _tracked()
    for ev in tr.on_receipt(cid, _receipt(CommandStatus.UNKNOWN), T0 + 3):
        h._feed(ev)
    first = await h.next_lifecycle()
    assert first.stage is LifecycleStage.ACK
    seen = [first.stage]

    async def finish() -> None:
        await anyio.sleep(0.02)
        for ev in tr.resolve_unknown_now(cid, T0 + 10, "test over"):
            h._feed(ev)

    async with anyio.create_task_group() as tg:
        tg.start_soon(finish)
        async for ev in h.next_lifecycle():
            seen.append(ev.stage)
    assert seen == [
        LifecycleStage.ACK,
        LifecycleStage.RECEIPT,
        LifecycleStage.RECONCILING,
        LifecycleStage.RESOLVED,
    ]
    final = await h.next_lifecycle()  # after the end: the final event again, never a hang
    assert final.stage is LifecycleStage.RESOLVED
    assert [ev async for ev in h.next_lifecycle()] == []
    # nothing is accepted after RESOLVED
    late = LifecycleEvent(
        command_id=cid,
        kind=CommandKind.SET_LEVERAGE,
        stage=LifecycleStage.RECEIPT,
        timestamp=T0 + 20,
        receipt=_receipt(CommandStatus.ACCEPTED),
    )
    h._feed(late)
    assert (await h.resolved()).status is CommandStatus.UNKNOWN
    assert [ev async for ev in h.next_lifecycle()] == []


async def test_timeout_raises_but_handle_stays_usable() -> None:
    tr, h, cid = _tracked()
    with pytest.raises(Timeout, match="still in progress"):
        await h.resolved(timeout=0.02)
    with pytest.raises(Timeout):
        await h.ack(timeout=0.01)
    for ev in tr.on_receipt(cid, _receipt(CommandStatus.REJECTED), T0 + 3):
        h._feed(ev)
    assert (await h.resolved(timeout=0.01)).status is CommandStatus.REJECTED


async def test_hard_bound_self_resolves_as_unknown() -> None:
    h = PendingCommandHandle("x-1", CommandKind.CREATE_ORDER, "bybit", max_wait_s=0.05)
    with anyio.fail_after(2):
        out = await h.resolved()
    assert out.status is CommandStatus.UNKNOWN
    assert "no final outcome" in out.reason
    assert (await h.ack()).status is CommandStatus.UNKNOWN
    assert (await h.receipt()).status is CommandStatus.UNKNOWN
    stages = [ev.stage async for ev in h.next_lifecycle()]
    assert stages == [LifecycleStage.RESOLVED]
