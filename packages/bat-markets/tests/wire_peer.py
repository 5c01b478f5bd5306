"""Raw RFC 6455 tooling for the lean client websocket's tests (``test_wire.py``).

* ``server_frame`` builds server frames byte by byte (any opcode, FIN/RSV bits, optional mask),
  so tests can send what a real server library refuses to: protocol violations included.
* ``RawPeer`` is a plain asyncio TCP server: it reads the HTTP upgrade request, answers a
  correct ``101`` (or whatever ``respond`` returns), then runs a script on the connection.
* ``RecordingTransport`` + ``fed_wire`` drive a ``Wire`` with no socket at all: a real ``101``
  goes through ``connection_made``/``data_received`` and every byte the wire writes is kept.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from bat_markets.client._wire import Wire

__all__ = [
    "GUID",
    "ClientFrame",
    "PeerConn",
    "RawPeer",
    "RecordingTransport",
    "accept_for",
    "close_payload",
    "fed_wire",
    "frame_header",
    "parse_client_frames",
    "parse_close",
    "server_frame",
    "unmask",
    "until",
    "upgrade_response",
]

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
LIMIT = 5.0  # seconds any single wait in a peer script may take before the test fails


def accept_for(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_response(key: str, *, accept: str | None = None, extra: tuple[str, ...] = ()) -> bytes:
    """A ``101 Switching Protocols`` answer (``accept`` overrides the computed value)."""
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept if accept is not None else accept_for(key)}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def unmask(mask: bytes, data: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` (fast enough for megabytes)."""
    if not data:
        return b""
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def frame_header(b0: int, size: int, *, masked: bool = False) -> bytes:
    """The first bytes of a frame: ``b0`` then the minimal length encoding of ``size``."""
    bit = 0x80 if masked else 0
    if size < 126:
        return bytes([b0, bit | size])
    if size < 1 << 16:
        return bytes([b0, bit | 126]) + struct.pack("!H", size)
    return bytes([b0, bit | 127]) + struct.pack("!Q", size)


