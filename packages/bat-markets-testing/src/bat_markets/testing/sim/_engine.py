"""The venue-neutral matching engine of the simulator.

Public API (stable; later changes are additive only)::

    from bat_markets.testing.sim import Engine, OrderParams, CondParams, OrderRejected, ...

    engine = Engine(instruments=DEFAULT_INSTRUMENTS, clock=None,  # Clock() = wall time
                    maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0004"))
    engine.instruments: dict[str, Instrument]      # by native symbol ("BTCUSDT")
    engine.books: dict[str, Book]                  # shared public book per symbol
    engine.markets: dict[str, MarketState]         # last/mark/index/funding/tape/candles
    engine.accounts: dict[str, Account]            # by API key
    engine.clock.now_ms() -> int

    # listeners: called synchronously, in order, after each engine operation completes;
    # they must not call back into the engine (queue work instead). Returns an unsubscribe fn.
    engine.subscribe(listener: Callable[[EngineEvent], None]) -> Callable[[], None]

    # accounts
    engine.add_account(api_key, secret, *, permissions=ALL_PERMISSIONS, balance=Decimal(...),
                       asset="USDT", key_type="hmac", public_key=None,
                       maker_fee=None, taker_fee=None) -> Account
    engine.account(api_key) -> Account            # raises OrderRejected(UNKNOWN_ACCOUNT)
    engine.deposit(api_key, amount, asset="USDT", reason="DEPOSIT")

    # orders (each raises OrderRejected(reason) and changes nothing when refused)
    engine.check_order(api_key, OrderParams) -> None          # validation only (order/test)
    engine.place_order(api_key, OrderParams) -> Order
    engine.cancel_order(api_key, symbol, order_id=None, client_id=None) -> Order
    engine.cancel_all(api_key, symbol=None) -> list[Order]
    engine.amend_order(api_key, symbol, *, order_id=None, client_id=None,
                       qty=None, price=None, keep_priority=False) -> Order
    engine.get_order(api_key, symbol, order_id=None, client_id=None) -> Order
    engine.open_orders(api_key, symbol=None) -> list[Order]
    engine.all_orders(api_key, symbol=None) -> list[Order]
    engine.fills(api_key, symbol=None) -> list[Fill]

    # conditional orders (stop / take-profit / trailing; by LAST, MARK or INDEX price)
    engine.place_conditional(api_key, CondParams) -> Conditional
    engine.cancel_conditional(api_key, cond_id=None, client_id=None) -> Conditional
    engine.cancel_all_conditionals(api_key, symbol=None) -> list[Conditional]
    engine.get_conditional(api_key, cond_id=None, client_id=None) -> Conditional
    engine.open_conditionals(api_key, symbol=None) -> list[Conditional]
    engine.all_conditionals(api_key, symbol=None) -> list[Conditional]

    # settings
    engine.set_leverage(api_key, symbol, leverage: int) -> SymbolConfig
    engine.set_margin_type(api_key, symbol, MarginType) -> SymbolConfig
    engine.set_position_mode(api_key, dual_side: bool) -> None
    engine.symbol_config(api_key, symbol) -> SymbolConfig

    # positions and money
    engine.position(api_key, symbol, position_side) -> Position
    engine.positions(api_key, symbol=None, include_flat=False) -> list[Position]
    engine.summary(api_key) -> AccountSummary    # wallet, uPnL, margins, available

    # market side (used by the market-data generator and by tests)
    with engine.batch(): ...        # group several operations into one set of diffs/events
    engine.mm_set_level(symbol, side, ticks, steps)   # set market-maker size at a level
    engine.taker(symbol, side, steps, limit_ticks=None, liquidation=False) -> int (filled)
    engine.set_prices(symbol, mark=None, index=None, funding_rate=None, next_funding_ms=None)
    engine.settle_funding(symbol) -> None
    engine.print_liquidation(symbol, side, steps) -> None   # forceOrder print + trades
    engine.expire_due() -> None                              # GTD / good-till expiry

``Side.BUY`` levels are bids, ``Side.SELL`` levels asks; ``ticks``/``steps`` are integer
multiples of the instrument's tick and step size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from bat_markets.core import Secret

from ._book import Book, Entry, Level
from ._clock import Clock
from ._events import (
    AccountUpdate,
    AggTrade,
    ConditionalUpdate,
    ConfigUpdate,
    EngineEvent,
    FundingSettled,
    LiquidationPrint,
    MarkUpdate,
    OrderUpdate,
    PublicTrade,
)
from ._instruments import DEFAULT_INSTRUMENTS, Instrument
from ._model import (
    ZERO,
    Balance,
    Conditional,
    CondParams,
    CondStatus,
    ExecType,
    Fill,
    MarginType,
    Order,
    OrderKind,
    OrderParams,
    OrderRejected,
    OrderStatus,
    Position,
    PositionSide,
    RejectReason,
    Side,
    StpMode,
    SymbolConfig,
    TimeInForce,
    TriggerBy,
    TriggerDirection,
)
from ._tape import MarketState

__all__ = ["ALL_PERMISSIONS", "Account", "AccountSummary", "Engine", "Listener"]

log = logging.getLogger("bat_markets.testing.sim")

Listener = Callable[[EngineEvent], None]

#: Permission names an account may hold; venue layers decide which an endpoint needs.
ALL_PERMISSIONS: frozenset[str] = frozenset({"read", "trade", "user_stream"})

_MAINT_RATE = Decimal("0.004")
_MAX_OPEN_ORDERS = 200
_MAX_CONDITIONALS = 200
_HUNDRED = Decimal(100)


@dataclass(eq=False)
class Account:
    """One API key's account: its own orders, positions, balances and settings."""

    api_key: str
    secret: Secret
    permissions: frozenset[str]
    key_type: str = "hmac"
    public_key: str | None = None  # PEM, for Ed25519/RSA keys
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0004")
    dual_side: bool = False
    multi_assets: bool = False
    balances: dict[str, Balance] = field(default_factory=dict)
    configs: dict[str, SymbolConfig] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    open_orders: dict[int, Order] = field(default_factory=dict)
    conds: dict[int, Conditional] = field(default_factory=dict)
    positions: dict[tuple[str, PositionSide], Position] = field(default_factory=dict)
    fill_log: list[Fill] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)  # venue-layer scratch space

    def __repr__(self) -> str:
        return f"Account(api_key={self.api_key[:4]}…, permissions={sorted(self.permissions)})"


@dataclass(frozen=True)
class AccountSummary:
    """Money view of an account (single settle asset, cross + isolated)."""

    wallet: Decimal
    cross_wallet: Decimal
    unrealized: Decimal
    cross_unrealized: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    maint_margin: Decimal
    margin_balance: Decimal
    available: Decimal


