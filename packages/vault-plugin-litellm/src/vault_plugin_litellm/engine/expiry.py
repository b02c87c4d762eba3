"""How long LiteLLM's own expiry runs, relative to the lease it backs.

The proxy's ``duration`` is relative (``expires = its now + duration``), so clock skew between
the hosts does not matter; only the time a request takes does. The key therefore gets a short
grace beyond the lease, so it never dies before its lease, and is capped at the lease's maximum
so that LiteLLM's expiry stays a true backstop for a revocation that never happens.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

EXPIRY_GRACE = timedelta(seconds=60)
"""How long a key outlives its lease at most (the issue bound is 5 minutes)."""
LEASE_MARGIN = timedelta(seconds=2)
"""How much earlier than the key a shortened lease ends, for the requests' own latency."""
_TOLERANCE = timedelta(seconds=5)

# "budget_duration is over max limit ..." is a refusal of the role's budget_duration, not a cap
# on the key's life: the word boundary keeps it out.
_CAP = re.compile(r"\bduration is over max limit set in config.*max_value=([0-9]+)(mo|[smhdw])?")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 28 * 86400, "": 1}


def key_duration(ttl: timedelta, max_ttl: timedelta) -> int:
    """Whole seconds of LiteLLM life for a lease of ``ttl`` that may last ``max_ttl`` in all."""
    seconds = min(ttl + EXPIRY_GRACE, max_ttl + timedelta(seconds=1))
    return max(1, math.ceil(seconds.total_seconds()))


def proxy_cap(message: str) -> timedelta | None:
    """The cap in a refusal of ``upperbound_key_generate_params``, if that is what it is.

    A month counts as 28 days here: shortening too much is safe, too little is not.
    """
    match = _CAP.search(message)
    if match is None:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2) or ""])


def ttl_under_cap(ttl: timedelta, cap: timedelta) -> timedelta:
    """The lease TTL when the proxy lets a key live ``cap`` at most: ``ttl`` if such a key
    outlives it (only the grace is cut), else shortened to end before the key; zero when no
    lease fits."""
    fitted = fitted_ttl(ttl, cap)
    return ttl if fitted is None else fitted


def fitted_ttl(
    ttl: timedelta, granted: timedelta, asked: timedelta | None = None
) -> timedelta | None:
    """The shorter lease TTL that ends before a key that lives ``granted``, or None when the
    lease of ``ttl`` already does.

    ``granted`` is measured between two of the proxy's timestamps taken a few milliseconds
    apart, so a grant within :data:`_TOLERANCE` of what was ``asked`` counts as in full.
    """
    if asked is not None and granted >= asked - _TOLERANCE:
        return None
    if granted >= ttl + LEASE_MARGIN:
        return None
    return timedelta(seconds=max(0, math.floor((granted - LEASE_MARGIN).total_seconds())))


def granted_life(expires: datetime | None, created_at: datetime | None) -> timedelta | None:
    """The life the proxy gave a key, measured on the proxy's own clock."""
    if expires is None or created_at is None:
        return None
    return expires - created_at
