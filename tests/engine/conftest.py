"""Fixtures for the engine's in-process tests: the engine in a ``BackendHarness`` against a
LiteLLM proxy, either the in-project stand-in (the default, as ``make test`` runs them) or a
real proxy (``-m live``, from ``LITELLM_URL`` and ``LITELLM_MASTER_KEY``).

Every test that mints keys unmounts its harness at the end, which revokes its leases, so a
real proxy is left as it was found.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from vault_plugin_litellm.engine.backend import LiteLLMBackend, factory
from vault_plugin_litellm.sdk.framework.testing import BackendHarness, HarnessResponse
from vault_plugin_litellm.sdk.logical import StaticSystemView

from tests.support.proxy_access import MODEL as MODEL
from tests.support.proxy_access import ProxyAccess

PROXIES = [
    pytest.param("standin", id="standin"),
    pytest.param("live", id="live", marks=pytest.mark.live),
]
OTHER_MODEL = "fake-other"


class Proxy(ProxyAccess):
    """A LiteLLM proxy the tests talk to directly, besides the engine under test."""


@pytest.fixture(scope="session", params=PROXIES)
def proxy(request: pytest.FixtureRequest) -> Iterator[Proxy]:
    if request.param == "live":
        url, key = os.environ.get("LITELLM_URL"), os.environ.get("LITELLM_MASTER_KEY")
        if not url or not key:
            pytest.fail("live engine tests need LITELLM_URL and LITELLM_MASTER_KEY")
        real = Proxy(url, key, "live")
        yield real
        real.close()
        return
    from tests.support.litellm_standin import StandIn

    with StandIn(master_key="sk-engine-test-" + secrets.token_hex(8)) as standin:
        double = Proxy(standin.url, standin.master_key, "standin")
        yield double
        double.close()


@dataclass
class Engine:
    """An engine mounted in a harness, with the proxy it talks to."""

    host: BackendHarness
    proxy: Proxy
    system_view: StaticSystemView

    @property
    def backend(self) -> LiteLLMBackend:
        backend = self.host.backend
        assert isinstance(backend, LiteLLMBackend)
        return backend

    def stored(self) -> list[str]:
        """Every storage key the mount holds."""
        return self.host.storage.keys()

    async def configure(self, **fields: Any) -> HarnessResponse:
        body = {"url": self.proxy.url, "admin_key": self.proxy.master_key, **fields}
        response = await self.host.write("config", body)
        assert response.ok, response.errors
        return response

    async def role(self, name: str = "dev", **fields: Any) -> HarnessResponse:
        body = {"models": MODEL, **fields}
        response = await self.host.write(f"roles/{name}", body)
        assert response.ok, response.errors
        return response

    async def creds(self, name: str = "dev", **kw: Any) -> HarnessResponse:
        response = await self.host.read(f"creds/{name}", **kw)
        assert response.ok, response.errors
        return response


@pytest.fixture
async def engine(proxy: Proxy) -> AsyncIterator[Engine]:
    system_view = StaticSystemView()
    host = BackendHarness(
        factory, mount_point="litellm/", mount_type="litellm", system_view=system_view
    )
    await host.start()
    try:
        yield Engine(host, proxy, system_view)
    finally:
        await host.unmount()
