"""Health and diagnostics snapshots of a live client (``status()``, ``advanced().diagnostics()``)."""

from __future__ import annotations

import enum

import msgspec

__all__ = [
    "Health",
    "LaneStatus",
    "Status",
    "StatusEvent",
    "ClockDiagnostics",
    "RateLimitDiagnostics",
    "RestDiagnostics",
    "ConnectionDiagnostics",
    "StreamDiagnostics",
    "BookDiagnostics",
    "Diagnostics",
]


class Health(str, enum.Enum):
    """Health of a lane or of the whole client.

    ``idle`` means nothing runs on the lane (no stream leased, no request made yet); idle lanes do
    not count towards the overall health. States change only on real events (connect, disconnect,
    failed request, ban), never on a quiet period, so they do not flap.
    """

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DISCONNECTED = "disconnected"
    IDLE = "idle"
    CLOSED = "closed"

    def __str__(self) -> str:
        return str(self.value)


_RANK = {Health.IDLE: 0, Health.HEALTHY: 1, Health.DEGRADED: 2, Health.DISCONNECTED: 3}


def worst(states: list[Health]) -> Health:
    """The worst non-idle state; ``idle`` when every lane is idle."""
    active = [s for s in states if s is not Health.IDLE]
    if not active:
        return Health.IDLE
    return max(active, key=lambda s: _RANK.get(s, 4))


class LaneStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One lane: ``rest``, ``public``, ``private`` or ``command``."""

    lane: str
    health: Health
    detail: str | None = None
    connections: int = 0
    connected: int = 0
    streams: int = 0
    reconnects: int = 0
    last_message_age_s: float | None = None


class Status(msgspec.Struct, frozen=True, kw_only=True):
    """Cheap health summary: overall state plus one entry per lane."""

    venue: str
    environment: str
    health: Health
    rest: LaneStatus
    public: LaneStatus
    private: LaneStatus
    command: LaneStatus
    clock_offset_ms: int | None = None
    rate_limited_for_s: float | None = None  # remaining ban, when the venue banned us

    @property
    def ok(self) -> bool:
        return self.health in (Health.HEALTHY, Health.IDLE)


class StatusEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A connection or health change, as yielded by ``watch_status()``.

    ``kind``: ``connected``, ``disconnected``, ``reconnecting``, ``subscription_failed``,
    ``book_resync``, ``rate_limited``, ``clock_synced``, ``clock_error``, ``error`` (a lane
    failed), ``recovered``, ``health`` (overall health changed), ``closed``.
    """

    timestamp: int
    lane: str
    kind: str
    health: Health
    detail: str | None = None
    connection: int | None = None


class ClockDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    offset_ms: int
    rtt_ms: int | None
    synced: bool
    last_sync_age_s: float | None
    syncs: int
    errors: int


class RateLimitDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    used: int
    limit: int
    window_s: float
    source: str  # "local" estimate or "venue" header


class RestDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    errors: int
    retries: int
    throttled: int  # requests that waited for the local limiter
    throttle_wait_s: float
    refused: int  # requests refused locally (ban or long throttle), never sent
    in_flight: int
    banned_for_s: float | None
    last_error: str | None
    rate_limits: list[RateLimitDiagnostics]


class ConnectionDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    lane: str
    route: str
    url: str
    state: str  # connecting | connected | reconnecting | closed
    topics: int
    connected_for_s: float | None
    last_message_age_s: float | None
    frames: int
    invalid_frames: int  # decode errors (counted and skipped)
    unknown_frames: int  # Control(kind="unknown")
    unrouted_frames: int  # data for a topic no one leases (late frames after unsubscribe)
    reconnects: int
    last_error: str | None


class StreamDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    topic: str
    route: str
    connection: int
    state: str  # pending | subscribed | failed
    listeners: int
    messages: int
    last_message_age_s: float | None


class BookDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    depth: int | None
    synced: bool
    update_id: int | None
    bid_levels: int
    ask_levels: int
    resyncs: int
    snapshots: int  # REST snapshots fetched
    invalid_events: int
    watchers: int


class Diagnostics(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the runtime knows about itself (DESIGN §4)."""

    venue: str
    environment: str
    uptime_s: float
    status: Status
    clock: ClockDiagnostics
    rest: RestDiagnostics
    connections: list[ConnectionDiagnostics]
    streams: list[StreamDiagnostics]
    books: list[BookDiagnostics]
    handles: int
    lagged_events: int  # events dropped from full consumer buffers (each signalled with Lagged)
    invalid_frames: int
    reconnects: int
    book_resyncs: int
    pending_commands: int = 0
    unknown_commands: int = 0
