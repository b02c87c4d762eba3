"""Field coercion per type (docs/host-behaviour.md §14), null semantics, defaults and FieldData."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vault_plugin_litellm.sdk.framework import (
    FieldConversionError,
    FieldData,
    FieldSchema,
    FieldType,
    FieldValidationError,
    UnknownFieldError,
    convert,
)
from vault_plugin_litellm.sdk.framework.goparse import ZERO_TIME

T = FieldType

ACCEPTED: list[tuple[FieldType, Any, Any]] = [
    (T.STRING, "x", "x"),
    (T.STRING, True, "1"),
    (T.STRING, False, "0"),
    (T.STRING, 12, "12"),
    (T.STRING, 1.5, "1.5"),
    (T.STRING, 1e21, "1000000000000000000000"),
    (T.LOWERCASE_STRING, "MiXeD", "mixed"),
    (T.LOWERCASE_STRING, True, "1"),
    (T.NAME_STRING, "a", "a"),
    (T.NAME_STRING, "role-1.prod_x", "role-1.prod_x"),
    (T.NAME_STRING, 7, "7"),
    (T.INT, 3, 3),
    (T.INT, 3.99, 3),
    (T.INT, -3.99, -3),
    (T.INT, True, 1),
    (T.INT, "", 0),
    (T.INT, "010", 8),
    (T.INT, "0x10", 16),
    (T.INT, "0b11", 3),
    (T.INT, "-7", -7),
    (T.INT64, "9223372036854775807", 2**63 - 1),
    (T.FLOAT, 2, 2.0),
    (T.FLOAT, "1e3", 1000.0),
    (T.FLOAT, "", 0.0),
    (T.FLOAT, False, 0.0),
    (T.FLOAT, "inf", float("inf")),
    (T.BOOL, 1, True),
    (T.BOOL, 0, False),
    (T.BOOL, 0.5, True),
    (T.BOOL, "", False),
    (T.BOOL, "T", True),
    (T.BOOL, "FALSE", False),
    (T.DURATION_SECOND, 90, 90),
    (T.DURATION_SECOND, 90.9, 90),
    (T.DURATION_SECOND, "", 0),
    (T.DURATION_SECOND, "90", 90),
    (T.DURATION_SECOND, "1h30m", 5400),
    (T.DURATION_SECOND, "1.5h", 5400),
    (T.DURATION_SECOND, "2d", 172800),
    (T.DURATION_SECOND, "1500ms", 1),
    (T.DURATION_SECOND, "-0.5s", 0),
    (T.SIGNED_DURATION_SECOND, "-1h", -3600),
    (T.SIGNED_DURATION_SECOND, -5, -5),
    (T.MAP, {"a": 1, "b": [1]}, {"a": 1, "b": [1]}),
    (T.MAP, [{"a": 1}, {"b": 2}, {"a": 3}], {"a": 3, "b": 2}),
    (T.MAP, [[{"a": 1}], None], {"a": 1}),
    (T.MAP, [], {}),
    (T.KV_PAIRS, {"a": "x", "n": 5, "t": True, "z": None}, {"a": "x", "n": "5", "t": "1", "z": ""}),
    (T.KV_PAIRS, ["a=b", "c=d=e", "e="], {"a": "b", "c": "d=e", "e": ""}),
    (T.KV_PAIRS, "k=v", {"k": "v"}),
    (T.KV_PAIRS, [], {}),
    (T.SLICE, [1, "a", None], [1, "a", None]),
    (T.SLICE, "x", ["x"]),
    (T.SLICE, "", [""]),
    (T.SLICE, {}, []),
    (T.SLICE, {"a": 1}, [{"a": 1}]),
    (T.STRING_SLICE, ["a ", " b", 1, True, None], ["a", "b", "1", "1", ""]),
    (T.STRING_SLICE, "a,b", ["a,b"]),
    (T.STRING_SLICE, "", []),
    (T.STRING_SLICE, [""], [""]),
    (T.STRING_SLICE, 5, ["5"]),
    (T.STRING_SLICE, "\u00a0x\u3000", ["x"]),
    (T.COMMA_STRING_SLICE, "a,,b", ["a", "", "b"]),
    (T.COMMA_STRING_SLICE, " a , b ", ["a", "b"]),
    (T.COMMA_STRING_SLICE, "", []),
    (T.COMMA_STRING_SLICE, ["a,b", " c"], ["a,b", "c"]),
    (T.COMMA_STRING_SLICE, 1.5, ["1.5"]),
    (T.COMMA_STRING_SLICE, "\x1fa", ["\x1fa"]),
    (T.COMMA_INT_SLICE, "1,2,3", [1, 2, 3]),
    (T.COMMA_INT_SLICE, "1,,010", [1, 0, 8]),
    (T.COMMA_INT_SLICE, "", []),
    (T.COMMA_INT_SLICE, [1, "2", 3.7, None, True], [1, 2, 3, 0, 1]),
    (T.COMMA_INT_SLICE, 4, [4]),
    (
        T.HEADER,
        {"content-type": "a", "X-LIST": ["b", "c"], "n": 5},
        {
            "Content-Type": ["a"],
            "X-List": ["b", "c"],
            "N": ["5"],
        },
    ),
    (T.HEADER, '{"accept": ["x"]}', {"Accept": ["x"]}),
    (T.HEADER, "eyJhY2NlcHQiOiAieCJ9", {"Accept": ["x"]}),
    (
        T.HEADER,
        ["content-type:text/plain", "x:a:b"],
        {"Content-Type": ["text/plain"], "X": ["a:b"]},
    ),
    (T.HEADER, " null", {}),  # not base64 (the space), so read as JSON
    (T.HEADER, {"bad key": "v"}, {"bad key": ["v"]}),
    (T.TIME, "2024-01-02T15:04:05Z", datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)),
    (T.TIME, "1704207845", datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)),
    (T.TIME, 1704207845, datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)),
]


@pytest.mark.parametrize(("field_type", "raw", "expected"), ACCEPTED)
def test_accepted_inputs(field_type: FieldType, raw: Any, expected: Any) -> None:
    value, is_set = convert(field_type, raw)
    assert is_set
    assert value == expected
    assert type(value) is type(expected)


REFUSED: list[tuple[FieldType, Any, str]] = [
    (T.STRING, {"a": 1}, "expected a string, got an object"),
    (T.STRING, [1], "expected a string, got an array"),
    (T.NAME_STRING, "-a", "does not match the formatting rules"),
    (T.NAME_STRING, "a b", "does not match the formatting rules"),
    (T.NAME_STRING, "é", "does not match the formatting rules"),
    (T.INT, "abc", '"abc" is not an integer'),
    (T.INT, "1.5", "is not an integer"),
    (T.INT, " 1", "is not an integer"),
    (T.INT, "08", "is not an integer"),
    (T.INT, "9223372036854775808", "out of range"),
    (T.INT, 2**63, "out of range"),
    (T.INT, 1e300, "out of range"),
    (T.INT, float("nan"), "expected an integer"),
    (T.INT, [1], "expected an integer, got an array"),
    (T.FLOAT, "x", "is not a number"),
    (T.FLOAT, "1e999", "out of range"),
    (T.FLOAT, {}, "expected a number"),
    (T.BOOL, "yes", "is not a boolean"),
    (T.BOOL, [], "expected a boolean"),
    (T.DURATION_SECOND, "-5", "cannot provide negative value '-5'"),
    (T.DURATION_SECOND, -1.5, "cannot provide negative value '-1'"),
    (T.DURATION_SECOND, "5 minutes", "unknown unit"),
    (T.DURATION_SECOND, "1.5", "missing unit"),
    (T.DURATION_SECOND, True, "could not parse duration"),
    (T.DURATION_SECOND, {"s": 1}, "could not parse duration"),
    (T.DURATION_SECOND, 10**12, "overflow"),
    (T.MAP, "x", "expected an object, got a string"),
    (T.MAP, [{"a": 1}, 2], "element 1: expected an object"),
    (T.KV_PAIRS, "novalue", 'invalid key pair "novalue"'),
    (T.KV_PAIRS, ["=v"], 'invalid key pair "=v"'),
    (T.KV_PAIRS, [""], 'invalid key pair ""'),
    (T.KV_PAIRS, {"a": [1]}, 'key "a": expected a string, got an array'),
    (T.STRING_SLICE, {"a": 1}, "element 0: expected a string, got an object"),
    (T.STRING_SLICE, [[1]], "element 0: expected a string"),
    (T.COMMA_INT_SLICE, "1, 2", 'element 1: " 2" is not an integer'),
    (T.COMMA_INT_SLICE, [[1]], "element 0: expected an integer"),
    (T.HEADER, {"a": True}, 'header "a"'),
    (T.HEADER, {"a": [{}]}, 'header "a": values must be strings'),
    (T.HEADER, "not json", "expected an object of headers"),
    (T.HEADER, "[1]", "header JSON must be an object"),
    (T.HEADER, "null", "expected an object of headers"),  # valid base64, so decoded first
    (T.HEADER, ["nocolon"], 'invalid key pair "nocolon"'),
    (T.HEADER, [1], 'element 0: expected a "Key:Value" string'),
    (T.HEADER, 5, 'element 0: expected a "Key:Value" string'),
    (T.TIME, 1.5, "could not parse time from input type"),
    (T.TIME, "tomorrow", "could not parse string as date and time"),
    (T.TIME, True, "could not parse time from input type"),
]


@pytest.mark.parametrize(("field_type", "raw", "fragment"), REFUSED)
def test_refused_inputs_name_the_accepted_form(
    field_type: FieldType, raw: Any, fragment: str
) -> None:
    with pytest.raises(FieldConversionError) as caught:
        convert(field_type, raw)
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("field_type", "zero"),
    [
        (T.STRING, ""),
        (T.LOWERCASE_STRING, ""),
        (T.INT, 0),
        (T.INT64, 0),
        (T.FLOAT, 0.0),
        (T.BOOL, False),
        (T.MAP, {}),
        (T.KV_PAIRS, {}),
        (T.SLICE, []),
        (T.STRING_SLICE, []),
        (T.COMMA_STRING_SLICE, []),
        (T.COMMA_INT_SLICE, []),
        (T.HEADER, {}),
    ],
)
def test_null_is_the_zero_value_and_counts_as_set(field_type: FieldType, zero: Any) -> None:
    assert convert(field_type, None) == (zero, True)


@pytest.mark.parametrize("field_type", [T.DURATION_SECOND, T.SIGNED_DURATION_SECOND, T.TIME])
def test_null_duration_and_time_count_as_unset(field_type: FieldType) -> None:
    assert convert(field_type, None) == (None, False)


def test_null_name_string_fails_its_rule() -> None:
    with pytest.raises(FieldConversionError, match="formatting rules"):
        convert(T.NAME_STRING, None)


def test_defaults_are_converted_once_at_declaration() -> None:
    schema = {
        "ttl": FieldSchema(T.DURATION_SECOND, default="1h"),
        "tags": FieldSchema(T.COMMA_STRING_SLICE, default="a,b"),
        "count": FieldSchema(T.INT, default="010"),
        "plain": FieldSchema(T.STRING),
        "when": FieldSchema(T.TIME),
    }
    data = FieldData({}, schema)
    assert data.get("ttl") == 3600
    assert data.get_duration("ttl") == timedelta(hours=1)
    assert data.get("tags") == ["a", "b"]
    assert data.get("count") == 8
    assert data.get("plain") == ""
    assert data.get("when") == ZERO_TIME


def test_mutable_defaults_are_fresh_per_read() -> None:
    data = FieldData({}, {"tags": FieldSchema(T.STRING_SLICE, default=["a"])})
    first = data.get_str_list("tags")
    first.append("mutated")
    assert FieldData({}, data.schema).get_str_list("tags") == ["a"]


def test_invalid_default_is_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match="not a valid int"):
        FieldSchema(T.INT, default="ten")


def test_null_duration_falls_back_to_the_default() -> None:
    data = FieldData({"ttl": None}, {"ttl": FieldSchema(T.DURATION_SECOND, default="1m")})
    assert data.get_ok("ttl") == (None, False)
    assert not data.is_set("ttl")
    assert data.get_int("ttl") == 60


def test_null_string_keeps_the_zero_value_not_the_default() -> None:
    data = FieldData({"s": None}, {"s": FieldSchema(T.STRING, default="dflt")})
    assert data.get_ok("s") == ("", True)
    assert data.get("s") == ""


def test_validate_names_the_field_in_go_wording() -> None:
    data = FieldData(
        {"count": "abc", "other": "ignored"}, {"count": FieldSchema(T.INT), "x": FieldSchema(T.INT)}
    )
    with pytest.raises(FieldValidationError) as caught:
        data.validate()
    assert str(caught.value).startswith('error converting input for field "count": ')
    assert caught.value.field == "count"


def test_validate_ignores_undeclared_values() -> None:
    FieldData({"undeclared": object()}, {"a": FieldSchema(T.INT)}).validate()


def test_get_ok_err_and_unknown_fields() -> None:
    data = FieldData({"a": "1"}, {"a": FieldSchema(T.INT), "b": FieldSchema(T.INT)})
    assert data.get_ok_err("a") == (1, True)
    assert data.get_ok_err("b") == (None, False)
    assert data.get_ok("nope") == (None, False)
    with pytest.raises(UnknownFieldError):
        data.get_ok_err("nope")
    with pytest.raises(UnknownFieldError):
        data.get("nope")
    bad = FieldData({"a": "x"}, {"a": FieldSchema(T.INT)})
    with pytest.raises(FieldConversionError):
        bad.get_ok_err("a")


def test_get_first_and_explicit_default() -> None:
    schema = {"new": FieldSchema(T.STRING), "old": FieldSchema(T.STRING)}
    assert FieldData({"old": "x"}, schema).get_first("new", "old") == ("x", True)
    assert FieldData({}, schema).get_first("new", "old") == (None, False)
    assert FieldData({}, schema).get_with_explicit_default("new", "fallback") == "fallback"


def test_typed_getters_refuse_other_types() -> None:
    data = FieldData({"n": 1}, {"n": FieldSchema(T.INT), "s": FieldSchema(T.STRING)})
    assert data.get_int("n") == 1
    with pytest.raises(TypeError, match="not a string"):
        data.get_str("n")
    with pytest.raises(TypeError, match="not an integer"):
        data.get_int("s")


def test_each_typed_getter_returns_its_type() -> None:
    schema = {
        "s": FieldSchema(T.NAME_STRING),
        "i": FieldSchema(T.INT64),
        "f": FieldSchema(T.FLOAT),
        "b": FieldSchema(T.BOOL),
        "d": FieldSchema(T.SIGNED_DURATION_SECOND),
        "t": FieldSchema(T.TIME),
        "l": FieldSchema(T.SLICE),
        "sl": FieldSchema(T.COMMA_STRING_SLICE),
        "il": FieldSchema(T.COMMA_INT_SLICE),
        "m": FieldSchema(T.MAP),
        "kv": FieldSchema(T.KV_PAIRS),
        "h": FieldSchema(T.HEADER),
    }
    raw = {
        "s": "n",
        "i": "5",
        "f": "2.5",
        "b": "t",
        "d": "-1m",
        "t": "0",
        "l": 1,
        "sl": "a,b",
        "il": "1,2",
        "m": {"k": 1},
        "kv": "a=b",
        "h": ["a:b"],
    }
    data = FieldData(raw, schema)
    data.validate()
    assert data.get_str("s") == "n"
    assert data.get_int("i") == 5
    assert data.get_float("f") == 2.5
    assert data.get_bool("b") is True
    assert data.get_duration("d") == timedelta(minutes=-1)
    assert data.get_time("t") == datetime(1970, 1, 1, tzinfo=UTC)
    assert data.get_list("l") == [1]
    assert data.get_str_list("sl") == ["a", "b"]
    assert data.get_int_list("il") == [1, 2]
    assert data.get_map("m") == {"k": 1}
    assert data.get_kv("kv") == {"a": "b"}
    assert data.get_header("h") == {"A": ["b"]}
