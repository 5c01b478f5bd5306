"""Command flows: create / edit / cancel (single, batch, all), settings, validation.

Every flow returns one receipt per item in request order and never raises for venue answers:
rejections become REJECTED receipts, no-op codes ACCEPTED(noop), ambiguous answers and transport
failures thrown in by the runtime UNKNOWN receipts for that request's items only; the flow then
carries on with the remaining chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from bat_markets.core import (
    BatMarketsError,
    CancelRequest,
    CommandKind,
    CommandReceipt,
    ConfigError,
    DecodeError,
    EditRequest,
    LeverageRequest,
    MarginMode,
    MarginModeRequest,
    OrderRequest,
    PositionMode,
    PositionModeRequest,
    RestFlow,
    RestRequest,
    RestResponse,
    UnknownExecution,
    Unsupported,
)

from ._convert import algo_order_from_native, algo_order_id, order_from_native, parse_algo_id
from ._errors import VENUE, classify, classify_code
from ._flows import FlowBase, Step
from ._native import NativeAlgoOrder, NativeCodeMsg, NativeLeverage, NativeOrder, decode
from ._orders import (
    ALGO_PATH,
    ORDER_PATH,
    Params,
    algo_cancel_params,
    algo_params,
    cancel_params,
    edit_params,
    is_algo_request,
    order_params,
)
from ._receipts import accepted, from_error, rejected, unknown

__all__ = ["CommandMixin", "BATCH_CREATE", "BATCH_EDIT", "BATCH_CANCEL"]

BATCH_CREATE = 5
BATCH_EDIT = 5
BATCH_CANCEL = 10
_BATCH_PATH = "/fapi/v1/batchOrders"
_UNKNOWN_ORDER = frozenset({-2011, -2013})
# create / edit chunks: HTTP method, tag of the one-order request, tag of the batch request
_CHUNK_WRITES = {
    CommandKind.CREATE_ORDER: ("POST", "create_order", "create_orders"),
    CommandKind.EDIT_ORDER: ("PUT", "edit_order", "edit_orders"),
}
_json = msgspec.json.Encoder()
_items = msgspec.json.Decoder(list[msgspec.Raw])
_code_msg = msgspec.json.Decoder(NativeCodeMsg)

_Item = tuple[int, Params]


class _SymbolOnly(msgspec.Struct, gc=False):
    symbol: str


def _batch_json(params: Params) -> str:
    obj: dict[str, Any] = {}
    for key, value in params:
        obj[key] = int(value) if key == "orderId" else value
    return _json.encode(obj).decode()


def _write(
    method: str, path: str, params: Params, *, tag: str, weight: int = 1, orders: int = 0
) -> RestRequest:
    return RestRequest(
        method=method,  # type: ignore[arg-type]
        path=path,
        params=params,
        signed=True,
        weight=weight,
        order_weight=orders,
        idempotent=False,
        tag=tag,
    )


def _element_error(raw: bytes) -> BatMarketsError | None:
    """A batch element that is ``{"code": <negative>, "msg": ...}``."""
    try:
        cm = _code_msg.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    code = cm.code
    if isinstance(code, str):
        try:
            code = int(code)
        except ValueError:
            return None
    if isinstance(code, int) and code < 0:
        return classify_code(code, cm.msg or "", write=True)
    return None


class CommandMixin(FlowBase):
    """Command flows."""

    # -- answers -> receipts
    def _order_receipt(
        self,
        kind: CommandKind,
        body: bytes,
        *,
        symbol: str | None,
        order_id: str | None = None,
        client_order_id: str | None = None,
        algo: bool = False,
    ) -> CommandReceipt:
        """The receipt of one order answer (``algo``: of the algo service)."""
        err = _element_error(body)
        if err is not None:
            return from_error(
                kind, err, symbol=symbol, order_id=order_id, client_order_id=client_order_id
            )
        try:
            if not algo:
                order = order_from_native(decode(body, NativeOrder, "order"), self._unified)
            elif kind is CommandKind.CANCEL_ORDER:  # {"algoId", "clientAlgoId", "code": "200"}
                cm = decode(body, NativeCodeMsg, "algo cancel")
                if cm.algoId is None:
                    raise DecodeError("algo cancel answer without algoId", venue=VENUE)
                return accepted(
                    kind,
                    symbol=symbol,
                    order_id=algo_order_id(cm.algoId),
                    client_order_id=cm.clientAlgoId or client_order_id,
                )
            else:
                order = algo_order_from_native(
                    decode(body, NativeAlgoOrder, "algo order"), self._unified
                )
        except DecodeError as exc:
            return self._unreadable(kind, exc, symbol, order_id, client_order_id)
        return accepted(kind, symbol=order.symbol, order=order)

    @staticmethod
    def _unreadable(
        kind: CommandKind,
        exc: BatMarketsError,
        symbol: str | None,
        order_id: str | None,
        client_order_id: str | None,
    ) -> CommandReceipt:
        err = UnknownExecution(
            f"Binance accepted the request but its answer is unreadable ({exc.message}); "
            "outcome unknown, reconcile",
            venue=VENUE,
        )
        return unknown(kind, err, symbol=symbol, order_id=order_id, client_order_id=client_order_id)

    def _write_one(
        self,
        kind: CommandKind,
        request: RestRequest,
        *,
        symbol: str | None,
        order_id: str | None = None,
        client_order_id: str | None = None,
        algo: bool = False,
    ) -> Step[CommandReceipt]:
        """Send one order write; its failure or its (algo) order answer becomes the receipt."""
        result = yield from self._send(request)
        if isinstance(result, BatMarketsError):
            return from_error(
                kind, result, symbol=symbol, order_id=order_id, client_order_id=client_order_id
            )
        return self._order_receipt(
            kind,
            result.body,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            algo=algo,
        )

    def _batch(
        self,
        kind: CommandKind,
        request: RestRequest,
        items: list[_Item],
        refs: list[tuple[str | None, str | None, str | None]],
        receipts: list[CommandReceipt | None],
    ) -> Step[None]:
        """Send one batch request and fill the receipts of its ``items``."""
        result = yield from self._send(request)
        if isinstance(result, BatMarketsError):
            for (i, _), (sym, oid, cid) in zip(items, refs, strict=True):
                receipts[i] = from_error(
                    kind, result, symbol=sym, order_id=oid, client_order_id=cid
                )
            return None
        try:
            elements = _items.decode(result.body)
            if len(elements) != len(items):
                raise DecodeError(
                    f"{len(elements)} answers for {len(items)} batch items", venue=VENUE
                )
        except (msgspec.DecodeError, UnicodeDecodeError, DecodeError) as exc:
            bad = exc if isinstance(exc, DecodeError) else DecodeError(str(exc), venue=VENUE)
            for (i, _), (sym, oid, cid) in zip(items, refs, strict=True):
                receipts[i] = self._unreadable(kind, bad, sym, oid, cid)
            return None
        for (i, _), (sym, oid, cid), raw in zip(items, refs, elements, strict=True):
            receipts[i] = self._order_receipt(
                kind, bytes(raw), symbol=sym, order_id=oid, client_order_id=cid
            )
        return None

    def _native_request(self, request: Any) -> Any:
        return msgspec.structs.replace(request, symbol=self._native(request.symbol))

    # -- create
    def create_orders(self, requests: Sequence[OrderRequest]) -> RestFlow[list[CommandReceipt]]:
        kind = CommandKind.CREATE_ORDER
        receipts: list[CommandReceipt | None] = [None] * len(requests)
        chunk: list[_Item] = []
        refs: list[tuple[str | None, str | None, str | None]] = []
        for i, original in enumerate(requests):
            cid = getattr(original, "client_order_id", None)
            try:
                req = self._native_request(original)
                algo = is_algo_request(req)
                params = algo_params(req) if algo else order_params(req)
            except (ConfigError, Unsupported) as exc:
                receipts[i] = from_error(
                    kind, exc, symbol=self._safe_unified(original), client_order_id=cid
                )
                continue
            symbol = self._unified(req.symbol)
            if algo:
                if chunk:  # keep the request order: flush the regular orders before this one
                    yield from self._write_chunk(kind, chunk, refs, receipts)
                    chunk, refs = [], []
                receipts[i] = yield from self._write_one(
                    kind,
                    _write("POST", ALGO_PATH, params, tag="create_algo_order", weight=0, orders=1),
                    symbol=symbol,
                    client_order_id=cid,
                    algo=True,
                )
                continue
            chunk.append((i, params))
            refs.append((symbol, None, cid))
            if len(chunk) == BATCH_CREATE:
                yield from self._write_chunk(kind, chunk, refs, receipts)
                chunk, refs = [], []
        if chunk:
            yield from self._write_chunk(kind, chunk, refs, receipts)
        return _complete(receipts)

    def _write_chunk(
        self,
        kind: CommandKind,
        chunk: list[_Item],
        refs: list[tuple[str | None, str | None, str | None]],
        receipts: list[CommandReceipt | None],
    ) -> Step[None]:
        """Send creates or edits: one item on the order endpoint, more as one batch request."""
        method, one_tag, batch_tag = _CHUNK_WRITES[kind]
        if len(chunk) == 1:
            (i, params), (symbol, oid, cid) = chunk[0], refs[0]
            receipts[i] = yield from self._write_one(
                kind,
                _write(method, ORDER_PATH, params, tag=one_tag, weight=0, orders=1),
                symbol=symbol,
                order_id=oid,
                client_order_id=cid,
            )
            return None
        batch = "[" + ",".join(_batch_json(p) for _, p in chunk) + "]"
        request = _write(
            method,
            _BATCH_PATH,
            [("batchOrders", batch)],
            tag=batch_tag,
            weight=5,
            orders=len(chunk),
        )
        yield from self._batch(kind, request, chunk, refs, receipts)
        return None

    # -- edit
    def edit_orders(self, requests: Sequence[EditRequest]) -> RestFlow[list[CommandReceipt]]:
        kind = CommandKind.EDIT_ORDER
        receipts: list[CommandReceipt | None] = [None] * len(requests)
        chunk: list[_Item] = []
        refs: list[tuple[str | None, str | None, str | None]] = []
        for i, original in enumerate(requests):
            oid, cid = getattr(original, "id", None), getattr(original, "client_order_id", None)
            try:
                req = self._native_request(original)
                params = edit_params(req)
            except (ConfigError, Unsupported) as exc:
                receipts[i] = from_error(
                    kind,
                    exc,
                    symbol=self._safe_unified(original),
                    order_id=oid,
                    client_order_id=cid,
                )
                continue
            chunk.append((i, params))
            refs.append((self._unified(req.symbol), oid, cid))
            if len(chunk) == BATCH_EDIT:
                yield from self._write_chunk(kind, chunk, refs, receipts)
                chunk, refs = [], []
        if chunk:
            yield from self._write_chunk(kind, chunk, refs, receipts)
        return _complete(receipts)

    # -- cancel
    def cancel_orders(self, requests: Sequence[CancelRequest]) -> RestFlow[list[CommandReceipt]]:
        kind = CommandKind.CANCEL_ORDER
        receipts: list[CommandReceipt | None] = [None] * len(requests)
        by_symbol: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            try:
                native = self._native(req.symbol)
                algo_id = parse_algo_id(req.id)
                if algo_id is not None:
                    algo_cancel_params(algo_id, None)
                else:
                    cancel_params(msgspec.structs.replace(req, symbol=native))
            except ConfigError as exc:
                receipts[i] = from_error(
                    kind,
                    exc,
                    symbol=self._safe_unified(req),
                    order_id=req.id,
                    client_order_id=req.client_order_id,
                )
                continue
            by_symbol.setdefault(native, []).append(i)
        for native, indices in by_symbol.items():
            symbol = self._unified(native)
            by_id: list[int] = []
            by_cid: list[int] = []
            for i in indices:
                req = requests[i]
                algo_id = parse_algo_id(req.id)
                if algo_id is not None:
                    receipts[i] = yield from self._cancel_algo(algo_id, None, symbol, req)
                elif req.id is not None:
                    by_id.append(i)
                else:
                    by_cid.append(i)
            for group, key in ((by_id, "orderIdList"), (by_cid, "origClientOrderIdList")):
                for start in range(0, len(group), BATCH_CANCEL):
                    part = group[start : start + BATCH_CANCEL]
                    yield from self._cancel_chunk(native, symbol, part, key, requests, receipts)
            # a client id unknown to the matching engine may name a conditional (algo) order
            for i in by_cid:
                receipt = receipts[i]
                if (
                    receipt is not None
                    and receipt.error is not None
                    and not receipt.ok
                    and receipt.error.code in _UNKNOWN_ORDER
                ):
                    retry = yield from self._cancel_algo(
                        None, requests[i].client_order_id, symbol, requests[i]
                    )
                    if retry.ok:
                        receipts[i] = retry
        return _complete(receipts)

    def _cancel_algo(
        self, algo_id: str | None, client_algo_id: str | None, symbol: str, req: CancelRequest
    ) -> Step[CommandReceipt]:
        kind = CommandKind.CANCEL_ORDER
        try:
            params = algo_cancel_params(algo_id, client_algo_id)
        except ConfigError as exc:
            return from_error(
                kind, exc, symbol=symbol, order_id=req.id, client_order_id=req.client_order_id
            )
        return (
            yield from self._write_one(
                kind,
                _write("DELETE", ALGO_PATH, params, tag="cancel_algo_order"),
                symbol=symbol,
                order_id=req.id,
                client_order_id=req.client_order_id,
                algo=True,
            )
        )

    def _cancel_chunk(
        self,
        native: str,
        symbol: str,
        part: list[int],
        key: str,
        requests: Sequence[CancelRequest],
        receipts: list[CommandReceipt | None],
    ) -> Step[None]:
        kind = CommandKind.CANCEL_ORDER
        refs: list[tuple[str | None, str | None, str | None]] = [
            (symbol, requests[i].id, requests[i].client_order_id) for i in part
        ]
        # every item was validated before grouping, so building params cannot fail here
        items = [
            (i, cancel_params(msgspec.structs.replace(requests[i], symbol=native))) for i in part
        ]
        if len(items) == 1:
            i, params = items[0]
            sym, oid, cid = refs[0]
            receipts[i] = yield from self._write_one(
                kind,
                _write("DELETE", ORDER_PATH, params, tag="cancel_order"),
                symbol=sym,
                order_id=oid,
                client_order_id=cid,
            )
            return None
        values: list[Any] = [
            int(v) if key == "orderIdList" else v for _, p in items for k, v in p if k != "symbol"
        ]
        request = _write(
            "DELETE",
            _BATCH_PATH,
            [("symbol", native), (key, _json.encode(values).decode())],
            tag="cancel_orders",
        )
        yield from self._batch(kind, request, items, refs, receipts)
        return None

    def cancel_all_orders(self, symbol: str | None) -> RestFlow[list[CommandReceipt]]:
        kind = CommandKind.CANCEL_ALL_ORDERS
        if symbol:
            try:
                natives = [self._native(symbol)]
            except ConfigError as exc:
                return [from_error(kind, exc, symbol=symbol)]
        else:
            # the venue cancels per symbol only: list what is open, then cancel each symbol
            found: set[str] = set()
            for path in ("/fapi/v1/openOrders", "/fapi/v1/openAlgoOrders"):
                request = RestRequest(
                    method="GET", path=path, signed=True, weight=40, tag="cancel_all_list"
                )
                try:
                    rows = yield from self._get(request, list[_SymbolOnly], "open orders")
                except BatMarketsError as exc:  # nothing was cancelled
                    return [rejected(kind, exc)]
                found.update(r.symbol for r in rows)
            natives = sorted(found)
            if not natives:
                return [accepted(kind, symbol=None, noop=True)]
        receipts: list[CommandReceipt] = []
        for native in natives:
            sym = self._unified(native)
            for path, tag in (
                ("/fapi/v1/allOpenOrders", "cancel_all_orders"),
                ("/fapi/v1/algoOpenOrders", "cancel_all_algo_orders"),
            ):
                result = yield from self._send(
                    _write("DELETE", path, [("symbol", native)], tag=tag)
                )
                if isinstance(result, BatMarketsError):
                    receipts.append(from_error(kind, result, symbol=sym))
                else:
                    receipts.append(self._code_receipt(kind, result, sym))
        return receipts

    def _code_receipt(
        self, kind: CommandKind, response: RestResponse, symbol: str | None
    ) -> CommandReceipt:
        err = _element_error(response.body)
        if err is not None:
            return from_error(kind, err, symbol=symbol)
        return accepted(kind, symbol=symbol)

    # -- settings
    def set_leverage(self, request: LeverageRequest) -> RestFlow[CommandReceipt]:
        kind = CommandKind.SET_LEVERAGE
        try:
            native = self._native(request.symbol)
            lev = request.leverage
            if not isinstance(lev, (Decimal, int)) or lev != int(lev):
                raise ConfigError(f"Binance leverage is a whole number, got {lev!r}", venue=VENUE)
            if not 1 <= int(lev) <= 125:
                raise ConfigError(f"Binance leverage must be 1..125, got {lev}", venue=VENUE)
        except ConfigError as exc:
            return from_error(kind, exc, symbol=self._safe_unified(request))
        symbol = self._unified(native)
        result = yield from self._send(
            _write(
                "POST",
                "/fapi/v1/leverage",
                [("symbol", native), ("leverage", str(int(lev)))],
                tag="set_leverage",
            )
        )
        if isinstance(result, BatMarketsError):
            return from_error(kind, result, symbol=symbol)
        try:
            decode(result.body, NativeLeverage, "leverage")
        except DecodeError as exc:
            return self._unreadable(kind, exc, symbol, None, None)
        return accepted(kind, symbol=symbol)

    def set_margin_mode(self, request: MarginModeRequest) -> RestFlow[CommandReceipt]:
        kind = CommandKind.SET_MARGIN_MODE
        if not request.symbol:
            return from_error(
                kind,
                Unsupported("Binance margin mode is set per symbol: pass a symbol", venue=VENUE),
                symbol=None,
            )
        try:
            native = self._native(request.symbol)
            mode = MarginMode(request.margin_mode)
        except (ConfigError, ValueError) as exc:
            err = exc if isinstance(exc, ConfigError) else ConfigError(str(exc), venue=VENUE)
            return from_error(kind, err, symbol=self._safe_unified(request))
        symbol = self._unified(native)
        value = "ISOLATED" if mode is MarginMode.ISOLATED else "CROSSED"
        result = yield from self._send(
            _write(
                "POST",
                "/fapi/v1/marginType",
                [("symbol", native), ("marginType", value)],
                tag="set_margin_mode",
            )
        )
        if isinstance(result, BatMarketsError):
            return from_error(kind, result, symbol=symbol)
        return self._code_receipt(kind, result, symbol)

    def set_position_mode(self, request: PositionModeRequest) -> RestFlow[CommandReceipt]:
        kind = CommandKind.SET_POSITION_MODE
        if request.symbol:
            return from_error(
                kind,
                Unsupported(
                    "Binance position mode is account-wide (all symbols): pass no symbol",
                    venue=VENUE,
                ),
                symbol=request.symbol,
            )
        hedge = PositionMode(request.position_mode) is PositionMode.HEDGE
        result = yield from self._send(
            _write(
                "POST",
                "/fapi/v1/positionSide/dual",
                [("dualSidePosition", "true" if hedge else "false")],
                tag="set_position_mode",
            )
        )
        if isinstance(result, BatMarketsError):
            return from_error(kind, result, symbol=None)
        return self._code_receipt(kind, result, None)

    # -- validation
    def validate_order(self, request: OrderRequest) -> RestFlow[CommandReceipt]:
        kind = CommandKind.VALIDATE_ORDER
        cid = request.client_order_id
        try:
            req = self._native_request(request)
            algo = is_algo_request(req)
            params = algo_params(req) if algo else order_params(req)
        except (ConfigError, Unsupported) as exc:
            return from_error(kind, exc, symbol=self._safe_unified(request), client_order_id=cid)
        symbol = self._unified(req.symbol)
        if algo:  # no test endpoint for the algo service: parameters checked locally only
            return accepted(kind, symbol=symbol, client_order_id=cid)
        try:
            response = yield _write("POST", "/fapi/v1/order/test", params, tag="validate_order")
        except BatMarketsError as exc:  # a test order never executes: not ambiguous
            return rejected(kind, exc, symbol=symbol, client_order_id=cid)
        err = classify(response.status, response.headers, response.body, write=False)
        if err is not None:
            return rejected(kind, err, symbol=symbol, client_order_id=cid)
        return accepted(kind, symbol=symbol, client_order_id=cid)

    def _safe_unified(self, request: Any) -> str | None:
        try:
            native = self._native(request.symbol)
        except (ConfigError, AttributeError):
            sym = getattr(request, "symbol", None)
            return sym if isinstance(sym, str) else None
        return self._unified(native)


def _complete(receipts: list[CommandReceipt | None]) -> list[CommandReceipt]:
    out: list[CommandReceipt] = []
    for r in receipts:
        if r is None:  # pragma: no cover - every path fills its receipt
            raise RuntimeError("internal error: a command item got no receipt")
        out.append(r)
    return out
