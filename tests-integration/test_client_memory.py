"""Bounded memory: a consumer that never reads a book stream while 100k diffs arrive.

The book is first synchronised against the simulator over real sockets; the 100k diffs are then
fed as the venue's own frames straight into the connection's frame handler (the read loop's
body: adapter decode -> topic dispatch -> book sync), which keeps the test fast.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import anyio

from bat_markets.client import BatMarkets
from bat_markets.testing.sim import VenueSim

Connect = Callable[..., Awaitable[BatMarkets]]


def _template(venue: str, topic: str) -> bytes:
    """The venue's own one-level diff frame, with ``%d``/``%s`` holes for u, pu, price, amount."""
    ts = int(time.time() * 1000)
    level = [["PRICE", "AMOUNT"]]
    if venue == "binance":
        data = {"e": "depthUpdate", "E": ts, "T": ts, "s": "BTCUSDT", "U": -1, "u": -1}
        frame: dict[str, object] = {
            "stream": topic,
            "data": {**data, "pu": -2, "b": level, "a": []},
        }
    else:
        data2 = {"s": "BTCUSDT", "b": level, "a": [], "u": -1, "seq": -3}
        frame = {"topic": topic, "type": "delta", "ts": ts, "cts": ts, "data": data2}
    text = json.dumps(frame)
    for sentinel, hole in (("-1", "%(u)d"), ("-2", "%(pu)d"), ("-3", "%(u)d")):
        text = text.replace(sentinel, hole)
    return text.replace("PRICE", "%(p)s").replace("AMOUNT", "%(q)s").encode()


async def test_unread_book_stream_keeps_memory_flat(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    watch = bm.watch_order_book("BTCUSDT")
    with anyio.fail_after(5):
        while not watch.synced:  # the market moves until the book is synchronised
            sim.step()
            await anyio.sleep(0.02)
        first = await watch.recv()
    rt = bm._runtime
    assert rt is not None
    (conn,) = [c for c in rt.hub.connections if c.entries]
    (topic,) = list(conn.entries)
    prices = [str(level.price) for level in first.bids[:20]]
    u = first.sequence or 0

    template = _template(sim.venue, topic)
    encoded = [p.encode() for p in prices]
    amounts = [f"{i + 1}.000".encode() for i in range(9)]

    def feed(n: int) -> None:
        nonlocal u
        on_frame = conn.on_frame
        for i in range(n):
            u += 1
            on_frame(
                template % {b"u": u, b"pu": u - 1, b"p": encoded[i % 20], b"q": amounts[i % 9]}
            )

    feed(10_000)  # warm-up: caches and dicts reach their steady size
    tracemalloc.start()
    try:
        feed(10_000)
        base, _ = tracemalloc.get_traced_memory()
        feed(90_000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = after - base
    assert growth < 64 * 1024, f"memory grew by {growth} bytes over 90k unread diffs"
    diag = bm.advanced().diagnostics()
    assert diag.invalid_frames == 0
    assert diag.book_resyncs == 0
    assert diag.books[0].update_id == u
    with anyio.fail_after(2):
        book = await watch.recv()  # one read materialises the latest state only
    assert book.sequence == u
    assert not book.resynced
    assert str(book.bids[0].price) == prices[0] or book.bids[0].price >= first.bids[0].price
    await watch.shutdown()
