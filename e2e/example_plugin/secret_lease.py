"""The ``kv_lease`` secret type: renewable; renewals and revocations are counted, revocations
recorded in storage (``revoked/<name>/<serial>``), and both appended to the event log."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from vault_plugin_litellm.sdk.framework import FieldData, SecretType
from vault_plugin_litellm.sdk.logical import Request, Response, put_json, utcnow

from .common import NAME, record_event
from .path_config import load_config

if TYPE_CHECKING:
    from .backend import ExampleBackend

LEASE_TYPE = "kv_lease"
REVOKED_PREFIX = "revoked/"


def lease_event(kind: str, req: Request) -> dict[str, Any]:
    assert req.secret is not None
    internal = req.secret.internal_data
    return {
        "event": kind,
        "name": internal.get("name"),
        "mount": req.mount_point,
        "lease": internal.get("serial"),
        "lease_id": req.secret.lease_id,
    }


def lease_secret(backend: ExampleBackend) -> SecretType:
    async def renew(req: Request, data: FieldData) -> Response:
        assert req.secret is not None
        config = await load_config(req.storage)
        internal = req.secret.internal_data
        backend.renewals += 1
        await record_event(lease_event("renew", req))
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

    async def revoke(req: Request, data: FieldData) -> None:
        assert req.secret is not None
        internal = req.secret.internal_data
        name, serial = str(internal.get("name", "")), str(internal.get("serial", ""))
        record = {
            "name": name,
            "serial": serial,
            "lease_id": req.secret.lease_id,
            "revoked_at": utcnow().isoformat(),
        }
        await put_json(req.storage, f"{REVOKED_PREFIX}{name}/{serial}", record)
        backend.revocations += 1
        await record_event(lease_event("revoke", req))

    return SecretType(LEASE_TYPE, revoke=revoke, renew=renew, fields={"name": NAME})
