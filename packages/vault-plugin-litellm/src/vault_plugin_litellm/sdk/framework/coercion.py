"""Turning a request value into a field's Python value, with the Go framework's rules.

Go plugins decode each declared field with mapstructure's *weak* decoding and parseutil
(``sdk/framework/field_data.go``). Clients rely on its leniencies (``"true"`` for a bool,
``"1h"`` or ``3600`` for a duration, ``"a,b"`` for a list), so a Python plugin has to
accept the same inputs and refuse the same ones. The rules are in docs/host-behaviour.md §14;
every refusal raises :class:`FieldConversionError`, and nothing else escapes
:func:`convert`.

Deliberate differences from Go, all in the direction of not losing data: integers are
exact (Go sees every JSON number as a float64), a JSON integer is accepted as a Unix time,
header values may be JSON numbers, and messages say which form is accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .field_type import FieldType
from .goparse import (
    INT64_MAX,
    INT64_MIN,
    ZERO_TIME,
    GoRangeError,
    GoSyntaxError,
    format_float,
    parse_absolute_time,
    parse_bool,
    parse_duration_nanos,
    parse_float,
    parse_int,
    quote,
    truncate_nanos_to_seconds,
)


class FieldConversionError(ValueError):
    """A value cannot be converted to its field's type; the text says what is accepted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_NAME_RULE = re.compile(r"\w(?:[\w.-]*\w)?", re.ASCII)

# Go's strings.TrimSpace trims Unicode White_Space, which is not quite what str.strip()
# trims (Python also strips the \x1c-\x1f separators); this is Go's set.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_SHOWN_CHARS = 64


def _kind(value: object) -> str:
    """The JSON name of a value's type, for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _shown(text: str) -> str:
    """A quoted, shortened copy of user text for an error message."""
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "..."
    return quote(text)


def _at(where: str) -> str:
    return f"element {where}: " if where else ""


def to_string(raw: object, where: str = "") -> str:
    """Weak string decoding: strings as they are, bools as ``"1"``/``"0"``, numbers in
    plain decimal (``1e21`` is ``"1000000000000000000000"``)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return format_float(raw)
    raise FieldConversionError(f"{_at(where)}expected a string, got {_kind(raw)}")


def _check_int64(value: int, where: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise FieldConversionError(f"{_at(where)}{value} is out of range for a 64-bit integer")
    return value


def to_int(raw: object, where: str = "") -> int:
    """Weak integer decoding: numbers truncated towards zero, bools as 1/0, strings in Go
    literal syntax (``0x1f``, ``0o17``, ``0b11``, ``"010"`` = 8, ``1_000``), ``""`` = 0."""
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return _check_int64(raw, where)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise FieldConversionError(f"{_at(where)}expected an integer, got {format_float(raw)}")
        return _check_int64(int(raw), where)
    if isinstance(raw, str):
        try:
            return parse_int(raw or "0")
        except GoRangeError:
            raise FieldConversionError(
                f"{_at(where)}{_shown(raw)} is out of range for a 64-bit integer"
            ) from None
        except GoSyntaxError:
            raise FieldConversionError(
                f"{_at(where)}{_shown(raw)} is not an integer "
                "(use decimal digits, or a 0x, 0o, 0b or leading-0 octal literal)"
            ) from None
    raise FieldConversionError(f"{_at(where)}expected an integer, got {_kind(raw)}")


def to_float(raw: object) -> float:
    """Weak float decoding: numbers, bools as 1/0, Go float syntax in strings, ``""`` = 0."""
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, int):
        try:
            return float(raw)
        except OverflowError:
            raise FieldConversionError(f"{raw} is out of range for a float") from None
    if isinstance(raw, float):
        return raw
    if isinstance(raw, str):
        try:
            return parse_float(raw or "0")
        except GoRangeError:
            raise FieldConversionError(f"{_shown(raw)} is out of range for a float") from None
        except GoSyntaxError:
            raise FieldConversionError(
                f"{_shown(raw)} is not a number (use e.g. 1.5, 2e3, inf or NaN)"
            ) from None
    raise FieldConversionError(f"expected a number, got {_kind(raw)}")


