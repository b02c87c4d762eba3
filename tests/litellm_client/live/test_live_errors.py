"""Every error class as the real proxy provokes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from litellm_client import (
    AliasConflictError,
    AuthenticationError,
    BadRequestError,
    EnterpriseFeatureError,
    InvalidDurationError,
    InvalidKeyError,
    LiteLLMClient,
    PermissionDeniedError,
    RequestValidationError,
    hash_key,
)

if TYPE_CHECKING:
    from tests.litellm_client.conftest import CreatedKeys, LiveProxy

pytestmark = pytest.mark.live


def test_enterprise_fields_are_refused_by_text_whatever_the_status(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    with pytest.raises(EnterpriseFeatureError) as on_generate:
        live_client.generate_key(key_alias=created.alias("ent"), tags=["team-a"])
    assert on_generate.value.status == 403
    assert "tags" in on_generate.value.message
    _, key = created.mint(live_client, "ent")
    with pytest.raises(EnterpriseFeatureError) as on_update:
        live_client.update_key(key.token, tags=["team-a"])
    assert on_update.value.status == 403
    assert on_update.value.type == "auth_error"
    assert on_update.value.param is None  # the proxy's "None"
    with pytest.raises(EnterpriseFeatureError) as on_budget:
        live_client.generate_key(key_alias=created.alias("ent"), model_max_budget={"fake-gpt": 1})
    assert on_budget.value.status == 500
    assert on_budget.value.attempts == 1  # a 500 that is not a server fault: not retried


def test_regenerate_needs_enterprise(live_client: LiteLLMClient, created: CreatedKeys) -> None:
    raw, key = created.mint(live_client, "regen")
    with pytest.raises(EnterpriseFeatureError) as caught:
        live_client.regenerate_key(raw)
    assert caught.value.status == 500
    assert caught.value.attempts == 1
    assert "Regenerating Virtual Keys is an Enterprise feature" in caught.value.message
    assert live_client.key_info(key.token).status == "active"


def test_a_bad_master_key_is_an_authentication_error(live_proxy: LiveProxy) -> None:
    wrong = "sk-wrong-master-key-for-test"
    with LiteLLMClient(live_proxy.url, wrong) as client, pytest.raises(InvalidKeyError) as caught:
        client.key_info(hash_key("sk-anything-at-all-123"))
    assert caught.value.status == 401
    assert caught.value.type == "token_not_found_in_db"
    assert wrong not in str(caught.value)
    assert wrong not in str(caught.value.body)
    with (
        LiteLLMClient(live_proxy.url, "not-an-sk-key") as client,
        pytest.raises(AuthenticationError, match="LiteLLM Virtual Key expected"),
    ):
        client.list_keys_page()


def test_a_key_without_admin_role_gets_permission_denied(
    live_proxy: LiveProxy, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    raw, _ = created.mint(live_client, "plain")
    with (
        LiteLLMClient(live_proxy.url, raw) as client,
        pytest.raises(PermissionDeniedError) as caught,
    ):
        client.generate_key()
    assert caught.value.status == 401  # "Only proxy admin ..." comes as a 401
    assert "Only proxy admin" in caught.value.message
    assert raw not in str(caught.value)


def test_an_llm_api_key_gets_403_on_management_routes(
    live_proxy: LiveProxy, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    raw, key = created.mint(live_client, "llmapi", key_type="llm_api")
    with (
        LiteLLMClient(live_proxy.url, raw) as client,
        pytest.raises(PermissionDeniedError) as caught,
    ):
        client.key_info(key.token)
    assert caught.value.status == 403
    assert caught.value.type is None  # shape C: {"detail": "..."}
    assert "not allowed to call this route" in caught.value.message


def test_alias_conflict(live_client: LiteLLMClient, created: CreatedKeys) -> None:
    _, key = created.mint(live_client, "dup")
    with pytest.raises(AliasConflictError) as caught:
        live_client.generate_key(key_alias=key.key_alias)
    assert caught.value.status == 400
    assert caught.value.param == "key_alias"
    assert isinstance(caught.value, BadRequestError)


def test_durations_the_proxy_refuses(live_client: LiteLLMClient, created: CreatedKeys) -> None:
    # Refused locally, nothing sent:
    with pytest.raises(InvalidDurationError) as local:
        live_client.generate_key(duration="30")
    assert local.value.status is None
    # What the proxy does with the same value, forced through extra_body: 500 on generate ...
    with pytest.raises(InvalidDurationError) as on_generate:
        live_client.generate_key(extra_body={"duration": "30"})
    assert on_generate.value.status == 500
    assert on_generate.value.attempts == 1
    assert "Unsupported duration unit" in on_generate.value.message
    # ... and 400 on update.
    _, key = created.mint(live_client, "dur")
    with pytest.raises(InvalidDurationError) as on_update:
        live_client.update_key(key.token, extra_body={"duration": "abc"})
    assert on_update.value.status == 400
    assert on_update.value.message == "Authentication Error, Invalid duration format"
    with pytest.raises(InvalidDurationError) as on_budget:
        live_client.update_key(key.token, extra_body={"budget_duration": "0s"})
    assert "Invalid budget_duration '0s'" in on_budget.value.message


def test_schema_errors_keep_the_validation_detail(live_client: LiteLLMClient) -> None:
    with pytest.raises(RequestValidationError) as caught:
        live_client.generate_key(extra_body={"tpm_limit": 1.5})
    assert caught.value.status == 422
    assert caught.value.detail[0]["loc"] == ["body", "tpm_limit"]
    assert caught.value.detail[0]["type"] == "int_from_float"
    assert caught.value.message.startswith("tpm_limit: ")


def test_bad_requests_unwrap_the_dict_repr_message(live_client: LiteLLMClient) -> None:
    with pytest.raises(BadRequestError) as short:
        live_client.generate_key(key="sk-short")
    assert short.value.status == 400
    assert short.value.message == (
        "Invalid key format. LiteLLM Virtual Key must be at least 16 characters long."
    )
    with pytest.raises(BadRequestError) as status:
        live_client.list_keys_page(status="bogus")
    assert status.value.message.startswith("Invalid status value.")
