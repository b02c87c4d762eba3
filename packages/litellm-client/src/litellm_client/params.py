"""Typed keyword arguments of the key methods (PEP 692), one key per documented request field.

The client passes exactly the keywords the caller gave to the matching request model, so only
those are sent; an explicit None is sent as null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from litellm_client.durations import Duration
from litellm_client.models import KeyStatus, KeyType, LimitType


class KeySettingsParams(TypedDict, total=False):
    key_alias: str | None
    duration: Duration | None
    models: Sequence[str] | None
    max_budget: float | None
    budget_duration: Duration | None
    soft_budget: float | None
    tpm_limit: int | None
    rpm_limit: int | None
    tpd_limit: int | None
    max_parallel_requests: int | None
    metadata: Mapping[str, Any] | None
    user_id: str | None
    team_id: str | None
    organization_id: str | None
    project_id: str | None
    agent_id: str | None
    budget_id: str | None
    blocked: bool | None
    key_type: KeyType | None
    allowed_routes: Sequence[str] | None
    model_rpm_limit: Mapping[str, int] | None
    model_tpm_limit: Mapping[str, int] | None
    mcp_rpm_limit: Mapping[str, int] | None
    tag_rpm_limit: Mapping[str, int] | None
    rpm_limit_type: LimitType | None
    tpm_limit_type: LimitType | None
    budget_limits: Sequence[Mapping[str, Any]] | None
    budget_fallbacks: Mapping[str, Any] | None
    spend: float | None
    aliases: Mapping[str, Any] | None
    config: Mapping[str, Any] | None
    permissions: Mapping[str, Any] | None
    allowed_cache_controls: Sequence[str] | None
    object_permission: Mapping[str, Any] | None
    access_group_ids: Sequence[str] | None
    router_settings: Mapping[str, Any] | None
    allowed_vector_store_indexes: Sequence[Any] | None
    auto_rotate: bool | None
    rotation_interval: Duration | None
    send_invite_email: bool | None
    enforced_params: Sequence[str] | None
    throttle_on_budget_exceeded: bool | None
    end_user_budget_id: str | None
    default_estimated_output_tokens: int | None
    default_estimated_output_tokens_per_model: Mapping[str, int] | None
    enable_prompt_caching: bool | None
    tags: Sequence[str] | None
    guardrails: Sequence[str] | None
    policies: Sequence[str] | None
    prompts: Sequence[str] | None
    disable_global_guardrails: bool | None
    allowed_passthrough_routes: Sequence[str] | None
    denied_passthrough_routes: Sequence[str] | None
    model_max_budget: Mapping[str, Any] | None


class GenerateKeyParams(KeySettingsParams, total=False):
    key: str | None


class UpdateKeyParams(KeySettingsParams, total=False):
    temp_budget_increase: float | None
    temp_budget_expiry: datetime | None


class RegenerateKeyParams(UpdateKeyParams, total=False):
    new_key: str | None
    grace_period: Duration | None


class ListKeysFilters(TypedDict, total=False):
    """Query filters of ``/key/list`` (docs/litellm-api.md §4.5); ``key_alias`` is exact unless
    ``substring_matching`` is True."""

    user_id: str
    team_id: str
    organization_id: str
    project_id: str
    agent_id: str
    access_group_id: str
    key_hash: str
    key_alias: str
    substring_matching: bool
    search: str
    status: KeyStatus | str
    expires: str
    include_team_keys: bool
    include_created_by_keys: bool
    sort_by: str
    sort_order: str
