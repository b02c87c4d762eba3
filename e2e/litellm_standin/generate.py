"""``POST /key/generate`` and ``POST /user/new`` (docs/litellm-api.md §4.1, §2.2)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from e2e.litellm_standin import clock, rules
from e2e.litellm_standin.auth import Caller
from e2e.litellm_standin.context import Context, Request, Response
from e2e.litellm_standin.durations import duration_seconds, next_budget_reset
from e2e.litellm_standin.errors import HTTPProblem, ProxyError, as_internal
from e2e.litellm_standin.schemas import (
    KEY_TYPE_ROUTES,
    GenerateKeyRequest,
    NewUserRequest,
    missing_body,
    validate,
)
from e2e.litellm_standin.store import ADMIN_NAME, BudgetRow, KeyRow, User, hash_token, key_name
from e2e.litellm_standin.views import budget_table, router_settings_echo

# The response model's fields in order; those not in the stored key data echo as null.
RESPONSE_FIELDS = (
    "key_alias",
    "duration",
    "models",
    "spend",
    "max_budget",
    "user_id",
    "team_id",
    "agent_id",
    "max_parallel_requests",
    "metadata",
    "tpm_limit",
    "rpm_limit",
    "budget_duration",
    "budget_limits",
    "allowed_cache_controls",
    "config",
    "permissions",
    "model_max_budget",
    "budget_fallbacks",
    "model_rpm_limit",
    "model_tpm_limit",
    "mcp_rpm_limit",
    "tag_rpm_limit",
    "guardrails",
    "policies",
    "prompts",
    "blocked",
    "aliases",
    "object_permission",
    "key",
    "tpd_limit",
    "default_estimated_output_tokens",
    "default_estimated_output_tokens_per_model",
    "budget_id",
    "end_user_budget_id",
    "tags",
    "disable_global_guardrails",
    "enable_prompt_caching",
    "throttle_on_budget_exceeded",
    "enforced_params",
    "allowed_routes",
    "allowed_passthrough_routes",
    "denied_passthrough_routes",
    "allowed_vector_store_indexes",
    "rpm_limit_type",
    "tpm_limit_type",
    "router_settings",
    "access_group_ids",
    "key_name",
    "key_type",
    "expires",
    "token_id",
    "organization_id",
    "project_id",
    "litellm_budget_table",
    "token",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
)


def generate_key(ctx: Context, caller: Caller, request: Request) -> Response:
    if request.body is None:
        raise missing_body()
    data = validate(GenerateKeyRequest, request.body, "body")
    try:
        with ctx.store.lock:
            return Response(200, _generate(ctx, caller, data))
    except HTTPProblem as problem:
        raise as_internal(problem) from None
    except (ValueError, OverflowError) as exc:
        # Unhandled inside the route: the text becomes the message, the status 500.
        raise ProxyError(500, str(exc), "internal_server_error") from None


def _generate(ctx: Context, caller: Caller, data: GenerateKeyRequest) -> dict[str, Any]:
    rules.check_budget_value("max_budget", data.max_budget)
    rules.check_budget_value("soft_budget", data.soft_budget)
    fields = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    if not caller.is_admin:
        if data.user_id is None and caller.user_id is not None:
            fields["user_id"] = caller.user_id
        if data.team_id is not None:
            raise HTTPProblem(
                400,
                f"Team not found for team_id={data.team_id}. "
                "Non-admin users cannot create keys for non-existent teams.",
            )
    rules.check_project(data.project_id)
    rules.check_budget_duration(data.budget_duration)
    rules.check_admin_only(fields, is_admin=caller.is_admin)
    rules.check_service_account(data.metadata, data.team_id)
    rules.refuse_premium(fields)
    # Omitted and null fields both take the defaults (the proxy drops nulls before storing).
    metadata = rules.fold_into_metadata(fields.pop("metadata", {}), fields)
    key_type = data.key_type.value if data.key_type is not None else None
    if data.key_type is not None and data.key_type in KEY_TYPE_ROUTES:
        fields["allowed_routes"] = list(KEY_TYPE_ROUTES[data.key_type])
    rules.check_alias_format(data.key_alias)
    rules.check_alias_unique(ctx.store, data.key_alias)
    rules.check_custom_key(data.key, allowed=not ctx.disable_custom_api_keys)
    rules.check_organization(data.organization_id)
    return _insert(
        ctx,
        fields,
        metadata=metadata,
        key_type=key_type,
        raw=data.key,
        soft_budget=data.soft_budget,
        creator=caller.user_id,
    )


def _insert(
    ctx: Context,
    fields: dict[str, Any],
    *,
    metadata: Any,
    key_type: str | None,
    raw: str | None,
    soft_budget: float | None,
    creator: str | None,
) -> dict[str, Any]:
    """Store a new key (or find the existing custom one) and build the generate-style echo."""
    raw = raw or f"sk-{secrets.token_urlsafe(16)}"
    now = clock.now()
    expires = _expiry(fields.get("duration"), now)
    budget_duration = fields.get("budget_duration")
    reset_at = next_budget_reset(budget_duration, now) if budget_duration is not None else None
    budget_limits = _budget_windows(fields.get("budget_limits"), now)
    rules.check_model_max_budget(fields.get("model_max_budget"))
    if "get_spend_routes" in str(fields.get("permissions", {})):
        raise HTTPProblem(500, {"error": "Internal Server Error."})
    token = hash_token(raw)
    budget = _budget_row(ctx, soft_budget, creator, now)
    row = ctx.store.keys.get(token)
    if row is None:
        # A reused custom key is an upsert with an empty update: the stored row stays as it was.
        row = KeyRow(
            token=token,
            key_name=key_name(raw),
            key_alias=fields.get("key_alias"),
            created_at=clock.stored(now),
            created_by=creator,
            updated_at=clock.stored(now),
            updated_by=creator,
            spend=float(fields.get("spend", 0.0)),
            expires=clock.stored(expires) if expires is not None else None,
            models=list(fields.get("models", [])),
            aliases=dict(fields.get("aliases", {})),
            config=dict(fields.get("config", {})),
            router_settings=dict(fields.get("router_settings", {})),
            user_id=fields.get("user_id"),
            team_id=fields.get("team_id"),
            agent_id=fields.get("agent_id"),
            project_id=fields.get("project_id"),
            permissions=dict(fields.get("permissions", {})),
            max_parallel_requests=fields.get("max_parallel_requests"),
            metadata=metadata,
            blocked=fields.get("blocked"),
            tpm_limit=fields.get("tpm_limit"),
            rpm_limit=fields.get("rpm_limit"),
            tpd_limit=fields.get("tpd_limit"),
            max_budget=fields.get("max_budget"),
            budget_duration=budget_duration,
            budget_reset_at=clock.stored(reset_at) if reset_at is not None else None,
            allowed_cache_controls=list(fields.get("allowed_cache_controls", [])),
            allowed_routes=list(fields.get("allowed_routes", [])),
            key_type=key_type,
            access_group_ids=list(fields.get("access_group_ids", [])),
            model_max_budget=dict(fields.get("model_max_budget", {})),
            budget_fallbacks=dict(fields.get("budget_fallbacks", {})),
            budget_id=budget.budget_id if budget is not None else fields.get("budget_id"),
            organization_id=fields.get("organization_id"),
            object_permission=fields.get("object_permission"),
            object_permission_id=str(uuid.uuid4()) if fields.get("object_permission") else None,
            auto_rotate=bool(fields.get("auto_rotate", False)),
            rotation_interval=fields.get("rotation_interval"),
            budget_limits=budget_limits,
        )
        ctx.store.keys[token] = row
    stored_budget = ctx.store.budgets.get(row.budget_id) if row.budget_id else None
    echo: dict[str, Any] = {
        **{name: fields.get(name) for name in RESPONSE_FIELDS},
        "duration": None,
        "models": list(fields.get("models", [])),
        "spend": float(fields.get("spend", 0.0)),
        "metadata": metadata,
        "budget_duration": budget_duration,
        "budget_limits": _z_windows(budget_limits),
        "allowed_cache_controls": list(fields.get("allowed_cache_controls", [])),
        "config": dict(fields.get("config", {})),
        "permissions": dict(fields.get("permissions", {})),
        "model_max_budget": dict(fields.get("model_max_budget", {})),
        "budget_fallbacks": dict(fields.get("budget_fallbacks", {})),
        "aliases": dict(fields.get("aliases", {})),
        "object_permission": None,
        "key": raw,
        "budget_id": budget.budget_id if budget is not None else fields.get("budget_id"),
        "allowed_routes": list(fields.get("allowed_routes", [])),
        "router_settings": router_settings_echo(dict(fields.get("router_settings", {}))),
        "access_group_ids": list(fields.get("access_group_ids", [])),
        "key_name": key_name(raw),
        "key_type": key_type,
        "expires": clock.z_text(expires),
        "token_id": token,
        "litellm_budget_table": budget_table(stored_budget, clock.z_text),
        "token": token,
        "created_by": creator,
        "updated_by": creator,
        "created_at": clock.z_text(row.created_at),
        "updated_at": clock.z_text(row.updated_at),
    }
    return echo


def _expiry(duration: str | None, now: datetime) -> datetime | None:
    return None if duration is None else now + timedelta(seconds=duration_seconds(duration))


def _budget_windows(windows: list[dict[str, Any]] | None, now: datetime) -> list[Any] | None:
    if not windows:
        return None
    return [
        {**window, "reset_at": next_budget_reset(window["budget_duration"], now).isoformat()}
        for window in windows
    ]


def _z_windows(windows: list[Any] | None) -> list[Any] | None:
    """Generate answers with the windows re-read as a model: its timestamps end in Z."""
    if windows is None:
        return None
    return [
        {**window, "reset_at": clock.z_text(datetime.fromisoformat(window["reset_at"]))}
        for window in windows
    ]


def _budget_row(
    ctx: Context, soft_budget: float | None, creator: str | None, now: datetime
) -> BudgetRow | None:
    if soft_budget is None:
        return None
    moment = clock.stored(now)
    budget = BudgetRow(
        budget_id=str(uuid.uuid4()),
        soft_budget=soft_budget,
        created_at=moment,
        created_by=creator or ADMIN_NAME,
        updated_at=moment,
        updated_by=creator or ADMIN_NAME,
        model_max_budget={},
    )
    ctx.store.budgets[budget.budget_id] = budget
    return budget


def new_user(ctx: Context, caller: Caller, request: Request) -> Response:
    """Create a user and a first key owned by it (how admin virtual keys are obtained)."""
    if request.body is None:
        raise missing_body()
    data = validate(NewUserRequest, request.body, "body")
    try:
        with ctx.store.lock:
            return Response(200, _new_user(ctx, data))
    except HTTPProblem as problem:
        raise as_internal(problem) from None
    except (ValueError, OverflowError) as exc:
        raise ProxyError(500, str(exc), "internal_server_error") from None


def _new_user(ctx: Context, data: NewUserRequest) -> dict[str, Any]:
    user_id = data.user_id or str(uuid.uuid4())
    if user_id in ctx.store.users:
        raise HTTPProblem(409, {"error": f"User with id {user_id} already exists"})
    rules.check_budget_duration(data.budget_duration)
    role = data.user_role.value if data.user_role is not None else None
    fields = data.model_dump(
        mode="json",
        exclude_unset=True,
        exclude_none=True,
        include={"key_alias", "duration", "models", "metadata", "tpm_limit", "rpm_limit"},
    )
    fields["user_id"] = user_id
    ctx.store.users[user_id] = User(user_id=user_id, user_role=role, created_at=clock.now())
    echo = _insert(
        ctx, fields, metadata=data.metadata, key_type=None, raw=None, soft_budget=None, creator=None
    )
    # The user's own budget is what /user/new's max_budget sets; the key has none.
    echo.update(
        max_budget=data.max_budget,
        key_type=None,
        token=None,
        token_id=None,
        user_email=data.user_email,
        user_role=role,
        teams=data.teams,
        user_alias=data.user_alias,
    )
    return echo
