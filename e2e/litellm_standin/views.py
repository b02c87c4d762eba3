"""How each endpoint prints a key row.

The real proxy answers from different objects (the Prisma row, its pydantic ``VerificationToken``
model, ``UserAPIKeyAuth``, the archive model), so field sets, field order and timestamp style
(``Z`` or ``+00:00``) differ by endpoint. Each view below reproduces one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from e2e.litellm_standin.clock import offset_text, z_text
from e2e.litellm_standin.schemas import RouterSettings
from e2e.litellm_standin.store import ArchivedKey, BudgetRow, KeyRow

JsonDict = dict[str, Any]
Stamp = Callable[[datetime | None], str | None]


def budget_table(budget: BudgetRow | None, stamp: Stamp) -> JsonDict | None:
    if budget is None:
        return None
    return {
        "budget_id": budget.budget_id,
        "max_budget": None,
        "soft_budget": budget.soft_budget,
        "max_parallel_requests": None,
        "tpm_limit": None,
        "rpm_limit": None,
        "tpd_limit": None,
        "model_max_budget": budget.model_max_budget,
        "budget_duration": None,
        "budget_reset_at": None,
        "allowed_models": [],
        "temp_budget_increase": None,
        "temp_budget_expiry": None,
        "created_at": stamp(budget.created_at),
        "created_by": budget.created_by,
        "updated_at": stamp(budget.updated_at),
        "updated_by": budget.updated_by,
        "organization": None,
        "projects": None,
        "keys": None,
        "end_users": None,
        "tags": None,
        "model_access_groups": None,
        "team_membership": None,
        "organization_membership": None,
    }


def row_view(
    row: KeyRow,
    budget: BudgetRow | None,
    *,
    stamp: Stamp = offset_text,
    with_token: bool = False,
) -> JsonDict:
    """The Prisma row: ``/key/info`` (``+00:00``), ``/key/update``, ``/key/unblock``, bulk items."""
    view: JsonDict = {"token": row.token} if with_token else {}
    view.update(
        {
            "key_name": row.key_name,
            "key_alias": row.key_alias,
            "soft_budget_cooldown": row.soft_budget_cooldown,
            "spend": row.spend,
            "total_spend": row.total_spend,
            "expires": stamp(row.expires),
            "models": row.models,
            "aliases": row.aliases,
            "config": row.config,
            "router_settings": row.router_settings,
            "user_id": row.user_id,
            "team_id": row.team_id,
            "agent_id": row.agent_id,
            "project_id": row.project_id,
            "permissions": row.permissions,
            "max_parallel_requests": row.max_parallel_requests,
            "metadata": row.metadata,
            "blocked": row.blocked,
            "tpm_limit": row.tpm_limit,
            "rpm_limit": row.rpm_limit,
            "tpd_limit": row.tpd_limit,
            "max_budget": row.max_budget,
            "budget_duration": row.budget_duration,
            "budget_reset_at": stamp(row.budget_reset_at),
            "allowed_cache_controls": row.allowed_cache_controls,
            "allowed_routes": row.allowed_routes,
            "key_type": row.key_type,
            "policies": row.policies,
            "access_group_ids": row.access_group_ids,
            "model_spend": row.model_spend,
            "model_max_budget": row.model_max_budget,
            "budget_fallbacks": row.budget_fallbacks,
            "budget_id": row.budget_id,
            "organization_id": row.organization_id,
            "object_permission_id": row.object_permission_id,
            "created_at": stamp(row.created_at),
            "created_by": row.created_by,
            "updated_at": stamp(row.updated_at),
            "updated_by": row.updated_by,
            "settings_updated_at": stamp(row.settings_updated_at),
            "last_active": stamp(row.last_active),
            "rotation_count": row.rotation_count,
            "auto_rotate": row.auto_rotate,
            "rotation_interval": row.rotation_interval,
            "last_rotation_at": stamp(row.last_rotation_at),
            "key_rotation_at": stamp(row.key_rotation_at),
            "budget_limits": row.budget_limits,
            "litellm_budget_table": budget_table(budget, stamp),
            "litellm_organization_table": None,
            "litellm_project_table": None,
            "object_permission": row.object_permission,
            "jwt_key_mappings": None,
        }
    )
    return view


def token_view(row: KeyRow, budget: BudgetRow | None, *, stamp: Stamp = z_text) -> JsonDict:
    """The ``VerificationToken`` model: ``/key/block``, list objects, archived keys."""
    return {
        "token": row.token,
        "key_name": row.key_name,
        "key_alias": row.key_alias,
        "spend": row.spend,
        "total_spend": row.total_spend,
        "max_budget": row.max_budget,
        "expires": stamp(row.expires),
        "models": row.models,
        "aliases": row.aliases,
        "config": row.config,
        "user_id": row.user_id,
        "team_id": row.team_id,
        "agent_id": row.agent_id,
        "project_id": row.project_id,
        "max_parallel_requests": row.max_parallel_requests,
        "metadata": row.metadata,
        "tpm_limit": row.tpm_limit,
        "rpm_limit": row.rpm_limit,
        "tpd_limit": row.tpd_limit,
        "budget_duration": row.budget_duration,
        "budget_reset_at": stamp(row.budget_reset_at),
        "allowed_cache_controls": row.allowed_cache_controls,
        "allowed_routes": row.allowed_routes,
        "key_type": row.key_type,
        "permissions": row.permissions,
        "model_spend": row.model_spend,
        "model_max_budget": row.model_max_budget,
        "budget_fallbacks": row.budget_fallbacks,
        "soft_budget_cooldown": row.soft_budget_cooldown,
        "blocked": row.blocked,
        "litellm_budget_table": budget_table(budget, stamp),
        "budget_id": row.budget_id,
        "org_id": row.organization_id,
        "created_at": stamp(row.created_at),
        "created_by": row.created_by,
        "updated_at": stamp(row.updated_at),
        "updated_by": row.updated_by,
        "settings_updated_at": stamp(row.settings_updated_at),
        "last_active": stamp(row.last_active),
        "object_permission_id": row.object_permission_id,
        "object_permission": row.object_permission,
        "access_group_ids": row.access_group_ids,
        "rotation_count": row.rotation_count,
        "auto_rotate": row.auto_rotate,
        "rotation_interval": row.rotation_interval,
        "last_rotation_at": stamp(row.last_rotation_at),
        "key_rotation_at": stamp(row.key_rotation_at),
        "router_settings": row.router_settings,
        "budget_limits": row.budget_limits,
    }


# UserAPIKeyAuth's own fields, printed after the row in /key/list objects (unset for a listing).
_AUTH_EXTRAS: JsonDict = {
    **dict.fromkeys(
        [
            "team_spend",
            "team_alias",
            "team_tpm_limit",
            "team_rpm_limit",
            "team_tpd_limit",
            "team_max_budget",
            "team_soft_budget",
            "team_model_max_budget",
        ],
    ),
    "team_models": [],
    "team_blocked": False,
    **dict.fromkeys(
        [
            "soft_budget",
            "team_model_aliases",
            "team_member",
            "team_metadata",
            "team_object_permission_id",
            "team_member_spend",
            "team_member_tpm_limit",
            "team_member_rpm_limit",
            "end_user_id",
            "end_user_tpm_limit",
            "end_user_rpm_limit",
            "end_user_tpd_limit",
            "end_user_max_budget",
            "end_user_model_max_budget",
            "organization_alias",
            "organization_max_budget",
            "organization_tpm_limit",
            "organization_rpm_limit",
            "organization_metadata",
            "project_alias",
            "project_metadata",
            "last_refreshed_at",
            "api_key",
            "user_role",
            "allowed_model_region",
            "parent_otel_span",
            "rpm_limit_per_model",
            "tpm_limit_per_model",
            "user_tpm_limit",
            "user_rpm_limit",
            "user_email",
            "user_spend",
            "user_max_budget",
            "user_model_max_budget",
            "request_route",
        ],
    ),
    "is_session_token": False,
    **dict.fromkeys(
        [
            "user",
            "created_by_user",
            "end_user_object_permission",
            "team_object_permission",
            "jwt_claims",
        ]
    ),
}


def list_view(row: KeyRow, budget: BudgetRow | None) -> JsonDict:
    view = token_view(row, budget)
    view.update(_AUTH_EXTRAS)
    return view


def archive_view(entry: ArchivedKey, *, stamp: Stamp) -> JsonDict:
    """An archived (deleted) key: the token model without its budget table, plus the archive."""
    view = token_view(entry.row, None, stamp=stamp)
    view.update(
        {
            "id": entry.id,
            "organization_id": entry.row.organization_id,
            "deleted_at": stamp(entry.deleted_at),
            "deleted_by": entry.deleted_by,
            "deleted_by_api_key": entry.deleted_by_api_key,
            "litellm_changed_by": entry.litellm_changed_by,
        }
    )
    return view


def router_settings_echo(stored: dict[str, Any]) -> JsonDict:
    """Generate echoes router settings as the full settings object (unset fields null)."""
    return RouterSettings.model_validate(stored).model_dump(mode="json")
