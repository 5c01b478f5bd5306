"""Pytest wiring for the Binance adapter tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bat_markets.binance import BinanceAdapter

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # lets the tests ``import binance_kit`` under --import-mode=importlib
    sys.path.insert(0, _HERE)


@pytest.fixture
def adapter() -> BinanceAdapter:
    return BinanceAdapter()
