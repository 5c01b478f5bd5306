"""Simulator lifecycle: in-loop and thread mode, auto ticking, clean shutdown, the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time

import httpx
import pytest
import websockets

from bat_markets.testing.sim import BinanceSim, Simulator


async def drain_until_closed(ws: websockets.ClientConnection) -> None:
    for _ in range(10_000):
        try:
            await asyncio.wait_for(ws.recv(), 2)
        except websockets.ConnectionClosed:
            return
    raise AssertionError("connection still open")


async def test_clean_start_stop_without_leaks() -> None:
    before = set(asyncio.all_tasks())
    sim = BinanceSim(seed=1, auto_tick=0.01)
    with pytest.raises(RuntimeError):
        _ = sim.endpoints
    async with sim:
        async with websockets.connect(f"{sim.endpoints.public_ws}/market/ws/btcusdt@markPrice"):
            await asyncio.sleep(0.05)
        ws = await websockets.connect(f"{sim.endpoints.public_ws}/public/ws/btcusdt@depth")
        msg = json.loads(await asyncio.wait_for(ws.recv(), 2))  # auto_tick drives the market
        assert msg["e"] == "depthUpdate"
        steps = sim.generator.steps_done
        await asyncio.sleep(0.1)
        assert sim.generator.steps_done > steps
    # the server closed the still-open client connection on the way out
    await drain_until_closed(ws)
    await asyncio.sleep(0)
    assert set(asyncio.all_tasks()) - before == set()


def test_thread_mode_serves_sync_clients() -> None:
    with BinanceSim(seed=4) as sim, httpx.Client(base_url=sim.endpoints.rest) as http:
        before = http.get("/fapi/v1/depth", params={"symbol": "ETHUSDT", "limit": 5}).json()
        sim.step(5)
        after = http.get("/fapi/v1/depth", params={"symbol": "ETHUSDT", "limit": 5}).json()
        assert after["lastUpdateId"] > before["lastUpdateId"]
        assert sim.call(lambda: sim.engine.books["ETHUSDT"].update_id) == after["lastUpdateId"]
    time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name == "binance-sim"]


async def test_simulator_group_binance_only() -> None:
    async with Simulator(venues=("binance",), seed=9) as sims:
        assert list(sims) == ["binance"]
        sim = sims["binance"]
        async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
            assert (await http.get("/fapi/v1/ping")).json() == {}
        sims.step(2)
        assert sim.generator.steps_done >= 2
    with pytest.raises(ValueError, match="unknown venue"):
        Simulator(venues=("kraken",))


async def test_two_sims_same_seed_serve_the_same_book() -> None:
    async with BinanceSim(seed=21) as a, BinanceSim(seed=21) as b:
        a.step(30)
        b.step(30)
        assert a.port != b.port
        async with httpx.AsyncClient() as http:
            da = (
                await http.get(
                    f"{a.endpoints.rest}/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 100}
                )
            ).json()
            db = (
                await http.get(
                    f"{b.endpoints.rest}/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 100}
                )
            ).json()
        assert (da["lastUpdateId"], da["bids"], da["asks"]) == (
            db["lastUpdateId"],
            db["bids"],
            db["asks"],
        )
        assert a.credentials.api_key == b.credentials.api_key


def test_cli_prints_urls_and_key_but_not_secret() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bat_markets.testing.sim",
            "--venue",
            "binance",
            "--port",
            "0",
            "--seed",
            "5",
            "--tick",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        out = "".join(lines)
        rest = next(line.split()[-1] for line in lines if line.strip().startswith("rest"))
        assert httpx.get(f"{rest}/fapi/v1/ping").json() == {}
        key = next(line.split()[-1] for line in lines if "api key" in line)
        assert len(key) == 64
        assert "secret" not in out
    finally:
        proc.send_signal(2)
        proc.wait(timeout=10)
    assert proc.returncode == 0


async def test_venue_connection_rules() -> None:
    """More than 10 incoming messages a second cut the connection; connections age out."""
    async with BinanceSim(seed=1, ws_max_age=0.3) as sim:
        async with websockets.connect(f"{sim.endpoints.public_ws}/market/ws") as ws:
            for i in range(11):
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
            await drain_until_closed(ws)
            assert ws.close_code == 1008
        async with websockets.connect(f"{sim.endpoints.public_ws}/public/ws") as ws:
            await drain_until_closed(ws)  # max age 0.3 s (24 h on the venue)
            assert ws.close_code == 1000
