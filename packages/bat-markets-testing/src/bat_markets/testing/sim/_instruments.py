"""Instrument specs the simulator lists and enforces (tick, step, limits, start price)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["Instrument", "DEFAULT_INSTRUMENTS", "to_units", "fmt_fixed"]


def to_units(value: Decimal, unit: Decimal) -> int | None:
    """``value / unit`` as an int when ``value`` is an exact multiple of ``unit``, else None."""
    q = value / unit
    i = int(q)
    return i if i == q else None


def fmt_fixed(value: Decimal, decimals: int) -> str:
    """Fixed-point text with exactly ``decimals`` digits after the point."""
    unit = Decimal(1) if decimals <= 0 else Decimal(1).scaleb(-decimals)
    q = value.quantize(unit, rounding=ROUND_HALF_EVEN)
    if q.is_zero():
        q = abs(q)
    return format(q, "f")


@dataclass(frozen=True)
class Instrument:
    """One linear USDT perpetual. ``price_decimals``/``qty_decimals`` only format output."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    max_market_qty: Decimal
    min_notional: Decimal
    min_price: Decimal
    max_price: Decimal
    initial_price: Decimal
    price_decimals: int
    qty_decimals: int
    max_leverage: int = 125
    default_leverage: int = 20
    percent_up: Decimal = Decimal("1.0500")
    percent_down: Decimal = Decimal("0.9500")
    max_move_ticks: int = 5  # market generator: largest mid move per step
    level_qty_max_steps: int = 4000  # market generator: largest resting level size
    trade_qty_max_steps: int = 600  # market generator: largest random taker order
    base_open_interest: Decimal = Decimal("80000")
    onboard_ms: int = 1569398400000
    funding_interval_hours: int = 8

    @property
    def settle(self) -> str:
        return self.quote

    def ticks(self, price: Decimal) -> int | None:
        return to_units(price, self.tick_size)

    def steps(self, qty: Decimal) -> int | None:
        return to_units(qty, self.step_size)

    def price_of(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def qty_of(self, steps: int) -> Decimal:
        return steps * self.step_size

    def fmt_price(self, price: Decimal) -> str:
        return fmt_fixed(price, self.price_decimals)

    def fmt_qty(self, qty: Decimal) -> str:
        return fmt_fixed(qty, self.qty_decimals)


DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        symbol="BTCUSDT",
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.10"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        max_qty=Decimal("1000"),
        max_market_qty=Decimal("120"),
        min_notional=Decimal("100"),
        min_price=Decimal("402"),
        max_price=Decimal("1246396.60"),
        initial_price=Decimal("65000.00"),
        price_decimals=2,
        qty_decimals=3,
        max_move_ticks=6,
        base_open_interest=Decimal("81234.567"),
    ),
    Instrument(
        symbol="ETHUSDT",
        base="ETH",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        max_qty=Decimal("10000"),
        max_market_qty=Decimal("2000"),
        min_notional=Decimal("20"),
        min_price=Decimal("28.23"),
        max_price=Decimal("144004.03"),
        initial_price=Decimal("3500.00"),
        price_decimals=2,
        qty_decimals=3,
        max_move_ticks=6,
        level_qty_max_steps=40000,
        trade_qty_max_steps=6000,
        base_open_interest=Decimal("1523456.789"),
    ),
)
