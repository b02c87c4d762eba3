"""``POST /key/update`` and ``POST /key/bulk_update`` (docs/litellm-api.md §4.2, §4.8).

Update is a merge patch: omitted fields keep their value, an explicit null clears, ``duration``
counts from now, ``metadata`` is replaced whole. Its HTTP-exception failures are relabelled
``auth_error`` with param ``"None"``; any other exception is 400 "Authentication Error, ...".
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from e2e.litellm_standin import clock, rules
from e2e.litellm_standin.auth import Caller
from e2e.litellm_standin.context import Context, Request, Response
from e2e.litellm_standin.durations import duration_seconds, next_budget_reset
from e2e.litellm_standin.errors import (
    DetailError,
    HTTPProblem,
    ProxyError,
    as_auth_error,
    bad_request,
    not_found,
)
from e2e.litellm_standin.schemas import (
    BulkUpdateRequest,
    UpdateKeyRequest,
    missing_body,
    validate,
)
from e2e.litellm_standin.store import ADMIN_NAME, BudgetRow, KeyRow, Store, token_of
from e2e.litellm_standin.views import row_view

# Request fields that are columns of the key row, written as sent (null included).
_COLUMNS = (
    "key_alias",
    "models",
    "spend",
    "max_budget",
    "user_id",
    "team_id",
    "agent_id",
    "max_parallel_requests",
    "tpm_limit",
    "rpm_limit",
    "allowed_cache_controls",
    "config",
    "permissions",
    "model_max_budget",
    "budget_fallbacks",
    "blocked",
    "aliases",
    "tpd_limit",
    "budget_id",
    "allowed_routes",
    "router_settings",
    "access_group_ids",
    "auto_rotate",
    "rotation_interval",
    "organization_id",
    "project_id",
    "object_permission",
)
# Columns the database cannot set to null: an explicit null fails at the write, and the proxy
# reports the database client's message as a 400.
_NOT_NULL = ("models", "spend", "allowed_cache_controls", "allowed_routes", "access_group_ids")


def _not_null_error(name: str) -> ValueError:
    inner = (
        "Unable to match input value to any allowed input type for the field. Parse errors: "
        f"[`data.{name}`: A value is required but not set, "
        f"`data.{name}`: A value is required but not set]"
    )
    return ValueError(
        "Unable to match input value to any allowed input type for the field. "
        f"Parse errors: [{inner}, {inner}]"
    )


def update_key(ctx: Context, caller: Caller, request: Request) -> Response:
    if request.body is None:
        raise missing_body()
    data = validate(UpdateKeyRequest, request.body, "body")
    try:
        with ctx.store.lock:
            row, key = apply_update(ctx, caller, data)
            return Response(200, {"key": key, **row_view(row, None, with_token=True)})
    except HTTPProblem as problem:
        raise as_auth_error(problem) from None
    except (ValueError, OverflowError, TypeError) as exc:
        raise ProxyError(400, f"Authentication Error, {exc}", "auth_error", "None") from None


def find_for_update(store: Store, key: str | None, alias: str | None) -> KeyRow:
    if key is not None:
        row = store.keys.get(token_of(key))
        if row is None:
            raise not_found("Key not found.")
        return row
    assert alias is not None  # the request model insists on one of the two
    rows = store.with_alias(alias)
    if not rows:
        raise not_found(f"Key not found. No key with key_alias='{alias}'.", "key_alias")
    if len(rows) > 1:
        raise bad_request(
            f"Multiple keys share key_alias='{alias}', so it cannot be used as an identifier.",
            "key_alias",
        )
    return rows[0]


def apply_update(ctx: Context, caller: Caller, data: UpdateKeyRequest) -> tuple[KeyRow, str]:
    """Validate and apply one update; returns the row and the identifier to echo."""
    rules.check_budget_value("max_budget", data.max_budget)
    rules.check_budget_value("soft_budget", data.soft_budget)
    row = find_for_update(ctx.store, data.key, data.key_alias)
    key = data.key if data.key is not None else row.token
    rules.check_spend_value(data.spend)
    rules.check_budget_duration(data.budget_duration)
    if data.project_id is not None and data.project_id != row.project_id:
        raise HTTPProblem(400, "Project reassignment is not supported. Use null to detach the key.")
    fields = data.model_dump(mode="json", exclude_unset=True)
    fields.pop("key", None)
    if not caller.is_admin:
        _check_owner_may_update(caller, row, data)
    rules.check_admin_only(fields, is_admin=caller.is_admin)
    if data.organization_id is not None and data.organization_id != row.organization_id:
        rules.check_organization(data.organization_id)
    rules.check_service_account(data.metadata, data.team_id or row.team_id)
    rules.refuse_premium(fields)
    now = clock.now()
    changes: dict[str, Any] = {}
    if "duration" in fields:
        duration = fields.pop("duration")
        if duration is None or duration == "-1":
            changes["expires"] = None
        elif duration:
            changes["expires"] = clock.stored(now + timedelta(seconds=duration_seconds(duration)))
    if "budget_duration" in fields:
        period = fields.pop("budget_duration")
        changes["budget_duration"] = period
        changes["budget_reset_at"] = (
            clock.stored(next_budget_reset(period, now)) if period is not None else None
        )
    if "budget_limits" in fields:
        windows = fields.pop("budget_limits")
        changes["budget_limits"] = _windows(windows, now)
    if "model_max_budget" in fields:
        rules.check_model_max_budget(fields["model_max_budget"])
    changes["metadata"] = _metadata(row, data, fields)
    for name in _COLUMNS:
        if name in fields:
            changes[name] = fields[name]
    if changes.get("key_alias", row.key_alias) != row.key_alias:
        rules.check_alias_format(changes["key_alias"])
    rules.check_alias_unique(ctx.store, changes.get("key_alias"), own_token=row.token)
    refused = next((name for name in _NOT_NULL if name in changes and changes[name] is None), None)
    if refused is not None:
        raise _not_null_error(refused)
    if "soft_budget" in fields:
        _set_soft_budget(ctx.store, row, data.soft_budget, caller, now)
    _write(row, changes, now)
    if "spend" in changes:
        ctx.store.set_spend(row, changes["spend"])
    ctx.store.evict(row.token)
    return row, key


def _windows(windows: list[dict[str, Any]] | None, now: datetime) -> list[Any] | None:
    if not windows:
        return None
    return [
        {**window, "reset_at": next_budget_reset(window["budget_duration"], now).isoformat()}
        for window in windows
    ]


def _metadata(row: KeyRow, data: UpdateKeyRequest, fields: dict[str, Any]) -> Any:
    """Sent ``metadata`` replaces the stored one; metadata-backed settings are merged into it."""
    existing = row.metadata if isinstance(row.metadata, dict) else {}
    metadata: Any = fields.pop("metadata") if "metadata" in fields else copy.deepcopy(existing)
    reserved = existing.get("service_account_id")
    if reserved is not None:
        if metadata is None or metadata.get("service_account_id", reserved) != reserved:
            raise HTTPProblem(
                400, "service_account_id is immutable once set and cannot be changed via update."
            )
        metadata["service_account_id"] = reserved
    if metadata is None:
        # The proxy's merge fails on a null metadata and is skipped; the settings are dropped.
        for name in (*rules.PREMIUM_METADATA_FIELDS, *rules.METADATA_FIELDS):
            fields.pop(name, None)
        return None
    return rules.fold_into_metadata(metadata, fields)


def _check_owner_may_update(caller: Caller, row: KeyRow, data: UpdateKeyRequest) -> None:
    """Non-admins may change their own keys, and never a budget (docs/litellm-api.md §2.2)."""
    budget_change = (
        (data.max_budget is not None and data.max_budget != row.max_budget)
        or data.spend is not None
        or "budget_limits" in data.model_fields_set
        or "soft_budget" in data.model_fields_set
    )
    creator = (
        caller.user_id is not None
        and row.created_by == caller.user_id
        and row.user_id == caller.user_id
    )
    if creator and not budget_change:
        return
    route = "/key/update (max_budget/spend)" if budget_change else "/key/update"
    raise HTTPProblem(
        403,
        {
            "error": f"Only proxy admins, team admins, or org admins can call {route}. "
            f"user_role={caller.role}, user_id={caller.user_id}"
        },
    )


def _set_soft_budget(
    store: Store, row: KeyRow, soft_budget: float | None, caller: Caller, now: datetime
) -> None:
    budget = store.budgets.get(row.budget_id) if row.budget_id else None
    moment = clock.stored(now)
    if budget is not None:
        budget.soft_budget = soft_budget
        budget.updated_at = moment
        return
    if soft_budget is None:
        return
    by = caller.user_id or ADMIN_NAME
    budget = BudgetRow(str(uuid.uuid4()), soft_budget, moment, by, moment, by)
    store.budgets[budget.budget_id] = budget
    row.budget_id = budget.budget_id


def _write(row: KeyRow, changes: dict[str, Any], now: datetime) -> None:
    for name, value in changes.items():
        if name == "object_permission":
            row.object_permission = value
            row.object_permission_id = str(uuid.uuid4()) if value else None
        else:
            setattr(row, name, value)
    # updated_by is left alone: the proxy only records the creator there.
    moment = clock.stored(now)
    row.updated_at = moment
    row.settings_updated_at = moment


def bulk_update(ctx: Context, caller: Caller, request: Request) -> Response:
    if request.body is None:
        raise missing_body()
    data = validate(BulkUpdateRequest, request.body, "body")
    if not caller.is_admin:
        raise DetailError(403, {"error": "Only proxy admins can perform bulk key updates"})
    if not data.keys:
        raise DetailError(400, {"error": "No keys provided for update"})
    if len(data.keys) > 500:
        raise DetailError(
            400,
            {"error": f"Maximum 500 keys can be updated at once. Found {len(data.keys)} keys."},
        )
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    with ctx.store.lock:
        for item in data.keys:
            try:
                change = UpdateKeyRequest.model_validate(item.model_dump(exclude_unset=True))
                row, _ = apply_update(ctx, caller, change)
                done.append({"key": item.key, "key_info": row_view(row, None, stamp=clock.z_text)})
            except (HTTPProblem, ProxyError, ValueError, OverflowError, TypeError) as exc:
                failed.append(
                    {
                        "key": item.key,
                        "key_info": _existing(ctx.store, item.key),
                        "failed_reason": (_reason(exc)),
                    }
                )
    return Response(
        200,
        {"total_requested": len(data.keys), "successful_updates": done, "failed_updates": failed},
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, HTTPProblem) and isinstance(exc.detail, Mapping):
        return str(exc.detail.get("error", exc.text))
    if isinstance(exc, HTTPProblem):
        return exc.text
    if isinstance(exc, ProxyError):
        return exc.message
    return str(exc)


def _existing(store: Store, key: str) -> dict[str, Any] | None:
    row = store.keys.get(token_of(key))
    return None if row is None else row_view(row, None, stamp=clock.z_text)
