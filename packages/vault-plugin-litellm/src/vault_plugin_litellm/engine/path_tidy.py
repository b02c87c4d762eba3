"""``tidy``: find the keys this mount minted that no live lease holds, and delete them.

What counts as such a key (each has a ``reason`` in the answer):

- a revocation the host asked for failed, and the host may since have given up on it (after
  its retries, or with ``sys/leases/revoke-force``);
- the key carries this mount's stamp but is in neither the engine's index nor a write-ahead
  entry: it was created but never handed out with a lease (older than ``safety_buffer``);
- its LiteLLM expiry passed more than :data:`EXPIRED_MARGIN` ago, so its lease has ended
  (LiteLLM's expiry is never earlier than the lease's end), but it was never deleted: an
  expired key can be revived by an update.

Write-ahead entries of mints that can no longer finish are rolled back first, and index entries
whose key is gone are dropped once the proxy confirms the key does not exist.

The proxy is listed before the engine's own records are read, and the write-ahead entries are
read before the index. A mint writes its entry before it creates the key, records the key in the
index while creating it, and removes the entry last; so a key the listing showed is still in its
entry when that is read, or already in the index when that is read after it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from litellm_client import (
    AsyncLiteLLMClient,
    KeyInfo,
    KeyStatus,
    LiteLLMError,
    NotFoundError,
    hash_key,
)

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    PathOperation,
    readable_wal,
)
from vault_plugin_litellm.sdk.logical import (
    Operation,
    Request,
    Response,
    Storage,
    get_json,
    put_json,
    utcnow,
)

from . import key_index, limits
from .config import EngineConfig
from .operation import changing
from .proxy import delete_tokens
from .proxy_errors import Refusal, answer_refusals, from_proxy_error
from .wal_kinds import IN_FLIGHT, KEY_WAL, may_be_in_flight

if TYPE_CHECKING:
    from .backend import LiteLLMBackend

log = logging.getLogger(__name__)
STATUS_KEY = "tidy/status"
DELETE_BATCH = 50
EXPIRED_MARGIN = timedelta(hours=1)
"""LiteLLM's expiry is a time on the proxy's clock, compared with this host's: the margin absorbs
clock skew between the two. An expired key is refused by the proxy, so waiting costs nothing."""

TIDY_FIELDS = {
    "dry_run": FieldSchema(
        FieldType.BOOL, "Report what would be deleted without deleting anything.", default=False
    ),
    "safety_buffer": FieldSchema(
        FieldType.DURATION_SECOND,
        "Keys minted more recently than this are left alone (a mint may still be in progress).",
        default=int(limits.DEFAULT_SAFETY_BUFFER.total_seconds()),
    ),
}


def tidy_paths(backend: LiteLLMBackend) -> list[Path]:
    @answer_refusals
    async def run(req: Request, data: FieldData) -> Response:
        buffer = timedelta(seconds=data.get_int("safety_buffer"))
        if not limits.MIN_SAFETY_BUFFER <= buffer <= limits.MAX_SAFETY_BUFFER:
            raise Refusal(
                f"safety_buffer: expected {int(limits.MIN_SAFETY_BUFFER.total_seconds())}s to "
                f"{int(limits.MAX_SAFETY_BUFFER.total_seconds())}s"
            )
        report = await tidy(backend, req, dry_run=data.get_bool("dry_run"), safety_buffer=buffer)
        return Response(data=report.to_data())

    async def status(req: Request, data: FieldData) -> Response | None:
        last = await get_json(req.storage, STATUS_KEY)
        return Response(data=last) if isinstance(last, dict) else None

    return [
        Path(
            pattern="tidy",
            fields=TIDY_FIELDS,
            operations={
                Operation.UPDATE: changing(run, "Delete keys of this mount that no lease holds."),
                Operation.READ: PathOperation(status, summary="The outcome of the last tidy."),
            },
            help_synopsis="Find and delete LiteLLM keys of this mount that no lease holds.",
            help_description=(
                "Deletes keys whose revocation failed, keys minted but never handed out with a "
                "lease, and expired keys that were never deleted; rolls back mints cut short. "
                "With dry_run it only reports. A read returns the last run's outcome. Runs on "
                "its own every tidy_interval (config), and failed revocations are retried on "
                "every rollback tick (about once a minute)."
            ),
        )
    ]


@dataclass(slots=True)
class TidyReport:
    dry_run: bool
    scanned: int = 0
    mount_keys: int = 0
    found: list[dict[str, Any]] = field(default_factory=list)
    found_count: int = 0
    deleted: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    stale_index_entries: int = 0
    rolled_back: int = 0
    complete: bool = True
    started_at: str = ""
    finished_at: str = ""

    def add_found(self, key: KeyInfo, reason: str) -> None:
        self.found_count += 1
        if len(self.found) < limits.TIDY_REPORT_LIMIT:
            self.found.append(
                {
                    "token": key.token,
                    "key_alias": key.key_alias,
                    "role": (key.metadata or {}).get("vault_role"),
                    "reason": reason,
                }
            )

    def to_data(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "mount_keys": self.mount_keys,
            "found": self.found,
            "found_count": self.found_count,
            "deleted": self.deleted,
            "failed": self.failed[: limits.TIDY_REPORT_LIMIT],
            "stale_index_entries": self.stale_index_entries,
            "rolled_back": self.rolled_back,
            "complete": self.complete,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


async def tidy(
    backend: LiteLLMBackend, req: Request, *, dry_run: bool, safety_buffer: timedelta
) -> TidyReport:
    if backend.tidy_lock.locked():
        raise Refusal("tidy: another tidy of this mount is running; try again when it is done")
    async with backend.tidy_lock:
        config = await backend.require_config(req.storage, req.mount_point)
        report = TidyReport(dry_run=dry_run, started_at=utcnow().isoformat())
        try:
            if not dry_run:
                report.rolled_back = await backend.roll_back_abandoned(req)
            async with backend.proxy(config) as client:
                await _sweep(backend, client, req.storage, config, report, safety_buffer)
        except (LiteLLMError, TimeoutError) as exc:
            raise from_proxy_error(
                exc, action="tidying keys", url=config.url, mount_point=req.mount_point
            ) from None
        report.finished_at = utcnow().isoformat()
        await put_json(req.storage, STATUS_KEY, report.to_data())
        return report


async def _sweep(
    backend: LiteLLMBackend,
    client: AsyncLiteLLMClient,
    storage: Storage,
    config: EngineConfig,
    report: TidyReport,
    safety_buffer: timedelta,
) -> None:
    mine = await _mount_keys(backend, client, config, report)
    # Read only now, and in this order (see the module docstring).
    in_flight = await _in_flight_tokens(storage)
    indexed = await key_index.indexed_tokens(storage)
    pending = set(await key_index.pending_tokens(storage))
    now = utcnow()
    doomed: list[str] = []
    for token, key in mine.items():
        reason = _reason(key, token, indexed, pending, in_flight, now, safety_buffer)
        if reason is not None:
            report.add_found(key, reason)
            doomed.append(token)
    if not report.dry_run:
        await _delete(client, storage, doomed, report)
        # Revocations owed for keys the listing did not show (gone, or an old admin key);
        # never the admin key in use, even if it was written back after a rotation.
        admin_token = hash_key(config.admin_key)
        owed = [t for t in pending if t not in mine and t != admin_token]
        await _delete(client, storage, owed, report)
    if report.complete:
        await _drop_stale(client, storage, indexed - mine.keys(), now, safety_buffer, report)


async def _mount_keys(
    backend: LiteLLMBackend, client: AsyncLiteLLMClient, config: EngineConfig, report: TidyReport
) -> dict[str, KeyInfo]:
    admin_token = hash_key(config.admin_key)
    mine: dict[str, KeyInfo] = {}
    stop_at = time.monotonic() + limits.TIDY_LISTING_TIME.total_seconds()
    async for key in client.list_keys(page_size=100):
        if report.scanned >= limits.TIDY_MAX_KEYS or time.monotonic() >= stop_at:
            report.complete = False
            break
        report.scanned += 1
        metadata = key.metadata or {}
        if metadata.get("vault_backend_uuid") != backend.backend_uuid:
            continue
        if key.token is None or key.token == admin_token:
            continue
        mine[key.token] = key
    report.mount_keys = len(mine)
    return mine


async def _in_flight_tokens(storage: Storage) -> set[str]:
    """Tokens of mints that may still be running (write-ahead entries of this process)."""
    tokens = set()
    async for entry in readable_wal(storage):
        if entry.kind != KEY_WAL or not isinstance(entry.data, dict):
            continue
        token = entry.data.get("token")
        if isinstance(token, str) and may_be_in_flight(entry.data):
            tokens.add(token)
    return tokens


def _reason(
    key: KeyInfo,
    token: str,
    indexed: set[str],
    pending: set[str],
    in_flight: set[str],
    now: datetime,
    safety_buffer: timedelta,
) -> str | None:
    if token in pending:
        return "its revocation failed and is still owed"
    if key.expires is not None and key.expires < now - EXPIRED_MARGIN:
        return "its LiteLLM expiry has passed, so no lease can hold it"
    if token in indexed or token in in_flight:
        return None
    if key.created_at is not None and now - key.created_at < safety_buffer:
        return None
    return "no lease holds it: it was minted but never handed out"


async def _delete(
    client: AsyncLiteLLMClient, storage: Storage, tokens: list[str], report: TidyReport
) -> None:
    for start in range(0, len(tokens), DELETE_BATCH):
        batch = tokens[start : start + DELETE_BATCH]
        try:
            await delete_tokens(client, batch)
        except LiteLLMError as exc:
            log.warning("tidy could not delete %d keys: %s", len(batch), exc)
            report.failed.extend({"token": t, "error": exc.message[:300]} for t in batch)
            continue
        for token in batch:
            await key_index.forget_key(storage, token)
        report.deleted += len(batch)


async def _drop_stale(
    client: AsyncLiteLLMClient,
    storage: Storage,
    unseen: set[str],
    now: datetime,
    safety_buffer: timedelta,
    report: TidyReport,
) -> None:
    """Index entries whose key the listing did not show: dropped once the proxy confirms the
    key is gone (a listing can miss a key that moved pages while it ran)."""
    for token in sorted(unseen):
        entry = await key_index.read_key(storage, token)
        minted = _parse_time(entry.get("minted_at")) if entry else None
        if minted is not None and minted > now - safety_buffer:
            continue
        try:
            info = await client.key_info(token)
        except NotFoundError:
            # Never created, so far: an index entry is written while the proxy creates its
            # key, and one younger than a mint may take can name a key about to exist.
            if minted is not None and minted > now - IN_FLIGHT:
                continue
            info = None
        if info is not None and info.status != KeyStatus.DELETED:
            continue
        report.stale_index_entries += 1
        if not report.dry_run:
            await key_index.forget_key(storage, token)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
