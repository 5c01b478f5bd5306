"""``BybitAdapter``: Bybit v5 USDT linear futures behind the core ``VenueAdapter`` contract."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

import msgspec

from bat_markets.core import (
    OHLCV,
    AdapterBase,
    Balance,
    BatMarketsError,
    BookSnapshotEvent,
    CancelRequest,
    Channel,
    CommandKind,
    CommandReceipt,
    ConfigError,
    Credentials,
    DecodeError,
    EditRequest,
    Endpoints,
    Environment,
    FundingRate,
    Heartbeat,
    HttpRequest,
    InstrumentSpec,
    LeverageRequest,
    Liquidation,
    MarginModeRequest,
    MarkPrice,
    MyTrade,
    OpenInterest,
    Order,
    OrderRequest,
    Position,
    PositionModeRequest,
    PrivateFrame,
    PrivateSession,
    PublicFrame,
    RateLimitRule,
    RateLimitUsage,
    RestFlow,
    RestRequest,
    RestResponse,
    Ticker,
    Topic,
    Trade,
    Unsupported,
    WsCommand,
    WsSession,
)

from . import _account, _commands, _market, _trade_ws
from ._book_sync import BybitBookSync, ws_depth_for
from ._capabilities import CAPABILITIES, RATE_LIMIT_RULES
from ._endpoints import endpoints_for
from ._errors import CLOCK_CODE, http_error, is_noop
from ._instruments import bundled_specs
from ._intervals import to_native
from ._private_ws import PRIVATE_TOPICS, PrivateDecoder
from ._public_ws import PublicDecoder
from ._ratelimit import parse_rate_limits
from ._rest import decode_envelope, prepare, read_checked
from ._signing import ws_auth_args
from ._util import VENUE

__all__ = ["BybitAdapter"]

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_PREFIX_CHARS = frozenset(_ID_ALPHABET + "_-")
_PING = b'{"op":"ping"}'
_PRIVATE_AUTH_TTL_MS = 10_000


class BybitAdapter(AdapterBase):
    """Sans-I/O adapter for Bybit v5 ``category=linear`` USDT-settled contracts.

    Flows take native symbols (``BTCUSDT``) and return unified ones (``BTC/USDT:USDT``).
    ``market_statuses`` lists the ``instruments-info`` status series ``load_markets`` reads
    (``""`` = the venue default, Trading); ``markets_page_size`` is the rows it asks for per
    page (1..1000, default the venue maximum; smaller pages only cost more requests);
    ``book_strict_sequence`` (default on) makes ``book_sync`` treat any skipped ``u`` as a gap
    and resubscribe (see ``BybitBookSync``). The venue does not document ``u`` as contiguous;
    we prefer a resync to a silently stale level. Set it to ``False`` (through
    ``advanced().native()``) if a stream is seen to skip ``u`` values legitimately.
    """

    id = VENUE
    name = "Bybit"
    capabilities = CAPABILITIES
    rate_limit_rules: Sequence[RateLimitRule] = RATE_LIMIT_RULES

    def __init__(
        self,
        *,
        market_statuses: Sequence[str] = _market.MARKET_STATUSES,
        markets_page_size: int = _market.INSTRUMENTS_PAGE,
        book_strict_sequence: bool = True,
    ) -> None:
        super().__init__()
        if (
            isinstance(markets_page_size, bool)
            or not isinstance(markets_page_size, int)
            or not 1 <= markets_page_size <= _market.INSTRUMENTS_PAGE
        ):
            raise ConfigError(
                f"markets_page_size must be an integer in 1..1000, got {markets_page_size!r}",
                venue=VENUE,
            )
        self.market_statuses = tuple(market_statuses)
        self.markets_page_size = markets_page_size
        self.book_strict_sequence = book_strict_sequence
        self._public = PublicDecoder(self._unify)
        self._private = PrivateDecoder(self._unify, self._accept)

    # -- helpers -------------------------------------------------------------------------------

    def _unify(self, native: str) -> str:
        return self.markets.unified(native)

    def _accept(self, native: str) -> bool:
        """USDT-settled linear contract (catalog first, naming rule for unknown ids)."""
        spec = self.markets.by_id(native)
        if spec is not None:
            return spec.settle == "USDT"
        upper = native.upper()
        return upper.endswith("USDT") or "USDT-" in upper

    def _new_id(self) -> str:
        return self.new_client_order_id()

    def _spec_hint(self, symbol: str) -> InstrumentSpec | None:
        return self.markets.by_id(symbol)

    @property
    def unknown_frames(self) -> int:
        """Frames skipped as unknown (unhandled topics or ops) by both decoders."""
        return self._public.unknown_frames + self._private.unknown_frames

    def reset_ticker_cache(self, symbol: str | None = None) -> None:
        """Forget merged ``tickers`` state (after a reconnect the venue sends a new snapshot)."""
        self._public.reset_tickers(symbol)

    # -- identity, endpoints, metadata -----------------------------------------------------------

    def endpoints(self, environment: Environment) -> Endpoints:
        return endpoints_for(environment)

    def bundled_instruments(self) -> list[InstrumentSpec]:
        return list(bundled_specs())

    def new_client_order_id(self, prefix: str = "bm") -> str:
        """``<prefix>-<random>``: ≤36 characters of ``[A-Za-z0-9_-]`` (Bybit's orderLinkId)."""
        clean = "".join(c for c in prefix if c in _PREFIX_CHARS)[:8]
        body = "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))
        return f"{clean}-{body}" if clean else body

    # -- REST plumbing ---------------------------------------------------------------------------

    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest:
        return prepare(request, credentials, timestamp_ms, recv_window_ms)

    def classify_http_error(self, response: RestResponse) -> BatMarketsError | None:
        """The read-side error of a reply (HTTP status, or ``retCode`` on HTTP 200), else None."""
        err = http_error(response.status, response.body, response.headers, write=False)
        if err is not None:
            return err
        try:
            env = decode_envelope(response.body)
        except DecodeError as exc:
            return exc
        if env.retCode == 0 or is_noop(env.retCode, env.retMsg):
            return None
        try:
            read_checked(response)
        except BatMarketsError as exc:
            return exc
        return None  # pragma: no cover - read_checked raised above

    def parse_rate_limits(
        self, headers: Mapping[str, str], endpoint: str | None = None
    ) -> list[RateLimitUsage]:
        """``X-Bapi-Limit*`` headers (per-UID, per-endpoint usage).

        The headers do not say which endpoint they count: pass ``endpoint`` (``"METHOD /path"``,
        the key of the matching ``rate_limit_rules`` bucket); without it the key is ``"uid"``.
        """
        return parse_rate_limits(headers, endpoint or "uid")

    def is_clock_error(self, error: BatMarketsError) -> bool:
        return error.venue == VENUE and error.code == CLOCK_CODE

    # -- public REST -----------------------------------------------------------------------------

    def server_time(self) -> RestFlow[int]:
        return _market.server_time()

    def load_markets(self) -> RestFlow[list[InstrumentSpec]]:
        return _market.load_markets(self.market_statuses, self.markets_page_size)

    def fetch_ticker(self, symbol: str) -> RestFlow[Ticker]:
        return _market.fetch_ticker(symbol, self._unify)

    def fetch_tickers(self, symbols: Sequence[str] | None) -> RestFlow[list[Ticker]]:
        return _market.fetch_tickers(symbols, self._unify, self._accept)

    def fetch_order_book(self, symbol: str, limit: int | None) -> RestFlow[BookSnapshotEvent]:
        return _market.fetch_order_book(symbol, limit, self._unify)

    def fetch_ohlcv(
        self, symbol: str, interval: str, since: int | None, until: int | None, limit: int | None
    ) -> RestFlow[list[OHLCV]]:
        spec = self._spec_hint(symbol)
        return _market.fetch_ohlcv(
            symbol,
            interval,
            since,
            until,
            limit,
            self._unify,
            listed_at=spec.onboard_time if spec is not None else None,
        )

    def fetch_trades(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Trade]]:
        return _market.fetch_trades(symbol, since, limit, self._unify)

    def fetch_mark_price(self, symbol: str) -> RestFlow[MarkPrice]:
        return _market.fetch_mark_price(symbol, self._unify)

    def fetch_funding_rate(self, symbol: str) -> RestFlow[FundingRate]:
        return _market.fetch_funding_rate(symbol, self._unify)

    def fetch_funding_rate_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[FundingRate]]:
        spec = self._spec_hint(symbol)
        return _market.fetch_funding_rate_history(
            symbol,
            since,
            limit,
            self._unify,
            interval_hours=spec.funding_interval_hours if spec is not None else None,
            listed_at=spec.onboard_time if spec is not None else None,
        )

    def fetch_open_interest(self, symbol: str) -> RestFlow[OpenInterest]:
        return _market.fetch_open_interest(symbol, self._unify)

    def fetch_open_interest_history(
        self, symbol: str, interval: str = "1h", limit: int | None = None
    ) -> RestFlow[list[OpenInterest]]:
        """Bybit extra (not in the unified API map): open interest every ``interval``."""
        return _market.fetch_open_interest_history(symbol, interval, limit, self._unify)

    def fetch_liquidations(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Liquidation]]:
        raise self._unsupported(
            "fetch_liquidations",
            "there is no public liquidation REST endpoint; use watch_liquidations "
            "(allLiquidation stream, every liquidation)",
        )

    # -- private REST ----------------------------------------------------------------------------

    def fetch_balance(self) -> RestFlow[list[Balance]]:
        return _account.fetch_balance()

    def fetch_positions(self, symbols: Sequence[str] | None) -> RestFlow[list[Position]]:
        return _account.fetch_positions(symbols, self._unify)

    def fetch_open_orders(self, symbol: str | None) -> RestFlow[list[Order]]:
        return _account.fetch_open_orders(symbol, self._unify)

    def fetch_order(
        self, symbol: str, id: str | None, client_order_id: str | None
    ) -> RestFlow[Order]:
        return _account.fetch_order(symbol, id, client_order_id, self._unify)

    def fetch_orders_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Order]]:
        return _account.fetch_orders_history(symbol, since, limit, self._unify)

    def fetch_my_trades(
        self, symbol: str | None, since: int | None, limit: int | None
    ) -> RestFlow[list[MyTrade]]:
        return _account.fetch_my_trades(symbol, since, limit, self._unify)

    # -- commands --------------------------------------------------------------------------------

    def create_orders(self, requests: Sequence[OrderRequest]) -> RestFlow[list[CommandReceipt]]:
        return _commands.create_orders(requests, self._unify, self._new_id)

    def edit_orders(self, requests: Sequence[EditRequest]) -> RestFlow[list[CommandReceipt]]:
        return _commands.edit_orders(requests, self._unify)

    def cancel_orders(self, requests: Sequence[CancelRequest]) -> RestFlow[list[CommandReceipt]]:
        return _commands.cancel_orders(requests, self._unify)

    def cancel_all_orders(self, symbol: str | None) -> RestFlow[list[CommandReceipt]]:
        return _commands.cancel_all_orders(symbol, self._unify)

    def validate_order(self, request: OrderRequest) -> RestFlow[CommandReceipt]:
        spec = self.markets.resolve(request.symbol)
        return _commands.validate_order(request, spec, self._unify, self._new_id)

    def set_leverage(self, request: LeverageRequest) -> RestFlow[CommandReceipt]:
        return _commands.set_leverage(request, self._unify)

    def set_margin_mode(self, request: MarginModeRequest) -> RestFlow[CommandReceipt]:
        return _commands.set_margin_mode(request, self._unify)

    def set_position_mode(self, request: PositionModeRequest) -> RestFlow[CommandReceipt]:
        return _commands.set_position_mode(request, self._unify)

    def classify_command_json(
        self, kind: CommandKind, payload: bytes | None
    ) -> list[CommandReceipt]:
        return _commands.classify_command_json(kind, payload, self._unify)

    # -- public websocket ------------------------------------------------------------------------

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
        if not isinstance(symbol, str) or not symbol:
            raise ConfigError(f"symbol must be a non-empty string, got {symbol!r}", venue=VENUE)
        sym = symbol.upper()
        if channel in (
            Channel.TICKER,
            Channel.MARK_PRICE,
            Channel.FUNDING_RATE,
            Channel.OPEN_INTEREST,
        ):
            name = f"tickers.{sym}"
        elif channel is Channel.TRADES:
            name = f"publicTrade.{sym}"
        elif channel is Channel.ORDER_BOOK:
            name = f"orderbook.{self._ws_depth(depth)}.{sym}"
        elif channel is Channel.BOOK_TOP:
            name = f"orderbook.1.{sym}"
        elif channel is Channel.OHLCV:
            if interval is None:
                raise ConfigError("watch_ohlcv needs an interval", venue=VENUE)
            mapped = to_native(interval)
            if mapped is None:
                raise Unsupported(f"Bybit has no {interval!r} kline stream", venue=VENUE)
            name = f"kline.{mapped[0]}.{sym}"
        elif channel is Channel.LIQUIDATIONS:
            name = f"allLiquidation.{sym}"
        else:
            raise self._unsupported(f"watch {channel}")
        return [Topic(name=name, route="public")]

    @staticmethod
    def _ws_depth(depth: int | None) -> int:
        try:
            return ws_depth_for(depth)
        except ValueError:
            if isinstance(depth, int) and not isinstance(depth, bool) and depth > 1000:
                raise Unsupported(
                    f"Bybit order-book streams go to 1000 levels, not {depth}", venue=VENUE
                ) from None
            raise ConfigError(
                f"depth must be a positive integer, got {depth!r}", venue=VENUE
            ) from None

    def max_topics_per_connection(self) -> int:
        # A public connection's args may total 21,000 characters; topics are ≤ ~35 characters.
        return 500

    def subscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return msgspec.json.encode({"req_id": str(req_id), "op": "subscribe", "args": list(topics)})

    def unsubscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return msgspec.json.encode(
            {"req_id": str(req_id), "op": "unsubscribe", "args": list(topics)}
        )

    def heartbeat(self) -> Heartbeat:
        """Application ping every 20 s (the venue cuts idle connections after 10 minutes)."""
        return Heartbeat(interval_s=20.0, frame=_PING, idle_timeout_s=60.0)

    def decode_public(self, frame: bytes | str) -> PublicFrame:
        return self._public.decode(frame)

    def book_sync(self, spec: InstrumentSpec, depth: int | None) -> BybitBookSync:
        return BybitBookSync(spec, self._ws_depth(depth), strict_sequence=self.book_strict_sequence)

    # -- private websocket -----------------------------------------------------------------------

    def private_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int, recv_window_ms: int
    ) -> RestFlow[PrivateSession]:
        """Auth frame then one subscribe frame; pure (no REST call)."""
        expires = now_ms + max(int(recv_window_ms), _PRIVATE_AUTH_TTL_MS)
        auth = msgspec.json.encode(
            {"req_id": "auth", "op": "auth", "args": ws_auth_args(credentials, expires)}
        )
        subscribe = msgspec.json.encode(
            {"req_id": "private", "op": "subscribe", "args": list(PRIVATE_TOPICS)}
        )
        return _done(
            PrivateSession(url=endpoints.private_ws, frames=[auth, subscribe], auth_required=True)
        )

    def decode_private(self, frame: bytes | str) -> PrivateFrame:
        return self._private.decode(frame)

    # -- order websocket -------------------------------------------------------------------------

    def ws_command_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int
    ) -> WsSession:
        return _trade_ws.session(endpoints, credentials, now_ms)

    def ws_command(
        self,
        kind: CommandKind,
        requests: Sequence[OrderRequest] | Sequence[EditRequest] | Sequence[CancelRequest],
        req_id: str,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> WsCommand:
        return _trade_ws.command(
            kind, requests, req_id, now_ms, recv_window_ms, self._unify, self._new_id
        )

    def ws_reply_id(self, frame: bytes | str) -> str | None:
        return _trade_ws.reply_id(frame)

    def ws_ping_frame(self) -> bytes | None:
        return _PING


def _done(value: PrivateSession) -> RestFlow[PrivateSession]:
    """A flow that returns ``value`` without sending anything."""
    yield from _commands.NO_REQUESTS
    return value
