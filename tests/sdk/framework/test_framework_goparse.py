"""Go's strconv/time parsing rules as reimplemented in goparse (values taken from Go's docs)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from vault_plugin_litellm.sdk.framework.goparse import (
    GoRangeError,
    GoSyntaxError,
    format_duration,
    format_float,
    format_rfc3339,
    human_duration,
    parse_absolute_time,
    parse_bool,
    parse_duration_nanos,
    parse_float,
    parse_go_duration,
    parse_int,
    quote,
)

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("+42", 42),
        ("-42", -42),
        ("010", 8),
        ("0o17", 15),
        ("0O17", 15),
        ("0x1f", 31),
        ("0X1F", 31),
        ("-0x10", -16),
        ("0b101", 5),
        ("1_000", 1000),
        ("0x_1f", 31),
        ("0_7", 7),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_parse_int_accepts_go_literals(text: str, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize(
    "text",
    ["", " 1", "1 ", "1.5", "08", "0x", "--1", "1__0", "_1", "1_", "abc", "\u0661", "0b2", "1e3"],
)
def test_parse_int_refuses_what_go_refuses(text: str) -> None:
    with pytest.raises(GoSyntaxError):
        parse_int(text)


@pytest.mark.parametrize(
    "text", ["9223372036854775808", "-9223372036854775809", "0xffffffffffffffffff"]
)
def test_parse_int_range(text: str) -> None:
    with pytest.raises(GoRangeError):
        parse_int(text)


def test_parse_int_base10_has_no_prefixes_or_underscores() -> None:
    assert parse_int("010", base0=False) == 10
    for text in ("0x10", "1_0"):
        with pytest.raises(GoSyntaxError):
            parse_int(text, base0=False)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5", 1.5),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("-2E-2", -0.02),
        ("1_000.5", 1000.5),
        ("0x1p-2", 0.25),
        ("0x1.8p1", 3.0),
        ("inf", math.inf),
        ("-Infinity", -math.inf),
        ("+INF", math.inf),
    ],
)
def test_parse_float(text: str, value: float) -> None:
    assert parse_float(text) == value


def test_parse_float_nan_only_unsigned() -> None:
    assert math.isnan(parse_float("NaN"))
    assert math.isnan(parse_float("nan"))
    for text in ("+nan", "-NaN"):
        with pytest.raises(GoSyntaxError):
            parse_float(text)


@pytest.mark.parametrize("text", ["", " 1", "1e", "0x1", "1._5", "_1", "infin", "e3", "."])
def test_parse_float_refuses(text: str) -> None:
    with pytest.raises(GoSyntaxError):
        parse_float(text)


def test_parse_float_overflow_is_a_range_error() -> None:
    with pytest.raises(GoRangeError):
        parse_float("1e400")
    assert parse_float("1e-400") == 0.0  # underflow is not an error in Go


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_false(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["", "yes", "tRUE", " true", "2"])
def test_parse_bool_refuses(text: str) -> None:
    with pytest.raises(GoSyntaxError):
        parse_bool(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_format_float_is_go_f_minus_one(value: float, text: str) -> None:
    assert format_float(value) == text


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("0", 0),
        ("-0", 0),
        ("1h", 3600 * S),
        ("1h30m", 5400 * S),
        ("1.5h", 5400 * S),
        ("-1.5h", -5400 * S),
        ("500ms", 500_000_000),
        ("1us", 1000),
        ("1\u00b5s", 1000),
        ("1\u03bcs", 1000),
        ("3ns", 3),
        (".5s", 500_000_000),
        ("1.s", S),
        ("2h45m10s", (2 * 3600 + 45 * 60 + 10) * S),
    ],
)
def test_parse_go_duration(text: str, nanos: int) -> None:
    assert parse_go_duration(text) == nanos


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'invalid duration ""'),
        ("1", 'missing unit in duration "1"'),
        ("5x", 'unknown unit "x" in duration "5x"'),
        ("1h 30m", 'unknown unit "h " in duration "1h 30m"'),
        (".s", 'invalid duration ".s"'),
        ("h", 'invalid duration "h"'),
        ("9999999999999999999h", 'invalid duration "9999999999999999999h"'),
        ("3000000h", 'invalid duration "3000000h"'),
    ],
)
def test_parse_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(GoSyntaxError) as caught:
        parse_go_duration(text)
    assert caught.value.reason == message


def test_long_duration_text_is_refused_unread() -> None:
    # Hostile sizes: the parse used to take quadratic time and quote the whole input back.
    for text in ("0s" * 1_000_000, "1" + "x" * 5_000_000, "9" * 5_000_000 + "d"):
        with pytest.raises(GoSyntaxError) as caught:
            parse_duration_nanos(text)
        assert caught.value.reason == "invalid duration: longer than 128 characters"
    with pytest.raises(GoSyntaxError, match="longer than 128"):
        parse_go_duration("1s" * 65)
    assert parse_go_duration("1h" + "0s" * 63) == 3600 * S  # 128 characters: still read


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (None, 0),
        ("", 0),
        (90, 90),
        (90.9, 90),
        (-90.9, -90),
        ("90", 90),
        ("+90", 90),
        ("-90", -90),
        ("2d", 172800),
        ("1h", 3600),
        ("1m30s", 90),
        (timedelta(minutes=2), 120),
    ],
)
def test_parse_duration_second_forms(raw: object, seconds: int) -> None:
    assert parse_duration_nanos(raw) == seconds * S


@pytest.mark.parametrize("raw", [True, [1], {"a": 1}, math.nan, "1.5d", "xd"])
def test_parse_duration_second_refuses(raw: object) -> None:
    with pytest.raises(GoSyntaxError):
        parse_duration_nanos(raw)


def test_parse_duration_second_overflow() -> None:
    with pytest.raises(GoRangeError, match="overflow"):
        parse_duration_nanos(10**12)
    with pytest.raises(GoRangeError, match="overflow"):
        parse_duration_nanos("200000000d")


def test_parse_absolute_time_forms() -> None:
    moment = datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)
    assert parse_absolute_time("2024-01-02T15:04:05Z") == moment
    assert parse_absolute_time("2024-01-02T17:04:05+02:00") == moment
    assert parse_absolute_time("2024-01-02T15:04:05.250Z") == moment + timedelta(milliseconds=250)
    assert parse_absolute_time(str(int(moment.timestamp()))) == moment
    assert parse_absolute_time(int(moment.timestamp())) == moment
    assert parse_absolute_time("-1") == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw", [1.5, True, [], "2024-01-02", "2024-01-02 15:04:05Z", "2024-02-30T00:00:00Z", "soon"]
)
def test_parse_absolute_time_refuses(raw: object) -> None:
    with pytest.raises(GoSyntaxError):
        parse_absolute_time(raw)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(microseconds=1), "1\u00b5s"),
        (timedelta(seconds=-61), "-1m1s"),
    ],
)
def test_format_duration_is_go_string(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=2, seconds=30), "2h30s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(0), "0s"),
    ],
)
def test_human_duration_drops_zero_parts(value: timedelta, text: str) -> None:
    assert human_duration(value) == text


def test_quote_escapes() -> None:
    assert quote('a"b\\c\n\x01') == '"a\\"b\\\\c\\n\\x01"'


def test_format_rfc3339_trims_fraction() -> None:
    assert format_rfc3339(datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == (
        "2024-01-02T03:04:05.12Z"
    )
    assert format_rfc3339(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
