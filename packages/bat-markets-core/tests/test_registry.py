"""Plugin discovery through synthetic ``bat_markets.venues`` entry points (no real adapter needed)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

from bat_markets.core import (
    ENTRY_POINT_GROUP,
    AdapterBase,
    Capabilities,
    ConfigError,
    VenueAdapter,
    _registry,
    available_venues,
    clear_registry_cache,
    load_venue,
)

MODULE = "bm_test_toy_plugin"


class ToyAdapter(AdapterBase):
    id = "toy"
    name = "Toy"
    capabilities = Capabilities(
        methods=frozenset({"fetch_ticker"}),
        ws_commands=frozenset(),
        max_batch_create=1,
        max_batch_edit=1,
        max_batch_cancel=1,
        ohlcv_intervals=("1m",),
        order_book_depths=(5,),
        watch_book_depths=(0,),
        liquidations_complete=False,
        open_interest_push=False,
        position_mode_scope="account",
        margin_mode_scope="symbol",
    )


def _explode() -> object:
    raise RuntimeError("plugin init failed: no config")


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


class Discovery:
    """Replaces ``importlib.metadata.entry_points`` for the registry and counts calls."""

    def __init__(self, points: list[EntryPoint]) -> None:
        self.points = points
        self.calls = 0

    def __call__(self, *, group: str) -> list[EntryPoint]:
        self.calls += 1
        assert group == ENTRY_POINT_GROUP
        return list(self.points)


@pytest.fixture
def discovery(monkeypatch: pytest.MonkeyPatch) -> Iterator[Discovery]:
    module = types.ModuleType(MODULE)
    module.ToyAdapter = ToyAdapter  # type: ignore[attr-defined]
    module.explode = _explode  # type: ignore[attr-defined]
    module.not_an_adapter = object  # type: ignore[attr-defined]
    module.toy_v2 = ToyAdapter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, MODULE, module)
    fake = Discovery(
        [
            ep("toy", f"{MODULE}:ToyAdapter"),
            ep("broken", "nonexistent_mod:f"),
            ep("explodes", f"{MODULE}:explode"),
            ep("weird", f"{MODULE}:not_an_adapter"),
            ep("toy", f"{MODULE}:toy_v2"),  # duplicate name: the first one wins
        ]
    )
    monkeypatch.setattr(_registry, "entry_points", fake)
    clear_registry_cache()
    yield fake
    clear_registry_cache()


def test_available_venues_sorted_and_deduplicated(discovery: Discovery) -> None:
    assert available_venues() == ["broken", "explodes", "toy", "weird"]


def test_load_working_plugin(discovery: Discovery) -> None:
    adapter = load_venue("toy")
    assert isinstance(adapter, ToyAdapter)
    assert isinstance(adapter, VenueAdapter)
    assert adapter.id == "toy"
    assert load_venue("TOY") is not adapter  # case-insensitive, a fresh instance per call


def test_missing_known_venue_says_what_to_install(discovery: Discovery) -> None:
    with pytest.raises(ConfigError) as info:
        load_venue("bybit")
    message = str(info.value)
    assert 'pip install "bat-markets[bybit]"' in message
    assert "installed venues: broken, explodes, toy, weird" in message
    with pytest.raises(ConfigError, match=r'pip install "bat-markets\[binance\]"'):
        load_venue("binance")


def test_missing_unknown_venue(discovery: Discovery) -> None:
    with pytest.raises(ConfigError, match="'kraken' venue plugin"):
        load_venue("kraken")


@pytest.mark.parametrize("bad", ["", "../evil", "a b", "x" * 40, None, 3])
def test_invalid_venue_ids(discovery: Discovery, bad: object) -> None:
    with pytest.raises(ConfigError, match="invalid venue id"):
        load_venue(bad)  # type: ignore[arg-type]


def test_broken_plugin_is_named_and_does_not_break_others(discovery: Discovery) -> None:
    with pytest.raises(ConfigError) as info:
        load_venue("broken")
    message = str(info.value)
    assert "'broken'" in message
    assert "nonexistent_mod:f" in message
    assert "ModuleNotFoundError" in message
    assert "failed to load" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    assert "not installed" not in message  # a broken plugin must not look like a missing one
    assert isinstance(load_venue("toy"), ToyAdapter)


def test_plugin_whose_factory_raises(discovery: Discovery) -> None:
    with pytest.raises(ConfigError, match="RuntimeError: plugin init failed") as info:
        load_venue("explodes")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_plugin_returning_a_non_adapter(discovery: Discovery) -> None:
    with pytest.raises(ConfigError, match="returned object, which does not implement"):
        load_venue("weird")


def test_discovery_is_cached_until_cleared(discovery: Discovery) -> None:
    available_venues()
    load_venue("toy")
    available_venues()
    assert discovery.calls == 1
    discovery.points.append(ep("late", f"{MODULE}:ToyAdapter"))
    assert "late" not in available_venues()
    clear_registry_cache()
    assert "late" in available_venues()
    assert discovery.calls == 2
    assert isinstance(load_venue("late"), ToyAdapter)
