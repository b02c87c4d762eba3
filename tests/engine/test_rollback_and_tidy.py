"""Keys no lease holds: write-ahead rollback after a crash, and ``tidy``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from litellm_client import AsyncLiteLLMClient, hash_key, new_raw_key
from vault_plugin_litellm.engine import key_index, limits, path_tidy, proxy, wal_kinds
from vault_plugin_litellm.engine.wal_kinds import INSTANCE, KEY_WAL, wal_data
from vault_plugin_litellm.sdk.framework import WAL_PREFIX, delete_wal, list_wal, put_wal
from vault_plugin_litellm.sdk.logical import Storage, StorageEntry, utcnow

from .conftest import MODEL, Engine


def _plant(engine: Engine, *, stamped: bool = True, alias_prefix: str = "planted") -> str:
    """A key created behind the engine's back (as a crash would leave it); its token."""
    metadata: dict[str, Any] = {"purpose": "test"}
    if stamped:
        metadata.update(vault_backend_uuid=engine.backend.backend_uuid, vault_role="dev")
    minted = engine.proxy.admin.generate_key(
        key=new_raw_key(),
        key_alias=f"{alias_prefix}-{new_raw_key()[3:15]}",
        models=[MODEL],
        duration="30m",
        metadata=metadata,
    )
    return minted.token


async def test_rollback_deletes_the_key_of_a_mint_a_crash_cut_short(engine: Engine) -> None:
    await engine.configure()
    token = _plant(engine)
    data = {**wal_data(token, role="dev"), "instance": "a-process-that-died"}
    await put_wal(engine.host.storage, KEY_WAL, data, created_at=int(time.time()) - 5)
    await key_index.record_key(engine.host.storage, token, role="dev")
    await engine.host.rollback()
    assert engine.proxy.status(token) in ("deleted", "missing")
    assert await list_wal(engine.host.storage) == []
    assert token not in await key_index.indexed_tokens(engine.host.storage)


async def test_rollback_leaves_a_mint_of_this_process_alone_while_it_may_run(
    engine: Engine,
) -> None:
    await engine.configure()
    token = _plant(engine)
    data = {**wal_data(token), "instance": INSTANCE}
    await put_wal(engine.host.storage, KEY_WAL, data, created_at=int(time.time()) - 5)
    await engine.host.rollback()
    assert engine.proxy.status(token) == "active"
    assert len(await list_wal(engine.host.storage)) == 1
    engine.proxy.admin.delete_keys([token])


