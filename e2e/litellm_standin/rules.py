"""Validation rules of generate, update and bulk update (docs/litellm-api.md §3.4, §4, §7)."""

from __future__ import annotations

import math
import re
from typing import Any

from e2e.litellm_standin.durations import budget_duration_error
from e2e.litellm_standin.errors import ENTERPRISE_NOTICE, HTTPProblem, bad_request, enterprise_only
from e2e.litellm_standin.store import Store

# Refused when truthy without a licence; when falsy they are kept, inside ``metadata``.
PREMIUM_METADATA_FIELDS = (
    "disable_global_guardrails",
    "guardrails",
    "policies",
    "tags",
    "prompts",
    "allowed_passthrough_routes",
    "denied_passthrough_routes",
)
# Settings the proxy keeps inside ``metadata`` rather than in columns of their own.
METADATA_FIELDS = (
    "model_rpm_limit",
    "model_tpm_limit",
    "default_estimated_output_tokens",
    "default_estimated_output_tokens_per_model",
    "mcp_rpm_limit",
    "tag_rpm_limit",
    "rpm_limit_type",
    "tpm_limit_type",
    "enforced_params",
    "temp_budget_increase",
    "temp_budget_expiry",
    "allowed_vector_store_indexes",
    "throttle_on_budget_exceeded",
    "enable_prompt_caching",
    "end_user_budget_id",
)

_UNSAFE_ALIAS = re.compile("(^|/)\\.\\.(/|$)|[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MINIMUM_CUSTOM_KEY_LENGTH = 16


def check_budget_value(name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise HTTPProblem(
            400, {"error": f"{name} must be a non-negative finite number. Received: {value}"}
        )


def check_spend_value(value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise HTTPProblem(400, {"error": f"spend must be a finite number. Received: {value}"})


def check_budget_duration(value: str | None) -> None:
    error = budget_duration_error(value)
    if error is not None:
        raise HTTPProblem(400, {"error": error})


def check_alias_format(alias: str | None) -> None:
    if alias is not None and _UNSAFE_ALIAS.search(alias):
        raise bad_request("Invalid key_alias", "key_alias")


def check_alias_unique(store: Store, alias: str | None, own_token: str | None = None) -> None:
    if alias is None:
        return
    if any(row.token != own_token for row in store.with_alias(alias)):
        raise bad_request(
            f"Key with alias '{alias}' already exists. "
            "Unique key aliases across all keys are required.",
            "key_alias",
        )


def check_custom_key(raw: str | None, *, allowed: bool = True) -> None:
    """A caller's own raw key: refused outright when custom keys are disabled, then its format."""
    if raw is None:
        return
    if not allowed:
        raise HTTPProblem(
            403,
            {
                "error": "Custom API key values are disabled by your administrator. "
                "Keys must be auto-generated."
            },
        )
    if not raw.startswith("sk-"):
        shown = f"{raw[:4]}****{raw[-4:]}" if len(raw) > 8 else "****"
        raise HTTPProblem(
            400,
            {
                "error": "Invalid key format. LiteLLM Virtual Key must start with 'sk-'. "
                f"Received: {shown}"
            },
        )
    if len(raw) < MINIMUM_CUSTOM_KEY_LENGTH:
        raise HTTPProblem(
            400,
            {
                "error": "Invalid key format. LiteLLM Virtual Key must be at least "
                f"{MINIMUM_CUSTOM_KEY_LENGTH} characters long."
            },
        )


def check_model_max_budget(value: dict[str, Any] | None) -> None:
    """Any non-empty ``model_max_budget`` needs a licence (a ValueError, so 500 on generate)."""
    if value:
        raise ValueError(
            "Invalid model_max_budget: You must have an enterprise license to set "
            f"model_max_budget. {ENTERPRISE_NOTICE}. Example of valid model_max_budget: "
            "https://docs.litellm.ai/docs/proxy/users"
        )


def refuse_premium(fields: dict[str, Any]) -> None:
    for name in PREMIUM_METADATA_FIELDS:
        if fields.get(name):
            raise enterprise_only(name)


def fold_into_metadata(metadata: Any, fields: dict[str, Any]) -> Any:
    """Move the metadata-backed settings present in ``fields`` into ``metadata``."""
    for name in (*PREMIUM_METADATA_FIELDS, *METADATA_FIELDS):
        if fields.get(name) is None:
            fields.pop(name, None)
            continue
        value = fields.pop(name)
        metadata = dict(metadata or {})
        metadata[name] = value
    return metadata


def check_admin_only(fields: dict[str, Any], *, is_admin: bool) -> None:
    if fields.get("throttle_on_budget_exceeded") is True and not is_admin:
        raise HTTPProblem(
            403, {"error": "Only proxy admins can enable throttle_on_budget_exceeded on a key."}
        )


def check_service_account(metadata: object, team_id: str | None) -> None:
    """Keys marked as a team's service account need that team."""
    marked = isinstance(metadata, dict) and metadata.get("service_account_id") is not None
    if marked and team_id is None:
        raise HTTPProblem(
            400,
            "team_id is required for service account keys. "
            "Please specify `team_id` in the request body.",
        )


def check_project(project_id: str | None) -> None:
    # The stand-in has no projects either.
    if project_id is not None:
        raise HTTPProblem(404, {"error": f"Project not found, project_id={project_id}"})


def check_organization(organization_id: str | None) -> None:
    """The stand-in has no organizations, so naming one is naming an unknown one.

    The proxy's lookup raises a plain exception: 500 on generate, 400 on update.
    """
    if organization_id is not None:
        raise ValueError(
            f"Organization doesn't exist in db. Organization={organization_id}. "
            "Create organization via `/organization/new` call."
        )
