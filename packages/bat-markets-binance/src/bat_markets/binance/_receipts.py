"""Command receipts: one per item, ACCEPTED / REJECTED / UNKNOWN, never an exception."""

from __future__ import annotations

from bat_markets.core import (
    BatMarketsError,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    Order,
    TransportError,
    UnknownExecution,
)

from ._errors import VENUE, is_noop

__all__ = ["accepted", "from_error", "unknown", "as_unknown"]


def accepted(
    kind: CommandKind,
    *,
    symbol: str | None,
    order: Order | None = None,
    order_id: str | None = None,
    client_order_id: str | None = None,
    timestamp: int | None = None,
    noop: bool = False,
) -> CommandReceipt:
    return CommandReceipt(
        kind=kind,
        status=CommandStatus.ACCEPTED,
        venue=VENUE,
        symbol=symbol,
        order_id=order.id if order is not None else order_id,
        client_order_id=(order.client_order_id if order is not None else None) or client_order_id,
        order=order,
        timestamp=timestamp if timestamp is not None else (order.updated_at if order else None),
        noop=noop,
    )


def as_unknown(err: BatMarketsError) -> UnknownExecution:
    """Wrap a transport failure after sending: the request may have executed."""
    if isinstance(err, UnknownExecution):
        return err
    wrapped = UnknownExecution(
        f"no answer from Binance ({type(err).__name__}: {err.message}); outcome unknown, reconcile",
        venue=VENUE,
        code=err.code,
        http_status=err.http_status,
    )
    wrapped.__cause__ = err
    return wrapped


def from_error(
    kind: CommandKind,
    err: BatMarketsError,
    *,
    symbol: str | None,
    order_id: str | None = None,
    client_order_id: str | None = None,
) -> CommandReceipt:
    """REJECTED, UNKNOWN (ambiguous / transport) or ACCEPTED no-op (state already holds)."""
    if is_noop(err.code):
        return CommandReceipt(
            kind=kind,
            status=CommandStatus.ACCEPTED,
            venue=VENUE,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            error=err,
            noop=True,
        )
    if isinstance(err, (UnknownExecution, TransportError)):
        return unknown(
            kind, as_unknown(err), symbol=symbol, order_id=order_id, client_order_id=client_order_id
        )
    return CommandReceipt(
        kind=kind,
        status=CommandStatus.REJECTED,
        venue=VENUE,
        symbol=symbol,
        order_id=order_id,
        client_order_id=client_order_id,
        error=err,
    )


def unknown(
    kind: CommandKind,
    err: BatMarketsError,
    *,
    symbol: str | None,
    order_id: str | None = None,
    client_order_id: str | None = None,
) -> CommandReceipt:
    return CommandReceipt(
        kind=kind,
        status=CommandStatus.UNKNOWN,
        venue=VENUE,
        symbol=symbol,
        order_id=order_id,
        client_order_id=client_order_id,
        error=err,
    )
