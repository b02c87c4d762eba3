"""The LiteLLM engine across a server restart and a plugin reload, on a single OpenBao node
with persistent Raft storage (one server per OpenBao version).

A restart (SIGTERM, start, unseal) must keep the config, the roles and every lease: a lease
issued before it renews and revokes afterwards, and one that ends afterwards is revoked in
LiteLLM. ``sys/plugins/reload/backend`` replaces the plugin process under a running server,
and every lease must stay renewable and revocable through it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from e2e.conftest import openbao_versions, say_past_capture
from e2e.engine_env import ENGINE_NAME, MODEL, LiteLLM, Mount
from e2e.openbao import bao_binary, data_of, wait_until
from e2e.openbao_cluster import EngineCluster, start_engine_cluster

pytestmark = [pytest.mark.openbao, pytest.mark.local_server, pytest.mark.slow]


@pytest.fixture(scope="module", params=openbao_versions(), ids=lambda v: f"openbao-{v}")
def single(
    request: pytest.FixtureRequest, litellm: LiteLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineCluster]:
    bao_binary(request.param, say=say_past_capture(request.config))
    workdir = tmp_path_factory.mktemp(f"restart-{request.param}")
    yield from start_engine_cluster(workdir, request.param, litellm, size=1)


@pytest.fixture
def node_mount(single: EngineCluster) -> Iterator[Mount]:
    """A fresh configured mount with role ``dev`` (10m, at most 1h); unmounted after."""
    mount = single.mount()
    try:
        mount.configure()
        mount.role("dev", ttl="10m", max_ttl="1h")
        yield mount
    finally:
        print(single.cluster.errors())  # shown when the test fails
        single.cluster.heal()  # a test that failed half-way may have left the node down
        single.unmount(mount)


def _renews_and_revokes(mount: Mount, kept: dict[str, Any], dropped: dict[str, Any]) -> None:
    """``kept`` renews (LiteLLM's expiry moves with it); ``dropped`` revokes (its key goes)."""
    litellm, bao = mount.target.litellm, mount.bao
    before = litellm.expires(kept["data"]["token"])
    renewed = bao.write("sys/leases/renew", {"lease_id": kept["lease_id"], "increment": 1800})
    assert renewed.status == 200, renewed.body
    assert renewed.body["lease_duration"] == 1800
    assert litellm.expires(kept["data"]["token"]) > before + timedelta(minutes=15)
    assert litellm.chat(kept["data"]["key"]) == 200
    data_of(bao.write("sys/leases/revoke", {"lease_id": dropped["lease_id"]}))
    assert wait_until(lambda: litellm.gone(dropped["data"]["token"]), timeout=20)
    assert litellm.chat(dropped["data"]["key"]) == 401


def test_a_restart_keeps_config_roles_and_leases(single: EngineCluster, node_mount: Mount) -> None:
    litellm, (node,) = single.litellm, single.cluster.nodes
    path = node_mount.path
    node_mount.role("short", ttl="20s", max_ttl="1m")
    config = data_of(node_mount.bao.read(f"{path}/config"))
    role = data_of(node_mount.bao.read(f"{path}/roles/dev"))
    kept, dropped = node_mount.creds().body, node_mount.creds().body
    expiring = node_mount.creds("short").body
    launched = single.pids(node)
    assert launched

    node.kill(signal.SIGTERM)
    # Stopping the server revokes nothing: the keys live on in LiteLLM.
    assert wait_until(lambda: not single.pids(node), timeout=20), single.pids(node)
    for lease in (kept, dropped, expiring):
        assert litellm.status(lease["data"]["token"]) == "active"
    node.start()
    node.unseal()
    single.cluster.wait_for_members()

    assert data_of(node_mount.bao.read(f"{path}/config")) == config
    assert data_of(node_mount.bao.read(f"{path}/roles/dev")) == role
    assert sorted(data_of(node_mount.bao.list(f"{path}/roles"))["keys"]) == ["dev", "short"]
    for lease in (kept, dropped):
        found = data_of(node_mount.bao.write("sys/leases/lookup", {"lease_id": lease["lease_id"]}))
        assert found["id"] == lease["lease_id"]
    _renews_and_revokes(node_mount, kept, dropped)
    minted = node_mount.creds().body["data"]
    assert litellm.chat(minted["key"], MODEL) == 200
    assert single.pids(node) != launched
    # The short lease ends after the restart and its key is deleted (LiteLLM's own expiry is a
    # minute later still: a deleted key proves the revocation).
    assert wait_until(lambda: litellm.gone(expiring["data"]["token"]), timeout=90, interval=1)
    lookup = node_mount.bao.write("sys/leases/lookup", {"lease_id": expiring["lease_id"]})
    assert lookup.status == 400


def test_plugin_reload_keeps_every_lease_renewable_and_revocable(
    single: EngineCluster, node_mount: Mount
) -> None:
    (node,) = single.cluster.nodes
    kept, dropped = node_mount.creds().body, node_mount.creds().body
    launched = single.pids(node)
    assert launched

    reload = node_mount.bao.write("sys/plugins/reload/backend", {"plugin": ENGINE_NAME})
    assert reload.status < 400, reload.body
    # The old process goes and a new one serves the mount.
    assert wait_until(lambda: not set(launched) & set(single.pids(node)), timeout=30)
    minted = node_mount.creds().body["data"]
    assert single.pids(node)
    assert not set(launched) & set(single.pids(node))
    assert single.litellm.chat(minted["key"]) == 200
    _renews_and_revokes(node_mount, kept, dropped)
