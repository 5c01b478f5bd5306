"""OrderBook engine: real payloads, unit behaviour, and property tests against a reference book."""

from __future__ import annotations

import pickle
import random
import zlib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bat_markets.core import (
    BookLevel,
    BookTop,
    ConfigError,
    DecodeError,
    OrderBook,
    OrderBookSnapshot,
    RawLevel,
    format_decimal,
)

DATA = Path(__file__).parent / "data"
D = Decimal


def load(name: str) -> dict[str, object]:
    result = msgspec.json.decode((DATA / name).read_bytes())
    assert isinstance(result, dict)
    return result


# -- reference model -----------------------------------------------------------------------------


class RefBook:
    """The obvious implementation: Decimal -> Decimal dicts, sorted on every read."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def snapshot(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        self.bids = {p: q for p, q in {D(p): D(q) for p, q in bids}.items() if q}
        self.asks = {p: q for p, q in {D(p): D(q) for p, q in asks}.items() if q}

    def delta(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q in levels:
                if D(q):
                    side[D(p)] = D(q)
                else:
                    side.pop(D(p), None)

    def sorted_bids(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.bids.items(), reverse=True)

    def sorted_asks(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.asks.items())

    def checksum(self, depth: int) -> int:
        bids, asks = self.sorted_bids()[:depth], self.sorted_asks()[:depth]
        parts = []
        for i in range(max(len(bids), len(asks))):
            for side in (bids, asks):
                if i < len(side):
                    parts.append(f"{format_decimal(side[i][0])}:{format_decimal(side[i][1])}")
        return zlib.crc32(":".join(parts).encode())


def assert_same(book: OrderBook, ref: RefBook, depth: int = 25) -> None:
    bids, asks = ref.sorted_bids(), ref.sorted_asks()
    assert book.bid_depth == len(bids)
    assert book.ask_depth == len(asks)
    assert book.best_bid() == (bids[0] if bids else None)
    assert book.best_ask() == (asks[0] if asks else None)
    top_b, top_a = book.top_ticks(depth)
    assert [(p * book.tick_size, q * book.step_size) for p, q in top_b] == bids[:depth]
    assert [(p * book.tick_size, q * book.step_size) for p, q in top_a] == asks[:depth]
    snap = book.snapshot()
    assert [(lv.price, lv.amount) for lv in snap.bids] == bids
    assert [(lv.price, lv.amount) for lv in snap.asks] == asks
    assert book.checksum(depth) == ref.checksum(depth)
    crossed = bool(bids and asks and bids[0][0] >= asks[0][0])
    assert book.is_crossed() is crossed


def state(book: OrderBook) -> tuple[object, ...]:
    """Everything observable about a book, for unchanged-after-error assertions."""
    return (
        book.snapshot(),
        book.checksum(1000),
        book.tick_size,
        book.step_size,
        book.widened,
        book.update_id,
        book.timestamp,
        book.top_ticks(10_000),
    )


# -- real payloads -------------------------------------------------------------------------------


def test_bybit_snapshot_then_delta_from_docs() -> None:
    snap = load("bybit_orderbook_50_snapshot.json")["data"]
    assert isinstance(snap, dict)
    book = OrderBook("BTC/USDT:USDT", D("0.10"), D("0.001"))
    book.apply_snapshot(snap["b"], snap["a"], update_id=snap["u"], timestamp=1672304484978)
    assert book.best_bid() == (D("16493.5"), D("0.006"))
    assert book.best_ask() == (D("16611.0"), D("0.029"))
    assert book.top_ticks(5) == ([(164935, 6), (164930, 100)], [(166110, 29), (166120, 213)])
    assert book.update_id == 18521288
    assert not book.widened

    delta = load("bybit_orderbook_50_delta.json")["data"]
    assert isinstance(delta, dict)
    fresh = OrderBook("BTC/USDT:USDT", D("0.10"), D("0.001"))
    fresh.apply_delta(delta["b"], delta["a"], update_id=delta["u"])
    # the zero-amount levels of the frame delete unknown levels: a no-op
    assert fresh.bid_depth == 4
    assert fresh.ask_depth == 5
    assert fresh.best_bid() == (D("30247.2"), D("30.028"))
    assert fresh.best_ask() == (D("30249.3"), D("0.892"))
    assert fresh.update_id == 177400507

    # the docs' delta is from another day: applied on the docs' snapshot it crosses the book,
    # which the sync layer must detect
    book.apply_delta(delta["b"], delta["a"], update_id=delta["u"])
    assert book.is_crossed()


def test_bybit_rest_book_captured() -> None:
    result = load("bybit_orderbook_rest.json")["result"]
    assert isinstance(result, dict)
    book = OrderBook("BTCUSDT", D("0.10"), D("0.001"))
    book.apply_snapshot(result["b"], result["a"], update_id=result["u"], timestamp=result["ts"])
    snap = book.snapshot(resynced=True)
    assert snap.resynced
    assert snap.sequence == 1603656
    assert snap.timestamp == 1711960701415
    assert [str(lv.price) for lv in snap.bids] == [
        "69445.9",
        "69445.7",
        "69445.6",
        "69445.5",
        "69445.3",
    ]
    assert snap.asks[0] == BookLevel(D("69448.3"), D("106.435"))
    assert book.book_top() == BookTop(
        symbol="BTCUSDT",
        timestamp=1711960701415,
        bid=D("69445.9"),
        bid_size=D("49.567"),
        ask=D("69448.3"),
        ask_size=D("106.435"),
        sequence=1603656,
    )
    assert not book.is_crossed()


def test_binance_docs_depth_widens_instead_of_corrupting() -> None:
    # The docs example quotes 4.00000200 for a symbol whose metadata says tick 0.10.
    depth = load("binance_depth.json")
    book = OrderBook("BTCUSDT", D("0.10"), D("0.001"))
    book.apply_snapshot(depth["bids"], depth["asks"], update_id=depth["lastUpdateId"])  # type: ignore[arg-type]
    assert book.widened
    assert book.tick_size == D("0.000001")
    assert book.best_bid() == (D("4"), D("431"))
    assert book.best_ask() == (D("4.000002"), D("12"))
    bid_ticks = book.best_bid_ticks()
    assert bid_ticks is not None
    assert bid_ticks[0] * book.tick_size == D("4")

    update = load("binance_depth_update.json")
    book.apply_delta(update["b"], update["a"], update_id=update["u"])  # type: ignore[arg-type]
    assert book.tick_size == D("0.000001")  # already fine enough
    assert book.snapshot().bids[-1] == BookLevel(D("0.0024"), D("10"))
    assert book.best_ask() == (D("0.0026"), D("100"))
    assert book.is_crossed()  # placeholder docs values: the sync layer would resync here
    assert book.update_id == 160


# -- unit behaviour ------------------------------------------------------------------------------


def make(tick: str = "0.1", step: str = "0.001") -> OrderBook:
    return OrderBook("BTCUSDT", D(tick), D(step))


def test_empty_book() -> None:
    book = make()
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.best_bid_ticks() is None
    assert book.best_ask_ticks() is None
    assert book.top_ticks(5) == ([], [])
    assert book.bid_depth == 0
    assert book.ask_depth == 0
    assert not book.is_crossed()
    assert book.snapshot() == OrderBookSnapshot(symbol="BTCUSDT", timestamp=None, bids=[], asks=[])
    assert book.checksum() == zlib.crc32(b"")
    top = book.book_top()
    assert top.bid is None
    assert top.ask_size is None


def test_delta_semantics_and_ids() -> None:
    book = make()
    book.apply_snapshot([("100.0", "1")], [("101.0", "2")], update_id=10, timestamp=1000)
    book.apply_delta([("100.0", "0.000"), ("99.9", "3")], [("102", "0")], update_id=11)
    assert book.top_ticks(5) == ([(999, 3000)], [(1010, 2000)])
    assert (book.update_id, book.timestamp) == (11, 1000)  # delta without timestamp keeps it
    book.apply_delta([("99.9", "4.5")], [], timestamp=1001)
    assert book.best_bid() == (D("99.9"), D("4.500"))
    assert (book.update_id, book.timestamp) == (11, 1001)
    book.apply_delta([], [("100.5", "1"), ("100.5", "0")])  # last write wins inside a delta
    assert book.ask_depth == 1


def test_snapshot_replaces_and_skips_zero_levels() -> None:
    book = make()
    book.apply_snapshot([("1", "1"), ("2", "1")], [("3", "1")], update_id=1)
    book.apply_snapshot([("5", "0"), ("4", "2"), ("4", "3")], [], update_id=2)
    assert book.top_ticks(10) == ([(40, 3000)], [])
    book.apply_snapshot([("4", "2"), ("4", "0")], [])
    assert book.bid_depth == 0
    assert book.update_id is None  # a snapshot sets exactly what it is given


def test_accepts_lists_generators_and_various_spellings() -> None:
    book = make()
    book.apply_snapshot(
        [["100", "1"], ["99.90", "2.0"], ["099.8", ".5"]],  # type: ignore[list-item]
        (lvl for lvl in [("101.", "0.0010000")]),
    )
    assert book.top_ticks(5) == ([(1000, 1000), (999, 2000), (998, 500)], [(1010, 1)])
    assert book.best_ask() == (D("101.0"), D("0.001"))


def test_decimal_materialisation_uses_unit_places() -> None:
    book = make("0.10", "0.001")
    book.apply_snapshot([("50000.10", "1")], [])
    price, amount = book.best_bid() or (None, None)
    assert str(price) == "50000.1"
    assert str(amount) == "1.000"
    assert book.price_of(3) == D("0.3")
    assert book.amount_of(1) == D("0.001")


def test_top_ticks_orders_and_bounds() -> None:
    book = make("1", "1")
    book.apply_snapshot(
        [(str(p), "1") for p in range(1, 11)], [(str(p), "2") for p in range(20, 31)]
    )
    bids, asks = book.top_ticks(3)
    assert bids == [(10, 1), (9, 1), (8, 1)]
    assert asks == [(20, 2), (21, 2), (22, 2)]
    assert book.top_ticks(0) == ([], [])
    assert len(book.top_ticks(100)[0]) == 10
    with pytest.raises(ValueError, match="n must be"):
        book.top_ticks(-1)
    assert len(book.snapshot(depth=2).asks) == 2


def test_crossed_and_locked() -> None:
    book = make("1", "1")
    book.apply_snapshot([("10", "1")], [("11", "1")])
    assert not book.is_crossed()
    book.apply_delta([], [("10", "1")])
    assert book.is_crossed()  # locked at 10 counts as crossed
    book.apply_delta([("10", "0")], [])
    assert not book.is_crossed()
    book.apply_delta([("12", "1")], [])
    assert book.is_crossed()


def test_non_decimal_power_units() -> None:
    book = make("0.5", "5")
    book.apply_snapshot([("100.5", "15"), ("100", "5")], [("101.0", "10")])
    assert book.top_ticks(5) == ([(201, 3), (200, 1)], [(202, 2)])
    assert book.best_bid() == (D("100.5"), D("15"))
    assert (book.tick_size, book.widened) == (D("0.5"), False)
    book.apply_delta([("100.3", "7")], [])  # both off the 0.5 / 5 grids
    assert book.widened
    assert book.tick_size == D("0.1")
    assert book.step_size == D("1")
    assert book.snapshot().bids == [
        BookLevel(D("100.5"), D("15")),
        BookLevel(D("100.3"), D("7")),
        BookLevel(D("100"), D("5")),
    ]


def test_widen_amount_and_rescale_existing_levels() -> None:
    book = make("0.1", "0.001")
    book.apply_snapshot([("100.0", "1.5")], [("101.0", "0.002")])
    before = book.checksum()
    book.apply_delta([("99.9", "0.0005")], [])
    assert book.step_size == D("0.0001")
    assert book.top_ticks(5) == ([(1000, 15000), (999, 5)], [(1010, 20)])
    book.apply_delta([("99.9", "0")], [])
    assert book.checksum() == before  # same levels, different unit: same checksum


def test_too_fine_values_raise_and_leave_book_unchanged() -> None:
    book = make()
    book.apply_snapshot([("100", "1")], [("101", "1")], update_id=7)
    before = state(book)
    with pytest.raises(DecodeError, match="decimal places"):
        book.apply_delta([("100." + "0" * 30 + "1", "1")], [])
    assert state(book) == before
    # trailing zeros beyond any scale are fine: the value is exact
    book.apply_delta([("100." + "0" * 40, "2")], [])
    assert book.best_bid() == (D("100.0"), D("2.000"))


BAD_VALUES: list[object] = [
    "",
    ".",
    "-1",
    "-0.1",
    "+1",
    "1e5",
    "1E-3",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    " 1",
    "1 ",
    "1_000",
    "1.2.3",
    "..1",
    "abc",
    "0x10",
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "²",
    "9" * 5000,  # beyond int()'s digit limit
    # shaped like the fixed-format fast path (three decimals for step 0.001)
    "-1.000",
    "+1.234",
    " 1.234",
    "1_0.234",
    "1.2.345",
    "\u0661.\u0662\u0663\u0664",  # Arabic-Indic digits around an ASCII dot
    None,
    1,
    1.5,
    b"1",
    ["1"],
    D("1"),
]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("where", ["bid-price", "bid-amount", "ask-price", "ask-amount"])
@pytest.mark.parametrize("widen", [False, True], ids=["on-grid", "widening"])
def test_malformed_value_raises_and_leaves_book_unchanged(
    bad: object, where: str, widen: bool
) -> None:
    book = make()
    book.apply_snapshot([("100.0", "1"), ("99.0", "2")], [("101.0", "1")], update_id=5)
    before = state(book)
    side, field = where.split("-")
    level = (bad, "1") if field == "price" else ("100.5", bad)
    # valid changes (optionally off-grid ones that would widen) precede the bad level
    good = [("100.0", "0"), ("98.05", "3"), ("97.0", "4.0001")] if widen else [("100.0", "0")]
    bids = [*good, level] if side == "bid" else good
    asks = [("101.0", "0"), level] if side == "ask" else [("101.0", "0")]
    with pytest.raises(DecodeError) as info:
        book.apply_delta(bids, asks, update_id=6)  # type: ignore[arg-type]
    assert "left unchanged" in str(info.value)
    assert state(book) == before
    with pytest.raises(DecodeError):
        book.apply_snapshot(bids, asks, update_id=6)  # type: ignore[arg-type]
    assert state(book) == before


@pytest.mark.parametrize(
    "level",
    [("1",), ("1", "2", "3"), (), None, 5, {"price": "1"}],
    ids=repr,
)
def test_malformed_level_shape(level: object) -> None:
    book = make()
    book.apply_snapshot([("100", "1")], [])
    before = state(book)
    with pytest.raises(DecodeError, match=r"pair|malformed"):
        book.apply_delta([("99", "1"), level], [])  # type: ignore[list-item]
    assert state(book) == before


@pytest.mark.parametrize("sides", [(None, []), ([], 5)])
def test_non_iterable_sides(sides: tuple[object, object]) -> None:
    book = make()
    with pytest.raises(DecodeError):
        book.apply_delta(*sides)  # type: ignore[arg-type]


def test_zero_price_is_malformed() -> None:
    book = make()
    with pytest.raises(DecodeError, match="zero"):
        book.apply_delta([("0.0", "1")], [])


@pytest.mark.parametrize(
    "tick", [D(0), D(-1), D("NaN"), D("Infinity"), 0.1, "abc", True, D("1E-30")]
)
def test_bad_units_rejected(tick: object) -> None:
    with pytest.raises(ConfigError, match="tick_size"):
        OrderBook("X", tick, D("1"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="step_size"):
        OrderBook("X", D("1"), tick)  # type: ignore[arg-type]


def test_units_from_str_and_int() -> None:
    book = OrderBook("X", "0.50", 1)  # type: ignore[arg-type]
    assert (book.tick_size, book.step_size) == (D("0.5"), D("1"))


def test_clear_copy_and_repr() -> None:
    book = make()
    book.apply_snapshot([("100", "1")], [("101", "1")], update_id=3, timestamp=9)
    twin = book.copy()
    book.apply_delta([("100", "0")], [("100.5", "1")], update_id=4)
    assert twin.best_bid() == (D("100.0"), D("1.000"))
    assert twin.update_id == 3
    assert book.best_bid() is None
    twin.apply_delta([("99.95", "1")], [])  # widens the copy only
    assert twin.widened
    assert not book.widened
    assert twin.best_bid() == (D("100.00"), D("1.000"))
    book.apply_delta([("99.9", "1")], [])
    assert book.best_bid() == (D("99.9"), D("1.000"))
    assert "BTCUSDT" in repr(book)
    assert "bids=1" in repr(book)
    book.clear()
    assert (book.bid_depth, book.ask_depth, book.update_id, book.timestamp) == (0, 0, None, None)


def test_checksum_format_is_documented_string() -> None:
    book = make("0.01", "0.001")
    book.apply_snapshot([("100.50", "1.000")], [("101", "0.250"), ("102.00", "2")])
    assert book.checksum() == zlib.crc32(b"100.5:1:101:0.25:102:2")
    assert book.checksum(1) == zlib.crc32(b"100.5:1:101:0.25")
    assert book.checksum(0) == zlib.crc32(b"")


def test_snapshot_is_picklable_plain_data() -> None:
    book = make()
    book.apply_snapshot([("100", "1")], [("101", "1")])
    snap = book.snapshot()
    assert pickle.loads(pickle.dumps(snap)) == snap
    assert msgspec.json.decode(msgspec.json.encode(snap), type=OrderBookSnapshot) == snap


# -- properties against the reference -------------------------------------------------------------

GRIDS = [
    (D("0.1"), D("0.001")),
    (D("0.10"), D("0.01")),
    (D("0.5"), D("1")),
    (D("5"), D("0.5")),
    (D("0.001"), D("0.001")),
    (D("0.00001"), D("1")),
]


Levels = list[tuple[str, str]]
Update = tuple[Levels, Levels]
Scenario = tuple[Decimal, Decimal, Update, list[Update]]


@st.composite
def decimal_text(draw: st.DrawFn, unit: Decimal, lo: int, hi: int, allow_off: bool) -> str:
    """A decimal string for ``n * unit`` in various spellings; sometimes off-grid."""
    n = draw(st.integers(lo, hi))
    value = n * unit
    if allow_off and draw(st.integers(0, 30)) == 0:
        value += unit / draw(st.sampled_from([2, 4, 10, 100]))
    text = format_decimal(value)
    style = draw(st.integers(0, 3))
    if style == 1:
        text = f"{text}.000" if "." not in text else f"{text}00"
    elif style == 2:
        text = f"0{text}"
    return text


@st.composite
def updates(draw: st.DrawFn, tick: Decimal, step: Decimal, levels: int) -> list[tuple[str, str]]:
    price = decimal_text(tick, 1, 400, True)
    amount = st.one_of(
        st.just("0"),
        st.just("0.000"),
        decimal_text(step, 0, 50, True),
        decimal_text(step, 1, 10**6, False),
    )
    return draw(st.lists(st.tuples(price, amount), max_size=levels))


@st.composite
def scenario(draw: st.DrawFn) -> Scenario:
    tick, step = draw(st.sampled_from(GRIDS))
    snap = (draw(updates(tick, step, 60)), draw(updates(tick, step, 60)))
    diffs = draw(st.lists(st.tuples(updates(tick, step, 25), updates(tick, step, 25)), max_size=25))
    return tick, step, snap, diffs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_matches_reference_after_every_update(case: Scenario) -> None:
    tick, step, (sb, sa), diffs = case
    book = OrderBook("X", tick, step)
    ref = RefBook()
    book.apply_snapshot(sb, sa, update_id=0)
    event(f"widened after snapshot: {book.widened}")
    ref.snapshot(sb, sa)
    assert_same(book, ref, depth=10)
    for i, (bids, asks) in enumerate(diffs, start=1):
        book.apply_delta(bids, asks, update_id=i)
        ref.delta(bids, asks)
        assert book.update_id == i
        assert_same(book, ref, depth=10)
    event(f"widened at end: {book.widened}")
    event(f"levels at end: {'<10' if book.bid_depth < 10 else '>=10'}")
    # the integer view is always "ticks of tick_size"
    for p, q in book.top_ticks(1000)[0]:
        assert ref.bids[p * book.tick_size] == q * book.step_size


@settings(max_examples=40, deadline=None)
@given(
    scenario(), st.integers(0, 1), st.sampled_from([v for v in BAD_VALUES if isinstance(v, str)])
)
def test_bad_level_anywhere_leaves_book_unchanged(case: Scenario, side: int, bad: str) -> None:
    tick, step, (sb, sa), diffs = case
    book = OrderBook("X", tick, step)
    book.apply_snapshot(sb, sa, update_id=1)
    before = state(book)
    bids, asks = diffs[0] if diffs else ([], [])
    target = list(bids if side == 0 else asks)
    target.insert(len(target) // 2, (format_decimal(tick), bad))
    new_bids, new_asks = (target, asks) if side == 0 else (bids, target)
    with pytest.raises(DecodeError):
        book.apply_delta(new_bids, new_asks, update_id=2)
    assert state(book) == before


@settings(max_examples=60, deadline=None)
@given(scenario())
def test_equal_books_have_equal_checksums(case: Scenario) -> None:
    tick, step, (sb, sa), diffs = case
    incremental = OrderBook("X", tick, step)
    incremental.apply_snapshot(sb, sa)
    for bids, asks in diffs:
        incremental.apply_delta(bids, asks)
    # rebuild the same content from a snapshot in a book with the finest possible units
    rebuilt = OrderBook("X", D("1E-6"), D("1E-6"))
    snap = incremental.snapshot()
    rebuilt.apply_snapshot(
        [(format_decimal(lv.price), format_decimal(lv.amount)) for lv in snap.bids],
        [(format_decimal(lv.price), format_decimal(lv.amount)) for lv in snap.asks],
    )
    for depth in (1, 5, 25, 1000):
        assert rebuilt.checksum(depth) == incremental.checksum(depth)
    assert rebuilt.snapshot() == snap


def test_thousands_of_levels_long_stream() -> None:
    """1500 levels per side, 400 Binance-style diffs, compared in full after every diff."""
    rng = random.Random(7)
    tick, step = D("0.1"), D("0.001")
    book = OrderBook("BTCUSDT", tick, step)
    ref = RefBook()

    def price(ticks: int) -> str:
        return f"{ticks // 10}.{ticks % 10}0"

    def amount() -> str:
        steps = rng.randint(1, 99_999)
        return f"{steps // 1000}.{steps % 1000:03d}"

    mid = 500_000
    bids = [(price(mid - 1 - i), amount()) for i in range(1500)]
    asks = [(price(mid + 1 + i), amount()) for i in range(1500)]
    book.apply_snapshot(bids, asks, update_id=1)
    ref.snapshot(bids, asks)
    assert book.bid_depth == 1500
    assert book.ask_depth == 1500
    assert_same(book, ref, depth=1500)
    for n in range(400):
        diff: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])
        for _ in range(22):
            off = int(rng.expovariate(1 / 20)) if rng.random() < 0.7 else rng.randrange(1700)
            q = "0.000" if rng.random() < 0.1 else amount()
            if rng.random() < 0.5:
                diff[0].append((price(mid - 1 - off), q))
            else:
                diff[1].append((price(mid + 1 + off), q))
        book.apply_delta(*diff, update_id=n + 2)
        ref.delta(*diff)
        assert_same(book, ref, depth=50)
    snap = book.snapshot()
    assert len(snap.bids) == len(ref.bids) > 1000  # never truncated
    assert len(snap.asks) == len(ref.asks) > 1000


def test_amount_cache_switches_off_and_back_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams whose amounts never repeat parse without the amount cache; results are identical."""
    import bat_markets.core._book as engine

    monkeypatch.setattr(engine, "_QCACHE_PROBE", 64)
    monkeypatch.setattr(engine, "_QCACHE_RETRY", 256)
    rng = random.Random(3)
    book = OrderBook("X", D("0.1"), D("0.001"))
    ref = RefBook()
    counter = iter(range(1, 10**6))
    modes = []
    for n in range(120):
        diff: Update = ([], [])
        for _ in range(8):
            steps = next(counter) * 7 if rng.random() < 0.9 else rng.choice([0, 1000, 5])
            amount = f"{steps // 1000}.{steps % 1000:03d}"
            if rng.random() < 0.5:
                diff[0].append((f"{rng.randint(900, 999) / 10:.1f}", amount))
            else:
                diff[1].append((f"{rng.randint(1001, 1100) / 10:.1f}", amount))
        if n == 60:  # an off-grid amount while the cache is off still widens correctly
            diff[0].append(("95.0", "1.0005"))
        book.apply_delta(*diff)
        ref.delta(*diff)
        modes.append(book._qcache_on)
        assert_same(book, ref, depth=5)
    assert False in modes
    assert modes[0] is True
    off = modes.index(False)
    assert True in modes[off:]  # probed again after _QCACHE_RETRY levels
    assert book.widened


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from(GRIDS), st.integers(1000, 1400))
def test_large_books_match_reference(seed: int, grid: tuple[Decimal, Decimal], depth: int) -> None:
    """1000+ levels per side; diffs mix updates, deletes of known and unknown levels, re-adds."""
    tick, step = grid
    rng = random.Random(seed)

    def price(ticks: int) -> str:
        return format_decimal(ticks * tick)

    def amount() -> str:
        return format_decimal(rng.randint(1, 50_000) * step)

    mid = 10_000
    bids = [(price(mid - 1 - i), amount()) for i in range(depth)]
    asks = [(price(mid + 1 + i), amount()) for i in range(depth)]
    book = OrderBook("X", tick, step)
    ref = RefBook()
    book.apply_snapshot(bids, asks, update_id=1)
    ref.snapshot(bids, asks)
    deleted: list[tuple[int, str]] = []
    for n in range(40):
        diff: Update = ([], [])
        for _ in range(rng.randint(0, 30)):
            side = rng.randrange(2)
            roll = rng.random()
            if roll < 0.15 and deleted:  # re-add a level deleted earlier
                side, text = deleted.pop(rng.randrange(len(deleted)))
                diff[side].append((text, amount()))
                continue
            off = int(rng.expovariate(1 / 30)) if rng.random() < 0.7 else rng.randrange(depth + 200)
            text = price(mid - 1 - off) if side == 0 else price(mid + 1 + off)
            if roll < 0.35:  # delete: known or unknown level
                diff[side].append((text, "0"))
                deleted.append((side, text))
            else:
                diff[side].append((text, amount()))
        book.apply_delta(*diff, update_id=n + 2)
        ref.delta(*diff)
        assert_same(book, ref, depth=100)
    assert book.bid_depth > 900
    assert book.ask_depth > 900


