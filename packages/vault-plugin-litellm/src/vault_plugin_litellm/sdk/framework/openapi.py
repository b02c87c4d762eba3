"""The OpenAPI 3.0.2 document a backend answers help requests with.

The host merges each mount's ``paths`` and ``components.schemas`` into
``sys/internal/specs/openapi``. Its decoding drops ``$ref`` values coming from external
plugins (docs/host-behaviour.md §13), so request and response schemas are written inline;
they are also listed under ``components.schemas`` by Go's names, for tools that look there.
Everything must decode as Go's ``OASDocument``: booleans stay booleans, response codes are
string keys, optional members are left out rather than null.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vault_plugin_litellm.sdk.logical import BackendType, Operation, SpecialPaths

from .field_type import FieldType
from .fields import DisplayAttributes, FieldSchema
from .goparse import format_rfc3339
from .path import OperationResponse, Path, PathOperation
from .pattern_expand import UndocumentablePatternError, expand_pattern
from .router import CompiledPath

OAS_VERSION = "3.0.2"
OPENBAO_TITLE = "OpenBao API"
VAULT_TITLE = "HashiCorp Vault API"

_NON_WORD = re.compile(r"[^\w]+", re.ASCII)
_PATH_FIELD = re.compile(r"\{(\w+)\}", re.ASCII)
_WHITESPACE = re.compile(r"\s+")


def api_title(server_version: str) -> str:
    """The document title for the host: Vault releases are 1.x, OpenBao's 2.x and later."""
    return VAULT_TITLE if server_version.split(".", 1)[0] == "1" else OPENBAO_TITLE


def new_document(version: str, title: str = OPENBAO_TITLE) -> dict[str, Any]:
    return {
        "openapi": OAS_VERSION,
        "info": {
            "title": title,
            "description": "HTTP API of the server; every route is under `/v1/`.",
            "version": version,
            "license": {
                "name": "Mozilla Public License 2.0",
                "url": "https://www.mozilla.org/en-US/MPL/2.0",
            },
        },
        "paths": {},
        "components": {"schemas": {}},
    }


@dataclass(frozen=True, slots=True)
class _SchemaType:
    base: str
    items: str = ""
    format: str = ""
    pattern: str = ""


_SCHEMA_TYPES = {
    FieldType.STRING: _SchemaType("string"),
    FieldType.HEADER: _SchemaType("string"),
    FieldType.NAME_STRING: _SchemaType("string", pattern=r"\w([\w-.]*\w)?"),
    FieldType.LOWERCASE_STRING: _SchemaType("string", format="lowercase"),
    FieldType.INT: _SchemaType("integer"),
    FieldType.INT64: _SchemaType("integer", format="int64"),
    FieldType.DURATION_SECOND: _SchemaType("integer", format="seconds"),
    FieldType.SIGNED_DURATION_SECOND: _SchemaType("integer", format="seconds"),
    FieldType.BOOL: _SchemaType("boolean"),
    FieldType.MAP: _SchemaType("object", format="map"),
    FieldType.KV_PAIRS: _SchemaType("object", format="kvpairs"),
    FieldType.SLICE: _SchemaType("array", items="object"),
    FieldType.STRING_SLICE: _SchemaType("array", items="string"),
    FieldType.COMMA_STRING_SLICE: _SchemaType("array", items="string"),
    FieldType.COMMA_INT_SLICE: _SchemaType("array", items="integer"),
    FieldType.TIME: _SchemaType("string", format="date-time"),
    FieldType.FLOAT: _SchemaType("number", format="float"),
}


def clean_string(text: str) -> str:
    return _WHITESPACE.sub(" ", text.strip())


def _json_value(value: Any) -> Any:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, datetime):
        return format_rfc3339(value)
    return value


