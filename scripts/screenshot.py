"""Take a screenshot of the demo's dashboard while a MAN_DOWN is active.

Run by ``scripts/screenshot`` once the demo runs: raises a MAN_DOWN through the
simulator's control API, starts headless Chromium, logs in as the demo user
through Home Assistant's login page (Playwright over the DevTools protocol),
opens the dashboard, checks that the alert shows there and saves the page.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

import aiohttp
import demo_setup as setup
import demo_site as demo
from playwright.async_api import (
    Page,
    TimeoutError as PlaywrightTimeoutError,
    async_playwright,
)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
VIEWPORT = {"width": 1500, "height": 1350}


def start_chromium(
    executable: str, profile: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start Chromium in a process group of its own; return it and its CDP URL."""
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(profile / "chromium.log").open("wb"),
        start_new_session=True,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_chromium(process)
            log = (profile / "chromium.log").read_text(errors="replace")[-2000:]
            raise setup.DemoError(f"Chromium did not start:\n{log}")
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    return process, f"http://127.0.0.1:{port}"


def stop_chromium(process: subprocess.Popen[bytes]) -> None:
    """Stop Chromium and every process it started."""
    with contextlib.suppress(ProcessLookupError):
        # start_new_session: the process id is the group id.
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


async def log_in(page: Page, ha_url: str) -> None:
    """Open the dashboard, logging in through the login page if asked to.

    The demo trusts this machine (a trusted-networks login, the demo user
    chosen by itself); a Home Assistant that does not gets the password.
    """
    dashboard = f"**/{setup.DASHBOARD_URL_PATH}/residents"
    await page.goto(f"{ha_url}/{setup.DASHBOARD_URL_PATH}/residents")
    try:
        await page.wait_for_url(dashboard, timeout=15_000)
        setup.log("Logged in without a password (trusted network)")
        return
    except PlaywrightTimeoutError:
        pass
    await page.wait_for_url("**/auth/authorize**", timeout=30_000)
    await page.get_by_label("Username").fill(setup.DEMO_USER)
    await page.get_by_label("Password", exact=True).fill(setup.DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(dashboard, timeout=30_000)
    setup.log("Logged in through the login page")


async def take(args: argparse.Namespace) -> None:
    """Raise a MAN_DOWN, show the dashboard and save the screenshot."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        demo_ = setup.Demo(
            session=session,
            ha_url=args.ha_url,
            sim_url=args.sim_url,
            config=args.config.resolve(),
        )
        await setup.authenticate(demo_)
        resident, alert_id = await setup.raise_man_down(demo_)
        setup.log(f"Raised MAN_DOWN {alert_id} on {resident.name}")
        sensor = resident.entity_id("active_alert")

        async def showing() -> bool:
            return await demo_.state(sensor) == "man_down"

        await setup.wait_until(f"{sensor} to show man_down", showing, 15)
        with tempfile.TemporaryDirectory(prefix="ixicare-chromium-") as tmp:
            process, cdp_url = start_chromium(args.chromium, Path(tmp))
            try:
                await _browse(args, cdp_url, resident.name)
            finally:
                stop_chromium(process)
        await demo_.request(
            "POST",
            "/api/services/ixicare/resolve_alert?return_response",
            json_body={"alert_id": alert_id},
        )


async def _browse(args: argparse.Namespace, cdp_url: str, name: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(cdp_url)
        context = await browser.new_context(
            viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
            locale="en-US",
            timezone_id="Europe/Riga",
        )
        page = await context.new_page()
        await log_in(page, args.ha_url)
        # The resident needing help shows in red with the alert in words.
        card = page.locator("hui-tile-card").filter(has_text=name)
        alert_card = card.filter(has_text="Man down")
        await alert_card.first.wait_for(state="visible", timeout=30_000)
        accept = page.locator("hui-tile-card").filter(has_text="Accept")
        await accept.first.wait_for(state="visible", timeout=10_000)
        setup.log(f"The dashboard shows {name}: Man down, with Accept and Resolve")
        # Let the other cards (and the map's markers) settle.
        await page.wait_for_timeout(3000)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(args.out), full_page=True)
        setup.log(f"Saved {args.out}")
        await context.close()
        await browser.close()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(description="Screenshot the demo dashboard.")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--ha-url", default="http://127.0.0.1:8123")
    parser.add_argument("--sim-url", default="http://127.0.0.1:8765")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--out", type=Path, default=demo.ROOT / "docs" / "screenshot.png"
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(take(args))
    except setup.DemoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
