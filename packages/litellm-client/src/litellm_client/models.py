"""Pydantic models at the edge: what is sent (requests) and what the proxy answers (responses).

Requests refuse unknown fields (typos fail loudly; use ``extra_body`` for fields this package does
not know yet) and are sent with ``exclude_unset``: only what the caller set goes over the wire, and
an explicit None is sent as null (on update, null clears the column).

Responses are lenient: unknown fields are kept (``model_extra``), every documented field is
optional, and timestamps are read in every form the proxy writes (``Z`` or ``+00:00``, micro- or
milliseconds), naive ones taken as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

from litellm_client.durations import Duration, format_budget_duration, format_duration

KeyType: TypeAlias = Literal["default", "llm_api", "management", "read_only"]
LimitType: TypeAlias = Literal["guaranteed_throughput", "best_effort_throughput", "dynamic"]


def _expiry_duration(value: Any, info: ValidationInfo) -> Any:
    return None if value is None else format_duration(value, field=info.field_name or "duration")


def _budget_duration(value: Any, info: ValidationInfo) -> Any:
    field = info.field_name or "budget_duration"
    return None if value is None else format_budget_duration(value, field=field)


ExpiryDuration = Annotated[Duration | None, BeforeValidator(_expiry_duration)]
BudgetDuration = Annotated[Duration | None, BeforeValidator(_budget_duration)]
Budget = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _KeySettings(BaseModel):
    """Fields shared by generate, update and regenerate (docs/litellm-api.md §4.1)."""

    # The proxy's field names start with "model_" (model_max_budget, ...); pydantic 2.7-2.9 warn
    # about that prefix on import unless the protected namespaces are cleared.
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    key_alias: str | None = None
    duration: ExpiryDuration = None
    models: list[str] | None = None
    max_budget: Budget | None = None
    budget_duration: BudgetDuration = None
    soft_budget: Budget | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    tpd_limit: int | None = None
    max_parallel_requests: int | None = None
    metadata: dict[str, Any] | None = None
    user_id: str | None = None
    team_id: str | None = None
    organization_id: str | None = None
    project_id: str | None = None
    agent_id: str | None = None
    budget_id: str | None = None
    blocked: bool | None = None
    key_type: KeyType | None = None
    allowed_routes: list[str] | None = None
    model_rpm_limit: dict[str, int] | None = None
    model_tpm_limit: dict[str, int] | None = None
    mcp_rpm_limit: dict[str, int] | None = None
    tag_rpm_limit: dict[str, int] | None = None
    rpm_limit_type: LimitType | None = None
    tpm_limit_type: LimitType | None = None
    budget_limits: list[dict[str, Any]] | None = None
    budget_fallbacks: dict[str, Any] | None = None
    spend: float | None = None
    aliases: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    permissions: dict[str, Any] | None = None
    allowed_cache_controls: list[str] | None = None
    object_permission: dict[str, Any] | None = None
    access_group_ids: list[str] | None = None
    router_settings: dict[str, Any] | None = None
    allowed_vector_store_indexes: list[Any] | None = None
    auto_rotate: bool | None = None
    rotation_interval: ExpiryDuration = None
    send_invite_email: bool | None = None
    enforced_params: list[str] | None = None
    # Admin-only on the proxy.
    throttle_on_budget_exceeded: bool | None = None
    end_user_budget_id: str | None = None
    default_estimated_output_tokens: int | None = None
    default_estimated_output_tokens_per_model: dict[str, int] | None = None
    enable_prompt_caching: bool | None = None
    # Enterprise-only: a community proxy refuses truthy values (EnterpriseFeatureError).
    tags: list[str] | None = None
    guardrails: list[str] | None = None
    policies: list[str] | None = None
    prompts: list[str] | None = None
    disable_global_guardrails: bool | None = None
    allowed_passthrough_routes: list[str] | None = None
    denied_passthrough_routes: list[str] | None = None
    model_max_budget: dict[str, Any] | None = None

    def to_body(self) -> dict[str, Any]:
        """The JSON body: only the fields that were set, explicit None included."""
        return self.model_dump(mode="json", exclude_unset=True)


# Raw keys stay out of repr() and str(), so logging a model never prints one; the attribute and
# model_dump() still hold them.
RawKey = Annotated[str | None, Field(repr=False)]


class GenerateKeyRequest(_KeySettings):
    """Body of ``POST /key/generate``. ``key`` is a custom raw key (``sk-...``, 16+ characters).

    Without one, :meth:`LiteLLMClient.generate_key` makes one (see the README on retries).
    """

    key: RawKey = None


class UpdateKeyRequest(_KeySettings):
    """Body of ``POST /key/update`` minus the identifier, which the method takes as its argument."""

    temp_budget_increase: float | None = None
    temp_budget_expiry: datetime | None = None


class RegenerateKeyRequest(UpdateKeyRequest):
    """Body of ``POST /key/regenerate`` minus the identifier (an Enterprise feature)."""

    new_key: RawKey = None
    grace_period: ExpiryDuration = None


class KeyStatus(StrEnum):
    """``status`` of ``/key/info``: blocked keys are ``revoked``, deleted ones ``deleted``."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    DELETED = "deleted"


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_assume_utc)]
# A newer proxy's unknown status is kept as text rather than failing the whole answer.
Status = Annotated[KeyStatus | str | None, Field(union_mode="left_to_right")]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _KeyRow(_Lenient):
    """Fields of a key row, as generate, update, info, list, block and unblock return them."""

    key_alias: str | None = None
    key_name: str | None = None
    key_type: str | None = None
    expires: Timestamp | None = None
    models: list[str] | None = None
    max_budget: float | None = None
    budget_duration: str | None = None
    budget_reset_at: Timestamp | None = None
    spend: float | None = None
    metadata: dict[str, Any] | None = None
    user_id: str | None = None
    team_id: str | None = None
    # Block/unblock and list rows say org_id.
    organization_id: str | None = Field(
        default=None, validation_alias=AliasChoices("organization_id", "org_id")
    )
    project_id: str | None = None
    agent_id: str | None = None
    budget_id: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    tpd_limit: int | None = None
    max_parallel_requests: int | None = None
    allowed_routes: list[str] | None = None
    blocked: bool | None = None
    created_at: Timestamp | None = None
    created_by: str | None = None
    updated_at: Timestamp | None = None
    updated_by: str | None = None


