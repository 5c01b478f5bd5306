"""The error taxonomy (DESIGN.md §6): every class carries venue context and survives pickling."""

from __future__ import annotations

import inspect
import pickle

import pytest

import bat_markets.core as core
from bat_markets.core import (
    AuthError,
    BatMarketsError,
    ComplianceRequired,
    ConfigError,
    DecodeError,
    ExchangeReject,
    PermissionDenied,
    RateLimited,
    StateDivergence,
    TemporaryUnavailable,
    Timeout,
    TransportError,
    UnknownExecution,
    Unsupported,
)

TAXONOMY: list[type[BatMarketsError]] = [
    ConfigError,
    TransportError,
    Timeout,
    RateLimited,
    AuthError,
    PermissionDenied,
    Unsupported,
    DecodeError,
    ExchangeReject,
    UnknownExecution,
    StateDivergence,
    ComplianceRequired,
    TemporaryUnavailable,
]
RETRYABLE_BY_DEFAULT = {TransportError, Timeout, RateLimited, TemporaryUnavailable}


def test_exactly_the_documented_taxonomy() -> None:
    defined = {
        obj
        for _, obj in inspect.getmembers(core._errors, inspect.isclass)
        if issubclass(obj, BatMarketsError) and obj is not BatMarketsError
    }
    assert defined == set(TAXONOMY)
    assert len(TAXONOMY) == 13
    assert issubclass(Timeout, TransportError)
    for cls in TAXONOMY:
        assert cls.__doc__, cls
        assert cls.__name__ in core.__all__


@pytest.mark.parametrize("cls", TAXONOMY, ids=lambda c: c.__name__)
def test_carries_context(cls: type[BatMarketsError]) -> None:
    err = cls(
        "order rejected",
        venue="binance",
        code=-2019,
        venue_message="Margin is insufficient.",
        retry_after=1.5,
        http_status=400,
    )
    assert isinstance(err, BatMarketsError)
    assert isinstance(err, Exception)
    assert (err.venue, err.code, err.venue_message) == ("binance", -2019, "Margin is insufficient.")
    assert err.retry_after == 1.5
    assert err.http_status == 400
    assert err.retryable is (cls in RETRYABLE_BY_DEFAULT)
    assert str(err) == (
        "order rejected (venue=binance, code=-2019, "
        "venue_message='Margin is insufficient.', retry_after=1.5s)"
    )
    assert repr(err) == f"{cls.__name__}({str(err)!r})"
    assert cls("x", retryable=True).retryable is True
    assert cls("x", retryable=False).retryable is False
    bare = cls("plain")
    assert (bare.venue, bare.code, bare.venue_message, bare.retry_after) == (None,) * 4
    assert str(bare) == "plain"


@pytest.mark.parametrize("cls", TAXONOMY, ids=lambda c: c.__name__)
def test_pickle_round_trip(cls: type[BatMarketsError]) -> None:
    err = cls(
        "boom",
        venue="bybit",
        code="110007",
        venue_message="ab not enough",
        retryable=True,
        retry_after=2.0,
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert back.args == err.args
    assert (back.message, back.venue, back.code, back.venue_message) == (
        "boom",
        "bybit",
        "110007",
        "ab not enough",
    )
    assert back.retryable is True
    assert back.retry_after == 2.0
    assert str(back) == str(err)
    with pytest.raises(cls):
        raise back


def test_catching_by_family() -> None:
    with pytest.raises(TransportError):
        raise Timeout("no answer", venue="binance")
    with pytest.raises(BatMarketsError) as info:
        raise RateLimited("slow down", venue="binance", code=-1003, retry_after=60)
    assert info.value.retryable
    assert info.value.retry_after == 60
