"""``kv/`` (list) and ``kv/<name>`` (create, read, update, patch, delete): typed fields, so
``count=abc`` is a 400 naming ``count``."""

from __future__ import annotations

from typing import Any

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    generic_name_regex,
    handle_patch_operation,
)
from vault_plugin_litellm.sdk.logical import (
    CodedError,
    Operation,
    Request,
    Response,
    get_json,
    list_response,
    put_json,
)

from .common import NAME

KV_PREFIX = "kv/"

FIELDS = {
    "name": NAME,
    "value": FieldSchema(FieldType.STRING, "The stored value."),
    "count": FieldSchema(FieldType.INT, "A number kept with the entry."),
    "tags": FieldSchema(FieldType.COMMA_STRING_SLICE, "Labels, comma-separated."),
}


async def kv_exists(req: Request, data: FieldData) -> bool:
    return await req.storage.get(KV_PREFIX + data.get_str("name")) is not None


async def list_kv(req: Request, data: FieldData) -> Response:
    return list_response(await req.storage.list(KV_PREFIX))


async def read_kv(req: Request, data: FieldData) -> Response | None:
    entry = await get_json(req.storage, KV_PREFIX + data.get_str("name"))
    return None if entry is None else Response(data=entry)


async def write_kv(req: Request, data: FieldData) -> None:
    name = data.get_str("name")
    creating = req.operation is Operation.CREATE
    entry: dict[str, Any] = {} if creating else await get_json(req.storage, KV_PREFIX + name) or {}
    entry["name"] = name
    if creating or data.is_set("value"):
        entry["value"] = data.get_str("value")
    if creating or data.is_set("count"):
        entry["count"] = data.get_int("count")
    if creating or data.is_set("tags"):
        entry["tags"] = data.get_str_list("tags")
    await put_json(req.storage, KV_PREFIX + name, entry)


async def patch_kv(req: Request, data: FieldData) -> None:
    name = data.get_str("name")
    entry = await get_json(req.storage, KV_PREFIX + name)
    if entry is None:
        raise CodedError(404, f'no entry named "{name}"')

    def keep_name(patch: dict[str, Any]) -> dict[str, Any]:
        patch.pop("name", None)  # the name comes from the path and never changes
        return patch

    await put_json(req.storage, KV_PREFIX + name, handle_patch_operation(data, entry, keep_name))


async def delete_kv(req: Request, data: FieldData) -> None:
    await req.storage.delete(KV_PREFIX + data.get_str("name"))


def kv_paths() -> list[Path]:
    return [
        Path(
            pattern="kv/?$",
            operations={Operation.LIST: list_kv},
            help_synopsis="List the entries.",
            help_description="Names of the stored entries.",
        ),
        Path(
            pattern="kv/" + generic_name_regex("name"),
            fields=FIELDS,
            operations={
                Operation.READ: read_kv,
                Operation.CREATE: write_kv,
                Operation.UPDATE: write_kv,
                Operation.PATCH: patch_kv,
                Operation.DELETE: delete_kv,
            },
            existence_check=kv_exists,
            help_synopsis="Manage one entry.",
            help_description="Create, read, update, patch (JSON merge patch) and delete.",
        ),
    ]
