"""Install matrix: fresh virtual environments prove the distributions compose as documented.

Run by ``nox -s install_matrix`` (or directly: ``python tests-integration/install_matrix.py``).
Needs only the standard library (and uses ``virtualenv`` when it is importable, for speed).

Scenarios, each in its own fresh venv with nothing from this repository installed editable:

* ``binance-only``: core + binance + bat-markets (client). Bybit must be absent: import fails,
  ``pip show`` fails, ``available_venues() == ["binance"]``, and ``load_venue("bybit")`` raises
  ``ConfigError`` telling the user to ``pip install "bat-markets[bybit]"``.
* ``bybit-only``: the reverse.
* ``third-party``: core + the example adapter distribution (tests-integration/example_adapter):
  ``load_venue("example")`` returns a working adapter found through its entry point; then the
  client is added and ``BatMarkets("example").markets()`` works offline.

The local package directories are built once into a wheelhouse (non-editable), and every venv
installs those wheel files by path in one pip command, so our own pinned packages
(``bat-markets-core==0.1.0``...) resolve locally and nothing of ours is fetched from an index.
Third-party dependencies (msgspec, httpx...) come from the normal index and share pip's cache.

Prints one ``PASS``/``FAIL`` line per check and exits non-zero if any check failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"
EXAMPLE = ROOT / "tests-integration" / "example_adapter"
SOURCES = {
    "core": PACKAGES / "bat-markets-core",
    "binance": PACKAGES / "bat-markets-binance",
    "bybit": PACKAGES / "bat-markets-bybit",
    "client": PACKAGES / "bat-markets",
    "example": EXAMPLE,
}
PIP_TIMEOUT = 600
PROBE_TIMEOUT = 120
TRADE_FRAME = (
    '{"topic":"trades.BTC-USDT-PERP","data":[{"id":"1","symbol":"BTC-USDT-PERP",'
    '"price":"50000.1","qty":"0.010","taker":"buy","ts":1700000000000}]}'
)


class Report:
    """Collects check results and prints one line per check."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, scenario: str, name: str, ok: bool, detail: str = "") -> bool:
        label = f"[{scenario}] {name}"
        if ok:
            self.passed += 1
            print(f"PASS  {label}", flush=True)
        else:
            self.failed.append(label)
            print(f"FAIL  {label}", flush=True)
            if detail:
                print(textwrap.indent(detail.strip()[-2000:], "      | "), flush=True)
        return ok


def _env() -> dict[str, str]:
    """The caller's environment minus anything that would leak the dev install into a venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: Sequence[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(cmd),
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(list(cmd), 124, "", f"timed out after {exc.timeout}s")


def _venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def make_venv(venv: Path, work: Path) -> Path:
    """A fresh venv with pip; ``virtualenv`` when available (fast), else ``venv``."""
    if importlib.util.find_spec("virtualenv") is not None:
        cmd = [
            sys.executable,
            "-m",
            "virtualenv",
            "--quiet",
            "--no-setuptools",
            "--no-wheel",
            str(venv),
        ]
    else:
        cmd = [sys.executable, "-m", "venv", str(venv)]
    result = _run(cmd, cwd=work, timeout=PIP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"cannot create a venv with {cmd[:3]}: {result.stderr or result.stdout}")
    return _venv_python(venv)


def pip(python: Path, *args: str, work: Path) -> subprocess.CompletedProcess[str]:
    return _run([str(python), "-m", "pip", *args], cwd=work, timeout=PIP_TIMEOUT)


def probe(python: Path, code: str, work: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in the venv in isolated mode (no cwd, no user site, no PYTHON* variables)."""
    return _run([str(python), "-I", "-c", textwrap.dedent(code)], cwd=work, timeout=PROBE_TIMEOUT)


