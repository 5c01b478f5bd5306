"""Binance USD-M endpoint presets and websocket URL assembly (PROTOCOLS §1.B).

``Endpoints.public_ws`` / ``private_ws`` are base URLs (scheme + host, no path); ``Endpoints.extra``
holds path templates keyed by route: ``public`` (depth, bookTicker), ``market`` (everything else)
and ``private`` (user data, ``{listen_key}`` placeholder). A key missing from ``extra`` (custom
endpoints) falls back to the mainnet layout.
"""

from __future__ import annotations

from types import MappingProxyType
from urllib.parse import quote

from bat_markets.core import Endpoints, Environment, Unsupported

__all__ = [
    "MAINNET_PATHS",
    "LEGACY_PATHS",
    "endpoints_for",
    "public_ws_url",
    "private_ws_url",
]

MAINNET_PATHS = MappingProxyType(
    {
        "public": "/public/stream",
        "market": "/market/stream",
        "private": "/private/ws?listenKey={listen_key}",
    }
)
"""The split layout in force on mainnet since 2026-04-23."""

LEGACY_PATHS = MappingProxyType(
    {"public": "/stream", "market": "/stream", "private": "/ws/{listen_key}"}
)
"""The single-path layout still served by the testnet / demo websocket hosts."""

_PRESETS: dict[Environment, Endpoints] = {
    Environment.MAINNET: Endpoints(
        rest="https://fapi.binance.com",
        public_ws="wss://fstream.binance.com",
        private_ws="wss://fstream.binance.com",
        command_ws="wss://ws-fapi.binance.com/ws-fapi/v1",
        extra=dict(MAINNET_PATHS),
    ),
    Environment.TESTNET: Endpoints(
        rest="https://testnet.binancefuture.com",
        public_ws="wss://fstream.binancefuture.com",
        private_ws="wss://fstream.binancefuture.com",
        command_ws="wss://testnet.binancefuture.com/ws-fapi/v1",
        extra=dict(LEGACY_PATHS),
    ),
    # Binance's current docs list demo-fapi as the test REST host; its websockets are the
    # binancefuture hosts (the "testnet" column of the docs).
    Environment.DEMO: Endpoints(
        rest="https://demo-fapi.binance.com",
        public_ws="wss://fstream.binancefuture.com",
        private_ws="wss://fstream.binancefuture.com",
        command_ws="wss://testnet.binancefuture.com/ws-fapi/v1",
        extra=dict(LEGACY_PATHS),
    ),
}


def endpoints_for(environment: Environment) -> Endpoints:
    """The preset for ``environment`` (a fresh object each call, safe to modify via ``replace``)."""
    try:
        preset = _PRESETS[Environment(environment)]
    except (KeyError, ValueError):
        raise Unsupported(
            f"Binance has no {environment!s} environment (mainnet, testnet, demo)", venue="binance"
        ) from None
    return Endpoints(
        rest=preset.rest,
        public_ws=preset.public_ws,
        private_ws=preset.private_ws,
        command_ws=preset.command_ws,
        extra=dict(preset.extra),
    )


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def public_ws_url(endpoints: Endpoints, route: str) -> str:
    """Combined-stream URL for ``route`` ("public" or "market"); JSON SUBSCRIBE follows."""
    if route not in ("public", "market"):
        raise Unsupported(f"unknown Binance websocket route {route!r}", venue="binance")
    path = endpoints.extra.get(route) or MAINNET_PATHS[route]
    return _join(endpoints.public_ws, path)


def private_ws_url(endpoints: Endpoints, listen_key: str) -> str:
    """User-data stream URL for ``listen_key``."""
    template = endpoints.extra.get("private") or MAINNET_PATHS["private"]
    return _join(endpoints.private_ws, template.format(listen_key=quote(listen_key, safe="")))
