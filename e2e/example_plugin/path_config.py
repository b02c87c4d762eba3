"""``config``: lease TTLs, the greeting and the WAL age. A read costs exactly one storage get
(the "one Get" benchmark)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vault_plugin_litellm.sdk.framework import FieldData, FieldSchema, FieldType, Path
from vault_plugin_litellm.sdk.logical import (
    Operation,
    Request,
    Response,
    Storage,
    error_response,
    get_json,
    put_json,
)

from .path_wal import WAL_MIN_AGE_ENV

if TYPE_CHECKING:
    from .backend import ExampleBackend

CONFIG_KEY = "config"

FIELDS = {
    "default_ttl": FieldSchema(
        FieldType.DURATION_SECOND, "Default TTL of issued leases (0: mount's)."
    ),
    "max_ttl": FieldSchema(FieldType.DURATION_SECOND, "Maximum TTL of issued leases (0: mount's)."),
    "greeting": FieldSchema(FieldType.STRING, "Text returned with every lease.", default="hello"),
    "wal_min_age": FieldSchema(
        FieldType.DURATION_SECOND,
        f"Age before WAL entries are rolled back ({WAL_MIN_AGE_ENV} wins).",
    ),
}


async def load_config(storage: Storage) -> dict[str, Any]:
    """The stored configuration ({} before any write)."""
    return await get_json(storage, CONFIG_KEY) or {}


async def config_exists(req: Request, data: FieldData) -> bool:
    return await req.storage.get(CONFIG_KEY) is not None


async def read_config(req: Request, data: FieldData) -> Response | None:
    config = await get_json(req.storage, CONFIG_KEY)
    return None if config is None else Response(data=config)


async def delete_config(req: Request, data: FieldData) -> None:
    await req.storage.delete(CONFIG_KEY)


def config_paths(backend: ExampleBackend) -> list[Path]:
    async def write_config(req: Request, data: FieldData) -> Response | None:
        creating = req.operation is Operation.CREATE
        config: dict[str, Any] = {} if creating else await load_config(req.storage)
        for key in ("default_ttl", "max_ttl", "wal_min_age"):
            if creating or data.is_set(key):
                config[key] = data.get_int(key)
        if creating or data.is_set("greeting"):
            config["greeting"] = data.get_str("greeting")
        if 0 < config.get("max_ttl", 0) < config.get("default_ttl", 0):
            return error_response("default_ttl must not be greater than max_ttl")
        await put_json(req.storage, CONFIG_KEY, config)
        backend.apply_wal_min_age(config)
        return None

    return [
        Path(
            pattern="config",
            fields=FIELDS,
            operations={
                Operation.READ: read_config,
                Operation.CREATE: write_config,
                Operation.UPDATE: write_config,
                Operation.DELETE: delete_config,
            },
            existence_check=config_exists,
            help_synopsis="Configure lease TTLs and the greeting.",
            help_description="A read costs exactly one storage get.",
        )
    ]
