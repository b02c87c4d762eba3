"""Retry timing: exponential backoff with jitter, and the proxy's ``Retry-After``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before retry number ``n`` (1-based).

    Without ``Retry-After`` the wait is ``initial * 2 ** (n - 1)``, at most ``maximum``, reduced by
    a random fraction of up to ``jitter`` so that clients which failed together do not retry
    together. A ``Retry-After`` from the proxy is honoured; one longer than ``max_retry_after`` is
    not waited for at all: the client gives up and raises (the error carries ``retry_after``),
    since retrying before the proxy's time would only be refused again.
    """

    initial: float = 0.5
    maximum: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.max_retry_after < 0:
            raise ValueError("Backoff: initial, maximum and max_retry_after must be >= 0 seconds")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"Backoff.jitter: expected a fraction in [0, 1], got {self.jitter}")

    def waits_for(self, retry_after: float | None) -> bool:
        """Whether a retry may wait out this ``Retry-After`` (None: the proxy sent none)."""
        return retry_after is None or retry_after <= self.max_retry_after

    def delay(
        self,
        retry: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        # Capped only as a guard: the client does not retry when waits_for() is False.
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = min(self.initial * 2.0 ** (retry - 1), self.maximum)
        return base * (1 - self.jitter * rand())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date.

    Returns None for a missing or unreadable header; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)
