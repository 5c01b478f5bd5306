"""Public REST flows (``/v5/market/*``, always ``category=linear``). Symbols in are native."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

from bat_markets.core import (
    OHLCV,
    BookSnapshotEvent,
    ConfigError,
    DecodeError,
    FundingRate,
    InstrumentSpec,
    MarkPrice,
    OpenInterest,
    RestFlow,
    RestRequest,
    RestResponse,
    Ticker,
    Trade,
    Unsupported,
)

from ._convert import (
    Unify,
    funding_rate_from,
    mark_price_from,
    open_interest_from,
    side_of,
    ticker_from,
)
from ._instruments import specs_from_rows
from ._intervals import close_time, interval_ms, to_native
from ._native import (
    BookResult,
    FundingRow,
    InstrumentRow,
    KlineResult,
    OpenInterestRow,
    Page,
    RecentTradeRow,
    TickerRow,
    TimeResult,
    lax,
)
from ._rest import CATEGORY, MAX_PAGES, cursor_pages, decode_result, get
from ._util import VENUE, dec

__all__ = [
    "MARKET_STATUSES",
    "INSTRUMENTS_PAGE",
    "server_time",
    "load_markets",
    "fetch_ticker",
    "fetch_tickers",
    "fetch_order_book",
    "fetch_ohlcv",
    "fetch_trades",
    "fetch_mark_price",
    "fetch_funding_rate",
    "fetch_funding_rate_history",
    "fetch_open_interest",
    "fetch_open_interest_history",
    "check_limit",
    "backward_pages",
]

R = TypeVar("R")
Flow = Generator[RestRequest, RestResponse, R]

# instruments-info returns only Trading symbols unless asked; these three series cover every
# instrument a position or order can still reference (Closed ones are not loaded).
MARKET_STATUSES = ("", "PreLaunch", "Delivering")
INSTRUMENTS_PAGE = 1000  # instruments-info rows per page: the venue maximum
_TIME = lax(TimeResult)
_INSTRUMENTS = lax(Page[InstrumentRow])
_TICKERS = lax(Page[TickerRow])
_BOOK = lax(BookResult)
_KLINES = lax(KlineResult)
_TRADES = lax(Page[RecentTradeRow])
_FUNDING = lax(Page[FundingRow])
_OPEN_INTEREST = lax(Page[OpenInterestRow])
_KLINE_PAGE = 1000
_FUNDING_PAGE = 200
_HOUR = 3_600_000


def check_limit(limit: int | None, name: str = "limit") -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"{name} must be a positive integer, got {limit!r}", venue=VENUE)


def server_time() -> RestFlow[int]:
    env = yield from get("/v5/market/time", [], tag="server_time")
    result = decode_result(_TIME, env.result, "time")
    try:
        if result.timeNano:
            return int(result.timeNano) // 1_000_000
        if result.timeSecond:
            return int(result.timeSecond) * 1000
    except ValueError as exc:
        raise DecodeError(f"bad server time {result!r}", venue=VENUE) from exc
    if env.time is not None:
        return env.time
    raise DecodeError("server time reply has no time", venue=VENUE)


def load_markets(
    statuses: Sequence[str] = MARKET_STATUSES, page_size: int = INSTRUMENTS_PAGE
) -> RestFlow[list[InstrumentSpec]]:
    """Every USDT linear instrument, following ``nextPageCursor`` for each status series
    (``page_size`` rows per request, 1..1000)."""
    rows: list[InstrumentRow] = []
    for status in statuses:
        params = [CATEGORY]
        if status:
            params.append(("status", status))
        page, _ = yield from cursor_pages(
            "/v5/market/instruments-info",
            params,
            _INSTRUMENTS,
            page_size=page_size,
            tag="load_markets",
        )
        rows.extend(page)
    return specs_from_rows(rows)


def _ticker_rows(symbol: str | None) -> Flow[tuple[list[TickerRow], int]]:
    params = [CATEGORY]
    if symbol is not None:
        params.append(("symbol", symbol))
    env = yield from get("/v5/market/tickers", params, tag="tickers")
    return decode_result(_TICKERS, env.result, "tickers").items, env.time or 0


def _one_ticker(symbol: str) -> Flow[tuple[TickerRow, int]]:
    rows, ts = yield from _ticker_rows(symbol)
    for row in rows:
        if row.symbol.upper() == symbol.upper():
            return row, ts
    raise DecodeError(f"tickers reply has no row for {symbol}", venue=VENUE)


def fetch_ticker(symbol: str, unify: Unify) -> RestFlow[Ticker]:
    row, ts = yield from _one_ticker(symbol)
    return ticker_from(row, unify(row.symbol), ts)


def fetch_tickers(
    symbols: Sequence[str] | None, unify: Unify, accept: Callable[[str], bool]
) -> RestFlow[list[Ticker]]:
    """One request for all linear tickers (or one symbol); USDT contracts only, request order."""
    if symbols is not None and len(symbols) == 1:
        return [(yield from fetch_ticker(symbols[0], unify))]
    rows, ts = yield from _ticker_rows(None)
    if symbols is None:
        return [ticker_from(row, unify(row.symbol), ts) for row in rows if accept(row.symbol)]
    by_id = {row.symbol.upper(): row for row in rows}
    out: list[Ticker] = []
    for symbol in symbols:
        row = by_id.get(symbol.upper())
        if row is not None:
            out.append(ticker_from(row, unify(row.symbol), ts))
    return out


def fetch_mark_price(symbol: str, unify: Unify) -> RestFlow[MarkPrice]:
    row, ts = yield from _one_ticker(symbol)
    event = mark_price_from(row, unify(row.symbol), ts)
    if event is None:
        raise DecodeError(f"{symbol}: ticker has no markPrice", venue=VENUE)
    return event


def fetch_funding_rate(symbol: str, unify: Unify) -> RestFlow[FundingRate]:
    row, ts = yield from _one_ticker(symbol)
    event = funding_rate_from(row, unify(row.symbol), ts)
    if event is None:
        raise Unsupported(f"{symbol} has no funding rate (dated future)", venue=VENUE)
    return event


def fetch_open_interest(symbol: str, unify: Unify) -> RestFlow[OpenInterest]:
    """Current open interest (contracts and USDT value) from the ticker."""
    row, ts = yield from _one_ticker(symbol)
    event = open_interest_from(row, unify(row.symbol), ts)
    if event is None:
        raise DecodeError(f"{symbol}: ticker has no openInterest", venue=VENUE)
    return event


_OI_INTERVALS = ("5min", "15min", "30min", "1h", "4h", "1d")


def fetch_open_interest_history(
    symbol: str, interval: str, limit: int | None, unify: Unify
) -> RestFlow[list[OpenInterest]]:
    """Open-interest history (``/v5/market/open-interest``), oldest first (Bybit extra)."""
    if interval not in _OI_INTERVALS:
        raise ConfigError(
            f"open-interest interval must be one of {', '.join(_OI_INTERVALS)}", venue=VENUE
        )
    check_limit(limit)
    want = limit or 50
    rows, _ = yield from cursor_pages(
        "/v5/market/open-interest",
        [CATEGORY, ("symbol", symbol), ("intervalTime", interval)],
        _OPEN_INTEREST,
        page_size=min(want, 200),
        want=want,
        tag="fetch_open_interest_history",
    )
    unified = unify(symbol)
    history = sorted(
        (
            OpenInterest(
                symbol=unified,
                timestamp=row.timestamp,
                amount=dec(row.openInterest, "openInterest"),
            )
            for row in rows
        ),
        key=lambda oi: oi.timestamp,
    )
    return history[-want:]


def fetch_order_book(symbol: str, limit: int | None, unify: Unify) -> RestFlow[BookSnapshotEvent]:
    """REST snapshot, ``limit`` 1..1000 levels per side (``None``: the venue default, 25)."""
    check_limit(limit)
    if limit is not None and limit > 1000:
        raise Unsupported(
            f"Bybit's REST order book serves at most 1000 levels, not {limit}", venue=VENUE
        )
    params = [CATEGORY, ("symbol", symbol)]
    if limit is not None:
        params.append(("limit", str(limit)))
    env = yield from get("/v5/market/orderbook", params, tag="fetch_order_book")
    book = decode_result(_BOOK, env.result, "orderbook")
    return BookSnapshotEvent(
        symbol=unify(book.s or symbol),
        bids=book.b,
        asks=book.a,
        update_id=book.u,
        sequence=book.seq,
        timestamp=book.ts if book.ts is not None else env.time,
        source="rest",
    )


def backward_pages(
    fetch: Callable[[int | None, int | None, int], Flow[tuple[list[R], int | None]]],
    key: Callable[[R], int],
    *,
    start: int | None,
    end: int | None,
    want: int | None,
    page: int,
) -> Flow[tuple[list[R], int | None]]:
    """Collect newest-first pages backward from ``end`` until ``start``, ``want`` rows, or a
    short page. Returns rows (venue order, may overlap) and the last venue time."""
    out: list[R] = []
    server: int | None = None
    cur_end = end
    for _ in range(MAX_PAGES):
        n = page if want is None else min(page, want - len(out))
        if n <= 0:
            break
        rows, server = yield from fetch(start, cur_end, n)
        out.extend(rows)
        if len(rows) < n:
            break
        oldest = min(key(r) for r in rows)
        if start is not None and oldest <= start:
            break
        cur_end = oldest - 1
    return out, server


def _dedupe_sorted(rows: list[R], key: Callable[[R], int]) -> list[R]:
    seen: dict[int, R] = {}
    for row in rows:
        seen.setdefault(key(row), row)
    return [seen[k] for k in sorted(seen)]


def fetch_ohlcv(
    symbol: str,
    interval: str,
    since: int | None,
    until: int | None,
    limit: int | None,
    unify: Unify,
    listed_at: int | None = None,
) -> RestFlow[list[OHLCV]]:
    """Candles oldest first, paging as needed.

    ``since`` given: candles from ``since`` (up to ``until`` if given), the first ``limit``
    (all of the window when ``limit`` is None and ``until`` is given, else 200). Without
    ``since``: the last ``limit`` (default 200) candles up to ``until`` (or now).
    """
    mapped = to_native(interval)
    if mapped is None:
        raise Unsupported(
            f"Bybit has no {interval!r} candles (use 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M)",
            venue=VENUE,
        )
    native, canonical = mapped
    check_limit(limit)
    if since is not None and until is not None and until < since:
        raise ConfigError(f"until ({until}) is before since ({since})", venue=VENUE)
    unified = unify(symbol)
    step = interval_ms(native)

    def page(start: int | None, end: int | None, n: int) -> Flow[tuple[list[OHLCV], int | None]]:
        params = [CATEGORY, ("symbol", symbol), ("interval", native)]
        if start is not None:
            params.append(("start", str(start)))
        if end is not None:
            params.append(("end", str(end)))
        params.append(("limit", str(n)))
        env = yield from get("/v5/market/kline", params, tag="fetch_ohlcv")
        result = decode_result(_KLINES, env.result, "kline")
        now = env.time
        out: list[OHLCV] = []
        for row in result.rows:
            if len(row) < 6:
                raise DecodeError(f"kline row too short: {row!r}", venue=VENUE)
            try:
                open_time = int(row[0])
            except ValueError as exc:
                raise DecodeError(f"bad kline start {row[0]!r}", venue=VENUE) from exc
            closes = close_time(native, open_time)
            out.append(
                OHLCV(
                    symbol=unified,
                    interval=canonical,
                    open_time=open_time,
                    close_time=closes,
                    open=dec(row[1], "open"),
                    high=dec(row[2], "high"),
                    low=dec(row[3], "low"),
                    close=dec(row[4], "close"),
                    volume=dec(row[5], "volume"),
                    quote_volume=dec(row[6], "turnover") if len(row) > 6 else None,
                    closed=now is None or closes < now,
                )
            )
        return out, now

    def key(c: OHLCV) -> int:
        return c.open_time

    if since is None:
        want = limit or 200
        rows, _ = yield from backward_pages(
            page, key, start=None, end=until, want=want, page=_KLINE_PAGE
        )
        return _dedupe_sorted(rows, key)[-want:]

    want_or_none = limit if limit is not None else (None if until is not None else 200)
    cursor = since if listed_at is None else max(since, listed_at - (step or 0))
    collected: list[OHLCV] = []
    for _ in range(MAX_PAGES):
        n = _KLINE_PAGE if want_or_none is None else min(_KLINE_PAGE, want_or_none - len(collected))
        if n <= 0:
            break
        # Exact windows of n candles: one newest-first page returns the whole window.
        end = cursor + n * step - 1 if step is not None else until
        if until is not None and end is not None:
            end = min(end, until)
        rows, now = yield from backward_pages(
            page, key, start=cursor, end=end, want=None, page=_KLINE_PAGE
        )
        collected.extend(
            r
            for r in _dedupe_sorted(rows, key)
            if r.open_time >= cursor and (until is None or r.open_time <= until)
        )
        if end is None or step is None:
            break
        if until is not None and end >= until:
            break
        if now is not None and end >= now:
            break
        if now is None and not rows:
            break
        cursor = end + 1
    result = _dedupe_sorted(collected, key)
    return result if want_or_none is None else result[:want_or_none]


def fetch_trades(
    symbol: str, since: int | None, limit: int | None, unify: Unify
) -> RestFlow[list[Trade]]:
    """The most recent public trades (Bybit keeps no historical trade REST), oldest first."""
    check_limit(limit)
    if limit is not None and limit > 1000:
        raise Unsupported("Bybit serves at most the 1000 most recent trades", venue=VENUE)
    n = 1000 if since is not None else (limit or 500)
    env = yield from get(
        "/v5/market/recent-trade",
        [CATEGORY, ("symbol", symbol), ("limit", str(n))],
        tag="fetch_trades",
    )
    rows = decode_result(_TRADES, env.result, "recent-trade").items
    unified = unify(symbol)
    # The venue lists newest first; several trades share a millisecond, so order by time then
    # cross sequence (without ``seq``, the reversed venue order keeps ties oldest first).
    ordered = sorted(reversed(rows), key=lambda r: (r.time, r.seq if r.seq is not None else 0))
    trades = [
        Trade(
            symbol=unified,
            id=row.execId,
            timestamp=row.time,
            price=row.price,
            amount=row.size,
            side=side_of(row.side),
        )
        for row in ordered
    ]
    if since is not None:
        if len(rows) >= n and trades and trades[0].timestamp > since:
            raise Unsupported(
                f"trades since {since} reach beyond the 1000 most recent Bybit keeps; "
                "use watch_trades for a continuous feed",
                venue=VENUE,
            )
        trades = [t for t in trades if t.timestamp >= since]
        return trades[:limit] if limit is not None else trades
    return trades[-limit:] if limit is not None else trades


def fetch_funding_rate_history(
    symbol: str,
    since: int | None,
    limit: int | None,
    unify: Unify,
    interval_hours: int | None = None,
    listed_at: int | None = None,
) -> RestFlow[list[FundingRate]]:
    """Settled funding rates, oldest first (``since``: the first ``limit`` from then on)."""
    check_limit(limit)
    unified = unify(symbol)

    def page(
        start: int | None, end: int | None, n: int
    ) -> Flow[tuple[list[FundingRate], int | None]]:
        params = [CATEGORY, ("symbol", symbol)]
        if start is not None:
            params.append(("startTime", str(start)))
        if end is not None:
            params.append(("endTime", str(end)))
        params.append(("limit", str(n)))
        env = yield from get("/v5/market/funding/history", params, tag="fetch_funding_history")
        rows = decode_result(_FUNDING, env.result, "funding/history").items
        return [
            FundingRate(
                symbol=unified,
                timestamp=row.fundingRateTimestamp,
                funding_rate=dec(row.fundingRate, "fundingRate"),
                funding_time=row.fundingRateTimestamp,
                interval_hours=interval_hours,
            )
            for row in rows
        ], env.time

    def key(f: FundingRate) -> int:
        return f.timestamp

    if since is None:
        want = limit or _FUNDING_PAGE
        rows, _ = yield from backward_pages(
            page, key, start=None, end=None, want=want, page=_FUNDING_PAGE
        )
        return _dedupe_sorted(rows, key)[-want:]

    # startTime needs an endTime: walk forward in windows that hold at most one page, and page
    # backward inside a window if the interval turned out shorter than assumed.
    span = _FUNDING_PAGE * (interval_hours or 1) * _HOUR
    cursor = since if listed_at is None else max(since, listed_at)
    collected: list[FundingRate] = []
    for _ in range(MAX_PAGES):
        if limit is not None and len(collected) >= limit:
            break
        end = cursor + span - 1
        rows, now = yield from backward_pages(
            page, key, start=cursor, end=end, want=None, page=_FUNDING_PAGE
        )
        collected.extend(r for r in rows if r.timestamp >= cursor)
        if now is None and not rows:
            break
        if now is not None and end >= now:
            break
        cursor = end + 1
    result = _dedupe_sorted(collected, key)
    return result[:limit] if limit is not None else result
