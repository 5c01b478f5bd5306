"""Unified symbols and the per-client instrument catalog."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ._errors import ConfigError
from ._models import InstrumentSpec

__all__ = ["UnifiedSymbol", "parse_symbol", "Markets"]

_UNIFIED = re.compile(r"^([A-Z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)(?:-(\d{6}))?$")


class UnifiedSymbol(tuple[str, str, str, str | None]):
    """``BASE/QUOTE:SETTLE[-YYMMDD]`` split into its parts."""

    __slots__ = ()

    def __new__(
        cls, base: str, quote: str, settle: str, expiry: str | None = None
    ) -> UnifiedSymbol:
        return super().__new__(cls, (base, quote, settle, expiry))

    @property
    def base(self) -> str:
        return self[0]

    @property
    def quote(self) -> str:
        return self[1]

    @property
    def settle(self) -> str:
        return self[2]

    @property
    def expiry(self) -> str | None:
        return self[3]

    def __str__(self) -> str:
        s = f"{self[0]}/{self[1]}:{self[2]}"
        return f"{s}-{self[3]}" if self[3] else s


def parse_symbol(symbol: str) -> UnifiedSymbol | None:
    """Parse a unified symbol, or ``None`` if it is not in unified form."""
    m = _UNIFIED.match(symbol)
    if m is None:
        return None
    return UnifiedSymbol(m.group(1), m.group(2), m.group(3), m.group(4))


class Markets:
    """The instruments a client knows, indexed by unified symbol and native id.

    ``resolve`` accepts either form (native ids case-insensitively) and raises a ``ConfigError``
    naming close matches when the symbol is unknown.
    """

    __slots__ = ("_by_id", "_by_symbol", "venue")

    def __init__(self, venue: str, specs: Iterable[InstrumentSpec] = ()) -> None:
        self.venue = venue
        self._by_symbol: dict[str, InstrumentSpec] = {}
        self._by_id: dict[str, InstrumentSpec] = {}
        self.replace(specs)

    def replace(self, specs: Iterable[InstrumentSpec]) -> None:
        by_symbol: dict[str, InstrumentSpec] = {}
        by_id: dict[str, InstrumentSpec] = {}
        for spec in specs:
            by_symbol[spec.symbol] = spec
            by_id[spec.id.upper()] = spec
        self._by_symbol, self._by_id = by_symbol, by_id

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __iter__(self) -> Iterator[InstrumentSpec]:
        return iter(self._by_symbol.values())

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and self.get(symbol) is not None

    def get(self, symbol: str) -> InstrumentSpec | None:
        spec = self._by_symbol.get(symbol)
        if spec is None:
            spec = self._by_id.get(symbol.upper())
        return spec

    def resolve(self, symbol: str) -> InstrumentSpec:
        if not isinstance(symbol, str) or not symbol:
            raise ConfigError(
                f"symbol must be a non-empty string, got {symbol!r}", venue=self.venue
            )
        spec = self.get(symbol)
        if spec is None:
            hint = symbol.upper().replace("/", "").split(":")[0]
            close = sorted(s for s in self._by_id if s.startswith(hint[:3]))[:5]
            extra = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"unknown symbol {symbol!r} on {self.venue}{extra} (call load_markets() for the full list)",
                venue=self.venue,
            )
        return spec

    def by_id(self, native_id: str) -> InstrumentSpec | None:
        return self._by_id.get(native_id.upper())

    def unified(self, native_id: str) -> str:
        """Unified symbol for a native id; derives ``XXXUSDT -> XXX/USDT:USDT`` when unknown."""
        spec = self._by_id.get(native_id.upper())
        if spec is not None:
            return spec.symbol
        return derive_unified(native_id)

    def native(self, symbol: str) -> str:
        return self.resolve(symbol).id


def derive_unified(native_id: str) -> str:
    """Best-effort unified symbol for a USDT-settled native id not (yet) in the catalog."""
    nid = native_id.upper()
    expiry = None
    if "_" in nid:  # Binance dated future BTCUSDT_250926
        nid, _, expiry = nid.partition("_")
    elif "-" in nid:  # Bybit dated future BTC-26SEP25 is left native
        return native_id
    for quote in ("USDT", "USDC"):
        if nid.endswith(quote) and len(nid) > len(quote):
            s = f"{nid[: -len(quote)]}/{quote}:{quote}"
            return f"{s}-{expiry}" if expiry else s
    return native_id
