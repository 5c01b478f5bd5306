"""Shared fixtures: recorded Bybit payloads (tests/fixtures, copied from shared/fixtures/bybit)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bat_markets.bybit import BybitAdapter
from bat_markets.core import BatMarketsError, RestRequest, RestResponse

FIXTURES = Path(__file__).parent / "fixtures"


def load_bytes(name: str) -> bytes:
    """``rest/orderbook.json`` -> file bytes."""
    return (FIXTURES / name).read_bytes()


def load_json(name: str) -> Any:
    return json.loads(load_bytes(name))


def response(body: bytes | dict[str, Any] | str, status: int = 200, **headers: str) -> RestResponse:
    if isinstance(body, dict):
        raw = json.dumps(body).encode()
    elif isinstance(body, str):
        raw = (FIXTURES / body).read_bytes() if body.endswith(".json") else body.encode()
    else:
        raw = body
    return RestResponse(
        status=status,
        headers={k.lower().replace("_", "-"): v for k, v in headers.items()},
        body=raw,
    )


def ok(result: Any, time: int = 1700000000000, ext: Any | None = None) -> RestResponse:
    return response(
        {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": ext or {}, "time": time}
    )


def error(code: int, msg: str, time: int = 1700000000000) -> RestResponse:
    return response({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": time})


class Script:
    """A scripted responder for ``run_flow_sync`` that records the requests it saw."""

    def __init__(self, answers: list[RestResponse | BatMarketsError]) -> None:
        self.answers: Iterator[RestResponse | BatMarketsError] = iter(answers)
        self.requests: list[RestRequest] = []

    def __call__(self, request: RestRequest) -> RestResponse | BatMarketsError:
        self.requests.append(request)
        try:
            return next(self.answers)
        except StopIteration:  # pragma: no cover - a test bug: the flow asked for more
            raise AssertionError(f"unexpected extra request {request!r}") from None


@pytest.fixture
def adapter() -> BybitAdapter:
    return BybitAdapter()


@pytest.fixture(scope="session")
def h() -> SimpleNamespace:
    """Helpers for test modules (importlib import mode: tests cannot import conftest)."""
    return SimpleNamespace(
        load_bytes=load_bytes,
        load_json=load_json,
        response=response,
        ok=ok,
        error=error,
        Script=Script,
        FIXTURES=FIXTURES,
    )
