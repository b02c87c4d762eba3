"""The ``litellm_key`` lease: renew moves LiteLLM's expiry, revoke deletes the key, and a
revocation that fails is remembered and finished later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vault_plugin_litellm.engine import key_index
from vault_plugin_litellm.engine.expiry import EXPIRY_GRACE

from .conftest import MODEL, Engine

DEAD_URL = "http://127.0.0.1:9"


def _expires(engine: Engine, token: str) -> datetime:
    info = engine.proxy.admin.key_info(token)
    assert info.expires is not None
    return info.expires


async def test_renew_moves_the_expiry_with_the_lease(engine: Engine) -> None:
    await engine.configure()
    await engine.role(ttl="5m", max_ttl="2h")
    minted = await engine.creds()
    assert minted.data is not None
    token = minted.data["token"]
    first = _expires(engine, token)
    renewed = await engine.host.renew(minted.lease_id, 3600)
    assert renewed.ok, renewed.errors
    assert renewed.lease_duration == 3600
    moved = _expires(engine, token)
    now = datetime.now(UTC)
    assert moved > first + timedelta(minutes=50)
    assert now + timedelta(seconds=3600) - timedelta(seconds=5) <= moved
    assert moved <= now + timedelta(seconds=3600) + EXPIRY_GRACE + timedelta(seconds=5)
    assert renewed.data is not None
    assert "key" not in renewed.data
    assert engine.proxy.chat(minted.data["key"], MODEL) == 200


async def test_renew_is_capped_at_max_ttl_from_issue(engine: Engine) -> None:
    await engine.configure()
    await engine.role(ttl="5m", max_ttl="10m")
    minted = await engine.creds()
    assert minted.data is not None
    renewed = await engine.host.renew(minted.lease_id, 7200)
    assert renewed.ok
    assert renewed.lease_duration <= 600
    expires = _expires(engine, minted.data["token"])
    issued = minted.secret.lease_options.issue_time  # type: ignore[union-attr]
    assert issued is not None
    assert expires <= issued + timedelta(minutes=10) + timedelta(seconds=5)
    engine.host.advance(timedelta(minutes=11))
    past = await engine.host.renew(minted.lease_id, 60)
    assert past.status == 400


async def test_renew_after_the_role_is_deleted_is_refused(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    await engine.host.delete("roles/dev")
    refused = await engine.host.renew(minted.lease_id, 60)
    assert refused.status == 400
    assert "no longer exists" in refused.error
    assert (await engine.host.revoke(minted.lease_id)).ok


async def test_renew_of_a_key_deleted_outside_is_refused_not_recreated(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    engine.proxy.admin.delete_keys([minted.data["token"]])
    refused = await engine.host.renew(minted.lease_id, 60)
    assert refused.status == 400
    assert "no longer exists" in refused.error
    assert engine.proxy.status(minted.data["token"]) in ("deleted", "missing")
    assert (await engine.host.revoke(minted.lease_id)).ok  # already gone counts as revoked


async def test_revoke_deletes_the_key_and_its_index_entry(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    key, token = minted.data["key"], minted.data["token"]
    assert (await engine.host.revoke(minted.lease_id)).ok
    assert engine.proxy.chat(key) == 401
    assert engine.proxy.status(token) in ("deleted", "missing")
    assert token not in await key_index.indexed_tokens(engine.host.storage)


async def test_expiry_revokes_through_the_engine(engine: Engine) -> None:
    await engine.configure()
    await engine.role(ttl="1m")
    minted = await engine.creds()
    assert minted.data is not None
    engine.host.advance(timedelta(minutes=2))
    (expired,) = await engine.host.expire()
    assert expired.ok
    assert engine.proxy.chat(minted.data["key"]) == 401


async def test_a_failed_revocation_is_remembered_and_finished_later(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    token = minted.data["token"]
    assert (await engine.host.write("config", {"url": DEAD_URL, "verify_connection": False})).ok
    failed = await engine.host.revoke(minted.lease_id)
    assert failed.status == 500
    assert DEAD_URL in failed.error
    assert minted.lease_id in engine.host.leases  # the host keeps the lease and retries
    owed = await key_index.read_pending(engine.host.storage, token)
    assert owed is not None
    assert owed.attempts == 1
    assert owed.role == "dev"
    # The operator forces the lease away (revoke-force): only the engine remembers the key.
    del engine.host.leases[minted.lease_id]
    await engine.host.rollback()
    owed = await key_index.read_pending(engine.host.storage, token)
    assert owed is not None
    assert owed.attempts == 2
    assert engine.proxy.chat(minted.data["key"]) == 200
    assert (await engine.host.write("config", {"url": engine.proxy.url})).ok
    await engine.host.rollback()
    assert await key_index.read_pending(engine.host.storage, token) is None
    assert engine.proxy.chat(minted.data["key"]) == 401
    assert token not in await key_index.indexed_tokens(engine.host.storage)


async def test_a_retried_revocation_that_succeeds_clears_the_debt(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    assert (await engine.host.write("config", {"url": DEAD_URL, "verify_connection": False})).ok
    assert not (await engine.host.revoke(minted.lease_id)).ok
    assert (await engine.host.write("config", {"url": engine.proxy.url})).ok
    assert (await engine.host.revoke(minted.lease_id)).ok
    assert await key_index.pending_tokens(engine.host.storage) == []
