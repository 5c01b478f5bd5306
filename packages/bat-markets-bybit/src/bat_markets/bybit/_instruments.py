"""Instrument metadata: ``instruments-info`` rows to ``InstrumentSpec``, and the bundled catalog."""

from __future__ import annotations

import datetime as _dt
import functools
from importlib import resources

import msgspec

from bat_markets.core import (
    DecodeError,
    InstrumentKind,
    InstrumentSpec,
    InstrumentStatus,
)

from ._native import InstrumentRow, Page, lax
from ._util import VENUE, dec, dec_opt, int_opt

__all__ = [
    "STATUS_MAP",
    "is_usdt_linear",
    "spec_from_row",
    "specs_from_rows",
    "bundled_specs",
]

STATUS_MAP = {
    "Trading": InstrumentStatus.TRADING,
    "PreLaunch": InstrumentStatus.PRE_LAUNCH,
    "Delivering": InstrumentStatus.SETTLING,
    "Settling": InstrumentStatus.SETTLING,
    "Closed": InstrumentStatus.CLOSED,
}
_KINDS = {
    "LinearPerpetual": InstrumentKind.PERPETUAL,
    "LinearFutures": InstrumentKind.FUTURE,
}
_PAGE = lax(Page[InstrumentRow])


def is_usdt_linear(row: InstrumentRow) -> bool:
    """USDT-settled linear perpetual or dated future (USDC perps, spot, options excluded)."""
    settle = row.settleCoin or row.quoteCoin
    return settle == "USDT" and row.contractType in _KINDS


def _yymmdd(ms: int) -> str:
    try:
        return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).strftime("%y%m%d")
    except (ValueError, OverflowError, OSError) as exc:
        raise DecodeError(f"bad deliveryTime {ms}", venue=VENUE) from exc


def spec_from_row(row: InstrumentRow) -> InstrumentSpec:
    """One USDT linear instrument; ``DecodeError`` when a required filter is malformed."""
    kind = _KINDS.get(row.contractType, InstrumentKind.PERPETUAL)
    settle = row.settleCoin or row.quoteCoin
    expiry = int_opt(row.deliveryTime, "deliveryTime") if kind is InstrumentKind.FUTURE else None
    unified = f"{row.baseCoin}/{row.quoteCoin}:{settle}"
    if expiry is not None:
        unified = f"{unified}-{_yymmdd(expiry)}"
    lot = row.lotSizeFilter
    price = row.priceFilter
    lev = row.leverageFilter
    interval_min = row.fundingInterval
    tick = dec(price.tickSize, "tickSize")
    step = dec(lot.qtyStep, "qtyStep")
    if tick <= 0 or step <= 0:
        raise DecodeError(f"{row.symbol}: non-positive tick or step size", venue=VENUE)
    return InstrumentSpec(
        venue=VENUE,
        symbol=unified,
        id=row.symbol,
        base=row.baseCoin,
        quote=row.quoteCoin,
        settle=settle,
        kind=kind,
        # Unknown statuses are surfaced as HALTED rather than silently tradable.
        status=STATUS_MAP.get(row.status, InstrumentStatus.HALTED),
        tick_size=tick,
        step_size=step,
        min_qty=dec(lot.minOrderQty, "minOrderQty"),
        max_qty=dec_opt(lot.maxOrderQty, "maxOrderQty"),
        market_max_qty=dec_opt(lot.maxMktOrderQty, "maxMktOrderQty"),
        min_price=dec_opt(price.minPrice, "minPrice"),
        max_price=dec_opt(price.maxPrice, "maxPrice"),
        min_notional=dec_opt(lot.minNotionalValue, "minNotionalValue") or dec("0"),
        max_leverage=dec_opt(lev.maxLeverage, "maxLeverage") if lev is not None else None,
        max_open_orders=500,  # active orders per symbol (conditional: 10)
        expiry=expiry,
        onboard_time=int_opt(row.launchTime, "launchTime"),
        funding_interval_hours=(
            interval_min // 60
            if kind is InstrumentKind.PERPETUAL and interval_min and interval_min % 60 == 0
            else None
        ),
    )


def specs_from_rows(rows: list[InstrumentRow]) -> list[InstrumentSpec]:
    """The USDT linear subset of ``rows`` as specs, first occurrence of each symbol kept.

    A row whose filters are malformed is skipped (it cannot be traded safely) rather than
    failing the whole catalog.
    """
    seen: set[str] = set()
    out: list[InstrumentSpec] = []
    for row in rows:
        if row.symbol in seen or not is_usdt_linear(row):
            continue
        try:
            spec = spec_from_row(row)
        except DecodeError:
            continue
        seen.add(row.symbol)
        out.append(spec)
    return out


@functools.lru_cache(maxsize=1)
def bundled_specs() -> tuple[InstrumentSpec, ...]:
    """Instruments shipped with the package (an ``instruments-info`` result, see ``_data``)."""
    raw = resources.files("bat_markets.bybit").joinpath("_data/instruments.json").read_bytes()
    try:
        page = _PAGE.decode(raw)
    except msgspec.MsgspecError as exc:  # a packaging error, not a venue error
        raise DecodeError(f"bundled Bybit instruments are corrupt: {exc}", venue=VENUE) from exc
    return tuple(specs_from_rows(page.items))
