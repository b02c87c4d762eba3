"""Key management (docs/litellm-api.md §4): generate, update, delete, info, list, block, unblock,
regenerate (always the Enterprise refusal), bulk update (only the empty admin check) and
``/user/new`` (how proxy_admin and internal_user keys are obtained).

Requests from a non-admin caller are modelled where the client, the engine or the demo make them:
generate, info, bulk update, and the refusals of the auth layer. Elsewhere a non-admin caller gets
the stand-in's 501, as does any field not in :mod:`~tests.support.litellm_standin.schemas`.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from tests.support.litellm_standin.auth import INTERNAL_USER, PROXY_ADMIN, Caller
from tests.support.litellm_standin.context import Context, Request, Response
from tests.support.litellm_standin.durations import budget_duration_error, expiry, next_reset
from tests.support.litellm_standin.errors import (
    ENTERPRISE_NOTICE,
    DetailError,
    HTTPProblem,
    NotModelled,
    ProxyError,
    as_auth_error,
    as_internal,
    enterprise_only,
)
from tests.support.litellm_standin.schemas import (
    KEY_TYPE_ROUTES,
    PREMIUM_FIELDS,
    BlockRequest,
    BulkUpdateRequest,
    DeleteRequest,
    GenerateRequest,
    ListQuery,
    NewUserRequest,
    UpdateRequest,
    validate,
)
from tests.support.litellm_standin.store import (
    Row,
    Store,
    hash_token,
    key_name,
    names,
    new_row,
    stored,
    token_of,
    utc_now,
)
from tests.support.litellm_standin.views import (
    ECHO_DEFAULTS,
    ECHO_FIELDS,
    info_view,
    list_object,
    router_settings_echo,
    token_view,
    unblock_view,
    update_view,
    z_text,
)

# Request fields that are columns of the key row, written as sent.
_COLUMNS = names(
    """key_alias models max_budget user_id team_id max_parallel_requests tpm_limit rpm_limit
    tpd_limit blocked allowed_routes model_max_budget"""
)
# Columns the database cannot set to null: the write fails and update reports the message (400).
_NOT_NULL = ("models", "allowed_routes")
_UNSAFE_ALIAS = re.compile("(^|/)\\.\\.(/|$)|[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_KEY_FORM = re.compile(r"sk-[A-Za-z0-9_-]+|[a-fA-F0-9]{64}")
MINIMUM_CUSTOM_KEY_LENGTH = 16


def _not_modelled_for(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise NotModelled(f"{what} by a caller that is not a proxy admin")


# --- generate and /user/new ------------------------------------------------------------------


def generate(ctx: Context, caller: Caller, request: Request) -> Response:
    data = validate(GenerateRequest, request.body)
    try:
        with ctx.store.lock:
            return Response(200, _generate(ctx, caller, data))
    except HTTPProblem as problem:
        raise as_internal(problem) from None
    except (ValueError, OverflowError) as exc:
        # Unhandled inside the route: the text becomes the message, the status 500.
        raise ProxyError(500, str(exc), "internal_server_error") from None


def _generate(ctx: Context, caller: Caller, data: GenerateRequest) -> dict[str, Any]:
    _check_budget_value(data.max_budget)
    fields = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    if not caller.is_admin:
        wanted = fields.setdefault("user_id", caller.user_id)
        if wanted != caller.user_id:
            raise HTTPProblem(
                403,
                f"User can only create keys for themselves. Got user_id={wanted}, "
                f"Your ID={caller.user_id}",
            )
        if data.team_id is not None:
            raise HTTPProblem(
                400,
                f"Team not found for team_id={data.team_id}. "
                "Non-admin users cannot create keys for non-existent teams.",
            )
    _check_budget_duration(data.budget_duration)
    _refuse_premium(fields)
    metadata = _fold_premium(fields.pop("metadata", {}), fields)
    key_type = data.key_type.value if data.key_type is not None else None
    if key_type is not None and key_type in KEY_TYPE_ROUTES:
        fields["allowed_routes"] = list(KEY_TYPE_ROUTES[key_type])
    _check_alias(ctx, data.key_alias)
    _check_unique_alias(ctx.store, data.key_alias)
    _check_custom_key(data.key, allowed=not ctx.disable_custom_api_keys)
    return _insert(ctx, fields, metadata, key_type, data.key, caller.user_id)


def _insert(
    ctx: Context,
    fields: dict[str, Any],
    metadata: Any,
    key_type: str | None,
    raw: str | None,
    creator: str | None,
) -> dict[str, Any]:
    """Store a new key (a reused custom key leaves its row as it was) and build generate's echo."""
    raw = raw or f"sk-{secrets.token_urlsafe(16)}"
    now = utc_now()
    expires = expiry(fields["duration"], now) if "duration" in fields else None
    period = fields.get("budget_duration")
    reset_at = next_reset(period, now) if period is not None else None
    _check_model_max_budget(fields.get("model_max_budget"))
    token = hash_token(raw)
    row = ctx.store.keys.get(token)
    if row is None:
        row = new_row(token, raw, creator, now)
        row.update({name: fields[name] for name in _COLUMNS if name in fields})
        row.update(metadata=metadata, key_type=key_type, budget_duration=period)
        row.update(
            expires=expires and stored(expires), budget_reset_at=reset_at and stored(reset_at)
        )
        ctx.store.keys[token] = row
    echo = copy.deepcopy(ECHO_DEFAULTS)
    echo.update({name: value for name, value in fields.items() if name in ECHO_FIELDS})
    echo.update(duration=None, metadata=metadata, key=raw, key_name=key_name(raw))
    echo.update(router_settings=router_settings_echo(ctx.version), key_type=key_type)
    echo.update(expires=expires and z_text(expires), token_id=token, token=token)
    echo.update(created_by=creator, updated_by=creator)
    echo.update(created_at=z_text(row["created_at"]), updated_at=z_text(row["updated_at"]))
    return echo


