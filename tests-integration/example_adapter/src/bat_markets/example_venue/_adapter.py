"""``ExampleAdapter``: a complete, deliberately small venue adapter for a fictional exchange.

It shows every layer a real adapter has, at the smallest size that still means something:
identity and capabilities, endpoint presets, bundled metadata, request signing, error
classification, rate-limit headers, REST flows, and public websocket topics and decoding.
Everything it does not override raises ``Unsupported`` (from ``AdapterBase``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar
from urllib.parse import urlencode

import msgspec

from bat_markets.core import (
    AdapterBase,
    AuthError,
    Balance,
    BatMarketsError,
    Capabilities,
    Channel,
    Control,
    Credentials,
    DecodeError,
    Endpoints,
    Environment,
    ExchangeReject,
    Heartbeat,
    HttpRequest,
    InstrumentSpec,
    InstrumentStatus,
    PublicEvent,
    PublicFrame,
    RateLimited,
    RateLimitRule,
    RateLimitUsage,
    RestFlow,
    RestRequest,
    RestResponse,
    Side,
    StreamData,
    TemporaryUnavailable,
    Ticker,
    Topic,
    Trade,
)

from ._native import (
    NativeBalance,
    NativeError,
    NativeFrame,
    NativeInstrument,
    NativeTicker,
    NativeTime,
    NativeTrade,
)

__all__ = ["ExampleAdapter"]

T = TypeVar("T")


class _Ok(msgspec.Struct, Generic[T], frozen=True):
    """Success envelope: ``{"ok": true, "result": ...}``."""

    result: T


# Typed decoders are built once: decoding is the hot path.
_TIME = msgspec.json.Decoder(_Ok[NativeTime])
_INSTRUMENTS = msgspec.json.Decoder(_Ok[list[NativeInstrument]])
_TICKER = msgspec.json.Decoder(_Ok[NativeTicker])
_TRADES = msgspec.json.Decoder(_Ok[list[NativeTrade]])
_BALANCES = msgspec.json.Decoder(_Ok[list[NativeBalance]])
_ERROR = msgspec.json.Decoder(NativeError)
_FRAME = msgspec.json.Decoder(NativeFrame)
_FRAME_TRADES = msgspec.json.Decoder(list[NativeTrade])
_FRAME_TICKER = msgspec.json.Decoder(NativeTicker)
_ENCODE = msgspec.json.Encoder()

_BUNDLED = [
    InstrumentSpec(
        venue="example",
        symbol="BTC/USDT:USDT",
        id="BTC-USDT-PERP",
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=Decimal("0.1"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("5"),
        max_leverage=Decimal("50"),
    )
]

# Venue error codes that mean something more specific than "rejected".
_AUTH_CODES = frozenset({1002, 1003})  # bad key, bad signature
_CLOCK_CODE = 1004  # timestamp outside the receive window


def _decimal(value: str, field: str) -> Decimal:
    """A venue decimal string as ``Decimal``; anything else is a ``DecodeError`` (never a float)."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise DecodeError(
            f"example: {field} is not a decimal: {value!r}", venue="example"
        ) from None
    if not number.is_finite():
        raise DecodeError(f"example: {field} is not finite: {value!r}", venue="example")
    return number


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _optional(value: str | None, field: str) -> Decimal | None:
    return None if value is None else _decimal(value, field)


