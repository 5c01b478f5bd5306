"""Pre-flight checks of orders against instrument filters; the runtime runs them before every
create/edit and ``validate_order`` exposes them.

Rules (each failure is a ``ConfigError`` naming the rule, the value and what is allowed):

* the instrument must be trading (``spec.status``) and the request must name it (unified symbol
  or native id);
* ``amount`` is required and positive, except with ``close_position`` where it must be ``None``
  (the venue closes the whole position); it must be on the step grid and within min/max quantity.
  Market-executed types (``market``, ``stop_market``, ``take_profit_market``,
  ``trailing_stop_market``) use ``market_step_size``/``market_min_qty``/``market_max_qty`` where the
  venue has them;
* ``price`` is required for limit-priced types (``limit``, ``stop_limit``, ``take_profit_limit``)
  and **forbidden** for market-executed types (a price there would be silently ignored by the venue,
  which hides mistakes; pass ``reference_price`` for the notional check instead); it must be
  positive, on the tick grid and within ``min_price``/``max_price``;
* ``trigger_price`` is required for stop/take-profit types, optional for trailing stops (activation
  price) and forbidden otherwise; same grid and range rules as ``price``;
* ``callback_rate`` (percent) is required for trailing stops (``0 < rate < 100``), forbidden otherwise;
* post-only only for ``limit``; GTD needs ``good_till`` on a limit-priced type and vice versa;
* ``close_position`` only for ``stop_market``/``take_profit_market`` (Binance ``closePosition``,
  Bybit ``closeOnTrigger``);
* min notional ``amount * price * contract_size >= spec.min_notional``: ``price`` for limit-priced
  types; for market-executed types ``reference_price`` when given, else the trigger price of a
  stop/take-profit market order, else the check is skipped. Reduce-only and close-position orders
  are exempt (Binance exempts reduce-only orders from MIN_NOTIONAL, Bybit likewise).
"""

from __future__ import annotations

from decimal import Decimal

from ._commands import EditRequest, OrderRequest
from ._enums import InstrumentStatus, OrderType, TimeInForce
from ._errors import ConfigError
from ._models import InstrumentSpec
from ._quant import Rounding, format_decimal, is_on_grid, parse_decimal, quantize

__all__ = ["validate_order", "validate_edit"]

_MARKET_EXECUTED = frozenset(
    {
        OrderType.MARKET,
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
_CLOSE_POSITION_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
_TRIGGER_REQUIRED = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TAKE_PROFIT_LIMIT,
    }
)
_HUNDRED = Decimal(100)


def _fmt(value: Decimal) -> str:
    return format_decimal(value)


class _Checker:
    """Collects the context every message needs."""

    __slots__ = ("spec", "what")

    def __init__(self, spec: InstrumentSpec, what: str) -> None:
        self.spec = spec
        self.what = what

    def fail(self, reason: str) -> ConfigError:
        return ConfigError(
            f"invalid {self.what} for {self.spec.symbol} on {self.spec.venue}: {reason}",
            venue=self.spec.venue,
        )

    def number(self, value: object, field: str) -> Decimal:
        try:
            number = parse_decimal(value, field)
        except ConfigError as exc:
            raise self.fail(exc.message) from None
        if number <= 0:
            raise self.fail(f"{field} must be positive, got {_fmt(number)}")
        return number

    def instrument(self, symbol: str) -> None:
        spec = self.spec
        if not isinstance(symbol, str) or (
            symbol != spec.symbol and symbol.upper() != spec.id.upper()
        ):
            raise self.fail(
                f"the request names {symbol!r}, not this instrument ({spec.symbol} / {spec.id})"
            )
        status = InstrumentStatus(spec.status)
        if status is not InstrumentStatus.TRADING:
            raise self.fail(
                f"the instrument is {status.value}; orders are accepted only while it is trading"
            )

    def grid(self, value: Decimal, step: Decimal, field: str, step_name: str) -> None:
        if not is_on_grid(value, step):
            low = quantize(value, step, Rounding.DOWN)
            high = quantize(value, step, Rounding.UP)
            raise self.fail(
                f"{field} {_fmt(value)} is not a multiple of the {step_name} {_fmt(step)}; "
                f"nearest valid values are {_fmt(low)} and {_fmt(high)}"
            )

    def price(self, value: object, field: str) -> Decimal:
        spec = self.spec
        price = self.number(value, field)
        if spec.min_price and price < spec.min_price:
            raise self.fail(
                f"{field} {_fmt(price)} is below the minimum price {_fmt(spec.min_price)}"
            )
        if spec.max_price and price > spec.max_price:
            raise self.fail(
                f"{field} {_fmt(price)} is above the maximum price {_fmt(spec.max_price)}"
            )
        self.grid(price, spec.tick_size, field, "tick size")
        return price

    def amount(self, value: object, market: bool) -> Decimal:
        spec = self.spec
        amount = self.number(value, "amount")
        step, low, high = spec.step_size, spec.min_qty, spec.max_qty
        kind = ""
        if market:
            kind = "market "
            step = spec.market_step_size or step
            low = spec.market_min_qty if spec.market_min_qty is not None else low
            high = spec.market_max_qty if spec.market_max_qty is not None else high
        if amount < low:
            raise self.fail(
                f"amount {_fmt(amount)} is below the {kind}minimum quantity {_fmt(low)}"
            )
        if high and amount > high:
            raise self.fail(
                f"amount {_fmt(amount)} is above the {kind}maximum quantity {_fmt(high)}"
            )
        self.grid(amount, step, "amount", f"{kind}step size")
        return amount