class Engine:
    """Matching engine + accounts for one venue. See the module docstring for the API."""

    def __init__(
        self,
        instruments: tuple[Instrument, ...] | list[Instrument] = DEFAULT_INSTRUMENTS,
        *,
        clock: Clock | None = None,
        maker_fee: Decimal = Decimal("0.0002"),
        taker_fee: Decimal = Decimal("0.0004"),
        settle_asset: str = "USDT",
        first_order_id: int = 4_000_000_001,
    ) -> None:
        self.clock = clock or Clock()
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.settle_asset = settle_asset
        self.instruments: dict[str, Instrument] = {i.symbol: i for i in instruments}
        self.books: dict[str, Book] = {}
        self.markets: dict[str, MarketState] = {}
        for n, inst in enumerate(instruments):
            self.books[inst.symbol] = Book(inst, start_update_id=1_000_000 * (n + 1))
            self.markets[inst.symbol] = MarketState(
                inst.symbol,
                inst.initial_price,
                inst.initial_price,
                inst.initial_price,
                open_interest=inst.base_open_interest,
                next_trade_id=100_000_001 * (n + 1),
                next_agg_id=50_000_001 * (n + 1),
            )
        self.accounts: dict[str, Account] = {}
        self._listeners: list[Listener] = []
        self._out: list[EngineEvent] = []
        self._depth = 0
        self._next_order_id = first_order_id
        self._next_cond_id = 1_000_000_001
        self._open_conds: dict[int, Conditional] = {}
        self._touched: set[str] = set()  # accounts whose reduce-only orders need a re-check

    # -- plumbing ------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener`` for every event; returns a function that unregisters it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def now(self) -> int:
        return self.clock.now_ms()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Defer diffs, trigger checks and event delivery until the block ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._finish()

    def _emit(self, event: EngineEvent) -> None:
        self._out.append(event)

    def _finish(self) -> None:
        for _ in range(100):  # triggers may cascade; bounded
            fired = self._check_triggers()
            self._expire_reduce_only()
            if not fired:
                break
        now = self.now()
        for book in self.books.values():
            diff = book.flush(now)
            if diff is not None:
                self._emit(diff)
        out, self._out = self._out, []
        for event in out:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:  # a broken renderer must not break the engine
                    log.exception("simulator listener failed on %s", type(event).__name__)

    # -- lookups -------------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, symbol)
        return inst

    def account(self, api_key: str) -> Account:
        acct = self.accounts.get(api_key)
        if acct is None:
            raise OrderRejected(RejectReason.UNKNOWN_ACCOUNT, "unknown API key")
        return acct

    def symbol_config(self, api_key: str, symbol: str) -> SymbolConfig:
        acct = self.account(api_key)
        inst = self.instrument(symbol)
        cfg = acct.configs.get(symbol)
        if cfg is None:
            cfg = SymbolConfig(leverage=inst.default_leverage)
            acct.configs[symbol] = cfg
        return cfg

    def position(self, api_key: str, symbol: str, position_side: PositionSide) -> Position:
        acct = self.account(api_key)
        self.instrument(symbol)
        key = (symbol, position_side)
        pos = acct.positions.get(key)
        if pos is None:
            pos = Position(api_key, symbol, position_side)
            acct.positions[key] = pos
        return pos

    def positions(
        self, api_key: str, symbol: str | None = None, include_flat: bool = False
    ) -> list[Position]:
        """Position rows of the account's current mode (one-way: BOTH; hedge: LONG+SHORT)."""
        acct = self.account(api_key)
        sides = (PositionSide.LONG, PositionSide.SHORT) if acct.dual_side else (PositionSide.BOTH,)
        symbols = [symbol] if symbol is not None else list(self.instruments)
        rows: list[Position] = []
        for sym in symbols:
            self.instrument(sym)
            for ps in sides:
                pos = self.position(api_key, sym, ps)
                if include_flat or pos.amount:
                    rows.append(pos)
        return rows

    def open_orders(self, api_key: str, symbol: str | None = None) -> list[Order]:
        acct = self.account(api_key)
        return [o for o in acct.open_orders.values() if symbol is None or o.symbol == symbol]

    def all_orders(self, api_key: str, symbol: str | None = None) -> list[Order]:
        acct = self.account(api_key)
        return [o for o in acct.orders.values() if symbol is None or o.symbol == symbol]

    def fills(self, api_key: str, symbol: str | None = None) -> list[Fill]:
        acct = self.account(api_key)
        return [f for f in acct.fill_log if symbol is None or f.symbol == symbol]

    def get_order(
        self,
        api_key: str,
        symbol: str,
        order_id: int | None = None,
        client_id: str | None = None,
    ) -> Order:
        """By id, or by client id (an open order wins; else the most recent one)."""
        acct = self.account(api_key)
        order: Order | None = None
        if order_id is not None:
            order = acct.orders.get(order_id)
        elif client_id:
            for o in acct.open_orders.values():
                if o.client_id == client_id:
                    order = o
                    break
            else:
                for o in reversed(list(acct.orders.values())):
                    if o.client_id == client_id:
                        order = o
                        break
        if order is None or order.symbol != symbol:
            raise OrderRejected(RejectReason.ORDER_NOT_FOUND, "order does not exist")
        return order

    # -- accounts ------------------------------------------------------------------------------
    def add_account(
        self,
        api_key: str,
        secret: str | Secret,
        *,
        permissions: frozenset[str] | set[str] = ALL_PERMISSIONS,
        balance: Decimal = Decimal("100000"),
        asset: str | None = None,
        key_type: str = "hmac",
        public_key: str | None = None,
        maker_fee: Decimal | None = None,
        taker_fee: Decimal | None = None,
    ) -> Account:
        """Create (or replace) the account of ``api_key`` with a wallet of ``balance``."""
        asset = asset or self.settle_asset
        acct = Account(
            api_key=api_key,
            secret=secret if isinstance(secret, Secret) else Secret(secret),
            permissions=frozenset(permissions),
            key_type=key_type,
            public_key=public_key,
            maker_fee=self.maker_fee if maker_fee is None else maker_fee,
            taker_fee=self.taker_fee if taker_fee is None else taker_fee,
        )
        acct.balances[asset] = Balance(asset, balance, self.now())
        self.accounts[api_key] = acct
        return acct

    def deposit(
        self, api_key: str, amount: Decimal, asset: str | None = None, reason: str = "DEPOSIT"
    ) -> None:
        """Credit (or debit, when negative) the wallet; emits an ``AccountUpdate``."""
        with self.batch():
            acct = self.account(api_key)
            asset = asset or self.settle_asset
            bal = acct.balances.setdefault(asset, Balance(asset))
            bal.wallet += amount
            bal.updated_ms = self.now()
            self._emit(
                AccountUpdate(
                    api_key, reason, (bal.snapshot(),), (), ((asset, amount),), self.now()
                )
            )

    def _wallet(self, acct: Account) -> Balance:
        return acct.balances.setdefault(self.settle_asset, Balance(self.settle_asset))

    def summary(self, api_key: str) -> AccountSummary:
        """Wallet, unrealized PnL, margins and available balance in the settle asset."""
        acct = self.account(api_key)
        wallet = self._wallet(acct).wallet
        unreal = cross_unreal = pos_im = maint = iso_wallet = ZERO
        for (sym, _ps), pos in acct.positions.items():
            if not pos.amount:
                continue
            mark = self.markets[sym].mark_price
            cfg = self.symbol_config(api_key, sym)
            up = pos.unrealized(mark)
            unreal += up
            notional = abs(pos.amount) * mark
            maint += notional * _MAINT_RATE
            if cfg.margin_type is MarginType.ISOLATED:
                iso_wallet += pos.isolated_wallet
            else:
                cross_unreal += up
                pos_im += notional / cfg.leverage
        oo_im = ZERO
        for o in acct.open_orders.values():
            if self._reduce_cap(acct, o) is None:
                oo_im += (
                    o.remaining
                    * (o.price or self.markets[o.symbol].mark_price)
                    / (self.symbol_config(api_key, o.symbol).leverage)
                )
        cross_wallet = wallet - iso_wallet
        margin_balance = wallet + unreal
        available = cross_wallet + cross_unreal - pos_im - oo_im
        return AccountSummary(
            wallet=wallet,
            cross_wallet=cross_wallet,
            unrealized=unreal,
            cross_unrealized=cross_unreal,
            position_initial_margin=pos_im,
            open_order_initial_margin=oo_im,
            maint_margin=maint,
            margin_balance=margin_balance,
            available=available,
        )

    # -- settings ------------------------------------------------------------------------------
    def set_leverage(self, api_key: str, symbol: str, leverage: int) -> SymbolConfig:
        inst = self.instrument(symbol)
        cfg = self.symbol_config(api_key, symbol)
        if not 1 <= leverage <= inst.max_leverage:
            raise OrderRejected(RejectReason.INVALID_LEVERAGE, f"leverage {leverage}")
        with self.batch():
            cfg.leverage = leverage
            self._emit(ConfigUpdate(api_key, symbol, leverage=leverage, ts=self.now()))
        return cfg

    def set_margin_type(self, api_key: str, symbol: str, margin_type: MarginType) -> SymbolConfig:
        acct = self.account(api_key)
        cfg = self.symbol_config(api_key, symbol)
        if cfg.margin_type is margin_type:
            raise OrderRejected(RejectReason.MARGIN_TYPE_UNCHANGED, "no need to change")
        if any(o.symbol == symbol for o in acct.open_orders.values()):
            raise OrderRejected(RejectReason.HAS_OPEN_ORDERS, "open orders exist")
        if any(p.amount for (s, _), p in acct.positions.items() if s == symbol):
            raise OrderRejected(RejectReason.HAS_POSITION, "position exists")
        with self.batch():
            cfg.margin_type = margin_type
            self._emit(ConfigUpdate(api_key, symbol, margin_type=margin_type, ts=self.now()))
        return cfg

    def set_position_mode(self, api_key: str, dual_side: bool) -> None:
        acct = self.account(api_key)
        if acct.dual_side == dual_side:
            raise OrderRejected(RejectReason.POSITION_MODE_UNCHANGED, "no need to change")
        if acct.open_orders or any(c.is_open for c in acct.conds.values()):
            raise OrderRejected(RejectReason.HAS_OPEN_ORDERS, "open orders exist")
        if any(p.amount for p in acct.positions.values()):
            raise OrderRejected(RejectReason.HAS_POSITION, "position exists")
        with self.batch():
            acct.dual_side = dual_side
            self._emit(ConfigUpdate(api_key, None, dual_side=dual_side, ts=self.now()))

    # -- order validation ----------------------------------------------------------------------
    def _closing(self, acct: Account, side: Side, ps: PositionSide) -> bool:
        """Hedge-mode orders that can only reduce (SELL LONG, BUY SHORT)."""
        return (ps is PositionSide.LONG and side is Side.SELL) or (
            ps is PositionSide.SHORT and side is Side.BUY
        )

    def _cap_for(
        self, acct: Account, symbol: str, side: Side, ps: PositionSide, reduce_only: bool
    ) -> int | None:
        """Largest steps an order may execute when it must only reduce; None = no cap."""
        if not (reduce_only or self._closing(acct, side, ps)):
            return None
        inst = self.instruments[symbol]
        pos = acct.positions.get((symbol, ps))
        amount = pos.amount if pos is not None else ZERO
        if amount * side.sign >= 0:  # flat, or same direction: nothing to reduce
            return 0
        steps = inst.steps(abs(amount))
        return steps if steps is not None else int(abs(amount) / inst.step_size)

    def _reduce_cap(self, acct: Account, order: Order) -> int | None:
        return self._cap_for(
            acct,
            order.symbol,
            order.side,
            order.position_side,
            order.reduce_only or order.close_position,
        )

    def _validate(
        self, acct: Account, p: OrderParams, *, triggered: bool = False
    ) -> tuple[Instrument, int | None, int]:
        inst = self.instrument(p.symbol)
        # position side vs mode
        if acct.dual_side:
            if p.position_side is PositionSide.BOTH:
                raise OrderRejected(RejectReason.POSITION_SIDE_MISMATCH, "hedge mode")
            if p.reduce_only and not triggered:
                raise OrderRejected(RejectReason.REDUCE_ONLY_NOT_ALLOWED, "hedge mode")
        elif p.position_side is not PositionSide.BOTH:
            raise OrderRejected(RejectReason.POSITION_SIDE_MISMATCH, "one-way mode")
        reduce = p.reduce_only or p.close_position
        cap = self._cap_for(acct, p.symbol, p.side, p.position_side, reduce)
        # quantity
        if p.close_position:
            if cap is None or cap == 0:
                raise OrderRejected(RejectReason.NO_POSITION, "no position to close")
            steps = cap
        else:
            if p.qty <= 0:
                raise OrderRejected(RejectReason.INVALID_QTY, "quantity must be positive")
            s = inst.steps(p.qty)
            if s is None:
                raise OrderRejected(RejectReason.INVALID_QTY, "quantity not on step size")
            steps = s
            if p.qty < inst.min_qty:
                raise OrderRejected(RejectReason.QTY_TOO_SMALL, "quantity below minimum")
            limit = inst.max_market_qty if p.kind is OrderKind.MARKET else inst.max_qty
            if p.qty > limit:
                raise OrderRejected(RejectReason.QTY_TOO_LARGE, "quantity above maximum")
        if cap == 0:
            raise OrderRejected(RejectReason.REDUCE_ONLY_REJECTED, "would not reduce position")
        # price
        mkt = self.markets[p.symbol]
        ticks: int | None = None
        if p.kind is OrderKind.LIMIT:
            if p.price is None:
                raise OrderRejected(RejectReason.PRICE_REQUIRED, "price")
            if p.price <= 0:
                raise OrderRejected(RejectReason.INVALID_PRICE, "price must be positive")
            ticks = inst.ticks(p.price)
            if ticks is None:
                raise OrderRejected(RejectReason.INVALID_PRICE, "price not on tick size")
            if not inst.min_price <= p.price <= inst.max_price:
                raise OrderRejected(RejectReason.PRICE_OUT_OF_RANGE, "price outside filter")
            if p.side is Side.BUY and p.price > mkt.mark_price * inst.percent_up:
                raise OrderRejected(
                    RejectReason.PRICE_OUT_OF_RANGE,
                    f"limit price can't be higher than {mkt.mark_price * inst.percent_up}",
                )
            if p.side is Side.SELL and p.price < mkt.mark_price * inst.percent_down:
                raise OrderRejected(
                    RejectReason.PRICE_OUT_OF_RANGE,
                    f"limit price can't be lower than {mkt.mark_price * inst.percent_down}",
                )
        ref_price = p.price if p.price is not None else mkt.mark_price
        if not reduce and ref_price * inst.qty_of(steps) < inst.min_notional:
            raise OrderRejected(RejectReason.MIN_NOTIONAL, f"notional below {inst.min_notional}")
        if p.tif is TimeInForce.GTD and p.good_till_ms <= self.now():
            raise OrderRejected(RejectReason.GTD_INVALID, "goodTillDate in the past")
        if p.client_id and any(o.client_id == p.client_id for o in acct.open_orders.values()):
            raise OrderRejected(RejectReason.DUPLICATE_CLIENT_ID, "client order id is duplicated")
        if sum(1 for o in acct.open_orders.values() if o.symbol == p.symbol) >= _MAX_OPEN_ORDERS:
            raise OrderRejected(RejectReason.TOO_MANY_ORDERS, "open order limit reached")
        if p.check_margin and cap is None:
            cfg = self.symbol_config(acct.api_key, p.symbol)
            need = ref_price * inst.qty_of(steps) / cfg.leverage
            if need > self.summary(acct.api_key).available:
                raise OrderRejected(RejectReason.INSUFFICIENT_MARGIN, "margin is insufficient")
        return inst, ticks, steps

    def _would_take(self, book: Book, side: Side, ticks: int | None) -> bool:
        best = book.best_ask() if side is Side.BUY else book.best_bid()
        if best is None:
            return False
        if ticks is None:
            return True
        return ticks >= best if side is Side.BUY else ticks <= best

    def _fillable(self, book: Book, side: Side, ticks: int | None, steps: int) -> bool:
        opp = side.opposite
        avail = 0
        for t in book.iter_ticks(opp):
            if ticks is not None and (t > ticks if side is Side.BUY else t < ticks):
                break
            avail += book.side_levels(opp)[t].total
            if avail >= steps:
                return True
        return False

    def check_order(self, api_key: str, params: OrderParams) -> None:
        """Validate ``params`` like ``place_order`` would, without placing anything."""
        acct = self.account(api_key)
        inst, ticks, steps = self._validate(acct, params)
        book = self.books[inst.symbol]
        post_only = params.tif is TimeInForce.GTX and params.post_only_action == "reject"
        if post_only and self._would_take(book, params.side, ticks):
            raise OrderRejected(RejectReason.POST_ONLY_WOULD_TAKE, "post only would take")
        fok = params.tif is TimeInForce.FOK and params.fok_action == "reject"
        if fok and not self._fillable(book, params.side, ticks, steps):
            raise OrderRejected(RejectReason.FOK_NOT_FILLABLE, "FOK cannot fill")

    # -- placing -------------------------------------------------------------------------------
    def place_order(self, api_key: str, params: OrderParams) -> Order:
        """Validate, record, match and (for GTC/GTD/GTX) rest an order."""
        acct = self.account(api_key)
        with self.batch():
            return self._place(acct, params)

    def _place(self, acct: Account, p: OrderParams, cond: Conditional | None = None) -> Order:
        inst, ticks, steps = self._validate(acct, p, triggered=cond is not None)
        book = self.books[inst.symbol]
        expire_now = ""
        if p.tif is TimeInForce.GTX and self._would_take(book, p.side, ticks):
            if p.post_only_action == "reject":
                raise OrderRejected(RejectReason.POST_ONLY_WOULD_TAKE, "post only would take")
            expire_now = "POST_ONLY"
        if p.tif is TimeInForce.FOK and not self._fillable(book, p.side, ticks, steps):
            if p.fok_action == "reject":
                raise OrderRejected(RejectReason.FOK_NOT_FILLABLE, "FOK cannot fill")
            expire_now = "FOK"
        now = self.now()
        oid = self._next_order_id
        self._next_order_id += 1
        order = Order(
            order_id=oid,
            account=acct.api_key,
            symbol=inst.symbol,
            side=p.side,
            kind=p.kind,
            tif=p.tif,
            qty=inst.qty_of(steps),
            price=p.price if p.price is not None and p.kind is OrderKind.LIMIT else ZERO,
            client_id=p.client_id or f"sim_{oid}",
            position_side=p.position_side,
            reduce_only=p.reduce_only,
            close_position=p.close_position,
            stp=p.stp,
            created_ms=now,
            updated_ms=now,
            orig_type=p.orig_type or p.kind.value,
            good_till_ms=p.good_till_ms,
            extra=dict(p.extra),
        )
        if cond is not None:
            order.cond_id = cond.cond_id
            order.stop_price = cond.trigger_price
            order.working_type = cond.trigger_by
            if cond.activate_price is not None:
                order.activate_price = cond.activate_price
            if cond.callback_rate is not None:
                order.callback_rate = cond.callback_rate
            cond.status = CondStatus.TRIGGERED
            cond.order_id = oid
            cond.updated_ms = now
            self._open_conds.pop(cond.cond_id, None)
            self._emit(ConditionalUpdate(acct.api_key, cond.snapshot(), now))
        acct.orders[oid] = order
        acct.open_orders[oid] = order
        self._emit(OrderUpdate(acct.api_key, order.snapshot(), ExecType.NEW, None, now))
        if expire_now:
            self._end_order(acct, order, OrderStatus.EXPIRED, ExecType.EXPIRED, expire_now)
            return order
        self._match(inst.symbol, p.side, ticks, steps, order)
        if order.is_open:
            if p.kind is OrderKind.MARKET or p.tif in (TimeInForce.IOC, TimeInForce.FOK):
                self._end_order(acct, order, OrderStatus.EXPIRED, ExecType.EXPIRED, "IOC")
            else:
                assert ticks is not None
                rest = inst.steps(order.remaining)
                assert rest is not None
                book.add(p.side, ticks, Entry(order, rest))
        return order

    def _end_order(
        self,
        acct: Account,
        order: Order,
        status: OrderStatus,
        exec_type: ExecType,
        reason: str = "",
    ) -> None:
        """Take an open order off the book and report its final state."""
        if order.is_open and order.kind is OrderKind.LIMIT:
            inst = self.instruments[order.symbol]
            ticks = inst.ticks(order.price)
            if ticks is not None:
                self.books[order.symbol].remove_order(order.side, ticks, order)
        order.status = status
        order.expire_reason = reason
        order.updated_ms = self.now()
        acct.open_orders.pop(order.order_id, None)
        self._emit(OrderUpdate(acct.api_key, order.snapshot(), exec_type, None, self.now()))
        self._finish_cond(acct, order)

    def _finish_cond(self, acct: Account, order: Order) -> None:
        if order.cond_id and not order.is_open:
            cond = acct.conds.get(order.cond_id)
            if cond is not None and cond.status is CondStatus.TRIGGERED:
                cond.status = CondStatus.FINISHED
                cond.updated_ms = self.now()
                self._emit(ConditionalUpdate(acct.api_key, cond.snapshot(), self.now()))

    # -- matching ------------------------------------------------------------------------------
    def _match(
        self,
        symbol: str,
        side: Side,
        limit_ticks: int | None,
        steps: int,
        taker: Order | None,
        liquidation: bool = False,
    ) -> int:
        """Walk the opposite side in price-time priority; returns the steps filled."""
        book = self.books[symbol]
        opp = side.opposite
        taker_acct = self.accounts[taker.account] if taker is not None else None
        if taker is not None and taker_acct is not None:
            cap = self._reduce_cap(taker_acct, taker)
            if cap is not None:
                steps = min(steps, cap)
        remaining = steps
        filled = 0
        stop = False
        for t in book.iter_ticks(opp):
            if remaining <= 0 or stop:
                break
            if limit_ticks is not None and (
                t > limit_ticks if side is Side.BUY else t < limit_ticks
            ):
                break
            lvl = book.side_levels(opp).get(t)
            if lvl is None:
                continue
            agg_first = -1
            agg_last = -1
            agg_qty = 0
            for entry in list(lvl.entries):
                if remaining <= 0:
                    break
                maker = entry.order
                take = min(remaining, entry.steps)
                if maker is not None:
                    maker_acct = self.accounts[maker.account]
                    if taker is not None and maker.account == taker.account:
                        mode = taker.stp
                        if mode in (StpMode.EXPIRE_MAKER, StpMode.EXPIRE_BOTH):
                            self._end_order(
                                maker_acct,
                                maker,
                                OrderStatus.EXPIRED_IN_MATCH,
                                ExecType.EXPIRED,
                                "STP",
                            )
                        if mode in (StpMode.EXPIRE_TAKER, StpMode.EXPIRE_BOTH):
                            stop = True
                            taker.extra["_stp_expired"] = True
                            break
                        if mode is StpMode.EXPIRE_MAKER:
                            continue
                    mcap = self._reduce_cap(maker_acct, maker)
                    if mcap is not None and mcap < take:
                        take = mcap
                        if take <= 0:
                            self._end_order(
                                maker_acct,
                                maker,
                                OrderStatus.EXPIRED,
                                ExecType.EXPIRED,
                                "REDUCE_ONLY",
                            )
                            continue
                tid = self._trade(book, lvl, entry, take, side, taker, liquidation)
                if agg_first < 0:
                    agg_first = tid
                agg_last = tid
                agg_qty += take
                remaining -= take
                filled += take
            if agg_first >= 0:
                mkt = self.markets[symbol]
                inst = self.instruments[symbol]
                agg = AggTrade(
                    symbol,
                    mkt.next_agg_id,
                    inst.price_of(t),
                    inst.qty_of(agg_qty),
                    agg_first,
                    agg_last,
                    side is Side.SELL,
                    self.now(),
                )
                mkt.next_agg_id += 1
                mkt.agg_trades.append(agg)
                self._emit(agg)
        if taker is not None and taker.extra.pop("_stp_expired", False) and taker.is_open:
            assert taker_acct is not None
            self._end_order(
                taker_acct, taker, OrderStatus.EXPIRED_IN_MATCH, ExecType.EXPIRED, "STP"
            )
        return filled

    def _trade(
        self,
        book: Book,
        lvl: Level,
        entry: Entry,
        steps: int,
        taker_side: Side,
        taker: Order | None,
        liquidation: bool,
    ) -> int:
        inst = book.instrument
        mkt = self.markets[book.symbol]
        price = inst.price_of(lvl.ticks)
        qty = inst.qty_of(steps)
        tid = mkt.next_trade_id
        mkt.next_trade_id += 1
        maker = entry.order
        book.reduce_entry(taker_side.opposite, lvl, entry, steps)
        now = self.now()
        trade = PublicTrade(
            book.symbol,
            tid,
            mkt.next_agg_id,
            price,
            qty,
            taker_side is Side.SELL,
            now,
            liquidation,
        )
        mkt.record_trade(trade)
        self._emit(trade)
        if maker is not None:
            self._apply_fill(maker, price, qty, True, tid)
        if taker is not None:
            self._apply_fill(taker, price, qty, False, tid)
        return tid

    def _apply_fill(
        self, order: Order, price: Decimal, qty: Decimal, maker: bool, tid: int
    ) -> None:
        acct = self.accounts[order.account]
        cfg = self.symbol_config(acct.api_key, order.symbol)
        now = self.now()
        fee = price * qty * (acct.maker_fee if maker else acct.taker_fee)
        pos = self.position(acct.api_key, order.symbol, order.position_side)
        realized = self._apply_to_position(pos, order.side, qty, price, cfg)
        pos.fees_paid += fee
        if not pos.amount:
            pos.fees_paid = ZERO
        pos.updated_ms = now
        bal = self._wallet(acct)
        bal.wallet += realized - fee
        bal.updated_ms = now
        order.executed_qty += qty
        order.cum_quote += price * qty
        order.commission += fee
        order.realized_pnl += realized
        if maker:
            order.maker_qty += qty
        order.updated_ms = now
        order.status = OrderStatus.FILLED if order.remaining <= 0 else OrderStatus.PARTIALLY_FILLED
        if not order.is_open:
            acct.open_orders.pop(order.order_id, None)
        fill = Fill(
            trade_id=tid,
            order_id=order.order_id,
            account=acct.api_key,
            symbol=order.symbol,
            side=order.side,
            position_side=order.position_side,
            price=price,
            qty=qty,
            quote_qty=price * qty,
            fee=fee,
            fee_asset=self.settle_asset,
            maker=maker,
            realized_pnl=realized,
            ts=now,
        )
        acct.fill_log.append(fill)
        self._touched.add(acct.api_key)
        self._emit(OrderUpdate(acct.api_key, order.snapshot(), ExecType.TRADE, fill, now))
        self._emit(
            AccountUpdate(
                acct.api_key,
                "ORDER",
                (bal.snapshot(),),
                (pos.snapshot(),),
                ((self.settle_asset, ZERO),),
                now,
            )
        )
        self._finish_cond(acct, order)

    @staticmethod
    def _apply_to_position(
        pos: Position, side: Side, qty: Decimal, price: Decimal, cfg: SymbolConfig
    ) -> Decimal:
        """Update amount / entry / isolated margin; returns the realised PnL of this fill."""
        signed = qty * side.sign
        amt = pos.amount
        realized = ZERO
        isolated = cfg.margin_type is MarginType.ISOLATED
        if amt == 0 or (amt > 0) == (signed > 0):
            new_amt = amt + signed
            pos.entry_price = (abs(amt) * pos.entry_price + qty * price) / abs(new_amt)
            if isolated:
                pos.isolated_wallet += qty * price / cfg.leverage
            pos.amount = new_amt
        else:
            close = min(qty, abs(amt))
            realized = close * (price - pos.entry_price) * (1 if amt > 0 else -1)
            if isolated and amt:
                pos.isolated_wallet -= pos.isolated_wallet * close / abs(amt)
            new_amt = amt + signed
            if new_amt == 0:
                pos.entry_price = ZERO
                pos.isolated_wallet = ZERO
            elif (new_amt > 0) != (amt > 0):
                pos.entry_price = price
                pos.isolated_wallet = abs(new_amt) * price / cfg.leverage if isolated else ZERO
            pos.amount = new_amt
        pos.realized_pnl += realized
        return realized

    def _expire_reduce_only(self) -> None:
        touched, self._touched = self._touched, set()
        for key in touched:
            acct = self.accounts[key]
            for order in list(acct.open_orders.values()):
                if (order.reduce_only or order.close_position) and self._reduce_cap(
                    acct, order
                ) == 0:
                    self._end_order(
                        acct, order, OrderStatus.EXPIRED, ExecType.EXPIRED, "REDUCE_ONLY"
                    )

    # -- cancel / amend ------------------------------------------------------------------------
    def cancel_order(
        self,
        api_key: str,
        symbol: str,
        order_id: int | None = None,
        client_id: str | None = None,
    ) -> Order:
        """Cancel one open order; ``ORDER_NOT_FOUND`` / ``ORDER_NOT_OPEN`` otherwise."""
        acct = self.account(api_key)
        self.instrument(symbol)
        order = self.get_order(api_key, symbol, order_id, client_id)
        if not order.is_open:
            raise OrderRejected(RejectReason.ORDER_NOT_OPEN, "order is not open")
        with self.batch():
            self._end_order(acct, order, OrderStatus.CANCELED, ExecType.CANCELED)
        return order

    def cancel_all(self, api_key: str, symbol: str | None = None) -> list[Order]:
        acct = self.account(api_key)
        if symbol is not None:
            self.instrument(symbol)
        done: list[Order] = []
        with self.batch():
            for order in list(acct.open_orders.values()):
                if symbol is None or order.symbol == symbol:
                    self._end_order(acct, order, OrderStatus.CANCELED, ExecType.CANCELED)
                    done.append(order)
        return done

    def amend_order(
        self,
        api_key: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_id: str | None = None,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        keep_priority: bool = False,
    ) -> Order:
        """Change price and/or quantity of an open LIMIT order (Binance semantics by default:
        the order loses queue priority; a new qty <= executed qty cancels it; a GTX order whose
        new price would cross is cancelled). Emits an ``AMENDMENT`` update."""
        acct = self.account(api_key)
        inst = self.instrument(symbol)
        order = self.get_order(api_key, symbol, order_id, client_id)
        if not order.is_open:
            raise OrderRejected(RejectReason.ORDER_NOT_OPEN, "order is not open")
        if order.kind is not OrderKind.LIMIT:
            raise OrderRejected(RejectReason.AMEND_NOT_ALLOWED, "only LIMIT orders")
        new_qty = order.qty if qty is None else qty
        new_price = order.price if price is None else price
        if new_qty == order.qty and new_price == order.price:
            raise OrderRejected(RejectReason.AMEND_NO_CHANGE, "no need to modify the order")
        if inst.steps(new_qty) is None or new_qty <= 0:
            raise OrderRejected(RejectReason.INVALID_QTY, "quantity not on step size")
        new_ticks = inst.ticks(new_price)
        if new_ticks is None or new_price <= 0:
            raise OrderRejected(RejectReason.INVALID_PRICE, "price not on tick size")
        if not inst.min_price <= new_price <= inst.max_price:
            raise OrderRejected(RejectReason.PRICE_OUT_OF_RANGE, "price outside filter")
        book = self.books[symbol]
        old_ticks = inst.ticks(order.price)
        assert old_ticks is not None
        with self.batch():
            if new_qty <= order.executed_qty:
                self._end_order(acct, order, OrderStatus.CANCELED, ExecType.CANCELED, "AMEND")
                return order
            if order.tif is TimeInForce.GTX and self._would_take(book, order.side, new_ticks):
                self._end_order(acct, order, OrderStatus.CANCELED, ExecType.CANCELED, "POST_ONLY")
                return order
            order.qty = new_qty
            order.price = new_price
            order.amend_count += 1
            order.updated_ms = self.now()
            rest = inst.steps(order.remaining)
            assert rest is not None
            if keep_priority and new_ticks == old_ticks:
                book.set_order_steps(order.side, old_ticks, order, rest)
                self._emit(
                    OrderUpdate(api_key, order.snapshot(), ExecType.AMENDMENT, None, self.now())
                )
                return order
            book.remove_order(order.side, old_ticks, order)
            self._emit(OrderUpdate(api_key, order.snapshot(), ExecType.AMENDMENT, None, self.now()))
            self._match(symbol, order.side, new_ticks, rest, order)
            if order.is_open:
                rest = inst.steps(order.remaining)
                assert rest is not None
                book.add(order.side, new_ticks, Entry(order, rest))
        return order

    # -- conditionals --------------------------------------------------------------------------
    def place_conditional(self, api_key: str, p: CondParams) -> Conditional:
        """Record a conditional order; it places a real order when its trigger is crossed."""
        acct = self.account(api_key)
        inst = self.instrument(p.symbol)
        if acct.dual_side:
            if p.position_side is PositionSide.BOTH:
                raise OrderRejected(RejectReason.POSITION_SIDE_MISMATCH, "hedge mode")
            if p.reduce_only:
                raise OrderRejected(RejectReason.REDUCE_ONLY_NOT_ALLOWED, "hedge mode")
        elif p.position_side is not PositionSide.BOTH:
            raise OrderRejected(RejectReason.POSITION_SIDE_MISMATCH, "one-way mode")
        if p.close_position and acct.dual_side and not self._closing(acct, p.side, p.position_side):
            raise OrderRejected(RejectReason.CLOSE_POSITION_INVALID, "closePosition side")
        if not p.close_position:
            if p.qty <= 0 or inst.steps(p.qty) is None:
                raise OrderRejected(RejectReason.INVALID_QTY, "quantity not on step size")
            if p.qty < inst.min_qty:
                raise OrderRejected(RejectReason.QTY_TOO_SMALL, "quantity below minimum")
        if p.trigger_price <= 0 or inst.ticks(p.trigger_price) is None:
            raise OrderRejected(RejectReason.INVALID_PRICE, "trigger price not on tick size")
        if p.kind is OrderKind.LIMIT:
            if p.price is None:
                raise OrderRejected(RejectReason.PRICE_REQUIRED, "price")
            if p.price <= 0 or inst.ticks(p.price) is None:
                raise OrderRejected(RejectReason.INVALID_PRICE, "price not on tick size")
        if p.callback_rate is None and self._crossed(
            p.symbol, p.trigger_by, p.direction, p.trigger_price
        ):
            raise OrderRejected(RejectReason.TRIGGER_IMMEDIATELY, "order would immediately trigger")
        if p.client_id and any(
            c.client_id == p.client_id and c.is_open for c in acct.conds.values()
        ):
            raise OrderRejected(RejectReason.DUPLICATE_CLIENT_ID, "client algo id is duplicated")
        if sum(1 for c in acct.conds.values() if c.is_open) >= _MAX_CONDITIONALS:
            raise OrderRejected(RejectReason.TOO_MANY_CONDITIONALS, "conditional limit reached")
        now = self.now()
        cid = self._next_cond_id
        self._next_cond_id += 1
        cond = Conditional(
            cond_id=cid,
            account=api_key,
            symbol=p.symbol,
            side=p.side,
            kind=p.kind,
            qty=ZERO if p.close_position else p.qty,
            price=p.price if p.price is not None and p.kind is OrderKind.LIMIT else ZERO,
            trigger_price=p.trigger_price,
            direction=p.direction,
            trigger_by=p.trigger_by,
            tif=p.tif,
            position_side=p.position_side,
            reduce_only=p.reduce_only,
            close_position=p.close_position,
            client_id=p.client_id or f"simalgo_{cid}",
            stp=p.stp,
            created_ms=now,
            updated_ms=now,
            orig_type=p.orig_type or ("STOP" if p.kind is OrderKind.LIMIT else "STOP_MARKET"),
            good_till_ms=p.good_till_ms,
            callback_rate=p.callback_rate,
            activate_price=p.activate_price,
            extra=dict(p.extra),
        )
        with self.batch():
            acct.conds[cid] = cond
            self._open_conds[cid] = cond
            self._emit(ConditionalUpdate(api_key, cond.snapshot(), now))
        return cond

    def _ref_price(self, symbol: str, by: TriggerBy) -> Decimal:
        mkt = self.markets[symbol]
        if by is TriggerBy.MARK:
            return mkt.mark_price
        if by is TriggerBy.INDEX:
            return mkt.index_price
        return mkt.last_price

    def _crossed(
        self, symbol: str, by: TriggerBy, direction: TriggerDirection, trigger: Decimal
    ) -> bool:
        price = self._ref_price(symbol, by)
        return price >= trigger if direction is TriggerDirection.RISE else price <= trigger

    def _trailing_fires(self, cond: Conditional) -> bool:
        price = self._ref_price(cond.symbol, cond.trigger_by)
        assert cond.callback_rate is not None
        if not cond.activated:
            act = cond.activate_price
            if act is not None and not (price >= act if cond.side is Side.SELL else price <= act):
                return False
            cond.activated = True
            cond.extreme = price
            return False
        assert cond.extreme is not None
        rate = cond.callback_rate / _HUNDRED
        if cond.side is Side.SELL:
            cond.extreme = max(cond.extreme, price)
            return price <= cond.extreme * (1 - rate)
        cond.extreme = min(cond.extreme, price)
        return price >= cond.extreme * (1 + rate)

    def _check_triggers(self) -> bool:
        fired = False
        for cond in sorted(self._open_conds.values(), key=lambda c: c.cond_id):
            if cond.status is not CondStatus.NEW:
                continue
            if cond.callback_rate is not None:
                hit = self._trailing_fires(cond)
            else:
                hit = self._crossed(
                    cond.symbol, cond.trigger_by, cond.direction, cond.trigger_price
                )
            if not hit:
                continue
            fired = True
            acct = self.accounts[cond.account]
            now = self.now()
            cond.status = CondStatus.TRIGGERING
            cond.trigger_ms = now
            cond.updated_ms = now
            self._emit(ConditionalUpdate(acct.api_key, cond.snapshot(), now))
            params = OrderParams(
                symbol=cond.symbol,
                side=cond.side,
                kind=cond.kind,
                qty=cond.qty,
                price=cond.price if cond.kind is OrderKind.LIMIT else None,
                tif=cond.tif if cond.kind is OrderKind.LIMIT else TimeInForce.GTC,
                position_side=cond.position_side,
                reduce_only=cond.reduce_only,
                close_position=cond.close_position,
                client_id=cond.client_id,
                stp=cond.stp,
                post_only_action="expire",
                fok_action="expire",
                orig_type=cond.orig_type,
                check_margin=False,
                extra=dict(cond.extra),
            )
            try:
                self._place(acct, params, cond)
            except OrderRejected as exc:
                cond.status = CondStatus.REJECTED
                cond.reject_reason = exc.message or exc.reason.value
                cond.updated_ms = self.now()
                self._open_conds.pop(cond.cond_id, None)
                self._emit(ConditionalUpdate(acct.api_key, cond.snapshot(), self.now()))
        return fired

    def get_conditional(
        self, api_key: str, cond_id: int | None = None, client_id: str | None = None
    ) -> Conditional:
        acct = self.account(api_key)
        cond: Conditional | None = None
        if cond_id is not None:
            cond = acct.conds.get(cond_id)
        elif client_id:
            for c in reversed(list(acct.conds.values())):
                if c.client_id == client_id:
                    cond = c
                    break
        if cond is None:
            raise OrderRejected(RejectReason.ORDER_NOT_FOUND, "algo order does not exist")
        return cond

    def cancel_conditional(
        self, api_key: str, cond_id: int | None = None, client_id: str | None = None
    ) -> Conditional:
        cond = self.get_conditional(api_key, cond_id, client_id)
        if not cond.is_open:
            raise OrderRejected(RejectReason.ORDER_NOT_OPEN, "algo order is not open")
        with self.batch():
            self._end_cond(cond, CondStatus.CANCELED)
        return cond

    def _end_cond(self, cond: Conditional, status: CondStatus) -> None:
        cond.status = status
        cond.updated_ms = self.now()
        self._open_conds.pop(cond.cond_id, None)
        self._emit(ConditionalUpdate(cond.account, cond.snapshot(), self.now()))

    def cancel_all_conditionals(self, api_key: str, symbol: str | None = None) -> list[Conditional]:
        acct = self.account(api_key)
        done: list[Conditional] = []
        with self.batch():
            for cond in list(acct.conds.values()):
                if cond.is_open and (symbol is None or cond.symbol == symbol):
                    self._end_cond(cond, CondStatus.CANCELED)
                    done.append(cond)
        return done

    def open_conditionals(self, api_key: str, symbol: str | None = None) -> list[Conditional]:
        acct = self.account(api_key)
        return [
            c for c in acct.conds.values() if c.is_open and (symbol is None or c.symbol == symbol)
        ]

    def all_conditionals(self, api_key: str, symbol: str | None = None) -> list[Conditional]:
        acct = self.account(api_key)
        return [c for c in acct.conds.values() if symbol is None or c.symbol == symbol]

    # -- market side ---------------------------------------------------------------------------
    def mm_set_level(self, symbol: str, side: Side, ticks: int, steps: int) -> None:
        """Set the market-maker size at ``ticks`` on ``side``; a crossing quote trades first."""
        with self.batch():
            book = self.books[symbol]
            if steps > 0 and self._would_take(book, side, ticks):
                steps -= self._match(symbol, side, ticks, steps, None)
                if steps <= 0 or self._would_take(book, side, ticks):
                    return
            book.mm_set(side, ticks, steps)

    def taker(
        self,
        symbol: str,
        side: Side,
        steps: int,
        limit_ticks: int | None = None,
        liquidation: bool = False,
    ) -> int:
        """An anonymous taker order (someone else's market/IOC order); returns steps filled."""
        with self.batch():
            return self._match(symbol, side, limit_ticks, steps, None, liquidation)

    def print_liquidation(self, symbol: str, side: Side, steps: int) -> None:
        """Someone else's liquidation: an IOC taker order flagged as forced, then a print."""
        inst = self.instrument(symbol)
        with self.batch():
            mkt = self.markets[symbol]
            first = mkt.next_trade_id
            filled = self._match(symbol, side, None, steps, None, True)
            if filled <= 0:
                return
            prints = [t for t in mkt.trades if t.trade_id >= first]
            quote = sum((t.price * t.qty for t in prints), ZERO)
            qty = inst.qty_of(filled)
            avg = quote / qty
            worst = prints[-1].price if prints else avg
            self._emit(LiquidationPrint(symbol, side, worst, avg, qty, self.now()))

    def set_prices(
        self,
        symbol: str,
        mark: Decimal | None = None,
        index: Decimal | None = None,
        funding_rate: Decimal | None = None,
        next_funding_ms: int | None = None,
    ) -> None:
        """Update mark / index / funding and emit a ``MarkUpdate`` (conditionals re-checked)."""
        self.instrument(symbol)
        with self.batch():
            mkt = self.markets[symbol]
            if mark is not None:
                mkt.mark_price = mark
            if index is not None:
                mkt.index_price = index
            if funding_rate is not None:
                mkt.funding_rate = funding_rate
            if next_funding_ms is not None:
                mkt.next_funding_ms = next_funding_ms
            now = self.now()
            mkt.record_mark(now)
            self._emit(
                MarkUpdate(
                    symbol,
                    mkt.mark_price,
                    mkt.index_price,
                    mkt.funding_rate,
                    mkt.next_funding_ms,
                    now,
                )
            )

    def settle_funding(self, symbol: str) -> None:
        """Pay/charge funding on every open position of ``symbol`` at the current rate."""
        from ._tape import FundingRecord

        self.instrument(symbol)
        with self.batch():
            mkt = self.markets[symbol]
            now = self.now()
            for acct in self.accounts.values():
                for (sym, _ps), pos in acct.positions.items():
                    if sym != symbol or not pos.amount:
                        continue
                    fee = pos.amount * mkt.mark_price * mkt.funding_rate  # longs pay when > 0
                    bal = self._wallet(acct)
                    bal.wallet -= fee
                    bal.updated_ms = now
                    self._emit(
                        AccountUpdate(
                            acct.api_key,
                            "FUNDING_FEE",
                            (bal.snapshot(),),
                            (),
                            ((self.settle_asset, -fee),),
                            now,
                        )
                    )
            mkt.funding_history.append(FundingRecord(symbol, mkt.funding_rate, now, mkt.mark_price))
            self._emit(FundingSettled(symbol, mkt.funding_rate, mkt.mark_price, now))

    def expire_due(self) -> None:
        """Expire GTD orders and conditionals whose good-till time has passed."""
        now = self.now()
        with self.batch():
            for acct in self.accounts.values():
                for order in list(acct.open_orders.values()):
                    if (
                        order.tif is TimeInForce.GTD
                        and order.good_till_ms
                        and order.good_till_ms <= now
                    ):
                        self._end_order(acct, order, OrderStatus.EXPIRED, ExecType.EXPIRED, "GTD")
            for cond in list(self._open_conds.values()):
                if cond.good_till_ms and cond.good_till_ms <= now:
                    self._end_cond(cond, CondStatus.EXPIRED)

    def open_interest(self, symbol: str) -> Decimal:
        """Synthetic open interest plus the simulated accounts' long exposure."""
        mkt = self.markets[symbol]
        longs = sum(
            (
                p.amount
                for a in self.accounts.values()
                for (s, _), p in a.positions.items()
                if s == symbol and p.amount > 0
            ),
            ZERO,
        )
        return mkt.open_interest + longs