# -- internals of the fast path: tombstones, sweeps, caches ---------------------------------------


def check_internals(book: OrderBook) -> None:
    """Invariants of the per-side layout (private attributes, on purpose)."""
    for keys, listed, levels, sign in (
        (book._bk, book._bset, book._bids, 1),
        (book._ak, book._aset, book._asks, -1),
    ):
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)  # no duplicate keys
        assert {sign * k for k in keys} == listed  # ``listed`` mirrors the key list
        assert set(levels) <= listed  # every live level is listed; the rest are tombstones
        assert all(q > 0 for q in levels.values())
        if keys:
            assert sign * keys[-1] in levels  # the best end is never a tombstone


def churn(seed: int, n: int, width: int = 40) -> list[Update]:
    """Deltas that delete and re-add the same few prices near the top, like a real venue."""
    rng = random.Random(seed)
    out: list[Update] = []
    for _ in range(n):
        diff: Update = ([], [])
        for _ in range(rng.randint(0, 14)):
            side = rng.randrange(2)
            ticks = (
                1000 - 1 - rng.randrange(width) if side == 0 else 1000 + 1 + rng.randrange(width)
            )
            amount = "0" if rng.random() < 0.4 else f"{rng.randint(1, 3000) / 1000:.3f}"
            diff[side].append((f"{ticks / 10:.1f}", amount))
        out.append(diff)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_tombstones_keep_the_book_exact(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Heavy delete/re-add churn with frequent bookkeeping windows (sweeps, cache bounds)."""
    import bat_markets.core._book as engine

    monkeypatch.setattr(engine, "_QCACHE_PROBE", 16 + 8 * seed)
    monkeypatch.setattr(engine, "_CACHE_LIMIT", 24)  # caches emptied at many window ends
    book = make()
    ref = RefBook()
    snap: Update = ([(f"{(999 - i) / 10:.1f}", "1.000") for i in range(30)], [])
    book.apply_snapshot(*snap)
    ref.snapshot(*snap)
    most = 0
    for n, (bids, asks) in enumerate(churn(seed, 400)):
        book.apply_delta(bids, asks, update_id=n)
        ref.delta(bids, asks)
        check_internals(book)
        assert_same(book, ref, depth=50)
        tombstones = len(book._bk) - book.bid_depth + len(book._ak) - book.ask_depth
        most = max(most, tombstones)
    assert most > 0  # the scenario exercises tombstones


def test_tombstones_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    import bat_markets.core._book as engine

    monkeypatch.setattr(engine, "_QCACHE_PROBE", 50)
    book = make("1", "1")
    book.apply_snapshot([(str(p), "1") for p in range(1, 101)], [("200", "1")])
    book.apply_delta([(str(p), "0") for p in range(1, 41)], [])  # 40 deep deletes
    assert (len(book._bk), book.bid_depth) == (100, 60)  # tombstones, under the sweep bar
    # the window ends in the next delta (50 levels since the snapshot's): 55 tombstones > 16 + 45/2
    book.apply_delta([(str(p), "0") for p in range(41, 56)], [])
    assert book._bk == list(range(56, 101))
    assert book._bset == set(range(56, 101))
    assert book.top_ticks(100)[0] == [(p, 1) for p in range(100, 55, -1)]
    check_internals(book)
    # same on the ask side (keys negated)
    book.apply_snapshot([("1", "1")], [(str(p), "1") for p in range(101, 201)])
    book.apply_delta([], [(str(p), "0") for p in range(161, 201)])
    assert (len(book._ak), book.ask_depth) == (100, 60)
    book.apply_delta([], [(str(p), "0") for p in range(146, 161)])
    assert book._ak == list(range(-145, -100))
    assert book.top_ticks(100)[1] == [(p, 1) for p in range(101, 146)]
    check_internals(book)


def test_tombstone_revival_and_top_pop() -> None:
    book = make("1", "1")
    book.apply_snapshot([("10", "1"), ("9", "1"), ("8", "1")], [("11", "1"), ("12", "1")])
    book.apply_delta([("9", "0")], [("12", "0")])  # deep deletes: tombstones stay listed
    assert (book._bk, book._ak) == ([8, 9, 10], [-12, -11])
    assert book.top_ticks(5) == ([(10, 1), (8, 1)], [(11, 1)])
    assert (book.bid_depth, book.ask_depth) == (2, 1)
    book.apply_delta([("9", "5")], [("12", "6")])  # revived in place, no list edit
    assert (book._bk, book._ak) == ([8, 9, 10], [-12, -11])
    assert book.top_ticks(5) == ([(10, 1), (9, 5), (8, 1)], [(11, 1), (12, 6)])
    book.apply_delta([("9", "0"), ("10", "0")], [("11", "0")])  # the top goes: tombstones popped
    assert book.best_bid_ticks() == (8, 1)
    assert book.best_ask_ticks() == (12, 6)
    assert (book._bk, book._ak) == ([8], [-12])
    check_internals(book)
    book.apply_delta([("8", "0")], [("12", "0")])  # a side emptied by deltas
    assert (book.best_bid(), book.best_ask(), book._bk, book._ak) == (None, None, [], [])
    assert not book.is_crossed()
    check_internals(book)


def test_tombstones_survive_copy_widening_and_errors() -> None:
    book = make()
    book.apply_snapshot([("100.0", "1"), ("99.9", "2"), ("99.8", "3")], [("100.1", "1")])
    book.apply_delta([("99.9", "0")], [])
    assert 999 in book._bset
    assert 999 not in book._bids
    twin = book.copy()
    before = state(book)
    with pytest.raises(DecodeError):
        book.apply_delta([("99.9", "7"), ("99.7", "bad")], [])
    assert state(book) == before
    check_internals(book)
    book.apply_delta([("99.85", "4")], [])  # widens prices with a tombstone in the list
    check_internals(book)
    assert book.top_ticks(5)[0] == [(10000, 1000), (9985, 4000), (9980, 3000)]
    book.apply_delta([("99.90", "5")], [])  # the tombstone, rescaled, revives
    assert book.top_ticks(2)[0] == [(10000, 1000), (9990, 5000)]
    check_internals(book)
    # the copy kept its own layout
    assert twin.top_ticks(5)[0] == [(1000, 1000), (998, 3000)]
    twin.apply_delta([("99.9", "8")], [])
    assert twin.top_ticks(5)[0] == [(1000, 1000), (999, 8000), (998, 3000)]
    check_internals(twin)


@pytest.mark.parametrize("seed", range(4))
def test_input_shapes_take_equivalent_paths(seed: int) -> None:
    """Lists (fast path), tuples and generators (general path), lists of lists: same book."""

    def as_list(levels: Levels) -> Iterable[RawLevel]:
        return levels

    def as_tuple(levels: Levels) -> Iterable[RawLevel]:
        return tuple(levels)

    def as_generator(levels: Levels) -> Iterable[RawLevel]:
        return (lv for lv in levels)

    def as_lists(levels: Levels) -> Iterable[RawLevel]:
        return [list(lv) for lv in levels]  # type: ignore[misc]

    shapes = [as_list, as_tuple, as_generator, as_lists]
    books = [make() for _ in shapes]
    diffs = churn(seed, 150, width=25)
    for book, shape in zip(books, shapes, strict=True):
        book.apply_snapshot(shape([("99.9", "1")]), shape([("100.1", "1")]))
        for bids, asks in diffs:
            book.apply_delta(shape(bids), shape(asks))
            check_internals(book)
    first = state(books[0])
    assert all(state(book) == first for book in books[1:])
    assert books[0].bid_depth > 0


def test_snapshot_fast_path_last_write_wins() -> None:
    for shape in (list, tuple):
        book = make()
        book.apply_snapshot(
            shape([("100", "1"), ("100", "0"), ("99", "0"), ("99", "2"), ("98", "3")]),
            shape([("101", "1"), ("101", "4")]),
        )
        assert book.top_ticks(5) == ([(990, 2000), (980, 3000)], [(1010, 4000)])
        check_internals(book)


def test_amount_parsing_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed-format amounts (one ``int``) and other spellings convert alike, cache on or off."""
    import bat_markets.core._book as engine

    amounts = ["1.234", "01.234", "1.2340", "1.23", ".234", "12", "0", "0.000", "5."]
    expected = [1234, 1234, 1234, 1230, 234, 12000, 0, 0, 5000]
    for cache_on in (True, False):
        book = make()
        book._qcache_on = cache_on
        monkeypatch.setattr(engine, "_QCACHE_PROBE", 10**9)  # no window: the mode stays put
        book._qbudget = 10**9
        for i, (text, steps) in enumerate(zip(amounts, expected, strict=True)):
            book.apply_delta([(f"{100 + i}.0", text)], [])
            assert book._bids.get(1000 + 10 * i, 0) == steps
        assert book._qcache_on is cache_on
        assert bool(book._qcache) is cache_on
    assert engine._parse_amount("1.234", 3, 1) == 1234
    assert engine._parse_amount("1.5", 1, 5) == 3  # not a power-of-ten step: general parser


@pytest.mark.parametrize("cache_on", [True, False])
def test_amount_parsing_in_one_batch(cache_on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole update converts alike whether or not every amount is fixed format (C-level path)."""
    import bat_markets.core._book as engine

    monkeypatch.setattr(engine, "_QCACHE_PROBE", 10**9)
    fixed = ["1.234", "01.234", "0", "0.000", "000", "7.000"]
    mixed = [*fixed, "1.23", ".234", "12", "5."]
    for amounts, expected in (
        (fixed, [1234, 1234, 0, 0, 0, 7000]),
        (mixed, [1234, 1234, 0, 0, 0, 7000, 1230, 234, 12000, 5000]),
    ):
        book = make()
        book._qcache_on = cache_on
        book._qbudget = 10**9
        book.apply_snapshot([(f"{100 + i}.0", "9.000") for i in range(len(amounts))], [])
        book.apply_delta([(f"{100 + i}.0", a) for i, a in enumerate(amounts)], [])
        assert [book._bids.get(1000 + 10 * i, 0) for i in range(len(amounts))] == expected
        check_internals(book)


def test_distinct_prices() -> None:
    book = make()
    assert book.distinct_prices(["100.0", "100.1", "99.9"])
    assert not book.distinct_prices(["100.0", "100.1", "100.00"])  # one price spelled twice
    assert not book.distinct_prices(["100.0", "1x0.0"])  # malformed: the caller's exact path
    assert not book.distinct_prices(["100.05"])  # off the grid: likewise
    assert book.distinct_prices([])
    assert book._pcache["100.1"] == 1001  # parsed prices are cached for the apply that follows
