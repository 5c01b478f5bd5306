"""Shared plumbing of the Binance REST flows: send, classify, decode."""

from __future__ import annotations

from collections.abc import Generator
from email.utils import parsedate_to_datetime
from typing import TypeVar

from bat_markets.core import (
    AdapterBase,
    BatMarketsError,
    ConfigError,
    RestRequest,
    RestResponse,
    TransportError,
)

from ._errors import classify
from ._native import decode

__all__ = ["FlowBase", "Step", "response_time_s"]

T = TypeVar("T")
Step = Generator[RestRequest, RestResponse, T]


def response_time_s(response: RestResponse) -> float | None:
    """The venue's clock from the ``Date`` header (seconds), if present."""
    raw = response.headers.get("date")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


class FlowBase(AdapterBase):
    """Helpers every Binance flow uses; symbols in requests are native ids."""

    id = "binance"
    name = "Binance USD-M"

    def _unified(self, native: str) -> str:
        return self.markets.unified(native)

    def _native(self, symbol: str) -> str:
        """Accept a native id (normal case) or a unified symbol."""
        if not isinstance(symbol, str) or not symbol:
            raise ConfigError(f"symbol must be a non-empty string, got {symbol!r}", venue="binance")
        if "/" in symbol:
            return self.markets.native(symbol)
        return symbol.upper()

    def _read(self, request: RestRequest) -> Step[RestResponse]:
        """Send a read; a venue error is raised as its taxonomy class."""
        response = yield request
        err = classify(response.status, response.headers, response.body, write=False)
        if err is not None:
            raise err
        return response

    def _get(self, request: RestRequest, tp: type[T], what: str) -> Step[T]:
        response = yield from self._read(request)
        return decode(response.body, tp, what)

    def _optional(self, request: RestRequest, tp: type[T], what: str) -> Step[T | None]:
        """An enrichment read whose failure must not fail the flow: ``None`` on any error."""
        try:
            response = yield request
        except (TransportError, BatMarketsError):
            return None
        if classify(response.status, response.headers, response.body, write=False) is not None:
            return None
        try:
            return decode(response.body, tp, what)
        except BatMarketsError:
            return None

    def _send(self, request: RestRequest) -> Step[RestResponse | BatMarketsError]:
        """Send a write; returns the response or the error (thrown or classified)."""
        try:
            response = yield request
        except BatMarketsError as exc:
            return exc
        err = classify(response.status, response.headers, response.body, write=True)
        return err if err is not None else response
