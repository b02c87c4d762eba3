"""A write-ahead log for multi-step work that may be cut short (Go's ``framework`` WAL).

Before a backend creates something outside the host (an upstream key, say) it writes a WAL
entry describing how to undo it, and deletes the entry once the result is safely stored or
handed out. If the process dies in between, the host's periodic ``rollback`` finds the entry
and the backend's rollback callback undoes the half-done work.

Entries use Go's layout (``wal/<uuid>`` holding ``{"type", "data", "created_at"}``, Unix
seconds), so a Go and a Python backend could read each other's log.

Failures travel back to the host as text, so only a :class:`LogicalError`'s message is
passed on; any other exception is reported by its type name and logged in full (the
plugin's log handler redacts secrets, an error reply would not).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vault_plugin_litellm.sdk.logical import LogicalError, Request, Storage, StorageEntry

WAL_PREFIX = "wal/"
DEFAULT_MIN_AGE = timedelta(minutes=10)

WALRollbackFunc = Callable[[Request, str, Any], Awaitable[None]]
"""Undo the work one entry describes: ``(request, kind, data)``; raise if it failed (a
:class:`LogicalError` to have its message reported to the host), or raise
:class:`RollbackDeferred` to keep the entry for a later tick without reporting a failure."""


class RollbackDeferred(Exception):
    """Raised by a rollback callback: the entry may still belong to work in progress (it is
    younger than the callback's own age gate), so it is kept, and no failure is reported."""


_log = logging.getLogger(__name__)


def failure_text(exc: BaseException) -> str:
    """What the host may be told about a failure: a :class:`LogicalError`'s message, or
    only the exception's type, whose text could carry a secret (it goes to the log)."""
    if isinstance(exc, LogicalError):
        return exc.message
    return f"internal error ({type(exc).__name__}); see the plugin log"


@dataclass(frozen=True, slots=True)
class WALEntry:
    id: str
    kind: str
    data: Any
    created_at: int  # Unix seconds


async def put_wal(
    storage: Storage,
    kind: str,
    data: Any,
    *,
    created_at: int | None = None,
    clock: Callable[[], datetime] | None = None,
) -> str:
    """Write an entry and return its id; ``data`` must be JSON-serialisable.

    The entry is stamped ``created_at`` if given, else with ``clock`` (pass the backend's
    :attr:`~.backend.Backend.clock`, which the rollback age gate reads too, so that a test
    harness's clock ages entries consistently), else with the wall clock.
    """
    entry_id = str(uuid.uuid4())
    if created_at is not None:
        stamp = created_at
    elif clock is not None:
        stamp = int(clock().timestamp())
    else:
        stamp = int(time.time())
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
    created_at = raw.get("created_at", 0)
    if not isinstance(created_at, int | float) or isinstance(created_at, bool):
        raise ValueError(f"WAL entry {entry_id}: created_at is not a number")
    return WALEntry(
        id=entry_id,
        kind=str(raw.get("type", "")),
        data=raw.get("data"),
        created_at=int(created_at),
    )


async def delete_wal(storage: Storage, entry_id: str) -> None:
    """Mark the work an entry guards as finished (it will not be rolled back)."""
    await storage.delete(WAL_PREFIX + entry_id)


async def list_wal(storage: Storage) -> list[str]:
    return [key for key in await storage.list(WAL_PREFIX) if not key.endswith("/")]


async def readable_wal(storage: Storage) -> AsyncIterator[WALEntry]:
    """Every entry that can be read, for work that must go on past a malformed one (entries
    are written whole, so such an entry guards nothing that could still finish). A storage
    error still stops the walk; :func:`rollback_wal` instead reports every entry it cannot
    read, on every tick."""
    for entry_id in await list_wal(storage):
        try:
            entry = await get_wal(storage, entry_id)
        except ValueError:
            _log.warning("skipping the unreadable WAL entry %s", entry_id)
            continue
        if entry is not None:
            yield entry


async def rollback_wal(
    req: Request,
    rollback: WALRollbackFunc,
    *,
    min_age: timedelta,
    now: float | None = None,
    logger: logging.Logger | None = None,
) -> list[str]:
    """Roll back every entry older than ``min_age`` (all of them when the request data has
    an ``immediate`` key, whatever its value); return the failures as messages fit for the
    host (see :func:`failure_text`), having logged each in full to ``logger``.

    Entries rolled back successfully are deleted; failed ones stay for the next tick.
    """
    log = logger or _log
    storage = req.storage
    current = time.time() if now is None else now
    cutoff = current - min_age.total_seconds()
    if "immediate" in req.data:
        cutoff = current + 1000 * 3600
    failures: list[str] = []

    def failed(message: str, exc: Exception) -> None:
        log.error("WAL rollback: %s", message, exc_info=exc)
        failures.append(f"{message}: {failure_text(exc)}")

    for entry_id in await list_wal(storage):
        try:
            entry = await get_wal(storage, entry_id)
        except Exception as exc:  # a broken entry must not stop the others
            failed(f"error reading WAL entry {entry_id}", exc)
            continue
        if entry is None or not entry.created_at < cutoff:
            continue
        try:
            await rollback(req, entry.kind, entry.data)
        except RollbackDeferred:
            continue
        except Exception as exc:
            failed(f'error rolling back "{entry.kind}" entry', exc)
            continue
        try:
            await delete_wal(storage, entry_id)
        except Exception as exc:
            failed(f"error deleting WAL entry {entry_id}", exc)
    return failures
