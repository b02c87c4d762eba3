"""OpenAPI: pattern expansion, operation ids, inline schemas and the document's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.framework import (
    Backend,
    DisplayAttributes,
    FieldData,
    FieldSchema,
    FieldType,
    OperationResponse,
    Path,
    PathOperation,
    RequestExample,
    UndocumentablePatternError,
    api_title,
    expand_pattern,
    generic_name_regex,
    optional_generic_name_regex,
)
from vault_plugin_litellm.sdk.framework.openapi import (
    construct_operation_id,
    special_path_match,
    title_case_id,
)
from vault_plugin_litellm.sdk.logical import Operation, Request, Response, SpecialPaths


async def _handler(req: Request, data: FieldData) -> Response | None:
    return None


@pytest.mark.parametrize(
    ("pattern", "paths"),
    [
        ("config", ["config"]),
        ("^config$", ["config"]),
        ("kv/?$", ["kv"]),
        ("kv/" + generic_name_regex("name"), ["kv/{name}"]),
        ("roles" + optional_generic_name_regex("name") + "/?", ["roles", "roles/{name}"]),
        ("keys/(internal|exported)", ["keys/internal", "keys/exported"]),
        ("a(?:b|c)?d", ["ad", "abd", "acd"]),
        (
            "crl(/pem|/der|/delta(/pem|/der)?)?",
            ["crl", "crl/pem", "crl/der", "crl/delta", "crl/delta/pem", "crl/delta/der"],
        ),
        (r"wal\-demo", ["wal-demo"]),
        ("a/(?P<x>[^/]+)/b/(?P<y>.*)", ["a/{x}/b/{y}"]),
        ("(?i)lower", ["lower"]),
        ("ab??", ["a", "ab"]),
        (r"\x41b", ["Ab"]),
        ("(?<id>x)/y", ["{id}/y"]),  # Go's spelling of a named group
        ("x{,3}", ["x{,3}"]),  # literal text in Go's RE2
    ],
)
def test_expand_pattern(pattern: str, paths: list[str]) -> None:
    assert expand_pattern(pattern) == paths


@pytest.mark.parametrize(
    "pattern", [".*", "kv/.+", "a+", "[ab]c", "x{2}", r"\d", "a*", "(?=a)a", "(a)\\1", "(("]
)
def test_undocumentable_patterns(pattern: str) -> None:
    with pytest.raises(UndocumentablePatternError):
        expand_pattern(pattern)


@given(st.text(alphabet="ab/()?|\\.*+[]{}<>P?:^$", max_size=14))
def test_expand_pattern_never_crashes(pattern: str) -> None:
    try:
        paths = expand_pattern(pattern)
    except UndocumentablePatternError:
        return
    assert all(isinstance(path, str) for path in paths)


@pytest.mark.parametrize(
    ("path", "special", "expected"),
    [
        ("config", ["config"], True),
        ("creds/{name}", ["creds/*"], True),
        ("roles/x/keys", ["roles/+/keys"], True),
        ("roles/x/y/keys", ["roles/+/keys"], False),
        ("other", ["config", "creds/*"], False),
        ("roles/x/anything/else", ["roles/+/*"], True),
    ],
)
def test_special_path_match(path: str, special: list[str], expected: bool) -> None:
    assert special_path_match(path, special) is expected


def test_operation_ids() -> None:
    read = Operation.READ
    assert construct_operation_id("kv/{name}", 0, None, read, None, "example") == (
        "example-read-kv-name"
    )
    assert construct_operation_id("config", 0, None, Operation.UPDATE, None, "") == "write-config"
    attrs = DisplayAttributes(operation_prefix="ex", operation_suffix="internal-key|exported-key")
    assert construct_operation_id("keys/exported", 1, attrs, Operation.UPDATE, None, "p") == (
        "ex-write-exported-key"
    )
    assert construct_operation_id("keys/x", 3, attrs, Operation.UPDATE, None, "p") == (
        "ex-write-keys-x"
    )
    verb = DisplayAttributes(operation_verb="generate", operation_suffix="credentials")
    assert construct_operation_id("creds/{name}", 0, None, read, verb, "p") == (
        "generate-credentials"
    )
    assert title_case_id("example-read-kv-name") == "ExampleReadKvName"


def test_api_title_tells_vault_from_openbao() -> None:
    assert api_title("2.7.2") == "OpenBao API"
    assert api_title("1.16.3") == "HashiCorp Vault API"
    assert api_title("unknown") == "OpenBao API"


def _backend(**options: Any) -> Backend:
    name = generic_name_regex("name")
    return Backend(
        paths=[
            Path(
                pattern="items/" + name,
                fields={
                    "name": FieldSchema(FieldType.NAME_STRING, "Item  name.\n  Long."),
                    "count": FieldSchema(FieldType.INT, "Count.", required=True, default=3),
                    "ttl": FieldSchema(FieldType.DURATION_SECOND, "TTL.", default="1h"),
                    "tags": FieldSchema(FieldType.COMMA_STRING_SLICE, "Tags."),
                    "mode": FieldSchema(FieldType.STRING, "Mode.", allowed_values=["a", "b"]),
                    "secret": FieldSchema(
                        FieldType.STRING,
                        "Secret.",
                        display_attrs=DisplayAttributes(sensitive=True, operation_prefix="x"),
                    ),
                    "page": FieldSchema(FieldType.INT, "Page.", query=True),
                },
                operations={
                    Operation.READ: _handler,
                    Operation.CREATE: _handler,
                    Operation.UPDATE: PathOperation(
                        _handler,
                        summary="Write an item.",
                        examples=[RequestExample(data={"count": 1})],
                    ),
                    Operation.DELETE: _handler,
                    Operation.PATCH: _handler,
                },
                help_synopsis="Manage   items.",
                display_attrs=DisplayAttributes(item_type="Item"),
            ),
            Path(pattern="items/?$", operations={Operation.LIST: _handler}),
            Path(
                pattern="both/?$",
                operations={Operation.READ: _handler, Operation.LIST: _handler},
            ),
            Path(pattern="catch/.*", operations={Operation.READ: _handler}),
            Path(
                pattern="hidden",
                operations={Operation.READ: PathOperation(_handler, unpublished=True)},
            ),
            Path(
                pattern="documented",
                operations={
                    Operation.READ: PathOperation(
                        _handler,
                        responses={
                            200: [
                                OperationResponse(
                                    description="The thing.",
                                    fields={"id": FieldSchema(FieldType.STRING, "Id.")},
                                    example={"id": "x"},
                                )
                            ]
                        },
                    )
                },
            ),
        ],
        special_paths=SpecialPaths(root=["items/*"], unauthenticated=["documented"]),
        **options,
    )


def _walk(value: Any) -> list[tuple[str, Any]]:
    """Every (member name, value) of the document; names of user maps (paths, schemas,
    properties, content types, response codes) are not member names and are skipped."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((key, item))
            if key in ("paths", "schemas", "properties", "content") and isinstance(item, dict):
                for child in item.values():
                    out.extend(_walk(child))
            else:
                out.extend(_walk(item))
    elif isinstance(value, list):
        for item in value:
            out.extend(_walk(item))
    return out


