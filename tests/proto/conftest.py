"""Shared locations and helpers for the vault-plugin-proto tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "packages" / "vault-plugin-proto"

RunGenerate = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def package_dir() -> Path:
    return PACKAGE_DIR


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The servers' wire schemas as JSON (see reference/README.md for their origin)."""
    return Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="session")
def run_generate() -> RunGenerate:
    """Run a copy of scripts/generate.py (the package's by default) as a user would."""

    def run(*args: str, package: Path = PACKAGE_DIR) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(package / "scripts" / "generate.py"), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    return run


@pytest.fixture(scope="session")
def readme_example() -> str:
    """The Python code block of the package README's example section."""
    readme = (PACKAGE_DIR / "README.md").read_text()
    section = readme.split("## Example", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert "class RolesBackend" in code
    return code
