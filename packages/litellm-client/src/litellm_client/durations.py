"""LiteLLM duration strings, validated locally so that only forms the proxy accepts go out.

The proxy's parser takes a prefix match and ignores trailing text (``"1hour"`` is 1h, ``"1x"`` fails
with a 500 on generate), counts ``mo`` in calendar months on its own clock, and overflows on huge
values. The client therefore accepts a strict subset: a positive whole number followed by ``s``,
``m``, ``h``, ``d`` or ``w``, or ``"0s"`` (expire now). ``budget_duration`` may also use ``mo``,
where calendar months are the point, and may not be zero.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TypeAlias

from litellm_client.errors import InvalidDurationError

Duration: TypeAlias = timedelta | str
"""A duration: a :class:`datetime.timedelta` (sent as whole seconds) or a LiteLLM string."""

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# Beyond this the proxy fails with "date value out of range" or an int overflow (observed).
MAX_DURATION = timedelta(days=36_500)

_EXPIRY = re.compile(r"(?:0s|[1-9][0-9]{0,11}[smhdw])")
_BUDGET = re.compile(r"[1-9][0-9]{0,11}(?:[smhdw]|mo)")
_FORMS = "a positive whole number followed by s, m, h, d or w (e.g. '3600s', '90m', '2h', '7d')"


def _refuse(field: str, value: object, accepted: str) -> InvalidDurationError:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return InvalidDurationError(
        f"{field}: {shown} is not a duration the proxy accepts; use {accepted}",
        param=field,
        maybe_processed=False,
    )


def _check_range(field: str, value: object, seconds: int, accepted: str) -> None:
    if seconds > MAX_DURATION.total_seconds():
        raise _refuse(field, value, f"at most {MAX_DURATION.days} days: {accepted}")


def format_duration(value: Duration, *, field: str = "duration") -> str:
    """Return the string to send for an expiry-style duration (``duration``, ``grace_period``, ...).

    A timedelta becomes whole seconds, rounded down (``"<n>s"``); a string is checked and returned
    as is. Anything else raises :class:`InvalidDurationError` naming ``field``.
    """
    accepted = f"{_FORMS}, '0s' to expire at once, or a datetime.timedelta"
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise _refuse(field, value, f"a non-negative timedelta or {accepted}")
        seconds = value // timedelta(seconds=1)
        _check_range(field, value, seconds, accepted)
        return f"{seconds}s"
    if isinstance(value, str) and _EXPIRY.fullmatch(value):
        _check_range(field, value, _string_seconds(value), accepted)
        return value
    raise _refuse(field, value, accepted)


def format_budget_duration(value: Duration, *, field: str = "budget_duration") -> str:
    """Return the string to send for a spend-reset period; ``mo`` (calendar months) is allowed."""
    accepted = (
        "a positive whole number followed by s, m, h, d, w or mo (e.g. '24h', '7d', '30d', '1mo'),"
        " or a timedelta of at least one second"
    )
    if isinstance(value, timedelta):
        seconds = value // timedelta(seconds=1)
        if seconds < 1:
            raise _refuse(field, value, accepted)
        _check_range(field, value, seconds, accepted)
        return f"{seconds}s"
    if isinstance(value, str) and _BUDGET.fullmatch(value):
        if value.endswith("mo"):
            if int(value[:-2]) > MAX_DURATION.days // 30:
                raise _refuse(field, value, f"at most {MAX_DURATION.days // 30}mo")
        else:
            _check_range(field, value, _string_seconds(value), accepted)
        return value
    raise _refuse(field, value, accepted)


def _string_seconds(text: str) -> int:
    return int(text[:-1]) * UNIT_SECONDS[text[-1]]


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """Return the length of an expiry-style duration string (as :func:`format_duration` takes)."""
    return timedelta(seconds=_string_seconds(format_duration(text, field=field)))
