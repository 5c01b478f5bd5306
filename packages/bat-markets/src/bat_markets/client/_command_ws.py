"""The order-entry websocket (WS commands): lazy connection, auth, request/reply matching.

Rules that keep outcomes honest (ORIGINAL §9 #24):

* a request that could not be sent at all (no connection, login refused, the socket failed while
  writing) raises ``WsNotSent`` — the venue never saw it, it is safe to send again;
* a request that was sent gets exactly one answer: the venue's reply decoded by the adapter, or
  ``UNKNOWN`` receipts when no reply came within its own timeout or the socket dropped first;
* one request's timeout never affects the others in flight, nor the connection.

The socket reconnects lazily on the next request after a drop. It never falls back to REST.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable

import anyio
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect

from bat_markets.core import (
    AuthError,
    BatMarketsError,
    CommandReceipt,
    Control,
    Credentials,
    DecodeError,
    Endpoints,
    Timeout,
    TransportError,
    VenueAdapter,
    VenueConfig,
    WsCommand,
)

from ._clock import Clock
from ._options import ClientOptions
from ._status import ConnectionDiagnostics

__all__ = ["WsNotSent", "CommandSocket"]

log = logging.getLogger("bat_markets.client.command_ws")

Spawn = Callable[..., anyio.CancelScope]
Emit = Callable[[str, "str | None"], None]
_json = msgspec.json.Decoder()


class WsNotSent(TransportError):
    """The websocket command never left this process: nothing executed, safe to send again."""


class _Waiter:
    __slots__ = ("error", "event", "frame")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.frame: bytes | None = None
        self.error: BatMarketsError | None = None


def _auth_ok(adapter: VenueAdapter, frame: bytes) -> tuple[bool, str | None]:
    """Whether a login reply accepts the session, and the venue's message."""
    try:
        out = adapter.decode_private(frame)
    except BatMarketsError:
        out = None
    if isinstance(out, Control) and out.kind in ("auth", "ack", "error"):
        return out.ok and out.kind != "error", out.message
    try:
        obj = _json.decode(frame)
    except msgspec.DecodeError:
        return False, "non-JSON login reply"
    if isinstance(obj, dict):
        if obj.get("retCode") == 0 or obj.get("status") == 200 or obj.get("success") is True:
            return True, None
        msg = obj.get("retMsg") or obj.get("ret_msg") or obj.get("error")
        return False, str(msg) if msg is not None else None
    return False, "unexpected login reply"


