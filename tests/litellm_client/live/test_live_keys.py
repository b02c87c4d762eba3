"""Every method against the real proxy, and what a minted key then experiences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from litellm_client import (
    BudgetExceededError,
    ExpiredKeyError,
    InvalidDurationError,
    KeyBlockedError,
    KeyStatus,
    LiteLLMClient,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    hash_key,
    new_raw_key,
)

if TYPE_CHECKING:
    from tests.litellm_client.conftest import Chat, CreatedKeys

pytestmark = pytest.mark.live

TOLERANCE = timedelta(seconds=60)  # proxy and tests share a host; this only absorbs latency


def test_generate_with_models_budget_duration_and_metadata(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    before = datetime.now(UTC)
    raw, key = created.mint(
        live_client,
        "gen",
        models=["fake-gpt"],
        max_budget=5.0,
        duration=timedelta(hours=1),
        budget_duration="30d",
        metadata={"owner": "lc-test", "lease": "abc"},
    )
    assert raw.startswith("sk-")
    assert key.token == hash_key(raw)
    assert key.models == ["fake-gpt"]
    assert key.max_budget == 5.0
    assert key.metadata == {"owner": "lc-test", "lease": "abc"}
    assert key.expires is not None
    assert before + timedelta(hours=1) - TOLERANCE <= key.expires
    assert key.expires <= datetime.now(UTC) + timedelta(hours=1) + TOLERANCE

    by_raw = live_client.key_info(raw)
    by_token = live_client.key_info(key.token)
    for info in (by_raw, by_token):
        assert info.token == key.token
        assert info.status is KeyStatus.ACTIVE
        assert info.key_alias == key.key_alias
        assert info.models == ["fake-gpt"]
        assert info.max_budget == 5.0
        assert info.budget_duration == "30d"
        assert info.metadata == {"owner": "lc-test", "lease": "abc"}
        assert info.expires is not None
        # generate reports microseconds, info the stored milliseconds
        assert abs(info.expires - key.expires) < timedelta(milliseconds=1)


def test_update_moves_the_expiry_and_null_clears(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    raw, key = created.mint(live_client, "upd", duration="1h", max_budget=3.0, metadata={"a": 1})
    assert key.expires is not None
    updated = live_client.update_key(key.token, duration="3h", max_budget=None, metadata={"b": 2})
    assert updated.expires is not None
    moved = updated.expires - key.expires
    assert timedelta(hours=2) - TOLERANCE <= moved <= timedelta(hours=2) + TOLERANCE
    info = live_client.key_info(raw)
    assert info.expires == updated.expires
    assert info.max_budget is None
    assert info.metadata == {"b": 2}  # replaced whole, not merged
    never = live_client.update_key(raw, duration=None)
    assert never.expires is None


def test_delete_then_info_says_deleted(live_client: LiteLLMClient, created: CreatedKeys) -> None:
    raw, key = created.mint(live_client, "del")
    result = live_client.delete_keys([raw])
    assert result.deleted_keys == [key.token]
    assert not result.none_found
    info = live_client.key_info(key.token)
    assert info.status is KeyStatus.DELETED
    assert info.deleted_at is not None
    with pytest.raises(NotFoundError) as again:
        live_client.delete_keys([key.token])
    assert again.value.message == "No keys found"
    assert again.value.attempts == 1
    assert live_client.delete_keys([key.token], missing_ok=True).none_found
    with pytest.raises(NotFoundError, match="Key not found"):
        live_client.update_key(key.token, max_budget=1)
    with pytest.raises(NotFoundError, match="Key not found"):
        live_client.block_key(key.token)


def test_delete_of_a_missing_key_is_not_found(live_client: LiteLLMClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        live_client.delete_keys([new_raw_key()])
    assert caught.value.status == 404
    assert caught.value.message == "No keys found"
    assert caught.value.raw_message == "{'error': 'No keys found'}"


def test_info_of_an_unknown_key_is_not_found(live_client: LiteLLMClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        live_client.key_info(hash_key(new_raw_key()))
    assert caught.value.param == "key"


def test_key_for_one_model_is_refused_on_another(
    live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    raw, _ = created.mint(live_client, "model", models=["fake-gpt"])
    assert chat.send(raw, "fake-gpt").status_code == 200
    refusal = chat.refusal(raw, "fake-other")
    assert isinstance(refusal, PermissionDeniedError)
    assert refusal.status == 403
    assert refusal.type == "key_model_access_denied"
    assert refusal.param == "model"


def test_key_generated_already_expired_is_refused(
    live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    raw, key = created.mint(live_client, "exp0", duration="0s", models=["fake-gpt"])
    refusal = chat.refusal(raw, "fake-gpt")
    assert isinstance(refusal, ExpiredKeyError)
    assert refusal.status == 401
    assert live_client.key_info(key.token).status is KeyStatus.EXPIRED


def test_key_updated_to_expire_now_is_refused(
    live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    raw, key = created.mint(live_client, "exp1", duration="1h", models=["fake-gpt"])
    assert chat.send(raw, "fake-gpt").status_code == 200
    live_client.update_key(key.token, duration=timedelta(0))
    refusal = chat.refusal(raw, "fake-gpt")
    assert isinstance(refusal, ExpiredKeyError)
    assert refusal.type == "expired_key"


def test_block_and_unblock(live_client: LiteLLMClient, created: CreatedKeys, chat: Chat) -> None:
    raw, key = created.mint(live_client, "block", models=["fake-gpt"])
    blocked = live_client.block_key(raw)
    assert blocked.blocked is True
    assert blocked.token == key.token
    assert live_client.key_info(key.token).status is KeyStatus.REVOKED
    assert isinstance(chat.refusal(raw, "fake-gpt"), KeyBlockedError)
    unblocked = live_client.unblock_key(key.token)
    assert unblocked.blocked is False
    assert chat.send(raw, "fake-gpt").status_code == 200
    assert live_client.key_info(key.token).status is KeyStatus.ACTIVE


def test_list_keys_pages_through_every_key(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    prefix = created.alias("list") + "-"
    tokens = set()
    for index in range(5):
        key = live_client.generate_key(key_alias=f"{prefix}{index}")
        created.tokens.add(key.token)
        tokens.add(key.token)
    listed = list(live_client.list_keys(key_alias=prefix, substring_matching=True, page_size=2))
    assert {k.token for k in listed} == tokens
    assert len(listed) == 5
    assert {k.key_alias for k in listed} == {f"{prefix}{i}" for i in range(5)}
    page = live_client.list_keys_page(1, 2, key_alias=prefix, substring_matching=True)
    assert page.total_count == 5
    assert page.total_pages == 3
    assert len(page.keys) == 2
    bare = live_client.list_keys_page(
        3, 2, return_full_object=False, key_alias=prefix, substring_matching=True
    )
    assert len(bare.keys) == 1
    assert bare.keys[0].token in tokens
    assert bare.keys[0].key_alias is None
    exact = list(live_client.list_keys(key_alias=f"{prefix}3"))
    assert [k.key_alias for k in exact] == [f"{prefix}3"]


def test_health(live_client: LiteLLMClient) -> None:
    health = live_client.health()
    assert health.healthy
    assert health.db == "connected"


def test_budget_is_enforced_on_priced_models(
    live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    raw, _ = created.mint(live_client, "budget", models=["fake-gpt"], max_budget=0.0001)
    # The check runs before each call against spend so far: the first call may still pass.
    statuses = []
    for _ in range(5):
        response = chat.send(raw, "fake-gpt")
        statuses.append(response.status_code)
        if not response.is_success:
            break
    assert statuses[-1] == 422, statuses
    refusal = chat.refusal(raw, "fake-gpt")
    assert isinstance(refusal, BudgetExceededError)
    assert refusal.type == "budget_exceeded"


def test_rate_limit_is_a_rate_limit_error(
    live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    raw, _ = created.mint(live_client, "rpm", models=["fake-gpt"], rpm_limit=1)
    assert chat.send(raw, "fake-gpt").status_code == 200
    refusal = chat.refusal(raw, "fake-gpt")
    assert isinstance(refusal, RateLimitError)
    assert refusal.retry_after is not None
    assert refusal.retry_after > 0


def test_custom_key_is_used_and_reusing_it_changes_nothing(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    custom = new_raw_key()
    raw, key = created.mint(live_client, "custom", key=custom, max_budget=2.0)
    assert raw == custom
    assert key.token == hash_key(raw)
    again = live_client.generate_key(key=custom, max_budget=9.0)
    assert again.token == key.token
    assert live_client.key_info(raw).max_budget == 2.0


def _first_of_next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def test_a_thirty_day_timedelta_budget_resets_monthly(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    before = datetime.now(UTC)
    raw, _ = created.mint(live_client, "bd-30d", budget_duration=timedelta(days=30))
    after = datetime.now(UTC)
    info = live_client.key_info(raw)
    assert info.budget_duration == "30d"
    # "30d" is the proxy's monthly period: the next reset is the 1st of next month, 00:00 UTC.
    assert info.budget_reset_at in {_first_of_next_month(before), _first_of_next_month(after)}


def test_a_budget_period_in_seconds_resets_within_a_day(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    # Why timedeltas are not sent as seconds: the proxy's reset arithmetic for "s", "m" and "h"
    # wraps at midnight, so thirty days in seconds resets tomorrow.
    before = datetime.now(UTC)
    key = live_client.generate_key(
        key_alias=created.alias("bd-secs"), extra_body={"budget_duration": "2592000s"}
    )
    created.tokens.add(key.token)
    info = live_client.key_info(key.token)
    assert info.budget_duration == "2592000s"
    assert info.budget_reset_at is not None
    assert info.budget_reset_at <= before + timedelta(days=1) + TOLERANCE


def test_one_month_is_the_only_month_budget_period(
    live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    before = datetime.now(UTC)
    raw, _ = created.mint(live_client, "bd-1mo", budget_duration="1mo")
    after = datetime.now(UTC)
    reset = live_client.key_info(raw).budget_reset_at
    assert reset in {_first_of_next_month(before), _first_of_next_month(after)}
    # The proxy refuses any other month count ...
    with pytest.raises(InvalidDurationError) as on_proxy:
        live_client.generate_key(
            key_alias=created.alias("bd-2mo"), extra_body={"budget_duration": "2mo"}
        )
    assert on_proxy.value.status == 400
    assert "Invalid budget_duration '2mo'" in on_proxy.value.message
    # ... so the client refuses it before sending, naming the field.
    with pytest.raises(InvalidDurationError, match=r"budget_duration: '2mo' is not") as local:
        live_client.generate_key(key_alias=created.alias("bd-2mo"), budget_duration="2mo")
    assert local.value.status is None


def test_search_by_raw_key_finds_the_key(live_client: LiteLLMClient, created: CreatedKeys) -> None:
    raw, key = created.mint(live_client, "search")
    # Sent as the token, which the proxy's search matches exactly.
    assert [k.token for k in live_client.list_keys(search=raw)] == [key.token]
    assert [k.token for k in live_client.list_keys(search=key.token)] == [key.token]
