"""The adapter contract itself: flows driven without I/O, AdapterBase defaults, protocol checks."""

from __future__ import annotations

import pytest

from bat_markets.core import (
    AdapterBase,
    Capabilities,
    Channel,
    CommandKind,
    Environment,
    RestFlow,
    RestRequest,
    RestResponse,
    TransportError,
    Unsupported,
    VenueAdapter,
    run_flow_sync,
)


class _Tiny(AdapterBase):
    id = "tiny"
    name = "Tiny"
    capabilities = Capabilities(
        methods=frozenset({"fetch_ticker"}),
        ws_commands=frozenset(),
        max_batch_create=1,
        max_batch_edit=1,
        max_batch_cancel=1,
        ohlcv_intervals=("1m",),
        order_book_depths=(10,),
        watch_book_depths=(10,),
        liquidations_complete=False,
        open_interest_push=False,
        position_mode_scope="account",
        margin_mode_scope="symbol",
    )

    def server_time(self) -> RestFlow[int]:
        first = yield RestRequest(method="GET", path="/time")
        second = yield RestRequest(method="GET", path="/time", params=[("n", "2")])
        return int(first.body) + int(second.body)

    def fetch_trades(self, symbol: str, since: int | None, limit: int | None):  # type: ignore[no-untyped-def]
        try:
            yield RestRequest(method="GET", path="/trades")
        except TransportError:
            return ["recovered"]
        return []


def test_flow_runs_multiple_requests_in_order() -> None:
    seen: list[RestRequest] = []

    def respond(req: RestRequest) -> RestResponse:
        seen.append(req)
        return RestResponse(status=200, headers={}, body=str(len(seen) * 10).encode())

    assert run_flow_sync(_Tiny().server_time(), respond) == 30
    assert [r.params for r in seen] == [[], [("n", "2")]]


def test_transport_errors_are_thrown_into_the_flow() -> None:
    result = run_flow_sync(_Tiny().fetch_trades("X", None, None), lambda _r: TransportError("boom"))
    assert result == ["recovered"]


def test_base_defaults_raise_unsupported_naming_venue_and_method() -> None:
    adapter = _Tiny()
    assert isinstance(adapter, VenueAdapter)
    with pytest.raises(Unsupported) as info:
        adapter.fetch_balance()
    assert info.value.venue == "tiny"
    assert "fetch_balance" in str(info.value)
    with pytest.raises(Unsupported, match="watch ohlcv"):
        adapter.public_topics(Channel.OHLCV, "X", interval="1m")
    with pytest.raises(Unsupported, match="create_order_ws"):
        adapter.ws_command(CommandKind.CREATE_ORDER, [], "1", None, 0, 5000)  # type: ignore[arg-type]
    with pytest.raises(Unsupported, match="mainnet"):
        adapter.endpoints(Environment.MAINNET)


def test_client_order_ids_fit_both_venues() -> None:
    import re

    adapter = _Tiny()
    ids = {adapter.new_client_order_id("bm") for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,36}", i) and i.startswith("bm-") for i in ids)


def test_http_request_repr_hides_headers() -> None:
    from bat_markets.core import HttpRequest

    req = HttpRequest(method="GET", target="/x?signature=abc", headers={"X-MBX-APIKEY": "key123"})
    assert "key123" not in repr(req)
    assert "signature" not in repr(req)