class CommandSocket:
    """One order-entry websocket per client."""

    def __init__(
        self,
        adapter: VenueAdapter,
        endpoints: Endpoints,
        config: VenueConfig,
        options: ClientOptions,
        clock: Clock,
        *,
        spawn: Spawn,
        emit: Emit,
    ) -> None:
        self.adapter = adapter
        self.endpoints = endpoints
        self.config = config
        self.options = options
        self.clock = clock
        self._spawn = spawn
        self._emit = emit
        self._ws: ClientConnection | None = None
        self._scope: anyio.CancelScope | None = None
        self._pending: dict[str, _Waiter] = {}
        self._lock = anyio.Lock()
        self.closed = False
        self.url = ""
        self.connected_at: float | None = None
        self.last_rx = time.monotonic()
        self.sent = 0
        self.replies = 0
        self.timeouts = 0
        self.unmatched = 0
        self.connects = 0
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def new_req_id(self) -> str:
        """A request id valid on every venue (Bybit ``reqId`` ≤ 36 chars)."""
        return uuid.uuid4().hex

    def _credentials(self) -> Credentials:
        creds = self.config.credentials
        if creds is None:
            raise AuthError(
                f"{self.adapter.name}: websocket commands need API credentials",
                venue=self.adapter.id,
            )
        return creds

    async def ensure(self) -> None:
        """Connect (and log in) if needed; ``WsNotSent``/``AuthError`` when that fails."""
        if self._ws is not None:
            return
        async with self._lock:
            if self.connected:  # someone else connected while we waited
                return
            if self.closed:
                raise WsNotSent("the client was closed", venue=self.adapter.id)
            await self._connect()

    async def _connect(self) -> None:
        creds = self._credentials()
        session = self.adapter.ws_command_session(self.endpoints, creds, self.clock.now_ms())
        self.url = session.url.split("?", maxsplit=1)[0]
        try:
            ws = await connect(
                session.url,
                open_timeout=self.config.timeouts.ws_handshake,
                ping_interval=None,
                ping_timeout=None,
                close_timeout=1.0,
                max_size=self.options.ws_max_size,
                compression=None,
            )
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            self.last_error = f"connect failed: {type(exc).__name__}: {exc}"
            raise WsNotSent(
                f"{self.adapter.name} order websocket unreachable ({exc}); nothing was sent",
                venue=self.adapter.id,
            ) from None
        self.last_rx = time.monotonic()
        if session.auth_frame is not None:
            try:
                await self._login(ws, session.auth_frame, session.auth_req_id)
            except BaseException:
                await _close(ws)
                raise
        self._ws = ws
        self.connects += 1
        self.connected_at = time.monotonic()
        self._emit("connected", f"order websocket {self.url}")
        try:
            self._scope = self._spawn(self._run, ws, name="bat-markets order ws")
        except BaseException:
            self._ws = None
            await _close(ws)
            raise

    async def _login(self, ws: ClientConnection, frame: bytes, req_id: str | None) -> None:
        timeout = self.config.timeouts.ws_handshake
        try:
            await ws.send(frame.decode())
            with anyio.fail_after(timeout):
                while True:
                    reply = await ws.recv(decode=False)
                    rid = self.adapter.ws_reply_id(reply)
                    if req_id is None or rid == req_id or rid is None:
                        ok, message = _auth_ok(self.adapter, reply)
                        if rid is None and req_id is not None and not ok:
                            continue  # an unrelated frame (pong, welcome)
                        break
        except TimeoutError:
            raise WsNotSent(
                f"{self.adapter.name} order websocket: no login answer within {timeout:g}s",
                venue=self.adapter.id,
            ) from None
        except websockets.WebSocketException as exc:
            raise WsNotSent(
                f"{self.adapter.name} order websocket closed during login ({exc})",
                venue=self.adapter.id,
            ) from None
        if not ok:
            raise AuthError(
                f"{self.adapter.name} refused the order websocket login: {message or 'no reason'}",
                venue=self.adapter.id,
                venue_message=message,
            )

    async def request(self, command: WsCommand, timeout: float) -> list[CommandReceipt]:  # noqa: ASYNC109 - per-request bound
        """Send ``command`` and return its receipts (UNKNOWN ones when no reply arrives).

        Raises ``WsNotSent`` when the frame could not be written (nothing was sent).
        """
        await self.ensure()
        ws = self._ws
        if ws is None:
            raise WsNotSent("the order websocket dropped before sending", venue=self.adapter.id)
        waiter = _Waiter()
        self._pending[command.req_id] = waiter
        try:
            await ws.send(command.frame.decode())
        except (websockets.WebSocketException, OSError) as exc:
            self._pending.pop(command.req_id, None)
            raise WsNotSent(
                f"{self.adapter.name} order websocket failed while sending ({exc}); not sent",
                venue=self.adapter.id,
            ) from None
        self.sent += 1
        try:
            with anyio.move_on_after(timeout):
                await waiter.event.wait()
        finally:
            self._pending.pop(command.req_id, None)
        if waiter.frame is not None:
            try:
                return command.decode(waiter.frame)
            except BatMarketsError as err:
                return command.unknown(err)
            except Exception as exc:  # adapter bug on an odd reply: the outcome is unknown
                log.exception("ws command decode failed")
                return command.unknown(
                    DecodeError(f"undecodable reply: {exc}", venue=self.adapter.id)
                )
        if waiter.error is not None:
            return command.unknown(waiter.error)
        self.timeouts += 1
        return command.unknown(
            Timeout(
                f"no reply to {command.kind} within {timeout:g}s on the order websocket",
                venue=self.adapter.id,
            )
        )

    async def _run(self, ws: ClientConnection) -> None:
        reason = "closed"
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._keepalive, ws, tg.cancel_scope)
                try:
                    await self._reader(ws)
                except websockets.ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd is not None else None
                    reason = f"closed by peer (code {code})"
                finally:
                    tg.cancel_scope.cancel()
        finally:
            if self._ws is ws:
                self._ws = None
            self.connected_at = None
            self.last_error = reason
            error = TransportError(
                f"order websocket {reason} before the reply", venue=self.adapter.id
            )
            for waiter in list(self._pending.values()):
                if waiter.frame is None and waiter.error is None:
                    waiter.error = error
                    waiter.event.set()
            with anyio.CancelScope(shield=True):
                await _close(ws)
            if not self.closed:
                self._emit("disconnected", f"order websocket: {reason}")

    async def _reader(self, ws: ClientConnection) -> None:
        reply_id = self.adapter.ws_reply_id
        while True:
            frame = await ws.recv(decode=False)
            self.last_rx = time.monotonic()
            try:
                rid = reply_id(frame)
            except Exception:
                rid = None
            waiter = self._pending.get(rid) if rid is not None else None
            if waiter is None:
                self.unmatched += 1  # pong, late reply to a timed-out request, server notice
                continue
            self.replies += 1
            waiter.frame = frame
            waiter.event.set()

    async def _keepalive(self, ws: ClientConnection, scope: anyio.CancelScope) -> None:
        hb = self.adapter.heartbeat()
        ping = self.adapter.ws_ping_frame()
        tick = max(0.02, min(hb.interval_s, hb.idle_timeout_s) / 4)
        next_ping = time.monotonic() + hb.interval_s
        while True:
            await anyio.sleep(tick)
            now = time.monotonic()
            if now - self.last_rx > hb.idle_timeout_s:  # dead socket: the reader sees it closed
                await _close(ws)
                scope.cancel()
                return
            if now >= next_ping:
                next_ping = now + hb.interval_s
                try:
                    if ping is not None:
                        await ws.send(ping.decode())
                    else:
                        waiter = await ws.ping()
                        waiter.add_done_callback(self._on_pong)  # type: ignore[attr-defined]
                except websockets.WebSocketException:
                    return

    def _on_pong(self, fut: object) -> None:
        self.last_rx = time.monotonic()

    async def aclose(self) -> None:
        self.closed = True
        ws, self._ws = self._ws, None
        if self._scope is not None:
            self._scope.cancel()
        if ws is not None:
            await _close(ws)

    def diagnostics(self, conn_id: int = 0) -> ConnectionDiagnostics | None:
        if not self.connects:
            return None
        now = time.monotonic()
        return ConnectionDiagnostics(
            id=conn_id,
            lane="command",
            route="command",
            url=self.url,
            state="connected" if self._ws is not None else "closed",
            topics=len(self._pending),
            connected_for_s=round(now - self.connected_at, 3) if self.connected_at else None,
            last_message_age_s=round(now - self.last_rx, 3),
            frames=self.replies + self.unmatched,
            invalid_frames=0,
            unknown_frames=self.unmatched,
            unrouted_frames=0,
            reconnects=max(0, self.connects - 1),
            last_error=self.last_error,
        )


async def _close(ws: ClientConnection) -> None:
    with anyio.CancelScope(shield=True), anyio.move_on_after(1.0), contextlib.suppress(Exception):
        await ws.close()
    if ws.transport is not None and not ws.transport.is_closing():
        ws.transport.abort()
