"""``make demo`` is one of the README's two commands: it must keep working."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from e2e.openbao import ROOT

pytestmark = pytest.mark.openbao


def test_demo_runs_end_to_end_against_the_stand_in() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    result = subprocess.run(
        [sys.executable, "-m", "e2e.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "chat on fake-gpt             200" in out
    assert "chat on fake-other           403 key_model_access_denied" in out
    assert "chat with the deleted key    401 token_not_found_in_db" in out
    assert "revocation seen by plugin" in out
    assert "plugin exited" in out
    assert "PLUGIN STILL RUNNING" not in out
