"""Retries after answers lost on the way back: the proxy did the work, the client never heard."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from litellm_client import KeyStatus, LiteLLMClient, hash_key, new_raw_key
from litellm_client import TimeoutError as ClientTimeoutError

if TYPE_CHECKING:
    from conftest import Chat, CreatedKeys, LossyClient

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


def test_generate_with_alias_only_finds_the_key_but_not_its_secret(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    client, transport = lossy_client({"/key/generate": 1})
    alias = created.alias("lost-alias")
    key = client.generate_key(key_alias=alias)
    created.tokens.add(key.token)
    assert transport.sent == ["/key/generate", "/key/list"]
    assert key.recovered
    assert key.key is None
    assert [k.token for k in live_client.list_keys(key_alias=alias)] == [key.token]


def test_generate_without_key_or_alias_is_not_retried(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    client, transport = lossy_client({"/key/generate": 1})
    owner = f"{created.prefix}owner-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientTimeoutError) as caught:
        client.generate_key(user_id=owner)
    assert caught.value.maybe_processed
    assert transport.sent == ["/key/generate"]
    minted = list(live_client.list_keys(user_id=owner))
    created.tokens.update(k.token for k in minted if k.token)
    assert len(minted) == 1  # the lost attempt's key, and no second one


def test_delete_whose_answer_was_lost_counts_as_done(
    lossy_client: LossyClient, live_client: LiteLLMClient, created: CreatedKeys
) -> None:
    _, key = created.mint(live_client, "lost-delete")
    client, transport = lossy_client({"/key/delete": 1})
    result = client.delete_keys([key.token])
    assert transport.sent == ["/key/delete", "/key/delete"]
    assert result.none_found
    assert live_client.key_info(key.token).status is KeyStatus.DELETED
