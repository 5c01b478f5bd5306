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

__all__ = ["accepted", "from_error", "unknown", "rejected", "as_unknown"]


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
        status = CommandStatus.ACCEPTED
    elif isinstance(err, (UnknownExecution, TransportError)):
        status, err = CommandStatus.UNKNOWN, as_unknown(err)
    else:
        status = CommandStatus.REJECTED
    return _with_error(kind, status, err, symbol, order_id, client_order_id)


def unknown(
    kind: CommandKind,
    err: BatMarketsError,
    *,
    symbol: str | None,
    order_id: str | None = None,
    client_order_id: str | None = None,
) -> CommandReceipt:
    """UNKNOWN: the request may have executed (reconcile)."""
    return _with_error(kind, CommandStatus.UNKNOWN, err, symbol, order_id, client_order_id)


def rejected(
    kind: CommandKind,
    err: BatMarketsError,
    *,
    symbol: str | None = None,
    order_id: str | None = None,
    client_order_id: str | None = None,
) -> CommandReceipt:
    """REJECTED even for transport errors: for requests that cannot have executed."""
    return _with_error(kind, CommandStatus.REJECTED, err, symbol, order_id, client_order_id)


def _with_error(
    kind: CommandKind,
    status: CommandStatus,
    err: BatMarketsError,
    symbol: str | None,
    order_id: str | None,
    client_order_id: str | None,
) -> CommandReceipt:
    # an ACCEPTED receipt that carries an error is a venue no-op: the state already held
    return CommandReceipt(
        kind=kind,
        status=status,
        venue=VENUE,
        symbol=symbol,
        order_id=order_id,
        client_order_id=client_order_id,
        error=err,
        noop=status is CommandStatus.ACCEPTED,
    )
