"""A lean client websocket for the public market-data hub (``open_wire``).

Why not ``websockets.asyncio``: its receive path costs about 5 µs per frame (a generator-based
frame parser, then a message assembler with futures, then an awaited ``recv()`` per message),
which was a third of the CPU of a whole depth diff. Here the asyncio protocol parses the server's
frames itself (unmasked, no extension negotiated, so the header is two to ten bytes) and hands
every complete message to ``on_message`` synchronously, inside ``data_received``: no future, no
task switch, no copy beyond the payload slice. The hub's callback only decodes and dispatches.

``websockets`` still does what is easy to get subtly wrong and not on the hot path: the opening
handshake (request, ``Sec-WebSocket-Accept`` check, status and header validation, via its sans-I/O
``ClientProtocol``), masking of client frames, close-frame payloads, and proxies: the one the
environment configures for the URL (``wss_proxy``/``https_proxy``/``all_proxy``..., ``no_proxy``),
HTTP CONNECT or SOCKS (the latter needs ``python-socks``), as ``websockets.connect`` does.

RFC 6455 rules enforced on received frames: no mask bit, no RSV bits, known opcodes only,
control frames final and at most 125 bytes, fragments in order, the message-size limit (checked
on the header, before buffering); a violation closes the connection with 1002 (or 1009) and
``wait_closed()`` reports it. Pings are answered, pongs resolve ``ping()`` waiters, a close frame
is echoed. Text payloads are delivered as ``bytes`` without a separate UTF-8 pass: the JSON decoder
that reads them rejects invalid UTF-8.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl as _ssl
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect_http_proxy, connect_socks_proxy
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidMessage, ProtocolError, ProxyError
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.proxy import get_proxy, parse_proxy
from websockets.uri import WebSocketURI, parse_uri

__all__ = ["Wire", "WireClosed", "open_wire"]

_monotonic = time.monotonic
_DATA_FIN = frozenset((0x81, 0x82))  # first header byte of a final, unfragmented text/binary frame
log = logging.getLogger("bat_markets.client.wire")


class WireClosed(Exception):
    """The websocket is closed: ``code`` as received or sent (1006: no close frame at all)."""

    def __init__(self, code: int, reason: str, *, by_peer: bool) -> None:
        super().__init__(f"websocket closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason
        self.by_peer = by_peer


def _frame(opcode: Opcode, payload: bytes) -> bytes:
    return Frame(opcode, payload).serialize(mask=True)


class Wire(asyncio.Protocol):
    """One client websocket. Build it with :func:`open_wire`."""

    def __init__(self, on_message: Callable[[bytes], None], max_size: int | None) -> None:
        self._on_message = on_message
        self._max = max_size if max_size is not None else 1 << 62
        self.transport: asyncio.Transport | None = None
        self.last_rx = _monotonic()
        self._open = False
        self._handshake: ClientProtocol | None = None
        self._head = bytearray()  # handshake bytes received so far
        loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = loop.create_future()
        self._closed: asyncio.Future[None] = loop.create_future()
        self._error: WireClosed | None = None
        self._close_sent = False
        self._parts: list[bytes] = []  # an incomplete frame, in pieces
        self._have = 0
        self._need = 0  # bytes the incomplete frame needs before it is parsed again
        self._frag: list[bytes] | None = None  # a fragmented message being assembled
        self._frag_size = 0
        self._pings: dict[bytes, asyncio.Future[None]] = {}
        self._paused = False
        self._drain: asyncio.Future[None] | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        hs = self._handshake
        assert hs is not None
        hs.send_request(hs.connect())
        transport.write(b"".join(hs.data_to_send()))

    def data_received(self, data: bytes) -> None:
        self.last_rx = _monotonic()
        if not self._open:
            self._handshake_data(data)
            return
        if self._parts:
            self._parts.append(data)
            self._have += len(data)
            if self._have < self._need:
                return
            data = b"".join(self._parts)
            self._parts = []
        self._frames(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._open and not self._opened.done():
            self._handshake_eof(exc)
        detail = f"connection lost: {exc}" if exc is not None else "connection lost"
        self._finish(WireClosed(1006, detail, by_peer=True))
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- the opening handshake (websockets' sans-I/O client protocol)
    def _handshake_data(self, data: bytes) -> None:
        hs = self._handshake
        assert hs is not None
        self._head += data
        hs.receive_data(data)
        self._handshake_events(hs)

    def _handshake_eof(self, exc: Exception | None) -> None:
        hs = self._handshake
        if hs is not None:
            hs.receive_eof()
            self._handshake_events(hs)
        if not self._opened.done():
            error = InvalidMessage("connection closed during the opening handshake")
            error.__cause__ = exc
            self._opened.set_exception(error)

    def _handshake_events(self, hs: ClientProtocol) -> None:
        if self._opened.done():
            return
        responded = any(isinstance(event, Response) for event in hs.events_received())
        if hs.handshake_exc is not None:
            self._opened.set_exception(hs.handshake_exc)
            if self.transport is not None:
                self.transport.close()
        elif responded:
            # A 101 response has no body: whatever follows the blank line is frames.
            rest = bytes(self._head[self._head.find(b"\r\n\r\n") + 4 :])
            self._head = bytearray()
            self._handshake = None
            self._open = True
            self._opened.set_result(None)
            if rest:
                self._frames(rest)

    # -- frames
    def _frames(self, data: bytes) -> None:
        """Parse every complete frame in ``data``; keep an incomplete tail for the next read."""
        pos = 0
        end = len(data)
        deliver = self._on_message
        while True:
            avail = end - pos
            if avail < 2:
                self._need = 2
                break
            b0 = data[pos]
            b1 = data[pos + 1]
            if b1 & 0x80:
                self._fail(1002, "masked frame from the server")
                return
            size = b1
            head = pos + 2
            if size >= 126:
                if size == 126:
                    if avail < 4:
                        self._need = 4
                        break
                    size = (data[head] << 8) | data[head + 1]
                    head += 2
                else:
                    if avail < 10:
                        self._need = 10
                        break
                    size = int.from_bytes(data[head : head + 8], "big")
                    head += 8
                    if size >> 63:
                        self._fail(1002, "64-bit frame length with the top bit set")
                        return
            if size > self._max:
                self._fail(1009, f"frame of {size} bytes exceeds the {self._max}-byte limit")
                return
            stop = head + size
            if stop > end:
                self._need = stop - pos
                break
            pos = stop
            if b0 in _DATA_FIN and self._frag is None:
                try:
                    deliver(data[head:stop])
                except Exception:  # the callback's own bug must not kill the socket
                    log.exception("on_message raised")
                if self._error is not None:  # the callback closed the wire
                    return
            elif not self._other(b0, data[head:stop]):
                return
        if pos < end:  # an incomplete frame: wait until ``_need`` bytes of it are here
            tail = data[pos:]
            self._parts = [tail]
            self._have = len(tail)

    def _other(self, b0: int, payload: bytes) -> bool:
        """Fragments and control frames; ``False`` when the connection was failed or closed."""
        fin = b0 & 0x80
        opcode = b0 & 0x0F
        if b0 & 0x70:
            return self._fail(1002, "reserved bits set (no extension was negotiated)")
        if opcode >= 8:
            if not fin or len(payload) > 125:
                return self._fail(1002, "fragmented or oversized control frame")
            if opcode == 9:  # ping
                self._write(_frame(Opcode.PONG, payload))
                return True
            if opcode == 10:  # pong
                waiter = self._pings.pop(payload, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                return True
            if opcode == 8:
                return self._peer_close(payload)
            return self._fail(1002, f"unknown control opcode {opcode}")
        if opcode == 0:
            if self._frag is None:
                return self._fail(1002, "continuation frame without a message")
            return self._fragment(payload, fin)
        if opcode in (1, 2):
            if self._frag is not None:
                return self._fail(1002, "new message inside a fragmented one")
            self._frag = []
            self._frag_size = 0
            return self._fragment(payload, fin)
        return self._fail(1002, f"unknown opcode {opcode}")

    def _fragment(self, payload: bytes, fin: int) -> bool:
        assert self._frag is not None
        self._frag_size += len(payload)
        if self._frag_size > self._max:
            return self._fail(1009, f"message exceeds the {self._max}-byte limit")
        self._frag.append(payload)
        if fin:
            message = b"".join(self._frag)
            self._frag = None
            try:
                self._on_message(message)
            except Exception:
                log.exception("on_message raised")
        return True

    def _peer_close(self, payload: bytes) -> bool:
        try:
            close = Close.parse(payload)
        except (ProtocolError, UnicodeDecodeError, ValueError) as exc:
            return self._fail(1002, f"invalid close frame: {exc}")
        if not self._close_sent:
            self._close_sent = True
            self._write(_frame(Opcode.CLOSE, payload[:2]))
        self._finish(WireClosed(close.code, close.reason, by_peer=True))
        if self.transport is not None:
            self.transport.close()
        return False

    def _fail(self, code: int, reason: str) -> bool:
        if not self._close_sent:
            self._close_sent = True
            self._write(_frame(Opcode.CLOSE, Close(code, reason[:100]).serialize()))
        self._finish(WireClosed(code, reason, by_peer=False))
        if self.transport is not None:
            self.transport.close()
        return False

    def _finish(self, error: WireClosed) -> None:
        if self._error is None:
            self._error = error
            if not self._closed.done():
                self._closed.set_result(None)
        for waiter in self._pings.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._pings.clear()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # -- the public surface
    @property
    def closed(self) -> bool:
        return self._error is not None

    async def wait_closed(self) -> None:
        """Wait until the socket closes; raises the ``WireClosed`` that says how."""
        await asyncio.shield(self._closed)
        assert self._error is not None
        raise self._error

    async def send(self, text: bytes | str) -> None:
        """Send one text frame."""
        self._check_open()
        payload = text.encode() if isinstance(text, str) else text
        self._write(_frame(Opcode.TEXT, payload))
        if self._paused:
            loop = asyncio.get_running_loop()
            if self._drain is None or self._drain.done():
                self._drain = loop.create_future()
            await self._drain
            if self._error is not None:
                raise self._error

    async def ping(self) -> asyncio.Future[None]:
        """Send a ping; the returned future resolves on its pong (or fails when the socket closes)."""
        self._check_open()
        payload = os.urandom(4)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[payload] = waiter
        self._write(_frame(Opcode.PING, payload))
        return waiter

    def _check_open(self) -> None:
        if self._error is not None:
            raise self._error
        if self._close_sent:  # no data frame may follow a close frame (RFC 6455 5.5.1)
            raise WireClosed(1000, "closing", by_peer=False)

    async def close(self, timeout: float = 1.0) -> None:
        """Close handshake (1000), bounded by ``timeout``; the socket is gone afterwards."""
        if not self._close_sent and self._error is None:
            self._close_sent = True
            self._write(_frame(Opcode.CLOSE, Close(1000, "").serialize()))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._closed), timeout)
        self.abort()

    def abort(self) -> None:
        """Drop the TCP connection now."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()
        self._finish(WireClosed(1006, "aborted", by_peer=False))


