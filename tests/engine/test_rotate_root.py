"""``rotate-root``: a new admin key of the same user; the old one dies; leases survive it."""

from __future__ import annotations

import json

from vault_plugin_litellm.engine.config import CONFIG_KEY

from .conftest import Engine


async def _stored_admin_key(engine: Engine) -> str:
    entry = await engine.host.storage.get(CONFIG_KEY)
    assert entry is not None
    return str(json.loads(entry.value)["admin_key"])


async def test_the_master_key_cannot_be_rotated(engine: Engine) -> None:
    await engine.configure()
    refused = await engine.host.write("rotate-root", {})
    assert refused.status == 400
    assert "master key" in refused.error
    assert await _stored_admin_key(engine) == engine.proxy.master_key


async def test_rotation_replaces_the_key_and_keeps_leases_revocable(engine: Engine) -> None:
    user_id, old_key = engine.proxy.new_admin_key()
    written = await engine.host.write("config", {"url": engine.proxy.url, "admin_key": old_key})
    assert written.ok, written.errors
    await engine.role()
    before = await engine.creds()
    assert before.data is not None

    rotated = await engine.host.write("rotate-root", {})
    assert rotated.ok, rotated.errors
    assert rotated.data is not None
    assert rotated.data["previous_key_deleted"] is True
    assert rotated.data["admin_user_id"] == user_id
    assert "admin_key" not in rotated.data
    new_key = await _stored_admin_key(engine)
    assert new_key != old_key
    assert old_key not in json.dumps(rotated.data)
    assert new_key not in json.dumps(rotated.data)

    assert engine.proxy.status(old_key) in ("deleted", "missing")
    assert engine.proxy.chat(old_key) == 401
    info = engine.proxy.admin.key_info(new_key)
    assert info.user_id == user_id

    renewed = await engine.host.renew(before.lease_id, 600)
    assert renewed.ok, renewed.errors
    after = await engine.creds()
    assert (await engine.host.revoke(before.lease_id)).ok
    assert (await engine.host.revoke(after.lease_id)).ok
    assert engine.proxy.chat(before.data["key"]) == 401
    engine.proxy.admin.delete_keys([new_key], missing_ok=True)


async def test_a_failed_rotation_keeps_the_stored_key_and_leaves_no_successor(
    engine: Engine,
) -> None:
    user_id, old_key = engine.proxy.new_admin_key()
    assert (await engine.host.write("config", {"url": engine.proxy.url, "admin_key": old_key})).ok
    # The successor cannot prove itself if the proxy refuses the alias the engine picks; make
    # the mint itself fail instead, by pointing the engine at a proxy that is not there.
    assert (
        await engine.host.write("config", {"url": "http://127.0.0.1:9", "verify_connection": False})
    ).ok
    failed = await engine.host.write("rotate-root", {})
    assert failed.status >= 400
    assert await _stored_admin_key(engine) == old_key
    assert not [k for k in engine.stored() if k.startswith("wal/")]
    assert (await engine.host.write("config", {"url": engine.proxy.url})).ok
    successors = [
        k.token
        for k in engine.proxy.admin.list_keys(user_id=user_id)
        if k.token is not None and (k.metadata or {}).get("vault_admin_key_of")
    ]
    assert successors == []
    assert engine.proxy.status(old_key) == "active"
    engine.proxy.admin.delete_keys([old_key], missing_ok=True)
