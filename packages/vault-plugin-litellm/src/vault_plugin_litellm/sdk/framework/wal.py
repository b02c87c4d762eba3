"""A write-ahead log for multi-step work that may be cut short (Go's ``framework`` WAL).

Before a backend creates something outside the host (an upstream key, say) it writes a WAL
entry describing how to undo it, and deletes the entry once the result is safely stored or
handed out. If the process dies in between, the host's periodic ``rollback`` finds the entry
and the backend's rollback callback undoes the half-done work.

Entries use Go's layout (``wal/<uuid>`` holding ``{"type", "data", "created_at"}``, Unix
seconds), so a Go and a Python backend could read each other's log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vault_plugin_litellm.sdk.logical import Request, Storage, StorageEntry

WAL_PREFIX = "wal/"
DEFAULT_MIN_AGE = timedelta(minutes=10)

WALRollbackFunc = Callable[[Request, str, Any], Awaitable[None]]
"""Undo the work one entry describes: ``(request, kind, data)``; raise if it failed."""


@dataclass(frozen=True, slots=True)
class WALEntry:
    id: str
    kind: str
    data: Any
    created_at: int  # Unix seconds


async def put_wal(storage: Storage, kind: str, data: Any, *, created_at: int | None = None) -> str:
    """Write an entry and return its id; ``data`` must be JSON-serialisable."""
    entry_id = str(uuid.uuid4())
    stamp = int(time.time()) if created_at is None else created_at
    value = json.dumps(
        {"type": kind, "data": data, "created_at": stamp}, separators=(",", ":"), allow_nan=False
    ).encode()
    await storage.put(StorageEntry(WAL_PREFIX + entry_id, value))
    return entry_id


async def get_wal(storage: Storage, entry_id: str) -> WALEntry | None:
    entry = await storage.get(WAL_PREFIX + entry_id)
    if entry is None:
        return None
    raw = json.loads(entry.value)
    if not isinstance(raw, dict):
        raise ValueError(f"WAL entry {entry_id} is not a JSON object")
    return WALEntry(
        id=entry_id,
        kind=str(raw.get("type", "")),
        data=raw.get("data"),
        created_at=int(raw.get("created_at", 0)),
    )


async def delete_wal(storage: Storage, entry_id: str) -> None:
    """Mark the work an entry guards as finished (it will not be rolled back)."""
    await storage.delete(WAL_PREFIX + entry_id)


async def list_wal(storage: Storage) -> list[str]:
    return [key for key in await storage.list(WAL_PREFIX) if not key.endswith("/")]


async def rollback_wal(
    req: Request,
    rollback: WALRollbackFunc,
    *,
    min_age: timedelta,
    now: float | None = None,
) -> list[str]:
    """Roll back every entry older than ``min_age`` (all of them when the request data has
    an ``immediate`` key, whatever its value); return the failures as messages.

    Entries rolled back successfully are deleted; failed ones stay for the next tick.
    """
    storage = req.storage
    current = time.time() if now is None else now
    cutoff = current - min_age.total_seconds()
    if "immediate" in req.data:
        cutoff = current + 1000 * 3600
    failures: list[str] = []
    for entry_id in await list_wal(storage):
        try:
            entry = await get_wal(storage, entry_id)
        except Exception as exc:  # a broken entry must not stop the others
            failures.append(f"error reading WAL entry {entry_id}: {exc}")
            continue
        if entry is None or not entry.created_at < cutoff:
            continue
        try:
            await rollback(req, entry.kind, entry.data)
        except Exception as exc:
            failures.append(f'error rolling back "{entry.kind}" entry: {exc}')
            continue
        try:
            await delete_wal(storage, entry_id)
        except Exception as exc:
            failures.append(f"error deleting WAL entry {entry_id}: {exc}")
    return failures
