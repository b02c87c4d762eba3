"""A leased key/value store built only on ``sdk.framework``, for the real-server tests.

It exercises what a secrets engine needs from the framework, in the smallest space:

- ``const`` (read): fixed data, no storage access (the "no storage" benchmark);
- ``config`` (read, create/update, delete): lease TTLs and a greeting; a read does exactly
  one storage ``get`` (the "one Get" benchmark);
- ``kv/<name>`` (CRUD and patch) and ``kv/`` (list): typed fields, so ``count=abc`` is a 400
  naming ``count``;
- ``lease/<name>`` (read): a renewable ``kv_lease`` secret; renewals and revocations are
  recorded in storage (``revoked/<name>/<serial>``) and, when
  ``EXAMPLE_PLUGIN_REVOCATION_LOG`` names a file, appended to it as JSON lines, so tests
  can see revocations at expiry and at unmount, when the storage is already gone;
- ``revoked/`` and ``revoked/<name>/`` (list): what was revoked;
- ``wal-demo`` (write, read): leaves a WAL entry behind for the rollback tick to undo
  (minimum age from ``EXAMPLE_PLUGIN_WAL_MIN_AGE`` seconds or ``config.wal_min_age``);
- ``stats`` (read): rollback ticks and other counters of this process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from datetime import timedelta
from typing import Any

from vault_plugin_litellm.sdk.framework import (
    Backend,
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    SecretType,
    delete_wal,
    generic_name_regex,
    handle_patch_operation,
    list_wal,
    put_wal,
)
from vault_plugin_litellm.sdk.logical import (
    CodedError,
    LogicalError,
    Operation,
    Request,
    Response,
    SpecialPaths,
    error_response,
    get_json,
    list_response,
    put_json,
    utcnow,
)

VERSION = "0.1.0"
LEASE_TYPE = "kv_lease"
REVOCATION_LOG_ENV = "EXAMPLE_PLUGIN_REVOCATION_LOG"
WAL_MIN_AGE_ENV = "EXAMPLE_PLUGIN_WAL_MIN_AGE"
DEFAULT_WAL_MIN_AGE = timedelta(minutes=10)

CONFIG_KEY = "config"
KV_PREFIX = "kv/"
REVOKED_PREFIX = "revoked/"
ROLLED_BACK_PREFIX = "wal-demo/rolled-back/"

_NAME = FieldSchema(FieldType.STRING, "Name of the entry.", required=True)


def _env_wal_min_age() -> timedelta | None:
    raw = os.environ.get(WAL_MIN_AGE_ENV, "").strip()
    if not raw:
        return None
    return timedelta(seconds=float(raw))


async def _record_event(event: dict[str, Any]) -> None:
    """Append one JSON line to the revocation log, if the environment names one."""
    target = os.environ.get(REVOCATION_LOG_ENV)
    if not target:
        return
    line = json.dumps(event, separators=(",", ":")) + "\n"

    def append() -> None:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line)

    await asyncio.to_thread(append)


class ExampleBackend(Backend):
    """One mount of the example plugin."""

    def __init__(self) -> None:
        self.ticks = 0
        self.renewals = 0
        self.revocations = 0
        self.wal_rollbacks = 0
        self._env_min_age = _env_wal_min_age()
        lease = SecretType(
            LEASE_TYPE,
            revoke=self._revoke_lease,
            renew=self._renew_lease,
            fields={"name": _NAME},
        )
        super().__init__(
            help_text=(
                "A leased key/value store that shows what sdk.framework does: typed fields, "
                "existence checks, leases with renew and revoke, a WAL and periodic work."
            ),
            paths=self._paths(),
            secrets=[lease],
            special_paths=SpecialPaths(
                root=["admin/*"],  # needs the sudo capability
                unauthenticated=["public/*"],  # needs no token at all
                seal_wrap_storage=[CONFIG_KEY],
            ),
            periodic=self._periodic,
            wal_rollback=self._rollback,
            wal_rollback_min_age=self._env_min_age or DEFAULT_WAL_MIN_AGE,
            running_version=VERSION,
        )

    def _paths(self) -> list[Path]:
        name = generic_name_regex("name")
        ttl_fields = {
            "ttl": FieldSchema(
                FieldType.DURATION_SECOND, "Lease TTL; the config default if unset."
            ),
            "max_ttl": FieldSchema(
                FieldType.DURATION_SECOND, "Maximum lease lifetime; the config maximum if unset."
            ),
        }
        return [
            Path(
                pattern="const",
                operations={Operation.READ: self._read_const},
                help_synopsis="Fixed data, answered without storage.",
                help_description="Returns the same data on every read; used for benchmarks.",
            ),
            Path(
                pattern="config",
                fields={
                    "default_ttl": FieldSchema(
                        FieldType.DURATION_SECOND, "Default TTL of issued leases (0: mount's)."
                    ),
                    "max_ttl": FieldSchema(
                        FieldType.DURATION_SECOND, "Maximum TTL of issued leases (0: mount's)."
                    ),
                    "greeting": FieldSchema(
                        FieldType.STRING, "Text returned with every lease.", default="hello"
                    ),
                    "wal_min_age": FieldSchema(
                        FieldType.DURATION_SECOND,
                        f"Age before WAL entries are rolled back ({WAL_MIN_AGE_ENV} wins).",
                    ),
                },
                operations={
                    Operation.READ: self._read_config,
                    Operation.CREATE: self._write_config,
                    Operation.UPDATE: self._write_config,
                    Operation.DELETE: self._delete_config,
                },
                existence_check=self._config_exists,
                help_synopsis="Configure lease TTLs and the greeting.",
                help_description="A read costs exactly one storage get.",
            ),
            Path(
                pattern="kv/?$",
                operations={Operation.LIST: self._list_kv},
                help_synopsis="List the entries.",
                help_description="Names of the stored entries.",
            ),
            Path(
                pattern="kv/" + name,
                fields={
                    "name": _NAME,
                    "value": FieldSchema(FieldType.STRING, "The stored value."),
                    "count": FieldSchema(FieldType.INT, "A number kept with the entry."),
                    "tags": FieldSchema(FieldType.COMMA_STRING_SLICE, "Labels, comma-separated."),
                },
                operations={
                    Operation.READ: self._read_kv,
                    Operation.CREATE: self._write_kv,
                    Operation.UPDATE: self._write_kv,
                    Operation.PATCH: self._patch_kv,
                    Operation.DELETE: self._delete_kv,
                },
                existence_check=self._kv_exists,
                help_synopsis="Manage one entry.",
                help_description="Create, read, update, patch (JSON merge patch) and delete.",
            ),
            Path(
                pattern="lease/" + name,
                fields={"name": _NAME, **ttl_fields},
                operations={Operation.READ: self._issue_lease},
                help_synopsis="Issue a renewable lease.",
                help_description=(
                    f"Each read issues a {LEASE_TYPE} lease. Renewals and revocations are "
                    f"recorded under revoked/ and in the file named by {REVOCATION_LOG_ENV}."
                ),
            ),
            Path(
                pattern="revoked/?$",
                operations={Operation.LIST: self._list_revoked_names},
                help_synopsis="List the names that had leases revoked.",
            ),
            Path(
                pattern="revoked/" + name + "/?$",
                fields={"name": _NAME},
                operations={Operation.LIST: self._list_revoked_serials},
                help_synopsis="List the revoked lease serials of one name.",
            ),
            Path(
                pattern="wal-demo",
                fields={
                    "value": FieldSchema(FieldType.STRING, "Recorded when rolled back."),
                    "kind": FieldSchema(
                        FieldType.STRING,
                        'WAL kind; "fail" makes the rollback fail.',
                        default="demo",
                    ),
                    "commit": FieldSchema(
                        FieldType.BOOL, "Delete the entry at once, as a finished operation would."
                    ),
                },
                operations={
                    Operation.UPDATE: self._write_wal_demo,
                    Operation.READ: self._read_wal_demo,
                },
                help_synopsis="Leave a WAL entry for the rollback tick.",
                help_description="Writes store WAL entries; reads list them and the undone ones.",
            ),
            Path(
                pattern="stats",
                operations={Operation.READ: self._read_stats},
                help_synopsis="Counters of this plugin process.",
            ),
            Path(
                pattern="public/ping",
                operations={Operation.READ: self._ping},
                help_synopsis="Answers without a token (an unauthenticated special path).",
            ),
            Path(
                pattern="admin/reset-stats",
                operations={Operation.UPDATE: self._reset_stats},
                help_synopsis="Reset the counters; needs sudo (a root special path).",
            ),
        ]

    # -- const and stats ------------------------------------------------------------------

    async def _read_const(self, req: Request, data: FieldData) -> Response:
        return Response(data={"const": True, "plugin": "example", "version": VERSION})

    async def _ping(self, req: Request, data: FieldData) -> Response:
        return Response(data={"pong": True, "unauthenticated": req.unauthenticated})

    async def _reset_stats(self, req: Request, data: FieldData) -> None:
        self.ticks = self.renewals = self.revocations = self.wal_rollbacks = 0

    async def _read_stats(self, req: Request, data: FieldData) -> Response:
        return Response(
            data={
                "ticks": self.ticks,
                "renewals": self.renewals,
                "revocations": self.revocations,
                "wal_rollbacks": self.wal_rollbacks,
                "wal_min_age": int(self.wal_rollback_min_age.total_seconds()),
            }
        )

    # -- config ---------------------------------------------------------------------------

    async def _config_exists(self, req: Request, data: FieldData) -> bool:
        return await req.storage.get(CONFIG_KEY) is not None

    async def _read_config(self, req: Request, data: FieldData) -> Response | None:
        config = await get_json(req.storage, CONFIG_KEY)
        return None if config is None else Response(data=config)

    async def _write_config(self, req: Request, data: FieldData) -> Response | None:
        creating = req.operation is Operation.CREATE
        config: dict[str, Any] = {} if creating else await get_json(req.storage, CONFIG_KEY) or {}
        for key in ("default_ttl", "max_ttl", "wal_min_age"):
            if creating or data.is_set(key):
                config[key] = data.get_int(key)
        if creating or data.is_set("greeting"):
            config["greeting"] = data.get_str("greeting")
        if 0 < config.get("max_ttl", 0) < config.get("default_ttl", 0):
            return error_response("default_ttl must not be greater than max_ttl")
        await put_json(req.storage, CONFIG_KEY, config)
        self._apply_wal_min_age(config)
        return None

    async def _delete_config(self, req: Request, data: FieldData) -> None:
        await req.storage.delete(CONFIG_KEY)

    def _apply_wal_min_age(self, config: dict[str, Any] | None) -> None:
        if self._env_min_age is not None:
            return
        seconds = (config or {}).get("wal_min_age", 0)
        self.wal_rollback_min_age = timedelta(seconds=seconds) if seconds else DEFAULT_WAL_MIN_AGE

    # -- kv -------------------------------------------------------------------------------

    async def _kv_exists(self, req: Request, data: FieldData) -> bool:
        return await req.storage.get(KV_PREFIX + data.get_str("name")) is not None

    async def _list_kv(self, req: Request, data: FieldData) -> Response:
        return list_response(await req.storage.list(KV_PREFIX))

    async def _read_kv(self, req: Request, data: FieldData) -> Response | None:
        entry = await get_json(req.storage, KV_PREFIX + data.get_str("name"))
        return None if entry is None else Response(data=entry)

    async def _write_kv(self, req: Request, data: FieldData) -> None:
        name = data.get_str("name")
        creating = req.operation is Operation.CREATE
        entry: dict[str, Any] = (
            {} if creating else await get_json(req.storage, KV_PREFIX + name) or {}
        )
        entry["name"] = name
        if creating or data.is_set("value"):
            entry["value"] = data.get_str("value")
        if creating or data.is_set("count"):
            entry["count"] = data.get_int("count")
        if creating or data.is_set("tags"):
            entry["tags"] = data.get_str_list("tags")
        await put_json(req.storage, KV_PREFIX + name, entry)

    async def _patch_kv(self, req: Request, data: FieldData) -> None:
        name = data.get_str("name")
        entry = await get_json(req.storage, KV_PREFIX + name)
        if entry is None:
            raise CodedError(404, f'no entry named "{name}"')

        def keep_name(patch: dict[str, Any]) -> dict[str, Any]:
            patch.pop("name", None)  # the name comes from the path and never changes
            return patch

        await put_json(
            req.storage, KV_PREFIX + name, handle_patch_operation(data, entry, keep_name)
        )

    async def _delete_kv(self, req: Request, data: FieldData) -> None:
        await req.storage.delete(KV_PREFIX + data.get_str("name"))

    # -- leases ---------------------------------------------------------------------------

    async def _issue_lease(self, req: Request, data: FieldData) -> Response:
        config = await get_json(req.storage, CONFIG_KEY) or {}
        name = data.get_str("name")
        serial = str(uuid.uuid4())
        secret_type = self.secret(LEASE_TYPE)
        assert secret_type is not None
        response = secret_type.response(
            {"name": name, "serial": serial, "greeting": config.get("greeting", "hello")},
            {"name": name, "serial": serial},
        )
        assert response.secret is not None
        options = response.secret.lease_options
        options.ttl = timedelta(seconds=data.get_int("ttl") or config.get("default_ttl", 0))
        options.max_ttl = timedelta(seconds=data.get_int("max_ttl") or config.get("max_ttl", 0))
        return response

    async def _renew_lease(self, req: Request, data: FieldData) -> Response:
        assert req.secret is not None
        config = await get_json(req.storage, CONFIG_KEY) or {}
        internal = req.secret.internal_data
        self.renewals += 1
        await _record_event(self._event("renew", req))
        # The lease keeps the maximum it was issued with; the TTL follows the config, and
        # the host caps both (a client's increment wins over the TTL).
        options = dataclasses.replace(
            req.secret.lease_options,
            ttl=timedelta(seconds=config.get("default_ttl", 0)),
            issue_time=req.secret.lease_options.issue_time or utcnow(),
        )
        data_again = {"name": internal.get("name"), "serial": internal.get("serial")}
        return Response(
            data={**req.data, **data_again},
            secret=dataclasses.replace(req.secret, lease_options=options),
        )

    async def _revoke_lease(self, req: Request, data: FieldData) -> None:
        assert req.secret is not None
        internal = req.secret.internal_data
        name, serial = str(internal.get("name", "")), str(internal.get("serial", ""))
        await put_json(
            req.storage,
            f"{REVOKED_PREFIX}{name}/{serial}",
            {
                "name": name,
                "serial": serial,
                "lease_id": req.secret.lease_id,
                "revoked_at": utcnow().isoformat(),
            },
        )
        self.revocations += 1
        await _record_event(self._event("revoke", req))

    @staticmethod
    def _event(kind: str, req: Request) -> dict[str, Any]:
        assert req.secret is not None
        internal = req.secret.internal_data
        return {
            "event": kind,
            "name": internal.get("name"),
            "mount": req.mount_point,
            "lease": internal.get("serial"),
            "lease_id": req.secret.lease_id,
        }

    async def _list_revoked_names(self, req: Request, data: FieldData) -> Response:
        return list_response(await req.storage.list(REVOKED_PREFIX))

    async def _list_revoked_serials(self, req: Request, data: FieldData) -> Response:
        return list_response(await req.storage.list(f"{REVOKED_PREFIX}{data.get_str('name')}/"))

    # -- WAL and periodic work ------------------------------------------------------------

    async def _write_wal_demo(self, req: Request, data: FieldData) -> Response:
        entry_id = await put_wal(
            req.storage,
            data.get_str("kind"),
            {"value": data.get_str("value"), "mount": req.mount_point},
            clock=self.clock,  # the clock the rollback age gate reads
        )
        if data.get_bool("commit"):
            await delete_wal(req.storage, entry_id)
        return Response(data={"wal_id": entry_id, "committed": data.get_bool("commit")})

    async def _read_wal_demo(self, req: Request, data: FieldData) -> Response:
        rolled_back = []
        for key in await req.storage.list(ROLLED_BACK_PREFIX):
            record = await get_json(req.storage, ROLLED_BACK_PREFIX + key)
            if record is not None:
                rolled_back.append(record)
        return Response(data={"pending": await list_wal(req.storage), "rolled_back": rolled_back})

    async def _rollback(self, req: Request, kind: str, payload: Any) -> None:
        if kind != "demo":
            # A LogicalError's text reaches the host; any other exception only by its type.
            raise LogicalError(f"cannot roll back a {kind!r} entry")
        record = dict(payload) if isinstance(payload, dict) else {"value": payload}
        record["rolled_back_at"] = utcnow().isoformat()
        await put_json(req.storage, ROLLED_BACK_PREFIX + str(uuid.uuid4()), record)
        self.wal_rollbacks += 1
        await _record_event(
            {
                "event": "rollback",
                "kind": kind,
                "value": record.get("value"),
                "mount": record.get("mount"),
            }
        )

    async def _periodic(self, req: Request) -> None:
        self.ticks += 1
        if self._env_min_age is None:
            self._apply_wal_min_age(await get_json(req.storage, CONFIG_KEY))


def factory() -> ExampleBackend:
    """A fresh backend instance per mount (a ``BackendFactory``)."""
    return ExampleBackend()
