"""Both sides of compat.py's gates, and the client's independence from Home Assistant."""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

from homeassistant import config_entries
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
import pytest

from custom_components.ixicare import compat

PYIXICARE = Path(__file__).parents[1] / "custom_components/ixicare/pyixicare"


HA_VERSION = (MAJOR_VERSION, MINOR_VERSION)


# Version-specific by design: each side of a gate is checked on the release it is for.
@pytest.mark.skipif(
    HA_VERSION != (2025, 4), reason="checks the 2025.4 side of the gate"
)
def test_options_flow_gate_on_2025_4() -> None:
    assert (MAJOR_VERSION, MINOR_VERSION) == (2025, 4)
    assert compat.HA_VERSION == (2025, 4)
    assert compat.HAS_OPTIONS_FLOW_WITH_RELOAD is False
    assert not hasattr(config_entries, "OptionsFlowWithReload")
    assert compat.OptionsFlowBase is config_entries.OptionsFlow


@pytest.mark.skipif(
    HA_VERSION < (2025, 8), reason="checks the 2025.8-and-later side of the gate"
)
def test_options_flow_gate_from_2025_8() -> None:
    assert compat.HAS_OPTIONS_FLOW_WITH_RELOAD is True
    assert compat.OptionsFlowBase is config_entries.OptionsFlowWithReload  # type: ignore[attr-defined]


def test_client_has_no_home_assistant_imports() -> None:
    for path in PYIXICARE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("homeassistant", "custom_components")), (
                    f"{path.name} imports {name}"
                )


def test_client_imports_without_home_assistant(tmp_path: Path) -> None:
    """Import the client as a stand-alone package with homeassistant blocked."""
    (tmp_path / "pyixicare").symlink_to(PYIXICARE)
    code = (
        "import sys; sys.modules['homeassistant'] = None; "
        "import pyixicare; print(pyixicare.IxicareClient.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "IxicareClient"
