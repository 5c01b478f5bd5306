"""User data streams: listen keys (POST/PUT/DELETE, 60 min validity) and the private event
feed rendered from engine events (ORDER_TRADE_UPDATE, TRADE_LITE, ACCOUNT_UPDATE,
ACCOUNT_CONFIG_UPDATE, ALGO_UPDATE, listenKeyExpired)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._events import AccountUpdate, ConditionalUpdate, ConfigUpdate, EngineEvent, OrderUpdate
from .._server import SimConnection
from .._venue import random_token
from ._errors import BinanceError

if TYPE_CHECKING:
    from ._sim import BinanceSim

__all__ = ["ListenKey", "UserStreams", "LISTEN_KEY_TTL_MS"]

LISTEN_KEY_TTL_MS = 60 * 60 * 1000


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


@dataclass
class ListenKey:
    key: str
    account: str
    expires_ms: int


class UserStreams:
    """Listen keys of every account and the connections bound to them."""

    def __init__(self, sim: BinanceSim) -> None:
        self.sim = sim
        self.engine = sim.engine
        self.keys: dict[str, ListenKey] = {}
        self.by_account: dict[str, str] = {}
        self.conns: dict[str, set[SimConnection]] = {}
        self._next_expiry = 0

    def _now(self) -> int:
        return self.sim.server_time_ms()

    # -- listen keys ---------------------------------------------------------------------------
    def create(self, account: str) -> str:
        """POST: the account's active key (extended) or a new one."""
        self.check_expiry()
        key = self.by_account.get(account)
        if key is not None and key in self.keys:
            self.keys[key].expires_ms = self._now() + LISTEN_KEY_TTL_MS
            return key
        key = random_token(self.sim.token_rng, 64)
        self.keys[key] = ListenKey(key, account, self._now() + LISTEN_KEY_TTL_MS)
        self.by_account[account] = key
        self._recompute()
        return key

    def keepalive(self, account: str, key: str | None = None) -> str:
        """PUT: extend by 60 minutes; -1125 when the key is gone."""
        self.check_expiry()
        current = self.by_account.get(account)
        if current is None or current not in self.keys or (key is not None and key != current):
            raise BinanceError(-1125, "This listenKey does not exist.")
        self.keys[current].expires_ms = self._now() + LISTEN_KEY_TTL_MS
        self._recompute()
        return current

    def delete(self, account: str, key: str | None = None) -> None:
        """DELETE: the key dies for every client using it."""
        current = self.by_account.get(account)
        if current is None or (key is not None and key != current):
            raise BinanceError(-1125, "This listenKey does not exist.")
        self.keys.pop(current, None)
        self.by_account.pop(account, None)
        for conn in self.conns.pop(current, set()):
            conn.drop(abort=False, code=1000)

    def expire(self, account: str | None = None) -> None:
        """Expire now (the account's key, or all): send listenKeyExpired, then go silent."""
        for key, lk in list(self.keys.items()):
            if account is None or lk.account == account:
                self._expire(key)

    def _expire(self, key: str) -> None:
        lk = self.keys.pop(key, None)
        if lk is None:
            return
        if self.by_account.get(lk.account) == key:
            del self.by_account[lk.account]
        payload = _dumps({"e": "listenKeyExpired", "E": str(self._now()), "listenKey": key})
        for conn in self.conns.pop(key, set()):
            conn.push(payload, "control")
            conn.state["expired"] = True

    def _recompute(self) -> None:
        self._next_expiry = min((lk.expires_ms for lk in self.keys.values()), default=0)

    def check_expiry(self) -> None:
        now = self._now()
        if not self._next_expiry or now < self._next_expiry:
            return
        for key, lk in list(self.keys.items()):
            if lk.expires_ms <= now:
                self._expire(key)
        self._recompute()

    # -- connections ---------------------------------------------------------------------------
    def attach(self, conn: SimConnection, key: str, events: set[str] | None) -> bool:
        self.check_expiry()
        if key not in self.keys:
            return False
        conn.state["listen_key"] = key
        conn.state["events"] = events
        self.conns.setdefault(key, set()).add(conn)
        return True

    def detach(self, conn: SimConnection) -> None:
        key = conn.state.get("listen_key")
        if isinstance(key, str):
            self.conns.get(key, set()).discard(conn)

    # -- events --------------------------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        self.check_expiry()
        if not isinstance(ev, (OrderUpdate, AccountUpdate, ConfigUpdate, ConditionalUpdate)):
            return
        key = self.by_account.get(ev.account)
        if key is None:
            return
        conns = self.conns.get(key)
        if not conns:
            return
        r = self.sim.renderer
        now = self._now()
        frames: list[tuple[str, dict[str, Any], str]] = []
        if isinstance(ev, OrderUpdate):
            lite = r.trade_lite(ev, now)
            if lite is not None:
                frames.append(("TRADE_LITE", lite, "fill"))
            frames.append(
                (
                    "ORDER_TRADE_UPDATE",
                    r.order_trade_update(ev, now),
                    "fill" if ev.fill else "private",
                )
            )
        elif isinstance(ev, AccountUpdate):
            frames.append(("ACCOUNT_UPDATE", r.account_update(ev, now), "private"))
        elif isinstance(ev, ConfigUpdate):
            body = r.config_update(ev, now)
            if body is not None:
                frames.append((str(body["e"]), body, "private"))
        else:
            frames.append(("ALGO_UPDATE", r.algo_update(ev, now), "private"))
        for name, body, kind in frames:
            text = _dumps(body)
            for conn in list(conns):
                wanted = conn.state.get("events")
                if wanted and name not in wanted:
                    continue
                if conn.state.get("combined"):
                    conn.push(f'{{"stream":"{key}","data":{text}}}', kind)
                else:
                    conn.push(text, kind)
