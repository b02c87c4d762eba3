"""JSON merge patch (RFC 7396) and patch handling through field types."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    handle_patch_operation,
    json_merge_patch,
)
from vault_plugin_litellm.sdk.logical import LogicalError

# The examples of RFC 7396, appendix A.
RFC_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES)
def test_rfc_7396_examples(target: Any, patch: Any, result: Any) -> None:
    before = copy.deepcopy(target)
    assert json_merge_patch(target, patch) == result
    assert target == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values, json_values)
def test_merge_patch_is_idempotent(target: Any, patch: Any) -> None:
    once = json_merge_patch(target, patch)
    assert json_merge_patch(once, patch) == once


SCHEMA = {
    "name": FieldSchema(FieldType.STRING),
    "count": FieldSchema(FieldType.INT),
    "ttl": FieldSchema(FieldType.DURATION_SECOND),
    "meta": FieldSchema(FieldType.MAP),
    "at": FieldSchema(FieldType.TIME),
}
RESOURCE = {"name": "a", "count": 2, "ttl": 60, "meta": {"x": 1, "y": 2}, "other": True}


def test_patch_converts_values_and_follows_null_rules() -> None:
    data = FieldData(
        {"count": "010", "ttl": None, "meta": {"x": None, "z": 3}, "name": None, "junk": 1},
        SCHEMA,
    )
    assert handle_patch_operation(data, RESOURCE) == {
        "name": "",  # null string: the zero value
        "count": 8,
        "ttl": 60,  # null duration: not part of the patch
        "meta": {"y": 2, "z": 3},  # null inside a map removes that key
        "other": True,  # undeclared input is never merged
    }
    assert RESOURCE["meta"] == {"x": 1, "y": 2}


def test_patch_times_become_rfc3339_and_preprocessor_runs() -> None:
    data = FieldData({"at": "2024-01-02T03:04:05Z", "count": 1}, SCHEMA)

    def rename(patch: dict[str, Any]) -> dict[str, Any]:
        patch["n"] = patch.pop("count")
        return patch

    merged = handle_patch_operation(data, {}, rename)
    assert merged == {"at": "2024-01-02T03:04:05Z", "n": 1}


def test_patch_of_a_missing_resource_is_an_error() -> None:
    with pytest.raises(LogicalError, match="resource does not exist"):
        handle_patch_operation(FieldData({}, SCHEMA), None)


def test_null_map_and_keypair_fields_delete_the_stored_value_as_in_go() -> None:
    schema = {
        "meta": FieldSchema(FieldType.MAP),
        "labels": FieldSchema(FieldType.KV_PAIRS),
        "headers": FieldSchema(FieldType.HEADER),
        "tags": FieldSchema(FieldType.COMMA_STRING_SLICE),
        "ttl": FieldSchema(FieldType.DURATION_SECOND),
    }
    stored = {
        "meta": {"a": "1"},
        "labels": {"x": "y"},
        "headers": {"A": ["b"]},
        "tags": ["q"],
        "ttl": 5,
        "kept": True,
    }
    data = FieldData(dict.fromkeys(schema), schema)
    assert handle_patch_operation(data, stored) == {
        # Go decodes null into a nil map, which marshals as null: the key is deleted.
        "headers": {"A": ["b"]},  # a header decodes to an empty (not nil) map: merged, kept
        "tags": [],  # slices decode to empty lists
        "ttl": 5,  # null durations are not set at all
        "kept": True,
    }
    seen: list[dict[str, Any]] = []

    def record(patch: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(patch))
        return patch

    handle_patch_operation(FieldData({"meta": None}, schema), stored, record)
    assert seen == [{"meta": None}]
    # A present map still merges key by key.
    merged = handle_patch_operation(FieldData({"labels": ["z=1"]}, schema), stored)
    assert merged["labels"] == {"x": "y", "z": "1"}
