"""Error classification (PROTOCOLS §10.B) and rate-limit headers (§9.B)."""

from __future__ import annotations

import pytest
from binance_kit import err, ok, raw

from bat_markets.binance import BinanceAdapter
from bat_markets.binance._errors import classify, classify_code, parse_rate_limits
from bat_markets.core import (
    AuthError,
    ComplianceRequired,
    DecodeError,
    ExchangeReject,
    PermissionDenied,
    RateLimited,
    RestResponse,
    StateDivergence,
    TemporaryUnavailable,
    Timeout,
    UnknownExecution,
    Unsupported,
)

FIXTURE_CASES = [
    ("error_-1003.json", 418, RateLimited, -1003, True),
    ("error_-1021.json", 400, AuthError, -1021, True),
    ("error_-1102.json", 400, ExchangeReject, -1102, False),
    ("error_-1121.json", 400, ExchangeReject, -1121, False),
    ("error_-2011.json", 400, StateDivergence, -2011, False),
    ("error_-2015.json", 401, AuthError, -2015, False),
    ("error_-2019.json", 400, ExchangeReject, -2019, False),
    ("error_-4046.json", 400, ExchangeReject, -4046, False),
    ("error_-4059.json", 400, ExchangeReject, -4059, False),
    ("error_-4061.json", 400, StateDivergence, -4061, False),
    ("error_-4120.json", 400, Unsupported, -4120, False),
]


@pytest.mark.parametrize(("name", "status", "cls", "code", "retryable"), FIXTURE_CASES)
def test_error_fixtures(name: str, status: int, cls: type, code: int, retryable: bool) -> None:
    response = err(f"rest/{name}", status)
    e = BinanceAdapter().classify_http_error(response)
    assert e is not None
    assert type(e) is cls
    assert e.code == code
    assert e.retryable is retryable
    assert e.venue == "binance"
    assert e.http_status == status
    assert e.venue_message
    assert e.venue_message in raw(f"rest/{name}").decode()


TABLE = [
    (-1000, TemporaryUnavailable, False),  # reads
    (-1001, TemporaryUnavailable, False),
    (-1016, TemporaryUnavailable, False),
    (-1008, TemporaryUnavailable, False),
    (-1003, RateLimited, False),
    (-1015, RateLimited, False),
    (-1021, AuthError, False),
    (-5028, AuthError, False),
    (-1022, AuthError, False),
    (-2014, AuthError, False),
    (-2015, AuthError, False),
    (-1099, AuthError, False),
    (-1002, PermissionDenied, False),
    (-2017, PermissionDenied, False),
    (-4087, PermissionDenied, False),
    (-4088, PermissionDenied, False),
    (-4402, ComplianceRequired, False),
    (-4403, ComplianceRequired, False),
    (-4202, ComplianceRequired, False),
    (-4203, ComplianceRequired, False),
    (-4205, ComplianceRequired, False),
    (-4206, ComplianceRequired, False),
    (-4192, ComplianceRequired, False),
    (-4120, Unsupported, False),
    (-1100, ExchangeReject, False),
    (-1106, ExchangeReject, False),
    (-1111, ExchangeReject, False),
    (-1130, ExchangeReject, False),
    (-1136, ExchangeReject, False),
    (-2010, ExchangeReject, False),
    (-2018, ExchangeReject, False),
    (-2020, ExchangeReject, False),
    (-2021, ExchangeReject, False),
    (-2022, ExchangeReject, False),
    (-2024, ExchangeReject, False),
    (-2025, ExchangeReject, False),
    (-2027, ExchangeReject, False),
    (-2028, ExchangeReject, False),
    (-4003, ExchangeReject, False),
    (-4024, ExchangeReject, False),
    (-4131, ExchangeReject, False),
    (-4164, ExchangeReject, False),
    (-4400, ExchangeReject, False),
    (-4401, ExchangeReject, False),
    (-5021, ExchangeReject, False),
    (-5022, ExchangeReject, False),
    (-4015, ExchangeReject, False),
    (-4116, ExchangeReject, False),
    (-2011, StateDivergence, False),
    (-2013, StateDivergence, False),
    (-4061, StateDivergence, False),
    (-4531, StateDivergence, False),
    (-1125, StateDivergence, False),
    (-4028, ExchangeReject, False),  # NOT a no-op
    (-4161, ExchangeReject, False),
    (-4047, ExchangeReject, False),
    (-4048, ExchangeReject, False),
    (-4067, ExchangeReject, False),
    (-4068, ExchangeReject, False),
    (-4168, ExchangeReject, False),
    (-4046, ExchangeReject, False),  # no-op codes: classified, receipts turn them into success
    (-4059, ExchangeReject, False),
    (-4171, ExchangeReject, False),
    (-5027, ExchangeReject, False),
]


