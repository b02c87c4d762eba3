"""``python -m e2e.litellm_standin``: prints the environment, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "e2e.litellm_standin", "--port", "0"),
            *("--model", "cheap:0.5:1", "--disable-custom-api-keys"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("export LITELLM_URL=http://127.0.0.1:"), line
        settings = dict(part.split("=", 1) for part in line.removeprefix("export ").split())
        yield process, settings["LITELLM_URL"], settings["LITELLM_MASTER_KEY"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_serves_until_terminated(served: tuple[subprocess.Popen[str], str, str]) -> None:
    process, url, master_key = served
    assert master_key.startswith("sk-")
    assert httpx.get(f"{url}/health/liveliness").json() == "I'm alive!"
    key = httpx.post(
        f"{url}/key/generate", json={}, headers={"Authorization": f"Bearer {master_key}"}
    ).json()
    answer = httpx.post(
        f"{url}/chat/completions",
        json={"model": "cheap", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    assert answer.status_code == 200
    assert answer.headers["x-litellm-response-cost"] == str(10 * 0.5 + 20 * 1.0)
    # Only the models given on the command line are served.
    refused = httpx.post(
        f"{url}/chat/completions",
        json={"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    assert refused.status_code == 400
    custom = httpx.post(
        f"{url}/key/generate",
        json={"key": "sk-caller-chosen-key-0001"},
        headers={"Authorization": f"Bearer {master_key}"},
    )
    assert custom.status_code == 403
    assert "Custom API key values are disabled" in custom.json()["error"]["message"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--model", "x:cheap"], "prices must be numbers"),
        (["--master-key", "not-sk"], "must start with 'sk-'"),
    ],
)
def test_bad_options_are_refused_by_name(arguments: list[str], complaint: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "e2e.litellm_standin", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 2
    assert complaint in result.stderr