def _display(attrs: DisplayAttributes | None) -> dict[str, Any] | None:
    return None if attrs is None else attrs.to_openapi()


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless the value is empty (Go's ``omitempty``)."""
    if value not in (None, "", False, [], {}, ()):
        target[key] = value


def field_schema(schema: FieldSchema, *, with_description: bool = True) -> dict[str, Any]:
    """The OpenAPI schema of one field."""
    kind = _SCHEMA_TYPES[schema.type]
    out: dict[str, Any] = {"type": kind.base}
    if with_description:
        _put(out, "description", clean_string(schema.description))
    _put(out, "format", kind.format)
    _put(out, "pattern", kind.pattern)
    _put(out, "enum", list(schema.allowed_values))
    if schema.default is not None:
        # The converted default, so that it fits the schema's type ("1h" for a duration
        # is 3600); zero and false are defaults too, and Go emits them.
        out["default"] = _json_value(schema.default_or_zero())
    _put(out, "deprecated", schema.deprecated)
    _put(out, "x-vault-displayAttrs", _display(schema.display_attrs))
    if kind.base == "array":
        out["items"] = {"type": kind.items}
    return out


def _object_schema(fields: Mapping[str, FieldSchema]) -> dict[str, Any]:
    properties = {name: field_schema(schema) for name, schema in fields.items()}
    required = sorted(name for name, schema in fields.items() if schema.required)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    _put(out, "required", required)
    return out


def special_path_match(path: str, special_paths: list[str]) -> bool:
    """Whether ``path`` is covered by a special-path entry (exact, ``*`` suffix, ``+`` part)."""
    parts = path.split("/")
    for special in special_paths:
        if special == path:
            return True
        if special.endswith("*") and path.startswith(special[:-1]):
            return True
        if "+" in special and _matches_by_parts(parts, special.split("/")):
            return True
    return False


def _matches_by_parts(parts: list[str], pattern_parts: list[str]) -> bool:
    if len(parts) < len(pattern_parts):
        return False
    for part, pattern in zip(parts, pattern_parts, strict=False):
        if pattern == "+":
            continue
        if pattern == "*":
            return True
        if pattern.endswith("*") and part.startswith(pattern[:-1]):
            return True
        if pattern != part:
            return False
    return len(parts) == len(pattern_parts)


def _hyphenate(parts: list[str]) -> str:
    return "-".join(part for part in parts if part).lower()


def construct_operation_id(
    path: str,
    path_index: int,
    path_attrs: DisplayAttributes | None,
    operation: Operation,
    operation_attrs: DisplayAttributes | None,
    default_prefix: str,
) -> str:
    """``prefix-verb-suffix``: from the display attributes when given, else the request
    prefix (the plugin name), the operation (``write`` for update) and the path's words."""
    prefix = operation_attrs.operation_prefix if operation_attrs else ""
    verb = operation_attrs.operation_verb if operation_attrs else ""
    suffix = operation_attrs.operation_suffix if operation_attrs else ""
    if path_attrs is not None:
        prefix = prefix or path_attrs.operation_prefix
        verb = verb or path_attrs.operation_verb
        suffix = suffix or path_attrs.operation_suffix

    index_out_of_range = False
    suffixes = suffix.split("|")
    if len(suffixes) > 1 or path_index > 0:
        if path_index >= len(suffixes):
            suffix = ""
            index_out_of_range = True
        else:
            suffix = suffixes[path_index]

    need_prefix = not prefix and not verb
    need_verb = not verb
    need_suffix = not suffix and (not verb or index_out_of_range)
    if need_prefix:
        prefix = default_prefix
    if need_verb:
        verb = "write" if operation is Operation.UPDATE else operation.value
    if need_suffix:
        suffix = _hyphenate(_NON_WORD.split(path))
    return _hyphenate([prefix, verb, suffix])


def title_case_id(operation_id: str) -> str:
    """``example-read-kv-name`` -> ``ExampleReadKvName`` (schema names)."""
    return "".join(word[:1].upper() + word[1:] for word in operation_id.split("-"))


def _list_parameter(name: str, description: str, *, required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if required:
        schema["enum"] = ["true"]
    out: dict[str, Any] = {"name": name, "description": description, "in": "query"}
    out["schema"] = schema
    if required:
        out["required"] = True
    return out


def _required_flag(flag: str, other: str, other_supported: bool) -> list[dict[str, Any]]:
    """The query flag a list-like GET needs (``list=true``), naming the alternative flag
    when the path supports both listing kinds."""
    params = []
    if other_supported:
        params.append(
            _list_parameter(
                other,
                f"Must be set to `true` or else `{flag}` must be set to `true`",
                required=True,
            )
        )
    description = (
        f"Must be set to `true` or else `{other}` must be set to `true`"
        if other_supported
        else "Must be set to `true`"
    )
    params.append(_list_parameter(flag, description, required=True))
    return params


def _operation_parameters(
    operation: Operation, handlers: Mapping[Operation, PathOperation]
) -> list[dict[str, Any]]:
    has_list = Operation.LIST in handlers
    has_scan = Operation.SCAN in handlers
    if operation is Operation.LIST:
        return _required_flag("list", "scan", has_scan)
    if operation is Operation.SCAN:
        return _required_flag("scan", "list", has_list)
    params = []
    if operation is Operation.READ:
        if has_list:
            params.append(_list_parameter("list", "Return a list if `true`", required=False))
        if has_scan:
            params.append(
                _list_parameter("scan", "Return a recursive list if `true`", required=False)
            )
    return params


def _responses(
    operation: Operation,
    documented: Mapping[int, Sequence[OperationResponse]],
    operation_id: str,
    schemas: dict[str, Any],
) -> dict[str, Any]:
    if not documented:
        if operation is Operation.DELETE:
            return {"204": {"description": "empty body"}}
        return {"200": {"description": "OK"}}
    out: dict[str, Any] = {}
    for code, responses in documented.items():
        description = ""
        content: dict[str, Any] = {}
        for position, response in enumerate(responses):
            if position == 0:
                description = response.description
            if response.example is not None:
                media = response.media_type or "application/json"
                content.setdefault(media, {"schema": {"example": {"data": dict(response.example)}}})
            if response.fields:
                schema = _object_schema(response.fields)
                schemas.setdefault(title_case_id(operation_id) + "Response", schema)
                content = {"application/json": {"schema": schema}}
        entry: dict[str, Any] = {"description": description}
        _put(entry, "content", content)
        out[str(code)] = entry
    return out


_METHODS = {
    Operation.CREATE: "post",
    Operation.UPDATE: "post",
    Operation.READ: "get",
    Operation.LIST: "get",
    Operation.SCAN: "get",
    Operation.DELETE: "delete",
    Operation.PATCH: "patch",
}
_BODY_OPERATIONS = frozenset({Operation.CREATE, Operation.UPDATE, Operation.PATCH})


def _path_parameters(path: Path, in_path: set[str]) -> list[dict[str, Any]]:
    """The parameters of every operation: the fields in the path, then the query fields."""
    parameters = []
    for name in sorted(in_path | {n for n, s in path.fields.items() if s.query}, key=str.lower):
        schema = path.fields.get(name)
        if schema is None:
            continue
        located_in_path = name in in_path
        parameter: dict[str, Any] = {"name": name}
        _put(parameter, "description", clean_string(schema.description))
        parameter["in"] = "path" if located_in_path else "query"
        parameter["schema"] = field_schema(schema, with_description=False)
        _put(parameter, "required", located_in_path)
        _put(parameter, "deprecated", schema.deprecated)
        parameters.append(parameter)
    return parameters


def _path_item(
    path: Path, variant: str, in_path: set[str], special_paths: SpecialPaths
) -> dict[str, Any]:
    """What an OpenAPI path item says of the path itself, before its operations."""
    item: dict[str, Any] = {}
    _put(item, "description", clean_string(path.help_synopsis))
    _put(item, "parameters", _path_parameters(path, in_path))
    _put(item, "x-vault-sudo", special_path_match(variant, special_paths.root))
    _put(
        item,
        "x-vault-unauthenticated",
        special_path_match(variant, special_paths.unauthenticated),
    )
    if Operation.CREATE in path.handlers and not path.handlers[Operation.CREATE].unpublished:
        item["x-vault-createSupported"] = True
    _put(item, "x-vault-displayAttrs", _display(path.display_attrs))
    return item


def _documented_operations(path: Path) -> Iterator[tuple[Operation, PathOperation, str]]:
    """The operations that get an HTTP method of their own, with that method."""
    list_handler = path.handlers.get(Operation.LIST)
    list_published = list_handler is not None and not list_handler.unpublished
    for operation, handler in path.handlers.items():
        method = _METHODS.get(operation)
        if method is None or handler.unpublished:
            continue
        if operation is Operation.CREATE and Operation.UPDATE in path.handlers:
            continue
        if operation in (Operation.LIST, Operation.SCAN) and Operation.READ in path.handlers:
            continue
        # Both would be the GET; Go keeps whichever its map iteration yields last. LIST
        # is kept, deterministically, and its parameters document the scan flag too.
        if operation is Operation.SCAN and list_published:
            continue
        yield operation, handler, method


def _operation_entry(
    path: Path,
    operation: Operation,
    handler: PathOperation,
    operation_id: str,
    body_fields: dict[str, FieldSchema],
    tags: list[str],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    _put(entry, "summary", handler.summary.strip())
    _put(entry, "description", handler.description.strip())
    entry["operationId"] = operation_id
    _put(entry, "tags", list(tags))
    _put(entry, "parameters", _operation_parameters(operation, path.handlers))
    if operation in _BODY_OPERATIONS:
        body = _object_schema(body_fields)
        if handler.examples:
            body["example"] = dict(handler.examples[0].data)
        if body["properties"] or "example" in body:
            schemas[title_case_id(operation_id) + "Request"] = body
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
    entry["responses"] = _responses(operation, handler.responses, operation_id, schemas)
    _put(entry, "deprecated", handler.deprecated)
    return entry


def document_path(
    compiled: CompiledPath,
    special_paths: SpecialPaths,
    prefix: str,
    backend_type: BackendType,
    doc: dict[str, Any],
) -> None:
    """Add the OpenAPI paths of one declared path to ``doc`` (nothing if undocumentable)."""
    path = compiled.path
    try:
        variants = expand_pattern(path.pattern)
    except UndocumentablePatternError:
        return
    tags = {BackendType.LOGICAL: ["secrets"], BackendType.CREDENTIAL: ["auth"]}.get(
        backend_type, []
    )
    schemas: dict[str, Any] = doc["components"]["schemas"]
    for index, variant in enumerate(variants):
        in_path = set(_PATH_FIELD.findall(variant))
        item = _path_item(path, variant, in_path, special_paths)
        body_fields = {
            name: schema
            for name, schema in path.fields.items()
            if name not in in_path and not schema.query
        }
        for operation, handler, method in _documented_operations(path):
            operation_id = construct_operation_id(
                variant, index, path.display_attrs, operation, handler.display_attrs, prefix
            )
            item[method] = _operation_entry(
                path, operation, handler, operation_id, body_fields, tags, schemas
            )
        doc["paths"]["/" + variant] = item


def document_backend(
    paths: tuple[CompiledPath, ...],
    special_paths: SpecialPaths,
    prefix: str,
    backend_type: BackendType,
    doc: dict[str, Any],
) -> None:
    for compiled in paths:
        document_path(compiled, special_paths, prefix, backend_type, doc)
