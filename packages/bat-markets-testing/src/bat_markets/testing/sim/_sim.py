"""``Simulator``: several venue simulators started and stopped together."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._venue import VenueSim

__all__ = ["Simulator", "venue_class"]


def venue_class(venue: str) -> type[VenueSim]:
    """The simulator class of ``venue`` (imported lazily so a missing venue costs nothing)."""
    if venue == "binance":
        from .binance import BinanceSim

        return BinanceSim
    if venue == "bybit":
        from .bybit import BybitSim  # type: ignore[attr-defined,unused-ignore]

        cls: type[VenueSim] = BybitSim
        return cls
    raise ValueError(f"unknown venue {venue!r}: use 'binance' or 'bybit'")


class Simulator(Mapping[str, VenueSim]):
    """``async with Simulator(venues=("binance", "bybit"), seed=7, auto_tick=0.05) as sims:``
    then ``sims["binance"]``; extra keyword arguments go to every venue simulator."""

    def __init__(
        self,
        venues: tuple[str, ...] | list[str] = ("binance", "bybit"),
        *,
        seed: int = 7,
        auto_tick: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._sims: dict[str, VenueSim] = {
            v: venue_class(v)(seed=seed, auto_tick=auto_tick, **kwargs) for v in venues
        }

    def __getitem__(self, venue: str) -> VenueSim:
        return self._sims[venue]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sims)

    def __len__(self) -> int:
        return len(self._sims)

    def step(self, n: int = 1) -> None:
        for sim in self._sims.values():
            sim.step(n)

    async def __aenter__(self) -> Simulator:
        started: list[VenueSim] = []
        try:
            for sim in self._sims.values():
                await sim.start()
                started.append(sim)
        except BaseException:
            for sim in reversed(started):
                await sim.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for sim in reversed(list(self._sims.values())):
            await sim.stop()

    def __enter__(self) -> Simulator:
        started: list[VenueSim] = []
        try:
            for sim in self._sims.values():
                sim.__enter__()
                started.append(sim)
        except BaseException:
            for sim in reversed(started):
                sim.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for sim in reversed(list(self._sims.values())):
            sim.__exit__(None, None, None)