def to_bool(raw: object) -> bool:
    """Weak bool decoding: numbers are true unless 0, ``""`` is false, and strings are
    Go's ``ParseBool`` words."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw != 0
    if isinstance(raw, str):
        if raw == "":
            return False
        try:
            return parse_bool(raw)
        except GoSyntaxError:
            raise FieldConversionError(
                f"{_shown(raw)} is not a boolean (use true or false, 1 or 0, t or f)"
            ) from None
    raise FieldConversionError(f"expected a boolean, got {_kind(raw)}")


def _merge_map(raw: object, into: dict[str, Any], where: str) -> None:
    if raw is None:
        return
    if isinstance(raw, dict):
        for key, value in raw.items():
            into[key if isinstance(key, str) else to_string(key, where)] = value
        return
    if isinstance(raw, list | tuple):
        # An array of objects is merged into one, as mapstructure's weak mode does.
        for index, item in enumerate(raw):
            _merge_map(item, into, f"{where}[{index}]" if where else str(index))
        return
    raise FieldConversionError(f"{_at(where)}expected an object, got {_kind(raw)}")


def to_map(raw: object) -> dict[str, Any]:
    """An object as it is; an array of objects merged; ``[]`` is ``{}``."""
    out: dict[str, Any] = {}
    _merge_map(raw, out, "")
    return out


def _lift(raw: object) -> list[Any]:
    """Weak slice decoding of a non-string: arrays as they are, ``{}`` as ``[]``, anything
    else (including a non-empty object) as a one-element list."""
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, dict) and not raw:
        return []
    return [raw]


def to_slice(raw: object) -> list[Any]:
    return _lift(raw)


def _strings(items: list[Any]) -> list[str]:
    return ["" if item is None else to_string(item, str(i)) for i, item in enumerate(items)]


def _trimmed(items: list[str]) -> list[str]:
    return [item.strip(_GO_SPACE) for item in items]


def to_string_slice(raw: object) -> list[str]:
    """A list of strings; a scalar becomes one element (a string is not split); ``""`` is
    ``[]``; elements are trimmed."""
    if raw == "":
        return []
    return _trimmed(_strings(_lift(raw)))


def to_comma_string_slice(raw: object) -> list[str]:
    """Like :func:`to_string_slice`, but a string is split on ``,`` (empty parts kept)."""
    if isinstance(raw, str):
        return [] if raw == "" else _trimmed(raw.split(","))
    return _trimmed(_strings(_lift(raw)))


def to_comma_int_slice(raw: object) -> list[int]:
    """A list of integers; a string is split on ``,`` without trimming (``"1, 2"`` fails)."""
    if isinstance(raw, str):
        if raw == "":
            return []
        return [to_int(part, str(i)) for i, part in enumerate(raw.split(","))]
    return [0 if item is None else to_int(item, str(i)) for i, item in enumerate(_lift(raw))]


def _pair_value(key: str, value: object) -> str:
    if value is None:
        return ""
    try:
        return to_string(value)
    except FieldConversionError as exc:
        raise FieldConversionError(f"key {_shown(key)}: {exc.message}") from None


def to_kv_pairs(raw: object) -> dict[str, str]:
    """An object whose values become strings, or a list of ``"key=value"`` strings (split at
    the first ``=``; the key may not be empty)."""
    if isinstance(raw, dict):
        return {key: _pair_value(key, value) for key, value in to_map(raw).items()}
    try:
        as_map = to_map(raw)
        return {key: _pair_value(key, value) for key, value in as_map.items()}
    except FieldConversionError:
        pass  # not objects: try the "key=value" list form, as Go does
    out: dict[str, str] = {}
    for pair in _strings(_lift(raw)):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FieldConversionError(f"invalid key pair {_shown(pair)} (use key=value)")
        out[key] = value
    return out


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def canonical_header_key(key: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``content-type`` -> ``Content-Type``; keys with
    characters outside the HTTP token set are left untouched."""
    if not key or any(c not in _TOKEN_CHARS for c in key):
        return key
    out = []
    upper = True
    for c in key:
        out.append(c.upper() if upper else c.lower())
        upper = c == "-"
    return "".join(out)


