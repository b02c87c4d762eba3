"""The engine's own record of the keys it minted, and of revocations still owed.

- ``keys/<token>``: one entry per key a lease may hold (its role, when it was minted).
  Written while the key is created, removed when the key is deleted. ``tidy`` compares it
  with the proxy: a key stamped by this mount with no entry here has no lease.
- ``revocations/<token>``: a revocation the host asked for that failed. The host may give
  up on it (after its retries, or at once with ``sys/leases/revoke-force``), so the engine
  keeps trying on every rollback tick and in ``tidy`` until the key is gone.

Only tokens (sha256 hashes) and aliases are stored, never a raw key.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from vault_plugin_litellm.sdk.logical import Storage, get_json, put_json, utcnow

INDEX_PREFIX = "keys/"
PENDING_PREFIX = "revocations/"
_TOKEN = re.compile(r"[0-9a-f]{64}")


def is_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class PendingRevocation:
    token: str
    alias: str
    role: str
    kind: str  # "key" (a lease's key) or "admin_key" (a rotated-out admin key)
    first_failed_at: str
    attempts: int
    last_error: str


async def record_key(storage: Storage, token: str, *, role: str) -> None:
    """Record a key being minted; written alongside the proxy call, so before its alias is
    final (a taken alias is retried), which is why the entry does not hold one."""
    await put_json(storage, INDEX_PREFIX + token, {"role": role, "minted_at": utcnow().isoformat()})


async def read_key(storage: Storage, token: str) -> dict[str, Any] | None:
    entry = await get_json(storage, INDEX_PREFIX + token)
    return entry if isinstance(entry, dict) else None


async def forget_key(storage: Storage, token: str) -> None:
    """The key is gone: drop its index entry and any revocation still owed for it."""
    await asyncio.gather(
        storage.delete(INDEX_PREFIX + token), storage.delete(PENDING_PREFIX + token)
    )


async def indexed_tokens(storage: Storage) -> set[str]:
    return {name for name in await storage.list(INDEX_PREFIX) if is_token(name)}


async def owe_revocation(
    storage: Storage, token: str, *, alias: str, role: str, kind: str, reason: str
) -> None:
    """Record a deletion before it is tried, where a crash or a cancelled request must not
    forget it (the admin key rotate-root replaced); a failure later counts as attempt 1."""
    await _put_pending(storage, token, alias, role, kind, utcnow().isoformat(), 0, reason)


async def remember_failed_revocation(
    storage: Storage, token: str, *, alias: str, role: str, kind: str, error: str
) -> None:
    previous = await read_pending(storage, token)
    first = previous.first_failed_at if previous else utcnow().isoformat()
    attempts = (previous.attempts if previous else 0) + 1
    await _put_pending(storage, token, alias, role, kind, first, attempts, error)


async def _put_pending(
    storage: Storage,
    token: str,
    alias: str,
    role: str,
    kind: str,
    first_failed_at: str,
    attempts: int,
    error: str,
) -> None:
    entry = {
        "alias": alias,
        "role": role,
        "kind": kind,
        "first_failed_at": first_failed_at,
        "attempts": attempts,
        "last_error": error[:500],
    }
    await put_json(storage, PENDING_PREFIX + token, entry)


async def read_pending(storage: Storage, token: str) -> PendingRevocation | None:
    raw = await get_json(storage, PENDING_PREFIX + token)
    if not isinstance(raw, dict):
        return None
    return PendingRevocation(
        token=token,
        alias=str(raw.get("alias", "")),
        role=str(raw.get("role", "")),
        kind=str(raw.get("kind", "key")),
        first_failed_at=str(raw.get("first_failed_at", "")),
        attempts=int(raw.get("attempts", 0)),
        last_error=str(raw.get("last_error", "")),
    )


async def pending_tokens(storage: Storage) -> list[str]:
    return [name for name in await storage.list(PENDING_PREFIX) if is_token(name)]
