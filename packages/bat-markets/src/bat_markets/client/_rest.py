"""The REST executor: runs the adapter's sans-I/O flows over a pooled ``httpx.AsyncClient``.

``run(flow)`` drives a flow: each yielded ``RestRequest`` passes the rate limiter, is prepared
(signed) by the adapter with the clock-corrected timestamp, sent, and its ``RestResponse`` is sent
back into the flow, which decodes it or raises the venue's classified error. A transport failure is
thrown into the flow (``flow.throw``): reads let it propagate, command flows turn it into
``UNKNOWN`` receipts.

Around each request: usage headers feed the limiter; a classified ``RateLimited`` starts a ban (no
request leaves until it ends); a clock rejection (``adapter.is_clock_error``) re-measures the clock
and retries once; idempotent requests are retried on transport errors and retryable venue errors
with jittered exponential backoff. Non-idempotent requests are never re-sent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import httpx

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    Credentials,
    RateLimited,
    RestFlow,
    RestRequest,
    RestResponse,
    Timeout,
    TransportError,
    VenueAdapter,
)
from bat_markets.core import Timeouts as CoreTimeouts

from ._clock import Clock
from ._limiter import RateLimiter
from ._options import ClientOptions
from ._status import Health, LaneStatus, RestDiagnostics

__all__ = ["RestExecutor"]

T = TypeVar("T")

# Errors that say nothing about the venue's health (the request itself was wrong).
_HEALTH_NEUTRAL = ("ConfigError", "ExchangeReject", "AuthError", "PermissionDenied", "Unsupported")


class RestExecutor:
    """Sends prepared requests and drives flows; one per live client (connection pool inside)."""

    def __init__(
        self,
        adapter: VenueAdapter,
        *,
        base_url: str,
        credentials: Credentials | None,
        recv_window_ms: int,
        timeouts: CoreTimeouts,
        options: ClientOptions,
        clock: Clock,
        limiter: RateLimiter,
        on_event: Callable[[str, str, str | None], None] | None = None,
    ) -> None:
        self.adapter = adapter
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.recv_window_ms = recv_window_ms
        self.options = options
        self.clock = clock
        self.limiter = limiter
        self._on_event = on_event
        self.http = httpx.AsyncClient(
            transport=options.http_transport,
            timeout=httpx.Timeout(timeouts.request, connect=timeouts.connect),
            limits=httpx.Limits(
                max_connections=options.max_connections,
                max_keepalive_connections=options.max_connections,
            ),
            trust_env=options.http_transport is None,
        )
        self.requests = 0
        self.errors = 0
        self.retries = 0
        self.in_flight = 0
        self.failures_in_a_row = 0
        self.last_error: str | None = None
        self.last_ok_at: float | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- flows
    async def run(self, flow: RestFlow[T], *, signed: bool = False) -> T:
        """Drive ``flow`` to its result. ``signed=True`` fails fast without credentials."""
        if signed and self.credentials is None:
            flow.close()
            raise AuthError(
                f"{self.adapter.name}: this call needs API credentials (pass credentials= or set "
                f"{self.adapter.id.upper()}_API_KEY / {self.adapter.id.upper()}_API_SECRET)",
                venue=self.adapter.id,
            )
        try:
            request = next(flow)
            while True:
                try:
                    response = await self.send(request)
                except BatMarketsError as err:
                    request = flow.throw(err)
                else:
                    request = flow.send(response)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    async def server_time(self) -> int:
        return await self.run(self.adapter.server_time())

    async def sync_clock(self) -> int:
        offset = await self.clock.sync(self.server_time)
        self._emit("clock_synced", f"offset {offset} ms, rtt {self.clock.rtt_ms} ms")
        return offset

    # -- one request
    async def send(self, request: RestRequest) -> RestResponse:
        """Send one request (with limiter, signing, retries). Raises on transport failure."""
        attempt = 0
        clock_retried = False
        endpoint = f"{request.method} {request.path}"
        while True:
            await self.limiter.acquire(request.weight, request.order_weight, endpoint)
            prepared = self.adapter.prepare(
                request, self.credentials, self.clock.now_ms(), self.recv_window_ms
            )
            self.requests += 1
            failure, response = await self._exchange(
                prepared.method, prepared.target, prepared.headers, prepared.body, endpoint
            )
            if response is not None:
                self.limiter.update(self.adapter.parse_rate_limits(response.headers, endpoint))
                error = self.adapter.classify_http_error(response)
                if error is None:
                    self._ok()
                    return response
                self._failed(error)
                if isinstance(error, RateLimited):
                    self._ban(error, response.status)
                    return response  # the flow raises it (reads) or records a reject (commands)
                if self.adapter.is_clock_error(error) and not clock_retried:
                    clock_retried = True
                    self._emit("clock_error", str(error))
                    try:
                        await self.sync_clock()
                    except BatMarketsError:
                        return response
                    if request.idempotent:
                        self.retries += 1
                        continue
                    return response
                if error.retryable and request.idempotent and attempt < self.options.rest_retries:
                    attempt += 1
                    self.retries += 1
                    await anyio.sleep(self._backoff(attempt, error.retry_after))
                    continue
                return response
            assert failure is not None
            self._failed(failure)
            if request.idempotent and attempt < self.options.rest_retries:
                attempt += 1
                self.retries += 1
                await anyio.sleep(self._backoff(attempt, None))
                continue
            raise failure

    async def _exchange(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, endpoint: str
    ) -> tuple[BatMarketsError | None, RestResponse | None]:
        self.in_flight += 1
        try:
            raw = await self.http.request(
                method, self.base_url + target, headers=headers, content=body
            )
        except httpx.TimeoutException as exc:
            return Timeout(
                f"{self.adapter.name} {endpoint} timed out ({type(exc).__name__})",
                venue=self.adapter.id,
            ), None
        except httpx.HTTPError as exc:
            return TransportError(
                f"{self.adapter.name} {endpoint} failed: {type(exc).__name__}: {exc}",
                venue=self.adapter.id,
            ), None
        finally:
            self.in_flight -= 1
        headers_lc = {k.lower(): v for k, v in raw.headers.items()}
        return None, RestResponse(status=raw.status_code, headers=headers_lc, body=raw.content)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        opts = self.options
        if retry_after is not None and retry_after <= opts.retry_backoff_max_s:
            return float(retry_after)
        base = min(opts.retry_backoff_max_s, opts.retry_backoff_s * 2.0 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)  # jitter: [base/2, base)

    def _ban(self, error: RateLimited, status: int) -> None:
        seconds = error.retry_after
        if seconds is None:
            seconds = {418: 120.0, 403: 600.0}.get(status, self.options.default_ban_s)
        self.limiter.ban(seconds)
        self._emit("rate_limited", f"HTTP {status}: no request for {seconds:g}s ({error.message})")

    def _ok(self) -> None:
        if self.failures_in_a_row:
            self.failures_in_a_row = 0
            self._emit("recovered", "REST requests succeed again")
        self.last_ok_at = time.monotonic()

    def _failed(self, error: BatMarketsError) -> None:
        self.errors += 1
        self.last_error = f"{type(error).__name__}: {error.message}"
        if type(error).__name__ in _HEALTH_NEUTRAL:
            self._ok()  # the venue answered: the lane works
        else:
            self.failures_in_a_row += 1
            if self.failures_in_a_row in (1, 3):  # health changes: degraded, then disconnected
                self._emit("error", self.last_error)

    def _emit(self, kind: str, detail: str | None) -> None:
        if self._on_event is not None:
            self._on_event("rest", kind, detail)

    # -- health
    def lane_status(self) -> LaneStatus:
        banned = self.limiter.ban_remaining()
        if banned > 0:
            return LaneStatus(
                lane="rest", health=Health.DEGRADED, detail=f"rate-limit ban, {banned:.1f}s left"
            )
        if self.failures_in_a_row >= 3:
            health, detail = Health.DISCONNECTED, self.last_error
        elif self.failures_in_a_row:
            health, detail = Health.DEGRADED, self.last_error
        elif self.requests == 0:
            health, detail = Health.IDLE, None
        else:
            health, detail = Health.HEALTHY, None
        return LaneStatus(lane="rest", health=health, detail=detail)

    def diagnostics(self) -> RestDiagnostics:
        banned = self.limiter.ban_remaining()
        return RestDiagnostics(
            requests=self.requests,
            errors=self.errors,
            retries=self.retries,
            throttled=self.limiter.throttled,
            throttle_wait_s=round(self.limiter.throttle_wait_s, 3),
            refused=self.limiter.refused,
            in_flight=self.in_flight,
            banned_for_s=round(banned, 3) if banned > 0 else None,
            last_error=self.last_error,
            rate_limits=self.limiter.usage(),
        )
