"""Discovery of venue adapters through the ``bat_markets.venues`` entry-point group."""

from __future__ import annotations

import functools
import re
from importlib.metadata import EntryPoint, entry_points

from ._adapter import VenueAdapter
from ._errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "available_venues", "load_venue", "clear_registry_cache"]

ENTRY_POINT_GROUP = "bat_markets.venues"
_KNOWN_DISTRIBUTIONS = {"binance": "bat-markets[binance]", "bybit": "bat-markets[bybit]"}
_VENUE_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@functools.lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def clear_registry_cache() -> None:
    """Forget discovered plugins (after installing one at run time, or in tests)."""
    _entry_points.cache_clear()


def available_venues() -> list[str]:
    """Venue ids of every installed adapter plugin, sorted."""
    return sorted(_entry_points())


def load_venue(name: str) -> VenueAdapter:
    """A fresh adapter instance for venue ``name``.

    Raises ``ConfigError`` saying which distribution to install when the venue is missing, or
    naming the plugin and the underlying exception when it is broken.
    """
    if not isinstance(name, str) or not _VENUE_ID.match(name.lower()):
        raise ConfigError(f"invalid venue id {name!r}")
    key = name.lower()
    ep = _entry_points().get(key)
    if ep is None:
        dist = _KNOWN_DISTRIBUTIONS.get(key, f"a package providing the {key!r} venue plugin")
        installed = ", ".join(available_venues()) or "none"
        raise ConfigError(
            f"venue {key!r} is not installed (installed venues: {installed}); "
            f'install it with: pip install "{dist}"'
            if key in _KNOWN_DISTRIBUTIONS
            else f"venue {key!r} is not installed (installed venues: {installed}); install {dist}"
        )
    try:
        factory = ep.load()
        adapter = factory()
    except Exception as exc:  # a broken plugin must not look like a missing one
        raise ConfigError(
            f"venue plugin {key!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(adapter, VenueAdapter):
        raise ConfigError(
            f"venue plugin {key!r} ({ep.value}) returned {type(adapter).__name__}, "
            "which does not implement bat_markets.core.VenueAdapter"
        )
    return adapter
