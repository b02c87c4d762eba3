"""``wal-demo`` (write, read) leaves a WAL entry behind for the rollback tick to undo, after a
minimum age (``EXAMPLE_PLUGIN_WAL_MIN_AGE`` seconds, else ``config``'s ``wal_min_age``)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    WALRollbackFunc,
    delete_wal,
    list_wal,
    put_wal,
)
from vault_plugin_litellm.sdk.logical import (
    LogicalError,
    Operation,
    Request,
    Response,
    get_json,
    put_json,
    utcnow,
)

from .common import record_event

if TYPE_CHECKING:
    from .backend import ExampleBackend

WAL_MIN_AGE_ENV = "EXAMPLE_PLUGIN_WAL_MIN_AGE"
DEFAULT_WAL_MIN_AGE = timedelta(minutes=10)
ROLLED_BACK_PREFIX = "wal-demo/rolled-back/"

FIELDS = {
    "value": FieldSchema(FieldType.STRING, "Recorded when rolled back."),
    "kind": FieldSchema(
        FieldType.STRING, 'WAL kind; "fail" makes the rollback fail.', default="demo"
    ),
    "commit": FieldSchema(
        FieldType.BOOL, "Delete the entry at once, as a finished operation would."
    ),
}


def env_wal_min_age() -> timedelta | None:
    raw = os.environ.get(WAL_MIN_AGE_ENV, "").strip()
    if not raw:
        return None
    return timedelta(seconds=float(raw))


async def read_wal_demo(req: Request, data: FieldData) -> Response:
    rolled_back = []
    for key in await req.storage.list(ROLLED_BACK_PREFIX):
        record = await get_json(req.storage, ROLLED_BACK_PREFIX + key)
        if record is not None:
            rolled_back.append(record)
    return Response(data={"pending": await list_wal(req.storage), "rolled_back": rolled_back})


def wal_paths(backend: ExampleBackend) -> list[Path]:
    async def write_wal_demo(req: Request, data: FieldData) -> Response:
        entry_id = await put_wal(
            req.storage,
            data.get_str("kind"),
            {"value": data.get_str("value"), "mount": req.mount_point},
            clock=backend.clock,  # the clock the rollback age gate reads
        )
        if data.get_bool("commit"):
            await delete_wal(req.storage, entry_id)
        return Response(data={"wal_id": entry_id, "committed": data.get_bool("commit")})

    return [
        Path(
            pattern="wal-demo",
            fields=FIELDS,
            operations={Operation.UPDATE: write_wal_demo, Operation.READ: read_wal_demo},
            help_synopsis="Leave a WAL entry for the rollback tick.",
            help_description="Writes store WAL entries; reads list them and the undone ones.",
        )
    ]


def wal_rollback(backend: ExampleBackend) -> WALRollbackFunc:
    """The rollback function: records what it undid, refuses any kind but ``demo``."""

    async def rollback(req: Request, kind: str, payload: Any) -> None:
        if kind != "demo":
            # A LogicalError's text reaches the host; any other exception only by its type.
            raise LogicalError(f"cannot roll back a {kind!r} entry")
        record = dict(payload) if isinstance(payload, dict) else {"value": payload}
        record["rolled_back_at"] = utcnow().isoformat()
        await put_json(req.storage, ROLLED_BACK_PREFIX + str(uuid.uuid4()), record)
        backend.wal_rollbacks += 1
        event = {"event": "rollback", "kind": kind, "value": record.get("value")}
        await record_event({**event, "mount": record.get("mount")})

    return rollback
