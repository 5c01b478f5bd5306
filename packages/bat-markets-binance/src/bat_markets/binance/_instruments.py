"""``exchangeInfo`` to ``InstrumentSpec`` (every filter the unified spec has a field for), and the
bundled instrument metadata shipped as JSON inside the package.

Only USDT-margined, USDT-quoted linear contracts are kept (perpetuals and dated futures). A symbol
whose filters are missing or malformed is skipped, never the whole response.
"""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from importlib import resources

import msgspec

from bat_markets.core import InstrumentKind, InstrumentSpec, InstrumentStatus

from ._native import decode

__all__ = [
    "NativeFilter",
    "NativeSymbol",
    "NativeExchangeInfo",
    "spec_from_native",
    "specs_from_exchange_info",
    "bundled_instruments",
]

VENUE = "binance"


class NativeFilter(msgspec.Struct, kw_only=True, gc=False):
    filterType: str
    tickSize: str | None = None
    minPrice: str | None = None
    maxPrice: str | None = None
    stepSize: str | None = None
    minQty: str | None = None
    maxQty: str | None = None
    notional: str | None = None
    limit: int | None = None
    multiplierUp: str | None = None
    multiplierDown: str | None = None


class NativeSymbol(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    marginAsset: str = ""
    contractType: str = ""
    deliveryDate: int | None = None
    onboardDate: int | None = None
    filters: list[NativeFilter] = []


class NativeExchangeInfo(msgspec.Struct, kw_only=True, gc=False):
    symbols: list[NativeSymbol]


_PERPETUAL = {"PERPETUAL", "TRADIFI_PERPETUAL"}
_DATED = {"CURRENT_QUARTER", "NEXT_QUARTER", "CURRENT_MONTH", "NEXT_MONTH"}
_STATUS = {
    "TRADING": InstrumentStatus.TRADING,
    "PENDING_TRADING": InstrumentStatus.PRE_LAUNCH,
    "PRE_TRADING": InstrumentStatus.PRE_LAUNCH,
    "PRE_DELIVERING": InstrumentStatus.SETTLING,
    "DELIVERING": InstrumentStatus.SETTLING,
    "PRE_SETTLE": InstrumentStatus.SETTLING,
    "SETTLING": InstrumentStatus.SETTLING,
    "DELIVERED": InstrumentStatus.CLOSED,
    "CLOSE": InstrumentStatus.CLOSED,
}


def _positive(text: str | None) -> Decimal | None:
    """A filter value; ``"0"`` disables the rule on Binance, so it maps to ``None``."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def spec_from_native(
    n: NativeSymbol, funding_hours: dict[str, int] | None = None
) -> InstrumentSpec | None:
    """The unified spec of one ``exchangeInfo`` symbol, or ``None`` when out of scope/broken."""
    if n.quoteAsset != "USDT" or (n.marginAsset or "USDT") != "USDT":
        return None
    filters = {f.filterType: f for f in n.filters}
    price_f = filters.get("PRICE_FILTER")
    lot_f = filters.get("LOT_SIZE")
    if price_f is None or lot_f is None:
        return None
    tick = _positive(price_f.tickSize)
    step = _positive(lot_f.stepSize)
    min_qty = _positive(lot_f.minQty)
    if tick is None or step is None or min_qty is None:
        return None
    market_f = filters.get("MARKET_LOT_SIZE")
    notional_f = filters.get("MIN_NOTIONAL")
    orders_f = filters.get("MAX_NUM_ORDERS")
    expiry: int | None = None
    suffix = ""
    if n.contractType in _PERPETUAL:
        kind = InstrumentKind.PERPETUAL
    elif n.contractType in _DATED:
        kind = InstrumentKind.FUTURE
        expiry = n.deliveryDate
        _, sep, tail = n.symbol.partition("_")
        if not sep or not tail.isdigit():
            return None
        suffix = f"-{tail}"
    else:
        return None
    funding = None
    if kind is InstrumentKind.PERPETUAL:
        funding = (funding_hours or {}).get(n.symbol, 8)
    return InstrumentSpec(
        venue=VENUE,
        symbol=f"{n.baseAsset}/{n.quoteAsset}:{n.marginAsset or n.quoteAsset}{suffix}",
        id=n.symbol,
        base=n.baseAsset,
        quote=n.quoteAsset,
        settle=n.marginAsset or n.quoteAsset,
        kind=kind,
        status=_STATUS.get(n.status, InstrumentStatus.HALTED),
        tick_size=tick,
        step_size=step,
        min_qty=min_qty,
        max_qty=_positive(lot_f.maxQty),
        market_step_size=_positive(market_f.stepSize) if market_f else None,
        market_min_qty=_positive(market_f.minQty) if market_f else None,
        market_max_qty=_positive(market_f.maxQty) if market_f else None,
        min_price=_positive(price_f.minPrice),
        max_price=_positive(price_f.maxPrice),
        min_notional=(_positive(notional_f.notional) if notional_f else None) or Decimal(0),
        max_open_orders=orders_f.limit if orders_f else None,
        expiry=expiry,
        onboard_time=n.onboardDate or None,
        funding_interval_hours=funding,
    )


def specs_from_exchange_info(
    body: bytes, funding_hours: dict[str, int] | None = None
) -> list[InstrumentSpec]:
    info = decode(body, NativeExchangeInfo, "exchangeInfo")
    specs = []
    for n in info.symbols:
        spec = spec_from_native(n, funding_hours)
        if spec is not None:
            specs.append(spec)
    return specs


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[InstrumentSpec, ...]:
    body = resources.files("bat_markets.binance").joinpath("_data/instruments.json").read_bytes()
    return tuple(specs_from_exchange_info(body))


def bundled_instruments() -> list[InstrumentSpec]:
    """BTCUSDT and ETHUSDT (and whatever else the bundled file lists), offline."""
    return list(_bundled())
