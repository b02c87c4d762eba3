"""A proxy that caps key durations (``upperbound_key_generate_params``): leases end before
their keys, whatever TTL or increment is asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litellm_client import AsyncLiteLLMClient, BadRequestError
from vault_plugin_litellm.engine import expiry

from .conftest import Engine


def _cap_durations(monkeypatch: pytest.MonkeyPatch, seconds: int, max_value: str) -> None:
    """Refuse longer durations on generate and update as the proxy does with a cap set."""
    for name in ("generate_key", "update_key"):
        original: Callable[..., Awaitable[Any]] = getattr(AsyncLiteLLMClient, name)

        async def capped(
            self: AsyncLiteLLMClient,
            *args: Any,
            _original: Callable[..., Awaitable[Any]] = original,
            **fields: Any,
        ) -> Any:
            duration = fields.get("duration")
            if duration is not None and int(duration.removesuffix("s")) > seconds:
                raise BadRequestError(
                    f"duration is over max limit set in config - user_value={duration}; "
                    f"max_value={max_value}",
                    status=400,
                    maybe_processed=False,
                )
            return await _original(self, *args, **fields)

        monkeypatch.setattr(AsyncLiteLLMClient, name, capped)


def _expires(engine: Engine, token: str) -> datetime:
    info = engine.proxy.admin.key_info(token)
    assert info.expires is not None
    return info.expires


async def test_a_renewal_with_an_increment_ends_before_the_capped_key(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await engine.configure()
    await engine.role(ttl="5m", max_ttl="2h")
    _cap_durations(monkeypatch, 600, "10m")
    minted = await engine.creds()
    assert minted.data is not None
    renewed = await engine.host.renew(minted.lease_id, 3600)
    assert renewed.ok, renewed.errors
    # The host lets an increment override the TTL a renewal returns: the lease must still
    # end before the key the proxy allowed.
    assert 0 < renewed.lease_duration <= 600
    lease_end = datetime.now(UTC) + timedelta(seconds=renewed.lease_duration)
    assert lease_end <= _expires(engine, minted.data["token"])
    assert any("caps key durations" in w for w in renewed.warnings)
    again = await engine.host.renew(minted.lease_id, 0)
    assert again.ok, again.errors
    assert 0 < again.lease_duration <= 600


async def test_a_cap_just_above_the_lease_needs_no_shorter_lease(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key's grace does not fit under the cap, but the lease itself does.
    await engine.configure()
    await engine.role(ttl="590s", max_ttl="2h")
    _cap_durations(monkeypatch, 600, "10m")
    minted = await engine.creds()
    assert minted.lease_duration == 590
    assert minted.data is not None
    expires = _expires(engine, minted.data["token"])
    assert datetime.now(UTC) + timedelta(seconds=590) <= expires
    renewed = await engine.host.renew(minted.lease_id, 0)
    assert renewed.ok, renewed.errors
    assert renewed.lease_duration == 590


def test_a_budget_duration_cap_is_not_a_key_duration_cap() -> None:
    message = "budget_duration is over max limit set in config - user_value=30d; max_value=7d"
    assert expiry.proxy_cap(message) is None
    key = "duration is over max limit set in config - user_value=3660s; max_value=1h"
    assert expiry.proxy_cap(key) == timedelta(hours=1)


async def test_a_key_granted_too_short_a_life_is_refused_and_deleted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lease TTL of zero would mean the mount's default to the host: 32 days for a dead key.
    await engine.configure()
    await engine.role(ttl="10m")
    minted: list[str] = []
    original = AsyncLiteLLMClient.generate_key

    async def granting_one_second(self: AsyncLiteLLMClient, *args: Any, **fields: Any) -> Any:
        generated = await original(self, *args, **fields)
        minted.append(generated.token)
        assert generated.created_at is not None
        return generated.model_copy(update={"expires": generated.created_at + timedelta(seconds=1)})

    monkeypatch.setattr(AsyncLiteLLMClient, "generate_key", granting_one_second)
    refused = await engine.host.read("creds/dev")
    assert refused.status == 400
    assert "too short for a lease" in refused.error
    assert not engine.host.leases
    assert [engine.proxy.status(token) for token in minted] in (["deleted"], ["missing"])
