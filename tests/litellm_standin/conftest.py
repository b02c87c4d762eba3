"""Fixtures for the stand-in's own tests: a fresh stand-in per test and an admin client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.litellm_standin import StandIn

MASTER_KEY = "sk-standin-test-master"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(master_key=MASTER_KEY) as proxy:
        yield proxy


@pytest.fixture
def admin(standin: StandIn) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=standin.url, headers=auth, timeout=10) as client:
        yield client
