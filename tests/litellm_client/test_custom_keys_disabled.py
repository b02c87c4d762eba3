"""``generate_key`` against a proxy that refuses custom keys (the in-project stand-in so set up).

The client then lets the proxy make the key; such an attempt cannot be recognised afterwards, so
it is never repeated once it may have reached the proxy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from litellm_client import (
    LiteLLMClient,
    PermissionDeniedError,
    RequestTimeoutError,
    hash_key,
    new_raw_key,
)

if TYPE_CHECKING:
    from tests.litellm_client.conftest import LiveProxy, LossyClient


def test_the_proxy_makes_the_key_when_custom_keys_are_refused(
    strict_lossy_client: LossyClient, no_custom_keys_proxy: LiveProxy
) -> None:
    client, transport = strict_lossy_client({})
    key = client.generate_key(key_alias="fallback", models=["fake-gpt"])
    assert transport.sent == ["/key/generate", "/key/generate"]
    assert transport.statuses == [403, 200]
    assert key.key is not None
    assert len(key.key) == 25  # "sk-" + token_urlsafe(16): made by the proxy, not the client
    assert key.token == hash_key(key.key)
    assert not key.recovered
    assert client.key_info(key.token).key_alias == "fallback"


def test_a_lost_answer_to_the_fallback_is_raised_and_leaves_one_key(
    strict_lossy_client: LossyClient, no_custom_keys_proxy: LiveProxy
) -> None:
    client, transport = strict_lossy_client({"/key/generate": 1}, successes_only=True)
    with pytest.raises(RequestTimeoutError) as caught:
        client.generate_key(key_alias="lost-fallback")
    assert caught.value.maybe_processed  # a key may exist: the caller must look or clean up
    assert transport.sent == ["/key/generate", "/key/generate"]
    assert transport.statuses == [403, 200]
    with LiteLLMClient(no_custom_keys_proxy.url, no_custom_keys_proxy.master_key) as admin:
        assert len(list(admin.list_keys(key_alias="lost-fallback"))) == 1


def test_a_callers_own_key_is_refused_not_replaced(strict_lossy_client: LossyClient) -> None:
    client, transport = strict_lossy_client({})
    with pytest.raises(PermissionDeniedError, match="Custom API key values are disabled"):
        client.generate_key(key=new_raw_key(), key_alias="own")
    assert transport.sent == ["/key/generate"]
