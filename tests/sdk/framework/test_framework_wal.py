"""The write-ahead log: Go's storage layout, the age gate, ``immediate`` and failures."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vault_plugin_litellm.sdk.framework import (
    delete_wal,
    get_wal,
    list_wal,
    put_wal,
    rollback_wal,
)
from vault_plugin_litellm.sdk.framework.wal import failure_text
from vault_plugin_litellm.sdk.logical import (
    InMemoryStorage,
    LogicalError,
    Operation,
    Request,
    StorageEntry,
)


async def test_entries_use_gos_layout() -> None:
    storage = InMemoryStorage()
    entry_id = await put_wal(storage, "user", {"name": "u1"}, created_at=1700000000)
    assert storage.keys() == [f"wal/{entry_id}"]
    stored = await storage.get(f"wal/{entry_id}")
    assert stored is not None
    assert json.loads(stored.value) == {
        "type": "user",
        "data": {"name": "u1"},
        "created_at": 1700000000,
    }
    entry = await get_wal(storage, entry_id)
    assert entry is not None
    assert (entry.id, entry.kind, entry.data, entry.created_at) == (
        entry_id,
        "user",
        {"name": "u1"},
        1700000000,
    )
    assert await list_wal(storage) == [entry_id]
    await delete_wal(storage, entry_id)
    assert await get_wal(storage, entry_id) is None
    assert await list_wal(storage) == []


async def test_entries_written_by_a_go_plugin_are_read() -> None:
    storage = InMemoryStorage()
    go_json = b'{"type":"key","data":["a",1],"created_at":12}'
    await storage.put(StorageEntry("wal/0f9e5a8c-1111-2222-3333-444455556666", go_json))
    entry = await get_wal(storage, "0f9e5a8c-1111-2222-3333-444455556666")
    assert entry is not None
    assert (entry.kind, entry.data, entry.created_at) == ("key", ["a", 1], 12)


class Undo:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.done: list[tuple[str, Any]] = []
        self.failing = failing or set()

    async def __call__(self, req: Request, kind: str, data: Any) -> None:
        if kind in self.failing:
            raise RuntimeError("upstream down")
        self.done.append((kind, data))


def _tick(storage: InMemoryStorage, data: dict[str, Any] | None = None) -> Request:
    return Request(operation=Operation.ROLLBACK, path="", data=data or {}, storage=storage)


async def test_only_entries_older_than_the_minimum_age_are_rolled_back() -> None:
    storage = InMemoryStorage()
    now = 10_000.5
    await put_wal(storage, "old", 1, created_at=9_000)
    await put_wal(storage, "edge", 2, created_at=9_400)  # now - 600.5: strictly older
    await put_wal(storage, "young", 3, created_at=9_401)
    undo = Undo()
    failures = await rollback_wal(_tick(storage), undo, min_age=timedelta(minutes=10), now=now)
    assert failures == []
    assert sorted(undo.done) == [("edge", 2), ("old", 1)]
    remaining = [await get_wal(storage, key) for key in await list_wal(storage)]
    assert [entry.kind for entry in remaining if entry] == ["young"]


async def test_immediate_key_skips_the_age_gate_whatever_its_value() -> None:
    storage = InMemoryStorage()
    await put_wal(storage, "fresh", None, created_at=10_000)
    undo = Undo()
    await rollback_wal(
        _tick(storage, {"immediate": False}), undo, min_age=timedelta(minutes=10), now=10_000
    )
    assert undo.done == [("fresh", None)]
    assert await list_wal(storage) == []


async def test_failures_are_reported_and_kept() -> None:
    storage = InMemoryStorage()
    await put_wal(storage, "bad", None, created_at=0)
    await put_wal(storage, "good", None, created_at=0)
    await storage.put(StorageEntry("wal/broken", b"not json"))
    undo = Undo(failing={"bad"})
    failures = await rollback_wal(_tick(storage), undo, min_age=timedelta(seconds=1), now=100)
    hidden = "internal error ({}); see the plugin log"
    assert sorted(failures) == [
        "error reading WAL entry broken: " + hidden.format("JSONDecodeError"),
        'error rolling back "bad" entry: ' + hidden.format("RuntimeError"),
    ]
    assert undo.done == [("good", None)]
    assert len(await list_wal(storage)) == 2


async def test_failure_details_go_to_the_log_and_logical_errors_to_the_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = InMemoryStorage()
    await put_wal(storage, "raised", None, created_at=0)
    await put_wal(storage, "said", None, created_at=0)

    async def undo(req: Request, kind: str, data: Any) -> None:
        if kind == "said":
            raise LogicalError("the key was already gone")
        raise RuntimeError("upstream said sk-live-key is invalid")

    logger = logging.getLogger("wal-test")
    caplog.set_level(logging.ERROR, logger="wal-test")
    failures = await rollback_wal(
        _tick(storage), undo, min_age=timedelta(seconds=1), now=100, logger=logger
    )
    assert sorted(failures) == [
        'error rolling back "raised" entry: internal error (RuntimeError); see the plugin log',
        'error rolling back "said" entry: the key was already gone',
    ]
    assert "sk-live-key" in caplog.text
    assert all(record.name == "wal-test" for record in caplog.records)


def test_failure_text() -> None:
    assert failure_text(LogicalError("shown")) == "shown"
    assert failure_text(KeyError("hidden")) == "internal error (KeyError); see the plugin log"


async def test_entries_are_stamped_by_the_given_clock() -> None:
    storage = InMemoryStorage()
    then = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    entry_id = await put_wal(storage, "k", None, clock=lambda: then)
    entry = await get_wal(storage, entry_id)
    assert entry is not None
    assert entry.created_at == int(then.timestamp())
    explicit = await put_wal(storage, "k", None, created_at=5, clock=lambda: then)
    assert (await get_wal(storage, explicit)).created_at == 5  # type: ignore[union-attr]
