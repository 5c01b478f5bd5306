"""bat-markets testing kit: the loopback venue simulator, fixture loaders and benchmarks.

This distribution is never published (classifier ``Private :: Do Not Upload``).
"""

from __future__ import annotations

__all__: list[str] = []
