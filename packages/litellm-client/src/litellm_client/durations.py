"""LiteLLM duration strings, validated locally so that only forms the proxy accepts go out.

The proxy's parser takes a prefix match and ignores trailing text (``"1hour"`` is 1h, ``"1x"`` fails
with a 500 on generate), counts ``mo`` in calendar months on its own clock, and overflows on huge
values. The client therefore accepts a strict subset: a positive whole number followed by ``s``,
``m``, ``h``, ``d`` or ``w``, or ``"0s"`` (expire now). ``budget_duration`` may also be ``"1mo"``
(the proxy refuses every other month count) and may not be zero.

A budget period is not a plain length of time on the proxy: it snaps the next reset to a boundary
chosen by the unit (``"30d"`` is the 1st of next month, ``"7d"`` next Monday, ``"1d"`` midnight).
Its sub-day arithmetic wraps at midnight, so ``"2592000s"`` resets tomorrow, not in 30 days. A
timedelta is therefore written in the largest unit that holds it exactly.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TypeAlias

from litellm_client.errors import InvalidDurationError

Duration: TypeAlias = timedelta | str
"""A duration: a :class:`datetime.timedelta` or a LiteLLM string (see ``format_duration``)."""

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# Beyond this the proxy fails with "date value out of range" or an int overflow (observed).
MAX_DURATION = timedelta(days=36_500)

_EXPIRY = re.compile(r"(?:0s|[1-9][0-9]{0,11}[smhdw])")
_BUDGET = re.compile(r"(?:[1-9][0-9]{0,11}[smhdw]|1mo)")
# Largest first: the unit a timedelta budget period is written in (see the module docstring).
_BUDGET_UNITS = (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1))
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

    A timedelta becomes whole seconds (``"<n>s"``), rounded down, except that a positive one under
    a second becomes ``"1s"`` rather than ``"0s"`` (which would expire the key at once);
    ``timedelta(0)`` is ``"0s"``. A string is checked and returned as is. Anything else raises
    :class:`InvalidDurationError` naming ``field``.
    """
    accepted = f"{_FORMS}, '0s' to expire at once, or a datetime.timedelta"
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise _refuse(field, value, f"a non-negative timedelta or {accepted}")
        seconds = value // timedelta(seconds=1)
        if seconds == 0 and value > timedelta(0):
            seconds = 1
        _check_range(field, value, seconds, accepted)
        return f"{seconds}s"
    if isinstance(value, str) and _EXPIRY.fullmatch(value):
        _check_range(field, value, _string_seconds(value), accepted)
        return value
    raise _refuse(field, value, accepted)


def format_budget_duration(value: Duration, *, field: str = "budget_duration") -> str:
    """Return the string to send for a spend-reset period.

    A timedelta is rounded down to whole seconds and written in the largest unit that holds it
    exactly (``timedelta(days=30)`` is ``"30d"``, ``timedelta(hours=36)`` is ``"36h"``), because the
    proxy picks the reset boundary by the unit. A string is checked and returned as is; ``"1mo"``
    is the only month count the proxy takes.
    """
    accepted = (
        "a positive whole number followed by s, m, h, d or w (e.g. '24h', '7d', '30d'), '1mo'"
        " (the proxy takes no other month count), or a timedelta of at least one second"
    )
    if isinstance(value, timedelta):
        seconds = value // timedelta(seconds=1)
        if seconds < 1:
            raise _refuse(field, value, accepted)
        _check_range(field, value, seconds, accepted)
        return next(
            f"{seconds // size}{unit}" for unit, size in _BUDGET_UNITS if seconds % size == 0
        )
    if isinstance(value, str) and _BUDGET.fullmatch(value):
        if value != "1mo":
            _check_range(field, value, _string_seconds(value), accepted)
        return value
    raise _refuse(field, value, accepted)


def _string_seconds(text: str) -> int:
    return int(text[:-1]) * UNIT_SECONDS[text[-1]]


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """Return the length of an expiry-style duration string (as :func:`format_duration` takes)."""
    return timedelta(seconds=_string_seconds(format_duration(text, field=field)))
