"""Order-book engine vs a naive ``dict[Decimal, Decimal]`` book on a Binance-style diff stream.

Both books start from the same 1000 + 1000 level snapshot (BTCUSDT-like: prices around 50000.0,
tick 0.10 written with two decimals as Binance does, step 0.001) and apply the same deterministic
stream of ~22-level diffs (~10 % deletions, updates clustered near the top of the book as on a
real venue, plus some deep levels), reading the best bid and ask after every diff. The naive book
converts each level with ``Decimal(str)`` and finds the top with ``max``/``min``.

Two streams are measured:

* ``realistic``: log-normal sizes with three decimals, so amount strings repeat the way they do on
  a venue (the engine caches string -> integer conversions per book); target 4x.
* ``stress``: every amount string is new (no conversion cache can help); reported so the cost of
  the pure parsing path stays visible, with a lower target.

Each timed run builds its book from the snapshot, so the engine's per-book caches start cold.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

from bat_markets.core import OrderBook

from ._harness import Result, ratio_result

__all__ = ["run"]

_TICK = Decimal("0.10")
_STEP = Decimal("0.001")
_MID = 500_000  # ticks of 0.1 -> 50000.0
_LEVELS = 1000

Level = tuple[str, str]
Diff = tuple[list[Level], list[Level]]


def _price(ticks: int) -> str:
    return f"{ticks // 10}.{ticks % 10}0"  # Binance writes BTCUSDT prices with two decimals


def _realistic_amount(rng: random.Random) -> str:
    """Log-normal sizes (median ~0.4, long tail to hundreds)."""
    steps = max(1, min(int(rng.lognormvariate(6.0, 1.6)), 900_000))
    return f"{steps // 1000}.{steps % 1000:03d}"


def _fresh_amounts() -> Callable[[random.Random], str]:
    """A different amount string on every call."""
    counter = iter(range(1, 10**9))

    def amount(rng: random.Random) -> str:
        steps = next(counter) * 1_000 + rng.randrange(1_000)
        return f"{steps // 1000}.{steps % 1000:03d}"

    return amount


def _offset(rng: random.Random) -> int:
    """Distance from the touch in ticks: mostly near the top, sometimes deep in the book."""
    if rng.random() < 0.75:
        return min(int(rng.expovariate(1 / 15)), _LEVELS - 1)
    return rng.randrange(_LEVELS)


def _stream(
    n: int, amount: Callable[[random.Random], str], seed: int = 20_240_601
) -> tuple[Diff, list[Diff]]:
    rng = random.Random(seed)
    snapshot = (
        [(_price(_MID - 1 - i), amount(rng)) for i in range(_LEVELS)],
        [(_price(_MID + 1 + i), amount(rng)) for i in range(_LEVELS)],
    )
    diffs: list[Diff] = []
    for _ in range(n):
        bids: list[Level] = []
        asks: list[Level] = []
        for _ in range(rng.randint(18, 26)):
            size = "0.000" if rng.random() < 0.10 else amount(rng)
            if rng.random() < 0.5:
                bids.append((_price(_MID - 1 - _offset(rng)), size))
            else:
                asks.append((_price(_MID + 1 + _offset(rng)), size))
        diffs.append((bids, asks))
    return snapshot, diffs


class _NaiveBook:
    """What a straightforward client does: Decimal keys, ``max``/``min`` for the top of book."""

    def __init__(self, bids: list[Level], asks: list[Level]) -> None:
        self.bids = {Decimal(p): Decimal(q) for p, q in bids}
        self.asks = {Decimal(p): Decimal(q) for p, q in asks}

    def apply(self, bids: list[Level], asks: list[Level]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q in levels:
                price = Decimal(p)
                amount = Decimal(q)
                if amount:
                    side[price] = amount
                else:
                    side.pop(price, None)

    def best(self) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]:
        bid = max(self.bids)
        ask = min(self.asks)
        return (bid, self.bids[bid]), (ask, self.asks[ask])


def _compare(name: str, snapshot: Diff, diffs: list[Diff], target: float, repeat: int) -> Result:
    def ours() -> object:
        book = OrderBook("BTCUSDT", _TICK, _STEP)
        book.apply_snapshot(*snapshot, update_id=1)
        apply = book.apply_delta
        best_bid = book.best_bid
        best_ask = book.best_ask
        top = None
        for bids, asks in diffs:
            apply(bids, asks)
            top = (best_bid(), best_ask())
        return top

    def naive() -> object:
        book = _NaiveBook(*snapshot)
        apply = book.apply
        best = book.best
        top = None
        for bids, asks in diffs:
            apply(bids, asks)
            top = best()
        return top

    if ours() != naive():  # same final top of book, checked outside the timed region
        raise AssertionError(f"{name}: order-book engine and naive book disagree")
    return ratio_result(
        name,
        ours,
        naive,
        len(diffs),
        reference_name="dict[Decimal, Decimal] + max/min",
        target=target,
        unit="diff",
        repeat=repeat,
    )


def run(quick: bool) -> list[Result]:
    """Both streams (``quick``: 2 000 diffs each, else 20 000)."""
    n = 2_000 if quick else 20_000
    repeat = 3 if quick else 5
    realistic = _stream(n, _realistic_amount)
    stress = _stream(n, _fresh_amounts())
    return [
        _compare(
            "book (realistic sizes): 22-level diffs on 1000+1000 levels + best bid/ask",
            *realistic,
            target=4.0,
            repeat=repeat,
        ),
        _compare(
            "book (stress, every amount string new): same diffs + best bid/ask",
            *stress,
            target=3.0,
            repeat=repeat,
        ),
    ]
