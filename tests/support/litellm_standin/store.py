"""In-memory state: key rows (plain dicts holding the proxy's columns), deleted keys, users.

One lock guards everything; handlers hold it for the whole request, which keeps checks such as
alias uniqueness atomic (the real proxy's are not; nothing here reproduces its races).
Timestamps are stored at millisecond precision, as Postgres hands them back through Prisma.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Row = dict[str, Any]

ADMIN_NAME = "default_user_id"  # who the master key acts as (litellm_proxy_admin_name)
MASTER_KEY_ALIAS = "litellm_proxy_master_key"  # how the master key is named in audit fields
KEY_CACHE_TTL = timedelta(seconds=60)


def names(text: str) -> list[str]:
    return text.split()


# Every column of a key row, in the order /key/info prints them, and what a new row holds.
COLUMNS = names(
    """token key_name key_alias soft_budget_cooldown spend total_spend expires models aliases
    config router_settings user_id team_id agent_id project_id permissions max_parallel_requests
    metadata blocked tpm_limit rpm_limit tpd_limit max_budget budget_duration budget_reset_at
    allowed_cache_controls allowed_routes key_type policies access_group_ids model_spend
    model_max_budget budget_fallbacks budget_id organization_id object_permission_id created_at
    created_by updated_at updated_by settings_updated_at last_active rotation_count auto_rotate
    rotation_interval last_rotation_at key_rotation_at budget_limits litellm_budget_table
    litellm_organization_table litellm_project_table object_permission jwt_key_mappings"""
)
_DEFAULTS: Row = dict.fromkeys(COLUMNS)
_DEFAULTS.update(
    {name: [] for name in names("models allowed_cache_controls allowed_routes policies")},
    access_group_ids=[],
    soft_budget_cooldown=False,
    spend=0.0,
    total_spend=0.0,
    key_type="default",
    rotation_count=0,
    auto_rotate=False,
)
_DEFAULTS.update(
    {
        name: {}
        for name in names(
            "aliases config router_settings permissions metadata model_spend model_max_budget"
        )
    },
    budget_fallbacks={},
)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_of(value: str) -> str:
    """The proxy's rule everywhere: a value starting with ``sk-`` is hashed, others are hashes."""
    return hash_token(value) if value.startswith("sk-") else value


def key_name(raw: str) -> str:
    return "sk-..." if len(raw) < 16 else f"sk-...{raw[-4:]}"


def stored(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def new_row(token: str, raw: str, creator: str | None, now: datetime) -> Row:
    row = copy.deepcopy(_DEFAULTS)
    moment = stored(now)
    row.update(token=token, key_name=key_name(raw), created_by=creator, updated_by=creator)
    row.update(created_at=moment, updated_at=moment)
    return row


@dataclass(frozen=True)
class Spend:
    """A call's cost, counted at once for budgets, written to the row when ``due``."""

    due: datetime
    token: str
    cost: float
    used_at: datetime


@dataclass
class Store:
    lock: threading.RLock = field(default_factory=threading.RLock)
    keys: dict[str, Row] = field(default_factory=dict)
    deleted: list[Row] = field(default_factory=list)  # rows plus the archive's own columns
    users: dict[str, str] = field(default_factory=dict)  # user_id -> user_role
    seen: dict[str, datetime] = field(default_factory=dict)  # the 60 s key cache
    pending: list[Spend] = field(default_factory=list)
    rpm_windows: dict[str, tuple[datetime, int]] = field(default_factory=dict)
    # The proxy writes spend to the key rows in batches (PROXY_BATCH_WRITE_AT, 10 s).
    spend_write_interval: timedelta = timedelta(seconds=10)

    def live_spend(self, row: Row) -> float:
        spend: float = row["spend"]
        return spend + sum(entry.cost for entry in self.pending if entry.token == row["token"])

    def record_spend(self, token: str, cost: float, now: datetime) -> None:
        self.pending.append(Spend(now + self.spend_write_interval, token, cost, now))
        self.flush(now)

    def flush(self, now: datetime) -> None:
        """Write the spend that is due: spend, total_spend and last_active."""
        due = [entry for entry in self.pending if entry.due <= now]
        self.pending = [entry for entry in self.pending if entry.due > now]
        for entry in due:
            row = self.keys.get(entry.token)
            if row is not None:
                row["spend"] += entry.cost
                row["total_spend"] += entry.cost
                row["last_active"] = stored(entry.used_at)

    def cached(self, token: str, now: datetime) -> bool:
        """Resolved within the cache TTL (the proxy then still holds the raw key it was sent)."""
        seen = self.seen.get(token)
        if seen is None or now - seen >= KEY_CACHE_TTL:
            self.seen[token] = now
            return False
        return True

    def evict(self, token: str) -> None:
        """Update, delete, block and unblock drop the cached key (docs/litellm-api.md §2.4)."""
        self.seen.pop(token, None)

    def with_alias(self, alias: str) -> list[Row]:
        return [row for row in self.keys.values() if row["key_alias"] == alias]

    def last_deleted(self, token: str) -> Row | None:
        """The latest archived row for ``token`` (a custom key can be re-created and deleted)."""
        rows = [row for row in self.deleted if row["token"] == token]
        return max(rows, key=lambda row: row["deleted_at"]) if rows else None


def utc_now() -> datetime:
    return datetime.now(UTC)
