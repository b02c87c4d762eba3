"""Retries after answers lost on the way back: the proxy did the work, the client never heard."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest
from litellm_client import (
    AliasConflictError,
    KeyStatus,
    LiteLLMClient,
    hash_key,
    new_raw_key,
)

if TYPE_CHECKING:
    from tests.litellm_client.conftest import Chat, CreatedKeys, LateClient, LossyClient

pytestmark = pytest.mark.live


def test_generate_with_custom_key_returns_the_key_the_lost_attempt_created(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    client, transport = lossy_client({"/key/generate": 1})
    raw = new_raw_key()
    alias = created.alias("lost-custom")
    created.tokens.add(hash_key(raw))
    key = client.generate_key(key=raw, key_alias=alias, models=["fake-gpt"])
    assert transport.sent == ["/key/generate", "/key/info"]  # one generate, then the check
    assert key.recovered
    assert key.key == raw
    assert key.token == hash_key(raw)
    assert key.key_alias == alias
    assert [k.token for k in live_client.list_keys(key_alias=alias)] == [key.token]
    assert chat.send(raw, "fake-gpt").status_code == 200


def test_generate_without_a_key_recovers_a_usable_key_by_its_token(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    client, transport = lossy_client({"/key/generate": 1})
    alias = created.alias("lost-alias")
    key = client.generate_key(key_alias=alias, models=["fake-gpt"])
    created.tokens.add(key.token)
    # One generate, then the check by token; never a listing by alias.
    assert transport.sent == ["/key/generate", "/key/info"]
    assert key.recovered
    assert key.key is not None
    assert key.token == hash_key(key.key)
    assert [k.token for k in live_client.list_keys(key_alias=alias)] == [key.token]
    assert chat.send(key.key, "fake-gpt").status_code == 200  # the recovered key works


def test_generate_without_key_or_alias_recovers_the_one_key(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    client, transport = lossy_client({"/key/generate": 1})
    owner = f"{created.prefix}owner-{uuid.uuid4().hex[:8]}"
    try:
        key = client.generate_key(user_id=owner)
    finally:  # a key without an alias escapes the clean-up's sweep: register it whatever happens
        minted = list(live_client.list_keys(user_id=owner))
        created.tokens.update(k.token for k in minted if k.token)
    assert transport.sent == ["/key/generate", "/key/info"]
    assert key.recovered
    assert [k.token for k in minted] == [key.token]  # the lost attempt's key, and no second one


def test_a_lost_answer_never_adopts_another_callers_key_with_the_alias(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    # Someone else's key holds the alias; our attempt is refused ("already exists"), but that
    # answer is lost. Nothing this call made exists, so nothing may be returned as ours.
    _, theirs = created.mint(live_client, "theirs", models=["fake-other"])
    alias = theirs.key_alias
    assert alias is not None
    client, transport = lossy_client({"/key/generate": 1})
    with pytest.raises(AliasConflictError) as caught:
        client.generate_key(key_alias=alias, models=["fake-gpt"])
    assert caught.value.maybe_processed
    assert transport.sent == ["/key/generate", "/key/info", "/key/generate", "/key/info"]
    holders = list(live_client.list_keys(key_alias=alias))
    assert [k.token for k in holders] == [theirs.token]
    assert holders[0].models == ["fake-other"]


@pytest.mark.parametrize("run", range(5))
def test_a_late_landing_first_attempt_and_its_retry_make_one_key(
    late_first_client: LateClient, live_client: LiteLLMClient, created: CreatedKeys, run: int
) -> None:
    # The first attempt reaches the proxy only as the retry does. The proxy's alias check is not
    # atomic, so two keys would be possible if the attempts were different keys; they carry the
    # same raw key, which the proxy upserts by its token.
    client, transport = late_first_client()
    alias = created.alias(f"late-{run}")
    key = client.generate_key(key_alias=alias)
    transport.join()
    created.tokens.add(key.token)
    sent = [json.loads(body).get("key") for body in transport.bodies]
    assert len(sent) == 2
    assert isinstance(sent[0], str)
    assert sent[0].startswith("sk-")
    assert sent[1] == sent[0]
    assert key.token == hash_key(sent[0])
    assert transport.late_status in (200, 400)  # upserted, or refused as an alias conflict
    assert [k.token for k in live_client.list_keys(key_alias=alias)] == [key.token]


def test_delete_whose_answer_was_lost_counts_as_done(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    _, key = created.mint(live_client, "lost-delete")
    client, transport = lossy_client({"/key/delete": 1})
    result = client.delete_keys([key.token])
    assert transport.sent == ["/key/delete", "/key/delete"]
    assert result.none_found
    assert live_client.key_info(key.token).status is KeyStatus.DELETED
