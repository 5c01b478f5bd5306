"""Bybit v5 linear venue layer of the loopback simulator.

``from bat_markets.testing.sim.bybit import BybitSim``::

    async with BybitSim(seed=7, auto_tick=None) as sim:      # or: with BybitSim(...) as sim
        sim.endpoints    # rest, public_ws=/v5/public/linear, private_ws=/v5/private, command_ws=/v5/trade
        sim.credentials  # default key (18 chars, HMAC), all permissions, 100000 USDT
        sim.add_account(permissions={"read"}, allowed_ips=(), key_type="hmac" | "rsa", public_key=...)
        sim.limits       # RateLimits (mutable): per-UID endpoint caps, IP budget and ban length
        sim.step(n); sim.faults; sim.engine
        sim.service_restart(symbol=None); sim.resend_snapshot(symbol, depth)
        sim.inject_liquidation(symbol, "Buy" | "Sell", steps)

REST (``category=linear``; envelope ``{retCode, retMsg, result, retExtInfo, time}``, HTTP 200 on
business errors): market ``time``, ``instruments-info`` (cursor), ``tickers``, ``orderbook``
(1..1000, ``u`` = WS 1000-level ``u``), ``kline``, ``mark-price-kline``, ``index-price-kline``,
``recent-trade``, ``funding/history``, ``open-interest`` (synthetic history), ``risk-limit``
(synthetic tiers); order ``create``, ``amend``, ``cancel``, ``cancel-all``, ``create-batch``,
``amend-batch``, ``cancel-batch``, ``pre-check``, ``realtime``, ``history``;
``execution/list``; position ``list``, ``set-leverage``, ``switch-mode``; account
``set-margin-mode``, ``wallet-balance``, ``info``, ``fee-rate``.

Websockets: public ``orderbook.{1,50,200,1000}``, ``publicTrade``, ``tickers``, ``kline.{i}``,
``allLiquidation`` (+ subscribe/unsubscribe acks, ping/pong); private ``auth`` then ``order``,
``execution``, ``execution.fast``, ``position``, ``wallet`` (and ``*.linear``); trade ``auth``,
``order.create/amend/cancel`` and their ``-batch`` forms, ``ping``.

It never imports the ``bat_markets.bybit`` adapter: it is an independent reading of the venue.
"""

from __future__ import annotations

from ._auth import READ, TRADE, ApiKey, KeyStore, rest_headers, sign, ws_auth_args
from ._contract import assert_shape, shape_errors
from ._limits import DEFAULT_ENDPOINT_LIMITS, RateLimits
from ._sim import BybitSim

__all__ = [
    "BybitSim",
    "RateLimits",
    "DEFAULT_ENDPOINT_LIMITS",
    "ApiKey",
    "KeyStore",
    "READ",
    "TRADE",
    "sign",
    "rest_headers",
    "ws_auth_args",
    "assert_shape",
    "shape_errors",
]
