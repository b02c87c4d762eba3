"""``make demo`` is one of the README's two commands: it must keep working, and clean up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.openbao import ROOT, plugin_processes

pytestmark = [pytest.mark.openbao, pytest.mark.local_server]


def _running(pid: int, needle: str) -> bool:
    """Whether ``pid`` is alive and still the program named by ``needle`` (not a reused PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and needle.encode() in cmdline


def test_demo_runs_end_to_end_against_the_stand_in() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    result = subprocess.run(
        [sys.executable, "-m", "e2e.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "the in-project LiteLLM stand-in" in out
    # The commands install printed are the ones that registered and mounted the engine.
    assert re.search(r"\$ bao plugin register -sha256=[0-9a-f]{64} -command=litellm ", out)
    assert "$ bao secrets enable -path=litellm litellm" in out
    assert re.search(r"chat on fake-gpt \(allowed\) +200 'Hello", out)
    assert re.search(r"chat on fake-other \(not allowed\) +403 key_model_access_denied", out)
    assert re.search(r"chat with the revoked key +401 token_not_found_in_db", out)
    before = re.search(r"LiteLLM expiry before +(\S+ \S+) UTC", out)
    after = re.search(r"LiteLLM expiry after +(\S+ \S+) UTC \(\+(\d+) s\)", out)
    assert before
    assert after
    assert after[1] > before[1]
    assert int(after[2]) > 600  # renewed from 10 minutes to an hour
    assert "PLUGIN STILL RUNNING" not in out

    # Nothing it started is left: neither the server nor the plugin.
    bao_pid = re.search(r"OpenBao stopped +pid (\d+)", out)
    plugin_pid = re.search(r"plugin exited +pid (\d+); none left running", out)
    launcher = re.search(r"Wrote (\S+) \(runs ", out)
    assert bao_pid
    assert plugin_pid
    assert launcher
    assert not _running(int(bao_pid[1]), "bao")
    assert not _running(int(plugin_pid[1]), launcher[1])
    assert plugin_processes(Path(launcher[1])) == []
