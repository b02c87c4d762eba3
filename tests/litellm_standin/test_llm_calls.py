"""What a minted key meets on /chat/completions: budgets, rate limits, refusals.

See docs/litellm-api.md §8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from e2e.litellm_standin import StandIn

if TYPE_CHECKING:
    from litellm_standin.conftest import Chat, Mint


def _error(answer: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = answer.json()["error"]
    return error


def test_completion_is_openai_shaped_and_costs_tokens_times_prices(
    admin: httpx.Client, mint: Mint, chat: Chat
) -> None:
    key = mint(models=["fake-gpt"])
    answer = chat(key["key"])
    assert answer.status_code == 200
    body = answer.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "content": "Hello from the mock model",
        "role": "assistant",
    }
    assert body["usage"] == {"completion_tokens": 20, "prompt_tokens": 10, "total_tokens": 30}
    info = admin.get("/key/info", params={"key": key["token"]}).json()["info"]
    assert info["spend"] == pytest.approx(10 * 0.001 + 20 * 0.002)
    assert info["last_active"] is not None


def test_budget_is_checked_before_the_call_so_one_call_overshoots(mint: Mint, chat: Chat) -> None:
    key = mint(key_alias="tiny", models=["fake-gpt"], max_budget=0.0001)
    first = chat(key["key"])
    assert first.status_code == 200
    # With a budget the proxy counts the prompt itself: 3 + "user" + "hi" + 3.
    assert first.json()["usage"]["prompt_tokens"] == 8
    refused = chat(key["key"])
    assert refused.status_code == 422
    error = _error(refused)
    assert error["type"] == "budget_exceeded"
    assert error["param"] is None
    assert str(error["message"]).startswith(
        f"Budget has been exceeded! Key=tiny ({key['key_name']}) Current cost: 0.048"
    )
    assert str(error["message"]).endswith("Max budget: 0.0001")


def test_zero_budget_refuses_the_first_call(mint: Mint, chat: Chat) -> None:
    key = mint(max_budget=0)
    assert chat(key["key"]).status_code == 422


def test_budgets_never_bite_on_models_without_prices(
    admin: httpx.Client, mint: Mint, chat: Chat
) -> None:
    key = mint(max_budget=0)
    for _ in range(3):
        assert chat(key["key"], "free-model").status_code == 200
    assert admin.get("/key/info", params={"key": key["token"]}).json()["info"]["spend"] == 0.0
    assert chat(key["key"], "fake-gpt").status_code == 422


def test_management_calls_ignore_the_budget(mint: Mint, standin_url: str) -> None:
    key = mint(max_budget=0)
    answer = httpx.get(f"{standin_url}/key/info", headers={"Authorization": f"Bearer {key['key']}"})
    assert answer.status_code == 200


def test_spend_reaches_key_info_in_batches_but_budgets_act_at_once() -> None:
    with StandIn(master_key="sk-batch-test-key", spend_write_interval=3600) as proxy:
        auth = {"Authorization": "Bearer sk-batch-test-key"}
        key = httpx.post(f"{proxy.url}/key/generate", json={"max_budget": 0.01}, headers=auth)
        raw, token = key.json()["key"], key.json()["token"]
        call = {"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]}
        user = {"Authorization": f"Bearer {raw}"}
        assert httpx.post(f"{proxy.url}/chat/completions", json=call, headers=user).is_success
        info = httpx.get(f"{proxy.url}/key/info", params={"key": token}, headers=auth).json()
        assert info["info"]["spend"] == 0.0  # not written yet, as on the real proxy
        assert info["info"]["last_active"] is None
        again = httpx.post(f"{proxy.url}/chat/completions", json=call, headers=user)
        assert again.status_code == 422


def test_rpm_limit_throttles_per_key(mint: Mint, chat: Chat) -> None:
    limited = mint(models=["fake-gpt"], rpm_limit=1)
    other = mint(models=["fake-gpt"], rpm_limit=1)
    assert chat(limited["key"]).status_code == 200
    refused = chat(limited["key"])
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    error = _error(refused)
    assert error["type"] == "throttling_error"
    assert str(error["message"]).startswith(
        f"Rate limit exceeded for api_key: {limited['token']}. Limit type: requests. "
        "Current limit: 1, Remaining: 0. Limit resets at: "
    )
    assert chat(other["key"]).status_code == 200


def test_tpm_limit_counts_the_tokens_of_finished_calls(mint: Mint, chat: Chat) -> None:
    key = mint(tpm_limit=40)
    assert chat(key["key"]).status_code == 200
    refused = chat(key["key"])
    assert refused.status_code == 429
    assert "Limit type: tokens. Current limit: 40, Remaining: 10." in str(
        _error(refused)["message"]
    )


@pytest.mark.parametrize(
    ("fields", "model", "status", "error_type"),
    [
        ({"models": ["fake-gpt"]}, "fake-other", 403, "key_model_access_denied"),
        ({"models": ["fake-gpt"]}, "no-such-model", 403, "key_model_access_denied"),
        ({}, "no-such-model", 400, "invalid_request_error"),
        ({"duration": "0s"}, "fake-gpt", 401, "expired_key"),
        ({"blocked": True}, "fake-gpt", 401, "auth_error"),
        # The order of the checks: blocked, then model access, then expiry, then budget.
        ({"blocked": True, "models": ["x"]}, "fake-gpt", 401, "auth_error"),
        ({"duration": "0s", "models": ["x"]}, "fake-gpt", 403, "key_model_access_denied"),
        ({"duration": "0s", "max_budget": 0}, "fake-gpt", 401, "expired_key"),
    ],
)
def test_refusals(
    mint: Mint, chat: Chat, fields: dict[str, object], model: str, status: int, error_type: str
) -> None:
    answer = chat(mint(**fields)["key"], model)
    assert answer.status_code == status
    assert _error(answer)["type"] == error_type


def test_deleted_key_is_not_found(admin: httpx.Client, mint: Mint, chat: Chat) -> None:
    key = mint()
    assert admin.post("/key/delete", json={"keys": [key["token"]]}).status_code == 200
    error = _error(chat(key["key"]))
    assert error["type"] == "token_not_found_in_db"
    assert key["token"] in str(error["message"])
    assert key["key"] not in str(error["message"])


def test_streaming_sends_the_reply_in_events(mint: Mint, chat: Chat) -> None:
    answer = chat(mint()["key"], stream=True)
    assert answer.headers["content-type"] == "text/event-stream"
    events = [line for line in answer.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert len(events) > 2
