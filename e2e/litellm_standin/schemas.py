"""Request bodies, mirroring the field names, types, defaults and order of LiteLLM 1.106.12.

The real proxy validates bodies with pydantic through FastAPI; declaring the same fields in the same
order here makes the 422 ``detail`` lists (type, loc, msg, in field order) come out the same.
Unknown fields are ignored, as there.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from e2e.litellm_standin.errors import ValidationFailure


class _Body(BaseModel):
    model_config = ConfigDict(protected_namespaces=(), extra="ignore")


class ObjectPermission(_Body):
    mcp_servers: list[str] | None = None
    mcp_access_groups: list[str] | None = None
    mcp_tool_permissions: dict[str, list[str]] | None = None
    mcp_toolsets: list[str] | None = None
    blocked_tools: list[str] | None = None
    vector_stores: list[str] | None = None
    agents: list[str] | None = None
    agent_access_groups: list[str] | None = None
    models: list[str] | None = None
    search_tools: list[str] | None = None
    mcp_tool_search_enabled: bool | None = None
    skills: list[str] | None = None


class BudgetLimitEntry(_Body):
    budget_duration: str
    max_budget: float
    reset_at: datetime | None = None


class VectorStoreIndex(_Body):
    index_name: str
    index_permissions: list[Literal["read", "write"]]


class RouterSettings(_Body):
    """Key-level router settings; generate echoes every one of these fields."""

    routing_strategy_args: dict[str, Any] | None = None
    routing_strategy: str | None = None
    routing_groups: list[Any] | None = None
    retry_policy: dict[str, Any] | None = None
    model_group_retry_policy: dict[str, Any] | None = None
    model_group_affinity_config: dict[str, list[str]] | None = None
    allowed_fails: int | None = None
    cooldown_time: float | None = None
    num_retries: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    retry_after: float | None = None
    fallbacks: list[dict[str, Any]] | None = None
    context_window_fallbacks: list[dict[str, Any]] | None = None
    model_group_alias: dict[str, str | dict[str, Any]] | None = Field(default={})
    enable_tag_filtering: bool | None = None
    weights: dict[str, Any] | None = None
    tag_routing_prefix: str | None = None
    optional_pre_call_checks: list[Any] | None = None


class KeyType(enum.StrEnum):
    LLM_API = "llm_api"
    MANAGEMENT = "management"
    READ_ONLY = "read_only"
    DEFAULT = "default"


KEY_TYPE_ROUTES: Mapping[KeyType, list[str]] = {
    KeyType.LLM_API: ["llm_api_routes"],
    KeyType.MANAGEMENT: ["management_routes"],
    KeyType.READ_ONLY: ["info_routes"],
}

LimitType = Literal["guaranteed_throughput", "best_effort_throughput", "dynamic"]


class _GenerateBase(_Body):
    """Fields shared by key and user requests (the proxy's ``GenerateRequestBase``)."""

    key_alias: str | None = None
    duration: str | None = None
    models: list[Any] | None = []
    spend: float | None = 0
    max_budget: float | None = None
    user_id: str | None = None
    team_id: str | None = None
    agent_id: str | None = None
    max_parallel_requests: int | None = None
    metadata: dict[str, Any] | None = {}
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    budget_duration: str | None = None
    budget_limits: list[BudgetLimitEntry] | None = None
    allowed_cache_controls: list[Any] | None = []
    config: dict[str, Any] | None = {}
    permissions: dict[str, Any] | None = {}
    model_max_budget: dict[str, Any] | None = {}
    budget_fallbacks: dict[str, list[str]] | None = None
    model_rpm_limit: dict[str, Any] | None = None
    model_tpm_limit: dict[str, Any] | None = None
    mcp_rpm_limit: dict[str, int] | None = None
    tag_rpm_limit: dict[str, int] | None = None
    guardrails: list[str] | None = None
    policies: list[str] | None = None
    prompts: list[str] | None = None
    blocked: bool | None = None
    aliases: dict[str, Any] | None = {}
    object_permission: ObjectPermission | None = None

    @field_validator("max_budget", mode="before")
    @classmethod
    def _blank_budget_is_unset(cls, value: object) -> object:
        return None if value == "" else value


class _KeyBase(_GenerateBase):
    key: str | None = None
    tpd_limit: int | None = None
    default_estimated_output_tokens: PositiveInt | None = None
    default_estimated_output_tokens_per_model: dict[str, PositiveInt] | None = None
    budget_id: str | None = None
    end_user_budget_id: str | None = None
    tags: list[str] | None = None
    disable_global_guardrails: bool | None = None
    enable_prompt_caching: bool | None = None
    throttle_on_budget_exceeded: bool | None = None
    enforced_params: list[str] | None = None
    allowed_routes: list[Any] | None = []
    allowed_passthrough_routes: list[Any] | None = None
    denied_passthrough_routes: list[str] | None = None
    allowed_vector_store_indexes: list[VectorStoreIndex] | None = None
    rpm_limit_type: LimitType | None = None
    tpm_limit_type: LimitType | None = None
    router_settings: RouterSettings | None = None
    access_group_ids: list[str] | None = None


class GenerateKeyRequest(_KeyBase):
    soft_budget: float | None = None
    send_invite_email: bool | None = None
    key_type: KeyType | None = KeyType.DEFAULT
    auto_rotate: bool | None = False
    rotation_interval: str | None = None
    organization_id: str | None = None
    project_id: str | None = None

    @field_validator("team_id", "organization_id", "project_id", mode="before")
    @classmethod
    def _blank_id_is_unset(cls, value: object) -> object:
        return None if value == "" else value


class UpdateKeyRequest(_KeyBase):
    # Every default is None: an omitted field must never overwrite the stored value.
    duration: str | None = None
    spend: float | None = None
    soft_budget: float | None = None
    metadata: dict[str, Any] | None = None
    temp_budget_increase: float | None = None
    temp_budget_expiry: datetime | None = None
    auto_rotate: bool | None = None
    rotation_interval: str | None = None
    organization_id: str | None = None
    project_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_team_is_unset(cls, values: object) -> object:
        if isinstance(values, Mapping) and values.get("team_id") == "":
            return {k: v for k, v in values.items() if k != "team_id"}
        return values

    @field_validator("organization_id", mode="before")
    @classmethod
    def _blank_org_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _temp_budget_pair(self) -> UpdateKeyRequest:
        if (self.temp_budget_increase is None) != (self.temp_budget_expiry is None):
            raise ValueError("temp_budget_increase and temp_budget_expiry must be set together")
        return self

    @model_validator(mode="after")
    def _identifier(self) -> UpdateKeyRequest:
        if self.key is None and self.key_alias is None:
            raise ValueError("either key or key_alias must be provided")
        return self


class RegenerateKeyRequest(GenerateKeyRequest):
    key: str | None = None
    new_key: str | None = None
    duration: str | None = None
    spend: float | None = None
    metadata: dict[str, Any] | None = None
    new_master_key: str | None = None
    grace_period: str | None = None


class DeleteKeysRequest(_Body):
    keys: list[str] | None = None
    key_aliases: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_identifier(cls, values: object) -> object:
        if isinstance(values, Mapping) and not values.get("keys") and not values.get("key_aliases"):
            raise ValueError("At least one of 'keys' or 'key_aliases' must be provided.")
        return values


class BlockKeyRequest(_Body):
    key: str


class BulkKeyItem(_Body):
    key: str
    budget_id: str | None = None
    max_budget: float | None = None
    team_id: str | None = None
    tags: list[str] | None = None
    object_permission: ObjectPermission | None = None


class BulkUpdateRequest(_Body):
    keys: list[BulkKeyItem]


class LitellmUserRoles(enum.StrEnum):
    # Member names matter: pydantic's literal error message quotes the enum reprs.
    PROXY_ADMIN = "proxy_admin"
    PROXY_ADMIN_VIEW_ONLY = "proxy_admin_viewer"
    INTERNAL_USER = "internal_user"
    INTERNAL_USER_VIEW_ONLY = "internal_user_viewer"


UserRole = Literal[
    LitellmUserRoles.PROXY_ADMIN,
    LitellmUserRoles.PROXY_ADMIN_VIEW_ONLY,
    LitellmUserRoles.INTERNAL_USER,
    LitellmUserRoles.INTERNAL_USER_VIEW_ONLY,
]


class NewUserRequest(_GenerateBase):
    max_budget: float | None = None
    user_email: str | None = None
    user_alias: str | None = None
    user_role: UserRole | None = None
    teams: list[str] | list[dict[str, Any]] | None = None
    auto_create_key: bool = True
    send_invite_email: bool | None = None
    sso_user_id: str | None = None
    organizations: list[str] | None = None
    password: str | None = None

    @field_validator("password")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "password cannot be set via /user/new. Users set their own password through an "
                "invitation link (POST /invitation/new)."
            )
        return value