def new_user(ctx: Context, caller: Caller, request: Request) -> Response:
    data = validate(NewUserRequest, request.body)
    if data.user_role not in (PROXY_ADMIN, INTERNAL_USER):
        raise NotModelled(f"a user with user_role={data.user_role!r}", "user_role")
    try:
        with ctx.store.lock:
            user_id = data.user_id or str(uuid.uuid4())
            if user_id in ctx.store.users:
                raise HTTPProblem(409, {"error": f"User with id {user_id} already exists"})
            ctx.store.users[user_id] = data.user_role
            echo = _insert(ctx, {"user_id": user_id}, {}, None, None, None)
    except HTTPProblem as problem:
        raise as_internal(problem) from None
    # The user's first key, described as the user: no token, and the user's own fields.
    echo.update(key_type=None, token=None, token_id=None, user_role=data.user_role)
    echo.update(dict.fromkeys(["user_email", "teams", "user_alias"]))
    return Response(200, echo)


# --- update -----------------------------------------------------------------------------------


def update(ctx: Context, caller: Caller, request: Request) -> Response:
    # key_type is no update field on the proxy: ignored there, ignored here.
    data = validate(UpdateRequest, request.body, "body", "key_type")
    _not_modelled_for(caller, "a key update")
    try:
        with ctx.store.lock:
            row, key = _update(ctx, data)
            return Response(200, update_view(row, key))
    except HTTPProblem as problem:
        raise as_auth_error(problem) from None
    except (ValueError, OverflowError) as exc:
        raise ProxyError(400, f"Authentication Error, {exc}", "auth_error", "None") from None


def _find(store: Store, key: str | None, alias: str | None) -> Row:
    if key is not None:
        row = store.keys.get(token_of(key))
        if row is None:
            raise ProxyError(404, "Key not found.", "not_found_error", "key")
        return row
    rows = store.with_alias(alias or "")
    if not rows:
        message = f"Key not found. No key with key_alias='{alias}'."
        raise ProxyError(404, message, "not_found_error", "key_alias")
    if len(rows) > 1:
        message = f"Multiple keys share key_alias='{alias}', so it cannot be used as an identifier."
        raise ProxyError(400, message, "bad_request_error", "key_alias")
    return rows[0]


