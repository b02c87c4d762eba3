"""Leases and secrets as the host stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True, kw_only=True)
class LeaseOptions:
    """TTL settings of a lease. Durations are ``timedelta``; the bridge converts to ns."""

    ttl: timedelta = timedelta(0)
    max_ttl: timedelta = timedelta(0)
    renewable: bool = False
    increment: timedelta = timedelta(0)
    # The host rejects a Secret without issue_time ("proto: invalid nil Timestamp"), so the
    # bridge stamps "now" on any lease that leaves without one.
    issue_time: datetime | None = None

    def expiration_time(self) -> datetime | None:
        """When the lease ends if not renewed, or ``None`` without an issue time or TTL."""
        if self.issue_time is None or self.ttl <= timedelta(0):
            return None
        return self.issue_time + self.ttl


@dataclass(slots=True, kw_only=True)
class Secret:
    """A leased secret: what the host keeps to renew and revoke it later."""

    lease_options: LeaseOptions = field(default_factory=LeaseOptions)
    internal_data: dict[str, Any] = field(default_factory=dict)
    lease_id: str = ""
