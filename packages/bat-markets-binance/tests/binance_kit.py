"""Shared test helpers (imported by the tests; conftest puts this folder on sys.path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bat_markets.core import BatMarketsError, RestRequest, RestResponse, run_flow_sync

FIXTURES = Path(__file__).parent / "fixtures"


def raw(name: str) -> bytes:
    """Bytes of ``tests/fixtures/<name>`` (e.g. ``"rest/depth.json"``)."""
    return (FIXTURES / name).read_bytes()


def load(name: str) -> Any:
    return json.loads(raw(name))


def ok(
    body: bytes | str | Any, status: int = 200, headers: dict[str, str] | None = None
) -> RestResponse:
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return RestResponse(status=status, headers=headers or {}, body=body)


def err(
    name_or_body: str | dict[str, Any], status: int = 400, headers: dict[str, str] | None = None
) -> RestResponse:
    if isinstance(name_or_body, dict):
        body = json.dumps(name_or_body).encode()
    else:
        body = raw(name_or_body)
    return RestResponse(status=status, headers=headers or {}, body=body)


Answer = RestResponse | BatMarketsError | Callable[[RestRequest], Any]


class Script:
    """Answers requests in order and records them; fails loudly on extra requests."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[RestRequest] = []

    def __call__(self, request: RestRequest) -> RestResponse | BatMarketsError:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected extra request {request.method} {request.path}")
        answer = self.answers.pop(0)
        if callable(answer) and not isinstance(answer, (RestResponse, BatMarketsError)):
            result: RestResponse | BatMarketsError = answer(request)
            return result
        return answer

    def run(self, flow: Any) -> Any:
        result = run_flow_sync(flow, self)
        assert not self.answers, f"{len(self.answers)} scripted answers were not used"
        return result


def params(request: RestRequest) -> dict[str, str]:
    return dict(request.params)