def _update(ctx: Context, data: UpdateRequest) -> tuple[Row, str]:
    _check_budget_value(data.max_budget)
    row = _find(ctx.store, data.key, data.key_alias)
    _check_budget_duration(data.budget_duration)
    fields = data.model_dump(mode="json", exclude_unset=True)
    fields.pop("key", None)
    _refuse_premium(fields)
    now = utc_now()
    changes: dict[str, Any] = {}
    if "duration" in fields:
        duration = fields.pop("duration")
        if duration is None or duration == "-1":
            changes["expires"] = None
        elif duration:
            changes["expires"] = stored(expiry(duration, now))
    if "budget_duration" in fields:
        period = changes["budget_duration"] = fields.pop("budget_duration")
        changes["budget_reset_at"] = period and stored(next_reset(period, now))
    _check_model_max_budget(fields.get("model_max_budget"))
    # Sent metadata replaces the stored one; falsy premium fields are merged into it.
    # Unsent, a null metadata is read back as {} and written again so.
    kept = copy.deepcopy(row["metadata"]) if isinstance(row["metadata"], dict) else {}
    metadata = fields.pop("metadata") if "metadata" in fields else kept
    changes["metadata"] = _fold_premium(metadata, fields)
    changes.update({name: fields[name] for name in _COLUMNS if name in fields})
    if changes.get("key_alias", row["key_alias"]) != row["key_alias"]:
        _check_alias(ctx, changes["key_alias"])
    _check_unique_alias(ctx.store, changes.get("key_alias"), own=row["token"])
    refused = next((name for name in _NOT_NULL if name in changes and changes[name] is None), None)
    if refused is not None:
        inner = (
            "Unable to match input value to any allowed input type for the field. Parse errors: "
            f"[`data.{refused}`: A value is required but not set, "
            f"`data.{refused}`: A value is required but not set]"
        )
        raise ValueError(
            "Unable to match input value to any allowed input type for the field. "
            f"Parse errors: [{inner}, {inner}]"
        )
    row.update(changes)
    # updated_by is left alone: the proxy only records the creator there.
    row["updated_at"] = row["settings_updated_at"] = stored(now)
    ctx.store.evict(row["token"])
    return row, data.key if data.key is not None else row["token"]


# --- delete, block, unblock, regenerate, bulk update -----------------------------------------


def delete(ctx: Context, caller: Caller, request: Request) -> Response:
    data = validate(DeleteRequest, request.body)
    _not_modelled_for(caller, "a key deletion")
    store = ctx.store
    with store.lock:
        if data.keys:
            echo, tokens = data.keys, {token_of(key) for key in data.keys}
        else:
            echo = data.key_aliases or []
            tokens = {token for token, row in store.keys.items() if row["key_alias"] in echo}
        rows = [store.keys[token] for token in sorted(tokens) if token in store.keys]
        if not rows:
            raise as_internal(HTTPProblem(404, {"error": "No keys found"}))
        now = stored(utc_now())
        for row in rows:
            del store.keys[row["token"]]
            store.evict(row["token"])
            store.pending = [entry for entry in store.pending if entry.token != row["token"]]
            store.rpm_windows.pop(row["token"], None)
            archived = {**copy.deepcopy(row), "id": str(uuid.uuid4()), "deleted_at": now}
            archived.update(deleted_by=caller.user_id, deleted_by_api_key=caller.api_key)
            archived.update(litellm_changed_by=request.header("litellm-changed-by"))
            store.deleted.append(archived)
    # The request's list comes back verbatim: it does not say which keys existed.
    return Response(200, {"deleted_keys": echo})