# --8<-- [start:identity]
class ExampleAdapter(AdapterBase):
    """The Example exchange: linear USDT perpetuals, HMAC-signed REST, JSON websocket."""

    id = "example"
    name = "Example"
    capabilities = Capabilities(
        methods=frozenset(
            {
                "markets",
                "load_markets",
                "fetch_ticker",
                "fetch_trades",
                "fetch_balance",
                "watch_ticker",
                "watch_trades",
            }
        ),
        ws_commands=frozenset(),  # no websocket order entry: every *_ws method is Unsupported
        max_batch_create=1,
        max_batch_edit=1,
        max_batch_cancel=1,
        ohlcv_intervals=(),
        order_book_depths=(),
        watch_book_depths=(),
        liquidations_complete=False,
        open_interest_push=False,
        position_mode_scope="account",
        margin_mode_scope="account",
        notes={"fetch_ohlcv": "the Example venue has no candle endpoint"},
    )
    rate_limit_rules: Sequence[RateLimitRule] = (
        RateLimitRule(key="weight", limit=600, window_s=60.0),
    )

    # --8<-- [end:identity]
    # --8<-- [start:metadata]
    # -- identity, endpoints, metadata ---------------------------------------------------------

    def endpoints(self, environment: Environment) -> Endpoints:
        if environment is Environment.MAINNET:
            return Endpoints(
                rest="https://api.example.invalid",
                public_ws="wss://stream.example.invalid/public",
                private_ws="wss://stream.example.invalid/private",
            )
        if environment is Environment.TESTNET:
            return Endpoints(
                rest="https://testnet.example.invalid",
                public_ws="wss://testnet-stream.example.invalid/public",
                private_ws="wss://testnet-stream.example.invalid/private",
            )
        raise self._unsupported(f"the {environment} environment", "use mainnet or testnet")

    def bundled_instruments(self) -> list[InstrumentSpec]:
        return list(_BUNDLED)

    # --8<-- [end:metadata]
    # --8<-- [start:plumbing]
    # -- REST plumbing -----------------------------------------------------------------------

    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest:
        """Encode the request; signed ones get ``hex(HMAC-SHA256(secret, ts+method+target+body))``."""
        query = urlencode(request.params)
        target = f"{request.path}?{query}" if query else request.path
        body = _ENCODE.encode(request.json) if request.json is not None else None
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if request.signed or request.keyed:
            if credentials is None:
                raise AuthError(
                    f"{self.name} {request.tag or request.path} needs API credentials",
                    venue=self.id,
                )
            headers["x-ex-key"] = credentials.api_key
        if request.signed:
            assert credentials is not None
            if credentials.key_type != "hmac":
                raise self._unsupported(f"{credentials.key_type} keys", "only HMAC keys exist")
            timestamp = str(timestamp_ms)
            payload = timestamp + request.method + target + (body or b"").decode()
            signature = hmac.new(
                credentials.secret.reveal().encode(), payload.encode(), hashlib.sha256
            ).hexdigest()
            headers["x-ex-ts"] = timestamp
            headers["x-ex-window"] = str(recv_window_ms)
            headers["x-ex-sign"] = signature
        return HttpRequest(
            method=request.method,
            target=target,
            headers=headers,
            body=body,
            weight=request.weight,
            order_weight=request.order_weight,
            idempotent=request.idempotent,
            tag=request.tag,
        )

    def classify_http_error(self, response: RestResponse) -> BatMarketsError | None:
        """``None`` for a success; otherwise the taxonomy error the response means."""
        if response.status < 400:
            return None
        try:
            native = _ERROR.decode(response.body)
        except msgspec.DecodeError:
            native = NativeError(ok=False, message=response.body[:200].decode(errors="replace"))

        def error(cls: type[BatMarketsError], message: str) -> BatMarketsError:
            return cls(
                message,
                venue=self.id,
                code=native.code,
                venue_message=native.message,
                http_status=response.status,
                retry_after=_retry_after(response.headers) if cls is RateLimited else None,
            )

        if response.status == 429:
            return error(RateLimited, "Example rate limit hit")
        if response.status >= 500:
            return error(TemporaryUnavailable, "Example is unavailable")
        if response.status == 401 or native.code in _AUTH_CODES or native.code == _CLOCK_CODE:
            return error(AuthError, "Example refused the credentials")
        return error(ExchangeReject, "Example rejected the request")

    def parse_rate_limits(
        self, headers: Mapping[str, str], endpoint: str | None = None
    ) -> list[RateLimitUsage]:
        used = headers.get("x-ratelimit-used")
        if used is None or not used.isdigit():
            return []
        return [RateLimitUsage(key="weight", used=int(used), limit=600, window_s=60.0)]

    def is_clock_error(self, error: BatMarketsError) -> bool:
        return error.venue == self.id and error.code == _CLOCK_CODE

    # --8<-- [end:plumbing]
    # --8<-- [start:flows]
    def _check(self, response: RestResponse) -> bytes:
        error = self.classify_http_error(response)
        if error is not None:
            raise error
        return response.body

    def _decode(self, decoder: msgspec.json.Decoder[_Ok[T]], body: bytes) -> T:
        try:
            return decoder.decode(body).result
        except msgspec.DecodeError as exc:
            raise DecodeError(f"Example sent an unexpected payload: {exc}", venue=self.id) from exc

    # -- public REST flows -------------------------------------------------------------------

    def server_time(self) -> RestFlow[int]:
        response = yield RestRequest(method="GET", path="/api/time", tag="server_time")
        return self._decode(_TIME, self._check(response)).server_time

    def load_markets(self) -> RestFlow[list[InstrumentSpec]]:
        response = yield RestRequest(method="GET", path="/api/instruments", tag="load_markets")
        return [self._instrument(n) for n in self._decode(_INSTRUMENTS, self._check(response))]

    def fetch_ticker(self, symbol: str) -> RestFlow[Ticker]:
        response = yield RestRequest(
            method="GET", path="/api/ticker", params=[("symbol", symbol)], tag="fetch_ticker"
        )
        return self._ticker(self._decode(_TICKER, self._check(response)))

    def fetch_trades(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Trade]]:
        params = [("symbol", symbol)]
        if since is not None:
            params.append(("since", str(since)))
        if limit is not None:
            params.append(("limit", str(limit)))
        response = yield RestRequest(
            method="GET", path="/api/trades", params=params, weight=5, tag="fetch_trades"
        )
        return [self._trade(t) for t in self._decode(_TRADES, self._check(response))]

    # -- private REST flows ------------------------------------------------------------------

    def fetch_balance(self) -> RestFlow[list[Balance]]:
        response = yield RestRequest(
            method="GET", path="/api/balance", signed=True, weight=5, tag="fetch_balance"
        )
        return [
            Balance(
                asset=b.asset,
                wallet_balance=_decimal(b.total, "total"),
                available=_decimal(b.free, "free"),
            )
            for b in self._decode(_BALANCES, self._check(response))
        ]

    # --8<-- [end:flows]
    # --8<-- [start:websocket]
    # -- public websocket --------------------------------------------------------------------

    def public_topics(
        self,
        channel: Channel,
        symbol: str,
        *,
        interval: str | None = None,
        depth: int | None = None,
    ) -> list[Topic]:
        if channel is Channel.TRADES:
            return [Topic(name=f"trades.{symbol}")]
        if channel is Channel.TICKER:
            return [Topic(name=f"ticker.{symbol}")]
        return super().public_topics(channel, symbol, interval=interval, depth=depth)

    def max_topics_per_connection(self) -> int:
        return 50

    def subscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return _ENCODE.encode({"op": "subscribe", "id": req_id, "topics": list(topics)})

    def unsubscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return _ENCODE.encode({"op": "unsubscribe", "id": req_id, "topics": list(topics)})

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(interval_s=15.0, frame=b'{"op":"ping"}', idle_timeout_s=45.0)

    def decode_public(self, frame: bytes | str) -> PublicFrame:
        """One websocket frame to ``StreamData`` (trades, ticker) or a ``Control`` frame.

        A malformed frame raises ``DecodeError``: the runtime counts it and keeps the stream.
        """
        try:
            native = _FRAME.decode(frame)
            if native.topic is not None and len(native.data):
                kind, _, _symbol = native.topic.partition(".")
                events: list[PublicEvent]
                if kind == "trades":
                    events = [self._trade(t) for t in _FRAME_TRADES.decode(native.data)]
                elif kind == "ticker":
                    events = [self._ticker(_FRAME_TICKER.decode(native.data))]
                else:
                    return Control(kind="unknown", message=f"unknown topic {native.topic}")
                return StreamData(topic=native.topic, events=events)
        except msgspec.DecodeError as exc:
            raise DecodeError(f"Example sent a malformed frame: {exc}", venue=self.id) from exc
        req_id = None if native.id is None else str(native.id)
        if native.op == "subscribed":
            return Control(kind="ack", req_id=req_id, topics=native.topics)
        if native.op == "pong":
            return Control(kind="pong")
        if native.op == "error":
            return Control(kind="error", req_id=req_id, ok=False, message=native.message)
        return Control(kind="unknown", message=f"unexpected frame op={native.op!r}")

    # --8<-- [end:websocket]
    # --8<-- [start:convert]
    # -- native -> unified -------------------------------------------------------------------

    def _instrument(self, n: NativeInstrument) -> InstrumentSpec:
        return InstrumentSpec(
            venue=self.id,
            symbol=f"{n.base}/{n.quote}:{n.quote}",
            id=n.symbol,
            base=n.base,
            quote=n.quote,
            settle=n.quote,
            status=InstrumentStatus.TRADING if n.status == "open" else InstrumentStatus.HALTED,
            tick_size=_decimal(n.tick, "tick"),
            step_size=_decimal(n.step, "step"),
            min_qty=_decimal(n.min_qty, "min_qty"),
            min_notional=_decimal(n.min_notional, "min_notional"),
        )

    def _ticker(self, n: NativeTicker) -> Ticker:
        return Ticker(
            symbol=self.markets.unified(n.symbol),
            timestamp=n.ts,
            last=_decimal(n.last, "last"),
            bid=_optional(n.bid, "bid"),
            ask=_optional(n.ask, "ask"),
            volume=_optional(n.volume, "volume"),
        )

    def _trade(self, n: NativeTrade) -> Trade:
        return Trade(
            symbol=self.markets.unified(n.symbol),
            id=n.id,
            timestamp=n.ts,
            price=_decimal(n.price, "price"),
            amount=_decimal(n.qty, "qty"),
            side=Side(n.taker),
        )

    # --8<-- [end:convert]
