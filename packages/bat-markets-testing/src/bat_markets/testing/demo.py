"""The README demo: live clients for Binance and Bybit against the built-in simulator.

``python -m bat_markets.testing.demo [--seconds N] [--plain]`` (``nox -s demo``) starts the loopback
simulator of both venues in-process, opens a live ``BatMarkets`` client on each (the only
difference from real use is the ``endpoints=`` override), shows the markets, a round of public
REST reads, a live order book and trade stream for a few seconds, then status and diagnostics,
and exits 0. Output is a ``rich`` live view on a terminal and plain lines otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bat_markets.client import BatMarkets, ClientOptions, OrderBookWatch
from bat_markets.core import BatMarketsError, CommandOutcome, OrderBookSnapshot, Trade
from bat_markets.testing.sim import Simulator

__all__ = ["main", "run"]

VENUES = ("binance", "bybit")
SYMBOL = "BTC/USDT:USDT"


def _fmt(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


@dataclass
class _Live:
    """What the live section shows per venue."""

    book: OrderBookSnapshot | None = None
    updates: int = 0
    resyncs: int = 0
    trades: list[Trade] = field(default_factory=list)
    trade_count: int = 0


class _Out:
    """``rich`` on a terminal (when the cli extra is installed), plain ``print`` otherwise."""

    def __init__(self, plain: bool) -> None:
        self.console: Any = None
        if not plain and sys.stdout.isatty():
            try:
                from rich.console import Console

                self.console = Console(highlight=False)
            except ImportError:  # the cli extra is not installed
                self.console = None
        self.live_view = self.console is not None and self.console.is_terminal

    def heading(self, text: str) -> None:
        if self.console is not None:
            self.console.rule(f"[bold]{text}")
        else:
            print(f"\n== {text} ==")

    def line(self, text: str = "") -> None:
        if self.console is not None:
            self.console.print(text, markup=False)
        else:
            print(text)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if self.console is not None:
            from rich.table import Table

            table = Table(title=title, title_justify="left")
            for col in columns:
                table.add_column(col)
            for row in rows:
                table.add_row(*row)
            self.console.print(table)
            return
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
        if title:
            print(title)
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip())
        for row in rows:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())


async def _show_markets(out: _Out, clients: dict[str, BatMarkets]) -> None:
    out.heading("markets (loaded from each venue at start)")
    rows = []
    for venue, bm in clients.items():
        for spec in bm.markets():
            rows.append(
                [
                    venue,
                    spec.symbol,
                    spec.id,
                    str(spec.tick_size),
                    str(spec.step_size),
                    str(spec.min_qty),
                    str(spec.min_notional),
                ]
            )
    out.table("", ["venue", "symbol", "id", "tick", "step", "min qty", "min notional"], rows)


async def _show_fetches(out: _Out, clients: dict[str, BatMarkets]) -> None:
    out.heading(f"public REST reads of {SYMBOL}")
    columns: dict[str, list[str]] = {}
    for venue, bm in clients.items():
        ticker = await bm.fetch_ticker(SYMBOL)
        book = await bm.fetch_order_book("BTCUSDT", limit=5)
        mark = await bm.fetch_mark_price(SYMBOL)
        funding = await bm.fetch_funding_rate(SYMBOL)
        oi = await bm.fetch_open_interest(SYMBOL)
        candles = await bm.fetch_ohlcv(SYMBOL, "1m", limit=3)
        trades = await bm.fetch_trades(SYMBOL, limit=5)
        columns[venue] = [
            _fmt(ticker.last),
            f"{_fmt(book.bids[0].price, 1)} / {_fmt(book.asks[0].price, 1)}",
            _fmt(mark.mark_price),
            f"{funding.funding_rate * 100:.4f}%",
            _fmt(oi.amount, 0),
            " ".join(_fmt(c.close, 1) for c in candles),
            f"{len(trades)}, last {_fmt(trades[-1].price, 1)}" if trades else "0",
        ]
    labels = [
        "fetch_ticker: last",
        "fetch_order_book: bid / ask",
        "fetch_mark_price",
        "fetch_funding_rate",
        "fetch_open_interest",
        "fetch_ohlcv 1m: closes",
        "fetch_trades",
    ]
    rows = [[label, *(columns[v][i] for v in clients)] for i, label in enumerate(labels)]
    out.table("", ["", *clients], rows)


async def _pump_book(watch: OrderBookWatch, state: _Live) -> None:
    async for book in watch:
        state.book = book
        state.updates += 1
        if book.resynced:
            state.resyncs += 1


async def _pump_trades(bm: BatMarkets, state: _Live) -> None:
    async with bm.watch_trades(SYMBOL) as trades:
        async for trade in trades:
            state.trade_count += 1
            state.trades = [*state.trades[-4:], trade]


def _render_plain(states: dict[str, _Live], elapsed: float) -> list[str]:
    lines = []
    for venue, st in states.items():
        book = st.book
        if book is None or not book.bids or not book.asks:
            lines.append(f"[{elapsed:4.1f}s] {venue:8} book syncing...")
            continue
        bid, ask = book.bids[0], book.asks[0]
        last = st.trades[-1] if st.trades else None
        trade = (
            f"last trade {last.side.value} {last.amount} @ {_fmt(last.price, 1)}" if last else ""
        )
        lines.append(
            f"[{elapsed:4.1f}s] {venue:8} bid {_fmt(bid.price, 1)} x {bid.amount}  "
            f"ask {_fmt(ask.price, 1)} x {ask.amount}  spread {ask.price - bid.price}  "
            f"updates {st.updates}  trades {st.trade_count}  {trade}"
        )
    return lines


def _render_rich(states: dict[str, _Live], elapsed: float) -> Any:
    from rich.columns import Columns
    from rich.panel import Panel
    from rich.table import Table

    panels = []
    for venue, st in states.items():
        table = Table(show_header=True, expand=True)
        table.add_column("bid size", justify="right")
        table.add_column("bid", justify="right", style="green")
        table.add_column("ask", justify="right", style="red")
        table.add_column("ask size", justify="right")
        book = st.book
        if book is not None:
            for bid, ask in zip(book.bids[:8], book.asks[:8], strict=False):
                table.add_row(
                    str(bid.amount), _fmt(bid.price, 1), _fmt(ask.price, 1), str(ask.amount)
                )
        trades = "\n".join(
            f"{t.side.value:4} {t.amount} @ {_fmt(t.price, 1)}" for t in reversed(st.trades)
        )
        body = Table.grid()
        body.add_row(table)
        body.add_row(f"updates {st.updates}  resyncs {st.resyncs}  trades {st.trade_count}")
        body.add_row(trades or "waiting for trades...")
        panels.append(Panel(body, title=f"{venue} {SYMBOL}  ({elapsed:.1f}s)"))
    return Columns(panels, expand=True)


async def _live_section(out: _Out, clients: dict[str, BatMarkets], seconds: float) -> None:
    out.heading(f"live order book (depth 20) and trades for {seconds:g}s")
    states = {venue: _Live() for venue in clients}
    books = {venue: bm.watch_order_book(SYMBOL, depth=20) for venue, bm in clients.items()}
    start = time.monotonic()
    tasks = [asyncio.ensure_future(_pump_book(books[v], states[v])) for v in clients]
    tasks += [asyncio.ensure_future(_pump_trades(bm, states[v])) for v, bm in clients.items()]
    try:
        if out.live_view:
            from rich.live import Live

            with Live(_render_rich(states, 0.0), console=out.console, refresh_per_second=8) as live:
                while (elapsed := time.monotonic() - start) < seconds:
                    live.update(_render_rich(states, elapsed))
                    await asyncio.sleep(0.125)
        else:
            while (elapsed := time.monotonic() - start) < seconds:
                await asyncio.sleep(1.0)
                for text in _render_plain(states, time.monotonic() - start):
                    out.line(text)
    finally:
        for watch in books.values():
            await watch.shutdown()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for venue, st in states.items():
        if st.book is None or st.trade_count == 0:
            raise RuntimeError(f"{venue}: no live data arrived in {seconds:g}s")


def _outcome(outcome: CommandOutcome) -> str:
    return f"{outcome.status.value} (by {outcome.resolved_by})"


async def _show_commands(out: _Out, clients: dict[str, BatMarkets]) -> None:
    """One order lifecycle per venue: rest a limit order, cancel it, open and close a position."""
    out.heading("commands: every call returns a handle; resolved() gives the final outcome")
    rows: list[list[str]] = []
    for venue, bm in clients.items():
        book = await bm.fetch_order_book("BTCUSDT", limit=5)
        far_bid = (book.bids[0].price * Decimal("0.95")).quantize(Decimal("0.1"))
        resting = await bm.create_order("BTCUSDT", "buy", "limit", "0.010", str(far_bid))
        receipt = await resting.receipt(timeout=10)
        placed = await resting.resolved(timeout=10)
        rows.append([venue, f"limit buy 0.010 @ {far_bid}", receipt.status.value, _outcome(placed)])
        cancel = await bm.cancel_order(placed.order_id, "BTCUSDT")
        done = await cancel.resolved(timeout=10)
        rows.append([venue, "cancel it", (await cancel.receipt()).status.value, _outcome(done)])
        taker = await bm.create_order("BTCUSDT", "buy", "market", "0.005")
        opened = await taker.resolved(timeout=10)
        order = opened.order
        filled = f", filled {order.filled} @ {_fmt(order.average_price, 1)}" if order else ""
        rows.append([venue, "market buy 0.005", opened.status.value, _outcome(opened) + filled])
        positions = [p for p in await bm.fetch_positions(["BTCUSDT"]) if p.size]
        size = positions[0].size if positions else Decimal(0)
        close = await bm.close_position("BTCUSDT")
        closed = await close.resolved(timeout=10)
        rows.append([venue, f"close_position (size {size})", closed.status.value, _outcome(closed)])
    out.table("", ["venue", "command", "ack", "resolved"], rows)


async def _show_status(out: _Out, clients: dict[str, BatMarkets]) -> None:
    out.heading("status() and advanced().diagnostics()")
    columns: dict[str, list[str]] = {}
    for venue, bm in clients.items():
        s = bm.status()
        d = bm.advanced().diagnostics()
        weight = next((r for r in d.rest.rate_limits if r.key == "weight"), None)
        columns[venue] = [
            s.health.value,
            f"rest {s.rest.health.value}, public {s.public.health.value}, "
            f"private {s.private.health.value}, command {s.command.health.value}",
            f"{len(d.connections)} ({sum(c.state == 'connected' for c in d.connections)} up)",
            ", ".join(sorted({c.route for c in d.connections})) or "-",
            str(sum(c.frames for c in d.connections)),
            str(d.invalid_frames),
            str(d.reconnects),
            str(d.book_resyncs),
            f"{d.clock.offset_ms} ms (rtt {d.clock.rtt_ms} ms)",
            str(d.rest.requests),
            f"{weight.used} / {weight.limit}" if weight else "-",
        ]
    labels = [
        "health",
        "lanes",
        "connections",
        "routes",
        "frames received",
        "bad frames (skipped)",
        "reconnects",
        "book resyncs",
        "clock offset",
        "REST requests",
        "request weight used",
    ]
    rows = [[label, *(columns[v][i] for v in clients)] for i, label in enumerate(labels)]
    out.table("", ["", *clients], rows)


async def run(seconds: float = 5.0, *, plain: bool = False, tick: float = 0.05) -> int:
    """Run the demo; returns the process exit code."""
    out = _Out(plain)
    out.line("bat-markets demo: live clients against the built-in loopback simulator")
    async with Simulator(venues=VENUES, auto_tick=tick) as sims:
        clients: dict[str, BatMarkets] = {}
        try:
            for venue in VENUES:
                sim = sims[venue]
                # The same call against the real venue: BatMarkets.live(venue, environment=...)
                clients[venue] = await BatMarkets.live(
                    venue,
                    endpoints=sim.endpoints,
                    credentials=sim.credentials,
                    options=ClientOptions(linger_s=0.5),
                )
                out.line(f"  {venue}: live client on {sim.endpoints.rest}")
            await _show_markets(out, clients)
            await _show_fetches(out, clients)
            await _live_section(out, clients, seconds)
            await _show_commands(out, clients)
            await _show_status(out, clients)
        finally:
            for bm in clients.values():
                await bm.close()
    out.line("done: every socket and task closed.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bat_markets.testing.demo", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the live section")
    parser.add_argument("--plain", action="store_true", help="plain text, no rich live view")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args.seconds, plain=args.plain))
    except (BatMarketsError, RuntimeError) as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
