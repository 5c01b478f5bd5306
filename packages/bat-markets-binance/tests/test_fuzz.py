"""Decoders are total: garbage, truncated and mutated frames give DecodeError or a Control."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from binance_kit import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bat_markets.binance import BinanceAdapter
from bat_markets.core import (
    CancelRequest,
    CommandKind,
    CommandReceipt,
    Control,
    Credentials,
    DecodeError,
    PrivateData,
    StreamData,
)

ADAPTER = BinanceAdapter()
WS = sorted(p for p in (FIXTURES / "ws").glob("*.json"))
FRAMES = [p.read_bytes() for p in WS]
OBJECTS = [json.loads(b) for b in FRAMES]
CMD = ADAPTER.ws_command(
    CommandKind.CANCEL_ORDER,
    [CancelRequest(symbol="BTCUSDT", id="1")],
    "1",
    Credentials.of("k", "s"),
    1,
    5000,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
CFG = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_all(frame: bytes | str) -> None:
    try:
        out = ADAPTER.decode_public(frame)
    except DecodeError:
        pass
    else:
        assert isinstance(out, (StreamData, Control))
    try:
        priv = ADAPTER.decode_private(frame)
    except DecodeError:
        pass
    else:
        assert isinstance(priv, (PrivateData, Control))
    rid = ADAPTER.ws_reply_id(frame)
    assert rid is None or isinstance(rid, str)
    raw = frame.encode() if isinstance(frame, str) else frame
    receipts = CMD.decode(raw)
    assert len(receipts) == 1
    assert isinstance(receipts[0], CommandReceipt)
    assert all(
        isinstance(r, CommandReceipt)
        for r in ADAPTER.classify_command_json(CommandKind.CREATE_ORDER, raw)
    )


@CFG
@given(st.binary(max_size=300))
def test_random_bytes(frame: bytes) -> None:
    check_all(frame)


@CFG
@given(st.text(max_size=200))
def test_random_text(frame: str) -> None:
    check_all(frame)


@CFG
@given(json_values)
def test_random_json(value: Any) -> None:
    check_all(json.dumps(value))
    check_all(json.dumps({"stream": "btcusdt@depth@100ms", "data": value}))


@CFG
@given(st.sampled_from(range(len(FRAMES))), st.data())
def test_truncated_fixtures(index: int, data: st.DataObject) -> None:
    frame = FRAMES[index]
    cut = data.draw(st.integers(0, len(frame) - 1))
    check_all(frame[:cut])


@CFG
@given(st.sampled_from(range(len(FRAMES))), st.data())
def test_garbled_fixtures(index: int, data: st.DataObject) -> None:
    frame = bytearray(FRAMES[index])
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(frame) - 1))
        frame[pos] = data.draw(st.integers(0, 255))
    check_all(bytes(frame))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(obj))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@CFG
@given(st.sampled_from(range(len(OBJECTS))), st.data(), json_values)
def test_mutated_fields_of_real_events(index: int, data: st.DataObject, value: Any) -> None:
    obj = OBJECTS[index]
    path = data.draw(st.sampled_from(_paths(obj)))
    mutated = _replace(obj, path, value)
    check_all(json.dumps(mutated))
    check_all(json.dumps({"stream": "btcusdt@aggTrade", "data": mutated}))


def test_every_ws_fixture_decodes_somewhere() -> None:
    """Each ws fixture is either market data, user data, a control frame or a WS API answer."""
    for path in WS:
        frame = path.read_bytes()
        name = Path(path).name
        if name.endswith("_request.json"):
            continue  # outgoing frames (compared with our builders elsewhere)
        outcomes: list[object] = []
        for fn in (ADAPTER.decode_public, ADAPTER.decode_private):
            try:
                outcomes.append(fn(frame))
            except DecodeError:
                outcomes.append(None)
        useful = [
            o
            for o in outcomes
            if isinstance(o, (StreamData, PrivateData))
            or (isinstance(o, Control) and o.kind != "unknown")
        ]
        api = ADAPTER.ws_reply_id(frame) is not None
        known_unknowns = {"contract_info.json", "conditional_order_trigger_reject.json"}
        assert useful or api or name in known_unknowns, name
