"""``/key/delete``, ``/key/block``, ``/key/unblock`` and the enterprise-only ``/key/regenerate``."""

from __future__ import annotations

import re
from typing import Any

from e2e.litellm_standin import clock
from e2e.litellm_standin.auth import Caller
from e2e.litellm_standin.context import Context, Request, Response
from e2e.litellm_standin.errors import (
    ENTERPRISE_NOTICE,
    DetailError,
    HTTPProblem,
    ProxyError,
    as_internal,
    bad_request,
    not_found,
)
from e2e.litellm_standin.generate import RESPONSE_FIELDS
from e2e.litellm_standin.schemas import (
    BlockKeyRequest,
    DeleteKeysRequest,
    RegenerateKeyRequest,
    missing_body,
    validate,
)
from e2e.litellm_standin.store import KeyRow, token_of
from e2e.litellm_standin.views import row_view, token_view

_RAW_KEY_FORM = re.compile(r"sk-[A-Za-z0-9_-]+")
_HASH_FORM = re.compile(r"[a-fA-F0-9]{64}")


def delete_keys(ctx: Context, caller: Caller, request: Request) -> Response:
    if request.body is None:
        raise missing_body()
    data = validate(DeleteKeysRequest, request.body, "body")
    try:
        with ctx.store.lock:
            store = ctx.store
            if data.keys:
                echo: list[str] = data.keys
                tokens = {token_of(key) for key in data.keys}
            else:
                echo = data.key_aliases or []
                tokens = {row.token for row in store.keys.values() if row.key_alias in echo}
            rows = [store.keys[token] for token in sorted(tokens) if token in store.keys]
            if not rows:
                raise HTTPProblem(404, {"error": "No keys found"})
            if not caller.is_admin and any(not _owns(caller, row) for row in rows):
                raise HTTPProblem(403, {"error": "You are not authorized to delete this key"})
            for row in rows:
                _check_archivable(row)
            now = clock.stored(clock.now())
            for row in rows:
                store.archive_key(
                    row,
                    deleted_at=now,
                    deleted_by=caller.user_id,
                    deleted_by_api_key=caller.api_key,
                    changed_by=request.changed_by,
                )
    except HTTPProblem as problem:
        raise as_internal(problem) from None
    # The request list comes back verbatim: it does not say which keys existed.
    return Response(200, {"deleted_keys": echo})


_ARCHIVED_DICTS = ("aliases", "config", "permissions", "model_max_budget", "budget_fallbacks")


def _check_archivable(row: KeyRow) -> None:
    """The archive model needs these as objects: a key updated to null there cannot be deleted."""
    broken = [name for name in _ARCHIVED_DICTS if getattr(row, name) is None]
    if not broken:
        return
    count = f"{len(broken)} validation error{'s' if len(broken) > 1 else ''}"
    details = "".join(
        f"\n{name}\n  Input should be a valid dictionary [type=dict_type, input_value=None, "
        "input_type=NoneType]\n    For further information visit "
        "https://errors.pydantic.dev/2.14/v/dict_type"
        for name in broken
    )
    raise ProxyError(
        500, f"{count} for LiteLLM_DeletedVerificationToken{details}", "internal_server_error"
    )


def _owns(caller: Caller, row: KeyRow) -> bool:
    return row.user_id is not None and row.user_id == caller.user_id


def _valid_key_form(key: str) -> bool:
    return 3 <= len(key) <= 100 and bool(_RAW_KEY_FORM.fullmatch(key) or _HASH_FORM.fullmatch(key))


def set_blocked(ctx: Context, caller: Caller, request: Request, *, blocked: bool) -> Response:
    if request.body is None:
        raise missing_body()
    data = validate(BlockKeyRequest, request.body, "body")
    if not _valid_key_form(data.key):
        raise bad_request("Invalid key format.", "key")
    token = token_of(data.key)
    route = "/key/block" if blocked else "/key/unblock"
    with ctx.store.lock:
        row = ctx.store.keys.get(token)
        if not caller.is_admin:
            # Plain HTTP exceptions here: the body is {"detail": {...}} (shape C).
            if row is None:
                raise DetailError(404, {"error": f"Key not found: {token}"})
            raise DetailError(
                403,
                {
                    "error": f"Only proxy admins, team admins, or org admins can call {route}. "
                    f"user_role={caller.role}, user_id={caller.user_id}"
                },
            )
        if row is None:
            raise not_found("Key not found.")
        moment = clock.stored(clock.now())
        row.blocked = blocked
        row.updated_at = moment
        row.settings_updated_at = moment
        ctx.store.evict(token)
        body: dict[str, Any]
        if blocked:
            body = token_view(row, None)
        else:
            body = row_view(row, None, stamp=clock.z_text, with_token=True)
    return Response(200, body)


def regenerate(ctx: Context, caller: Caller, request: Request) -> Response:
    """Community proxies refuse every re-key, except rotating the master key itself."""
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("key") == ctx.master_key and body.get("new_master_key"):
        data = validate(RegenerateKeyRequest, body, "body")
        return Response(200, _master_rotation_echo(data))
    raise ProxyError(
        500,
        f"Regenerating Virtual Keys is an Enterprise feature, {ENTERPRISE_NOTICE}",
        "internal_server_error",
    )


def _master_rotation_echo(data: RegenerateKeyRequest) -> dict[str, Any]:
    """What the proxy answers to a master-key rotation: the new key, and nulls.

    The stand-in, like the real proxy, keeps serving with the master key it was started with.
    """
    new_key = data.new_master_key
    echo: dict[str, Any] = dict.fromkeys(RESPONSE_FIELDS)
    echo.update(
        models=[],
        spend=0.0,
        metadata={},
        allowed_cache_controls=[],
        config={},
        permissions={},
        model_max_budget={},
        aliases={},
        key=new_key,
        allowed_routes=[],
        key_name=new_key,
        token=new_key,
    )
    return echo
