"""The LiteLLM engine on a 3-node OpenBao Raft cluster: standbys, request forwarding, failover
and cache invalidation, with real ``bao server`` processes (one cluster per OpenBao version).

OpenBao's standbys serve reads themselves ("read-enabled standby mode"), each with its own
plugin process. Everything that writes storage, issues a lease or changes LiteLLM must reach
the active node: the engine refuses such operations on a standby with the host's read-only
error, which makes the host forward them. Config and role changes made on the active node
reach the standbys' in-memory copies through InvalidateKey.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from e2e.conftest import openbao_versions, say_past_capture
from e2e.engine_env import MODEL, OTHER_MODEL, LiteLLM, Mount
from e2e.openbao import Bao, BaoResponse, bao_binary, data_of, wait_until
from e2e.openbao_cluster import ClusterNode, EngineCluster, start_engine_cluster

pytestmark = [pytest.mark.openbao, pytest.mark.local_server, pytest.mark.slow]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("-")[0].split("."))


def forwards_lease_writes(version: str) -> bool:
    """Whether a standby forwards ``sys/leases/renew`` and ``revoke`` to the active node.

    Up to OpenBao 2.6.1 it runs them itself: the plugin is asked to renew or revoke, then the
    host fails to store the lease ("storage is read-only") and answers 500 (fixed in 2.6.2,
    openbao#3766).
    """
    return _version(version) >= (2, 6, 2)


@pytest.fixture(scope="module", params=openbao_versions(), ids=lambda v: f"openbao-{v}")
def ha(
    request: pytest.FixtureRequest, litellm: LiteLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineCluster]:
    bao_binary(request.param, say=say_past_capture(request.config))
    workdir = tmp_path_factory.mktemp(f"ha-{request.param}")
    yield from start_engine_cluster(workdir, request.param, litellm)


@pytest.fixture
def cluster_mount(ha: EngineCluster) -> Iterator[Mount]:
    """A fresh mount (not configured), unmounted through the active node after."""
    mount = ha.mount()
    try:
        yield mount
    finally:
        print(ha.cluster.errors())  # shown when the test fails
        ha.cluster.heal()  # a test that failed half-way may have left a node down
        ha.unmount(mount)


def _mount_tokens(litellm: LiteLLM, path: str) -> list[str]:
    """Tokens of the live keys the engine mounted at ``path`` minted."""
    return [
        k.token
        for k in litellm.admin.list_keys()
        if k.token and (k.metadata or {}).get("vault_mount") == f"{path}/"
    ]


def _lease(bao: Bao, lease_id: str) -> BaoResponse:
    return bao.write("sys/leases/lookup", {"lease_id": lease_id})


def _eventually(read: Any, expected: Any, timeout: float = 20) -> Any:
    """Poll ``read()`` until it returns ``expected`` (a standby applies the log a little
    after the active node); returns the last value for the assertion message."""
    last: list[Any] = [None]

    def check() -> bool:
        last[0] = read()
        return bool(last[0] == expected)

    wait_until(check, timeout=timeout, interval=0.2)
    return last[0]


def _role_models(bao: Bao, path: str) -> Any:
    response = bao.read(path)
    return response.data["models"] if response.status == 200 else response.status


def _delete_admin_keys(litellm: LiteLLM, user_id: str) -> None:
    tokens = [k.token for k in litellm.admin.list_keys(user_id=user_id) if k.token is not None]
    if tokens:
        litellm.admin.delete_keys(tokens, missing_ok=True)


def test_every_changing_operation_through_a_standby_reaches_the_active_node(
    ha: EngineCluster, cluster_mount: Mount
) -> None:
    litellm, cluster = ha.litellm, ha.cluster
    active, standby = cluster.active(), cluster.standbys()[0]
    here = ha.through(cluster_mount, active)
    there = ha.through(cluster_mount, standby)
    path = cluster_mount.path
    user_id, first_key = litellm.new_admin_key()
    try:
        # config write
        there.configure(admin_key=first_key)
        config = data_of(here.bao.read(f"{path}/config"))
        assert (config["admin_key_type"], config["admin_user_id"]) == ("virtual_key", user_id)

        # roles write, and reads of both through the standby
        there.role("dev", ttl="10m", max_ttl="1h")
        assert data_of(here.bao.read(f"{path}/roles/dev"))["ttl"] == 600
        assert _eventually(lambda: _role_models(there.bao, f"{path}/roles/dev"), [MODEL]) == [MODEL]
        assert data_of(there.bao.read(f"{path}/config"))["admin_user_id"] == user_id
        assert data_of(there.bao.list(f"{path}/roles"))["keys"] == ["dev"]

        # creds: one lease, one key (the standby minted nothing of its own)
        issued = there.creds().body
        key, token = issued["data"]["key"], issued["data"]["token"]
        assert litellm.chat(key) == 200
        assert data_of(_lease(here.bao, issued["lease_id"]))["id"] == issued["lease_id"]
        assert _mount_tokens(litellm, path) == [token]

        # renew
        before = litellm.expires(token)
        renew = {"lease_id": issued["lease_id"], "increment": 1800}
        renewed = there.bao.write("sys/leases/renew", renew)
        if forwards_lease_writes(ha.version):
            assert renewed.status == 200, renewed.body
            assert renewed.body["lease_duration"] == 1800
            assert litellm.expires(token) > before + timedelta(minutes=15)
        else:
            # The host cannot store the renewal on a standby; the key must not move either.
            assert renewed.status == 500, renewed.body
            assert "read-only" in renewed.errors[0]
            assert litellm.expires(token) == before
            data_of(here.bao.write("sys/leases/renew", renew))

        # revoke
        second = there.creds().body
        revoked = there.bao.write("sys/leases/revoke", {"lease_id": second["lease_id"]})
        if forwards_lease_writes(ha.version):
            assert revoked.status == 204, revoked.body
        else:
            # Refused on the standby: the key lives on with its lease, as it must.
            assert revoked.status == 500, revoked.body
            assert litellm.status(second["data"]["token"]) == "active"
            assert _lease(here.bao, second["lease_id"]).status == 200
            data_of(here.bao.write("sys/leases/revoke", {"lease_id": second["lease_id"]}))
        assert wait_until(lambda: litellm.gone(second["data"]["token"]), timeout=20)
        assert _lease(here.bao, second["lease_id"]).status == 400

        # rotate-root
        rotated = data_of(there.bao.write(f"{path}/rotate-root", {}))
        assert rotated["previous_key_deleted"] is True
        assert rotated["admin_user_id"] == user_id
        assert litellm.chat(first_key) == 401
        remaining = [k.token for k in litellm.admin.list_keys(user_id=user_id) if k.token]
        assert len(remaining) == 1  # exactly one successor: the standby made none
        assert data_of(here.bao.read(f"{path}/config"))["admin_key_rotated_at"]
        assert there.creds().body["data"]["key"]  # the new admin key works

        # tidy: an orphan (its index entry removed behind the engine's back) is found and
        # deleted; the report is stored by the active node and read back through the standby
        orphan = there.creds().body["data"]
        mount_uuid = cluster_mount.backend_uuid()
        data_of(here.bao.delete(f"sys/raw/logical/{mount_uuid}/keys/{orphan['token']}"))
        dry = data_of(there.bao.write(f"{path}/tidy", {"dry_run": True, "safety_buffer": 0}))
        assert [f["token"] for f in dry["found"]] == [orphan["token"]]
        assert dry["deleted"] == 0
        report = data_of(there.bao.write(f"{path}/tidy", {"safety_buffer": 0}))
        assert (report["deleted"], report["dry_run"]) == (1, False)
        assert litellm.gone(orphan["token"])
        assert litellm.chat(key) == 200
        last = _eventually(lambda: there.bao.read(f"{path}/tidy").data, report)
        assert last == report

        # revoke what is left, then roles delete and config delete
        data_of(here.bao.write("sys/leases/revoke-prefix/" + f"{path}/creds/dev", {}))
        assert wait_until(lambda: litellm.gone(token), timeout=20)
        assert there.bao.delete(f"{path}/roles/dev").status == 204
        assert here.bao.read(f"{path}/roles/dev").status == 404
        assert there.bao.delete(f"{path}/config").status == 204
        assert here.bao.read(f"{path}/config").status == 404
        assert _eventually(lambda: there.bao.read(f"{path}/config").status, 404) == 404
    finally:
        _delete_admin_keys(litellm, user_id)


def test_changes_on_the_active_node_reach_the_standbys_cached_state(
    ha: EngineCluster, cluster_mount: Mount
) -> None:
    cluster = ha.cluster
    here = ha.through(cluster_mount, cluster.active())
    theirs = [ha.through(cluster_mount, node) for node in cluster.standbys()]
    path = cluster_mount.path
    here.configure(timeout=20)
    here.role("dev", models=[MODEL])
    for there in theirs:  # each standby's plugin reads and keeps the role and the config
        assert _eventually(lambda t=there: _role_models(t.bao, f"{path}/roles/dev"), [MODEL])
        assert data_of(there.bao.read(f"{path}/config"))["timeout"] == 20

    here.role("dev", models=[OTHER_MODEL])
    here.configure(timeout=35)
    for there in theirs:
        seen = _eventually(lambda t=there: _role_models(t.bao, f"{path}/roles/dev"), [OTHER_MODEL])
        assert seen == [OTHER_MODEL]
        timeout = _eventually(lambda t=there: t.bao.read(f"{path}/config").data["timeout"], 35)
        assert timeout == 35
    # A key minted through a standby follows the role as changed on the active node.
    minted = theirs[0].creds().body["data"]
    assert minted["models"] == [OTHER_MODEL]

    data_of(here.bao.delete(f"{path}/roles/dev"))
    for there in theirs:
        assert _eventually(lambda t=there: t.bao.read(f"{path}/roles/dev").status, 404) == 404
        assert there.bao.read(f"{path}/creds/dev").status == 400


def _promote_and_check(
    ha: EngineCluster, mount: Mount, before: dict[str, Any], *, kill: bool
) -> ClusterNode:
    """Move the active role away (SIGKILL or step-down) and prove the new active node works
    with the current admin key: a key minted, the lease from ``before`` renewed and revoked."""
    cluster, litellm = ha.cluster, ha.litellm
    old = cluster.active()
    if kill:
        old.kill(signal.SIGKILL)
        new = cluster.wait_for_active(exclude=old)
    else:
        new = cluster.step_down()
    there = ha.through(mount, new)
    minted = there.creds().body
    assert litellm.chat(minted["data"]["key"]) == 200
    renewed = there.bao.write(
        "sys/leases/renew", {"lease_id": before["lease_id"], "increment": 900}
    )
    assert renewed.status == 200, renewed.body
    data_of(there.bao.write("sys/leases/revoke", {"lease_id": minted["lease_id"]}))
    assert wait_until(lambda: litellm.gone(minted["data"]["token"]), timeout=20)
    if kill:
        # A plugin does not outlive its host, even one killed outright.
        assert wait_until(lambda: not ha.pids(old), timeout=20), ha.pids(old)
        cluster.restart(old)
    return new


def test_a_promoted_standby_uses_the_admin_key_changed_on_the_active_node(
    ha: EngineCluster, cluster_mount: Mount
) -> None:
    litellm, cluster = ha.litellm, ha.cluster
    path = cluster_mount.path
    user_id, first_key = litellm.new_admin_key()
    try:
        here = ha.through(cluster_mount, cluster.active())
        here.configure(admin_key=first_key)
        here.role("dev", ttl="10m", max_ttl="1h")
        earlier = here.creds().body
        for node in cluster.standbys():  # every standby's plugin now holds the first key
            assert data_of(ha.through(cluster_mount, node).bao.read(f"{path}/config"))
        # Rotated on the active node: the first key is deleted in LiteLLM, so a standby that
        # kept it would fail once promoted.
        rotated = data_of(here.bao.write(f"{path}/rotate-root", {}))
        assert rotated["previous_key_deleted"] is True
        assert litellm.chat(first_key) == 401
        stamp = data_of(here.bao.read(f"{path}/config"))["admin_key_rotated_at"]
        for node in cluster.standbys():
            there = ha.through(cluster_mount, node)
            seen = _eventually(
                lambda t=there: t.bao.read(f"{path}/config").data["admin_key_rotated_at"], stamp
            )
            assert seen == stamp
        _promote_and_check(ha, cluster_mount, earlier, kill=False)

        # Now a new admin key written on the (new) active node; the old one deleted by hand.
        here = ha.through(cluster_mount, cluster.active())
        for node in cluster.standbys():
            assert data_of(ha.through(cluster_mount, node).bao.read(f"{path}/config"))
        _, third_key = litellm.new_admin_key()
        previous = [k.token for k in litellm.admin.list_keys(user_id=user_id) if k.token]
        here.configure(admin_key=third_key)
        litellm.admin.delete_keys(previous)
        _promote_and_check(ha, cluster_mount, earlier, kill=True)
        later = data_of(ha.through(cluster_mount, cluster.active()).bao.read(f"{path}/config"))
        assert later["admin_key_rotated_at"] == ""  # the key written by hand, not rotated
    finally:
        _delete_admin_keys(litellm, user_id)


def test_failover_keeps_every_lease(ha: EngineCluster, cluster_mount: Mount) -> None:
    litellm, cluster = ha.litellm, ha.cluster
    old = cluster.active()
    here = ha.through(cluster_mount, old)
    here.configure()
    here.role("dev", ttl="10m", max_ttl="1h")
    here.role("short", ttl="15s", max_ttl="1m")
    kept, dropped = here.creds().body, here.creds().body
    expiring = here.creds("short").body
    assert expiring["lease_duration"] == 15
    old_pids = ha.pids(old)
    assert old_pids

    old.kill(signal.SIGKILL)
    new = cluster.wait_for_active(exclude=old)
    there = ha.through(cluster_mount, new)

    minted = there.creds().body
    assert litellm.chat(minted["data"]["key"]) == 200
    before = litellm.expires(kept["data"]["token"])
    renewed = there.bao.write("sys/leases/renew", {"lease_id": kept["lease_id"], "increment": 1800})
    assert renewed.status == 200, renewed.body
    assert renewed.body["lease_duration"] == 1800
    assert litellm.expires(kept["data"]["token"]) > before + timedelta(minutes=15)
    data_of(there.bao.write("sys/leases/revoke", {"lease_id": dropped["lease_id"]}))
    assert wait_until(lambda: litellm.gone(dropped["data"]["token"]), timeout=20)
    assert litellm.chat(dropped["data"]["key"]) == 401
    assert litellm.chat(kept["data"]["key"]) == 200

    # The short lease ends under the new active node, which deletes the key (LiteLLM's own
    # expiry is a minute later still: a deleted key proves the revocation).
    assert wait_until(lambda: litellm.gone(expiring["data"]["token"]), timeout=90, interval=1)
    # OpenBao deletes its lease entry just after the plugin's revoke returns: the lookup can
    # still answer (ttl 0) for a moment after the key is gone.
    assert wait_until(lambda: _lease(there.bao, expiring["lease_id"]).status == 400, timeout=20)

    assert wait_until(lambda: not ha.pids(old), timeout=20), ha.pids(old)
    cluster.restart(old)  # back to three nodes for the next test
