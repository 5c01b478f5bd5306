"""The public wire honours the environment's proxy, as ``websockets.connect`` does."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve

from bat_markets.client._wire import open_wire


class ConnectProxy:
    """A loopback HTTP CONNECT proxy that records the targets it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        self.targets.append(f"{method} {target}")
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def test_messages_flow_through_an_http_connect_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxy = ConnectProxy()
    async with serve(_echo, "127.0.0.1", 0, compression=None) as server, proxy as proxy_port:
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("ws_proxy", f"http://127.0.0.1:{proxy_port}")
        got: list[bytes] = []
        arrived = asyncio.Event()

        def on_message(data: bytes) -> None:
            got.append(data)
            arrived.set()

        wire = await open_wire(f"ws://127.0.0.1:{port}/", on_message, open_timeout=5, max_size=None)
        await wire.send('{"via":"proxy"}')
        await asyncio.wait_for(arrived.wait(), 5)
        await wire.close()
    assert got == [b'{"via":"proxy"}']
    assert proxy.targets == [f"CONNECT 127.0.0.1:{port}"]


async def test_a_missing_socks_library_is_a_proxy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import python_socks  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("python-socks is installed")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ws_proxy", "socks5h://127.0.0.1:9")
    with pytest.raises(websockets.exceptions.ProxyError, match="python-socks"):
        await open_wire("ws://127.0.0.1:9/", lambda _: None, open_timeout=5, max_size=None)
