"""Timing helpers shared by every benchmark module."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Result", "measure", "ratio_result"]


@dataclass(frozen=True)
class Result:
    """One benchmark line: ``ours`` and ``reference`` are seconds per unit of work."""

    name: str
    ours: float
    reference: float
    reference_name: str
    target: float  # required speed-up (reference / ours)
    unit: str = "op"

    @property
    def speedup(self) -> float:
        return self.reference / self.ours if self.ours else float("inf")

    @property
    def passed(self) -> bool:
        return self.speedup >= self.target

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict} {self.name}: {self.speedup:.2f}x vs {self.reference_name} "
            f"(target >= {self.target:g}x; ours {self.ours * 1e6:.2f} us/{self.unit}, "
            f"reference {self.reference * 1e6:.2f} us/{self.unit})"
        )


def measure(fn: Callable[[], object], units: int, *, repeat: int = 5) -> float:
    """Best-of-``repeat`` seconds per unit for ``fn`` (which performs ``units`` units of work).

    Uses process CPU time so a busy machine skews both sides equally little.
    """
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best / units


def ratio_result(
    name: str,
    ours: Callable[[], object],
    reference: Callable[[], object],
    units: int,
    *,
    reference_name: str,
    target: float,
    unit: str = "op",
    repeat: int = 5,
) -> Result:
    """Measure both sides interleaved-by-round in the same process and build a ``Result``."""
    ours_t = reference_t = float("inf")
    for _ in range(repeat):
        ours_t = min(ours_t, measure(ours, units, repeat=1))
        reference_t = min(reference_t, measure(reference, units, repeat=1))
    return Result(name, ours_t, reference_t, reference_name, target, unit)
