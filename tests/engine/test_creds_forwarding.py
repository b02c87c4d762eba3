"""``creds/<role>`` on nodes that must forward it: refused with the host's read-only error
(which makes the host forward the request) before the proxy is ever asked for a key."""

from __future__ import annotations

import pytest
from vault_plugin_litellm.sdk.logical import READ_ONLY_STORAGE

from .conftest import Engine

DEAD = "http://127.0.0.1:9"
"""Nothing listens here: a mint that reached the proxy would fail naming this URL."""


@pytest.mark.parametrize(
    ("state", "local", "forwarded"),
    [
        (24576, False, True),  # performance standby
        (64, False, True),  # performance secondary
        (64, True, False),  # ... where a local mount is served
    ],
)
async def test_creds_is_forwarded_before_the_proxy_is_asked(
    engine: Engine, state: int, local: bool, forwarded: bool
) -> None:
    await engine.configure()
    await engine.role()
    assert (await engine.host.write("config", {"url": DEAD, "verify_connection": False})).ok
    engine.system_view.replication = state
    engine.system_view.is_local_mount = local
    answer = await engine.host.read("creds/dev")
    assert not answer.ok
    assert len(engine.host.leases) == 0
    assert not [k for k in engine.stored() if k.startswith("keys/")]
    if forwarded:
        assert answer.error == READ_ONLY_STORAGE
    else:
        assert DEAD in answer.error  # served here: it went on to the (dead) proxy
