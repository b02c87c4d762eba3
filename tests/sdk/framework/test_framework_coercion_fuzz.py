"""Fuzzing field coercion: any JSON-ish input converts or raises FieldConversionError, and
values written in the accepted forms come back unchanged."""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.framework import (
    FieldConversionError,
    FieldData,
    FieldSchema,
    FieldType,
    FieldValidationError,
    canonical_header_key,
    convert,
    format_duration,
)
from vault_plugin_litellm.sdk.framework.goparse import format_float, format_rfc3339

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["", "0", "010", "0x1f", "1h", "1.5", "a=b", "k:v", "{}", "null", "t", "2d"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400)
@given(field_type=st.sampled_from(list(FieldType)), raw=json_values)
def test_convert_raises_only_the_documented_error(field_type: FieldType, raw: Any) -> None:
    error: FieldConversionError | None = None
    try:
        value, is_set = convert(field_type, raw)
    except FieldConversionError as exc:
        error = exc
    if error is not None:
        assert error.message
        return
    if not is_set:
        assert value is None
        assert raw is None


@settings(max_examples=200)
@given(raw=st.dictionaries(st.sampled_from(["a", "b", "c", "x"]), json_values, max_size=4))
def test_field_data_validation_raises_only_validation_errors(raw: dict[str, Any]) -> None:
    schema = {
        "a": FieldSchema(FieldType.INT),
        "b": FieldSchema(FieldType.DURATION_SECOND),
        "c": FieldSchema(FieldType.HEADER),
    }
    data = FieldData(raw, schema)
    error: FieldValidationError | None = None
    try:
        data.validate()
    except FieldValidationError as exc:
        error = exc
    if error is not None:
        assert error.field in raw
        assert str(error).startswith(f'error converting input for field "{error.field}": ')
        return
    for key in schema:
        data.get(key)  # never raises once validated


@given(INT64)
def test_int_round_trips_through_every_go_literal(value: int) -> None:
    assert convert(FieldType.INT, value) == (value, True)
    assert convert(FieldType.INT, str(value)) == (value, True)
    sign = "-" if value < 0 else ""
    assert convert(FieldType.INT64, f"{sign}0x{abs(value):x}")[0] == value
    assert convert(FieldType.INT64, f"{sign}0o{abs(value):o}")[0] == value
    assert convert(FieldType.INT64, f"{sign}0{abs(value):o}")[0] == value
    assert convert(FieldType.INT64, f"{sign}0b{abs(value):b}")[0] == value
    assert convert(FieldType.STRING, value) == (str(value), True)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_round_trips_through_go_formatting(value: float) -> None:
    text = format_float(value)
    assert "e" not in text
    assert convert(FieldType.FLOAT, text) == (value, True)
    assert convert(FieldType.STRING, value) == (text, True)
    assert convert(FieldType.FLOAT, repr(value)) == (value, True)


@given(st.floats(min_value=-(2.0**62), max_value=2.0**62))
def test_int_from_float_truncates_towards_zero(value: float) -> None:
    assert convert(FieldType.INT, value)[0] == int(value)


@given(st.booleans())
def test_bool_round_trips(value: bool) -> None:
    for text in (str(value), str(value).lower(), str(value).upper(), str(int(value))):
        assert convert(FieldType.BOOL, text) == (value, True)
    assert convert(FieldType.STRING, value) == (str(int(value)), True)


@given(st.integers(min_value=0, max_value=10**8))
def test_duration_round_trips(seconds: int) -> None:
    expected = (seconds, True)
    assert convert(FieldType.DURATION_SECOND, seconds) == expected
    assert convert(FieldType.DURATION_SECOND, str(seconds)) == expected
    assert convert(FieldType.DURATION_SECOND, f"{seconds}s") == expected
    assert (
        convert(FieldType.DURATION_SECOND, format_duration(timedelta(seconds=seconds))) == expected
    )
    hours, rest = divmod(seconds, 3600)
    assert convert(FieldType.DURATION_SECOND, f"{hours}h{rest // 60}m{rest % 60}s") == expected


@given(st.integers(min_value=1, max_value=10**8))
def test_unsigned_duration_refuses_negatives(seconds: int) -> None:
    with pytest.raises(FieldConversionError) as caught:
        convert(FieldType.DURATION_SECOND, -seconds)
    assert caught.value.message == f"cannot provide negative value '{-seconds}'"
    assert convert(FieldType.SIGNED_DURATION_SECOND, f"-{seconds}s") == (-seconds, True)


_PLAIN = st.text(
    alphabet=string.ascii_letters + string.digits + "_-./ ", min_size=1, max_size=8
).map(str.strip)


@given(st.lists(_PLAIN.filter(bool), min_size=1, max_size=6))
def test_comma_string_slice_round_trips(items: list[str]) -> None:
    assert convert(FieldType.COMMA_STRING_SLICE, ",".join(items)) == (items, True)
    assert convert(FieldType.COMMA_STRING_SLICE, items) == (items, True)
    assert convert(FieldType.STRING_SLICE, items) == (items, True)


@given(st.lists(INT64, min_size=1, max_size=6))
def test_comma_int_slice_round_trips(items: list[int]) -> None:
    assert convert(FieldType.COMMA_INT_SLICE, ",".join(map(str, items))) == (items, True)
    assert convert(FieldType.COMMA_INT_SLICE, items) == (items, True)


_KEY = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=8)


@given(st.dictionaries(_KEY, st.text(max_size=8), max_size=5))
def test_kv_pairs_round_trip_in_both_forms(pairs: dict[str, str]) -> None:
    assert convert(FieldType.KV_PAIRS, pairs) == (pairs, True)
    as_list = [f"{key}={value}" for key, value in pairs.items()]
    assert convert(FieldType.KV_PAIRS, as_list) == (pairs, True)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_map_keeps_objects_as_they_are(value: dict[str, Any]) -> None:
    converted, _ = convert(FieldType.MAP, value)
    assert json.dumps(converted, sort_keys=True, default=repr) == json.dumps(
        value, sort_keys=True, default=repr
    )
    assert convert(FieldType.MAP, [value])[0].keys() == value.keys()


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12))
def test_header_keys_are_canonical_and_stable(key: str) -> None:
    canonical = canonical_header_key(key)
    assert canonical_header_key(canonical) == canonical
    assert canonical.lower() == key.lower()
    headers, _ = convert(FieldType.HEADER, {key: "v"})
    assert headers == {canonical: ["v"]}
    assert convert(FieldType.HEADER, [f"{key}:v"])[0] == {canonical: ["v"]}
    assert convert(FieldType.HEADER, json.dumps({key: ["v"]}))[0] == {canonical: ["v"]}


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_time_round_trips_through_rfc3339(moment: datetime) -> None:
    assert convert(FieldType.TIME, format_rfc3339(moment)) == (moment, True)
    whole = moment.replace(microsecond=0)
    if whole.year >= 1970:
        assert convert(FieldType.TIME, int(whole.timestamp())) == (whole, True)


_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")


@given(st.text(max_size=10))
def test_name_string_accepts_exactly_the_generic_name_rule(text: str) -> None:
    try:
        value, _ = convert(FieldType.NAME_STRING, text)
    except FieldConversionError:
        assert _NAME.fullmatch(text) is None
    else:
        assert value == text
        assert _NAME.fullmatch(text) is not None


@given(st.text(max_size=12))
def test_string_and_lowercase_keep_any_text(text: str) -> None:
    assert convert(FieldType.STRING, text) == (text, True)
    assert convert(FieldType.LOWERCASE_STRING, text) == (text.lower(), True)
