"""Benchmarks. Each module ``bench_*.py`` in this package exposes ``run(quick: bool) -> list[Result]``.

Every result is a *ratio* against a reference implementation measured in the same run, never an
absolute time compared with a constant.
"""

from __future__ import annotations

from ._harness import Result, measure, ratio_result

__all__ = ["Result", "measure", "ratio_result"]
