"""Drive the simulator process (benchmarks/simproc.py) from the benchmark."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import sys
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent


class SimulatorError(RuntimeError):
    """The simulator process failed a command."""


class SimulatorProcess:
    """The simulator, running in a separate process."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.site = ""
        self.token = ""
        self.pid = 0

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # BENCH_SIM_WRAP="py-spy record -o sim.svg --" profiles the simulator.
        wrap = os.environ.get("BENCH_SIM_WRAP", "").split()
        self._proc = await asyncio.create_subprocess_exec(
            *wrap,
            sys.executable,
            "-m",
            "benchmarks.simproc",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=env,
            limit=64 * 1024 * 1024,
        )
        self.pid = self._proc.pid
        hello = await self._read(timeout=30.0)
        self.url, self.site, self.token = hello["url"], hello["site"], hello["token"]

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        async with asyncio.timeout(timeout):
            line = await self._proc.stdout.readline()
            while line and not line.startswith(b"{"):  # a profiler's chatter
                line = await self._proc.stdout.readline()
        if not line:
            raise SimulatorError("the simulator process exited")
        answer: dict[str, Any] = orjson.loads(line)
        if "error" in answer:
            raise SimulatorError(answer["error"])
        return answer

    async def call(
        self, cmd: str, timeout: float = 120.0, **args: Any
    ) -> dict[str, Any]:
        """Run one command and return its answer."""
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(orjson.dumps({"cmd": cmd, **args}) + b"\n")
        await self._proc.stdin.drain()
        return await self._read(timeout)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(b'{"cmd": "stop"}\n')
                await proc.stdin.drain()
                async with asyncio.timeout(30):
                    assert proc.stdout is not None
                    await proc.stdout.read()
                    await proc.wait()
            except (TimeoutError, ConnectionError):
                proc.kill()
                await proc.wait()

    async def __aenter__(self) -> SimulatorProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
