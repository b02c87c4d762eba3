"""Go's number, boolean, duration and time parsing, reimplemented for field coercion.

Go plugins parse request values with ``strconv`` and ``time`` (through mapstructure and
go-secure-stdlib's parseutil). Python's ``int()``/``float()`` accept a different language
(whitespace, Unicode digits, no leading-zero octal), so a plugin using them would answer
differently from a Go plugin for the same request. Each function here accepts exactly
what its Go counterpart accepts and raises :class:`GoSyntaxError` otherwise; the caller
turns that into the user-facing message.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1

NANOS_PER_SECOND = 1_000_000_000


class GoSyntaxError(ValueError):
    """The text is not in the accepted form; ``reason`` is "invalid syntax" or similar."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GoRangeError(GoSyntaxError):
    """The text is well formed but the value does not fit."""

    def __init__(self, reason: str = "value out of range") -> None:
        super().__init__(reason)


def _underscores_ok(text: str) -> bool:
    """Go's rule for ``_`` in number literals: only between digits (or after a base prefix)."""
    if text[:1] in ("+", "-"):
        text = text[1:]
    saw = "^"  # ^ start, 0 digit or prefix, _ underscore, ! anything else
    i = 0
    hexa = False
    if len(text) >= 2 and text[0] == "0" and text[1] in "bBoOxX":
        i = 2
        saw = "0"
        hexa = text[1] in "xX"
    while i < len(text):
        c = text[i]
        if "0" <= c <= "9" or (hexa and c in "abcdefABCDEF"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _digit_value(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    if c.isascii() and c.isalpha():
        return ord(c.lower()) - 87
    return 99  # larger than any base, so the caller reports a syntax error


def _parse_uint(text: str, base0: bool) -> int:
    """``strconv.ParseUint(text, 0 or 10, 64)``."""
    if text == "":
        raise GoSyntaxError("invalid syntax")
    original = text
    base = 10
    if base0 and text[0] == "0":
        if len(text) >= 3 and text[1] in "bB":
            base, text = 2, text[2:]
        elif len(text) >= 3 and text[1] in "oO":
            base, text = 8, text[2:]
        elif len(text) >= 3 and text[1] in "xX":
            base, text = 16, text[2:]
        else:
            base, text = 8, text[1:]
    cutoff = _UINT64_MAX // base + 1
    value = 0
    underscores = False
    for c in text:
        if c == "_" and base0:
            underscores = True
            continue
        digit = _digit_value(c)
        if digit >= base:
            raise GoSyntaxError("invalid syntax")
        if value >= cutoff:
            raise GoRangeError()
        value = value * base + digit
        if value > _UINT64_MAX:
            raise GoRangeError()
    if underscores and not _underscores_ok(original):
        raise GoSyntaxError("invalid syntax")
    return value


def parse_int(text: str, *, base0: bool = True) -> int:
    """``strconv.ParseInt(text, 0, 64)`` (or base 10 with ``base0=False``).

    Base 0 means: optional sign, then ``0x``/``0o``/``0b`` prefixes, a bare leading ``0``
    for octal (``"010"`` is 8), ``_`` between digits; no surrounding whitespace.
    """
    if text == "":
        raise GoSyntaxError("invalid syntax")
    negative = False
    body = text
    if text[0] in "+-":
        negative = text[0] == "-"
        body = text[1:]
    magnitude = _parse_uint(body, base0)
    if negative:
        if magnitude > -INT64_MIN:
            raise GoRangeError()
        return -magnitude
    if magnitude > INT64_MAX:
        raise GoRangeError()
    return magnitude


_DECIMAL_FLOAT = re.compile(
    r"[+-]?(?:[0-9_]+(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?", re.ASCII
)
_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+", re.ASCII
)
_INFINITY = re.compile(r"([+-]?)(?:inf|infinity)", re.ASCII | re.IGNORECASE)


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``: decimal or hex (``p`` exponent required) literals,
    ``inf``/``infinity`` with an optional sign, unsigned ``nan``; overflow is a range error."""
    special = _INFINITY.fullmatch(text)
    if special is not None:
        return -math.inf if special.group(1) == "-" else math.inf
    if text.lower() == "nan":
        return math.nan
    if _DECIMAL_FLOAT.fullmatch(text) is not None:
        if "_" in text and not _underscores_ok(text):
            raise GoSyntaxError("invalid syntax")
        value = float(text.replace("_", ""))
    elif _HEX_FLOAT.fullmatch(text) is not None:
        if "_" in text and not _underscores_ok(text):
            raise GoSyntaxError("invalid syntax")
        try:
            value = float.fromhex(text.replace("_", ""))
        except OverflowError:
            raise GoRangeError() from None
    else:
        raise GoSyntaxError("invalid syntax")
    if math.isinf(value):
        raise GoRangeError()
    return value


_TRUE_WORDS = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE_WORDS = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool``: ``1 t T TRUE true True`` and ``0 f F FALSE false False`` only."""
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise GoSyntaxError("invalid syntax")


def format_float(value: float) -> str:
    """``strconv.FormatFloat(value, 'f', -1, 64)``: shortest round-trip digits, no exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# time.ParseDuration units, in nanoseconds. Both micro signs are accepted, as in Go.
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": NANOS_PER_SECOND,
    "m": 60 * NANOS_PER_SECOND,
    "h": 3600 * NANOS_PER_SECOND,
}
_DIGITS = "0123456789"


class DurationError(GoSyntaxError):
    """A duration string Go's ``time.ParseDuration`` would refuse; the text says why."""


MAX_DURATION_CHARS = 128
"""Longer duration text is refused unread. Go has no such bound, but no duration anyone means
is this long, parsing takes time with the length, and every error message quotes the text."""


def _check_duration_length(text: str) -> None:
    if len(text) > MAX_DURATION_CHARS:
        raise DurationError(f"invalid duration: longer than {MAX_DURATION_CHARS} characters")


def quote(text: str) -> str:
    """A double-quoted rendering of ``text`` in the spirit of Go's ``%q``, for messages."""
    out = ['"']
    for c in text:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif not c.isprintable():
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def parse_go_duration(text: str) -> int:
    """``time.ParseDuration``: a sequence of decimal numbers with units, e.g. ``"1h30m"``,
    ``"1.5h"``, ``"-500ms"``; a bare ``"0"`` is allowed. Returns nanoseconds."""
    _check_duration_length(text)
    original = text
    negative = False
    if text and text[0] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if text == "":
        raise DurationError(f"invalid duration {quote(original)}")
    total = 0
    while text:
        if not (text[0] == "." or text[0] in _DIGITS):
            raise DurationError(f"invalid duration {quote(original)}")
        whole, text, consumed_whole = _leading_int(text, original)
        fraction, scale, consumed_fraction = 0, 1.0, False
        if text and text[0] == ".":
            fraction, scale, text, consumed_fraction = _leading_fraction(text[1:])
        if not consumed_whole and not consumed_fraction:
            raise DurationError(f"invalid duration {quote(original)}")
        end = 0
        while end < len(text) and not (text[end] == "." or text[end] in _DIGITS):
            end += 1
        if end == 0:
            raise DurationError(f"missing unit in duration {quote(original)}")
        unit_name, text = text[:end], text[end:]
        unit = _DURATION_UNITS.get(unit_name)
        if unit is None:
            raise DurationError(f"unknown unit {quote(unit_name)} in duration {quote(original)}")
        if whole > (1 << 63) // unit:
            raise DurationError(f"invalid duration {quote(original)}")
        whole *= unit
        if fraction > 0:
            # float64 arithmetic, exactly as Go does it, so fractional results agree.
            whole += int(float(fraction) * (float(unit) / scale))
            if whole > 1 << 63:
                raise DurationError(f"invalid duration {quote(original)}")
        total += whole
        if total > 1 << 63:
            raise DurationError(f"invalid duration {quote(original)}")
    if negative:
        return -total
    if total > INT64_MAX:
        raise DurationError(f"invalid duration {quote(original)}")
    return total


def _leading_int(text: str, original: str) -> tuple[int, str, bool]:
    value = 0
    i = 0
    while i < len(text) and text[i] in _DIGITS:
        if value > (1 << 63) // 10:
            raise DurationError(f"invalid duration {quote(original)}")
        value = value * 10 + ord(text[i]) - 48
        if value > 1 << 63:
            raise DurationError(f"invalid duration {quote(original)}")
        i += 1
    return value, text[i:], i > 0


def _leading_fraction(text: str) -> tuple[int, float, str, bool]:
    value = 0
    scale = 1.0
    overflow = False
    i = 0
    while i < len(text) and text[i] in _DIGITS:
        if not overflow:
            if value > INT64_MAX // 10:
                overflow = True
            else:
                candidate = value * 10 + ord(text[i]) - 48
                if candidate > 1 << 63:
                    overflow = True
                else:
                    value = candidate
                    scale *= 10
        i += 1
    return value, scale, text[i:], i > 0


def _seconds_to_nanos(seconds: int) -> int:
    nanos = seconds * NANOS_PER_SECOND
    if not INT64_MIN <= nanos <= INT64_MAX:
        raise GoRangeError("multiplication of durations resulted in overflow")
    return nanos


def parse_duration_nanos(raw: object) -> int:
    """parseutil's ``ParseDurationSecond``: numbers are seconds (truncated), ``""`` is 0,
    an integer string is seconds, ``"<int>d"`` is days, anything else goes to
    ``time.ParseDuration``. Returns nanoseconds; raises :class:`GoSyntaxError`."""
    if raw is None:
        return 0
    if isinstance(raw, bool):
        raise GoSyntaxError("could not parse duration from input")
    if isinstance(raw, int):
        return _seconds_to_nanos(raw)
    if isinstance(raw, float):
        if math.isnan(raw):
            raise GoSyntaxError("could not parse duration from input")
        if math.isinf(raw):
            raise GoRangeError("multiplication of durations resulted in overflow")
        return _seconds_to_nanos(int(raw))
    if isinstance(raw, timedelta):
        return (raw // timedelta(microseconds=1)) * 1000
    if not isinstance(raw, str):
        raise GoSyntaxError("could not parse duration from input")
    if raw == "":
        return 0
    _check_duration_length(raw)
    try:
        seconds: int | None = parse_int(raw, base0=False)
    except GoSyntaxError:  # out-of-range integers also fall through, as in Go
        seconds = None
    if seconds is not None:
        return _seconds_to_nanos(seconds)
    if raw.endswith("d"):
        try:
            days = parse_int(raw[:-1], base0=False)
        except GoSyntaxError as exc:
            raise GoSyntaxError(
                f"parsing {quote(raw[:-1])} as a number of days: {exc.reason}"
            ) from None
        return _seconds_to_nanos(days * 86_400)
    return parse_go_duration(raw)


def truncate_nanos_to_seconds(nanos: int) -> int:
    """``int(d.Seconds())``: towards zero, as Go's float-to-int conversion does."""
    seconds = abs(nanos) // NANOS_PER_SECOND
    return seconds if nanos >= 0 else -seconds


def parse_duration_second(raw: object) -> timedelta:
    """:func:`parse_duration_nanos` as a ``timedelta`` (microsecond precision)."""
    nanos = parse_duration_nanos(raw)
    micros = abs(nanos) // 1000
    return timedelta(microseconds=micros if nanos >= 0 else -micros)


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", re.ASCII
)

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero ``time.Time``, which a time field holds when nothing was given."""


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (fraction optional, ``Z`` or ``±hh:mm``) as an aware UTC datetime."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise GoSyntaxError("could not parse string as date and time")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ""
    micros = int((fraction + "000000")[:6]) if fraction else 0
    zone = match.group(8)
    try:
        if zone == "Z":
            offset = timedelta(0)
        else:
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=hours, minutes=minutes)
            if zone[0] == "-":
                offset = -offset
        local = datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
        return local - offset
    except (ValueError, OverflowError):
        raise GoSyntaxError("could not parse string as date and time") from None


def unix_time(seconds: int) -> datetime:
    """``time.Unix(seconds, 0)`` in UTC; Python's datetime covers years 1-9999 only."""
    try:
        return datetime.fromtimestamp(0, UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise GoRangeError("time is outside the years 1 to 9999") from None


def parse_absolute_time(raw: object) -> datetime:
    """parseutil's ``ParseAbsoluteTime``: RFC 3339 text, an integer epoch (text or number).

    A JSON number reaches a Go plugin as a float64, which Go refuses; here a JSON integer
    is taken as epoch seconds (docs/host-behaviour.md §14.2) and a float is refused.
    """
    if isinstance(raw, str):
        try:
            return parse_rfc3339(raw)
        except GoSyntaxError:
            pass
        try:
            seconds = parse_int(raw, base0=False)
        except GoSyntaxError:
            raise GoSyntaxError("could not parse string as date and time") from None
        return unix_time(seconds)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return unix_time(raw)
    if isinstance(raw, datetime) and raw.tzinfo is not None:
        return raw.astimezone(UTC)
    raise GoSyntaxError("could not parse time from input type")


def format_duration(value: timedelta) -> str:
    """Go's ``time.Duration.String()``: ``"1h0m0s"``, ``"1m30s"``, ``"1.5s"``, ``"500ms"``."""
    nanos = (value // timedelta(microseconds=1)) * 1000
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < NANOS_PER_SECOND:
        for unit, size in (("ms", 1_000_000), ("\u00b5s", 1_000)):
            if nanos >= size:
                return sign + _fraction(nanos, size) + unit
        return f"{sign}{nanos}ns"
    hours, rest = divmod(nanos, 3600 * NANOS_PER_SECOND)
    minutes, rest = divmod(rest, 60 * NANOS_PER_SECOND)
    text = _fraction(rest, NANOS_PER_SECOND) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _fraction(nanos: int, unit: int) -> str:
    whole, rest = divmod(nanos, unit)
    if rest == 0:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{rest:0{digits}d}".rstrip("0")


def human_duration(value: timedelta) -> str:
    """The host's short form of a duration for TTL warnings: ``"1h"``, ``"1h30m"``, ``"90s"``
    is ``"1m30s"``; drops the zero minute/second parts Go's ``String()`` prints."""
    if value == timedelta(0):
        return "0s"
    text = format_duration(value)
    if text.endswith("m0s"):
        text = text[:-2]
    index = text.find("h0m")
    if index > 0:
        text = text[: index + 1] + text[index + 3 :]
    return text


def format_rfc3339(value: datetime) -> str:
    """Go's JSON encoding of a ``time.Time``: RFC 3339 with trailing fraction zeros trimmed."""
    value = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    # Not strftime: "%Y" drops the leading zeros of years before 1000 on glibc.
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"
