"""Server harness: uvicorn on 127.0.0.1 (port 0 = random), REST fault middleware, and the
websocket connection wrapper that applies websocket faults to outgoing frames.

``SimServer(app, faults, fault_body, host="127.0.0.1", port=0, ws_ping_interval=180.0,
ws_ping_timeout=600.0)`` — ``await start()`` binds and serves in the running event loop
(``port`` then holds the bound port), ``await stop()`` shuts down cleanly (no leaked tasks).
``fault_body(error, status) -> (status, headers, body_bytes)`` renders the venue's default body
for an ``http_error`` / ``unknown_error`` fault.

``SimConnection(ws, faults)`` wraps one accepted starlette ``WebSocket``: venue layers call
``push(text, kind)`` (sync, from engine listeners) with ``kind`` one of ``public``, ``depth``,
``private``, ``fill``, ``control``; ``await run(on_text)`` pumps frames until the peer leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from fnmatch import fnmatchcase
from typing import Any

import uvicorn
from starlette.websockets import WebSocket, WebSocketDisconnect

from ._faults import Faults

__all__ = ["ASGIApp", "FaultBody", "FaultMiddleware", "SimConnection", "SimServer"]

log = logging.getLogger("bat_markets.testing.sim")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
FaultBody = Callable[[str, int], tuple[int, list[tuple[bytes, bytes]], bytes]]

_HANG_LIMIT = 60.0


def _transport_of(send: Any) -> asyncio.Transport | None:
    """uvicorn's protocol objects hold the TCP transport; reach it through the bound ``send``."""
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


