"""Scriptable fault plan of one venue server.

Every method adds a rule (or acts at once) and returns ``self`` so calls chain. Paths match
with ``fnmatch`` against the URL path (``"/fapi/v1/order"``, ``"/fapi/*"``); ``None`` matches
everything. Rules are consumed as they fire (``count``), ``clear()`` removes all.

REST::

    faults.drop_response(path, method=None, count=1, mode="close")  # executes, then the client
        # gets no answer: "close" resets the connection, "hang" holds it until the client gives up
    faults.delay_response(seconds, path=None, method=None, count=1)  # executes, answers late
    faults.http_error(status=503, path=None, method=None, count=1, body=None, execute=False)
    faults.unknown_error(path=None, method=None, count=1, execute=True)  # venue's "unknown" 5xx
    faults.timeout(path=None, method=None, count=1, execute=True)        # hang (or not executed)
    faults.clock_skew(ms)             # server clock offset (REST time + timestamp checks)
    faults.rate_limit(count=1)        # next requests answered as rate limited (429)
    faults.ban(seconds)               # IP banned (Binance 418) for ``seconds``

Websockets::

    faults.drop_ws(path=None, after_frames=0, abort=True, count=1)  # 0 = now (open ones)
    faults.skip_sequence(symbol=None, count=1)   # next book diff(s) never sent -> id gap
    faults.duplicate_private(count=1)            # next private event(s) sent twice
    faults.reorder_private(count=1)              # next private event swapped with the one after
    faults.malformed_frames(count=1, path=None)  # a broken frame before the next real one
    faults.late_fills(seconds, count=None)       # private fill events held back ``seconds``
    faults.expire_listen_key(api_key=None)       # Binance: listenKeyExpired now (venue hook)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import SimConnection

__all__ = ["Faults", "HttpRule", "WsDropRule"]


@dataclass
class HttpRule:
    """One REST fault: ``kind`` is ``drop`` / ``hang`` / ``delay`` / ``status``."""

    kind: str
    path: str | None
    method: str | None
    count: int
    execute: bool = True
    status: int = 503
    body: Any = None  # bytes / str / dict; None = the venue's default body for ``error``
    error: str = "unknown"  # venue default body: unknown | unavailable | internal | timeout
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or fnmatchcase(path, self.path)


@dataclass
class WsDropRule:
    path: str | None
    after_frames: int
    abort: bool
    count: int


class Faults:
    """The fault plan; see the module docstring. Safe to call from the test's thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.http_rules: list[HttpRule] = []
        self.ws_drops: list[WsDropRule] = []
        self.clock_offset_ms = 0
        self.forced_rate_limits = 0
        self.banned_until_ms = 0
        self.ban_request = 0.0  # seconds; consumed by the venue layer
        self._skip: dict[str | None, int] = {}
        self.duplicate_count = 0
        self.reorder_count = 0
        self.malformed: list[tuple[str | None, int]] = []
        self.late_fill_seconds = 0.0
        self.late_fill_count: int | None = None
        self.connections: set[SimConnection] = set()
        self.hooks: dict[str, Callable[..., None]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.fired: list[str] = []  # names of faults that fired, for assertions

    # -- helpers -------------------------------------------------------------------------------
    def _call_in_loop(self, fn: Callable[[], None]) -> None:
        loop = self.loop
        if loop is None:
            fn()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def clear(self) -> Faults:
        """Remove every pending rule and reset clock skew, bans and counters."""
        with self._lock:
            self.http_rules.clear()
            self.ws_drops.clear()
            self.clock_offset_ms = 0
            self.forced_rate_limits = 0
            self.banned_until_ms = 0
            self._skip.clear()
            self.duplicate_count = self.reorder_count = 0
            self.malformed.clear()
            self.late_fill_seconds = 0.0
            self.late_fill_count = None
        return self

    # -- REST ----------------------------------------------------------------------------------
    def drop_response(
        self,
        path: str | None = None,
        *,
        method: str | None = None,
        count: int = 1,
        mode: str = "close",
    ) -> Faults:
        """The request executes but its response is lost (``close``: connection reset;
        ``hang``: no answer until the client disconnects)."""
        if mode not in ("close", "hang"):
            raise ValueError("mode must be 'close' or 'hang'")
        with self._lock:
            self.http_rules.append(
                HttpRule("drop" if mode == "close" else "hang", path, method, count)
            )
        return self

    def delay_response(
        self, seconds: float, path: str | None = None, *, method: str | None = None, count: int = 1
    ) -> Faults:
        """The request executes now; its response is sent ``seconds`` later."""
        with self._lock:
            self.http_rules.append(HttpRule("delay", path, method, count, delay=seconds))
        return self

    def http_error(
        self,
        status: int = 503,
        path: str | None = None,
        *,
        method: str | None = None,
        count: int = 1,
        body: Any = None,
        execute: bool = False,
        error: str = "unavailable",
    ) -> Faults:
        """Answer ``status`` (body: given, or the venue's default for ``error``). With
        ``execute=True`` the request still runs first (the ambiguous outcome)."""
        with self._lock:
            self.http_rules.append(
                HttpRule("status", path, method, count, execute, status, body, error)
            )
        return self

    def unknown_error(
        self,
        path: str | None = None,
        *,
        method: str | None = None,
        count: int = 1,
        execute: bool = True,
    ) -> Faults:
        """The venue's "unknown outcome" answer (Binance: HTTP 503 "Unknown error, please
        check your request or try again later."); by default the request did execute."""
        return self.http_error(
            503, path, method=method, count=count, execute=execute, error="unknown"
        )

    def timeout(
        self,
        path: str | None = None,
        *,
        method: str | None = None,
        count: int = 1,
        execute: bool = True,
    ) -> Faults:
        """No answer at all (the client times out); executed unless ``execute=False``."""
        with self._lock:
            self.http_rules.append(HttpRule("hang", path, method, count, execute))
        return self

    def clock_skew(self, ms: int) -> Faults:
        """Shift the server clock by ``ms`` (positive = server ahead of real time)."""
        self.clock_offset_ms = ms
        return self

    def rate_limit(self, count: int = 1) -> Faults:
        """Answer the next ``count`` requests as rate-limited (429) whatever the usage."""
        with self._lock:
            self.forced_rate_limits += count
        return self

    def ban(self, seconds: float) -> Faults:
        """Ban the client IP for ``seconds`` (Binance: HTTP 418)."""
        self.ban_request = seconds
        return self

    def take_http(self, method: str, path: str, *, require_path: bool = False) -> HttpRule | None:
        """The first matching REST rule (consumed), or None. ``require_path`` skips rules
        without an explicit path (used for websocket-API pseudo paths like ``ws-fapi:order.place``)."""
        with self._lock:
            for rule in self.http_rules:
                if require_path and rule.path is None:
                    continue
                if rule.matches(method, path):
                    rule.count -= 1
                    if rule.count <= 0:
                        self.http_rules.remove(rule)
                    self.fired.append(f"http:{rule.kind}")
                    return rule
        return None

    # -- websockets ----------------------------------------------------------------------------
    def drop_ws(
        self, path: str | None = None, *, after_frames: int = 0, abort: bool = True, count: int = 1
    ) -> Faults:
        """Drop ``count`` websocket connections whose path matches: open ones at once when
        ``after_frames == 0``, else after that many more outgoing frames (open or future).
        ``abort=True`` resets the TCP connection; False sends a close frame (1001)."""
        rule = WsDropRule(path, after_frames, abort, count)
        with self._lock:
            if after_frames <= 0:
                victims = [c for c in list(self.connections) if c.matches(path)][:count]
                rule.count -= len(victims)
                for conn in victims:
                    self.fired.append("ws:drop")
                    self._call_in_loop(lambda c=conn: c.drop(abort))  # type: ignore[misc]
                if rule.count > 0:
                    rule.after_frames = 1  # the next matching connection, at its first frame
                    self.ws_drops.append(rule)
            else:
                self.ws_drops.append(rule)
        return self

    def take_ws_drop(self, conn: SimConnection) -> WsDropRule | None:
        """Assign a pending drop rule to ``conn`` (called when it opens or sends)."""
        with self._lock:
            for rule in self.ws_drops:
                if conn.matches(rule.path):
                    rule.count -= 1
                    if rule.count <= 0:
                        self.ws_drops.remove(rule)
                    return rule
        return None

    def skip_sequence(self, symbol: str | None = None, count: int = 1) -> Faults:
        """Never send the next ``count`` book diffs of ``symbol`` (None = any symbol)."""
        with self._lock:
            self._skip[symbol] = self._skip.get(symbol, 0) + count
        return self

    def take_skip(self, symbol: str) -> bool:
        with self._lock:
            for key in (symbol, None):
                if self._skip.get(key, 0) > 0:
                    self._skip[key] -= 1
                    self.fired.append("ws:skip_sequence")
                    return True
        return False

    def duplicate_private(self, count: int = 1) -> Faults:
        with self._lock:
            self.duplicate_count += count
        return self

    def reorder_private(self, count: int = 1) -> Faults:
        with self._lock:
            self.reorder_count += count
        return self

    def malformed_frames(self, count: int = 1, path: str | None = None) -> Faults:
        with self._lock:
            self.malformed.append((path, count))
        return self

    def take_malformed(self, conn: SimConnection) -> bool:
        with self._lock:
            for i, (path, n) in enumerate(self.malformed):
                if conn.matches(path):
                    if n <= 1:
                        del self.malformed[i]
                    else:
                        self.malformed[i] = (path, n - 1)
                    self.fired.append("ws:malformed")
                    return True
        return False

    def late_fills(self, seconds: float, count: int | None = None) -> Faults:
        """Hold private fill events back ``seconds`` (``count`` fills, None = until cleared)."""
        with self._lock:
            self.late_fill_seconds = seconds
            self.late_fill_count = count
        return self

    def take_late_fill(self) -> float:
        with self._lock:
            if self.late_fill_seconds <= 0:
                return 0.0
            delay = self.late_fill_seconds
            if self.late_fill_count is not None:
                self.late_fill_count -= 1
                if self.late_fill_count <= 0:
                    self.late_fill_seconds = 0.0
                    self.late_fill_count = None
            self.fired.append("ws:late_fill")
            return delay

    def take_duplicate(self) -> bool:
        with self._lock:
            if self.duplicate_count > 0:
                self.duplicate_count -= 1
                self.fired.append("ws:duplicate")
                return True
        return False

    def take_reorder(self) -> bool:
        with self._lock:
            if self.reorder_count > 0:
                self.reorder_count -= 1
                self.fired.append("ws:reorder")
                return True
        return False

    def expire_listen_key(self, api_key: str | None = None) -> Faults:
        """Binance: expire the listen key of ``api_key`` (None = every key) now."""
        hook = self.hooks.get("expire_listen_key")
        if hook is None:
            raise NotImplementedError("this venue has no listen keys")
        self._call_in_loop(lambda: hook(api_key))
        return self
