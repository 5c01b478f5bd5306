"""The venue adapter contract: the only thing the runtime knows about a venue.

Adapters are sans-I/O. REST work is expressed as *flows*: generators that yield a
``RestRequest`` and receive the matching ``RestResponse`` (``flow.send(response)``) until they
return a typed result. The runtime prepares (signs) each request with ``adapter.prepare``, sends it,
and resumes the flow. A transport failure on a request is thrown into the flow
(``flow.throw(err)``): read flows let it propagate; command flows turn it into ``UNKNOWN``
receipts for the affected items and carry on, so a failed chunk never loses the outcome of the
others. Venue error bodies are classified by the adapter inside the flow (``check``) and raised as
taxonomy errors (reads) or returned as ``REJECTED`` receipts (commands).

Websocket work is expressed as frames in, events out: ``decode_public`` / ``decode_private`` turn
one text frame into typed events or a ``Control``; ``subscribe_frame`` and friends build outgoing
frames. Clocks are passed in (``now_ms``), never read.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Literal, Protocol, TypeVar, runtime_checkable

import msgspec

from ._book import OrderBook
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
from ._errors import BatMarketsError
from ._events import BookDeltaEvent, BookSnapshotEvent, PrivateFrame, PublicFrame
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

__all__ = [
    "HttpMethod",
    "RestRequest",
    "HttpRequest",
    "RestResponse",
    "RestFlow",
    "run_flow_sync",
    "RateLimitRule",
    "RateLimitUsage",
    "Capabilities",
    "Topic",
    "Heartbeat",
    "PrivateSession",
    "WsSession",
    "WsCommand",
    "SyncStatus",
    "BookSync",
    "VenueAdapter",
]

T = TypeVar("T")
HttpMethod = Literal["GET", "POST", "PUT", "DELETE"]


class RestRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An unsigned REST request as the adapter wants it sent.

    ``params`` go in the query string (GET/DELETE, and Binance POST/PUT as a form body — the adapter
    decides in ``prepare``); ``json`` is a JSON body (Bybit POST). ``signed`` requests need
    credentials and a timestamp; ``keyed`` ones need only the API key header. ``weight`` and
    ``order_weight`` feed the runtime's limiter; ``idempotent`` requests may be retried.
    """

    method: HttpMethod
    path: str
    params: list[tuple[str, str]] = []
    json: dict[str, object] | None = None
    signed: bool = False
    keyed: bool = False
    weight: int = 1
    order_weight: int = 0
    idempotent: bool = True
    tag: str = ""


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A prepared request: exact bytes to send. ``target`` is path plus ``?query`` if any."""

    method: HttpMethod
    target: str
    headers: dict[str, str]
    body: bytes | None = None
    weight: int = 1
    order_weight: int = 0
    idempotent: bool = True
    tag: str = ""

    def __repr__(self) -> str:  # headers may carry the API key
        return f"HttpRequest({self.method} {self.target.split('?')[0]}, tag={self.tag!r})"


class RestResponse(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


RestFlow = Generator[RestRequest, RestResponse, T]
"""A sans-I/O REST conversation yielding requests and returning ``T``."""


def run_flow_sync(
    flow: Generator[RestRequest, RestResponse, T],
    respond: Callable[[RestRequest], RestResponse | BatMarketsError],
) -> T:
    """Drive a flow with a synchronous responder (tests, replay). Errors are thrown into the flow."""
    try:
        request = next(flow)
        while True:
            answer = respond(request)
            if isinstance(answer, BatMarketsError):
                request = flow.throw(answer)
            else:
                request = flow.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result


class RateLimitRule(msgspec.Struct, frozen=True, kw_only=True):
    """A venue limit: at most ``limit`` units of ``key`` per ``window_s`` seconds."""

    key: str  # "weight", "orders", or a venue-specific bucket such as "POST /v5/order/create"
    limit: int
    window_s: float


class RateLimitUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What the venue reported in a response's headers."""

    key: str
    used: int | None = None
    limit: int | None = None
    remaining: int | None = None
    window_s: float | None = None
    reset_at: int | None = None  # epoch ms


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What a venue serves, and the facts the unified layer exposes rather than hides."""

    methods: frozenset[str]  # API-map names served (REST, WS, commands)
    ws_commands: frozenset[str]  # *_ws command names served over the venue's order websocket
    max_batch_create: int
    max_batch_edit: int
    max_batch_cancel: int
    ohlcv_intervals: tuple[str, ...]
    order_book_depths: tuple[int, ...]  # REST snapshot limits
    watch_book_depths: tuple[int, ...]  # websocket book depths (0 = full diff stream)
    liquidations_complete: bool  # False when the feed is sampled
    open_interest_push: bool  # False when watch_open_interest polls REST
    position_mode_scope: Literal["account", "symbol"]
    margin_mode_scope: Literal["account", "symbol"]
    notes: Mapping[str, str] = {}  # method -> explanation (why Unsupported, how served)


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    """A venue stream name and the connection route (URL) it must be opened on."""

    name: str
    route: str = "public"  # key into the adapter's public_ws_url routes


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    interval_s: float  # how often the client pings
    frame: bytes | None = None  # application-level ping (Bybit); None = websocket ping frames
    idle_timeout_s: float = 60.0  # no frame at all (pongs included) for this long = dead


class PrivateSession(msgspec.Struct, frozen=True, kw_only=True):
    """How to open the private stream: URL, frames to send first, and the keepalive to repeat."""

    url: str
    frames: list[bytes] = []  # sent in order after connect (auth, then subscribe)
    auth_required: bool = False  # wait for a Control(kind="auth", ok=True) before data counts
    keepalive: RestRequest | None = None  # Binance listenKey PUT
    keepalive_interval_s: float | None = None
    max_age_s: float = 23.5 * 3600


class WsSession(msgspec.Struct, frozen=True, kw_only=True):
    """The order-entry websocket: URL and an optional auth frame answered by ``Control(auth)``."""

    url: str
    auth_frame: bytes | None = None
    auth_req_id: str | None = None


class WsCommand(msgspec.Struct, frozen=True, kw_only=True):
    """One request on the order websocket; ``decode`` classifies the matching reply frame."""

    req_id: str
    frame: bytes
    kind: CommandKind
    decode: Callable[[bytes], list[CommandReceipt]]
    unknown: Callable[[BatMarketsError], list[CommandReceipt]]  # receipts when no reply comes


class SyncStatus(enum.Enum):
    APPLIED = "applied"  # the book changed and is consistent
    BUFFERED = "buffered"  # waiting for a snapshot; event kept
    IGNORED = "ignored"  # stale or duplicate event, book unchanged
    NEED_SNAPSHOT = "need_snapshot"  # fetch a REST snapshot and feed it (source="rest")
    GAP = "gap"  # continuity broken: the book was discarded; resync per ``resync``


class BookSync(Protocol):
    """Per-symbol book synchroniser: the venue's sync algorithm around a core ``OrderBook``."""

    book: OrderBook
    resync: Literal["rest_snapshot", "resubscribe"]
    snapshot_limit: int | None  # REST snapshot depth to request when NEED_SNAPSHOT

    @property
    def synced(self) -> bool: ...

    def on_event(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus: ...

    def reset(self) -> None:
        """Forget the book and any buffer (reconnect or resync)."""


@runtime_checkable
class VenueAdapter(Protocol):
    """Everything the runtime needs from a venue. See docs/adapters.md for the full contract."""

    id: str
    name: str
    capabilities: Capabilities
    markets: Markets  # starts with the bundled instruments; the runtime replaces after load_markets
    rate_limit_rules: Sequence[RateLimitRule]

    # -- identity, endpoints, metadata
    def endpoints(self, environment: Environment) -> Endpoints: ...
    def bundled_instruments(self) -> list[InstrumentSpec]: ...
    def new_client_order_id(self, prefix: str = "bm") -> str: ...

    # -- REST plumbing
    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest: ...
    def classify_http_error(self, response: RestResponse) -> BatMarketsError | None: ...
    def parse_rate_limits(
        self, headers: Mapping[str, str], endpoint: str | None = None
    ) -> list[RateLimitUsage]:
        """Usage reported by a response's headers; ``endpoint`` is ``"METHOD /path"`` of the request
        (venues whose limits are per endpoint key their usage with it)."""
        ...

    def is_clock_error(self, error: BatMarketsError) -> bool: ...

    # -- public REST flows (symbols are native ids)
    def server_time(self) -> RestFlow[int]: ...
    def load_markets(self) -> RestFlow[list[InstrumentSpec]]: ...
    def fetch_ticker(self, symbol: str) -> RestFlow[Ticker]: ...
    def fetch_tickers(self, symbols: Sequence[str] | None) -> RestFlow[list[Ticker]]: ...
    def fetch_order_book(self, symbol: str, limit: int | None) -> RestFlow[BookSnapshotEvent]: ...
    def fetch_ohlcv(
        self, symbol: str, interval: str, since: int | None, until: int | None, limit: int | None
    ) -> RestFlow[list[OHLCV]]: ...
    def fetch_trades(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Trade]]: ...
    def fetch_mark_price(self, symbol: str) -> RestFlow[MarkPrice]: ...
    def fetch_funding_rate(self, symbol: str) -> RestFlow[FundingRate]: ...
    def fetch_funding_rate_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[FundingRate]]: ...
    def fetch_open_interest(self, symbol: str) -> RestFlow[OpenInterest]: ...
    def fetch_liquidations(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Liquidation]]: ...

    # -- private REST flows
    def fetch_balance(self) -> RestFlow[list[Balance]]: ...
    def fetch_positions(self, symbols: Sequence[str] | None) -> RestFlow[list[Position]]: ...
    def fetch_open_orders(self, symbol: str | None) -> RestFlow[list[Order]]: ...
    def fetch_order(
        self, symbol: str, id: str | None, client_order_id: str | None
    ) -> RestFlow[Order]: ...
    def fetch_orders_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Order]]: ...
    def fetch_my_trades(
        self, symbol: str | None, since: int | None, limit: int | None
    ) -> RestFlow[list[MyTrade]]: ...

    # -- command flows (one receipt per item, in request order; never raise for venue rejects)
    def create_orders(self, requests: Sequence[OrderRequest]) -> RestFlow[list[CommandReceipt]]: ...
    def edit_orders(self, requests: Sequence[EditRequest]) -> RestFlow[list[CommandReceipt]]: ...
    def cancel_orders(
        self, requests: Sequence[CancelRequest]
    ) -> RestFlow[list[CommandReceipt]]: ...
    def cancel_all_orders(self, symbol: str | None) -> RestFlow[list[CommandReceipt]]: ...
    def validate_order(self, request: OrderRequest) -> RestFlow[CommandReceipt]: ...
    def set_leverage(self, request: LeverageRequest) -> RestFlow[CommandReceipt]: ...
    def set_margin_mode(self, request: MarginModeRequest) -> RestFlow[CommandReceipt]: ...
    def set_position_mode(self, request: PositionModeRequest) -> RestFlow[CommandReceipt]: ...
    def classify_command_json(
        self, kind: CommandKind, payload: bytes | None
    ) -> list[CommandReceipt]: ...

    # -- public websocket
    def public_ws_url(self, endpoints: Endpoints, route: str) -> str: ...
    def public_topics(
        self,
        channel: Channel,
        symbol: str,
        *,
        interval: str | None = None,
        depth: int | None = None,
    ) -> list[Topic]: ...
    def max_topics_per_connection(self) -> int: ...
    def subscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes: ...
    def unsubscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes: ...
    def heartbeat(self) -> Heartbeat: ...
    def decode_public(self, frame: bytes | str) -> PublicFrame: ...
    def book_sync(self, spec: InstrumentSpec, depth: int | None) -> BookSync: ...

    # -- private websocket
    def private_session(
        self,
        endpoints: Endpoints,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> RestFlow[PrivateSession]: ...
    def decode_private(self, frame: bytes | str) -> PrivateFrame: ...

    # -- order websocket (raise Unsupported for ops the venue lacks)
    def ws_command_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int
    ) -> WsSession: ...
    def ws_command(
        self,
        kind: CommandKind,
        requests: Sequence[OrderRequest] | Sequence[EditRequest] | Sequence[CancelRequest],
        req_id: str,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> WsCommand: ...
    def ws_reply_id(self, frame: bytes | str) -> str | None: ...
    def ws_ping_frame(self) -> bytes | None: ...
