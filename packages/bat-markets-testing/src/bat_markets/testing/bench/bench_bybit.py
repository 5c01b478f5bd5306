"""Bybit adapter hot paths against naive references measured in the same run.

* ``bybit orderbook.200 delta ingest``: decode the frame, run the sync check, apply it to the
  book and read best bid/ask — versus ``json.loads`` + a ``Decimal``-keyed dict book with the
  same ``u`` check and a ``max``/``min`` best read.
* ``bybit publicTrade decode``: frames of trades to unified ``Trade`` structs — versus
  ``json.loads`` + one dict of ``Decimal`` fields per trade.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

from bat_markets.bybit import BybitAdapter
from bat_markets.core import BookDeltaEvent, BookSnapshotEvent, StreamData, SyncStatus

from ._harness import Result, ratio_result

__all__ = ["run", "book_frames", "trade_frames"]

_TOPIC = "orderbook.200.BTCUSDT"


_DEPTH = 200


def _price(ticks: int) -> str:
    return f"{ticks // 10}.{ticks % 10}"


def _qty(steps: int) -> str:
    return f"{steps // 1000}.{steps % 1000:03d}"


def book_frames(n: int, seed: int = 7) -> tuple[bytes, list[bytes]]:
    """A 200-level snapshot and ``n`` realistic deltas (1-12 level changes per side)."""
    rng = random.Random(seed)
    mid = 300_000  # 30000.0 in ticks of 0.1
    bids = {mid - 1 - i: rng.randint(1, 5000) for i in range(_DEPTH)}
    asks = {mid + i: rng.randint(1, 5000) for i in range(_DEPTH)}

    def encode(kind: str, b: dict[int, int], a: dict[int, int], u: int) -> bytes:
        return json.dumps(
            {
                "topic": _TOPIC,
                "type": kind,
                "ts": 1_700_000_000_000 + u,
                "data": {
                    "s": "BTCUSDT",
                    "b": [[_price(p), _qty(q)] for p, q in b.items()],
                    "a": [[_price(p), _qty(q)] for p, q in a.items()],
                    "u": u,
                    "seq": 9_000_000_000 + u,
                },
                "cts": 1_700_000_000_000 + u,
            },
            separators=(",", ":"),
        ).encode()

    snapshot = encode("snapshot", bids, asks, 1000)
    frames = []
    for u in range(1001, 1001 + n):
        db: dict[int, int] = {}
        da: dict[int, int] = {}
        best_bid, best_ask = max(bids), min(asks)
        for side, delta, best, sign in ((bids, db, best_bid, -1), (asks, da, best_ask, 1)):
            for _ in range(rng.randint(1, 12)):
                price = best + sign * rng.randint(0, 60)
                if price in side and rng.random() < 0.3:
                    del side[price]
                    delta[price] = 0
                else:
                    side[price] = rng.randint(1, 5000)
                    delta[price] = side[price]
        # Keep the book uncrossed.
        while max(bids) >= min(asks):
            top = min(asks)
            del asks[top]
            da[top] = 0
        # orderbook.200 is a 200-level window: levels leaving it are deleted at the deep end and
        # deeper levels enter it as inserts, so the book stays 200 deep as on the venue.
        for side, delta, sign in ((bids, db, -1), (asks, da, 1)):
            while len(side) > _DEPTH:
                worst = min(side) if sign < 0 else max(side)
                del side[worst]
                delta[worst] = 0
            while len(side) < _DEPTH:
                worst = min(side) if sign < 0 else max(side)
                deeper = worst + sign * rng.randint(1, 3)
                side[deeper] = delta[deeper] = rng.randint(1, 5000)
        frames.append(encode("delta", db, da, u))
    return snapshot, frames


def trade_frames(n: int, per_frame: int = 20, seed: int = 11) -> list[bytes]:
    rng = random.Random(seed)
    frames = []
    t = 1_700_000_000_000
    for k in range(n):
        rows = []
        for j in range(per_frame):
            t += rng.randint(0, 3)
            rows.append(
                {
                    "T": t,
                    "s": "BTCUSDT",
                    "S": "Buy" if rng.random() < 0.5 else "Sell",
                    "v": _qty(rng.randint(1, 50_000)),
                    "p": _price(300_000 + rng.randint(-500, 500)),
                    "L": "PlusTick",
                    "i": f"{k:08x}-{j:04x}-5b31-9112-a178eb6023af",
                    "BT": False,
                    "seq": 1_783_284_617 + k,
                }
            )
        frames.append(
            json.dumps(
                {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": t, "data": rows},
                separators=(",", ":"),
            ).encode()
        )
    return frames


def _book_ours(adapter: BybitAdapter, snapshot: bytes, frames: list[bytes]) -> None:
    sync = adapter.book_sync(adapter.markets.resolve("BTCUSDT"), 200)
    decode = adapter.decode_public
    first = decode(snapshot)
    assert isinstance(first, StreamData)
    event = first.events[0]
    assert isinstance(event, BookSnapshotEvent)
    sync.on_event(event)
    book = sync.book
    applied = SyncStatus.APPLIED
    for raw in frames:
        data = decode(raw)
        delta = data.events[0]  # type: ignore[union-attr]
        assert isinstance(delta, BookDeltaEvent)
        if sync.on_event(delta) is applied:
            book.best_bid()
            book.best_ask()


def _book_reference(snapshot: bytes, frames: list[bytes]) -> None:
    msg = json.loads(snapshot)["data"]
    bids = {Decimal(p): Decimal(q) for p, q in msg["b"]}
    asks = {Decimal(p): Decimal(q) for p, q in msg["a"]}
    last_u = msg["u"]
    for raw in frames:
        msg = json.loads(raw)
        data = msg["data"]
        if msg["type"] != "delta" or data["u"] <= last_u:
            continue
        for side, levels in ((bids, data["b"]), (asks, data["a"])):
            for p, q in levels:
                price, amount = Decimal(p), Decimal(q)
                if amount:
                    side[price] = amount
                else:
                    side.pop(price, None)
        last_u = data["u"]
        best_bid = max(bids)
        best_ask = min(asks)
        _ = (best_bid, bids[best_bid], best_ask, asks[best_ask])


def _trades_ours(adapter: BybitAdapter, frames: list[bytes]) -> None:
    decode = adapter.decode_public
    for raw in frames:
        decode(raw)


def _trades_reference(frames: list[bytes]) -> None:
    for raw in frames:
        msg = json.loads(raw)
        [
            {
                "symbol": "BTC/USDT:USDT",
                "id": row["i"],
                "timestamp": row["T"],
                "price": Decimal(row["p"]),
                "amount": Decimal(row["v"]),
                "side": "buy" if row["S"] == "Buy" else "sell",
            }
            for row in msg["data"]
        ]


def run(quick: bool) -> list[Result]:
    n_book = 400 if quick else 4000
    n_trades = 200 if quick else 2000
    repeat = 3 if quick else 5
    adapter = BybitAdapter()
    snapshot, deltas = book_frames(n_book)
    trades = trade_frames(n_trades)
    # Same answers first: both sides must end with the same top of book.
    _book_ours(adapter, snapshot, deltas)
    _book_reference(snapshot, deltas)
    return [
        ratio_result(
            "bybit orderbook.200 delta ingest",
            lambda: _book_ours(adapter, snapshot, deltas),
            lambda: _book_reference(snapshot, deltas),
            n_book,
            reference_name="json.loads + Decimal dict book",
            target=3.0,
            unit="frame",
            repeat=repeat,
        ),
        ratio_result(
            "bybit publicTrade decode (20 trades/frame)",
            lambda: _trades_ours(adapter, trades),
            lambda: _trades_reference(trades),
            n_trades,
            reference_name="json.loads + Decimal dicts",
            target=1.5,
            unit="frame",
            repeat=repeat,
        ),
    ]
