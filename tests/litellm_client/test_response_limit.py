"""The largest answer the client reads (``max_response_bytes``), tested with oversized answers:
declared by Content-Length, streamed without one, and compressed to unfold past the limit."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from litellm_client import AsyncLiteLLMClient, LiteLLMClient, TransportError

if TYPE_CHECKING:
    from tests.litellm_client.conftest import MakeHarness

LIMIT = 64 * 1024
CHUNK = 4096


def info_body(samples: dict[str, Any], size: int) -> bytes:
    """The /key/info sample padded with an extra field to exactly ``size`` octets."""
    bare = json.dumps({**samples["info"], "padding": ""}).encode()
    assert len(bare) <= size
    return json.dumps({**samples["info"], "padding": "x" * (size - len(bare))}).encode()


async def test_an_answer_of_exactly_the_limit_is_read(
    make_api: MakeHarness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    body = info_body(samples, LIMIT)
    router.get("/key/info").respond(200, content=body)
    api = make_api(max_response_bytes=LIMIT)
    info = await api.call("key_info", "sk-some-key")
    assert info.key_alias == samples["info"]["info"]["key_alias"]


async def test_a_declared_length_past_the_limit_fails_the_call(
    make_api: MakeHarness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.get("/key/info").respond(200, content=info_body(samples, LIMIT + 1))
    api = make_api(max_response_bytes=LIMIT, max_retries=0)
    with pytest.raises(TransportError) as caught:
        await api.call("key_info", "sk-some-key")
    assert f"larger than {LIMIT} octets (max_response_bytes)" in str(caught.value)
    assert route.call_count == 1


async def test_an_endless_stream_is_cut_off_at_the_limit(
    make_api: MakeHarness, router: respx.MockRouter
) -> None:
    """No Content-Length and no end: the client stops reading once past the limit."""
    sent = [0]

    def chunks() -> Iterator[bytes]:
        while True:
            sent[0] += 1
            yield b" " * CHUNK

    async def achunks() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    api = make_api(max_response_bytes=LIMIT, max_retries=0)
    stream: Any = chunks() if api.kind == "sync" else achunks()
    router.get("/key/info").mock(return_value=httpx.Response(200, content=stream))
    with pytest.raises(TransportError, match="max_response_bytes"):
        await api.call("key_info", "sk-some-key")
    assert sent[0] == LIMIT // CHUNK + 1


async def test_a_compressed_answer_is_measured_unfolded(
    make_api: MakeHarness, router: respx.MockRouter
) -> None:
    """A few KiB of gzip that would unfold into 8 MiB: refused by its decoded size."""
    bomb = gzip.compress(b" " * (8 * 1024 * 1024))
    assert len(bomb) < LIMIT
    router.get("/key/info").respond(
        200, content=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    api = make_api(max_response_bytes=LIMIT, max_retries=0)
    with pytest.raises(TransportError, match="max_response_bytes"):
        await api.call("key_info", "sk-some-key")


@pytest.mark.parametrize("client", [LiteLLMClient, AsyncLiteLLMClient])
@pytest.mark.parametrize("value", [0, -1, 1023])
def test_a_limit_below_1024_is_refused(
    client: type[LiteLLMClient] | type[AsyncLiteLLMClient], value: int
) -> None:
    with pytest.raises(ValueError, match=f"max_response_bytes: expected 1024 or more, got {value}"):
        client("http://127.0.0.1:4000", "sk-admin", max_response_bytes=value)
