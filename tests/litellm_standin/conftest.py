"""Fixtures for the stand-in's own tests: a fresh stand-in per test and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from e2e.litellm_standin import DEFAULT_MODELS, Model, StandIn

MASTER_KEY = "sk-standin-test-master"
FREE_MODEL = Model("free-model", mock_response="free reply")
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def standin() -> Iterator[StandIn]:
    # Spend is written at once here; the batch delay has a test of its own.
    with StandIn(
        master_key=MASTER_KEY, models=[*DEFAULT_MODELS, FREE_MODEL], spend_write_interval=0
    ) as proxy:
        yield proxy


@pytest.fixture
def standin_url(standin: StandIn) -> str:
    return standin.url


@pytest.fixture
def admin(standin: StandIn) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=standin.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    ) as client:
        yield client


Mint = Callable[..., dict[str, Any]]


@pytest.fixture
def mint(admin: httpx.Client) -> Mint:
    """``mint(**fields)``: generate a key with the master key and return the answer."""

    def make(**fields: Any) -> dict[str, Any]:
        answer = admin.post("/key/generate", json=fields)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    return make


Chat = Callable[..., httpx.Response]


@pytest.fixture
def chat(standin: StandIn) -> Iterator[Chat]:
    """``chat(raw_key, model="fake-gpt", **extra)``: one completion request with that key."""
    with httpx.Client(base_url=standin.url, timeout=10) as client:

        def send(raw_key: str, model: str = "fake-gpt", **extra: Any) -> httpx.Response:
            return client.post(
                "/chat/completions",
                headers={"Authorization": f"Bearer {raw_key}"},
                json={"model": model, "messages": HI, **extra},
            )

        yield send
