"""The ``litellm_key`` secret: renewing a lease moves the key's LiteLLM expiry, revoking it
deletes the key.

Leases hold only the key's token (the sha256 LiteLLM stores), its alias, its role and its
issue time, never the raw key. Renewal answers without the raw key too, which also drops it
from the lease entry the host keeps (a renewal replaces the lease's stored data).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from litellm_client import (
    AsyncLiteLLMClient,
    BadRequestError,
    KeyInfo,
    LiteLLMError,
    NotFoundError,
)

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    LeaseTTLError,
    SecretType,
    compute_ttl,
    mount_ttls,
)
from vault_plugin_litellm.sdk.logical import (
    READ_ONLY_STORAGE,
    LogicalError,
    Request,
    Response,
    UnrecoverableError,
    utcnow,
)

from . import expiry, key_index
from .proxy import check_updated, delete_tokens
from .proxy_errors import Refusal, answer_refusals, from_proxy_error

if TYPE_CHECKING:
    from .backend import LiteLLMBackend

SECRET_TYPE = "litellm_key"  # noqa: S105 (a kind of lease, not a secret)
log = logging.getLogger(__name__)


def key_secret(backend: LiteLLMBackend) -> SecretType:
    @answer_refusals
    async def renew(req: Request, data: FieldData) -> Response:
        await _refuse_on_standby(backend)
        return await renew_key(backend, req)

    async def revoke(req: Request, data: FieldData) -> None:
        await _refuse_on_standby(backend)
        await revoke_key(backend, req)

    return SecretType(SECRET_TYPE, renew=renew, revoke=revoke)


async def _refuse_on_standby(backend: LiteLLMBackend) -> None:
    """Only the active node may renew or revoke. OpenBao up to 2.6.1 runs ``sys/leases/renew``
    and ``revoke`` on the standby that received them, then fails to store the lease: had the
    proxy been asked first, the key's expiry would move (or the key would go) while the lease
    stayed as it was. (Later hosts forward these requests before a standby's plugin sees
    them; on any host, the read-only error is what asks for the active node.)"""
    if await backend.is_performance_standby():
        raise LogicalError(READ_ONLY_STORAGE)


def _token(req: Request) -> tuple[str, str, str]:
    if req.secret is None:
        raise LogicalError("the request carries no lease")
    internal = req.secret.internal_data
    token = internal.get("token")
    if not key_index.is_token(token):
        # Nothing identifies a key: retrying cannot help, so the host should give up at once.
        raise UnrecoverableError("the lease holds no LiteLLM key token")
    assert isinstance(token, str)
    return token, str(internal.get("key_alias", "")), str(internal.get("role", ""))


async def renew_key(backend: LiteLLMBackend, req: Request) -> Response:
    token, alias, role_name = _token(req)
    assert req.secret is not None
    options = req.secret.lease_options
    role = await backend.get_role(req.storage, role_name)
    if role is None:
        raise Refusal(
            f'role "{role_name}" no longer exists: keys minted from it cannot be renewed; they '
            "are deleted when their leases end"
        )
    config = await backend.require_config(req.storage, req.mount_point)
    mount_default, mount_max = await mount_ttls(
        backend.require_system_view(),
        increment=options.increment,
        backend_ttl=timedelta(seconds=role.ttl),
    )
    issued = options.issue_time or utcnow()
    try:
        ttl, warnings = compute_ttl(
            mount_default=mount_default,
            mount_max=mount_max,
            increment=options.increment,
            backend_ttl=timedelta(seconds=role.ttl),
            backend_max_ttl=timedelta(seconds=role.max_ttl),
            start_time=issued,
        )
    except LeaseTTLError as exc:
        raise Refusal(exc.message) from None
    max_ttl = mount_max
    if 0 < role.max_ttl < mount_max.total_seconds():
        max_ttl = timedelta(seconds=role.max_ttl)
    until_max = issued + max_ttl - utcnow()
    try:
        async with backend.proxy(config) as client:
            info, granted = await _move_expiry(client, token, ttl, until_max, warnings)
    except NotFoundError:
        raise Refusal(
            f"the LiteLLM key {alias or token} no longer exists (deleted outside this engine?); "
            "it cannot be renewed"
        ) from None
    except (LiteLLMError, TimeoutError) as exc:
        raise from_proxy_error(
            exc, action="renewing a key", url=config.url, mount_point=req.mount_point
        ) from None
    lease_max = timedelta(seconds=role.max_ttl)
    if granted < ttl:
        lease_max = _max_ending_within(issued, granted)
    lease = dataclasses.replace(options, ttl=granted, max_ttl=lease_max, issue_time=issued)
    expires = info.expires.isoformat() if info.expires else None
    return Response(
        data={"token": token, "key_alias": alias, "expires": expires},
        secret=dataclasses.replace(req.secret, lease_options=lease),
        warnings=warnings,
    )


def _max_ending_within(issued: datetime, ttl: timedelta) -> timedelta:
    """A lease maximum that ends the lease at most ``ttl`` from now.

    A caller's increment overrides the TTL a renewal returns (docs/host-behaviour.md §7.1);
    only the lease's maximum, counted in whole seconds from its issue time, binds the host.
    """
    now = utcnow().replace(microsecond=0)
    return now - issued.replace(microsecond=0) + ttl


async def _move_expiry(
    client: AsyncLiteLLMClient,
    token: str,
    ttl: timedelta,
    until_max: timedelta,
    warnings: list[str],
) -> tuple[KeyInfo, timedelta]:
    """Set the key's expiry for a lease of ``ttl`` from now; returns the row and the TTL the
    lease may have (shorter when the proxy caps durations)."""
    duration = expiry.key_duration(ttl, until_max)
    try:
        info = check_updated(await client.update_key(token, duration=f"{duration}s"), token)
    except BadRequestError as exc:
        cap = expiry.proxy_cap(exc.message)
        fitted = None if cap is None else expiry.ttl_under_cap(ttl, cap)
        if cap is None or fitted is None or fitted <= timedelta(0):
            raise
        if fitted < ttl:
            warnings.append(
                f"the proxy caps key durations at {int(cap.total_seconds())}s; the lease TTL "
                f"was shortened from {int(ttl.total_seconds())}s to "
                f"{int(fitted.total_seconds())}s"
            )
        capped = await client.update_key(token, duration=f"{int(cap.total_seconds())}s")
        info = check_updated(capped, token)
        ttl = fitted
    return info, ttl


async def revoke_key(backend: LiteLLMBackend, req: Request) -> None:
    """Delete the key; "already gone" counts as done. Any other failure is remembered (so the
    key is deleted later even if the host gives up) and returned, so that the host retries."""
    token, alias, role = _token(req)
    try:
        await delete_key(backend, req, token)
    except Exception as exc:
        message = _failure_message(exc)
        if not isinstance(exc, Refusal | LogicalError):
            log.error("revoking %s failed", token, exc_info=exc)
        try:
            await key_index.remember_failed_revocation(
                req.storage, token, alias=alias, role=role, kind="key", error=message
            )
        except Exception:
            log.warning("could not record the failed revocation of %s", token, exc_info=True)
        raise LogicalError(f"revoking LiteLLM key {alias or token} failed: {message}") from None


async def delete_key(backend: LiteLLMBackend, req: Request, token: str) -> None:
    """Delete one key by its token and forget it; raises (a :class:`Refusal` or a
    :class:`LogicalError`) when the proxy could not."""
    config = await backend.require_config(req.storage, req.mount_point)
    try:
        async with backend.proxy(config) as client:
            await delete_tokens(client, [token])
    except (LiteLLMError, TimeoutError) as exc:
        raise from_proxy_error(
            exc, action="deleting a key", url=config.url, mount_point=req.mount_point
        ) from None
    await key_index.forget_key(req.storage, token)


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, Refusal | LogicalError):
        return exc.message
    return f"internal error ({type(exc).__name__}); see the plugin log"
