"""Runtime tunables of the live client (timeouts and credentials live in ``VenueConfig``)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bat_markets.core import LifecyclePolicy

__all__ = ["ClientOptions"]


@dataclass(frozen=True)
class ClientOptions:
    """Knobs of the live runtime. The defaults suit the real venues; tests shorten the timers.

    ``http_transport`` injects an ``httpx`` transport (``httpx.MockTransport`` in tests).
    """

    # -- startup and clock
    load_markets_on_start: bool = True
    sync_clock_on_start: bool = True
    clock_refresh_s: float = 300.0
    # -- REST
    rest_retries: int = 2  # extra attempts for idempotent reads on transport / 5xx errors
    retry_backoff_s: float = 0.1
    retry_backoff_max_s: float = 1.0
    max_connections: int = 20
    http_transport: httpx.AsyncBaseTransport | None = None
    # -- rate limiting
    rate_limit_safety: float = 0.9  # use at most this share of a venue budget
    max_throttle_wait_s: float = 5.0  # a longer wait raises RateLimited instead of sleeping
    default_ban_s: float = 5.0  # a 429 without Retry-After
    # -- websockets
    linger_s: float = 2.0  # an empty connection closes after this long
    reconnect_initial_s: float = 0.25
    reconnect_max_s: float = 10.0
    healthy_reset_s: float = 30.0  # a connection up this long resets the backoff
    max_connection_age_s: float = 23.5 * 3600  # proactive reconnect before the venue's 24 h cut
    control_frames_per_s: float = 4.0  # pacing of (un)subscribe frames per connection
    topics_per_frame: int = 50
    ws_max_size: int | None = 16 * 1024 * 1024
    # -- streams
    event_buffer: int = 1024  # bounded buffer of event streams (trades, ohlcv, liquidations)
    open_interest_poll_s: float = 10.0  # when the venue has no open-interest push
    snapshot_retry_s: float = 0.5  # back-off between order-book snapshot attempts
    resync_retry_s: float = 5.0  # a resubscribe resync that brought no snapshot is retried
    # -- commands
    lifecycle: LifecyclePolicy | None = None  # ack/resolve/reconcile time bounds (None: defaults)
