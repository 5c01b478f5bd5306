"""Order-book streams: REST-snapshot sync and resubscribe sync in the runtime, gaps, reconnects,
malformed updates, shared books, lazy views, and bounded memory for a consumer that never reads."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal
from typing import Any

import anyio
import pytest
from bm_client_fake import FakeRest, FakeWsServer, MakeClient

from bat_markets.client import BookView, OrderBookWatch
from bat_markets.core import BookDeltaEvent, OrderBookSnapshot


def delta(first: int, last: int, prev: int, bids: Any = (), asks: Any = ()) -> dict[str, Any]:
    return {"U": first, "u": last, "pu": prev, "b": list(bids), "a": list(asks)}


Levels = list[tuple[Decimal, Decimal]]


def levels(book: OrderBookSnapshot) -> tuple[Levels, Levels]:
    return ([(b.price, b.amount) for b in book.bids], [(a.price, a.amount) for a in book.asks])


def side(*pairs: tuple[str, str]) -> Levels:
    return [(Decimal(p), Decimal(a)) for p, a in pairs]


async def recv(w: OrderBookWatch) -> OrderBookSnapshot:
    with anyio.fail_after(3):
        return await w.recv()


async def test_rest_snapshot_sync_bridges_buffered_deltas(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    rest.book = {
        "lastUpdateId": 100,
        "bids": [["100.0", "1"], ["99.0", "2"]],
        "asks": [["101.0", "1"]],
    }
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("book.BTCUSDT"))
    await ws_server.publish("book.BTCUSDT", delta(90, 99, 80, bids=[["98.0", "9"]]))  # stale
    await ws_server.publish("book.BTCUSDT", delta(95, 105, 99, bids=[["100.0", "3"]]))
    book = await recv(w)
    assert levels(book) == (side(("100.0", "3"), ("99.0", "2")), side(("101.0", "1")))
    assert book.sequence == 105
    assert not book.resynced
    assert rest.count("/depth") == 1
    assert rest.requests[-1].url.params["limit"] == "1000"
    await ws_server.publish(
        "book.BTCUSDT", delta(106, 110, 105, asks=[["101.0", "0"], ["102.0", "4"]])
    )
    book = await recv(w)
    assert levels(book) == (side(("100.0", "3"), ("99.0", "2")), side(("102.0", "4")))
    await w.shutdown()


async def test_gap_triggers_a_resync_flagged_on_the_next_view(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    bm = await make_client()
    status = bm.watch_status()
    w = bm.watch_order_book("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("book.BTCUSDT"))
    await ws_server.publish("book.BTCUSDT", delta(100, 101, 99, bids=[["100.0", "5"]]))
    assert levels(await recv(w))[0] == side(("100.0", "5"))
    rest.book = {"lastUpdateId": 200, "bids": [["90.0", "1"]], "asks": [["91.0", "1"]]}
    await ws_server.publish("book.BTCUSDT", delta(150, 160, 140, bids=[["1.0", "1"]]))  # pu gap
    await ws_server.wait_for(lambda: rest.count("/depth") == 2)
    await ws_server.publish("book.BTCUSDT", delta(199, 201, 198, bids=[["90.0", "2"]]))
    book = await recv(w)
    assert book.resynced
    assert levels(book) == (side(("90.0", "2")), side(("91.0", "1")))  # no trace of the gap delta
    await ws_server.publish("book.BTCUSDT", delta(202, 202, 201, asks=[["91.5", "1"]]))
    assert not (await recv(w)).resynced
    kinds = []
    with anyio.fail_after(2):
        while "book_resync" not in kinds:
            kinds.append((await status.recv()).kind)
    diag = bm.advanced().diagnostics()
    assert diag.book_resyncs == 1
    assert diag.books[0].snapshots == 2
    await w.shutdown()
    await status.shutdown()


async def test_stale_snapshot_is_refetched(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    bm = await make_client()
    rest.book = {"lastUpdateId": 50, "bids": [["1.0", "1"]], "asks": [["2.0", "1"]]}
    w = bm.watch_order_book("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("book.BTCUSDT"))
    await ws_server.publish("book.BTCUSDT", delta(100, 105, 99))  # first U > snapshot L
    await ws_server.wait_for(lambda: rest.count("/depth") >= 2)  # stale: fetched again
    assert not w.synced
    rest.book = {"lastUpdateId": 103, "bids": [["10.0", "1"]], "asks": [["11.0", "1"]]}
    book = await recv(w)
    assert book.sequence == 105
    assert levels(book)[0] == side(("10.0", "1"))
    await w.shutdown()


async def test_resubscribe_sync_on_gap(make_client: MakeClient, ws_server: FakeWsServer) -> None:
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT", depth=50)
    await ws_server.wait_for(lambda: ws_server.subscribed("book50.BTCUSDT"))
    snap = {"type": "snapshot", "u": 10, "b": [["100.0", "1"]], "a": [["101.0", "1"]]}
    await ws_server.publish("book50.BTCUSDT", snap)
    assert not (await recv(w)).resynced
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "delta", "u": 11, "b": [["100.0", "2"]], "a": []}
    )
    assert levels(await recv(w))[0] == side(("100.0", "2"))
    await ws_server.publish("book50.BTCUSDT", {"type": "delta", "u": 13, "b": [], "a": []})  # gap
    await ws_server.wait_for(lambda: ws_server.topics_sent("unsubscribe") == ["book50.BTCUSDT"])
    await ws_server.wait_for(
        lambda: ws_server.topics_sent("subscribe").count("book50.BTCUSDT") == 2
    )
    snap2 = {"type": "snapshot", "u": 20, "b": [["99.0", "7"]], "a": [["101.0", "1"]]}
    await ws_server.publish("book50.BTCUSDT", snap2)
    book = await recv(w)
    assert book.resynced
    assert levels(book)[0] == side(("99.0", "7"))
    await w.shutdown()


async def test_reconnect_resyncs_the_book(make_client: MakeClient, ws_server: FakeWsServer) -> None:
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT", depth=50)
    await ws_server.wait_for(lambda: ws_server.subscribed("book50.BTCUSDT"))
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "snapshot", "u": 10, "b": [["100.0", "1"]], "a": []}
    )
    await recv(w)
    await ws_server.drop_all()
    await ws_server.wait_for(
        lambda: ws_server.opened == 2 and ws_server.subscribed("book50.BTCUSDT")
    )
    assert not w.synced
    # A delta before the new snapshot is ignored; the snapshot re-establishes the book.
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "delta", "u": 11, "b": [["5.0", "1"]], "a": []}
    )
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "snapshot", "u": 30, "b": [["100.5", "1"]], "a": []}
    )
    book = await recv(w)
    assert book.resynced
    assert levels(book)[0] == side(("100.5", "1"))
    await w.shutdown()


async def test_malformed_book_update_is_counted_and_resyncs(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT", depth=50)
    await ws_server.wait_for(lambda: ws_server.subscribed("book50.BTCUSDT"))
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "snapshot", "u": 1, "b": [["100.0", "1"]], "a": []}
    )
    await recv(w)
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "delta", "u": 2, "b": [["abc", "1"]], "a": []}
    )
    await ws_server.wait_for(
        lambda: ws_server.topics_sent("subscribe").count("book50.BTCUSDT") == 2
    )
    await ws_server.publish(
        "book50.BTCUSDT", {"type": "snapshot", "u": 5, "b": [["100.0", "4"]], "a": []}
    )
    book = await recv(w)
    assert book.resynced
    assert levels(book)[0] == side(("100.0", "4"))
    assert bm.advanced().diagnostics().books[0].invalid_events == 1
    await w.shutdown()


async def test_two_watchers_share_one_book(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    bm = await make_client()
    a = bm.watch_order_book("BTCUSDT")
    b = bm.watch_order_book("BTC/USDT:USDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("book.BTCUSDT"))
    await ws_server.publish("book.BTCUSDT", delta(99, 101, 98, bids=[["100.0", "2"]]))
    assert levels(await recv(a)) == levels(await recv(b))
    assert rest.count("/depth") == 1
    assert ws_server.topics_sent("subscribe") == ["book.BTCUSDT"]
    assert len(bm.advanced().diagnostics().books) == 1
    await a.shutdown()
    await ws_server.publish("book.BTCUSDT", delta(102, 102, 101, bids=[["100.0", "3"]]))
    assert levels(await recv(b))[0][0] == (Decimal("100.0"), Decimal("3"))
    await b.shutdown()
    await ws_server.wait_for(lambda: ws_server.topics_sent("unsubscribe") == ["book.BTCUSDT"])
    assert bm.advanced().diagnostics().books == []


def _stale(view: BookView) -> bool:
    return view.stale


async def test_views_materialise_lazily(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    rest.book = {
        "lastUpdateId": 100,
        "bids": [["100.0", "1"], ["99.0", "2"], ["98.0", "3"]],
        "asks": [["101.0", "1"], ["102.0", "1"]],
    }
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("book.BTCUSDT"))
    await ws_server.publish("book.BTCUSDT", delta(100, 100, 99))
    with anyio.fail_after(3):
        view = await w.recv_view()
    assert view.update_id == 100
    assert not view.stale
    assert view.best_bid == (Decimal("100.0"), Decimal("1"))
    assert [str(b.price) for b in view.snapshot(depth=2).bids] == ["100.0", "99.0"]
    assert len(view.bids) == 3
    await ws_server.publish("book.BTCUSDT", delta(101, 101, 100, bids=[["100.0", "0"]]))
    await anyio.sleep(0.1)
    assert _stale(view)  # the stream moved on while the view was held
    await w.shutdown()


async def test_unread_book_keeps_memory_flat_under_100k_diffs(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT")
    rt = bm._runtime
    assert rt is not None
    await ws_server.wait_for(lambda: ws_server.subscribed("book.BTCUSDT"))
    await ws_server.publish("book.BTCUSDT", delta(100, 100, 99))
    await recv(w)
    (feed,) = rt.books.values()
    prices = [f"{100 - i * 0.5:.1f}" for i in range(20)]

    def batch(start: int, n: int) -> None:
        for u in range(start, start + n):
            p = prices[u % 20]
            ev = BookDeltaEvent(
                symbol="BTC/USDT:USDT",
                bids=[(p, str(u % 7 + 1))],
                asks=[],
                last_id=u,
                prev_id=u - 1,
            )
            feed.on_events("book.BTCUSDT", [ev])

    batch(101, 10_000)  # warm up caches
    tracemalloc.start()
    try:
        batch(10_101, 10_000)
        base, _ = tracemalloc.get_traced_memory()
        batch(20_101, 90_000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - base < 64 * 1024, f"memory grew by {after - base} bytes"
    assert feed.version >= 110_000
    book = await recv(w)  # the consumer finally reads: one materialisation of the latest state
    assert book.sequence == 110_100
    await w.shutdown()


@pytest.mark.parametrize("depth", [None, 50])
async def test_book_handles_fail_on_rejected_subscription(
    make_client: MakeClient, ws_server: FakeWsServer, depth: int | None
) -> None:
    from bat_markets.core import ExchangeReject

    ws_server.reject.add("book50.BTCUSDT" if depth else "book.BTCUSDT")
    bm = await make_client()
    w = bm.watch_order_book("BTCUSDT", depth=depth)
    with pytest.raises(ExchangeReject):
        await recv(w)
    assert bm._runtime is not None
    assert bm._runtime.books == {}
