"""The proxy's duration rules (docs/litellm-api.md §5), for ``duration`` and ``budget_duration``.

The parser is a prefix match: an integer, then optionally ``s``/``m``/``h``/``d``/``w``/``mo``;
anything after that is ignored, a missing unit is "unsupported", a missing number is "invalid".
Budget resets snap to boundaries (the hour, midnight, Monday, the 1st of the month) in UTC, and
the ``s``/``m``/``h`` arithmetic wraps at midnight, as the proxy's does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.support.litellm_standin.errors import NotModelled

_WORDS = {"hourly": "1h", "daily": "24h", "weekly": "7d", "monthly": "30d"}
_PREFIX = re.compile(r"(\d+)(mo|[smhdw]?)")
_RESET = re.compile(r"(\d+)([a-z]+)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def _parse(text: str) -> tuple[int, str]:
    match = _PREFIX.match(_WORDS.get(text.strip().lower(), text))
    if match is None:
        raise ValueError("Invalid duration format")
    return int(match.group(1)), match.group(2)


def expiry(text: str, now: datetime) -> datetime:
    """When a key with ``duration=text`` expires; ValueError/OverflowError with the proxy's text."""
    value, unit = _parse(text)
    if unit == "mo":
        # The proxy counts calendar months on the host's local clock; nothing here needs that.
        raise NotModelled("a duration in months", "duration")
    if not unit:
        raise ValueError(f"Unsupported duration unit, passed duration: {text}")
    return now + timedelta(seconds=value * _UNIT_SECONDS[unit])


def budget_duration_error(text: str | None) -> str | None:
    """Why ``text`` cannot be a ``budget_duration`` (the proxy's message), or None if it can."""
    if text is None:
        return None
    try:
        value, unit = _parse(text)
        if value > 0 and unit:
            next_reset(text, datetime.now(UTC))
            return None
    except (ValueError, OverflowError):
        pass
    return f"Invalid budget_duration '{text}'. Use a format like '1h', '24h', '7d', or '30d'."


def next_reset(text: str, now: datetime) -> datetime:
    """When a budget with period ``text`` next resets, seen from ``now`` (aware, UTC)."""
    # Here the unit is the whole run of letters: "1hour" is valid, but resets as no unit does.
    match = _RESET.match(_WORDS.get(text.strip().lower(), text))
    value, unit = (int(match.group(1)), match.group(2)) if match else (0, "")
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "mo" or (unit == "d" and value == 30):
        if unit == "mo" and value != 1:
            raise ValueError("Monthly resets currently only support 1 month intervals")
        first = midnight.replace(day=1)
        if first.month == 12:
            return first.replace(year=first.year + 1, month=1)
        return first.replace(month=first.month + 1)
    if unit in ("d", "w"):
        days = value * 7 if unit == "w" else value
        return midnight + timedelta(days=7 - now.weekday() if days == 7 else days)
    if unit not in ("h", "m", "s"):
        return midnight + timedelta(days=1)
    # The next multiple of ``value`` in the hour, minute or second field, carried upwards; past
    # midnight the carried clock time lands on the next day.
    position = "hms".index(unit)
    fields = [now.hour, now.minute, now.second][: position + 1] + [0, 0][position:]
    fields[position] += value - fields[position] % value
    carry, fields[2] = divmod(fields[2], 60)
    carry, fields[1] = divmod(fields[1] + carry, 60)
    hour = fields[0] + carry
    day = midnight + timedelta(days=1) if hour >= 24 else midnight
    return day.replace(hour=hour % 24, minute=fields[1], second=fields[2])
