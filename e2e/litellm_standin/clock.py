"""Time as the real proxy keeps and prints it.

Postgres (through Prisma) hands timestamps back at millisecond precision, so everything stored is
truncated to milliseconds; only values computed in the request itself (generate's ``expires``)
carry microseconds. Responses built from pydantic models print UTC as ``Z``, responses built from
plain dicts print ``+00:00``; both drop the fraction when it is zero, like ``isoformat``.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def stored(moment: datetime) -> datetime:
    """The value as the database gives it back: milliseconds only."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def offset_text(moment: datetime | None) -> str | None:
    """``2026-11-27T02:40:17.282000+00:00`` (dict responses: info, update)."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def z_text(moment: datetime | None) -> str | None:
    """``2026-11-27T02:40:17.282000Z`` (model responses: generate, block, list)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def plain_text(moment: datetime) -> str:
    """``2026-11-27 01:40:21.737000+00:00``: ``str(datetime)``, as error messages quote it."""
    return str(moment.astimezone(UTC))


def reset_text(moment: datetime) -> str:
    """``2026-11-27 03:59:24 UTC``, the rate limiter's reset time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
