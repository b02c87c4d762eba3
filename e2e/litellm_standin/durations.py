"""The proxy's duration rules (docs/litellm-api.md §5), for ``duration`` and ``budget_duration``.

The parser is a prefix match: an integer, then optionally ``s``/``m``/``h``/``d``/``w``/``mo``;
anything after that is ignored, a missing unit is "unsupported", a missing number is "invalid".
Budget resets snap to boundaries (the hour, midnight, Monday, the 1st of the month) in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_WORDS = {"hourly": "1h", "daily": "24h", "weekly": "7d", "monthly": "30d"}
_PREFIX = re.compile(r"(\d+)(mo|[smhdw]?)")
_RESET_PREFIX = re.compile(r"(\d+)([a-z]+)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class DurationError(ValueError):
    """A duration the proxy's parser refuses; ``str()`` is the proxy's own message."""


def _normalise(text: str) -> str:
    return _WORDS.get(text.strip().lower(), text)


def duration_seconds(text: str) -> int:
    """Seconds in ``text``; raises :class:`DurationError` with the proxy's message."""
    match = _PREFIX.match(_normalise(text))
    if match is None:
        raise DurationError("Invalid duration format")
    value, unit = int(match.group(1)), match.group(2)
    if unit in _UNIT_SECONDS:
        return value * _UNIT_SECONDS[unit]
    if unit == "mo":
        return _calendar_months_seconds(value)
    raise DurationError(f"Unsupported duration unit, passed duration: {text}")


def _calendar_months_seconds(months: int) -> int:
    # The proxy counts months on the host's local clock (naive local time), not in UTC.
    start = datetime.now()
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, _days_in_month(year, month))
    return int((start.replace(year=year, month=month, day=day) - start).total_seconds())


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (datetime(year, month + 1, 1) - timedelta(days=1)).day


def budget_duration_error(text: str | None) -> str | None:
    """Why ``text`` cannot be a ``budget_duration`` (the proxy's message), or None if it can."""
    if text is None:
        return None
    try:
        if duration_seconds(text) > 0:
            next_budget_reset(text, datetime.now(UTC))
            return None
    except (ValueError, OverflowError):
        pass
    return f"Invalid budget_duration '{text}'. Use a format like '1h', '24h', '7d', or '30d'."


def next_budget_reset(text: str, now: datetime) -> datetime:
    """When a budget with period ``text`` next resets, seen from ``now`` (an aware datetime)."""
    match = _RESET_PREFIX.match(_normalise(text))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if match is None:
        return midnight + timedelta(days=1)
    value, unit = int(match.group(1)), match.group(2)
    if value == 0 and unit in ("s", "m", "h", "d", "w"):
        return now
    if unit in ("d", "w"):
        return _day_reset(now, midnight, value * 7 if unit == "w" else value)
    if unit == "mo":
        return _month_reset(now, midnight, value)
    if unit == "h":
        return _clock_reset(now, midnight, (now.hour, 0, 0), value, 0)
    if unit == "m":
        return _clock_reset(now, midnight, (now.hour, now.minute, 0), value, 1)
    if unit == "s":
        return _clock_reset(now, midnight, (now.hour, now.minute, now.second), value, 2)
    return midnight + timedelta(days=1)


def _day_reset(now: datetime, midnight: datetime, days: int) -> datetime:
    if days == 1:
        return midnight + timedelta(days=1) if midnight <= now else midnight
    if days == 7:
        monday = midnight + timedelta(days=(7 - now.weekday()) % 7)
        return monday + timedelta(days=7) if monday <= now else monday
    if days == 30:
        return _month_reset(now, midnight, 1)
    return midnight + timedelta(days=days)


def _month_reset(now: datetime, midnight: datetime, months: int) -> datetime:
    if months != 1:
        raise ValueError("Monthly resets currently only support 1 month intervals")
    first = midnight.replace(day=1)
    if first > now:
        return first
    if first.month == 12:
        return first.replace(year=first.year + 1, month=1)
    return first.replace(month=first.month + 1)


def _clock_reset(
    now: datetime, midnight: datetime, parts: tuple[int, int, int], step: int, position: int
) -> datetime:
    """Next multiple of ``step`` in the hour (0), minute (1) or second (2) field, carrying over."""
    hour, minute, second = parts
    fields = [hour, minute, second]
    fields[position] = fields[position] + step - fields[position] % step
    minute_carry, fields[2] = divmod(fields[2], 60)
    fields[1] += minute_carry
    hour_carry, fields[1] = divmod(fields[1], 60)
    fields[0] += hour_carry
    if fields[0] >= 24:
        return (midnight + timedelta(days=1)).replace(
            hour=fields[0] % 24, minute=fields[1], second=fields[2]
        )
    return now.replace(hour=fields[0], minute=fields[1], second=fields[2], microsecond=0)
