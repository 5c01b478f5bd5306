"""The error taxonomy shared by every layer (DESIGN.md §6)."""

from __future__ import annotations

__all__ = [
    "BatMarketsError",
    "ConfigError",
    "TransportError",
    "Timeout",
    "RateLimited",
    "AuthError",
    "PermissionDenied",
    "Unsupported",
    "DecodeError",
    "ExchangeReject",
    "UnknownExecution",
    "StateDivergence",
    "ComplianceRequired",
    "TemporaryUnavailable",
]


class BatMarketsError(Exception):
    """Base of every error bat-markets raises.

    ``venue`` is the venue id when known, ``code`` the venue's own error code (``-2019``,
    ``110007``...), ``venue_message`` the venue's text. ``retryable`` says whether sending the same
    request again may succeed; ``retry_after`` is the earliest sensible retry in seconds when known.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        venue: str | None = None,
        code: int | str | None = None,
        venue_message: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.venue = venue
        self.code = code
        self.venue_message = venue_message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.http_status = http_status

    def __str__(self) -> str:
        parts = [self.message]
        if self.venue is not None:
            parts.append(f"venue={self.venue}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.venue_message and self.venue_message != self.message:
            parts.append(f"venue_message={self.venue_message!r}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:g}s")
        return " ".join(parts) if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[BatMarketsError], message: str, state: dict[str, object]) -> BatMarketsError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigError(BatMarketsError):
    """Bad configuration or bad input: unknown venue, wrong symbol, invalid amount, missing plugin."""


class TransportError(BatMarketsError):
    """The connection failed or closed (socket errors, protocol errors, stream gaps)."""

    default_retryable = True


class Timeout(TransportError):
    """No answer within the configured time."""


class RateLimited(BatMarketsError):
    """The venue throttled or banned us, or our own limiter refused to send (see ``retry_after``)."""

    default_retryable = True


class AuthError(BatMarketsError):
    """Missing, invalid or expired credentials, bad signature, timestamp outside the window."""


class PermissionDenied(BatMarketsError):
    """Credentials are valid but lack the permission (IP whitelist, trading disabled...)."""


class Unsupported(BatMarketsError):
    """The venue (or this adapter) cannot serve the method or parameter; never a silent fallback."""


class DecodeError(BatMarketsError):
    """A payload could not be decoded into the expected shape."""


class ExchangeReject(BatMarketsError):
    """The venue understood the request and refused it (insufficient margin, filter failure...)."""


class UnknownExecution(BatMarketsError):
    """A write may or may not have executed; only reconciliation can tell."""


class StateDivergence(BatMarketsError):
    """Local state and the venue disagree and could not be reconciled automatically."""


class ComplianceRequired(BatMarketsError):
    """The venue requires an agreement, KYC step or region change before this call."""


class TemporaryUnavailable(BatMarketsError):
    """The venue is overloaded, in maintenance or answered 5xx; retry later."""

    default_retryable = True