def server_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
) -> bytes:
    """One frame as a server would write it (``rsv``: raw 0x70 bits; ``mask``: a 4-byte key)."""
    b0 = (0x80 if fin else 0) | rsv | opcode
    head = frame_header(b0, len(payload), masked=mask is not None)
    if mask is None:
        return head + payload
    return head + mask + unmask(mask, payload)


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame."""
    return struct.pack("!H", code) + reason.encode()


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """``(code, reason)`` of a close payload; ``(None, "")`` when it is empty."""
    if not payload:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode()


@dataclass(frozen=True)
class ClientFrame:
    """A frame the client wrote, unmasked."""

    fin: bool
    rsv: int
    opcode: int
    payload: bytes


def parse_client_frames(buf: bytearray) -> list[ClientFrame]:
    """Consume every complete frame at the start of ``buf``; client frames must be masked."""
    out: list[ClientFrame] = []
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        assert b1 & 0x80, "a client frame must be masked"
        size = b1 & 0x7F
        pos = 2
        if size == 126:
            if len(buf) < 4:
                break
            size = struct.unpack("!H", buf[2:4])[0]
            pos = 4
        elif size == 127:
            if len(buf) < 10:
                break
            size = struct.unpack("!Q", buf[2:10])[0]
            pos = 10
        if len(buf) < pos + 4 + size:
            break
        mask = bytes(buf[pos : pos + 4])
        payload = unmask(mask, bytes(buf[pos + 4 : pos + 4 + size]))
        del buf[: pos + 4 + size]
        out.append(ClientFrame(bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, payload))
    return out


async def until(cond: Callable[[], bool], limit: float = LIMIT) -> None:
    """Yield to the loop until ``cond()`` holds (fails the test after ``limit`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    spins = 0
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        spins += 1
        # Loopback bytes are readable on the next loop turn; back off only for slow conditions.
        await asyncio.sleep(0 if spins < 100 else 0.001)


class PeerConn:
    """One accepted connection of a :class:`RawPeer`, after its upgrade answer."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.request = request
        self.key = ""
        for line in request.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-key":
                self.key = value.strip()
        self._buf = bytearray()
        self._pending: list[ClientFrame] = []

    async def write(self, data: bytes) -> None:
        """Write raw bytes and drain."""
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self, limit: float = LIMIT) -> ClientFrame:
        """The next client frame (unmasked)."""

        async def read() -> ClientFrame:
            while True:
                frames = parse_client_frames(self._buf)
                if frames:
                    # parse_client_frames consumed them all: keep the extras for later reads.
                    first, rest = frames[0], frames[1:]
                    self._pending.extend(rest)
                    return first
                chunk = await self.reader.read(1 << 20)
                if not chunk:
                    raise EOFError("the client closed the connection")
                self._buf += chunk

        if self._pending:
            return self._pending.pop(0)
        return await asyncio.wait_for(read(), limit)

    async def frames_until_eof(self, limit: float = LIMIT) -> list[ClientFrame]:
        """Every client frame until the client drops the connection."""
        out: list[ClientFrame] = []
        while True:
            try:
                out.append(await self.read_frame(limit))
            except (EOFError, ConnectionError):
                return out

    async def read_close(self) -> tuple[int | None, str]:
        """Read the next frame, which must be a close frame; its ``(code, reason)``."""
        frame = await self.read_frame()
        assert frame.opcode == 8, f"expected a close frame, got opcode {frame.opcode}"
        return parse_close(frame.payload)

    async def wait_eof(self, limit: float = LIMIT) -> bytes:
        """Read until the client drops the connection; the bytes seen meanwhile."""
        seen = bytearray()

        async def read() -> None:
            while True:
                try:
                    chunk = await self.reader.read(1 << 20)
                except ConnectionError:
                    return
                if not chunk:
                    return
                seen.extend(chunk)

        await asyncio.wait_for(read(), limit)
        return bytes(seen)


Script = Callable[[PeerConn], Awaitable[Any]]


class RawPeer:
    """A loopback TCP server speaking raw websocket bytes from a script.

    Each connection: read the request head, write ``respond(key)`` (default: a correct 101)
    plus ``after_101`` in the same write, then ``await script(conn)``. When the script returns
    the TCP connection is closed (no close frame). ``result(i)`` is the i-th connection's
    script result (or raises what the script raised).
    """

    def __init__(
        self,
        script: Script,
        *,
        respond: Callable[[str], bytes] | None = None,
        after_101: bytes = b"",
    ) -> None:
        self._script = script
        self._respond = respond or upgrade_response
        self._after = after_101
        self._server: asyncio.Server | None = None
        self._results: list[asyncio.Future[Any]] = []
        self._arrived = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.port = 0
        self.response_size = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    async def __aenter__(self) -> RawPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        for fut in self._results:
            if not fut.done():
                fut.cancel()
            elif not fut.cancelled():
                fut.exception()  # retrieved: no "never retrieved" noise

    async def result(self, index: int = 0, limit: float = LIMIT) -> Any:
        """The script result of connection ``index``."""

        async def wait() -> Any:
            while len(self._results) <= index:
                self._arrived.clear()
                await self._arrived.wait()
            return await self._results[index]

        return await asyncio.wait_for(wait(), limit)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._results.append(fut)
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        self._arrived.set()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
            conn = PeerConn(reader, writer, head)
            response = self._respond(conn.key)
            self.response_size = len(response)
            if response:
                await conn.write(response + self._after)
            value = await self._script(conn)
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(value)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class RecordingTransport(asyncio.Transport):
    """A transport with no socket: keeps what the wire writes, records close/abort."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.is_closing(), "write after close"
        self.written += data

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def frames(self) -> list[ClientFrame]:
        """Every complete client frame written so far (consumed from ``written``)."""
        return parse_client_frames(self.written)


def fed_wire(
    on_message: Callable[[bytes], None], max_size: int | None, first: bytes = b""
) -> tuple[Wire, RecordingTransport]:
    """An open ``Wire`` over a :class:`RecordingTransport` (call inside a running loop).

    The wire's own request is parsed for its key, a correct 101 is fed back through
    ``data_received`` with ``first`` appended in the same chunk.
    """
    wire = Wire(on_message, max_size)
    wire._handshake = ClientProtocol(parse_uri("ws://fed.test/"), max_size=None)
    transport = RecordingTransport()
    wire.connection_made(transport)
    request = bytes(transport.written)
    transport.written.clear()
    assert request.startswith(b"GET / HTTP/1.1\r\n")
    key = ""
    for line in request.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-key":
            key = value.strip()
    wire.data_received(upgrade_response(key) + first)
    assert wire._opened.done()
    assert wire._opened.exception() is None
    return wire, transport
