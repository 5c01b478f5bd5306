"""``BinanceAdapter``: the Binance USD-M venue adapter (sans-I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    BookSync,
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
    Heartbeat,
    HttpRequest,
    InstrumentSpec,
    Markets,
    Order,
    OrderRequest,
    PrivateFrame,
    PrivateSession,
    PublicFrame,
    RateLimitRule,
    RateLimitUsage,
    RestFlow,
    RestRequest,
    RestResponse,
    Topic,
    UnknownExecution,
    WsCommand,
    WsSession,
)

from ._book_sync import BinanceBookSync, PartialBookSync
from ._capabilities import CAPABILITIES, INTERVALS, PARTIAL_DEPTHS
from ._commands_flow import CommandMixin
from ._convert import algo_order_from_native, order_from_native, parse_algo_id
from ._endpoints import endpoints_for, private_ws_url
from ._endpoints import public_ws_url as _public_ws_url
from ._errors import CLOCK_CODES, RATE_LIMIT_RULES, VENUE, classify
from ._errors import parse_rate_limits as _parse_rate_limits
from ._instruments import bundled_instruments as _bundled
from ._native import NativeAlgoOrder, NativeCodeMsg, NativeListenKey, NativeOrder, decode
from ._orders import algo_cancel_params, algo_params, edit_params, is_algo_request, order_params
from ._private_ws import decode_private as _decode_private
from ._public_ws import PublicDecoder
from ._public_ws import subscribe_frame as _subscribe
from ._public_ws import unsubscribe_frame as _unsubscribe
from ._receipts import accepted, from_error, unknown
from ._rest_private import PrivateRestMixin, cancel_params_for
from ._rest_public import PublicRestMixin
from ._signing import encode_params, signature_param
from ._wsapi import decode_response, reply_id, session_logon, ws_params, ws_request

__all__ = ["BinanceAdapter", "create_adapter"]

_FORM = "application/x-www-form-urlencoded"
_any = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()
_code_msg = msgspec.json.Decoder(NativeCodeMsg)
_LISTEN_KEY = "/fapi/v1/listenKey"


class BinanceAdapter(CommandMixin, PrivateRestMixin, PublicRestMixin):
    """Binance USD-M futures: request building, signing, decoding, book sync, errors.

    Symbols given to flows are native ids (``"BTCUSDT"``); results carry unified symbols
    (``"BTC/USDT:USDT"``). Conditional orders live on the algo service and their ids are
    ``"algo:<algoId>"``.
    """

    id = "binance"
    name = "Binance USD-M"
    capabilities = CAPABILITIES
    rate_limit_rules: Sequence[RateLimitRule] = RATE_LIMIT_RULES

    def __init__(self) -> None:
        super().__init__()
        self._decoder = PublicDecoder(self._unified)
        self._decoder_markets: Markets = self.markets

    # -- identity, endpoints, metadata
    def endpoints(self, environment: Environment) -> Endpoints:
        return endpoints_for(environment)

    def bundled_instruments(self) -> list[InstrumentSpec]:
        return _bundled()

    def new_client_order_id(self, prefix: str = "bm") -> str:
        """``<prefix>-<26 random alphanumerics>``; the prefix is cut to 8 characters of
        ``[A-Za-z0-9_]`` so any configured prefix yields an id Binance accepts (1-36 chars)."""
        clean = "".join(c for c in prefix if c.isascii() and (c.isalnum() or c == "_"))[:8]
        return super().new_client_order_id(clean or "bm")

    # -- REST plumbing
    def prepare(
        self,
        request: RestRequest,
        credentials: Credentials | None,
        timestamp_ms: int,
        recv_window_ms: int,
    ) -> HttpRequest:
        """Encode (percent-encoded UTF-8) and sign: GET/DELETE in the query, POST/PUT as a form
        body; the signature covers exactly the transmitted bytes and is the last parameter."""
        if request.json is not None:
            raise ConfigError("Binance requests carry no JSON body", venue=VENUE)
        headers: dict[str, str] = {}
        if request.signed or request.keyed:
            if credentials is None:
                raise AuthError(
                    f"{request.tag or request.path} needs Binance API credentials "
                    "(BINANCE_API_KEY / BINANCE_API_SECRET)",
                    venue=VENUE,
                )
            headers["X-MBX-APIKEY"] = credentials.api_key
        params = list(request.params)
        if request.signed:
            params.append(("recvWindow", str(int(recv_window_ms))))
            params.append(("timestamp", str(int(timestamp_ms))))
        encoded = encode_params(params)
        if request.signed:
            assert credentials is not None
            encoded = f"{encoded}&{signature_param(credentials, encoded)}"
        body: bytes | None = None
        target = request.path
        if request.method in ("POST", "PUT"):
            if encoded:
                body = encoded.encode("ascii")
                headers["Content-Type"] = _FORM
        elif encoded:
            target = f"{request.path}?{encoded}"
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
        return classify(response.status, response.headers, response.body, write=True)

    def parse_rate_limits(
        self, headers: Mapping[str, str], endpoint: str | None = None
    ) -> list[RateLimitUsage]:
        return _parse_rate_limits(headers)

    def is_clock_error(self, error: BatMarketsError) -> bool:
        return error.venue in (None, VENUE) and error.code in CLOCK_CODES

    def classify_command_json(
        self, kind: CommandKind, payload: bytes | None
    ) -> list[CommandReceipt]:
        """Receipts from a raw command answer: a REST body or a WS API response frame."""
        if payload is None:
            return [unknown(kind, UnknownExecution("no answer", venue=VENUE), symbol=None)]
        try:
            obj = _any.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return [self._unreadable(kind, DecodeError("not JSON", venue=VENUE), None, None, None)]
        if isinstance(obj, dict) and "status" in obj and ("result" in obj or "error" in obj):
            return _ws_receipts(self, kind, payload)
        elements = obj if isinstance(obj, list) and obj else [obj]
        out = []
        for element in elements:
            raw = _encoder.encode(element)
            code = element.get("code") if isinstance(element, dict) else None
            if isinstance(element, dict) and "algoId" in element:
                out.append(self._order_receipt(kind, raw, symbol=None, algo=True))
            elif isinstance(element, dict) and "orderId" in element:
                out.append(self._order_receipt(kind, raw, symbol=None))
            elif code in (200, "200") or (isinstance(code, int) and code < 0):
                out.append(
                    self._code_receipt(kind, RestResponse(status=200, headers={}, body=raw), None)
                )
            else:  # a shape no Binance command answer has: the outcome is not known
                bad = DecodeError("unrecognised command answer", venue=VENUE)
                out.append(self._unreadable(kind, bad, None, None, None))
        return out

    # -- public websocket
    def public_ws_url(self, endpoints: Endpoints, route: str) -> str:
        return _public_ws_url(endpoints, route)

    def public_topics(
        self,
        channel: Channel,
        symbol: str,
        *,
        interval: str | None = None,
        depth: int | None = None,
    ) -> list[Topic]:
        s = self._native(symbol).lower()
        channel = Channel(channel)
        if channel is Channel.ORDER_BOOK:
            if depth in PARTIAL_DEPTHS:
                return [Topic(name=f"{s}@depth{depth}@100ms", route="public")]
            if depth is None or 0 <= depth <= 1000:
                return [Topic(name=f"{s}@depth@100ms", route="public")]
            raise self._unsupported(
                f"watch_order_book depth {depth}", "snapshots hold at most 1000 levels"
            )
        if channel is Channel.BOOK_TOP:
            return [Topic(name=f"{s}@bookTicker", route="public")]
        if channel is Channel.TRADES:
            return [Topic(name=f"{s}@aggTrade", route="market")]
        if channel is Channel.TICKER:
            return [Topic(name=f"{s}@ticker", route="market")]
        if channel is Channel.OHLCV:
            if interval not in INTERVALS:
                raise ConfigError(
                    f"Binance has no {interval!r} candles; use one of {', '.join(INTERVALS)}",
                    venue=VENUE,
                )
            return [Topic(name=f"{s}@kline_{interval}", route="market")]
        if channel in (Channel.MARK_PRICE, Channel.FUNDING_RATE):
            return [Topic(name=f"{s}@markPrice@1s", route="market")]
        if channel is Channel.LIQUIDATIONS:
            return [Topic(name=f"{s}@forceOrder", route="market")]
        raise self._unsupported(
            f"watch {channel.value} as a stream",
            "there is no open-interest stream; poll GET /fapi/v1/openInterest",
        )

    def max_topics_per_connection(self) -> int:
        return 200

    def subscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return _subscribe(list(topics), req_id)

    def unsubscribe_frame(self, topics: Sequence[str], req_id: int) -> bytes:
        return _unsubscribe(list(topics), req_id)

    def heartbeat(self) -> Heartbeat:
        # the server pings every 3 min; our pings keep quiet streams provably alive
        return Heartbeat(interval_s=20.0, frame=None, idle_timeout_s=60.0)

    def decode_public(self, frame: bytes | str) -> PublicFrame:
        if self.markets is not self._decoder_markets:
            self._decoder.reset_symbols(self._unified)
            self._decoder_markets = self.markets
        return self._decoder.decode(frame)

    def book_sync(self, spec: InstrumentSpec, depth: int | None) -> BookSync:
        if depth in PARTIAL_DEPTHS:
            assert depth is not None
            return PartialBookSync(spec, depth)
        if depth is None or 0 <= depth <= 1000:
            return BinanceBookSync(spec, snapshot_limit=1000)
        raise self._unsupported(
            f"watch_order_book depth {depth}", "snapshots hold at most 1000 levels"
        )

    # -- private websocket
    def private_session(
        self,
        endpoints: Endpoints,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> RestFlow[PrivateSession]:
        """POST a listenKey, connect to it, PUT it every 30 min to keep it alive."""
        n = yield from self._get(
            RestRequest(method="POST", path=_LISTEN_KEY, keyed=True, tag="listen_key"),
            NativeListenKey,
            "listenKey",
        )
        return PrivateSession(
            url=private_ws_url(endpoints, n.listenKey),
            keepalive=RestRequest(
                method="PUT", path=_LISTEN_KEY, keyed=True, tag="listen_key_keepalive"
            ),
            keepalive_interval_s=30 * 60.0,
            max_age_s=23.5 * 3600,
        )

    def close_listen_key(self) -> RestFlow[None]:
        """``DELETE /fapi/v1/listenKey`` (kills the key for every client of the account)."""
        yield from self._read(
            RestRequest(method="DELETE", path=_LISTEN_KEY, keyed=True, tag="listen_key_close")
        )
        return None

    def decode_private(self, frame: bytes | str) -> PrivateFrame:
        return _decode_private(frame, self._unified)

    # -- order websocket (ws-fapi)
    def ws_command_session(
        self, endpoints: Endpoints, credentials: Credentials, now_ms: int
    ) -> WsSession:
        if not endpoints.command_ws:
            raise self._unsupported("websocket order entry", "no command_ws endpoint configured")
        if credentials.key_type != "ed25519":
            # session.logon needs an Ed25519 key; every request is signed on its own anyway
            return WsSession(url=endpoints.command_ws)
        req_id = f"logon-{now_ms}"
        return WsSession(
            url=endpoints.command_ws,
            auth_frame=session_logon(req_id, credentials, now_ms),
            auth_req_id=req_id,
        )

    def ws_command(
        self,
        kind: CommandKind,
        requests: Sequence[OrderRequest] | Sequence[EditRequest] | Sequence[CancelRequest],
        req_id: str,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> WsCommand:
        kind = CommandKind(kind)
        if kind is CommandKind.CANCEL_ALL_ORDERS:
            raise self._unsupported("cancel_all_orders_ws", "ws-fapi has no cancel-all method")
        if kind not in (CommandKind.CREATE_ORDER, CommandKind.EDIT_ORDER, CommandKind.CANCEL_ORDER):
            raise self._unsupported(f"{kind.value}_ws")
        if len(requests) != 1:
            raise self._unsupported(
                f"{kind.value.replace('_order', '_orders')}_ws",
                "ws-fapi has no batch methods (batches are REST only)",
            )
        req: Any = self._native_request(requests[0])
        method, params = _ws_method(kind, req)
        frame = ws_request(method, ws_params(params), req_id, credentials, now_ms, recv_window_ms)
        symbol = self._unified(req.symbol)
        oid = getattr(req, "id", None)
        cid = getattr(req, "client_order_id", None)

        def decode_reply(reply: bytes) -> list[CommandReceipt]:
            return _ws_receipts(self, kind, reply, symbol=symbol, order_id=oid, client_order_id=cid)

        def no_reply(err: BatMarketsError) -> list[CommandReceipt]:
            return [from_error(kind, err, symbol=symbol, order_id=oid, client_order_id=cid)]

        return WsCommand(
            req_id=req_id, frame=frame, kind=kind, decode=decode_reply, unknown=no_reply
        )

    def ws_order_status_frame(
        self,
        symbol: str,
        id: str | None,
        client_order_id: str | None,
        req_id: str,
        credentials: Credentials,
        now_ms: int,
        recv_window_ms: int,
    ) -> bytes:
        """``order.status`` request (decode the answer with ``decode_ws_order``)."""
        if parse_algo_id(id) is not None:
            raise self._unsupported("order.status for algo orders", "use fetch_order")
        params = cancel_params_for(self._native(symbol), id, client_order_id)
        return ws_request(
            "order.status", ws_params(params), req_id, credentials, now_ms, recv_window_ms
        )

    def decode_ws_order(self, frame: bytes | str) -> Order:
        """The order in a successful ``order.*`` / ``algoOrder.place`` WS API answer."""
        try:
            resp = decode_response(frame)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise DecodeError(f"Binance WS API answer: {exc}", venue=VENUE) from None
        body = resp.result_body
        if resp.error is not None or body is None:
            code = resp.error.code if resp.error is not None else None
            msg = resp.error.msg if resp.error is not None else "no result"
            err = classify(
                resp.status,
                None,
                _encoder.encode({"code": code, "msg": msg}),
                write=False,
            )
            raise err or DecodeError("Binance WS API answer without result", venue=VENUE)
        if b'"algoId"' in body:
            return algo_order_from_native(
                decode(body, NativeAlgoOrder, "algo order"), self._unified
            )
        return order_from_native(decode(body, NativeOrder, "order"), self._unified)

    def ws_reply_id(self, frame: bytes | str) -> str | None:
        return reply_id(frame)

    def ws_ping_frame(self) -> bytes | None:
        return None


def _ws_method(kind: CommandKind, req: Any) -> tuple[str, list[tuple[str, str]]]:
    if kind is CommandKind.CREATE_ORDER:
        if is_algo_request(req):
            return "algoOrder.place", algo_params(req)
        return "order.place", order_params(req)
    if kind is CommandKind.EDIT_ORDER:
        return "order.modify", edit_params(req)
    algo_id = parse_algo_id(req.id)
    if algo_id is not None:
        return "algoOrder.cancel", algo_cancel_params(algo_id, None)
    return "order.cancel", cancel_params_for(req.symbol, req.id, req.client_order_id)


def _ws_receipts(
    adapter: BinanceAdapter,
    kind: CommandKind,
    reply: bytes,
    *,
    symbol: str | None = None,
    order_id: str | None = None,
    client_order_id: str | None = None,
) -> list[CommandReceipt]:
    try:
        resp = decode_response(reply)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        bad = DecodeError(f"unreadable WS API answer ({exc})", venue=VENUE)
        return [adapter._unreadable(kind, bad, symbol, order_id, client_order_id)]
    body = resp.result_body
    if resp.error is not None or resp.status != 200:
        code = resp.error.code if resp.error is not None else None
        msg = (resp.error.msg if resp.error is not None else None) or ""
        status = resp.status if resp.status != 200 else 400
        err = classify(status, None, _encoder.encode({"code": code, "msg": msg}), write=True)
        if err is None:  # a 2xx status other than 200 with an error object
            err = DecodeError(f"WS API answer {resp.status} with an error", venue=VENUE)
        return [
            from_error(kind, err, symbol=symbol, order_id=order_id, client_order_id=client_order_id)
        ]
    if body is None:
        bad = DecodeError("WS API answer without result", venue=VENUE)
        return [adapter._unreadable(kind, bad, symbol, order_id, client_order_id)]
    try:
        probe = _code_msg.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        probe = None
    if probe is not None and probe.algoId is not None:
        return [
            adapter._order_receipt(
                kind,
                body,
                symbol=symbol,
                order_id=order_id,
                client_order_id=client_order_id,
                algo=True,
            )
        ]
    if b'"orderId"' in body:
        return [
            adapter._order_receipt(
                kind, body, symbol=symbol, order_id=order_id, client_order_id=client_order_id
            )
        ]
    return [accepted(kind, symbol=symbol, order_id=order_id, client_order_id=client_order_id)]


def create_adapter() -> BinanceAdapter:
    """Entry point of the ``bat_markets.venues`` group: a fresh adapter."""
    return BinanceAdapter()
