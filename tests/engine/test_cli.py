"""The ``vault-plugin-litellm`` command: install prints what to run; version."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from vault_plugin_litellm import __version__
from vault_plugin_litellm.cli import main


def test_install_writes_an_isolated_launcher_and_prints_the_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "--plugin-dir", str(tmp_path), "--name", "litellm-x"]) == 0
    out = capsys.readouterr().out
    launcher = tmp_path / "litellm-x"
    assert launcher.is_file()
    assert not launcher.is_symlink()
    assert os.access(launcher, os.X_OK)
    first = launcher.read_text().splitlines()[0]
    assert first == f"#!{sys.executable} -I"
    digest = hashlib.sha256(launcher.read_bytes()).hexdigest()
    assert f"sha256: {digest}" in out
    for server in ("bao", "vault"):
        assert (
            f"{server} plugin register -sha256={digest} -command=litellm-x "
            f"-version=v{__version__} secret litellm-x"
        ) in out
        assert f"{server} secrets enable -path=litellm litellm-x" in out


def test_install_refuses_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "--plugin-dir", str(tmp_path / "nope")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_version_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"v{__version__}"
    assert main([]) == 2
    assert "install" in capsys.readouterr().err


def test_started_by_hand_with_the_console_script_it_explains_itself() -> None:
    env = {k: v for k, v in os.environ.items() if k != "VAULT_BACKEND_PLUGIN"}
    result = subprocess.run(
        [sys.executable, "-m", "vault_plugin_litellm.cli", "version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"v{__version__}"
