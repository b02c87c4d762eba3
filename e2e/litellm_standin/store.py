"""In-memory state: key rows, the deleted-key archive, users, budget rows and rate windows.

One lock guards everything; handlers take it for the whole request, which keeps checks such as
alias uniqueness atomic (the real proxy's are not; nothing here tries to reproduce its races).
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ADMIN_NAME = "default_user_id"  # who the master key acts as (litellm_proxy_admin_name)
MASTER_KEY_ALIAS = "litellm_proxy_master_key"  # how the master key is named in audit fields
KEY_CACHE_TTL = timedelta(seconds=60)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_of(value: str) -> str:
    """The proxy's rule everywhere: a value starting with ``sk-`` is hashed, others are hashes."""
    return hash_token(value) if value.startswith("sk-") else value


def key_name(raw: str) -> str:
    return "sk-..." if len(raw) < 16 else f"sk-...{raw[-4:]}"


@dataclass
class BudgetRow:
    budget_id: str
    soft_budget: float | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    model_max_budget: dict[str, Any] | None = None


@dataclass
class KeyRow:
    token: str
    key_name: str | None
    key_alias: str | None
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None
    spend: float = 0.0
    total_spend: float = 0.0
    expires: datetime | None = None
    models: list[Any] = field(default_factory=list)
    aliases: dict[str, Any] | None = field(default_factory=dict)
    config: dict[str, Any] | None = field(default_factory=dict)
    router_settings: dict[str, Any] | None = field(default_factory=dict)
    user_id: str | None = None
    team_id: str | None = None
    agent_id: str | None = None
    project_id: str | None = None
    permissions: dict[str, Any] | None = field(default_factory=dict)
    max_parallel_requests: int | None = None
    metadata: Any = field(default_factory=dict)
    blocked: bool | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    tpd_limit: int | None = None
    max_budget: float | None = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    allowed_cache_controls: list[Any] = field(default_factory=list)
    allowed_routes: list[Any] = field(default_factory=list)
    key_type: str | None = "default"
    policies: list[str] = field(default_factory=list)
    access_group_ids: list[str] = field(default_factory=list)
    model_spend: dict[str, Any] = field(default_factory=dict)
    model_max_budget: dict[str, Any] | None = field(default_factory=dict)
    budget_fallbacks: dict[str, Any] | None = field(default_factory=dict)
    budget_id: str | None = None
    organization_id: str | None = None
    object_permission_id: str | None = None
    object_permission: dict[str, Any] | None = None
    settings_updated_at: datetime | None = None
    last_active: datetime | None = None
    rotation_count: int = 0
    auto_rotate: bool | None = False
    rotation_interval: str | None = None
    last_rotation_at: datetime | None = None
    key_rotation_at: datetime | None = None
    budget_limits: list[Any] | None = None
    soft_budget_cooldown: bool = False

    def snapshot(self) -> KeyRow:
        return copy.deepcopy(self)


@dataclass
class ArchivedKey:
    row: KeyRow
    id: str
    deleted_at: datetime
    deleted_by: str | None
    deleted_by_api_key: str | None
    litellm_changed_by: str | None


@dataclass
class User:
    user_id: str
    user_role: str | None
    created_at: datetime


@dataclass
class RateWindow:
    """A fixed one-minute window of a key's requests and tokens (the proxy limits per minute)."""

    started: datetime
    requests: int = 0
    tokens: int = 0


@dataclass(frozen=True)
class PendingSpend:
    """Spend the proxy has counted but not yet written to the key row (it writes in batches)."""

    token: str
    cost: float
    used_at: datetime
    due: datetime


@dataclass
class Store:
    lock: threading.RLock = field(default_factory=threading.RLock)
    keys: dict[str, KeyRow] = field(default_factory=dict)
    archive: list[ArchivedKey] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
    budgets: dict[str, BudgetRow] = field(default_factory=dict)
    windows: dict[str, RateWindow] = field(default_factory=dict)
    # When each token was last resolved (the proxy caches resolved keys for 60 s).
    resolved: dict[str, datetime] = field(default_factory=dict)
    # The live spend counters budgets are checked against; the rows' spend catches up in batches.
    counters: dict[str, float] = field(default_factory=dict)
    pending: list[PendingSpend] = field(default_factory=list)
    spend_write_interval: timedelta = timedelta(seconds=10)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def live_spend(self, row: KeyRow) -> float:
        return self.counters.get(row.token, row.spend)

    def set_spend(self, row: KeyRow, spend: float) -> None:
        row.spend = spend
        self.counters[row.token] = spend

    def record_spend(self, token: str, cost: float, now: datetime) -> None:
        """Queue a call's cost for the next batch write (immediately if the interval is zero)."""
        interval = self.spend_write_interval
        if interval <= timedelta(0):
            due = now
        else:
            ticks = -(-(now - self.started) // interval)
            due = self.started + ticks * interval
        self.pending.append(PendingSpend(token, cost, now, due))
        self.flush(now)

    def flush(self, now: datetime) -> None:
        """Write the batches that are due: spend, total_spend and last_active."""
        due = [entry for entry in self.pending if entry.due <= now]
        if not due:
            return
        self.pending = [entry for entry in self.pending if entry.due > now]
        for entry in due:
            row = self.keys.get(entry.token)
            if row is not None:
                row.spend += entry.cost
                row.total_spend += entry.cost
                row.last_active = entry.used_at.replace(
                    microsecond=entry.used_at.microsecond // 1000 * 1000
                )

    def cached(self, token: str, now: datetime) -> bool:
        seen = self.resolved.get(token)
        return seen is not None and now - seen < KEY_CACHE_TTL

    def remember(self, token: str, now: datetime) -> None:
        if not self.cached(token, now):
            self.resolved[token] = now

    def evict(self, token: str) -> None:
        """Update, delete, block and unblock drop the cached key (docs/litellm-api.md §2.4)."""
        self.resolved.pop(token, None)

    def archived(self, token: str) -> ArchivedKey | None:
        """The latest archive entry for ``token`` (a key can be re-created and deleted again)."""
        entries = [entry for entry in self.archive if entry.row.token == token]
        return max(entries, key=lambda entry: entry.deleted_at) if entries else None

    def with_alias(self, alias: str) -> list[KeyRow]:
        return [row for row in self.keys.values() if row.key_alias == alias]

    def archive_key(
        self,
        row: KeyRow,
        *,
        deleted_at: datetime,
        deleted_by: str | None,
        deleted_by_api_key: str | None,
        changed_by: str | None,
    ) -> None:
        del self.keys[row.token]
        self.windows.pop(row.token, None)
        self.counters.pop(row.token, None)
        self.evict(row.token)
        self.archive.append(
            ArchivedKey(
                row=row.snapshot(),
                id=str(uuid.uuid4()),
                deleted_at=deleted_at,
                deleted_by=deleted_by,
                deleted_by_api_key=deleted_by_api_key,
                litellm_changed_by=changed_by,
            )
        )