async def _document(backend: Backend, prefix: str = "ex") -> dict[str, Any]:
    response = await backend.handle_request(
        Request(operation=Operation.HELP, path="", data={"requestResponsePrefix": prefix})
    )
    assert response is not None
    assert response.data is not None
    doc = response.data["openapi"]
    assert isinstance(doc, dict)
    return doc


async def test_document_shape_and_inline_schemas() -> None:
    doc = await _document(_backend())
    json.dumps(doc, allow_nan=False)  # what the transport will send
    assert doc["openapi"] == "3.0.2"
    assert doc["info"]["title"] == "OpenBao API"
    assert not [key for key, _ in _walk(doc) if key == "$ref"]
    assert set(doc["paths"]) == {"/items/{name}", "/items", "/both", "/hidden", "/documented"}

    item = doc["paths"]["/items/{name}"]
    assert item["description"] == "Manage items."
    assert item["x-vault-sudo"] is True
    assert item["x-vault-createSupported"] is True
    assert item["x-vault-displayAttrs"] == {"itemType": "Item"}
    assert [(p["name"], p["in"], p.get("required", False)) for p in item["parameters"]] == [
        ("name", "path", True),
        ("page", "query", False),
    ]
    assert item["parameters"][0]["schema"] == {"type": "string", "pattern": r"\w([\w-.]*\w)?"}
    assert set(item) >= {"get", "post", "delete", "patch"}
    post = item["post"]
    assert post["operationId"] == "ex-write-items-name"
    assert post["summary"] == "Write an item."
    assert post["tags"] == ["secrets"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert post["requestBody"]["required"] is True
    assert set(schema["properties"]) == {"count", "ttl", "tags", "mode", "secret"}
    assert schema["required"] == ["count"]
    assert schema["example"] == {"count": 1}
    assert schema["properties"]["count"] == {
        "type": "integer",
        "description": "Count.",
        "default": 3,
    }
    assert schema["properties"]["ttl"]["format"] == "seconds"
    assert schema["properties"]["ttl"]["default"] == 3600  # converted: "1h" is not an integer
    assert schema["properties"]["tags"]["items"] == {"type": "string"}
    assert schema["properties"]["mode"]["enum"] == ["a", "b"]
    assert schema["properties"]["secret"]["x-vault-displayAttrs"] == {"sensitive": True}
    assert doc["components"]["schemas"]["ExWriteItemsNameRequest"] == schema
    assert item["delete"]["responses"] == {"204": {"description": "empty body"}}
    assert item["get"]["responses"] == {"200": {"description": "OK"}}
    assert "requestBody" not in item["get"]

    listing = doc["paths"]["/items"]["get"]
    assert listing["operationId"] == "ex-list-items"
    assert listing["parameters"] == [
        {
            "name": "list",
            "description": "Must be set to `true`",
            "in": "query",
            "schema": {"type": "string", "enum": ["true"]},
            "required": True,
        }
    ]
    both = doc["paths"]["/both"]["get"]
    assert both["operationId"] == "ex-read-both"
    assert both["parameters"][0]["name"] == "list"
    assert "required" not in both["parameters"][0]

    assert "get" not in doc["paths"]["/hidden"]
    documented = doc["paths"]["/documented"]
    assert documented["x-vault-unauthenticated"] is True
    ok = documented["get"]["responses"]["200"]
    assert ok["description"] == "The thing."
    assert ok["content"]["application/json"]["schema"]["properties"]["id"]["type"] == "string"


def _check_go_decodable(doc: dict[str, Any]) -> None:
    """The typing Go's OASDocument decoding insists on (mapstructure, not weak)."""
    bool_keys = {
        "x-vault-sudo",
        "x-vault-unauthenticated",
        "x-vault-createSupported",
        "deprecated",
        "sensitive",
        "navigation",
    }
    for key, value in _walk(doc):
        if key in bool_keys:
            assert isinstance(value, bool), key
        if key in ("tags", "enum", "parameters"):
            assert isinstance(value, list), key
        if key == "responses":
            assert all(code.isdigit() and 100 <= int(code) < 600 for code in value)
        if key in ("summary", "operationId", "title", "version", "type", "format", "pattern"):
            assert isinstance(value, str), key
        assert value is not None, key


async def test_document_decodes_as_go_expects() -> None:
    _check_go_decodable(await _document(_backend()))


async def test_path_help_carries_a_document_of_that_path() -> None:
    backend = _backend()
    response = await backend.handle_request(Request(operation=Operation.HELP, path="items/a"))
    assert response is not None
    assert response.data is not None
    assert list(response.data["openapi"]["paths"]) == ["/items/{name}"]
    assert response.data["openapi"]["paths"]["/items/{name}"]["get"]["operationId"] == (
        "read-items-name"
    )


async def test_title_override() -> None:
    doc = await _document(_backend(openapi_title="Custom API"))
    assert doc["info"]["title"] == "Custom API"


_DEFAULTS: dict[str, tuple[FieldType, Any, Any]] = {
    # name: (type, declared default, default in the document)
    "ttl": (FieldType.DURATION_SECOND, "1h", 3600),
    "grace": (FieldType.SIGNED_DURATION_SECOND, "-90s", -90),
    "count": (FieldType.INT, 0, 0),
    "big": (FieldType.INT64, "0x10", 16),
    "ratio": (FieldType.FLOAT, "0.5", 0.5),
    "on": (FieldType.BOOL, False, False),
    "yes": (FieldType.BOOL, "true", True),
    "label": (FieldType.STRING, "", ""),
    "lower": (FieldType.LOWERCASE_STRING, "ABC", "abc"),
    "tags": (FieldType.COMMA_STRING_SLICE, "a,b", ["a", "b"]),
    "ids": (FieldType.COMMA_INT_SLICE, "1,2", [1, 2]),
    "pairs": (FieldType.KV_PAIRS, ["a=b"], {"a": "b"}),
    "meta": (FieldType.MAP, {}, {}),
    "when": (FieldType.TIME, 0, "1970-01-01T00:00:00Z"),
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


async def test_defaults_are_emitted_converted_and_even_when_zero() -> None:
    fields = {
        name: FieldSchema(kind, name, default=default)
        for name, (kind, default, _) in _DEFAULTS.items()
    }
    fields["unset"] = FieldSchema(FieldType.INT, "No default.")
    backend = Backend(
        paths=[Path(pattern="cfg", fields=fields, operations={Operation.UPDATE: _handler})]
    )
    doc = await _document(backend)
    properties = doc["paths"]["/cfg"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["properties"]
    assert {name: properties[name]["default"] for name in _DEFAULTS} == {
        name: shown for name, (_, _, shown) in _DEFAULTS.items()
    }
    assert "default" not in properties["unset"]
    for name, schema in properties.items():
        if "default" in schema:
            value = schema["default"]
            allowed = _JSON_TYPES[schema["type"]]
            assert isinstance(value, allowed), name
            assert schema["type"] == "boolean" or not isinstance(value, bool), name
    json.dumps(doc, allow_nan=False)


@pytest.mark.parametrize(
    "operations",
    [(Operation.LIST, Operation.SCAN), (Operation.SCAN, Operation.LIST)],
)
async def test_list_and_scan_without_read_document_list_deterministically(
    operations: tuple[Operation, Operation],
) -> None:
    path = Path(
        pattern="roles/?$",
        operations={
            operation: PathOperation(_handler, summary=operation.value) for operation in operations
        },
    )
    doc = await _document(Backend(paths=[path]))
    get = doc["paths"]["/roles"]["get"]
    assert get["operationId"] == "ex-list-roles"
    assert get["summary"] == "list"
    assert [(p["name"], p["required"]) for p in get["parameters"]] == [
        ("scan", True),
        ("list", True),
    ]
    assert get["parameters"][1]["description"] == (
        "Must be set to `true` or else `scan` must be set to `true`"
    )


async def test_scan_is_documented_when_list_is_unpublished() -> None:
    path = Path(
        pattern="roles/?$",
        operations={
            Operation.LIST: PathOperation(_handler, unpublished=True),
            Operation.SCAN: _handler,
        },
    )
    doc = await _document(Backend(paths=[path]))
    assert doc["paths"]["/roles"]["get"]["operationId"] == "ex-scan-roles"
