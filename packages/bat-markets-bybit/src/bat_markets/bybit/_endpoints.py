"""Bybit base URLs per environment (§1.Y). Websocket entries are full URLs."""

from __future__ import annotations

from bat_markets.core import ConfigError, Endpoints, Environment

from ._util import VENUE

__all__ = ["MAINNET", "TESTNET", "DEMO", "endpoints_for"]

MAINNET = Endpoints(
    rest="https://api.bybit.com",
    public_ws="wss://stream.bybit.com/v5/public/linear",
    private_ws="wss://stream.bybit.com/v5/private",
    command_ws="wss://stream.bybit.com/v5/trade",
    extra={"status_ws": "wss://stream.bybit.com/v5/public/misc/status"},
)
TESTNET = Endpoints(
    rest="https://api-testnet.bybit.com",
    public_ws="wss://stream-testnet.bybit.com/v5/public/linear",
    private_ws="wss://stream-testnet.bybit.com/v5/private",
    command_ws="wss://stream-testnet.bybit.com/v5/trade",
    extra={"status_ws": "wss://stream-testnet.bybit.com/v5/public/misc/status"},
)
# Demo trading: its own REST host and private stream; market data comes from mainnet; no
# order-entry websocket.
DEMO = Endpoints(
    rest="https://api-demo.bybit.com",
    public_ws="wss://stream.bybit.com/v5/public/linear",
    private_ws="wss://stream-demo.bybit.com/v5/private",
    command_ws=None,
)

_PRESETS = {
    Environment.MAINNET: MAINNET,
    Environment.TESTNET: TESTNET,
    Environment.DEMO: DEMO,
}


def endpoints_for(environment: Environment | str) -> Endpoints:
    """The preset for ``environment``; ``ConfigError`` for an unknown one."""
    try:
        return _PRESETS[Environment(environment)]
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"unknown Bybit environment {environment!r}: use mainnet, testnet or demo",
            venue=VENUE,
        ) from exc
