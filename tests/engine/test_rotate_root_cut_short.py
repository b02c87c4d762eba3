"""``rotate-root`` cut short once the successor is stored, and config writes during a rotation:
the old admin key is always deleted in the end, and no write is lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from litellm_client import AsyncLiteLLMClient, KeyInfo, KeyStatus, hash_key
from vault_plugin_litellm.engine import key_index, path_rotate_root, proxy
from vault_plugin_litellm.engine.config import CONFIG_KEY
from vault_plugin_litellm.sdk.framework import WAL_PREFIX, list_wal
from vault_plugin_litellm.sdk.logical import StorageEntry

from .conftest import Engine


async def _stored_config(engine: Engine) -> dict[str, Any]:
    entry = await engine.host.storage.get(CONFIG_KEY)
    assert entry is not None
    config = json.loads(entry.value)
    assert isinstance(config, dict)
    return config


async def _configure_virtual_key(engine: Engine) -> str:
    _, old_key = engine.proxy.new_admin_key()
    written = await engine.host.write("config", {"url": engine.proxy.url, "admin_key": old_key})
    assert written.ok, written.errors
    return old_key


async def _orphan_write_ahead_entries(engine: Engine) -> None:
    """Make this process's write-ahead entries look like those of a process that died."""
    storage = engine.host.storage
    for entry_id in await list_wal(storage):
        entry = await storage.get(WAL_PREFIX + entry_id)
        assert entry is not None
        raw = json.loads(entry.value)
        raw["data"]["instance"] = "a-process-that-died"
        await storage.put(StorageEntry(WAL_PREFIX + entry_id, json.dumps(raw).encode()))


def _hold(
    monkeypatch: pytest.MonkeyPatch, name: str, step: Callable[..., Awaitable[None]]
) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold rotate-root at ``step`` (its function ``name``): set when it is reached, and set to
    let it go on."""
    reached, proceed = asyncio.Event(), asyncio.Event()

    async def held(*args: Any) -> None:
        reached.set()
        await proceed.wait()
        await step(*args)

    monkeypatch.setattr(path_rotate_root, name, held)
    return reached, proceed


async def test_cut_short_while_deleting_the_old_key(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = await _configure_virtual_key(engine)

    async def cancelled(*args: Any) -> None:
        raise asyncio.CancelledError

    monkeypatch.setattr(path_rotate_root, "delete_tokens", cancelled)
    with pytest.raises(asyncio.CancelledError):
        await engine.host.write("rotate-root", {})
    monkeypatch.undo()
    new_key = (await _stored_config(engine))["admin_key"]
    try:
        assert new_key != old_key
        assert engine.proxy.status(old_key) == "active"
        await engine.host.rollback()
        assert engine.proxy.status(old_key) in ("deleted", "missing")
        assert await key_index.pending_tokens(engine.host.storage) == []
        assert engine.proxy.status(new_key) == "active"
    finally:
        engine.proxy.admin.delete_keys([old_key, new_key], missing_ok=True)


async def test_crash_right_after_the_successor_is_stored(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = await _configure_virtual_key(engine)
    store = engine.backend.put_config

    async def stored_then_crashed(*args: Any) -> None:
        await store(*args)
        raise asyncio.CancelledError

    monkeypatch.setattr(engine.backend, "put_config", stored_then_crashed)
    with pytest.raises(asyncio.CancelledError):
        await engine.host.write("rotate-root", {})
    monkeypatch.undo()
    new_key = (await _stored_config(engine))["admin_key"]
    try:
        assert new_key != old_key
        await _orphan_write_ahead_entries(engine)
        engine.host.advance(timedelta(seconds=2))  # past the framework's one-second age gate
        await engine.host.rollback()  # the successor is the admin key: the old one is owed
        await engine.host.rollback()  # the owed deletion
        assert engine.proxy.status(old_key) in ("deleted", "missing")
        assert engine.proxy.status(new_key) == "active"
        assert await list_wal(engine.host.storage) == []
    finally:
        engine.proxy.admin.delete_keys([old_key, new_key], missing_ok=True)


async def test_a_config_write_during_a_rotation_is_not_lost(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = await _configure_virtual_key(engine)
    proving, proceed = _hold(monkeypatch, "_prove", path_rotate_root._prove)
    rotation = asyncio.create_task(engine.host.write("rotate-root", {}))
    await proving.wait()
    write = asyncio.create_task(
        engine.host.write("config", {"tidy_interval": "1h", "verify_connection": False})
    )
    await asyncio.wait({write}, timeout=1)  # as far as it gets while the rotation runs
    proceed.set()
    rotated, written = await rotation, await write
    assert rotated.ok, rotated.errors
    assert written.ok, written.errors
    stored = await _stored_config(engine)
    try:
        assert stored["admin_key"] != old_key
        assert stored["tidy_interval"] == 3600
    finally:
        engine.proxy.admin.delete_keys([old_key, stored["admin_key"]], missing_ok=True)


async def test_the_admin_key_in_use_is_never_deleted_as_owed(engine: Engine) -> None:
    # E.g. the replaced key written back to config before its owed deletion happened.
    admin_key = await _configure_virtual_key(engine)
    try:
        await key_index.owe_revocation(
            engine.host.storage,
            hash_key(admin_key),
            alias="",
            role="",
            kind="admin_key",
            reason="rotate-root replaced it",
        )
        await engine.host.rollback()
        assert (await engine.host.write("tidy", {})).ok
        assert engine.proxy.status(admin_key) == "active"
    finally:
        engine.proxy.admin.delete_keys([admin_key], missing_ok=True)


async def test_a_rollback_tick_leaves_the_old_key_to_the_rotation_in_progress(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Owed from the moment the successor is stored, the old key is the rotation's to delete once
    # the requests still using it are done; a tick meanwhile would cut them off.
    old_key = await _configure_virtual_key(engine)
    deleting, proceed = _hold(monkeypatch, "delete_tokens", proxy.delete_tokens)
    rotation = asyncio.create_task(engine.host.write("rotate-root", {}))
    await deleting.wait()
    try:
        assert await key_index.pending_tokens(engine.host.storage) == [hash_key(old_key)]
        await engine.host.rollback()
        assert engine.proxy.status(old_key) == "active"
    finally:
        proceed.set()
        rotated = await rotation
    assert rotated.ok, rotated.errors
    assert rotated.data is not None
    assert rotated.data["previous_key_deleted"] is True
    assert engine.proxy.status(old_key) in ("deleted", "missing")
    assert await key_index.pending_tokens(engine.host.storage) == []
    engine.proxy.admin.delete_keys([(await _stored_config(engine))["admin_key"]], missing_ok=True)


async def test_an_admin_key_whose_own_row_is_not_active_is_a_403(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # E.g. blocked between authenticating and reading its own row.
    admin_key = await _configure_virtual_key(engine)
    original = AsyncLiteLLMClient.key_info

    async def blocked(self: AsyncLiteLLMClient, key: str) -> KeyInfo:
        info = await original(self, key)
        return info.model_copy(update={"status": KeyStatus.REVOKED})

    monkeypatch.setattr(AsyncLiteLLMClient, "key_info", blocked)
    try:
        refused = await engine.host.write("rotate-root", {})
        assert refused.status == 403, refused.errors
        assert "revoked" in refused.error
        assert "config" in refused.error
    finally:
        engine.proxy.admin.delete_keys([admin_key], missing_ok=True)