class ListKeysQuery(_Body):
    page: int = Field(1, ge=1)
    size: int = Field(10, ge=1, le=100)
    user_id: str | None = None
    team_id: str | None = None
    organization_id: str | None = None
    key_hash: str | None = None
    key_alias: str | None = None
    search: str | None = None
    return_full_object: bool = False
    include_team_keys: bool = False
    include_created_by_keys: bool = False
    sort_by: str | None = None
    sort_order: str = "desc"
    expand: list[str] | None = None
    status: str | None = None
    project_id: str | None = None
    access_group_id: str | None = None
    agent_id: str | None = None
    substring_matching: bool = False
    expires: str | None = None


Body = TypeVar("Body", bound=BaseModel)


def validate(model: type[Body], data: object, where: str) -> Body:
    """``model`` from ``data``, or the 422 the proxy gives (loc prefixed with ``where``)."""
    try:
        # FastAPI validates bodies with from_attributes, which decides the error for non-objects.
        return model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        raise ValidationFailure(
            [
                {"type": error["type"], "loc": [where, *error["loc"]], "msg": error["msg"]}
                for error in exc.errors()
            ]
        ) from None


def missing_body() -> ValidationFailure:
    return ValidationFailure([{"type": "missing", "loc": ["body"], "msg": "Field required"}])
