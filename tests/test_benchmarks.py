"""The benchmark runs end to end in its smallest mode (no timing is judged).

It runs as a separate process, as it is meant to be run: it starts its own
Home Assistant and its own simulator process.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke(tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(results_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "| measurement | 4 devices |" in done.stdout
    assert "Memory, 4 devices" in done.stdout
    assert "the same, python-socketio's stock receive path" in done.stdout

    data = json.loads(results_file.read_text())
    (result,) = data["results"]
    assert result["devices"] == 4
    # Every message sent was handled: the machinery counts what it measures.
    for name in ("baseline", "baseline_orjson", "throughput", "throughput_stock"):
        assert result[name]["handled"] == 200, name
        assert not result[name]["capped"], name
    storm = result["storm"]
    assert storm["heartbeat_samples"] > 0
    assert storm["alerts_raised"] > 0
    assert storm["alerts_seen"] == storm["alerts_raised"]
    replay = result["replay"]
    assert replay["events"] == replay["handled"] == 40
    assert not replay["capped"]
    assert set(result["blocks"]) == {
        "setup_first",
        "setup_again",
        "throughput",
        "storm",
        "replay",
        "after_replay",
    }
    assert data["memory"]["complete"]
    assert data["memory"]["entities"] > 0
