"""The request fields the stand-in models, with the real proxy's types, defaults and order.

The real proxy validates bodies with pydantic through FastAPI; declaring the same types in the
same order makes the 422 ``detail`` lists come out the same. A field the real proxy knows but the
stand-in does not model is refused with 501 (:func:`validate`), never ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tests.support.litellm_standin.errors import NotModelled, ValidationFailure
from tests.support.litellm_standin.store import names

# Refused with 403 when truthy without a licence; when falsy they are kept inside ``metadata``.
PREMIUM_FIELDS = names(
    """disable_global_guardrails guardrails policies tags prompts allowed_passthrough_routes
    denied_passthrough_routes"""
)


class _Body(BaseModel):
    model_config = ConfigDict(protected_namespaces=(), extra="ignore")


class KeyType(enum.StrEnum):
    LLM_API = "llm_api"
    MANAGEMENT = "management"
    READ_ONLY = "read_only"
    DEFAULT = "default"


KEY_TYPE_ROUTES: Mapping[str, list[str]] = {
    "llm_api": ["llm_api_routes"],
    "management": ["management_routes"],
    "read_only": ["info_routes"],
}


class _KeyFields(_Body):
    key_alias: str | None = None
    duration: str | None = None
    models: list[Any] | None = None
    max_budget: float | None = None
    user_id: str | None = None
    team_id: str | None = None
    max_parallel_requests: int | None = None
    metadata: dict[str, Any] | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    budget_duration: str | None = None
    model_max_budget: dict[str, Any] | None = None
    guardrails: list[str] | None = None
    policies: list[str] | None = None
    prompts: list[str] | None = None
    blocked: bool | None = None
    key: str | None = None
    tpd_limit: int | None = None
    tags: list[str] | None = None
    disable_global_guardrails: bool | None = None
    allowed_routes: list[Any] | None = None
    allowed_passthrough_routes: list[Any] | None = None
    denied_passthrough_routes: list[str] | None = None

    @field_validator("max_budget", mode="before")
    @classmethod
    def _blank_budget_is_unset(cls, value: object) -> object:
        return None if value == "" else value


class GenerateRequest(_KeyFields):
    key_type: KeyType | None = KeyType.DEFAULT

    @field_validator("team_id", mode="before")
    @classmethod
    def _blank_team_is_unset(cls, value: object) -> object:
        return None if value == "" else value


class UpdateRequest(_KeyFields):
    @model_validator(mode="before")
    @classmethod
    def _blank_team_is_unset(cls, values: object) -> object:
        if isinstance(values, Mapping) and values.get("team_id") == "":
            return {k: v for k, v in values.items() if k != "team_id"}
        return values

    @model_validator(mode="after")
    def _identifier(self) -> UpdateRequest:
        if self.key is None and self.key_alias is None:
            raise ValueError("either key or key_alias must be provided")
        return self


class DeleteRequest(_Body):
    keys: list[str] | None = None
    key_aliases: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_identifier(cls, values: object) -> object:
        if isinstance(values, Mapping) and not values.get("keys") and not values.get("key_aliases"):
            raise ValueError("At least one of 'keys' or 'key_aliases' must be provided.")
        return values


class BlockRequest(_Body):
    key: str


class BulkUpdateRequest(_Body):
    keys: list[Any]


class NewUserRequest(_Body):
    user_id: str | None = None
    user_role: str | None = None


class ListQuery(_Body):
    page: int = Field(1, ge=1)
    size: int = Field(10, ge=1, le=100)
    user_id: str | None = None
    team_id: str | None = None
    key_hash: str | None = None
    key_alias: str | None = None
    search: str | None = None
    return_full_object: bool = False
    status: str | None = None
    substring_matching: bool = False


Parsed = TypeVar("Parsed", bound=BaseModel)


def validate(model: type[Parsed], data: Any, where: str = "body", *ignored: str) -> Parsed:
    """``model`` from ``data``, or the 422 the proxy gives (loc prefixed with ``where``); then
    any field the stand-in does not model (and the proxy does not ignore) is refused with 501."""
    if data is None and where == "body":
        raise ValidationFailure([{"type": "missing", "loc": ["body"], "msg": "Field required"}])
    try:
        # FastAPI validates bodies with from_attributes, which decides the error for non-objects.
        parsed = model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        raise ValidationFailure(
            [
                {"type": error["type"], "loc": [where, *error["loc"]], "msg": error["msg"]}
                for error in exc.errors()
            ]
        ) from None
    for name in data:
        if name not in model.model_fields and name not in ignored:
            raise NotModelled(f"the field {name!r}", name)
    return parsed
