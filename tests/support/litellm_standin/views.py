"""How each endpoint prints a key row.

The real proxy answers from different objects (the Prisma row, its ``VerificationToken`` model,
``UserAPIKeyAuth``, the archive model, the generate response model), so field sets and timestamp
style differ by endpoint: ``Z`` from pydantic models, ``+00:00`` from plain dicts, both without a
fraction when it is zero (``isoformat``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tests.support.litellm_standin.store import COLUMNS, Row, names

Json = dict[str, Any]
Stamp = Callable[[datetime], str]


def offset_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def z_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def _pick(row: Row, names: Iterable[str], stamp: Stamp) -> Json:
    view: Json = {}
    for name in names:
        value = row["organization_id" if name == "org_id" else name]
        view[name] = stamp(value) if isinstance(value, datetime) else copy.deepcopy(value)
    return view


# The Prisma row: /key/info (+00:00), /key/update (+00:00), /key/unblock (Z).
ROW_FIELDS = tuple(name for name in COLUMNS if name != "token")

# The VerificationToken model: /key/block, /key/list objects, deleted keys.
TOKEN_FIELDS = names(
    """token key_name key_alias spend total_spend max_budget expires models aliases
    config user_id team_id agent_id project_id max_parallel_requests metadata tpm_limit rpm_limit
    tpd_limit budget_duration budget_reset_at allowed_cache_controls allowed_routes key_type
    permissions model_spend model_max_budget budget_fallbacks soft_budget_cooldown blocked
    litellm_budget_table budget_id org_id created_at created_by updated_at updated_by
    settings_updated_at last_active object_permission_id object_permission access_group_ids
    rotation_count auto_rotate rotation_interval last_rotation_at key_rotation_at router_settings
    budget_limits"""
)

# UserAPIKeyAuth's own fields, after the row in /key/list objects (unset in a listing).
_LIST_EXTRAS: Json = dict.fromkeys(
    names(
        """team_spend team_alias team_tpm_limit team_rpm_limit team_tpd_limit team_max_budget
    team_soft_budget team_model_max_budget team_models team_blocked soft_budget team_model_aliases
    team_member team_metadata team_object_permission_id team_member_spend team_member_tpm_limit
    team_member_rpm_limit end_user_id end_user_tpm_limit end_user_rpm_limit end_user_tpd_limit
    end_user_max_budget end_user_model_max_budget organization_alias organization_max_budget
    organization_tpm_limit organization_rpm_limit organization_metadata project_alias
    project_metadata last_refreshed_at api_key user_role allowed_model_region parent_otel_span
    rpm_limit_per_model tpm_limit_per_model user_tpm_limit user_rpm_limit user_email user_spend
    user_max_budget user_model_max_budget request_route is_session_token user created_by_user
    end_user_object_permission team_object_permission jwt_claims"""
    )
)
_LIST_EXTRAS.update(team_models=[], team_blocked=False, is_session_token=False)

_ARCHIVE_FIELDS = names(
    """id organization_id deleted_at deleted_by deleted_by_api_key
    litellm_changed_by"""
)

# The generate response model, in its order; fields the request did not set echo as null.
ECHO_FIELDS = names(
    """key_alias duration models spend max_budget user_id team_id agent_id
    max_parallel_requests metadata tpm_limit rpm_limit budget_duration budget_limits
    allowed_cache_controls config permissions model_max_budget budget_fallbacks model_rpm_limit
    model_tpm_limit mcp_rpm_limit tag_rpm_limit guardrails policies prompts blocked aliases
    object_permission key tpd_limit default_estimated_output_tokens
    default_estimated_output_tokens_per_model budget_id end_user_budget_id tags
    disable_global_guardrails enable_prompt_caching throttle_on_budget_exceeded enforced_params
    allowed_routes allowed_passthrough_routes denied_passthrough_routes
    allowed_vector_store_indexes rpm_limit_type tpm_limit_type router_settings access_group_ids
    key_name key_type expires token_id organization_id project_id litellm_budget_table token
    created_by updated_by created_at updated_at"""
)
ECHO_DEFAULTS: Json = {
    **dict.fromkeys(ECHO_FIELDS),
    **{name: [] for name in names("models allowed_cache_controls allowed_routes access_group_ids")},
    **{name: {} for name in names("metadata config permissions model_max_budget aliases")},
    "budget_fallbacks": {},
    "spend": 0.0,
}

# Generate echoes the key's router settings as the whole settings model, unset fields null.
_ROUTER_SETTINGS = names(
    """routing_strategy_args routing_strategy routing_groups retry_policy
    model_group_retry_policy model_group_affinity_config allowed_fails cooldown_time num_retries
    timeout max_retries retry_after fallbacks context_window_fallbacks model_group_alias
    enable_tag_filtering weights tag_routing_prefix optional_pre_call_checks"""
)


def router_settings_echo(version: str) -> Json:
    echo: Json = {**dict.fromkeys(_ROUTER_SETTINGS), "model_group_alias": {}}
    if version != "1.106.12":
        echo["fallback_on_unsupported_params"] = None  # new in the 1.108 line
    return echo


def info_view(row: Row, status: str) -> Json:
    if "deleted_at" in row:
        view = _pick(row, [*TOKEN_FIELDS, *_ARCHIVE_FIELDS], offset_text)
        del view["token"]
    else:
        view = _pick(row, ROW_FIELDS, offset_text)
    return {**view, "status": status}


def update_view(row: Row, key: str) -> Json:
    return {"key": key, "token": row["token"], **_pick(row, ROW_FIELDS, offset_text)}


def unblock_view(row: Row) -> Json:
    return {"token": row["token"], **_pick(row, ROW_FIELDS, z_text)}


def token_view(row: Row) -> Json:
    return _pick(row, TOKEN_FIELDS, z_text)


def list_object(row: Row) -> Json:
    if "deleted_at" in row:
        return _pick(row, [*TOKEN_FIELDS, *_ARCHIVE_FIELDS], z_text)
    return {**token_view(row), **_LIST_EXTRAS}