def set_blocked(ctx: Context, caller: Caller, request: Request, *, blocked: bool) -> Response:
    data = validate(BlockRequest, request.body)
    if not (3 <= len(data.key) <= 100 and _KEY_FORM.fullmatch(data.key)):
        raise ProxyError(400, "Invalid key format.", "bad_request_error", "key")
    _not_modelled_for(caller, "blocking or unblocking a key")
    with ctx.store.lock:
        row = ctx.store.keys.get(token_of(data.key))
        if row is None:
            raise ProxyError(404, "Key not found.", "not_found_error", "key")
        row["blocked"] = blocked
        row["updated_at"] = row["settings_updated_at"] = stored(utc_now())
        ctx.store.evict(row["token"])
        return Response(200, token_view(row) if blocked else unblock_view(row))


def regenerate(ctx: Context, caller: Caller, request: Request) -> Response:
    """Community proxies refuse every re-key; rotating the master key itself is not modelled."""
    if isinstance(request.body, dict) and "new_master_key" in request.body:
        raise NotModelled("rotating the master key", "new_master_key")
    raise ProxyError(
        500,
        f"Regenerating Virtual Keys is an Enterprise feature, {ENTERPRISE_NOTICE}",
        "internal_server_error",
    )


def bulk_update(ctx: Context, caller: Caller, request: Request) -> Response:
    """Only ``{"keys": []}``: the side-effect-free check that the caller is a proxy admin."""
    data = validate(BulkUpdateRequest, request.body)
    if not caller.is_admin:
        raise DetailError(403, {"error": "Only proxy admins can perform bulk key updates"})
    if not data.keys:
        raise DetailError(400, {"error": "No keys provided for update"})
    raise NotModelled("a bulk update of keys", "keys")


# --- info and list ----------------------------------------------------------------------------


def key_status(row: Row, now: datetime) -> str:
    if "deleted_at" in row:
        return "deleted"
    if row["blocked"] is True:
        return "revoked"
    if row["expires"] is not None and row["expires"] < now:
        return "expired"
    return "active"


def info(ctx: Context, caller: Caller, request: Request) -> Response:
    # Without ?key= the caller's own key is described; the master key has no row, hence 404.
    given = request.query.get("key", [""])[-1]
    key = given or caller.api_key
    token = token_of(key)
    with ctx.store.lock:
        row = ctx.store.keys.get(token) or ctx.store.last_deleted(token)
        if row is None:
            raise ProxyError(404, "Key not found in database", "not_found_error", "key")
        owner = row["user_id"]
        # 1.108 lets a caller without a user read every key without one (None == None).
        same_owner = owner == caller.user_id and (owner is not None or ctx.version != "1.106.12")
        if not (caller.is_admin or caller.api_key == token or same_owner):
            problem = HTTPProblem(
                403, f"You are not allowed to access this key's info. Your role={caller.role}"
            )
            raise as_internal(problem)
        return Response(200, {"key": key, "info": info_view(row, key_status(row, utc_now()))})


_STATUSES = ("active", "expired", "revoked", "deleted")


