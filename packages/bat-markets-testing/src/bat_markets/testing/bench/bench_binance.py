"""Binance adapter hot paths vs a naive ``json.loads`` + ``Decimal`` implementation.

* depth ingest: combined ``<s>@depth@100ms`` frames (~22 levels each) on a 1000 + 1000 level
  book: decode, check the ``pu`` chain, apply, read the best bid and ask. Ours: ``decode_public``
  + ``BinanceBookSync`` (core ``OrderBook``). Reference: ``json.loads``, ``Decimal`` per level,
  ``dict[Decimal, Decimal]`` per side, ``max``/``min`` for the top. Target >= 3x.
* trades: combined ``<s>@aggTrade`` frames to unified ``Trade`` structs. Reference:
  ``json.loads`` + ``Decimal`` + the same ``Trade`` constructor. Target >= 1.5x.

Both sides start from the same snapshot and process the same bytes in the same run.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

from bat_markets.binance import BinanceAdapter
from bat_markets.core import BookSnapshotEvent, Side, StreamData, SyncStatus, Trade

from ._harness import Result, ratio_result

__all__ = ["run"]

_MID = 500_000  # ticks of 0.1 -> 50000.0
_LEVELS = 1000
_SYMBOL = "BTCUSDT"
_UNIFIED = "BTC/USDT:USDT"

Level = tuple[str, str]


def _price(ticks: int) -> str:
    return f"{ticks // 10}.{ticks % 10}0"


def _amount(rng: random.Random) -> str:
    steps = max(1, min(int(rng.lognormvariate(6.0, 1.6)), 900_000))
    return f"{steps // 1000}.{steps % 1000:03d}"


def _offset(rng: random.Random) -> int:
    if rng.random() < 0.75:
        return min(int(rng.expovariate(1 / 15)), _LEVELS - 1)
    return rng.randrange(_LEVELS)


def depth_stream(n: int, seed: int = 7) -> tuple[BookSnapshotEvent, list[bytes]]:
    """A REST snapshot (lastUpdateId L) and ``n`` chained combined diff frames after it."""
    rng = random.Random(seed)
    last = 1_000_000
    snapshot = BookSnapshotEvent(
        symbol=_UNIFIED,
        bids=[(_price(_MID - 1 - i), _amount(rng)) for i in range(_LEVELS)],
        asks=[(_price(_MID + 1 + i), _amount(rng)) for i in range(_LEVELS)],
        update_id=last,
        source="rest",
    )
    frames: list[bytes] = []
    ts = 1_700_000_000_000
    for k in range(n):
        bids: list[Level] = []
        asks: list[Level] = []
        for _ in range(rng.randint(18, 26)):
            amount = "0.000" if rng.random() < 0.10 else _amount(rng)
            if rng.random() < 0.5:
                bids.append((_price(_MID - 1 - _offset(rng)), amount))
            else:
                asks.append((_price(_MID + 1 + _offset(rng)), amount))
        first = last - 3 if k == 0 else last + 1  # the first diff bridges U <= L <= u
        u = last + rng.randint(1, 40)
        data = {
            "e": "depthUpdate",
            "E": ts + 100 * k + 2,
            "T": ts + 100 * k,
            "s": _SYMBOL,
            "U": first,
            "u": u,
            "pu": last if k else last - 5,
            "b": bids,
            "a": asks,
        }
        frames.append(
            json.dumps(
                {"stream": "btcusdt@depth@100ms", "data": data}, separators=(",", ":")
            ).encode()
        )
        last = u
    return snapshot, frames


def agg_trade_frames(n: int, seed: int = 11) -> list[bytes]:
    rng = random.Random(seed)
    frames = []
    for k in range(n):
        data = {
            "e": "aggTrade",
            "E": 1_700_000_000_000 + k,
            "s": _SYMBOL,
            "a": 5_000_000 + k,
            "p": _price(_MID + rng.randint(-50, 50)),
            "q": _amount(rng),
            "nq": _amount(rng),
            "f": 9_000_000 + 3 * k,
            "l": 9_000_000 + 3 * k + 2,
            "T": 1_700_000_000_000 + k,
            "m": rng.random() < 0.5,
        }
        frames.append(
            json.dumps({"stream": "btcusdt@aggTrade", "data": data}, separators=(",", ":")).encode()
        )
    return frames


def _ours_depth(
    adapter: BinanceAdapter, snapshot: BookSnapshotEvent, frames: list[bytes]
) -> tuple[object, object]:
    spec = adapter.markets.resolve(_SYMBOL)
    sync = adapter.book_sync(spec, None)
    if sync.on_event(snapshot) is not SyncStatus.APPLIED:
        raise AssertionError("snapshot not applied")
    book = sync.book
    decode = adapter.decode_public
    on_event = sync.on_event
    applied = SyncStatus.APPLIED
    top: tuple[object, object] = (None, None)
    for frame in frames:
        out = decode(frame)
        for event in out.events:  # type: ignore[union-attr]
            if on_event(event) is not applied:  # type: ignore[arg-type]
                raise AssertionError("the stream is continuous")
        top = (book.best_bid(), book.best_ask())
    return top


def _reference_depth(snapshot: BookSnapshotEvent, frames: list[bytes]) -> tuple[object, object]:
    bids = {Decimal(p): Decimal(q) for p, q in snapshot.bids}
    asks = {Decimal(p): Decimal(q) for p, q in snapshot.asks}
    last = snapshot.update_id
    assert last is not None
    first = True
    top: tuple[object, object] = (None, None)
    for frame in frames:
        data = json.loads(frame)["data"]
        if first:
            if not data["U"] <= last <= data["u"]:
                raise AssertionError("bridge")
            first = False
        elif data["pu"] != last:
            raise AssertionError("the stream is continuous")
        last = data["u"]
        for side, levels in ((bids, data["b"]), (asks, data["a"])):
            for p, q in levels:
                price, amount = Decimal(p), Decimal(q)
                if amount:
                    side[price] = amount
                else:
                    side.pop(price, None)
        bb = max(bids)
        ba = min(asks)
        top = ((bb, bids[bb]), (ba, asks[ba]))
    return top


def _ours_trades(adapter: BinanceAdapter, frames: list[bytes]) -> list[Trade]:
    decode = adapter.decode_public
    out: list[Trade] = []
    for frame in frames:
        data = decode(frame)
        out.extend(data.events)  # type: ignore[union-attr,arg-type]
    return out


def _reference_trades(frames: list[bytes]) -> list[Trade]:
    symbols = {_SYMBOL: _UNIFIED}
    out: list[Trade] = []
    for frame in frames:
        d = json.loads(frame)["data"]
        out.append(
            Trade(
                symbol=symbols[d["s"]],
                id=str(d["a"]),
                timestamp=d["T"],
                price=Decimal(d["p"]),
                amount=Decimal(d["q"]),
                side=Side.SELL if d["m"] else Side.BUY,
                aggregated=True,
            )
        )
    return out


def run(quick: bool) -> list[Result]:
    n = 1000 if quick else 3000
    repeat = 3 if quick else 7
    adapter = BinanceAdapter()
    snapshot, frames = depth_stream(n)
    ours_top = _ours_depth(adapter, snapshot, frames)
    ref_top = _reference_depth(snapshot, frames)
    if ours_top != ref_top:
        raise AssertionError(f"books disagree: {ours_top} != {ref_top}")
    trades = agg_trade_frames(n)
    decoded = _ours_trades(adapter, trades)
    if decoded != _reference_trades(trades):
        raise AssertionError("trade decoders disagree")
    if not isinstance(adapter.decode_public(trades[0]), StreamData):
        raise AssertionError("aggTrade frame did not decode")
    return [
        ratio_result(
            "binance depth ingest (decode + pu check + apply + top)",
            lambda: _ours_depth(adapter, snapshot, frames),
            lambda: _reference_depth(snapshot, frames),
            n,
            reference_name="json.loads + Decimal dict book",
            target=3.0,
            unit="frame",
            repeat=repeat,
        ),
        ratio_result(
            "binance aggTrade decode to Trade",
            lambda: _ours_trades(adapter, trades),
            lambda: _reference_trades(trades),
            n,
            reference_name="json.loads + Decimal + Trade",
            target=1.5,
            unit="frame",
            repeat=repeat,
        ),
    ]
