"""The Example venue adapter: a minimal third-party plugin for bat-markets.

Registered in ``pyproject.toml`` as the entry point ``example`` of the ``bat_markets.venues``
group; the runtime finds it with ``bat_markets.core.load_venue("example")``.
"""

from __future__ import annotations

from ._adapter import ExampleAdapter

__all__ = ["ExampleAdapter", "create_adapter"]


def create_adapter() -> ExampleAdapter:
    """Entry-point factory: a fresh adapter instance per client."""
    return ExampleAdapter()
