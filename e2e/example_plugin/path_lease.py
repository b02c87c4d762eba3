"""``lease/<name>`` (read) issues a renewable ``kv_lease``; ``revoked/`` and
``revoked/<name>/`` (list) show what was revoked."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    generic_name_regex,
)
from vault_plugin_litellm.sdk.logical import Operation, Request, Response, list_response

from .common import NAME, REVOCATION_LOG_ENV
from .path_config import load_config
from .secret_lease import LEASE_TYPE, REVOKED_PREFIX

if TYPE_CHECKING:
    from .backend import ExampleBackend

TTL_FIELDS = {
    "ttl": FieldSchema(FieldType.DURATION_SECOND, "Lease TTL; the config default if unset."),
    "max_ttl": FieldSchema(
        FieldType.DURATION_SECOND, "Maximum lease lifetime; the config maximum if unset."
    ),
}


async def list_revoked_names(req: Request, data: FieldData) -> Response:
    return list_response(await req.storage.list(REVOKED_PREFIX))


async def list_revoked_serials(req: Request, data: FieldData) -> Response:
    return list_response(await req.storage.list(f"{REVOKED_PREFIX}{data.get_str('name')}/"))


def lease_paths(backend: ExampleBackend) -> list[Path]:
    async def issue_lease(req: Request, data: FieldData) -> Response:
        config = await load_config(req.storage)
        name = data.get_str("name")
        serial = str(uuid.uuid4())
        secret_type = backend.secret(LEASE_TYPE)
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

    name = generic_name_regex("name")
    return [
        Path(
            pattern="lease/" + name,
            fields={"name": NAME, **TTL_FIELDS},
            operations={Operation.READ: issue_lease},
            help_synopsis="Issue a renewable lease.",
            help_description=(
                f"Each read issues a {LEASE_TYPE} lease. Renewals and revocations are "
                f"recorded under revoked/ and in the file named by {REVOCATION_LOG_ENV}."
            ),
        ),
        Path(
            pattern="revoked/?$",
            operations={Operation.LIST: list_revoked_names},
            help_synopsis="List the names that had leases revoked.",
        ),
        Path(
            pattern="revoked/" + name + "/?$",
            fields={"name": NAME},
            operations={Operation.LIST: list_revoked_serials},
            help_synopsis="List the revoked lease serials of one name.",
        ),
    ]