def _header_value(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return to_string(value)
    raise FieldConversionError(f"header {_shown(key)}: values must be strings, got {_kind(value)}")


def _header_from_map(source: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in source.items():
        values = value if isinstance(value, list | tuple) else [value]
        if value is None or isinstance(value, dict | bool):
            raise FieldConversionError(
                f"header {_shown(key)}: expected a string or a list of strings, got {_kind(value)}"
            )
        for item in values:
            out.setdefault(canonical_header_key(key), []).append(_header_value(key, item))
    return out


def to_header(raw: object) -> dict[str, list[str]]:
    """HTTP headers from an object (values a string or a list), from the JSON text of one
    (optionally base64-encoded), or from a list of ``"Key:Value"`` strings."""
    try:
        as_map: dict[str, Any] | None = to_map(raw)
    except FieldConversionError:
        as_map = None
    if as_map is not None:
        return _header_from_map(as_map)
    if isinstance(raw, str):
        try:
            text: bytes = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            text = raw.encode()
        try:
            decoded = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise FieldConversionError(
                "expected an object of headers, its JSON text (optionally base64-encoded), "
                'or a list of "Key:Value" strings'
            ) from None
        if decoded is None:
            return {}
        if not isinstance(decoded, dict):
            raise FieldConversionError(f"header JSON must be an object, got {_kind(decoded)}")
        return _header_from_map(decoded)
    out: dict[str, list[str]] = {}
    for index, item in enumerate(_lift(raw)):
        if not isinstance(item, str):
            raise FieldConversionError(
                f'element {index}: expected a "Key:Value" string, got {_kind(item)}'
            )
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise FieldConversionError(f"invalid key pair {_shown(item)} (use Key:Value)")
        out.setdefault(canonical_header_key(key), []).append(value)
    return out


_DURATION_FORMS = 'use seconds (3600), days ("7d") or a duration such as "1h30m"'


def to_seconds(raw: object, *, signed: bool) -> int:
    """A duration in whole seconds (truncated towards zero); see docs/host-behaviour.md §14.2."""
    try:
        nanos = parse_duration_nanos(raw)
    except GoSyntaxError as exc:
        raise FieldConversionError(f"{exc.reason}; {_DURATION_FORMS}") from None
    seconds = truncate_nanos_to_seconds(nanos)
    if not signed and seconds < 0:
        raise FieldConversionError(f"cannot provide negative value '{seconds}'")
    return seconds


def to_time(raw: object) -> datetime:
    try:
        return parse_absolute_time(raw)
    except GoSyntaxError as exc:
        raise FieldConversionError(
            f"{exc.reason} (use RFC 3339, e.g. 2024-01-02T15:04:05Z, or Unix seconds)"
        ) from None


def to_lowercase_string(raw: object) -> str:
    return to_string(raw).lower()


def to_name_string(raw: object) -> str:
    text = "" if raw is None else to_string(raw)
    if _NAME_RULE.fullmatch(text) is None:
        raise FieldConversionError(
            f"field does not match the formatting rules: {_shown(text)} must be letters, "
            'digits, "_", "-" or ".", and start and end with a letter, digit or "_"'
        )
    return text


_CONVERTERS: dict[FieldType, Callable[[object], Any]] = {
    FieldType.STRING: to_string,
    FieldType.LOWERCASE_STRING: to_lowercase_string,
    FieldType.NAME_STRING: to_name_string,
    FieldType.INT: to_int,
    FieldType.INT64: to_int,
    FieldType.FLOAT: to_float,
    FieldType.BOOL: to_bool,
    FieldType.DURATION_SECOND: lambda raw: to_seconds(raw, signed=False),
    FieldType.SIGNED_DURATION_SECOND: lambda raw: to_seconds(raw, signed=True),
    FieldType.MAP: to_map,
    FieldType.KV_PAIRS: to_kv_pairs,
    FieldType.SLICE: to_slice,
    FieldType.STRING_SLICE: to_string_slice,
    FieldType.COMMA_STRING_SLICE: to_comma_string_slice,
    FieldType.COMMA_INT_SLICE: to_comma_int_slice,
    FieldType.HEADER: to_header,
    FieldType.TIME: to_time,
}


def zero_value(field_type: FieldType) -> Any:
    """A fresh zero value of the type (what Go's ``FieldType.Zero`` gives)."""
    if field_type in (FieldType.STRING, FieldType.LOWERCASE_STRING, FieldType.NAME_STRING):
        return ""
    if field_type is FieldType.FLOAT:
        return 0.0
    if field_type is FieldType.BOOL:
        return False
    if field_type in (FieldType.MAP, FieldType.KV_PAIRS, FieldType.HEADER):
        return {}
    if field_type in (
        FieldType.SLICE,
        FieldType.STRING_SLICE,
        FieldType.COMMA_STRING_SLICE,
        FieldType.COMMA_INT_SLICE,
    ):
        return []
    if field_type is FieldType.TIME:
        return ZERO_TIME
    return 0


FieldConverter = Callable[[object], tuple[Any, bool]]
"""One type's :func:`convert`: ``raw`` -> ``(value, is_set)``."""


def _make_converter(field_type: FieldType) -> FieldConverter:
    parse = _CONVERTERS[field_type]
    null_is_unset = field_type.is_duration or field_type is FieldType.TIME
    is_name = field_type is FieldType.NAME_STRING

    def run(raw: object) -> tuple[Any, bool]:
        if raw is None:
            if null_is_unset:
                return None, False
            if is_name:
                return to_name_string(None), True
            return zero_value(field_type), True
        try:
            return parse(raw), True
        except FieldConversionError:
            raise
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            # Defensive: odd in-process inputs (not JSON) must still surface as a 400.
            raise FieldConversionError(f"cannot convert {_kind(raw)}: {exc}") from None

    return run


# Built once: per-request conversion then costs no enum hashing or type dispatch.
_FIELD_CONVERTERS = {field_type: _make_converter(field_type) for field_type in FieldType}


def field_converter(field_type: FieldType) -> FieldConverter:
    """The conversion function of one type (what :class:`~.fields.FieldSchema` keeps)."""
    return _FIELD_CONVERTERS[field_type]


def convert(field_type: FieldType, raw: object) -> tuple[Any, bool]:
    """``(value, is_set)`` for a value present in the request.

    ``null`` gives the zero value and counts as set, except for durations and times, where
    it counts as unset (``(None, False)``), as in Go. Raises :class:`FieldConversionError`
    and nothing else.
    """
    return _FIELD_CONVERTERS[field_type](raw)