_default_ssl: _ssl.SSLContext | None = None


def _ssl_context() -> _ssl.SSLContext:
    global _default_ssl
    if _default_ssl is None:
        _default_ssl = _ssl.create_default_context()
    return _default_ssl


async def open_wire(
    url: str,
    on_message: Callable[[bytes], None],
    *,
    open_timeout: float,
    max_size: int | None,
) -> Wire:
    """Connect (through the environment's proxy if one applies), complete the opening handshake,
    return the open :class:`Wire`.

    Raises ``OSError``/``TimeoutError`` for the connection and ``websockets``' handshake
    exceptions (``InvalidURI``, ``InvalidStatus``, ``InvalidHandshake``, ``ProxyError``) for the
    upgrade.
    """
    uri = parse_uri(url)
    wire = Wire(on_message, max_size)
    wire._handshake = ClientProtocol(uri, max_size=None)

    async def connect() -> None:
        await _connect(wire, uri)
        await wire._opened

    try:
        await asyncio.wait_for(connect(), open_timeout)
    except asyncio.TimeoutError:  # not the builtin before Python 3.11
        wire.abort()
        raise TimeoutError(f"opening handshake with {url} timed out") from None
    except BaseException:
        wire.abort()
        raise
    return wire


async def _connect(wire: Wire, uri: WebSocketURI) -> None:
    loop = asyncio.get_running_loop()
    tls = _ssl_context() if uri.secure else None
    hostname = uri.host if uri.secure else None
    proxy_url = get_proxy(uri)
    if proxy_url is None:
        await loop.create_connection(
            lambda: wire, uri.host, uri.port, ssl=tls, server_hostname=hostname
        )
        return
    proxy = parse_proxy(proxy_url)
    if proxy.scheme.startswith("socks"):
        try:
            sock = await connect_socks_proxy(proxy, uri)
        except ImportError as exc:  # python-socks is not installed
            raise ProxyError(f"{proxy_url}: {exc}") from None
        await loop.create_connection(lambda: wire, sock=sock, ssl=tls, server_hostname=hostname)
        return
    extra: dict[str, Any] = {"ssl": True} if proxy.scheme == "https" else {}
    transport = await connect_http_proxy(proxy, uri, **extra)
    transport.set_protocol(wire)
    if tls is not None:
        upgraded = await loop.start_tls(transport, wire, tls, server_hostname=hostname)
        assert upgraded is not None
        transport = upgraded
    wire.connection_made(transport)
