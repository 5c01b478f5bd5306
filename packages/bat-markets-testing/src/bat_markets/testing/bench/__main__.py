"""Run every ``bench_*`` module of this package and print ratio lines.

``python -m bat_markets.testing.bench [--quick] [name-filter ...]``. Exits 1 if a target is missed
(``--no-fail`` to only report).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from . import __path__ as _bench_path
from ._harness import Result


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    no_fail = "--no-fail" in argv
    filters = [a for a in argv if not a.startswith("--")]
    results: list[Result] = []
    for info in sorted(pkgutil.iter_modules(_bench_path), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if filters and not any(f in info.name for f in filters):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        print(f"== {info.name}", flush=True)
        for result in module.run(quick):
            print(result.line(), flush=True)
            results.append(result)
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed and not no_fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
