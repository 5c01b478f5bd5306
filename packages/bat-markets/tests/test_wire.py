"""The lean client websocket (``_wire.py``) over real loopback sockets and fed byte streams.

Three layers: a real ``websockets`` server (handshake, messages, pings, close handshakes,
rejections, timeouts); a raw TCP peer writing scripted bytes (frame splitting and coalescing,
length encodings, fragments, every RFC 6455 violation the wire must refuse, size limits, drops,
backpressure); and a hypothesis property over random framings and chunkings with no socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import (
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidUpgrade,
)
from websockets.frames import Close
from websockets.http11 import Request, Response
from wire_peer import (
    ClientFrame,
    PeerConn,
    RawPeer,
    accept_for,
    close_payload,
    fed_wire,
    frame_header,
    server_frame,
    until,
    upgrade_response,
)

from bat_markets.client._wire import Wire, WireClosed, open_wire

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
LIMIT = 5.0


class Inbox:
    """An ``on_message`` target that keeps every message (the first ``fail_first`` raise)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.messages: list[bytes] = []
        self.fail_first = fail_first

    def __call__(self, data: bytes) -> None:
        self.messages.append(data)
        if len(self.messages) <= self.fail_first:
            raise RuntimeError("a bug in the callback")

    async def wait(self, count: int) -> list[bytes]:
        await until(lambda: len(self.messages) >= count)
        return self.messages


Dial = Callable[..., Awaitable[tuple[Wire, Inbox]]]


@pytest.fixture
async def dial() -> AsyncIterator[Dial]:
    wires: list[Wire] = []

    async def factory(
        url: str,
        *,
        max_size: int | None = 1 << 24,
        inbox: Inbox | None = None,
        open_timeout: float = LIMIT,
    ) -> tuple[Wire, Inbox]:
        box = inbox if inbox is not None else Inbox()
        wire = await open_wire(url, box, open_timeout=open_timeout, max_size=max_size)
        wires.append(wire)
        return wire, box

    yield factory
    for wire in wires:
        wire.abort()


async def closed_with(wire: Wire) -> WireClosed:
    """The ``WireClosed`` that ``wait_closed()`` raises (fails the test if it never closes)."""
    with pytest.raises(WireClosed) as info:
        await asyncio.wait_for(wire.wait_closed(), LIMIT)
    return info.value


Reads = list[tuple[bool, int]]


