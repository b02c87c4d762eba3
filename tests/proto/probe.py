"""Running probe_installed.py in a fresh interpreter, for the tests and the import benchmark."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

PROBE = Path(__file__).resolve().parent / "probe_installed.py"


def run_probe(python: str | Path, *flags: str, cwd: Path | None = None) -> dict[str, Any]:
    """What probe_installed.py reports when ``python`` runs it (with ``flags``)."""
    result = subprocess.run(
        [str(python), *flags, str(PROBE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=cwd,
    )
    if result.returncode != 0:
        raise AssertionError(f"the probe failed under {python}:\n{result.stderr}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report