def list_keys(ctx: Context, caller: Caller, request: Request) -> Response:
    values = {name: given[-1] for name, given in request.query.items()}
    query = validate(ListQuery, values, "query")
    if query.status is not None and query.status not in _STATUSES:
        error = "Invalid status value. Supported: 'active', 'expired', 'revoked', 'deleted'."
        raise ProxyError(400, str({"error": error}), "internal_server_error", "None")
    if not caller.is_admin:
        if not caller.has_user:
            raise ProxyError(
                403,
                "You are not authorized to access this endpoint. "
                "No 'user_id' is associated with your API key.",
                "bad_request_error",
                "user_id",
            )
        _not_modelled_for(caller, "a key listing")
    now = utc_now()
    with ctx.store.lock:
        rows = ctx.store.deleted if query.status == "deleted" else list(ctx.store.keys.values())
        found = [row for row in rows if _matches(row, query, now)]
        # Newest first; the token breaks ties, as the database's order happened to.
        found.sort(key=lambda row: row["token"], reverse=True)
        found.sort(key=lambda row: row["created_at"], reverse=True)
        start = (query.page - 1) * query.size
        page = found[start : start + query.size]
        keys = [list_object(row) if query.return_full_object else row["token"] for row in page]
    total = len(found)
    return Response(
        200,
        {
            "keys": keys,
            "total_count": total,
            "current_page": query.page,
            "total_pages": -(-total // query.size),
        },
    )


def _contains(text: object, part: str) -> bool:
    """Case-insensitive substring, like Prisma's ``contains`` with ``mode: insensitive``."""
    return isinstance(text, str) and part.lower() in text.lower()


def _matches(row: Row, query: ListQuery, now: datetime) -> bool:
    loose = query.substring_matching
    tests = [
        not query.user_id
        or (_contains(row["user_id"], query.user_id) if loose else row["user_id"] == query.user_id),
        not query.team_id or row["team_id"] == query.team_id,
        not query.key_alias
        or (
            _contains(row["key_alias"], query.key_alias)
            if loose
            else row["key_alias"] == query.key_alias
        ),
        not query.key_hash or row["token"] == query.key_hash,
        not query.search
        or row["token"] == query.search
        or _contains(row["key_alias"], query.search),
        query.status in (None, "deleted") or key_status(row, now) == query.status,
    ]
    return all(tests)


# --- rules shared by generate and update ------------------------------------------------------


def _check_budget_value(value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        error = f"max_budget must be a non-negative finite number. Received: {value}"
        raise HTTPProblem(400, {"error": error})


def _check_budget_duration(value: str | None) -> None:
    error = budget_duration_error(value)
    if error is not None:
        raise HTTPProblem(400, {"error": error})


def _check_model_max_budget(value: dict[str, Any] | None) -> None:
    """Any non-empty ``model_max_budget`` needs a licence (a ValueError: 500 on generate)."""
    if value:
        raise ValueError(
            "Invalid model_max_budget: You must have an enterprise license to set "
            f"model_max_budget. {ENTERPRISE_NOTICE}. Example of valid model_max_budget: "
            "https://docs.litellm.ai/docs/proxy/users"
        )


def _refuse_premium(fields: dict[str, Any]) -> None:
    for name in PREMIUM_FIELDS:
        if fields.get(name):
            raise enterprise_only(name)


def _fold_premium(metadata: Any, fields: dict[str, Any]) -> Any:
    """Falsy premium fields are kept inside ``metadata`` (dropped when metadata is null)."""
    if isinstance(metadata, dict) and "service_account_id" in metadata:
        raise NotModelled("service account keys (metadata.service_account_id)", "metadata")
    for name in PREMIUM_FIELDS:
        value = fields.pop(name, None)
        if value is not None and metadata is not None:
            metadata = {**metadata, name: value}
    return metadata


def _check_alias(ctx: Context, alias: str | None) -> None:
    if alias is not None and _UNSAFE_ALIAS.search(alias):
        message = "Invalid key_alias"
        if ctx.version != "1.106.12":
            message += (
                ': must not contain control characters (such as tab or newline) or a ".." '
                "path segment"
            )
        raise ProxyError(400, message, "bad_request_error", "key_alias")


def _check_unique_alias(store: Store, alias: str | None, own: str | None = None) -> None:
    if alias is not None and any(row["token"] != own for row in store.with_alias(alias)):
        raise ProxyError(
            400,
            f"Key with alias '{alias}' already exists. "
            "Unique key aliases across all keys are required.",
            "bad_request_error",
            "key_alias",
        )


def _check_custom_key(raw: str | None, *, allowed: bool) -> None:
    if raw is None:
        return
    if not allowed:
        error = (
            "Custom API key values are disabled by your administrator. Keys must be auto-generated."
        )
        raise HTTPProblem(403, {"error": error})
    if not raw.startswith("sk-"):
        shown = f"{raw[:4]}****{raw[-4:]}" if len(raw) > 8 else "****"
        error = f"Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: {shown}"
        raise HTTPProblem(400, {"error": error})
    if len(raw) < MINIMUM_CUSTOM_KEY_LENGTH:
        error = (
            "Invalid key format. LiteLLM Virtual Key must be at least "
            f"{MINIMUM_CUSTOM_KEY_LENGTH} characters long."
        )
        raise HTTPProblem(400, {"error": error})
