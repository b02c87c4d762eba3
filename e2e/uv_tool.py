"""The uv executable for helpers that build or install: found the way the Makefile finds it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where `make` puts uv when it is not installed (see the Makefile).
BOOTSTRAP_UV = ROOT / ".cache" / "bootstrap" / "bin" / "uv"


def find_uv() -> str | None:
    """``uv run`` names its own binary in ``UV``; otherwise the PATH, then make's bootstrap."""
    found = os.environ.get("UV") or shutil.which("uv")
    if found:
        return found
    return str(BOOTSTRAP_UV) if BOOTSTRAP_UV.is_file() else None
