"""Tests of the simulator's command line."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import signal
import ssl
import subprocess
import sys

import aiohttp
import pytest
import trustme

from ixicare_simulator import IxicareSimulator
from ixicare_simulator.__main__ import build_parser, main, parse_site, run
from ixicare_simulator.model import DEFAULT_SITE, DEFAULT_TOKEN

from .common import SITE, TOKEN, SimClient

ROOT = Path(__file__).parents[2]


def test_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ixicare_simulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for option in (
        "--host",
        "--port",
        "--site UUID:TOKEN",
        "--devices",
        "--seed",
        "--tls-cert",
        "--tls-key",
        "--scenario, --no-scenario",
        "--rate",
        "--tick",
        "--control, --no-control",
        "--log-level",
    ):
        assert option in result.stdout


def test_arguments() -> None:
    assert parse_site(f"{SITE.upper()}:a:b") == (SITE, "a:b")
    for bad in ("no-token", ":token", f"{SITE}:"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_site(bad)
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.devices, args.rate) == ("127.0.0.1", 8765, 8, 2)
    assert args.scenario is True
    assert args.control is None
    with pytest.raises(SystemExit):
        main(["--tls-cert", "cert.pem"])
    with pytest.raises(SystemExit):
        main(["--site", "nonsense"])


async def test_run_in_process(socket_enabled: None, tmp_path: Path) -> None:
    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    args = build_parser().parse_args(
        [
            "--port",
            "0",
            "--site",
            f"{SITE}:{TOKEN}",
            "--devices",
            "2",
            "--tls-cert",
            str(pem),
            "--tls-key",
            str(pem),
            "--tick",
            "0.01",
            "--rate",
            "120",
            "--js-numbers",
            "--replay-active",
            "--host",
            "127.0.0.1",
            "--control",
        ]
    )
    ready: asyncio.Future[IxicareSimulator] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.ensure_future(run(args, stop, ready.set_result))
    sim = await asyncio.wait_for(ready, 5)
    assert sim.url.startswith("https://")
    assert sim.sites == [SITE]
    assert len(sim.devices(SITE)) == 2
    assert sim.js_numbers
    assert sim.replay_active_on_connect
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context)
    ) as session:
        client = SimClient(sim.url, SITE, TOKEN, http_session=session)
        await client.connect()
        event, _ = await client.next()
        assert event in ("alerts", "heartbeats")
        await client.close()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not sim.running


async def test_runs_until_sigterm(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ixicare_simulator",
        "--port",
        "0",
        "--devices",
        "3",
        "--tick",
        "0.02",
        "--rate",
        "120",
        "--log-level",
        "DEBUG",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("ixicare simulator ready at http://127.0.0.1:")
        assert DEFAULT_SITE in line
        assert "/control/" in line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        client = SimClient(url, DEFAULT_SITE, DEFAULT_TOKEN)
        try:
            await client.connect()
            await client.take(3, timeout=10)
            assert client.invalid_messages() == []
        finally:
            await client.close()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()
        output = line + stdout.decode() + stderr.decode()
        assert DEFAULT_TOKEN not in output
        assert "Bearer" not in output
        assert "ixicare simulator stopped" in output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
