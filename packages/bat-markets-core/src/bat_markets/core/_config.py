"""Credentials and per-venue configuration. Secrets never leave this module in clear text."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._enums import Environment
from ._errors import AuthError, ConfigError

__all__ = ["Secret", "Credentials", "Endpoints", "Timeouts", "VenueConfig"]


class Secret:
    """A string that never shows itself in ``repr``/``str``/logs. Use ``reveal()`` to sign."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigError("secret must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret cannot be pickled")


@dataclass(frozen=True, repr=False)
class Credentials:
    """API key and secret (HMAC secret, or a PEM private key for RSA / Ed25519 key types)."""

    api_key: str
    secret: Secret
    key_type: str = "hmac"  # "hmac" | "rsa" | "ed25519"

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ConfigError("api_key must be non-empty")
        if self.key_type not in ("hmac", "rsa", "ed25519"):
            raise ConfigError(f"unknown key_type {self.key_type!r}: use hmac, rsa or ed25519")

    @classmethod
    def of(cls, api_key: str, secret: str | Secret, key_type: str = "hmac") -> Credentials:
        return cls(api_key, secret if isinstance(secret, Secret) else Secret(secret), key_type)

    @classmethod
    def from_env(cls, venue: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """Read ``<VENUE>_API_KEY`` / ``<VENUE>_API_SECRET``; ``None`` when neither is set."""
        env = os.environ if environ is None else environ
        prefix = venue.upper()
        key = env.get(f"{prefix}_API_KEY")
        secret = env.get(f"{prefix}_API_SECRET")
        if not key and not secret:
            return None
        if not key or not secret:
            missing = f"{prefix}_API_KEY" if not key else f"{prefix}_API_SECRET"
            raise AuthError(f"{missing} is not set while its pair is", venue=venue)
        key_type = env.get(f"{prefix}_API_KEY_TYPE", "hmac")
        return cls.of(key, secret, key_type)

    @property
    def masked_key(self) -> str:
        return f"{self.api_key[:4]}…{self.api_key[-2:]}" if len(self.api_key) > 8 else "***"

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.masked_key!r}, key_type={self.key_type!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of one venue environment. Adapters provide presets; users may override any."""

    rest: str
    public_ws: str
    private_ws: str
    command_ws: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # venue-specific routes


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    request: float = 10.0
    command: float = 10.0
    ws_handshake: float = 10.0


@dataclass(frozen=True)
class VenueConfig:
    """Everything the runtime needs to talk to one venue. Default environment: testnet."""

    environment: Environment = Environment.TESTNET
    credentials: Credentials | None = None
    endpoints: Endpoints | None = None  # overrides the adapter's preset for ``environment``
    recv_window_ms: int = 5000
    timeouts: Timeouts = field(default_factory=Timeouts)
    client_order_id_prefix: str = "bm"
