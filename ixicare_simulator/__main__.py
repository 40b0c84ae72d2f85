"""Command line: run the ixicare simulator (``python -m ixicare_simulator``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
import logging
import signal
import ssl
import sys

from .model import DEFAULT_SITE, DEFAULT_TOKEN, is_loopback, site_key
from .scenario import Scenario
from .server import IxicareSimulator

_LOGGER = logging.getLogger(__package__ or "ixicare_simulator")


def parse_site(value: str) -> tuple[str, str]:
    """Parse ``UUID:TOKEN`` (the token may contain colons)."""
    site, sep, token = value.partition(":")
    if not sep or not site.strip() or not token:
        raise argparse.ArgumentTypeError("expected UUID:TOKEN")
    return site_key(site), token


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m ixicare_simulator",
        description=(
            "Simulate the ixicare cloud: a socket.io server (Engine.IO path /ws/, "
            "site_uuid query parameter, Authorization: Bearer token) with a moving "
            "demo scenario and an HTTP control API under /control/."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0: any)")
    parser.add_argument(
        "--site",
        action="append",
        type=parse_site,
        metavar="UUID:TOKEN",
        help=(
            f"a site and its token (repeatable; default {DEFAULT_SITE} with token "
            f"{DEFAULT_TOKEN})"
        ),
    )
    parser.add_argument(
        "--devices", type=int, default=8, help="devices per site (default 8)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--tls-cert", metavar="FILE", help="TLS certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="TLS private key (PEM)")
    parser.add_argument(
        "--scenario",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the moving demo scenario (default on)",
    )
    parser.add_argument(
        "--rate", type=float, default=2.0, help="alerts per minute (default 2)"
    )
    parser.add_argument(
        "--tick", type=float, default=1.0, help="scenario tick in seconds"
    )
    parser.add_argument(
        "--control",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "enable the unauthenticated HTTP control API (default: only when "
            "bound to a loopback address)"
        ),
    )
    parser.add_argument(
        "--retention", type=float, default=86400.0, help="retention in seconds"
    )
    parser.add_argument(
        "--command-delay",
        type=float,
        default=0.0,
        help="seconds before answering an alert update",
    )
    parser.add_argument(
        "--replay-active",
        action="store_true",
        help="resend every active alert on each connection",
    )
    parser.add_argument(
        "--js-numbers",
        action="store_true",
        help="send integral floats as integers, as a JavaScript server does",
    )
    parser.add_argument(
        "--no-echo",
        action="store_true",
        help="answer ACCEPT/RESOLVE without sending the alert's new status",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default INFO)",
    )
    return parser


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def create_simulator(args: argparse.Namespace) -> IxicareSimulator:
    """Create the simulator (and its devices) the arguments describe."""
    sites = dict(args.site or [(DEFAULT_SITE, DEFAULT_TOKEN)])
    sim = IxicareSimulator(
        sites=sites,
        host=args.host,
        port=args.port,
        ssl_context=_ssl_context(args),
        retention_seconds=args.retention,
        command_delay=args.command_delay,
        replay_active_on_connect=args.replay_active,
        control=args.control,
        js_numbers=args.js_numbers,
        echo_updates=not args.no_echo,
    )
    for site in sim.sites:
        sim.make_devices(site, args.devices, seed=args.seed)
    return sim


async def run(
    args: argparse.Namespace,
    stop: asyncio.Event,
    ready: Callable[[IxicareSimulator], None] | None = None,
) -> None:
    """Run the simulator until ``stop`` is set."""
    sim = create_simulator(args)
    await sim.start()
    try:
        if args.scenario:
            for number, site in enumerate(sim.sites):
                Scenario(
                    sim, site, rate=args.rate, tick=args.tick, seed=args.seed + number
                ).start()
        if sim.control_enabled and not is_loopback(args.host):
            _LOGGER.warning(
                "The unauthenticated control API is reachable from the network"
            )
        control = f", control API {sim.url}/control/" if sim.control_enabled else ""
        print(
            f"ixicare simulator ready at {sim.url} (socket.io path /ws/), "
            f"site(s): {', '.join(sim.sites)}{control}",
            flush=True,
        )
        if ready is not None:
            ready(sim)
        await stop.wait()
    finally:
        await sim.stop()


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await run(args, stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
