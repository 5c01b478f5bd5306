"""Secrets never leak; credentials come from explicit values or an environment mapping."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from bat_markets.core import AuthError, ConfigError, Credentials, Secret, VenueConfig

SECRET = "sUp3rS3cretValue-XYZ"
KEY = "AKIAVERYLONGAPIKEY1234"


def leaks(text: str) -> bool:
    return SECRET in text


def test_secret_never_renders() -> None:
    s = Secret(SECRET)
    renderings = [
        repr(s),
        str(s),
        f"{s}",
        f"{s!r}",
        f"{s!s}",
        f"{s:>40}",
        f"{s}",
        f"{s!r}",
        f"{s}",
    ]
    assert not any(leaks(r) for r in renderings)
    assert s.reveal() == SECRET
    assert Secret(SECRET) == s
    assert hash(Secret(SECRET)) == hash(s)
    assert Secret("other") != s
    assert not hasattr(s, "__dict__")


def test_secret_requires_non_empty_string() -> None:
    for bad in ("", None, 123):
        with pytest.raises(ConfigError):
            Secret(bad)  # type: ignore[arg-type]


def test_pickling_and_copying_refuse() -> None:
    creds = Credentials.of(KEY, SECRET)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(creds.secret)
    with pytest.raises(TypeError):
        pickle.dumps(creds)
    with pytest.raises(TypeError):
        copy.deepcopy(creds.secret)


def test_credentials_repr_masks_key_and_hides_secret() -> None:
    creds = Credentials.of(KEY, SECRET)
    for text in (repr(creds), str(creds), f"{creds}", repr(VenueConfig(credentials=creds))):
        assert not leaks(text)
        assert KEY not in text
    assert creds.masked_key == "AKIA…34"
    assert Credentials.of("short", SECRET).masked_key == "***"
    assert creds.secret.reveal() == SECRET


def test_exception_messages_do_not_leak() -> None:
    creds = Credentials.of(KEY, SECRET)
    err = AuthError(f"signature rejected for {creds} using {creds.secret}", venue="binance")
    assert not leaks(str(err))
    assert not leaks(repr(err))


def test_logging_does_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials.of(KEY, SECRET)
    log = logging.getLogger("bat_markets.test")
    with caplog.at_level(logging.DEBUG, logger="bat_markets.test"):
        log.debug("creds %s %r", creds, creds.secret)
        log.info("config %s", VenueConfig(credentials=creds))
        log.warning("secret=%s", creds.secret)
        try:
            raise AuthError(f"bad {creds.secret}")
        except AuthError:
            log.exception("failed with %r", creds)
    assert caplog.records
    assert not leaks(caplog.text)
    for record in caplog.records:
        assert not leaks(record.getMessage())


def test_credentials_validation() -> None:
    with pytest.raises(ConfigError, match="api_key"):
        Credentials.of("", SECRET)
    with pytest.raises(ConfigError, match="key_type"):
        Credentials.of(KEY, SECRET, key_type="dsa")
    assert Credentials.of(KEY, Secret(SECRET), "ed25519").key_type == "ed25519"


def test_from_env_both_set() -> None:
    env = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    creds = Credentials.from_env("binance", env)
    assert creds is not None
    assert creds.api_key == KEY
    assert creds.secret.reveal() == SECRET
    assert creds.key_type == "hmac"
    env["BINANCE_API_KEY_TYPE"] = "rsa"
    creds = Credentials.from_env("binance", env)
    assert creds is not None
    assert creds.key_type == "rsa"


def test_from_env_neither_set() -> None:
    assert Credentials.from_env("bybit", {}) is None
    assert (
        Credentials.from_env("bybit", {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET})
        is None
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"BYBIT_API_KEY": KEY}, "BYBIT_API_SECRET"),
        ({"BYBIT_API_SECRET": SECRET}, "BYBIT_API_KEY"),
        ({"BYBIT_API_KEY": KEY, "BYBIT_API_SECRET": ""}, "BYBIT_API_SECRET"),
    ],
)
def test_from_env_one_missing(env: dict[str, str], missing: str) -> None:
    with pytest.raises(AuthError) as info:
        Credentials.from_env("bybit", env)
    message = str(info.value)
    assert missing in message
    assert not leaks(message)
    assert KEY not in message
    assert info.value.venue == "bybit"


def test_from_env_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOYVENUE_API_KEY", KEY)
    monkeypatch.setenv("TOYVENUE_API_SECRET", SECRET)
    creds = Credentials.from_env("toyvenue")
    assert creds is not None
    assert creds.api_key == KEY
