"""``advanced()``: raw lanes, offline decoding, diagnostics and the native adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bat_markets.core import (
    CommandKind,
    CommandReceipt,
    ConfigError,
    PrivateData,
    PrivateEvent,
    PublicEvent,
    StreamData,
    VenueAdapter,
)

from ._base import not_implemented
from ._handles import EventWatch
from ._params import check_buffer
from ._public_lane import PublicLane
from ._status import Diagnostics

if TYPE_CHECKING:
    from ._client import BatMarkets

__all__ = ["Advanced"]


class Advanced:
    """The escape hatch of a client (static or live)."""

    def __init__(self, client: BatMarkets) -> None:
        self._client = client

    @property
    def _adapter(self) -> VenueAdapter:
        return self._client._adapter

    def native(self) -> VenueAdapter:
        """The venue adapter itself (venue-specific power, e.g. Binance algo orders)."""
        return self._adapter

    def ingest_public_json(self, frame: str | bytes) -> list[PublicEvent]:
        """Decode one raw public websocket frame offline into unified events.

        Control frames (acks, pongs) give ``[]``; a malformed frame raises ``DecodeError``. On a
        live client the decoded frame is also published to ``subscribe_public_events()``.
        """
        out = self._adapter.decode_public(frame)
        if not isinstance(out, StreamData):
            return []
        rt = self._client._runtime
        if rt is not None and not rt.closed and rt.hub.raw_sinks:
            PublicLane(rt).publish_raw(out)
        return list(out.events)

    def ingest_private_json(self, frame: str | bytes) -> list[PrivateEvent]:
        """Decode one raw private websocket frame offline (balances, orders, fills, positions)."""
        out = self._adapter.decode_private(frame)
        if not isinstance(out, PrivateData):
            return []
        return list(out.events)

    def classify_command_json(
        self, kind: CommandKind | str, payload: str | bytes | None
    ) -> list[CommandReceipt]:
        """Classify a raw command response offline (``None`` payload: the outcome is unknown)."""
        try:
            command = CommandKind(kind)
        except ValueError:
            raise ConfigError(
                f"unknown command kind {kind!r}; use one of: "
                f"{', '.join(k.value for k in CommandKind)}",
                venue=self._adapter.id,
            ) from None
        body = payload.encode() if isinstance(payload, str) else payload
        return self._adapter.classify_command_json(command, body)

    def subscribe_public_events(self, *, buffer: int | None = None) -> EventWatch[StreamData]:
        """Every decoded public frame of this client's connections (bounded, ``Lagged``)."""
        rt = self._client._live("subscribe_public_events")
        return PublicLane(rt).subscribe_raw(check_buffer(buffer, 4096, self._adapter.id))

    def subscribe_private_events(self, *, buffer: int | None = None) -> EventWatch[PrivateEvent]:
        raise not_implemented(self._adapter.id, "subscribe_private_events")

    def subscribe_command_events(self, *, buffer: int | None = None) -> EventWatch[CommandReceipt]:
        raise not_implemented(self._adapter.id, "subscribe_command_events")

    async def reconcile(self) -> object:
        raise not_implemented(self._adapter.id, "reconcile")

    def diagnostics(self) -> Diagnostics:
        """Connections, streams, books, clock, rate limits, counters (live clients only)."""
        return self._client._live("diagnostics").diagnostics()
