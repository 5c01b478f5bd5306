"""The quality gate. ``nox`` runs the default set; ``nox -s bench`` and ``nox -s demo`` on demand.

Every session runs on the current interpreter (the CI matrix selects versions with
``--force-python``), so a machine with a single Python passes the whole gate.
"""

from __future__ import annotations

import pathlib
import sys
import zipfile

import nox

ROOT = pathlib.Path(__file__).parent
PACKAGES = ROOT / "packages"
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# Install order matters only for readability; pip resolves the local set together.
DISTS = [
    "bat-markets-core",
    "bat-markets-binance",
    "bat-markets-bybit",
    "bat-markets",
    "bat-markets-testing",
]
PUBLISHED = DISTS[:-1]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

nox.options.sessions = ["lint", "typecheck", "tests", "build", "install_matrix", "docs"]
nox.options.error_on_missing_interpreters = False


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _install_workspace(session: nox.Session) -> None:
    session.install(*(arg for d in DISTS for arg in ("-e", str(PACKAGES / d))))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's src/."""
    _install_workspace(session)
    session.install(*_group("typecheck"))
    session.run("mypy", *(str(PACKAGES / d / "src") for d in DISTS))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """pytest over every distribution's tests/ and tests-integration/."""
    _install_workspace(session)
    session.install(*_group("test"))
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build every wheel and sdist; check metadata and the namespace/do-not-upload rules."""
    session.install(*_group("build"))
    dist_dir = ROOT / "dist"
    session.run("python", "-c", f"import shutil; shutil.rmtree({str(dist_dir)!r}, True)")
    for d in DISTS:
        session.run("python", "-m", "build", "--outdir", str(dist_dir), str(PACKAGES / d))
    session.run("twine", "check", "--strict", *(str(p) for p in sorted(dist_dir.iterdir())))
    wheels = sorted(dist_dir.glob("*.whl"))
    if len(wheels) != len(DISTS):
        session.error(f"expected {len(DISTS)} wheels, got {[w.name for w in wheels]}")
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        if "bat_markets/__init__.py" in names:
            session.error(
                f"{wheel.name} ships bat_markets/__init__.py: the namespace must stay PEP 420"
            )
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = zipfile.ZipFile(wheel).read(meta).decode()
        private = "Classifier: Private :: Do Not Upload" in text
        if wheel.name.startswith("bat_markets_testing-") != private:
            session.error(
                f"{wheel.name}: Do-Not-Upload classifier must be on the testing dist only"
            )
    session.log(f"built {len(wheels)} wheels; namespace and publishability checks passed")


@nox.session(python=PYTHON)
def install_matrix(session: nox.Session) -> None:
    """Fresh venvs: one venue without the other, the helpful missing-venue error, a third-party plugin."""
    session.install("virtualenv")
    session.run("python", str(ROOT / "tests-integration" / "install_matrix.py"), *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """mkdocs build --strict."""
    session.install(*_group("docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, reported as ratios against reference implementations measured in the same run."""
    _install_workspace(session)
    session.install("ccxt")
    session.run("python", "-m", "bat_markets.testing.bench", *session.posargs)


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """The README's main job: live clients for both venues against the built-in simulator."""
    _install_workspace(session)
    session.run("python", "-m", "bat_markets.testing.demo", *session.posargs)
