"""``creds/<name>`` (read): mint a LiteLLM key bound to a new lease.

The order of work is what makes a crash safe:

1. a write-ahead entry naming the key's token (the engine makes the raw key, so the token is
   known before the proxy is asked), together with the mount's TTL limits, in one round trip;
2. the key is created in LiteLLM while its index entry is written;
3. the response is built and the write-ahead entry removed; the host registers the lease.

A crash before 3 leaves the write-ahead entry, and rollback deletes the key: no lease was ever
handed out for it. So does a failed create the proxy may still carry out late. The index entry
lets ``tidy`` tell keys with a lease from keys without.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litellm_client import (
    AliasConflictError,
    AsyncLiteLLMClient,
    BadRequestError,
    GeneratedKey,
    LiteLLMError,
    hash_key,
    new_raw_key,
)

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    LeaseTTLError,
    Path,
    compute_ttl,
    delete_wal,
    generic_name_regex,
    mount_ttls,
    put_wal,
)
from vault_plugin_litellm.sdk.logical import Operation, Request, Response

from . import alias_template, expiry, key_index
from .config import EngineConfig
from .identity import fill_ids
from .operation import changing
from .proxy import delete_tokens
from .proxy_errors import Refusal, answer_refusals, from_proxy_error
from .role import Role
from .wal_kinds import KEY_WAL, wal_data

if TYPE_CHECKING:
    from .backend import LiteLLMBackend

log = logging.getLogger(__name__)

ALIAS_ATTEMPTS = 3


def creds_paths(backend: LiteLLMBackend) -> list[Path]:
    @answer_refusals
    async def read(req: Request, data: FieldData) -> Response:
        return await mint(backend, req, data.get_str("name"))

    return [
        Path(
            pattern="creds/" + generic_name_regex("name"),
            fields={"name": FieldSchema(FieldType.STRING, "Name of the role.", required=True)},
            operations={
                Operation.READ: changing(
                    read, "Mint a LiteLLM key from a role.", callback_checks_forwarding=True
                )
            },
            help_synopsis="Mint a LiteLLM virtual key bound to a lease.",
            help_description=(
                "Each read mints a new key with the role's models, budget and limits, a unique "
                "alias and metadata naming the mount, role, request and caller. The key's "
                "LiteLLM expiry follows the lease (with at most a minute of grace); renewing the "
                "lease moves it, and revoking the lease (or letting it expire) deletes the key. "
                "Returns key, key_alias, token (the sha256 LiteLLM stores), expires, models, "
                "max_budget, user_id and team_id."
            ),
        )
    ]


@dataclass(slots=True)
class _Plan:
    """What one mint asks of the proxy, decided before the key exists."""

    role: Role
    raw_key: str
    token: str
    template: alias_template.AliasTemplate
    alias_values: dict[str, str]
    body: dict[str, Any]
    ttl: timedelta
    max_ttl: timedelta
    duration: int
    warnings: list[str]


async def mint(backend: LiteLLMBackend, req: Request, role_name: str) -> Response:
    role = await backend.get_role(req.storage, role_name)
    if role is None:
        raise Refusal(f'role "{role_name}": no such role')
    config = await backend.require_config(req.storage, req.mount_point)
    ids = await fill_ids(
        role.name, {"user_id": role.user_id, "team_id": role.team_id}, req, backend.system_view
    )
    raw_key = new_raw_key()
    token = hash_key(raw_key)
    system_view = backend.require_system_view()
    # The standby check (creds declares callback_checks_forwarding) shares the write-ahead
    # entry's round trip instead of costing one of its own before it. Nothing reaches the
    # proxy before it has answered. Such nodes refuse the write; if one let it through, the
    # entry would only make a rollback delete a key that never existed.
    wal_id, (mount_default, mount_max), _ = await asyncio.gather(
        put_wal(req.storage, KEY_WAL, wal_data(token, role=role.name), clock=backend.clock),
        mount_ttls(system_view, backend_ttl=timedelta(seconds=role.ttl)),
        backend.refuse_on_performance_nodes(),
    )
    try:
        plan = _plan(backend, req, role, raw_key, ids, mount_default, mount_max)
        async with backend.proxy(config) as client:
            generated = await _create(client, req, plan)
    except Refusal:
        await _abandon(backend, req, token, wal_id, config)
        raise
    except (LiteLLMError, TimeoutError) as exc:
        # A request the proxy never received (connection refused) created nothing. One it may
        # have received can still create the key after it was deleted here (a slow proxy
        # finishes it later): the write-ahead entry stays, and rollback deletes the key again
        # once no request of this mint can be in flight.
        exists = not isinstance(exc, LiteLLMError) or exc.maybe_processed
        await _abandon(
            backend, req, token, None if exists else wal_id, config, key_may_exist=exists
        )
        raise from_proxy_error(
            exc,
            action=f'minting a key for role "{role.name}"',
            url=config.url,
            mount_point=req.mount_point,
        ) from None
    except asyncio.CancelledError:
        raise  # the host gave up on the request: rollback deletes the key
    except BaseException:
        await _abandon(backend, req, token, wal_id, config)
        raise
    response = _respond(backend, plan, generated)
    try:
        await delete_wal(req.storage, wal_id)
    except Exception:
        # Without the entry gone the host must not get the key: delete it, and pass the
        # storage error on unchanged (a standby's text makes the host forward the request).
        await _abandon(backend, req, token, None, config)
        raise
    return response


def _plan(
    backend: LiteLLMBackend,
    req: Request,
    role: Role,
    raw_key: str,
    ids: dict[str, str],
    mount_default: timedelta,
    mount_max: timedelta,
) -> _Plan:
    try:
        ttl, warnings = compute_ttl(
            mount_default=mount_default,
            mount_max=mount_max,
            backend_ttl=timedelta(seconds=role.ttl),
            backend_max_ttl=timedelta(seconds=role.max_ttl),
        )
    except LeaseTTLError as exc:
        raise Refusal(f'role "{role.name}": {exc.message}') from None
    max_ttl = mount_max
    if 0 < role.max_ttl < mount_max.total_seconds():
        max_ttl = timedelta(seconds=role.max_ttl)
    try:
        template = alias_template.parse(role.key_alias_template)
    except alias_template.AliasTemplateError as exc:
        raise Refusal(f'role "{role.name}": {exc}') from None
    stamps = {
        "vault_mount": req.mount_point,
        "vault_backend_uuid": backend.backend_uuid,
        "vault_role": role.name,
        "vault_request_id": req.id,
        "vault_entity_id": req.entity_id,
        "vault_display_name": req.display_name,
    }
    body = role.generate_fields(user_id=ids["user_id"], team_id=ids["team_id"])
    body["metadata"] = role.key_metadata(stamps)
    return _Plan(
        role=role,
        raw_key=raw_key,
        token=hash_key(raw_key),
        template=template,
        alias_values={
            "role": role.name,
            "mount": req.mount_point.strip("/"),
            "unix_time": str(int(time.time())),
            "display_name": req.display_name,
            "entity_id": req.entity_id,
            "request_id": req.id,
        },
        body=body,
        ttl=ttl,
        max_ttl=max_ttl,
        duration=expiry.key_duration(ttl, max_ttl),
        warnings=warnings,
    )


async def _create(client: AsyncLiteLLMClient, req: Request, plan: _Plan) -> GeneratedKey:
    """Create the key while its index entry is written; both must succeed."""
    recording = asyncio.ensure_future(
        key_index.record_key(req.storage, plan.token, role=plan.role.name)
    )
    try:
        generated = await _generate_unique(client, plan)
    except BaseException:
        # Settle the index write before the caller undoes the mint (which removes it).
        await asyncio.wait([recording])
        if not recording.cancelled():
            recording.exception()
        raise
    await recording
    return generated


async def _generate_unique(client: AsyncLiteLLMClient, plan: _Plan) -> GeneratedKey:
    """Generate, retrying a taken alias with new random bits when the template has them."""
    attempts = ALIAS_ATTEMPTS if plan.template.has_random else 1
    for attempt in range(1, attempts + 1):
        try:
            alias = plan.template.render(plan.alias_values)
        except alias_template.AliasTemplateError as exc:
            raise Refusal(f'role "{plan.role.name}": {exc}') from None
        try:
            return await _generate(client, plan, alias)
        except AliasConflictError:
            if attempt == attempts:
                raise Refusal(_alias_taken(plan, alias)) from None
            log.info("alias %s is taken; minting again with new random bits", alias)
    raise AssertionError("unreachable")


async def _generate(client: AsyncLiteLLMClient, plan: _Plan, alias: str) -> GeneratedKey:
    try:
        generated = await client.generate_key(
            key=plan.raw_key, key_alias=alias, duration=f"{plan.duration}s", extra_body=plan.body
        )
    except BadRequestError as exc:
        cap = expiry.proxy_cap(exc.message)
        if cap is None or isinstance(exc, AliasConflictError):
            raise
        fitted = expiry.ttl_under_cap(plan.ttl, cap)
        if fitted <= timedelta(0):
            raise Refusal(_too_short(plan, cap)) from None
        if fitted != plan.ttl:
            plan.warnings.append(_shortened(plan.ttl, fitted, "caps key durations shorter"))
        plan.ttl, plan.duration = fitted, int(cap.total_seconds())
        generated = await client.generate_key(
            key=plan.raw_key, key_alias=alias, duration=f"{plan.duration}s", extra_body=plan.body
        )
    granted = expiry.granted_life(generated.expires, generated.created_at)
    asked = timedelta(seconds=plan.duration)
    shorter = None if granted is None else expiry.fitted_ttl(plan.ttl, granted, asked)
    if shorter is not None:
        if shorter <= timedelta(0):
            # A lease TTL of zero would mean the mount's default to the host. The key exists:
            # the refusal makes the mint delete it.
            assert granted is not None
            raise Refusal(_too_short(plan, granted))
        plan.warnings.append(_shortened(plan.ttl, shorter, "granted a shorter expiry"))
        plan.ttl = shorter
    return generated


def _too_short(plan: _Plan, life: timedelta) -> str:
    return (
        f'role "{plan.role.name}": the proxy lets keys live {int(life.total_seconds())}s at '
        "most (upperbound_key_generate_params), too short for a lease"
    )


def _shortened(ttl: timedelta, fitted: timedelta, why: str) -> str:
    return (
        f"the proxy {why} than the lease needs; the lease TTL was shortened from "
        f"{int(ttl.total_seconds())}s to {int(fitted.total_seconds())}s to end before the key"
    )


def _alias_taken(plan: _Plan, alias: str) -> str:
    if plan.template.has_random:
        return (
            f'role "{plan.role.name}": LiteLLM refused {ALIAS_ATTEMPTS} aliases in a row as '
            f"taken (last: {alias!r}); check the role's key_alias_template"
        )
    return (
        f'role "{plan.role.name}": the alias {alias!r} is already used by another LiteLLM key; '
        "aliases must be unique across the proxy: add {{random}} to key_alias_template"
    )


def _respond(backend: LiteLLMBackend, plan: _Plan, generated: GeneratedKey) -> Response:
    """The key for the caller, with its effective settings as the proxy reports them (its
    defaults may have filled what the role left open)."""
    body = plan.body
    response = backend.key_secret.response(
        {
            "key": plan.raw_key,
            "key_alias": generated.key_alias,
            "token": plan.token,
            "expires": generated.expires.isoformat() if generated.expires else None,
            "models": _first(generated.models, body.get("models")),
            "max_budget": _first(generated.max_budget, body.get("max_budget")),
            "user_id": _first(generated.user_id, body.get("user_id")),
            "team_id": _first(generated.team_id, body.get("team_id")),
        },
        {
            "token": plan.token,
            "key_alias": generated.key_alias,
            "role": plan.role.name,
            "issued_at": int(time.time()),
        },
    )
    assert response.secret is not None
    response.secret.lease_options.ttl = plan.ttl
    response.secret.lease_options.max_ttl = timedelta(seconds=plan.role.max_ttl)
    response.warnings = plan.warnings
    return response


def _first(reported: Any, sent: Any) -> Any:
    return reported if reported is not None else sent


async def _abandon(
    backend: LiteLLMBackend,
    req: Request,
    token: str,
    wal_id: str | None,
    config: EngineConfig,
    *,
    key_may_exist: bool = True,
) -> None:
    """Undo a mint that will not reach the caller: delete the key (it may exist), its index
    entry and the write-ahead entry. If that fails too, the write-ahead entry stays, and
    rollback deletes the key later."""
    try:
        if key_may_exist:
            async with backend.proxy(config) as client:
                await delete_tokens(client, [token])
        await key_index.forget_key(req.storage, token)
        if wal_id is not None:
            await delete_wal(req.storage, wal_id)
    except Exception:
        log.warning(
            "could not undo an abandoned mint (token %s); rollback will delete the key",
            token,
            exc_info=True,
        )
