"""Prepare, set up and check the ixicare demo of ``scripts/develop``.

    demo_setup.py prepare --config DIR --ha-port 8123
        Write the Home Assistant configuration directory (before Home Assistant
        starts): configuration.yaml, the custom component and dashboard links,
        the blueprints, the demo automations, and the onboarding steps that are
        not the user's.
    demo_setup.py setup --config DIR --ha-url URL --sim-url URL [--pid PID]
        Once Home Assistant runs: create the demo user (or log in), add the
        ixicare site through the config flow, make every device of the demo
        known and wait until the dashboard's entities exist.
    demo_setup.py check --config DIR --ha-url URL --sim-url URL
        Wait until an alert shows, then raise a MAN_DOWN and check that the
        blueprint automations react, that the resolve_alert action works and
        that the dashboard's entities exist. Exit 1 on failure.

Every step can run again: a second run changes nothing that is already right.

The steps live in modules of their own, next to this one: demo_config.py (the
settings and ``prepare``), demo_client.py (the APIs of Home Assistant and the
simulator), demo_auth.py (the demo user), demo_entry.py (config entry and
devices) and demo_check.py (``check``); the names others use are re-exported
here. The devices and residents are in demo_site.py.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import sys
from urllib.parse import urlsplit

import aiohttp
from demo_auth import authenticate, probe_ha
from demo_check import check, check_dashboard, dashboard_entity_ids, raise_man_down
from demo_client import Demo, HassWebSocket, wait_until
from demo_config import (
    DASHBOARD_URL_PATH,
    DEMO_AUTOMATIONS,
    DEMO_LIGHT,
    DEMO_LIGHT_CONFIG,
    DEMO_PASSWORD,
    DEMO_USER,
    DemoError,
    log,
    prepare,
)
from demo_entry import (
    corridor_light_off,
    end_stale_alerts,
    ensure_devices,
    ensure_entry,
)

__all__ = [
    "DASHBOARD_URL_PATH",
    "DEMO_AUTOMATIONS",
    "DEMO_LIGHT",
    "DEMO_LIGHT_CONFIG",
    "DEMO_PASSWORD",
    "DEMO_USER",
    "Demo",
    "DemoError",
    "HassWebSocket",
    "authenticate",
    "check",
    "dashboard_entity_ids",
    "log",
    "main",
    "prepare",
    "raise_man_down",
    "setup",
    "wait_until",
]


async def setup(demo_: Demo) -> None:
    """Set the running Home Assistant up for the demo."""
    log(f"Waiting for Home Assistant at {demo_.ha_url}")
    await wait_until("Home Assistant to answer", lambda: probe_ha(demo_), 600, demo_)
    await authenticate(demo_)
    await ensure_entry(demo_)
    await ensure_devices(demo_)
    await end_stale_alerts(demo_)
    await corridor_light_off(demo_)
    await check_dashboard(demo_)


# ---------------------------------------------------------------------------
# Command line


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value}")
    return value.rstrip("/")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(description="Set the ixicare demo up.")
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_cmd = commands.add_parser("prepare", help="write the config directory")
    prepare_cmd.add_argument("--config", type=Path, required=True)
    prepare_cmd.add_argument("--ha-port", type=int, default=8123)
    for name in ("setup", "check"):
        cmd = commands.add_parser(name)
        cmd.add_argument("--config", type=Path, required=True)
        cmd.add_argument("--ha-url", type=_url, default="http://127.0.0.1:8123")
        cmd.add_argument("--sim-url", type=_url, default="http://127.0.0.1:8765")
        cmd.add_argument("--pid", type=int, help="the Home Assistant process")
    return parser


async def run_online(args: argparse.Namespace) -> None:
    """Run ``setup`` or ``check`` against the running demo."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        demo_ = Demo(
            session=session,
            ha_url=args.ha_url,
            sim_url=args.sim_url,
            config=args.config.resolve(),
            pid=args.pid,
        )
        if args.command == "setup":
            await setup(demo_)
        else:
            await _probe_or_fail(demo_)
            await authenticate(demo_)
            await check(demo_)


async def _probe_or_fail(demo_: Demo) -> None:
    if not await probe_ha(demo_):
        raise DemoError(f"Home Assistant does not answer at {demo_.ha_url}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prepare":
            prepare(args.config.resolve(), args.ha_port)
        else:
            asyncio.run(run_online(args))
    except DemoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
