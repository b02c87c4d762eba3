"""The mount's storage view: the interface, an in-memory implementation and JSON helpers."""

from __future__ import annotations

import bisect
import builtins
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .errors import StorageError


@dataclass(frozen=True, slots=True)
class StorageEntry:
    key: str
    value: bytes
    seal_wrap: bool = False

    def json(self) -> Any:
        return json.loads(self.value)


@runtime_checkable
class Storage(Protocol):
    """A mount's barrier view: keys are relative to the mount, values are opaque bytes.

    ``get`` answers ``None`` for a missing key; ``list`` returns the immediate children of a
    prefix, sorted, with deeper keys folded into one ``"child/"`` entry. Errors are raised as
    :class:`~.errors.StorageError` carrying the host's text.
    """

    async def get(self, key: str) -> StorageEntry | None: ...

    async def put(self, entry: StorageEntry) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def list(self, prefix: str) -> list[str]: ...


def check_key(key: str) -> None:
    """Refuse keys the host refuses, with the host's message."""
    if any(part in (".", "..") for part in key.split("/")):
        raise StorageError("relative paths not supported")


def immediate_children(keys: Iterable[str], prefix: str) -> list[str]:
    """Children of ``prefix`` among sorted ``keys``, folding deeper keys into ``"x/"``."""
    out: list[str] = []
    seen: set[str] = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        slash = rest.find("/")
        child = rest if slash < 0 else rest[: slash + 1]
        if child not in seen:
            seen.add(child)
            out.append(child)
    out.sort()
    return out


class InMemoryStorage:
    """Storage held in a dict, with the host's semantics; for tests and examples."""

    def __init__(self) -> None:
        self._data: dict[str, StorageEntry] = {}
        self._keys: list[str] = []

    async def get(self, key: str) -> StorageEntry | None:
        check_key(key)
        return self._data.get(key)

    async def put(self, entry: StorageEntry) -> None:
        check_key(entry.key)
        if entry.key not in self._data:
            bisect.insort(self._keys, entry.key)
        self._data[entry.key] = entry

    async def delete(self, key: str) -> None:
        check_key(key)
        if self._data.pop(key, None) is not None:
            self._keys.remove(key)

    async def list(self, prefix: str) -> list[str]:
        check_key(prefix)
        start = bisect.bisect_left(self._keys, prefix)
        keys = []
        for key in self._keys[start:]:
            if not key.startswith(prefix):
                break
            keys.append(key)
        return immediate_children(keys, prefix)

    async def list_page(self, prefix: str, after: str = "", limit: int = 0) -> builtins.list[str]:
        return page_of(await self.list(prefix), after, limit)

    def keys(self) -> builtins.list[str]:
        """Every key held, sorted (a test convenience, not part of :class:`Storage`)."""
        return list(self._keys)


def page_of(keys: Iterable[str], after: str = "", limit: int = 0) -> builtins.list[str]:
    """Sorted ``keys`` strictly after ``after``, at most ``limit`` of them (0 or less: all).

    The semantics of OpenBao's ``ListPage``, for storage that only lists.
    """
    out = sorted(k for k in keys if k > after) if after else sorted(keys)
    return out[:limit] if limit > 0 else out


def encode_json(value: Any) -> str:
    """JSON as a Go plugin writes it, for storage and for the protocol's JSON fields: compact,
    and never NaN or Infinity, which the host's encoding/json cannot read."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


async def get_json(storage: Storage, key: str) -> Any | None:
    entry = await storage.get(key)
    return None if entry is None else entry.json()


async def put_json(storage: Storage, key: str, value: Any, *, seal_wrap: bool = False) -> None:
    # Go's json.Encoder, which Go plugins store with, ends the document with a newline.
    await storage.put(StorageEntry(key, (encode_json(value) + "\n").encode(), seal_wrap))


async def list_recursive(storage: Storage, prefix: str = "") -> list[str]:
    """Every leaf key below ``prefix``, depth first, relative to the storage root."""
    out: list[str] = []
    for child in await storage.list(prefix):
        if child.endswith("/"):
            out.extend(await list_recursive(storage, prefix + child))
        else:
            out.append(prefix + child)
    return out
