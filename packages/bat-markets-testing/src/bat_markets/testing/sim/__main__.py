"""``python -m bat_markets.testing.sim --venue binance --port 0 [--seed N] [--tick S]``

Serves a venue simulator on 127.0.0.1 until Ctrl-C, printing its base URLs and the default
API key (the secret only with ``--show-secret``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from ._sim import venue_class

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bat_markets.testing.sim", description=__doc__)
    p.add_argument("--venue", choices=("binance", "bybit"), default="binance")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = a random free port")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--tick", type=float, default=0.25, help="seconds between market steps (0 = manual)"
    )
    p.add_argument("--show-secret", action="store_true", help="also print the API secret")
    return p


async def _serve(args: argparse.Namespace) -> None:
    cls = venue_class(args.venue)
    sim = cls(seed=args.seed, auto_tick=args.tick or None, host=args.host, port=args.port)
    async with sim:
        ep = sim.endpoints
        print(f"{args.venue} simulator (seed {args.seed})")
        print(f"  rest       {ep.rest}")
        print(f"  public ws  {ep.public_ws}")
        print(f"  private ws {ep.private_ws}")
        if ep.command_ws:
            print(f"  command ws {ep.command_ws}")
        for name, route in ep.extra.items():
            print(f"  {name:<10} {route}")
        print(f"  api key    {sim.credentials.api_key}")
        if args.show_secret:
            print(f"  secret     {sim.credentials.secret.reveal()}")
        print("Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