def _out(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def build_wheels(
    python: Path, names: Sequence[str], wheelhouse: Path, work: Path
) -> dict[str, Path]:
    """Build each local package directory into a wheel (no dependencies), once for all venvs."""
    result = pip(
        python,
        "wheel",
        "--no-deps",
        "--wheel-dir",
        str(wheelhouse),
        *(str(SOURCES[n]) for n in names),
        work=work,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building wheels failed:\n{_out(result)}")
    wheels: dict[str, Path] = {}
    prefixes = {
        "core": "bat_markets_core-",
        "binance": "bat_markets_binance-",
        "bybit": "bat_markets_bybit-",
        "client": "bat_markets-",
        "example": "bat_markets_example-",
    }
    for name in names:
        found = sorted(wheelhouse.glob(f"{prefixes[name]}*.whl"))
        # "bat_markets-" is a prefix of every other name: keep the exact distribution only
        found = [w for w in found if w.name.split("-")[0] == prefixes[name][:-1]]
        if len(found) != 1:
            raise RuntimeError(f"expected one wheel for {name}, found {[w.name for w in found]}")
        wheels[name] = found[0]
    return wheels


def install(
    report: Report, scenario: str, python: Path, wheels: Sequence[Path], work: Path
) -> bool:
    started = time.monotonic()
    result = pip(python, "install", "--quiet", *(str(w) for w in wheels), work=work)
    took = time.monotonic() - started
    names = ", ".join(w.name.split("-")[0] for w in wheels)
    return report.check(
        scenario, f"pip install {names} ({took:.1f}s)", result.returncode == 0, _out(result)
    )


def check_namespace(report: Report, scenario: str, python: Path, work: Path) -> None:
    result = probe(
        python,
        """
        import pathlib, sys
        import bat_markets
        assert getattr(bat_markets, "__file__", None) is None, bat_markets.__file__
        paths = [pathlib.Path(p) for p in bat_markets.__path__]
        assert paths and all("site-packages" in str(p) for p in paths), paths
        assert not any((p / "__init__.py").exists() for p in paths), paths
        """,
        work,
    )
    report.check(
        scenario,
        "bat_markets is a PEP 420 namespace from site-packages only",
        result.returncode == 0,
        _out(result),
    )


def check_single_venue(
    report: Report, scenario: str, python: Path, present: str, absent: str, work: Path
) -> None:
    result = probe(python, f"import bat_markets.{absent}", work)
    report.check(
        scenario,
        f"import bat_markets.{absent} fails",
        result.returncode != 0 and "ModuleNotFoundError" in result.stderr,
        _out(result),
    )
    result = pip(python, "show", f"bat-markets-{absent}", work=work)
    report.check(
        scenario, f"pip show bat-markets-{absent} fails", result.returncode != 0, _out(result)
    )

    result = probe(
        python,
        f"""
        from bat_markets.core import available_venues
        venues = available_venues()
        assert venues == [{present!r}], venues
        """,
        work,
    )
    report.check(
        scenario, f'available_venues() == ["{present}"]', result.returncode == 0, _out(result)
    )

    result = probe(
        python,
        f"""
        from bat_markets.core import ConfigError, load_venue
        try:
            load_venue({absent!r})
        except ConfigError as exc:
            message = str(exc)
            assert 'pip install "bat-markets[{absent}]"' in message, message
            print(message)
        else:
            raise SystemExit("load_venue({absent!r}) did not raise ConfigError")
        """,
        work,
    )
    report.check(
        scenario,
        f'load_venue("{absent}") raises ConfigError naming pip install "bat-markets[{absent}]"',
        result.returncode == 0,
        _out(result),
    )

    result = probe(
        python,
        f"""
        from bat_markets.core import VenueAdapter, load_venue
        adapter = load_venue({present!r})
        assert isinstance(adapter, VenueAdapter), type(adapter)
        assert adapter.id == {present!r}, adapter.id
        assert len(adapter.markets) > 0, "no bundled instruments"
        """,
        work,
    )
    report.check(
        scenario,
        f'load_venue("{present}") returns its adapter',
        result.returncode == 0,
        _out(result),
    )

    result = probe(
        python,
        f"""
        from bat_markets.client import BatMarkets
        from bat_markets.core import ConfigError
        markets = list(BatMarkets({present!r}).markets())
        assert markets, "no markets"
        try:
            BatMarkets({absent!r})
        except ConfigError as exc:
            assert 'pip install "bat-markets[{absent}]"' in str(exc), str(exc)
        else:
            raise SystemExit("BatMarkets({absent!r}) did not raise ConfigError")
        """,
        work,
    )
    report.check(
        scenario,
        f'BatMarkets("{present}").markets() works offline; BatMarkets("{absent}") gives the hint',
        result.returncode == 0,
        _out(result),
    )


def scenario_single_venue(
    report: Report, present: str, absent: str, wheels: dict[str, Path], work: Path, python: Path
) -> None:
    scenario = f"{present}-only"
    if not install(
        report, scenario, python, [wheels["core"], wheels[present], wheels["client"]], work
    ):
        return
    check_namespace(report, scenario, python, work)
    check_single_venue(report, scenario, python, present, absent, work)


def scenario_third_party(report: Report, wheels: dict[str, Path], work: Path, python: Path) -> None:
    scenario = "third-party"
    if not install(report, scenario, python, [wheels["core"], wheels["example"]], work):
        return
    check_namespace(report, scenario, python, work)
    result = probe(
        python,
        f"""
        import sys
        from decimal import Decimal
        from bat_markets.core import (
            StreamData, Trade, Unsupported, VenueAdapter, available_venues, load_venue,
        )
        assert available_venues() == ["example"], available_venues()
        adapter = load_venue("example")
        assert isinstance(adapter, VenueAdapter), type(adapter)
        module = sys.modules[type(adapter).__module__]
        assert "site-packages" in module.__file__, module.__file__
        frame = adapter.decode_public({TRADE_FRAME!r})
        assert isinstance(frame, StreamData), frame
        (trade,) = frame.events
        assert isinstance(trade, Trade) and trade.price == Decimal("50000.1"), trade
        assert trade.symbol == "BTC/USDT:USDT", trade.symbol
        try:
            adapter.fetch_ohlcv("BTC-USDT-PERP", "1m", None, None, None)
        except Unsupported as exc:
            assert exc.venue == "example", exc.venue
        else:
            raise SystemExit("fetch_ohlcv did not raise Unsupported")
        """,
        work,
    )
    report.check(
        scenario,
        'load_venue("example") finds the plugin through its entry point and decodes a frame',
        result.returncode == 0,
        _out(result),
    )
    result = probe(
        python,
        """
        from bat_markets.core import ConfigError, load_venue
        try:
            load_venue("binance")
        except ConfigError as exc:
            assert 'pip install "bat-markets[binance]"' in str(exc), str(exc)
        else:
            raise SystemExit("load_venue('binance') did not raise")
        """,
        work,
    )
    report.check(
        scenario,
        "no bundled venue is installed with core alone",
        result.returncode == 0,
        _out(result),
    )

    if not install(report, scenario, python, [wheels["core"], wheels["client"]], work):
        return
    result = probe(
        python,
        """
        from bat_markets.client import BatMarkets
        markets = list(BatMarkets("example").markets())
        symbols = [getattr(m, "symbol", m) for m in markets]
        assert "BTC/USDT:USDT" in symbols, symbols
        """,
        work,
    )
    report.check(
        scenario,
        'BatMarkets("example").markets() works offline with the client added',
        result.returncode == 0,
        _out(result),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary venvs for inspection"
    )
    args = parser.parse_args(argv)

    report = Report()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bat-markets-install-matrix-"))
    try:
        print(f"install matrix: python {sys.version.split()[0]}, work dir {work}", flush=True)
        venvs = {name: make_venv(work / name, work) for name in ("binance", "bybit", "example")}
        try:
            wheels = build_wheels(venvs["binance"], list(SOURCES), work / "wheelhouse", work)
        except RuntimeError as exc:
            report.check("build", "build wheels of the local package directories", False, str(exc))
            return 1
        report.check(
            "build", f"built {len(wheels)} wheels from the local package directories", True
        )
        scenario_single_venue(report, "binance", "bybit", wheels, work, venvs["binance"])
        scenario_single_venue(report, "bybit", "binance", wheels, work, venvs["bybit"])
        scenario_third_party(report, wheels, work, venvs["example"])
    finally:
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    took = time.monotonic() - started
    print(f"install matrix: {report.passed} passed, {len(report.failed)} failed in {took:.0f}s")
    for label in report.failed:
        print(f"  failed: {label}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
