"""``AdapterBase``: a convenient superclass for venue adapters.

Every optional method raises ``Unsupported`` naming the venue and the method, so a third-party
adapter implements only what its venue serves and still satisfies ``VenueAdapter``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from ._adapter import (
    BookSync,
    Capabilities,
    Heartbeat,
    HttpRequest,
    PrivateSession,
    RateLimitRule,
    RateLimitUsage,
    RestFlow,
    RestRequest,
    RestResponse,
    Topic,
    WsCommand,
    WsSession,
)
from ._commands import (
    CancelRequest,
    CommandReceipt,
    EditRequest,
    LeverageRequest,
    MarginModeRequest,
    OrderRequest,
    PositionModeRequest,
)
from ._config import Credentials, Endpoints
from ._enums import Channel, CommandKind, Environment
from ._errors import BatMarketsError, Unsupported
from ._events import BookSnapshotEvent, PrivateFrame, PublicFrame
from ._markets import Markets
from ._models import (
    OHLCV,
    Balance,
    FundingRate,
    InstrumentSpec,
    Liquidation,
    MarkPrice,
    MyTrade,
    OpenInterest,
    Order,
    Position,
    Ticker,
    Trade,
)

__all__ = ["AdapterBase"]

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class AdapterBase:
    """Defaults for every ``VenueAdapter`` method: ``Unsupported`` unless overridden."""

    id: str = "base"
    name: str = "Base"
    capabilities: Capabilities
    markets: Markets
    rate_limit_rules: Sequence[RateLimitRule] = ()

    def __init__(self) -> None:
        self.markets = Markets(self.id, self.bundled_instruments())

    def _unsupported(self, method: str, why: str = "") -> Unsupported:
        extra = f": {why}" if why else ""
        return Unsupported(f"{self.name} does not support {method}{extra}", venue=self.id)

    # -- identity, endpoints, metadata
    def endpoints(self, environment: Environment) -> Endpoints:
        raise self._unsupported(f"the {environment} environment")

    def bundled_instruments(self) -> list[InstrumentSpec]:
        return []

    def new_client_order_id(self, prefix: str = "bm") -> str:
        """``<prefix>-<26 random alphanumerics>``: valid on Binance and Bybit (≤36, [A-Za-z0-9_-])."""
        body = "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))
        return f"{prefix[:8]}-{body}"

    # -- REST plumbing
    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest:
        raise self._unsupported("REST")

    def classify_http_error(self, response: RestResponse) -> BatMarketsError | None:
        return None

    def parse_rate_limits(
        self, headers: Mapping[str, str], endpoint: str | None = None
    ) -> list[RateLimitUsage]:
        return []

    def is_clock_error(self, error: BatMarketsError) -> bool:
        return False

    # -- public REST
    def server_time(self) -> RestFlow[int]:
        raise self._unsupported("server_time")

    def load_markets(self) -> RestFlow[list[InstrumentSpec]]:
        raise self._unsupported("load_markets")

    def fetch_ticker(self, symbol: str) -> RestFlow[Ticker]:
        raise self._unsupported("fetch_ticker")

    def fetch_tickers(self, symbols: Sequence[str] | None) -> RestFlow[list[Ticker]]:
        raise self._unsupported("fetch_tickers")

    def fetch_order_book(self, symbol: str, limit: int | None) -> RestFlow[BookSnapshotEvent]:
        raise self._unsupported("fetch_order_book")

    def fetch_ohlcv(
        self, symbol: str, interval: str, since: int | None, until: int | None, limit: int | None
    ) -> RestFlow[list[OHLCV]]:
        raise self._unsupported("fetch_ohlcv")

    def fetch_trades(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Trade]]:
        raise self._unsupported("fetch_trades")

    def fetch_mark_price(self, symbol: str) -> RestFlow[MarkPrice]:
        raise self._unsupported("fetch_mark_price")

    def fetch_funding_rate(self, symbol: str) -> RestFlow[FundingRate]:
        raise self._unsupported("fetch_funding_rate")

    def fetch_funding_rate_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[FundingRate]]:
        raise self._unsupported("fetch_funding_rate_history")

    def fetch_open_interest(self, symbol: str) -> RestFlow[OpenInterest]:
        raise self._unsupported("fetch_open_interest")

    def fetch_liquidations(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Liquidation]]:
        raise self._unsupported("fetch_liquidations")

    # -- private REST
    def fetch_balance(self) -> RestFlow[list[Balance]]:
        raise self._unsupported("fetch_balance")

    def fetch_positions(self, symbols: Sequence[str] | None) -> RestFlow[list[Position]]:
        raise self._unsupported("fetch_positions")

    def fetch_open_orders(self, symbol: str | None) -> RestFlow[list[Order]]:
        raise self._unsupported("fetch_open_orders")

    def fetch_order(
        self, symbol: str, id: str | None, client_order_id: str | None
    ) -> RestFlow[Order]:
        raise self._unsupported("fetch_order")

    def fetch_orders_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Order]]:
        raise self._unsupported("fetch_orders_history")

    def fetch_my_trades(
        self, symbol: str | None, since: int | None, limit: int | None
    ) -> RestFlow[list[MyTrade]]:
        raise self._unsupported("fetch_my_trades")

    # -- commands
    def create_orders(self, requests: Sequence[OrderRequest]) -> RestFlow[list[CommandReceipt]]:
        raise self._unsupported("create_order")

    def edit_orders(self, requests: Sequence[EditRequest]) -> RestFlow[list[CommandReceipt]]:
        raise self._unsupported("edit_order")

    def cancel_orders(self, requests: Sequence[CancelRequest]) -> RestFlow[list[CommandReceipt]]:
        raise self._unsupported("cancel_order")

    def cancel_all_orders(self, symbol: str | None) -> RestFlow[list[CommandReceipt]]:
        raise self._unsupported("cancel_all_orders")

    def validate_order(self, request: OrderRequest) -> RestFlow[CommandReceipt]:
        raise self._unsupported("validate_order")

    def set_leverage(self, request: LeverageRequest) -> RestFlow[CommandReceipt]:
        raise self._unsupported("set_leverage")

    def set_margin_mode(self, request: MarginModeRequest) -> RestFlow[CommandReceipt]:
        raise self._unsupported("set_margin_mode")

    def set_position_mode(self, request: PositionModeRequest) -> RestFlow[CommandReceipt]:
        raise self._unsupported("set_position_mode")

    def classify_command_json(
        self, kind: CommandKind, payload: bytes | None
    ) -> list[CommandReceipt]:
        raise self._unsupported("classify_command_json")

    # -- public websocket
    def public_ws_url(self, endpoints: Endpoints, route: str) -> str:
        return endpoints.public_ws

    def public_topics(
        self,
        channel: Channel,
        symbol: str,
        *,
        interval: str | None = None,
        depth: int | None = None,
    ) -> list[Topic]:
        raise self._unsupported(f"watch {channel}")

    def max_topics_per_connection(self) -> int:
        return 200

    def subscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        raise self._unsupported("websocket streams")

    def unsubscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        raise self._unsupported("websocket streams")

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(interval_s=20.0)

    def decode_public(self, frame: bytes | str) -> PublicFrame:
        raise self._unsupported("websocket streams")

    def book_sync(self, spec: InstrumentSpec, depth: int | None) -> BookSync:
        raise self._unsupported("watch_order_book")

    # -- private websocket
    def private_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int, recv_window_ms: int
    ) -> RestFlow[PrivateSession]:
        raise self._unsupported("private streams")

    def decode_private(self, frame: bytes | str) -> PrivateFrame:
        raise self._unsupported("private streams")

    # -- order websocket
    def ws_command_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int
    ) -> WsSession:
        raise self._unsupported("websocket order entry")

    def ws_command(
        self,
        kind: CommandKind,
        requests: Sequence[OrderRequest] | Sequence[EditRequest] | Sequence[CancelRequest],
        req_id: str,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> WsCommand:
        raise self._unsupported(f"{kind}_ws")

    def ws_reply_id(self, frame: bytes | str) -> str | None:
        return None

    def ws_ping_frame(self) -> bytes | None:
        return None
