"""``rotate-root`` (write): replace the engine's admin key with a new one of the same user.

Order, so that a failure at any step leaves a working stored key and no stray successor:

1. prove the current key is a proxy_admin *virtual* key and learn its user (the master key
   has no user and cannot be replaced through LiteLLM's API: refused);
2. a write-ahead entry names the successor, which is then minted for the same user;
3. the successor proves itself (it authenticates, belongs to that user, is a proxy admin);
4. it is stored (seal-wrapped) and used from then on;
5. the old key is recorded as owed a deletion, then the write-ahead entry goes;
6. requests still using the old key finish, and the old key is deleted with the new one.

Before 4, any failure deletes the successor (or rollback does). From 4 on the old key is
deleted in the end, however the rotation is cut short: rollback finds the successor stored and
records the old key (named in the write-ahead entry) as owed, and owed deletions are retried on
every rollback tick and in ``tidy``. Keys minted before the rotation stay renewable and
revocable: any proxy admin may change them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litellm_client import AsyncLiteLLMClient, LiteLLMError, hash_key, new_raw_key

from vault_plugin_litellm.sdk.framework import FieldData, Path, delete_wal, put_wal
from vault_plugin_litellm.sdk.logical import Operation, Request, Response, utcnow

from . import key_index
from .admin_key import AdminIdentity, inspect_admin_key
from .config import AdminKeyType, EngineConfig
from .operation import changing
from .proxy import ProxyHandle, delete_tokens
from .proxy_errors import Refusal, answer_refusals, from_proxy_error
from .wal_kinds import ADMIN_KEY_WAL, wal_data

if TYPE_CHECKING:
    from .backend import LiteLLMBackend

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = timedelta(seconds=30)


def rotate_root_paths(backend: LiteLLMBackend) -> list[Path]:
    @answer_refusals
    async def rotate(req: Request, data: FieldData) -> Response:
        async with backend.admin_lock:
            return await rotate_admin_key(backend, req)

    return [
        Path(
            pattern="rotate-root",
            operations={
                Operation.UPDATE: changing(
                    rotate, "Replace the admin key with a new one of the same LiteLLM user."
                )
            },
            help_synopsis="Rotate the engine's LiteLLM admin key.",
            help_description=(
                "Mints a successor of the configured proxy_admin virtual key for the same "
                "LiteLLM user, verifies it, stores it, and deletes the old key: afterwards only "
                "this engine knows the admin key. Refused when the configured key is the proxy's "
                "master key, which LiteLLM's API cannot rotate. If a step fails, the stored key "
                "keeps working and no successor is left behind."
            ),
        )
    ]


async def rotate_admin_key(backend: LiteLLMBackend, req: Request) -> Response:
    config = await backend.require_config(req.storage, req.mount_point)
    identity = await _current_identity(backend, config, req.mount_point)
    raw_key = new_raw_key()
    token = hash_key(raw_key)
    successor = dataclasses.replace(
        config,
        admin_key=raw_key,
        admin_key_type=AdminKeyType.VIRTUAL_KEY,
        admin_user_id=identity.user_id,
        admin_key_rotated_at=utcnow().isoformat(),
    )
    old_token = hash_key(config.admin_key)
    wal_id = await put_wal(
        req.storage, ADMIN_KEY_WAL, wal_data(token, previous=old_token), clock=backend.clock
    )
    try:
        async with backend.proxy(config) as client:
            await _mint_successor(client, backend, req, raw_key, identity)
        await _prove(successor, identity, req.mount_point)
        retired = await backend.put_config(req.storage, successor)
    except asyncio.CancelledError:
        raise  # rollback deletes the successor unless it was stored
    except BaseException as exc:
        await _discard_successor(backend, req, token, old_token, wal_id)
        if isinstance(exc, LiteLLMError | TimeoutError):
            raise from_proxy_error(
                exc, action="rotating the admin key", url=config.url, mount_point=req.mount_point
            ) from None
        raise
    await key_index.owe_revocation(
        req.storage,
        old_token,
        alias=identity.key_alias,
        role="",
        kind="admin_key",
        reason="rotate-root replaced it and has not deleted it yet",
    )
    await delete_wal(req.storage, wal_id)
    deleted, warnings = await _delete_previous(backend, req, config, successor, identity, retired)
    return Response(
        data={
            "admin_key_type": successor.admin_key_type.value,
            "admin_user_id": successor.admin_user_id,
            "admin_key_rotated_at": successor.admin_key_rotated_at,
            "previous_key_deleted": deleted,
        },
        warnings=warnings,
    )


async def _current_identity(
    backend: LiteLLMBackend, config: EngineConfig, mount_point: str
) -> AdminIdentity:
    try:
        async with backend.proxy(config) as client:
            identity = await inspect_admin_key(client, config.admin_key)
    except (LiteLLMError, TimeoutError) as exc:
        raise from_proxy_error(
            exc, action="checking the admin key", url=config.url, mount_point=mount_point
        ) from None
    if identity.kind is AdminKeyType.MASTER_KEY:
        raise Refusal(
            "rotate-root: the configured admin_key is the proxy's master key, which LiteLLM's "
            "API cannot rotate; create a proxy_admin virtual key, write it to config, and "
            "rotate that"
        )
    if not identity.user_id:
        raise Refusal(
            "rotate-root: the configured admin key belongs to no LiteLLM user, so a successor "
            "cannot be minted for the same user; use a key of a proxy_admin user"
        )
    return identity


async def _mint_successor(
    client: AsyncLiteLLMClient,
    backend: LiteLLMBackend,
    req: Request,
    raw_key: str,
    identity: AdminIdentity,
) -> None:
    label = req.mount_point.strip("/").replace("/", "-") or "litellm"
    extra: dict[str, Any] = {
        "metadata": {
            "vault_admin_key_of": backend.backend_uuid,
            "vault_mount": req.mount_point,
            "vault_request_id": req.id,
        }
    }
    if identity.allowed_routes:
        extra["allowed_routes"] = list(identity.allowed_routes)
    await client.generate_key(
        key=raw_key,
        user_id=identity.user_id,
        key_alias=f"vault-admin-{label}-{secrets.token_hex(6)}",
        extra_body=extra,
    )


async def _prove(successor: EngineConfig, identity: AdminIdentity, mount_point: str) -> None:
    handle = ProxyHandle(successor)
    try:
        async with handle.use() as client:
            proven = await inspect_admin_key(client, successor.admin_key)
    finally:
        await handle.retire()
    if proven.kind is not AdminKeyType.VIRTUAL_KEY or proven.user_id != identity.user_id:
        raise Refusal(
            "rotate-root: the new key did not prove itself as a proxy_admin key of user "
            f"{identity.user_id!r}; the configured key is unchanged"
        )


async def _discard_successor(
    backend: LiteLLMBackend, req: Request, token: str, previous: str, wal_id: str
) -> None:
    try:
        await backend.undo_admin_successor(req.storage, token, previous)
        await delete_wal(req.storage, wal_id)
    except Exception:
        log.warning("could not delete a failed successor admin key; rollback will", exc_info=True)


async def _delete_previous(
    backend: LiteLLMBackend,
    req: Request,
    old: EngineConfig,
    successor: EngineConfig,
    identity: AdminIdentity,
    retired: ProxyHandle | None,
) -> tuple[bool, list[str]]:
    if retired is not None:
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT.total_seconds()):
                await retired.drained()
        except TimeoutError:
            log.warning("requests still use the old admin key after %s; deleting it", DRAIN_TIMEOUT)
    old_token = hash_key(old.admin_key)
    try:
        async with backend.proxy(successor) as client:
            await delete_tokens(client, [old_token])
    except (LiteLLMError, TimeoutError) as exc:
        error = from_proxy_error(
            exc, action="deleting the old admin key", url=old.url, mount_point=req.mount_point
        )
        message = getattr(error, "message", str(error))
        await key_index.remember_failed_revocation(
            req.storage,
            old_token,
            alias=identity.key_alias,
            role="",
            kind="admin_key",
            error=message,
        )
        return False, [
            f"the new admin key is stored, but the old one could not be deleted yet ({message}); "
            "the engine keeps trying on every rollback tick and in tidy"
        ]
    await key_index.forget_key(req.storage, old_token)
    return True, []
