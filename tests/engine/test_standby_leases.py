"""Renew and revoke on a standby, and what a config read says after the admin key changes.

OpenBao up to 2.6.1 runs ``sys/leases/renew`` and ``revoke`` on the standby that received
them and then fails to store the lease; the engine must refuse them there before the proxy is
touched. (The end-to-end proof on a real cluster is ``e2e/test_engine_ha.py``.)
"""

from __future__ import annotations

from vault_plugin_litellm.engine import key_index
from vault_plugin_litellm.sdk.logical import READ_ONLY_STORAGE

from .conftest import Engine

PERFORMANCE_STANDBY = 24576  # what OpenBao's standbys answer to ReplicationState


async def test_renew_and_revoke_on_a_standby_are_refused_before_the_proxy_is_asked(
    engine: Engine,
) -> None:
    await engine.configure()
    await engine.role(ttl="5m", max_ttl="1h")
    minted = await engine.creds()
    assert minted.data is not None
    token = minted.data["token"]
    expires = engine.proxy.admin.key_info(token).expires
    stored = engine.stored()

    engine.system_view.replication = PERFORMANCE_STANDBY
    renewed = await engine.host.renew(minted.lease_id, 1800)
    assert not renewed.ok
    assert renewed.error == READ_ONLY_STORAGE
    revoked = await engine.host.revoke(minted.lease_id)
    assert not revoked.ok
    assert revoked.error == READ_ONLY_STORAGE
    assert minted.lease_id in engine.host.leases
    # The proxy was never asked: the key lives, its expiry unmoved; nothing owed is recorded.
    assert engine.proxy.status(token) == "active"
    assert engine.proxy.admin.key_info(token).expires == expires
    assert engine.stored() == stored
    assert not await key_index.pending_tokens(engine.host.storage)

    engine.system_view.replication = 0  # promoted: the same lease renews and revokes
    renewed = await engine.host.renew(minted.lease_id, 1800)
    assert renewed.ok, renewed.errors
    assert (await engine.host.revoke(minted.lease_id)).ok
    assert engine.proxy.status(token) in ("deleted", "missing")


async def test_a_new_admin_key_written_by_hand_clears_the_rotation_time(engine: Engine) -> None:
    first_user, first = engine.proxy.new_admin_key()
    second_user, second = engine.proxy.new_admin_key()
    try:
        await engine.configure(admin_key=first)
        rotated = await engine.host.write("rotate-root", {})
        assert rotated.ok, rotated.errors
        assert rotated.data is not None
        read = await engine.host.read("config")
        assert read.data is not None
        assert read.data["admin_key_rotated_at"] == rotated.data["admin_key_rotated_at"] != ""

        # The key unchanged: the time stays.
        assert (await engine.host.write("config", {"timeout": "20s"})).ok
        read = await engine.host.read("config")
        assert read.data is not None
        assert read.data["admin_key_rotated_at"] == rotated.data["admin_key_rotated_at"]

        await engine.configure(admin_key=second)
        read = await engine.host.read("config")
        assert read.data is not None
        assert read.data["admin_key_rotated_at"] == ""
    finally:
        for user_id in (first_user, second_user):
            listed = engine.proxy.admin.list_keys(user_id=user_id)
            tokens = [k.token for k in listed if k.token]
            if tokens:
                engine.proxy.admin.delete_keys(tokens, missing_ok=True)