def spy_reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Record ``(open, len(data))`` for every ``Wire.data_received`` call."""
    reads: Reads = []
    original = Wire.data_received

    def spy(self: Wire, data: bytes) -> None:
        reads.append((self._open, len(data)))
        original(self, data)

    monkeypatch.setattr(Wire, "data_received", spy)
    return reads


def open_bytes(reads: Reads) -> int:
    return sum(size for is_open, size in reads if is_open)


async def delivered(reads: Reads, count: int) -> None:
    await until(lambda: open_bytes(reads) >= count)


def mixed_stream() -> tuple[bytes, list[bytes], list[bytes]]:
    """Frames with 7-bit and 16-bit lengths, empty payloads, a fragmented text message with a
    ping inside and a fragmented binary one: ``(bytes, messages, ping payloads)``."""
    rnd = random.Random(1)
    messages = [b"a", b"", rnd.randbytes(125), rnd.randbytes(126), b"x" * 300, "é€".encode()]
    blob = b"".join(server_frame(TEXT if i % 2 else BINARY, m) for i, m in enumerate(messages))
    blob += (
        server_frame(TEXT, b"frag-", fin=False)
        + server_frame(PING, b"ping-1")
        + server_frame(CONT, b"men", fin=False)
        + server_frame(CONT, b"", fin=False)
        + server_frame(CONT, b"ted")
    )
    messages.append(b"frag-mented")
    blob += server_frame(BINARY, b"\x00" * 130, fin=False) + server_frame(CONT, b"\xff" * 2)
    messages.append(b"\x00" * 130 + b"\xff" * 2)
    blob += server_frame(PING, b"") + server_frame(TEXT, b"tail")
    messages.append(b"tail")
    return blob, messages, [b"ping-1", b""]


# ---------------------------------------------------------------------------------------------
# 1. Against a real websockets server


Handler = Callable[[ServerConnection], Awaitable[None]]


@contextlib.asynccontextmanager
async def ws_serve(handler: Handler, **kwargs: Any) -> AsyncIterator[str]:
    async with serve(
        handler, "127.0.0.1", 0, compression=None, close_timeout=2, **kwargs
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/feed"


async def test_messages_arrive_in_order_as_bytes(dial: Dial) -> None:
    big = random.Random(7).randbytes(1 << 20)

    async def handler(ws: ServerConnection) -> None:
        for message in ("héllo", b"\x00\x01bin", "", b"", big, "after"):
            await ws.send(message)
        await ws.wait_closed()

    async with ws_serve(handler) as url:
        wire, inbox = await dial(url, max_size=2 << 20)
        got = await inbox.wait(6)
        assert got == ["héllo".encode(), b"\x00\x01bin", b"", b"", big, b"after"]
        assert all(type(m) is bytes for m in got)
        assert not wire.closed


async def test_send_str_and_bytes_reach_the_server_as_text(dial: Dial) -> None:
    seen: asyncio.Future[list[str | bytes]] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        seen.set_result([await ws.recv() for _ in range(4)])
        await ws.wait_closed()

    async with ws_serve(handler) as url:
        wire, _ = await dial(url)
        await wire.send("héllo")
        await wire.send(b'{"op":"subscribe"}')
        await wire.send("")
        await wire.send("x" * 70_000)
        got = await asyncio.wait_for(seen, LIMIT)
    assert got == ["héllo", '{"op":"subscribe"}', "", "x" * 70_000]  # str: text frames


async def test_ping_resolves_on_the_servers_automatic_pong(dial: Dial) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with ws_serve(handler) as url:
        wire, _ = await dial(url)
        first = await wire.ping()
        second = await wire.ping()
        assert not first.done()
        await asyncio.wait_for(asyncio.gather(first, second), LIMIT)
        assert first.result() is None
        assert second.result() is None
        assert not wire.closed


async def test_a_server_ping_is_answered(dial: Dial) -> None:
    latency: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        waiter = await ws.ping(b"server-ping")
        latency.set_result(await asyncio.wait_for(waiter, LIMIT))
        await ws.wait_closed()

    async with ws_serve(handler) as url:
        await dial(url)
        assert await asyncio.wait_for(latency, LIMIT) >= 0


async def test_server_close_4001_is_reported_echoed_and_blocks_sends(dial: Dial) -> None:
    echo: asyncio.Future[Close | None] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        await ws.close(4001, "go away")
        echo.set_result(ws.protocol.close_rcvd)

    async with ws_serve(handler) as url:
        wire, _ = await dial(url)
        error = await closed_with(wire)
        assert (error.code, error.reason, error.by_peer) == (4001, "go away", True)
        assert wire.closed
        received = await asyncio.wait_for(echo, LIMIT)
        assert received is not None
        assert received.code == 4001
        with pytest.raises(WireClosed) as info:
            await wire.send("late")
        assert info.value.code == 4001
        with pytest.raises(WireClosed):
            await wire.ping()


async def test_client_close_completes_the_handshake_with_1000(dial: Dial) -> None:
    seen: asyncio.Future[tuple[Close | None, Close | None]] = (
        asyncio.get_running_loop().create_future()
    )

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()
        seen.set_result((ws.protocol.close_rcvd, ws.protocol.close_sent))

    async with ws_serve(handler) as url:
        wire, _ = await dial(url)
        await wire.close(timeout=LIMIT)
        error = await closed_with(wire)
        # The server's echo arrived (an abort after the timeout would be 1006, not by the peer).
        assert (error.code, error.by_peer) == (1000, True)
        received, sent = await asyncio.wait_for(seen, LIMIT)
        assert received is not None
        assert received.code == 1000
        assert sent is not None
        assert sent.code == 1000
        with pytest.raises(WireClosed):
            await wire.send("after close")
        await wire.close()  # idempotent


@pytest.mark.parametrize("status", [401, 403, 429, 503])
async def test_a_rejected_handshake_raises_invalid_status(dial: Dial, status: int) -> None:
    def reject(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(HTTPStatus(status), "not today\n")

    async def handler(ws: ServerConnection) -> None:
        raise AssertionError("the upgrade was rejected")

    async with ws_serve(handler, process_request=reject) as url:
        with pytest.raises(InvalidStatus) as info:
            await dial(url)
    assert info.value.response.status_code == status


async def test_an_unreachable_port_raises_oserror(dial: Dial) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError) as info:
        await dial(f"ws://127.0.0.1:{port}/")
    assert isinstance(info.value, ConnectionRefusedError)


async def test_open_timeout_raises_builtin_timeout_and_drops_the_socket(dial: Dial) -> None:
    async def script(conn: PeerConn) -> bytes:
        return await conn.wait_eof()

    async with RawPeer(script, respond=lambda key: b"") as peer:
        with pytest.raises(TimeoutError) as info:
            await dial(peer.url, open_timeout=0.2)
        assert type(info.value) is TimeoutError
        assert await peer.result() == b""  # the client hung up, having sent nothing more


async def test_max_size_against_a_real_server(dial: Dial) -> None:
    code: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        await ws.send(b"a" * 1000)
        await ws.send(b"b" * 1001)
        await ws.wait_closed()
        rcvd = ws.protocol.close_rcvd
        code.set_result(rcvd.code if rcvd is not None else None)

    async with ws_serve(handler) as url:
        wire, inbox = await dial(url, max_size=1000)
        error = await closed_with(wire)
        assert (error.code, error.by_peer) == (1009, False)
        assert inbox.messages == [b"a" * 1000]
        assert await asyncio.wait_for(code, LIMIT) == 1009


# ---------------------------------------------------------------------------------------------
# 2. Against a raw peer writing scripted bytes


async def test_the_upgrade_request_offers_no_extension(dial: Dial) -> None:
    async def script(conn: PeerConn) -> bytes:
        await conn.read_close()
        return conn.request

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        await wire.close(timeout=0.5)
        request = (await peer.result()).decode().lower()
    assert request.startswith("get /stream http/1.1\r\n")
    assert f"host: 127.0.0.1:{peer.port}\r\n" in request
    assert "upgrade: websocket\r\n" in request
    assert "sec-websocket-version: 13\r\n" in request
    assert "sec-websocket-extensions" not in request  # compressed frames cannot be read


async def test_frames_split_at_every_byte_boundary(
    dial: Dial, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = spy_reads(monkeypatch)
    blob, messages, pings = mixed_stream()
    big = random.Random(2).randbytes(70_000)
    big_frame = server_frame(BINARY, big)
    assert big_frame[1] == 127
    go = asyncio.Event()
    pieces = [bytes([b]) for b in blob + big_frame[:11]] + [big_frame[11:-1], big_frame[-1:]]

    async def script(conn: PeerConn) -> list[ClientFrame]:
        await go.wait()
        sent = 0
        for piece in pieces:
            await conn.write(piece)
            sent += len(piece)
            await delivered(reads, sent)  # one write, one read: every boundary is a split
        return [await conn.read_frame() for _ in pings]

    async with RawPeer(script) as peer:
        _, inbox = await dial(peer.url)
        go.set()
        pongs = await peer.result()
        assert await inbox.wait(len(messages) + 1) == [*messages, big]
    single = len(blob) + 11
    assert [size for is_open, size in reads if is_open][:single] == [1] * single
    assert [(f.fin, f.rsv, f.opcode, f.payload) for f in pongs] == [
        (True, 0, PONG, p) for p in pings
    ]


async def test_many_frames_coalesced_in_one_write(
    dial: Dial, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = spy_reads(monkeypatch)
    blob, messages, pings = mixed_stream()
    many = [f'{{"seq":{i}}}'.encode() for i in range(2000)]
    go = asyncio.Event()

    async def script(conn: PeerConn) -> list[ClientFrame]:
        await go.wait()
        await conn.write(b"".join(server_frame(TEXT, m) for m in many) + blob)
        return [await conn.read_frame() for _ in pings]

    async with RawPeer(script) as peer:
        _, inbox = await dial(peer.url)
        go.set()
        pongs = await peer.result()
        assert await inbox.wait(len(many) + len(messages)) == many + messages
    assert [f.payload for f in pongs] == pings
    assert len([r for r in reads if r[0]]) < 100  # many frames per read


async def test_length_encodings_7_16_and_64_bit(dial: Dial) -> None:
    rnd = random.Random(3)
    payloads = [rnd.randbytes(n) for n in (0, 1, 125, 126, 127, 65_535, 65_536, 300_000)]
    frames = [server_frame(BINARY, p) for p in payloads]
    assert [f[1] for f in frames] == [0, 1, 125, 126, 126, 126, 127, 127]

    async def script(conn: PeerConn) -> None:
        for frame in frames:
            await conn.write(frame)
        await conn.read_close()

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url)
        assert await inbox.wait(len(payloads)) == payloads
        await wire.close(timeout=LIMIT)


async def test_frames_in_the_same_segment_as_the_101_are_delivered(
    dial: Dial, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = spy_reads(monkeypatch)
    blob, messages, pings = mixed_stream()
    cut = len(blob) - 3  # the last frame is completed by a later write

    async def script(conn: PeerConn) -> list[ClientFrame]:
        pongs = [await conn.read_frame() for _ in pings]
        await conn.write(blob[cut:])
        return pongs

    async with RawPeer(script, after_101=blob[:cut]) as peer:
        _, inbox = await dial(peer.url)
        pongs = await peer.result()
        assert await inbox.wait(len(messages)) == messages
    assert reads[0] == (False, peer.response_size + cut)  # 101 and frames in one read
    assert [f.payload for f in pongs] == pings


async def test_a_close_frame_right_after_the_101(dial: Dial) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        return await conn.read_close()

    after = server_frame(TEXT, b"hi") + server_frame(CLOSE, close_payload(4002, "bye"))
    async with RawPeer(script, after_101=after) as peer:
        wire, inbox = await dial(peer.url)
        error = await closed_with(wire)
        assert (error.code, error.reason, error.by_peer) == (4002, "bye", True)
        assert inbox.messages == [b"hi"]
        assert await peer.result() == (4002, "")


async def test_fragmented_messages_with_an_interleaved_ping(dial: Dial) -> None:
    async def script(conn: PeerConn) -> ClientFrame:
        await conn.write(
            server_frame(TEXT, b"hel", fin=False)
            + server_frame(PING, b"are you there?")
            + server_frame(CONT, b"lo ", fin=False)
        )
        pong = await conn.read_frame()
        await conn.write(server_frame(CONT, b"world") + server_frame(TEXT, b"next"))
        await conn.write(server_frame(BINARY, b"\x01", fin=False) + server_frame(CONT, b"\x02"))
        return pong

    async with RawPeer(script) as peer:
        _, inbox = await dial(peer.url)
        pong = await peer.result()
        assert await inbox.wait(3) == [b"hello world", b"next", b"\x01\x02"]
    assert (pong.fin, pong.rsv, pong.opcode, pong.payload) == (True, 0, PONG, b"are you there?")


VIOLATIONS = [
    pytest.param(server_frame(TEXT, b"hi", mask=b"\x01\x02\x03\x04"), id="masked"),
    pytest.param(server_frame(TEXT, b"hi", mask=b"\x00\x00\x00\x00"), id="masked-zero-key"),
    pytest.param(server_frame(TEXT, b"hi", rsv=0x40), id="rsv1"),
    pytest.param(server_frame(BINARY, b"hi", rsv=0x20), id="rsv2"),
    pytest.param(server_frame(CONT, b"hi", rsv=0x10), id="rsv3-continuation"),
    pytest.param(server_frame(PING, b"hi", rsv=0x40), id="rsv1-ping"),
    pytest.param(server_frame(3, b"x"), id="opcode-3"),
    pytest.param(server_frame(7, b"x", fin=False), id="opcode-7"),
    pytest.param(server_frame(0xB, b"x"), id="opcode-11"),
    pytest.param(server_frame(0xF, b""), id="opcode-15"),
    pytest.param(server_frame(PING, b"p" * 126), id="ping-126-bytes"),
    pytest.param(server_frame(PONG, b"p" * 70_000), id="pong-64-bit-length"),
    pytest.param(server_frame(CLOSE, close_payload(1000, "r" * 124)), id="close-126-bytes"),
    pytest.param(server_frame(PING, b"p", fin=False), id="fragmented-ping"),
    pytest.param(server_frame(CLOSE, close_payload(1000), fin=False), id="fragmented-close"),
    pytest.param(server_frame(CONT, b"orphan"), id="continuation-without-start"),
    pytest.param(server_frame(CONT, b"orphan", fin=False), id="open-continuation-no-start"),
    pytest.param(
        server_frame(TEXT, b"a", fin=False) + server_frame(TEXT, b"b"), id="text-inside-fragments"
    ),
    pytest.param(
        server_frame(BINARY, b"a", fin=False) + server_frame(TEXT, b"b", fin=False),
        id="new-fragmented-inside-fragments",
    ),
    pytest.param(server_frame(CLOSE, b"\x03"), id="close-one-byte"),
    pytest.param(server_frame(CLOSE, close_payload(1005)), id="close-code-1005"),
    pytest.param(server_frame(CLOSE, close_payload(999)), id="close-code-999"),
    pytest.param(server_frame(CLOSE, b"\x03\xe8\xff\xfe"), id="close-reason-not-utf8"),
]


@pytest.mark.parametrize("bad", VIOLATIONS)
async def test_protocol_violations_close_with_1002(dial: Dial, bad: bytes) -> None:
    async def script(conn: PeerConn) -> tuple[tuple[int | None, str], bytes]:
        await conn.write(server_frame(TEXT, b"before") + bad + server_frame(TEXT, b"after"))
        close = await conn.read_close()
        return close, await conn.wait_eof()

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url)
        error = await closed_with(wire)
        (code, _), trailing = await peer.result()
    assert (error.code, error.by_peer) == (1002, False)
    assert code == 1002  # the peer was told why
    assert trailing == b""  # nothing after the close frame, then the TCP close
    assert inbox.messages == [b"before"]


HEADERS_OVER_LIMIT = [
    pytest.param(frame_header(0x82, 10 << 20), id="binary-64-bit-length"),
    pytest.param(frame_header(0x81, 1025), id="text-16-bit-length"),
    pytest.param(
        server_frame(TEXT, b"0123456789", fin=False) + frame_header(0x80, 2000),
        id="continuation-16-bit-length",
    ),
    pytest.param(frame_header(0x82, (1 << 63) - 1), id="largest-64-bit-length"),
]


@pytest.mark.parametrize("header", HEADERS_OVER_LIMIT)
async def test_a_header_over_max_size_closes_1009_before_the_payload(
    dial: Dial, header: bytes
) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        await conn.write(header)  # and never the payload
        close = await conn.read_close()
        await conn.wait_eof()
        return close

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url, max_size=1024)
        error = await closed_with(wire)
        close = await peer.result()
    assert (error.code, error.by_peer) == (1009, False)
    assert close[0] == 1009
    assert inbox.messages == []


async def test_a_64_bit_length_with_the_top_bit_set_is_a_protocol_error(dial: Dial) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        await conn.write(frame_header(0x82, (1 << 64) - 1))
        return await conn.read_close()

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url, max_size=None)
        error = await closed_with(wire)
        close = await peer.result()
    assert (error.code, close[0]) == (1002, 1002)


async def test_max_size_boundary_for_single_frames(dial: Dial) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        await conn.write(server_frame(TEXT, b"a" * 200) + server_frame(TEXT, b"b" * 201))
        return await conn.read_close()

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url, max_size=200)
        error = await closed_with(wire)
        assert await peer.result() == (1009, "frame of 201 bytes exceeds the 200-byte limit")
    assert error.code == 1009
    assert inbox.messages == [b"a" * 200]


async def test_a_fragmented_message_over_max_size_closes_1009(dial: Dial) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        await conn.write(
            server_frame(TEXT, b"a" * 400, fin=False)
            + server_frame(CONT, b"a" * 600)  # exactly the limit: fine
            + server_frame(TEXT, b"b" * 600, fin=False)
            + server_frame(PING, b"still fine")
            + server_frame(CONT, b"b" * 401)
        )
        pong = await conn.read_frame()
        assert pong.payload == b"still fine"
        return await conn.read_close()

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url, max_size=1000)
        error = await closed_with(wire)
        assert (await peer.result())[0] == 1009
    assert (error.code, error.by_peer) == (1009, False)
    assert inbox.messages == [b"a" * 1000]


@pytest.mark.parametrize("tail", [b"", server_frame(BINARY, b"half a frame")[:5]])
async def test_tcp_close_without_a_close_frame_is_1006(dial: Dial, tail: bytes) -> None:
    async def script(conn: PeerConn) -> None:
        await conn.write(server_frame(TEXT, b"bye") + tail)  # then the TCP close

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url)
        error = await closed_with(wire)
    assert (error.code, error.by_peer) == (1006, True)
    assert inbox.messages == [b"bye"]


async def test_a_pong_for_an_unknown_payload_is_ignored(dial: Dial) -> None:
    proceed = asyncio.Event()

    async def script(conn: PeerConn) -> tuple[int | None, str]:
        ping = await conn.read_frame()
        assert ping.opcode == PING
        assert len(ping.payload) == 4
        await conn.write(
            server_frame(PONG, b"nope")
            + server_frame(PONG, b"")
            + server_frame(PONG, ping.payload[::-1] + b"!")
            + server_frame(TEXT, b"sync")
        )
        await proceed.wait()
        await conn.write(server_frame(PONG, ping.payload))
        return await conn.read_close()

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url)
        waiter = await wire.ping()
        await inbox.wait(1)  # every wrong pong has been parsed by now
        assert not waiter.done()
        assert not wire.closed
        proceed.set()
        await asyncio.wait_for(waiter, LIMIT)
        await wire.close(timeout=LIMIT)
        assert await peer.result() == (1000, "")


async def test_pending_pings_fail_when_the_socket_drops(dial: Dial) -> None:
    async def script(conn: PeerConn) -> None:
        frame = await conn.read_frame()
        assert frame.opcode == PING  # then hang up without answering

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        first = await wire.ping()
        second = await wire.ping()
        for waiter in (first, second):
            with pytest.raises(WireClosed) as info:
                await asyncio.wait_for(waiter, LIMIT)
            assert (info.value.code, info.value.by_peer) == (1006, True)


@pytest.mark.parametrize(
    ("payload", "code", "reason"),
    [
        (close_payload(4001, "maintenance"), 4001, "maintenance"),
        (close_payload(1000), 1000, ""),
        (b"", 1005, ""),
    ],
)
async def test_a_peer_close_is_echoed_and_reported(
    dial: Dial, payload: bytes, code: int, reason: str
) -> None:
    async def script(conn: PeerConn) -> tuple[ClientFrame, bytes]:
        await conn.write(server_frame(CLOSE, payload))
        echo = await conn.read_frame()
        return echo, await conn.wait_eof()

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        error = await closed_with(wire)
        echo, trailing = await peer.result()
    assert (error.code, error.reason, error.by_peer) == (code, reason, True)
    assert echo.opcode == CLOSE
    assert echo.payload == payload[:2]
    assert trailing == b""


async def test_client_close_against_a_silent_peer_gives_up_after_the_timeout(
    dial: Dial,
) -> None:
    async def script(conn: PeerConn) -> tuple[tuple[int | None, str], bytes]:
        close = await conn.read_close()  # and no echo
        return close, await conn.wait_eof()

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        await wire.close(timeout=0.1)
        error = await closed_with(wire)
        assert await peer.result() == ((1000, ""), b"")
    assert (error.code, error.by_peer) == (1006, False)


async def test_no_data_frame_after_the_close_frame(dial: Dial) -> None:
    echo = asyncio.Event()

    async def script(conn: PeerConn) -> list[ClientFrame]:
        close = await conn.read_frame()
        assert close.opcode == CLOSE
        await echo.wait()
        await conn.write(server_frame(CLOSE, close.payload))
        return await conn.frames_until_eof()

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        closing = asyncio.create_task(wire.close(timeout=LIMIT))
        await asyncio.sleep(0)  # the close frame is written
        assert not wire.closed
        with contextlib.suppress(WireClosed):
            await wire.send("late")  # RFC 6455 §5.5.1: no data frame after a close frame
        echo.set()
        await asyncio.wait_for(closing, LIMIT)
        after = await peer.result()
    assert [f.opcode for f in after] == []


async def test_a_raising_callback_does_not_kill_the_socket(dial: Dial) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        await conn.write(
            server_frame(TEXT, b"one")
            + server_frame(TEXT, b"t", fin=False)
            + server_frame(CONT, b"wo")
        )
        await conn.write(server_frame(TEXT, b"three"))
        return await conn.read_close()

    async with RawPeer(script) as peer:
        wire, inbox = await dial(peer.url, inbox=Inbox(fail_first=2))
        assert await inbox.wait(3) == [b"one", b"two", b"three"]
        assert not wire.closed
        await wire.close(timeout=LIMIT)
        assert await peer.result() == (1000, "")


@pytest.mark.parametrize(
    ("respond", "error"),
    [
        pytest.param(
            lambda key: upgrade_response(key, accept="d3JvbmcgYWNjZXB0IGtleQ=="),
            InvalidHandshake,
            id="wrong-accept",
        ),
        pytest.param(
            lambda key: upgrade_response(
                key, extra=("Sec-WebSocket-Extensions: permessage-deflate",)
            ),
            InvalidHandshake,
            id="unrequested-extension",
        ),
        pytest.param(
            lambda key: upgrade_response(key, extra=("Sec-WebSocket-Protocol: chat",)),
            InvalidHandshake,
            id="unrequested-subprotocol",
        ),
        pytest.param(
            lambda key: upgrade_response(key).replace(b"Upgrade: websocket\r\n", b""),
            InvalidUpgrade,
            id="no-upgrade-header",
        ),
        pytest.param(lambda key: b"SSH-2.0-OpenSSH_9.6\r\n\r\n", InvalidMessage, id="not-http"),
        pytest.param(
            lambda key: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            InvalidStatus,
            id="200-ok",
        ),
    ],
)
async def test_a_bad_upgrade_answer_is_refused(
    dial: Dial, respond: Callable[[str], bytes], error: type[Exception]
) -> None:
    async def script(conn: PeerConn) -> bytes:
        return await conn.wait_eof()

    async with RawPeer(script, respond=respond) as peer:
        with pytest.raises(error):
            await dial(peer.url)
        assert await peer.result() == b""  # the client dropped the connection, sent nothing


async def test_a_connection_closed_during_the_handshake(dial: Dial) -> None:
    async def script(conn: PeerConn) -> None:
        await conn.write(b"HTTP/1.1 101 Switching")  # then the TCP close

    async with RawPeer(script, respond=lambda key: b"") as peer:
        with pytest.raises(InvalidMessage):
            await dial(peer.url)


async def test_a_101_written_byte_by_byte(dial: Dial) -> None:
    async def script(conn: PeerConn) -> tuple[int | None, str]:
        for b in upgrade_response(conn.key) + server_frame(TEXT, b"hi"):
            await conn.write(bytes([b]))
            await asyncio.sleep(0)
        return await conn.read_close()

    async with RawPeer(script, respond=lambda key: b"") as peer:
        wire, inbox = await dial(peer.url)
        assert await inbox.wait(1) == [b"hi"]
        await wire.close(timeout=LIMIT)
        assert await peer.result() == (1000, "")


async def test_send_waits_for_the_socket_to_drain(dial: Dial) -> None:
    release = asyncio.Event()
    payload = random.Random(5).randbytes(16 << 20)

    async def script(conn: PeerConn) -> ClientFrame:
        await release.wait()  # meanwhile the peer's reader stops at its buffer limit
        return await conn.read_frame(limit=20)

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        sock = wire.transport.get_extra_info("socket") if wire.transport else None
        assert sock is not None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        sending = asyncio.create_task(wire.send(payload))
        await until(lambda: wire._paused)
        await asyncio.sleep(0.01)
        assert not sending.done()  # blocked on the drain
        release.set()
        await asyncio.wait_for(sending, 20)
        frame = await peer.result()
    assert frame.opcode == TEXT
    assert frame.payload == payload


async def test_a_blocked_send_fails_when_the_socket_drops(dial: Dial) -> None:
    drop = asyncio.Event()

    async def script(conn: PeerConn) -> None:
        await drop.wait()
        conn.writer.transport.abort()

    async with RawPeer(script) as peer:
        wire, _ = await dial(peer.url)
        sock = wire.transport.get_extra_info("socket") if wire.transport else None
        assert sock is not None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        sending = asyncio.create_task(wire.send(bytes(16 << 20)))
        await until(lambda: wire._paused)
        assert not sending.done()
        drop.set()
        with pytest.raises(WireClosed) as info:
            await asyncio.wait_for(sending, LIMIT)
        await peer.result()
    assert info.value.code == 1006


# ---------------------------------------------------------------------------------------------
# 3. No socket: a Wire fed through connection_made / data_received


def pong_payloads(frames: list[ClientFrame]) -> list[bytes]:
    assert all(f.opcode == PONG and f.fin and not f.rsv for f in frames), frames
    return [f.payload for f in frames]


async def test_every_two_way_split_of_a_stream() -> None:
    blob, messages, pings = mixed_stream()
    for cut in range(len(blob) + 1):
        inbox = Inbox()
        wire, transport = fed_wire(inbox, None)
        wire.data_received(blob[:cut])
        wire.data_received(blob[cut:])
        assert inbox.messages == messages, cut
        assert pong_payloads(transport.frames()) == pings
        assert not wire.closed
        assert not transport.closed


async def test_splits_inside_16_and_64_bit_headers() -> None:
    rnd = random.Random(4)
    payloads = [rnd.randbytes(300), rnd.randbytes(70_000), b"end"]
    blob = b"".join(server_frame(BINARY, p) for p in payloads)
    second = 4 + 300
    cuts = [*range(1, 12), *range(second, second + 14), len(blob) - 4, len(blob) - 1]
    for cut in cuts:
        for first in (b"", blob[:1]):  # also with a byte riding on the 101
            inbox = Inbox()
            wire, _ = fed_wire(inbox, None, first)
            rest = blob[len(first) :]
            at = max(cut - len(first), 0)
            wire.data_received(rest[:at])
            wire.data_received(rest[at:])
            assert inbox.messages == payloads, (cut, first)


async def test_byte_by_byte_feed() -> None:
    blob, messages, pings = mixed_stream()
    big = random.Random(6).randbytes(66_000)
    blob += server_frame(BINARY, big)
    inbox = Inbox()
    wire, transport = fed_wire(inbox, None)
    for i in range(len(blob)):
        wire.data_received(blob[i : i + 1])
    assert inbox.messages == [*messages, big]
    assert pong_payloads(transport.frames()) == pings
    assert not wire.closed


async def test_an_incomplete_frame_is_reparsed_only_once_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A large frame in many small reads must be joined once, not rescanned per read (quadratic).
    parses: list[int] = []
    original = Wire._frames

    def spy(self: Wire, data: bytes) -> None:
        parses.append(len(data))
        original(self, data)

    monkeypatch.setattr(Wire, "_frames", spy)
    inbox = Inbox()
    wire, _ = fed_wire(inbox, None)
    big = random.Random(8).randbytes(70_000)
    frame = server_frame(BINARY, big)
    for i in range(0, len(frame), 100):
        wire.data_received(frame[i : i + 100])
    assert inbox.messages == [big]
    assert parses == [100, len(frame)]

    parses.clear()
    mid = server_frame(TEXT, b"m" * 300)
    for i in range(4):  # the 16-bit header byte by byte: parsed at 1, 2 and 4 bytes
        wire.data_received(mid[i : i + 1])
    wire.data_received(mid[4:])
    assert inbox.messages == [big, b"m" * 300]
    assert parses == [1, 2, 4, len(mid)]


async def test_a_violation_writes_one_close_frame_and_stops_parsing() -> None:
    inbox = Inbox()
    wire, transport = fed_wire(inbox, None)
    wire.data_received(
        server_frame(TEXT, b"ok") + server_frame(3, b"bad") + server_frame(PING, b"p")
    )
    assert inbox.messages == [b"ok"]
    frames = transport.frames()
    assert [(f.opcode, f.payload[:2]) for f in frames] == [(CLOSE, b"\x03\xea")]  # 1002
    assert transport.closed
    assert wire.closed
    error = await closed_with(wire)
    assert error.code == 1002


async def test_max_size_below_126_applies_to_short_frames() -> None:
    inbox = Inbox()
    wire, _ = fed_wire(inbox, 100)
    wire.data_received(server_frame(TEXT, b"a" * 100) + server_frame(TEXT, b"b" * 101))
    assert inbox.messages == [b"a" * 100]
    assert wire.closed
    error = await closed_with(wire)
    assert error.code == 1009


def _payloads() -> st.SearchStrategy[bytes]:
    big = st.builds(
        lambda n, seed: random.Random(seed).randbytes(n),
        st.integers(65_530, 70_000),
        st.integers(0, 1 << 16),
    )
    return st.one_of(st.binary(max_size=140), st.binary(min_size=120, max_size=1500), big)


_controls = st.lists(st.tuples(st.sampled_from([PING, PONG]), st.binary(max_size=125)), max_size=2)


@st.composite
def _streams(draw: st.DrawFn) -> tuple[list[bytes], list[bytes], bytes, list[int], bool]:
    messages = draw(st.lists(_payloads(), max_size=8))
    pings: list[bytes] = []
    frames: list[bytes] = []

    def controls() -> None:
        for opcode, data in draw(_controls):
            frames.append(server_frame(opcode, data))
            if opcode == PING:
                pings.append(data)

    for message in messages:
        controls()
        opcode = draw(st.sampled_from([TEXT, BINARY]))
        cuts = sorted(draw(st.lists(st.integers(0, len(message)), max_size=4)))
        bounds = [0, *cuts, len(message)]
        pieces = [message[a:b] for a, b in itertools.pairwise(bounds)]
        for i, piece in enumerate(pieces):
            if i:
                controls()  # control frames between fragments
            last = i == len(pieces) - 1
            frames.append(server_frame(opcode if i == 0 else CONT, piece, fin=last))
    controls()
    blob = b"".join(frames)
    chunk_cuts = sorted(draw(st.lists(st.integers(0, len(blob)), max_size=30)))
    return messages, pings, blob, chunk_cuts, draw(st.booleans())


@settings(max_examples=200, deadline=None)
@given(_streams())
def test_any_framing_and_chunking_delivers_the_messages_exactly(
    stream: tuple[list[bytes], list[bytes], bytes, list[int], bool],
) -> None:
    messages, pings, blob, cuts, with_101 = stream
    bounds = [0, *cuts, len(blob)]
    chunks = [blob[a:b] for a, b in itertools.pairwise(bounds)]

    async def feed() -> tuple[Inbox, Wire, list[ClientFrame]]:
        inbox = Inbox()
        first = chunks.pop(0) if with_101 else b""
        wire, transport = fed_wire(inbox, None, first)
        for chunk in chunks:
            wire.data_received(chunk)
        return inbox, wire, transport.frames()

    inbox, wire, written = asyncio.run(feed())
    assert inbox.messages == messages
    assert all(type(m) is bytes for m in inbox.messages)
    assert pong_payloads(written) == pings
    assert not wire.closed


def test_the_peer_computes_the_rfc_6455_accept_value() -> None:
    # The worked example of RFC 6455 §1.3: the raw peer's 101 answers are real ones.
    assert accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