def validate_order(
    spec: InstrumentSpec, request: OrderRequest, *, reference_price: Decimal | None = None
) -> None:
    """Raise ``ConfigError`` if ``request`` breaks a filter of ``spec`` (see the module rules).

    ``reference_price`` (e.g. the mark or last price) lets the min-notional check cover market
    orders.
    """
    try:
        kind = OrderType(request.type)
        tif = None if request.time_in_force is None else TimeInForce(request.time_in_force)
    except ValueError as exc:
        raise ConfigError(f"invalid order for {spec.symbol}: {exc}", venue=spec.venue) from None
    check = _Checker(spec, f"{kind.value} order")
    check.instrument(request.symbol)
    market = kind in _MARKET_EXECUTED
    limit_priced = kind.has_limit_price

    # amount / close_position
    if request.close_position:
        if kind not in _CLOSE_POSITION_TYPES:
            raise check.fail(
                "close_position is only valid for stop_market and take_profit_market orders"
            )
        if request.amount is not None:
            raise check.fail(
                "close_position closes the whole position; leave amount None "
                f"(got {request.amount})"
            )
        amount = None
    elif request.amount is None:
        raise check.fail("amount is required (only close_position orders may omit it)")
    else:
        amount = check.amount(request.amount, market)

    # price
    price: Decimal | None = None
    if limit_priced:
        if request.price is None:
            raise check.fail(f"a {kind.value} order needs a price")
        price = check.price(request.price, "price")
    elif request.price is not None:
        raise check.fail(
            f"a {kind.value} order takes no price (got {request.price}); use a limit type, or "
            "pass reference_price to validate the notional"
        )

    # trigger price
    trigger: Decimal | None = None
    if kind in _TRIGGER_REQUIRED:
        if request.trigger_price is None:
            raise check.fail(f"a {kind.value} order needs a trigger_price")
        trigger = check.price(request.trigger_price, "trigger_price")
    elif kind is OrderType.TRAILING_STOP_MARKET:
        if request.trigger_price is not None:  # optional activation price
            trigger = check.price(request.trigger_price, "trigger_price")
    elif request.trigger_price is not None:
        raise check.fail(
            f"trigger_price is only valid for conditional orders, not {kind.value} "
            f"(got {request.trigger_price})"
        )

    # trailing callback
    if kind is OrderType.TRAILING_STOP_MARKET:
        if request.callback_rate is None:
            raise check.fail("a trailing_stop_market order needs a callback_rate (percent)")
        rate = check.number(request.callback_rate, "callback_rate")
        if rate >= _HUNDRED:
            raise check.fail(f"callback_rate is a percentage below 100, got {_fmt(rate)}")
    elif request.callback_rate is not None:
        raise check.fail(
            f"callback_rate is only valid for trailing_stop_market orders, not {kind.value}"
        )

    # time in force
    if tif is TimeInForce.POST_ONLY and kind is not OrderType.LIMIT:
        raise check.fail(f"post-only is only valid for limit orders, not {kind.value}")
    if tif is TimeInForce.GTD:
        if not limit_priced:
            raise check.fail(f"GTD is only valid for limit-priced orders, not {kind.value}")
        if request.good_till is None:
            raise check.fail("time_in_force GTD needs good_till (epoch ms)")
    if request.good_till is not None:
        if tif is not TimeInForce.GTD:
            raise check.fail("good_till is only valid with time_in_force GTD")
        if not isinstance(request.good_till, int) or request.good_till <= 0:
            raise check.fail(
                f"good_till must be a positive epoch-ms int, got {request.good_till!r}"
            )

    # min notional
    if amount is None or request.reduce_only or spec.min_notional <= 0:
        return
    basis: Decimal | None
    if limit_priced:
        basis, basis_name = price, "price"
    elif reference_price is not None:
        basis, basis_name = check.number(reference_price, "reference_price"), "reference price"
    elif kind in _TRIGGER_REQUIRED:  # stop/take-profit market: valued at its trigger
        basis, basis_name = trigger, "trigger price"
    else:
        return  # a market order or trailing stop without a reference price cannot be valued
    if basis is None:
        return
    notional = amount * basis * spec.contract_size
    if notional < spec.min_notional:
        needed = quantize(
            spec.min_notional / (basis * spec.contract_size),
            (spec.market_step_size or spec.step_size) if market else spec.step_size,
            Rounding.UP,
        )
        raise check.fail(
            f"notional {_fmt(notional)} (amount {_fmt(amount)} x {basis_name} {_fmt(basis)}) is "
            f"below the minimum notional {_fmt(spec.min_notional)}; use an amount of at least "
            f"{_fmt(needed)} or make the order reduce-only"
        )


def validate_edit(spec: InstrumentSpec, request: EditRequest) -> None:
    """Raise ``ConfigError`` if an edit is malformed or puts amount/price/trigger off the grid or
    out of range (limit-order filters apply: venues amend limit orders)."""
    check = _Checker(spec, "order edit")
    check.instrument(request.symbol)
    if request.id is None and request.client_order_id is None:
        raise check.fail("an edit needs the order id or client_order_id")
    if request.amount is None and request.price is None and request.trigger_price is None:
        raise check.fail("an edit must change at least one of amount, price, trigger_price")
    if request.amount is not None:
        check.amount(request.amount, market=False)
    if request.price is not None:
        check.price(request.price, "price")
    if request.trigger_price is not None:
        check.price(request.trigger_price, "trigger_price")