async def test_tidy_deletes_a_planted_orphan_and_nothing_else(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    held = await engine.creds()
    assert held.data is not None
    orphan = _plant(engine)
    stranger = _plant(engine, stamped=False, alias_prefix="not-ours")
    try:
        dry = await engine.host.write("tidy", {"dry_run": True, "safety_buffer": "30s"})
        assert dry.ok, dry.errors
        assert dry.data is not None
        # Too young for the safety buffer: nothing is touched yet.
        assert dry.data["found_count"] == 0
        assert engine.proxy.status(orphan) == "active"

        found = await _tidy(engine, dry_run=True, safety_buffer=0)
        assert [f["token"] for f in found["found"]] == [orphan]
        assert found["found"][0]["reason"].startswith("no lease holds it")
        assert found["deleted"] == 0
        assert engine.proxy.status(orphan) == "active"

        done = await _tidy(engine, dry_run=False, safety_buffer=0)
        assert done["deleted"] == 1
        assert engine.proxy.status(orphan) in ("deleted", "missing")
        assert engine.proxy.status(held.data["token"]) == "active"
        assert engine.proxy.status(stranger) == "active"
        assert engine.proxy.chat(held.data["key"]) == 200
        status = (await engine.host.read("tidy")).data
        assert status is not None
        assert status["deleted"] == 1
    finally:
        engine.proxy.admin.delete_keys([stranger, orphan], missing_ok=True)


async def _tidy(engine: Engine, **body: Any) -> dict[str, Any]:
    response = await engine.host.write("tidy", body)
    assert response.ok, response.errors
    assert response.data is not None
    return response.data


async def test_tidy_finishes_revocations_the_host_gave_up_on(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    assert (
        await engine.host.write("config", {"url": "http://127.0.0.1:9", "verify_connection": False})
    ).ok
    assert not (await engine.host.revoke(minted.lease_id)).ok
    del engine.host.leases[minted.lease_id]  # revoke-force
    assert (await engine.host.write("config", {"url": engine.proxy.url})).ok
    report = await engine.host.write("tidy", {})
    assert report.ok
    assert report.data is not None
    assert report.data["deleted"] == 1
    assert [f["reason"] for f in report.data["found"]] == [
        "its revocation failed and is still owed"
    ]
    assert engine.proxy.chat(minted.data["key"]) == 401
    assert await key_index.pending_tokens(engine.host.storage) == []


async def test_tidy_refuses_bad_input_and_needs_a_config(engine: Engine) -> None:
    unconfigured = await engine.host.write("tidy", {})
    assert unconfigured.status == 400
    await engine.configure()
    for body in ({"safety_buffer": "-1s"}, {"safety_buffer": "30d"}, {"dry_run": "perhaps"}):
        refused = await engine.host.write("tidy", body)
        assert refused.status == 400
        assert "safety_buffer" in refused.error or "dry_run" in refused.error


async def test_tidy_spares_a_key_whose_mint_finishes_while_tidy_reads_its_records(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mint writes its write-ahead entry, records the key in the index while creating it,
    # and removes the entry last. Here it finishes between tidy's listing and its reads of
    # the engine's records, right after the index was read: the key has a lease now.
    await engine.configure()
    token = _plant(engine)
    storage = engine.host.storage
    wal_id = await put_wal(
        storage, KEY_WAL, wal_data(token, role="dev"), clock=engine.backend.clock
    )
    read_index = key_index.indexed_tokens

    async def mint_finishes_meanwhile(store: Storage) -> set[str]:
        seen = await read_index(store)
        await key_index.record_key(store, token, role="dev")
        await delete_wal(store, wal_id)
        return seen

    monkeypatch.setattr(key_index, "indexed_tokens", mint_finishes_meanwhile)
    try:
        report = await _tidy(engine, safety_buffer=0)
        assert report["found_count"] == 0
        assert engine.proxy.status(token) == "active"
    finally:
        engine.proxy.admin.delete_keys([token], missing_ok=True)


async def test_tidy_spares_the_key_of_a_live_lease_when_this_clock_runs_ahead(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteLLM's expiry is a time on the proxy's clock; this host's clock is 5 minutes ahead.
    await engine.configure()
    await engine.role(ttl="1m")
    minted = await engine.creds()
    assert minted.data is not None
    monkeypatch.setattr(path_tidy, "utcnow", lambda: utcnow() + timedelta(minutes=5))
    report = await _tidy(engine, safety_buffer=0)
    assert report["found_count"] == 0
    assert engine.proxy.chat(minted.data["key"]) == 200


async def test_tidy_names_the_proxy_when_it_cannot_roll_back_a_cut_short_mint(
    engine: Engine,
) -> None:
    await engine.configure()
    data = {**wal_data(hash_key(new_raw_key())), "instance": "a-process-that-died"}
    await put_wal(engine.host.storage, KEY_WAL, data, created_at=int(time.time()) - 5)
    dead = "http://127.0.0.1:9"
    assert (await engine.host.write("config", {"url": dead, "verify_connection": False})).ok
    failed = await engine.host.write("tidy", {})
    assert failed.status == 500
    assert f"LiteLLM proxy at {dead}" in failed.error
    assert len(await list_wal(engine.host.storage)) == 1  # rolled back once the proxy is back


async def test_a_proxy_too_large_to_list_in_time_is_tidied_in_part(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Listing a proxy of tens of thousands of keys outlasts the operation's deadline; stand in
    # for one with a short deadline and a slow listing.
    await engine.configure()
    strangers = [_plant(engine, stamped=False, alias_prefix="not-ours") for _ in range(6)]
    monkeypatch.setattr(proxy, "OPERATION_DEADLINE", timedelta(seconds=3))
    monkeypatch.setattr(limits, "TIDY_LISTING_TIME", timedelta(seconds=1))
    listing = AsyncLiteLLMClient.list_keys

    def slowly(self: AsyncLiteLLMClient, **query: Any) -> AsyncIterator[Any]:
        async def keys() -> AsyncIterator[Any]:
            async for key in listing(self, **query):
                await asyncio.sleep(0.6)
                yield key

        return keys()

    monkeypatch.setattr(AsyncLiteLLMClient, "list_keys", slowly)
    try:
        report = await _tidy(engine, safety_buffer=0)
        assert report["complete"] is False
        assert 1 <= report["scanned"] < len(strangers)
    finally:
        engine.proxy.admin.delete_keys(strangers, missing_ok=True)


async def test_tidy_keeps_the_index_entry_of_a_key_still_being_created(engine: Engine) -> None:
    # The index entry is written while the proxy creates the key: the key may not exist yet.
    # Dropped, the key would be unheld once created, and the next tidy would delete it.
    await engine.configure()
    token = hash_key(new_raw_key())
    storage = engine.host.storage
    await put_wal(storage, KEY_WAL, wal_data(token, role="dev"), clock=engine.backend.clock)
    await key_index.record_key(storage, token, role="dev")
    report = await _tidy(engine, safety_buffer=0)
    assert report["stale_index_entries"] == 0
    assert token in await key_index.indexed_tokens(storage)


async def test_a_wall_clock_jump_does_not_roll_back_a_mint_still_running(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An NTP step of ten minutes while a mint of this process runs.
    await engine.configure()
    token = _plant(engine)
    await put_wal(engine.host.storage, KEY_WAL, wal_data(token), created_at=int(time.time()) - 5)

    class Jumped:
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def time() -> float:
            return time.time() + 600

    monkeypatch.setattr(wal_kinds, "time", Jumped)
    try:
        await engine.host.rollback()
        assert engine.proxy.status(token) == "active"
        assert len(await list_wal(engine.host.storage)) == 1
    finally:
        engine.proxy.admin.delete_keys([token], missing_ok=True)


async def test_tidy_drops_the_index_entry_of_a_key_deleted_behind_its_back(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    token = minted.data["token"]
    engine.proxy.admin.delete_keys([token])
    report = await _tidy(engine, safety_buffer=0)
    assert report["stale_index_entries"] == 1
    assert token not in await key_index.indexed_tokens(engine.host.storage)
    assert (await engine.host.revoke(minted.lease_id)).ok  # already gone counts as revoked


async def test_an_unreadable_write_ahead_entry_does_not_stop_tidy(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    orphan = _plant(engine)
    await engine.host.storage.put(StorageEntry(WAL_PREFIX + "broken", b"{not json"))
    odd = b'{"type": "litellm_key", "data": {}, "created_at": []}'
    await engine.host.storage.put(StorageEntry(WAL_PREFIX + "odd", odd))
    try:
        done = await _tidy(engine, dry_run=False, safety_buffer=0)
        assert done["deleted"] == 1
        assert engine.proxy.gone(orphan)
    finally:
        engine.proxy.admin.delete_keys([orphan], missing_ok=True)
