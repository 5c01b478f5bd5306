"""A minimal async driver for sans-I/O adapter flows over real HTTP (tests only).

``FlowDriver.run(flow)`` takes each ``RestRequest`` the flow yields, signs it with
``adapter.prepare(request, credentials, timestamp_ms, recv_window_ms)``, sends the exact bytes
with ``httpx.AsyncClient`` to ``endpoints.rest``, and resumes the flow with a ``RestResponse``
(status, lower-cased headers, body). A transport failure is thrown into the flow as a taxonomy
``TransportError`` (``Timeout`` for timeouts), exactly as the runtime does. Every prepared request
and every response is recorded for assertions. No retries, no rate limiting.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx

from bat_markets.core import (
    Credentials,
    Endpoints,
    HttpRequest,
    RestRequest,
    RestResponse,
    Timeout,
    TransportError,
    VenueAdapter,
)

__all__ = ["FlowDriver", "now_ms"]

T = TypeVar("T")


def now_ms() -> int:
    """Local wall clock, epoch milliseconds."""
    return time.time_ns() // 1_000_000


class FlowDriver:
    """Drive adapter flows against ``endpoints.rest`` (see module docstring).

    ``clock_offset_ms`` is added to the local clock for request timestamps (a skewed client);
    ``timeout_s`` bounds each HTTP exchange. ``client`` shares an existing ``httpx.AsyncClient``
    (its base URL must be ``endpoints.rest``); the driver then leaves closing it to its owner.
    """

    def __init__(
        self,
        adapter: VenueAdapter,
        endpoints: Endpoints,
        credentials: Credentials | None = None,
        *,
        recv_window_ms: int = 5000,
        clock_offset_ms: int = 0,
        timeout_s: float = 3.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.adapter = adapter
        self.endpoints = endpoints
        self.credentials = credentials
        self.recv_window_ms = recv_window_ms
        self.clock_offset_ms = clock_offset_ms
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(base_url=endpoints.rest, timeout=timeout_s)
        self.requests: list[RestRequest] = []
        self.sent: list[HttpRequest] = []
        self.responses: list[RestResponse] = []
        self.thrown: list[TransportError] = []

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> FlowDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, request: RestRequest) -> RestResponse:
        """Prepare (sign) and send one request; transport failures raise ``TransportError``."""
        self.requests.append(request)
        prepared = self.adapter.prepare(
            request, self.credentials, now_ms() + self.clock_offset_ms, self.recv_window_ms
        )
        self.sent.append(prepared)
        try:
            answer = await self.client.request(
                prepared.method,
                prepared.target,
                headers=prepared.headers,
                content=prepared.body,
            )
        except httpx.TimeoutException as exc:
            raise Timeout(f"{prepared.method} {request.path}: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransportError(f"{prepared.method} {request.path}: {type(exc).__name__}") from exc
        response = RestResponse(
            status=answer.status_code,
            headers={k.lower(): v for k, v in answer.headers.items()},
            body=answer.content,
        )
        self.responses.append(response)
        return response

    async def run(self, flow: Generator[RestRequest, RestResponse, T]) -> T:
        """Run ``flow`` to completion and return its result (taxonomy errors propagate)."""
        try:
            request = next(flow)
            while True:
                try:
                    response = await self.send(request)
                except TransportError as err:
                    self.thrown.append(err)
                    request = flow.throw(err)
                    continue
                request = flow.send(response)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def sent_params(self, index: int = -1) -> dict[str, Any]:
        """The parameters of a recorded request (query and form body merged)."""
        prepared = self.sent[index]
        query = prepared.target.partition("?")[2]
        params = dict(parse_qsl(prepared.body.decode() if prepared.body else ""))
        params.update(parse_qsl(query))
        return params

    def paths(self) -> list[str]:
        """The paths of every request sent so far, in order."""
        return [http.target.split("?")[0] for http in self.sent]

    def clear(self) -> None:
        """Forget every recorded request, response and thrown error."""
        self.requests.clear()
        self.sent.clear()
        self.responses.clear()
        self.thrown.clear()