@pytest.mark.parametrize(("code", "cls", "_"), TABLE)
def test_every_documented_code(code: int, cls: type, _: bool) -> None:
    e = classify_code(code, "msg", http_status=400, write=False)
    assert type(e) is cls, code


@pytest.mark.parametrize("code", [-1006, -1007])
def test_ambiguous_codes(code: int) -> None:
    assert type(classify_code(code, "x", write=True)) is UnknownExecution
    read = classify_code(code, "x", write=False)
    assert type(read) is Timeout
    assert read.retryable


def test_minus_1000_is_unknown_on_writes() -> None:
    assert type(classify_code(-1000, "x", write=True)) is UnknownExecution
    assert type(classify_code(-1000, "x", write=False)) is TemporaryUnavailable


def test_http_408_and_503_unknown_are_unknown_execution() -> None:
    unknown_503 = {
        "code": -1000,
        "msg": "Unknown error, please check your request or try again later.",
    }
    for response in (err({"code": -1007, "msg": "Timeout"}, 408), err(unknown_503, 503)):
        assert type(classify(response.status, {}, response.body, write=True)) is UnknownExecution
        t = classify(response.status, {}, response.body, write=False)
        assert type(t) is Timeout
        assert t.retryable
    plain_408 = RestResponse(status=408, headers={}, body=b"")
    assert type(classify(408, {}, plain_408.body)) is UnknownExecution


def test_other_5xx_are_temporary() -> None:
    for body in (
        b'{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}',
        b"Service Unavailable.",
        b'{"msg":"Service Unavailable."}',
    ):
        e = classify(503, {}, body, write=True)
        assert type(e) is TemporaryUnavailable
        assert e.retryable
    e = classify(502, {}, b"<html>bad gateway</html>")
    assert type(e) is TemporaryUnavailable
    assert e.http_status == 502


def test_rate_limited_uses_retry_after_header() -> None:
    e = classify(429, {"retry-after": "7"}, raw("rest/error_-1003.json"))
    assert type(e) is RateLimited
    assert e.retry_after == 7.0
    assert e.code == -1003
    assert e.retryable


def test_ban_deadline_is_measured_against_the_date_header() -> None:
    # the fixture says "banned until 1660090423228"; the venue clock says 60 s before that
    date = "Wed, 10 Aug 2022 00:12:43 GMT"  # 1660090363 s
    e = classify(418, {"date": date}, raw("rest/error_-1003.json"))
    assert isinstance(e, RateLimited)
    assert e.retry_after == pytest.approx(60.228)
    banned = classify(418, {}, raw("rest/error_-1003.json"))
    assert banned is not None
    assert banned.retry_after == 120.0


def test_waf_compliance_and_garbage() -> None:
    assert type(classify(403, {}, b"<html>Forbidden</html>")) is PermissionDenied
    assert type(classify(451, {}, b'{"code":0,"msg":"restricted location"}')) is ComplianceRequired
    e = classify(400, {}, b"<html>oops</html>")
    assert type(e) is DecodeError
    assert "non-JSON" in e.message
    assert classify(200, {}, b"{}") is None


def test_is_clock_error() -> None:
    adapter = BinanceAdapter()
    clock = adapter.classify_http_error(err("rest/error_-1021.json"))
    margin = adapter.classify_http_error(err("rest/error_-2019.json"))
    assert clock is not None
    assert margin is not None
    assert adapter.is_clock_error(clock)
    assert not adapter.is_clock_error(margin)


def test_rate_limit_headers() -> None:
    usages = parse_rate_limits(
        {
            "x-mbx-used-weight-1m": "1234",
            "x-mbx-order-count-10s": "12",
            "x-mbx-order-count-1m": "40",
            "X-MBX-USED-WEIGHT-1S": "3",
            "x-mbx-used-weight-bad": "9",
            "content-type": "application/json",
        }
    )
    by = {(u.key, u.window_s): u for u in usages}
    assert by[("weight", 60.0)].used == 1234
    assert by[("weight", 60.0)].limit == 2400
    assert by[("weight", 60.0)].remaining == 1166
    assert by[("orders", 10.0)].used == 12
    assert by[("orders", 10.0)].limit == 300
    assert by[("orders", 60.0)].used == 40
    assert by[("orders", 60.0)].limit == 1200
    assert by[("weight", 1.0)].used == 3
    assert by[("weight", 1.0)].limit is None
    assert len(usages) == 4


def test_rate_limit_rules_match_protocols() -> None:
    rules = {(r.key, r.window_s): r.limit for r in BinanceAdapter().rate_limit_rules}
    assert rules == {("weight", 60.0): 2400, ("orders", 10.0): 300, ("orders", 60.0): 1200}


def test_success_is_none() -> None:
    assert BinanceAdapter().classify_http_error(ok(raw("rest/margin_type.json"))) is None
