"""The async client against the real proxy: the same core, the asyncio transport."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from litellm_client import AsyncLiteLLMClient, KeyBlockedError, KeyStatus, NotFoundError, hash_key

if TYPE_CHECKING:
    from tests.litellm_client.conftest import Chat, CreatedKeys

pytestmark = pytest.mark.live


async def test_async_key_lifecycle(
    live_async: AsyncLiteLLMClient, created: CreatedKeys, chat: Chat
) -> None:
    assert (await live_async.health()).healthy
    raw, key = await created.amint(
        live_async, "async", models=["fake-gpt"], duration=timedelta(minutes=30), max_budget=1.0
    )
    assert key.token == hash_key(raw)
    info = await live_async.key_info(raw)
    assert info.status is KeyStatus.ACTIVE
    assert info.token == key.token
    updated = await live_async.update_key(key.token, duration="2h", metadata={"step": "renewed"})
    assert updated.expires is not None
    assert key.expires is not None
    assert updated.expires > key.expires
    assert updated.metadata == {"step": "renewed"}

    await live_async.block_key(key.token)
    assert isinstance(chat.refusal(raw, "fake-gpt"), KeyBlockedError)
    await live_async.unblock_key(raw)
    assert chat.send(raw, "fake-gpt").status_code == 200

    listed = [k async for k in live_async.list_keys(key_alias=key.key_alias or "")]
    assert [k.token for k in listed] == [key.token]

    deleted = await live_async.delete_keys([raw])
    assert deleted.deleted_keys == [key.token]
    assert (await live_async.key_info(key.token)).status is KeyStatus.DELETED
    with pytest.raises(NotFoundError):
        await live_async.delete_keys([key.token])
