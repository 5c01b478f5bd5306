"""A minimal async driver for sans-I/O adapter flows over real HTTP (tests only).

``RestFlowDriver(adapter, client, credentials).run(flow)`` does what the runtime does with one
flow, and nothing more: ``adapter.prepare`` signs each yielded ``RestRequest`` with the local
clock (plus ``clock_offset_ms``), httpx sends the exact bytes, the answer goes back into the flow
as a ``RestResponse`` with lower-cased header names, and an httpx transport failure is thrown
into the flow as ``TransportError`` (``Timeout`` for timeouts). No retries, no rate limiting.
Every prepared request and every response is recorded for assertions.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TypeVar

import httpx

from bat_markets.core import (
    Credentials,
    HttpRequest,
    RestRequest,
    RestResponse,
    Timeout,
    TransportError,
    VenueAdapter,
)

__all__ = ["RestFlowDriver", "now_ms"]

T = TypeVar("T")


def now_ms() -> int:
    """Local wall clock, epoch milliseconds."""
    return time.time_ns() // 1_000_000


class RestFlowDriver:
    """Runs adapter REST flows against a real server (see module docstring)."""

    def __init__(
        self,
        adapter: VenueAdapter,
        client: httpx.AsyncClient,
        credentials: Credentials | None = None,
        *,
        recv_window_ms: int = 5000,
        clock_offset_ms: int = 0,
    ) -> None:
        self.adapter = adapter
        self.client = client
        self.credentials = credentials
        self.recv_window_ms = recv_window_ms
        self.clock_offset_ms = clock_offset_ms
        self.requests: list[RestRequest] = []
        self.sent: list[HttpRequest] = []
        self.responses: list[RestResponse] = []

    async def _send(self, http: HttpRequest) -> RestResponse | TransportError:
        try:
            answer = await self.client.request(
                http.method, http.target, headers=http.headers, content=http.body
            )
        except httpx.TimeoutException as exc:
            return Timeout(f"{http.method} {http.target.split('?')[0]}: {exc!r}")
        except httpx.TransportError as exc:
            return TransportError(f"{http.method} {http.target.split('?')[0]}: {exc!r}")
        response = RestResponse(
            status=answer.status_code,
            headers={k.lower(): v for k, v in answer.headers.items()},
            body=answer.content,
        )
        self.responses.append(response)
        return response

    async def run(self, flow: Generator[RestRequest, RestResponse, T]) -> T:
        """Drive ``flow`` to its result (taxonomy errors raised by the flow propagate)."""
        try:
            request = next(flow)
            while True:
                self.requests.append(request)
                http = self.adapter.prepare(
                    request,
                    self.credentials,
                    now_ms() + self.clock_offset_ms,
                    self.recv_window_ms,
                )
                self.sent.append(http)
                outcome = await self._send(http)
                if isinstance(outcome, TransportError):
                    request = flow.throw(outcome)
                else:
                    request = flow.send(outcome)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def paths(self) -> list[str]:
        """The paths of every request sent so far, in order."""
        return [http.target.split("?")[0] for http in self.sent]

    def clear(self) -> None:
        self.requests.clear()
        self.sent.clear()
        self.responses.clear()