class KeyInfo(_KeyRow):
    """A key as ``/key/info`` (and update, list, block, unblock) describe it.

    ``token`` is filled in by the client where the proxy leaves it out. ``status`` is only reported
    by ``/key/info``: note that a deleted key's info is a 200 with ``status == "deleted"``.
    """

    token: str | None = None
    status: Status = None
    last_active: Timestamp | None = None
    deleted_at: Timestamp | None = None
    deleted_by: str | None = None


class GeneratedKey(_KeyRow):
    """The answer to generate (and regenerate).

    ``key`` is the raw key, which the proxy returns only this once; it is left out of ``repr()``
    and ``str()``. ``recovered`` is True when the answer was lost and the client found the key by
    its token instead (README, "generate_key and retries"); ``key`` is then the raw key the client
    sent. It is None only if an answer lacked it.
    """

    key: RawKey = None
    token: str
    token_id: str | None = None
    recovered: bool = False

    @classmethod
    def from_info(cls, info: KeyInfo, *, key: str | None) -> GeneratedKey:
        """Describe a key found after the fact (see ``recovered``)."""
        data = info.model_dump(exclude={"token"})
        return cls.model_validate({**data, "key": key, "token": info.token, "recovered": True})


def _key_entries(value: Any) -> Any:
    # Without return_full_object the proxy lists bare tokens.
    if isinstance(value, list):
        return [{"token": item} if isinstance(item, str) else item for item in value]
    return value


class KeyList(_Lenient):
    """One page of ``/key/list``; bare tokens are turned into ``KeyInfo(token=...)``."""

    keys: Annotated[list[KeyInfo], BeforeValidator(_key_entries)] = Field(default_factory=list)
    total_count: int | None = None
    current_page: int | None = None
    total_pages: int | None = None


class DeleteKeysResult(_Lenient):
    """Outcome of ``delete_keys``: afterwards none of the requested keys exists.

    ``deleted_keys`` echoes the request (the proxy does not say which keys existed). ``none_found``
    is True when the proxy answered 404 "No keys found" and the client counted it as success: with
    ``missing_ok=True``, or on a retry after an attempt whose answer was lost, when it most likely
    means that attempt deleted them.
    """

    deleted_keys: list[str] = Field(default_factory=list)
    none_found: bool = False


class Health(_Lenient):
    """``GET /health/readiness``: ``status`` ``"healthy"`` and ``db`` ``"connected"`` when ready."""

    status: str | None = None
    db: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"
