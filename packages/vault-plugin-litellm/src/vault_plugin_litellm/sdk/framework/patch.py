"""JSON merge patch (RFC 7396) for ``patch`` operations, as Go's HandlePatchOperation does it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from vault_plugin_litellm.sdk.logical import LogicalError

from .field_data import FieldData
from .field_type import FieldType
from .goparse import format_rfc3339

PatchPreprocessor = Callable[[dict[str, Any]], dict[str, Any]]

# Go decodes null into a nil map for these, which marshals as null: the merge deletes the key.
_NULL_DELETES = (FieldType.MAP, FieldType.KV_PAIRS)


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, ``null`` deletes a key, anything else replaces.

    Neither argument is modified.
    """
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def _json_ready(value: Any) -> Any:
    # Go marshals the converted values to JSON before merging; a time becomes RFC 3339.
    if isinstance(value, datetime):
        return format_rfc3339(value)
    return value


def handle_patch_operation(
    data: FieldData,
    resource: Mapping[str, Any] | None,
    preprocessor: PatchPreprocessor | None = None,
) -> dict[str, Any]:
    """Merge the request's declared, set fields into ``resource`` and return the result.

    Values are converted with the field types first, so ``null`` follows Go's field rules:
    for a map or keypair field it deletes the stored value; for a duration or time it
    leaves the stored value alone; other types take their zero value; and inside a map
    value it deletes that key from the stored map.
    ``preprocessor`` may reshape the patch (e.g. rename fields to storage names) first.
    Raises a plain :class:`LogicalError` (a 500) when ``resource`` is ``None``: callers
    answer "not found" themselves before patching.
    """
    if resource is None:
        raise LogicalError("resource does not exist")
    patch: dict[str, Any] = {}
    raw = data.raw
    for key in raw:
        schema = data.schema.get(key)
        if schema is None:
            continue
        value, is_set = data.get_ok_err(key)
        if raw[key] is None and schema.type in _NULL_DELETES:
            patch[key] = None
        elif is_set:
            patch[key] = _json_ready(value)
    if preprocessor is not None:
        patch = preprocessor(patch)
    merged = json_merge_patch(resource, patch)
    assert isinstance(merged, dict)
    return merged
