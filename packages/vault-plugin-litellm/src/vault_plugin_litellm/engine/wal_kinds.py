"""The write-ahead entries the engine writes, and which process wrote them.

Each entry records the process instance that wrote it. An entry from another instance (a
process that crashed, was reloaded, or ran on a node that lost leadership) belongs to work
that can no longer finish, so rollback undoes it at once; an entry of the running process is
left alone while its request may still be in flight (the host gives requests 90 s).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

KEY_WAL = "litellm_key"
"""A key being minted for a lease: rollback deletes it."""
ADMIN_KEY_WAL = "litellm_admin_key"
"""A successor admin key being minted by rotate-root: rollback deletes it."""

INSTANCE = secrets.token_hex(8)
"""This process; a new one is chosen at every start."""
IN_FLIGHT = timedelta(minutes=2)
"""How long this process's own entries are left alone: longer than any request may run."""


def wal_data(token: str, **extra: str) -> dict[str, Any]:
    # written_at is for people reading storage; the age is measured on the monotonic clock,
    # which a wall-clock step (NTP) cannot move, and which only this process shares.
    return {
        "token": token,
        "instance": INSTANCE,
        "written_at": int(time.time()),
        "monotonic": time.monotonic(),
        **extra,
    }


def may_be_in_flight(data: dict[str, Any]) -> bool:
    """Whether the request that wrote this entry may still be running in this process."""
    if data.get("instance") != INSTANCE:
        return False
    written = data.get("monotonic")
    if not isinstance(written, int | float):
        return False
    return time.monotonic() - written < IN_FLIGHT.total_seconds()