class FaultMiddleware:
    """Outermost ASGI layer: applies REST faults and hands the raw ``send`` to websockets."""

    def __init__(self, app: ASGIApp, faults: Faults, fault_body: FaultBody) -> None:
        self.app = app
        self.faults = faults
        self.fault_body = fault_body
        self.stopping = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope["sim.raw_send"] = send
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.faults.take_http(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        if rule.execute:
            await self.app(scope, receive, capture)
        if rule.kind == "status":
            await self._send_error(send, rule.status, rule.error, rule.body)
        elif rule.kind == "delay":
            await asyncio.sleep(rule.delay)
            for message in captured:
                await send(message)
        elif rule.kind == "drop":
            transport = _transport_of(send)
            if transport is not None:
                transport.abort()
            else:  # unknown server: fall back to never answering
                await self._hang(receive)
        else:  # hang
            await self._hang(receive)

    async def _hang(self, receive: Receive) -> None:
        async def wait_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return

        waiters = [
            asyncio.ensure_future(wait_disconnect()),
            asyncio.ensure_future(self.stopping.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=_HANG_LIMIT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _send_error(self, send: Send, status: int, error: str, body: Any) -> None:
        if body is None:
            status, headers, raw = self.fault_body(error, status)
        else:
            import json

            if isinstance(body, bytes):
                raw = body
            elif isinstance(body, str):
                raw = body.encode()
            else:
                raw = json.dumps(body).encode()
            headers = [(b"content-type", b"application/json")]
        headers = [*headers, (b"content-length", str(len(raw)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


class SimServer:
    """uvicorn serving ``app`` in the current event loop (see module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        fault_body: FaultBody,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_ping_interval: float | None = 180.0,
        ws_ping_timeout: float | None = 600.0,
    ) -> None:
        self.middleware = FaultMiddleware(app, faults, fault_body)
        self.host = host
        self.port = port
        self.faults = faults
        self._ws_ping_interval = ws_ping_interval
        self._ws_ping_timeout = ws_ping_timeout
        self._server: uvicorn.Server | None = None
        self._main: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            self.middleware,
            host=self.host,
            port=self.port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            http="h11",
            ws_ping_interval=self._ws_ping_interval,
            ws_ping_timeout=self._ws_ping_timeout,
            timeout_graceful_shutdown=2,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        self._server = server
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self.faults.loop = asyncio.get_running_loop()
        self._main = asyncio.ensure_future(server.main_loop())

    async def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self.middleware.stopping.set()
        for conn in list(self.faults.connections):
            conn.drop(abort=False, code=1001)
        server.should_exit = True
        if self._main is not None:
            self._main.cancel()
            await asyncio.gather(self._main, return_exceptions=True)
        # uvicorn's own shutdown, minus its fixed sleeps
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        # uvicorn's server state offers no event to wait on, so poll it briefly
        busy = server.server_state
        while (busy.connections or busy.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        for task in list(server.server_state.tasks):
            task.cancel()
        for listener in server.servers:
            await listener.wait_closed()
        self._server = None
        self.faults.loop = None


_CLOSE = object()


class SimConnection:
    """One accepted websocket; applies the websocket faults to what it sends."""

    def __init__(
        self,
        ws: WebSocket,
        faults: Faults,
        *,
        max_age: float | None = None,
        max_incoming_per_s: int | None = None,
    ) -> None:
        self.ws = ws
        self.max_age = max_age
        self.max_incoming_per_s = max_incoming_per_s
        self._window_start = 0.0
        self._window_count = 0
        self.faults = faults
        self.path = ws.url.path
        self.query = ws.url.query
        self.queue: asyncio.Queue[tuple[object, str]] = asyncio.Queue()
        self.closed = False
        self.frames_sent = 0
        self.state: dict[str, Any] = {}  # venue-layer scratch (subscriptions, keys...)
        self._drop_after: int | None = None
        self._drop_abort = True
        self._held: str | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._raw_send = ws.scope.get("sim.raw_send")
        self.on_close: list[Callable[[], None]] = []
        self._closing: asyncio.Future[None] | None = None

    def matches(self, pattern: str | None) -> bool:
        return pattern is None or fnmatchcase(self.path, pattern)

    def push(self, text: str, kind: str = "public") -> None:
        """Queue a frame (non-blocking; safe from engine listeners)."""
        if not self.closed:
            self.queue.put_nowait((text, kind))

    def drop(self, abort: bool = True, code: int = 1001) -> None:
        """Reset the TCP connection (``abort``) or close it with ``code``."""
        if self.closed:
            return
        self.closed = True
        transport = _transport_of(self._raw_send) if abort else None
        if transport is not None:
            transport.abort()
        else:
            self._closing = asyncio.ensure_future(self._close(code))
        self.queue.put_nowait((_CLOSE, "control"))

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code)

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, text: str) -> bool:
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True
            return False
        except Exception:  # a peer vanishing mid-send surfaces in several ways
            self.closed = True
            return False
        self.frames_sent += 1
        if self._drop_after is None and self.faults.ws_drops:
            rule = self.faults.take_ws_drop(self)
            if rule is not None:
                self._drop_after, self._drop_abort = rule.after_frames, rule.abort
        if self._drop_after is not None:
            self._drop_after -= 1
            if self._drop_after <= 0:
                self.faults.fired.append("ws:drop")
                self.drop(self._drop_abort)
                return False
        return True

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.drop(abort=False, code=1000)

    async def _late(self, text: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self.closed:
            await self._send(text)

    async def _flush_held(self, delay: float) -> None:
        await asyncio.sleep(delay)
        held, self._held = self._held, None
        if held is not None and not self.closed:
            await self._send(held)

    async def _sender(self) -> None:
        while not self.closed:
            item, kind = await self.queue.get()
            if item is _CLOSE:
                break
            assert isinstance(item, str)
            broken = self.faults.malformed and self.faults.take_malformed(self)
            if broken and not await self._send(item[: max(1, len(item) // 2)]):
                break
            if kind == "fill":
                delay = self.faults.take_late_fill()
                if delay > 0:
                    self.spawn(self._late(item, delay))
                    continue
            if kind in ("private", "fill"):
                if self._held is None and self.faults.reorder_count and self.faults.take_reorder():
                    self._held = item
                    self.spawn(self._flush_held(1.0))
                    continue
                twice = self.faults.duplicate_count and self.faults.take_duplicate()
                if twice and not await self._send(item):
                    break
                if not await self._send(item):
                    break
                held, self._held = self._held, None
                if held is not None and not await self._send(held):
                    break
                continue
            if not await self._send(item):
                break

    async def run(self, on_text: Callable[[str], Awaitable[None]]) -> None:
        """Serve the connection: frames out from the queue, ``on_text`` for frames in."""
        self.faults.connections.add(self)
        rule = self.faults.take_ws_drop(self) if self.faults.ws_drops else None
        if rule is not None:
            self._drop_after, self._drop_abort = max(rule.after_frames, 1), rule.abort
        sender = asyncio.ensure_future(self._sender())
        if self.max_age is not None:
            self.spawn(self._expire(self.max_age))
        loop = asyncio.get_running_loop()
        try:
            while not self.closed:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if self.max_incoming_per_s is not None:
                    now = loop.time()
                    if now - self._window_start >= 1.0:
                        self._window_start, self._window_count = now, 0
                    self._window_count += 1
                    if self._window_count > self.max_incoming_per_s:
                        self.drop(abort=False, code=1008)  # the venue cuts chatty connections
                        break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                if text is not None:
                    try:
                        await on_text(text)
                    except Exception:
                        log.exception("simulator websocket handler failed")
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.closed = True
            self.faults.connections.discard(self)
            self.queue.put_nowait((_CLOSE, "control"))
            if self._closing is not None:  # let a requested close frame go out first
                await asyncio.wait([self._closing], timeout=1.0)
            sender.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(sender, *self._tasks, return_exceptions=True)
            for cb in self.on_close:
                with contextlib.suppress(Exception):
                    cb()
