"""``creds/<role>``: a scoped key bound to a lease, crash-safe, with nothing secret stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litellm_client import AsyncLiteLLMClient, BadRequestError, NotFoundError, hash_key
from vault_plugin_litellm.engine import key_index
from vault_plugin_litellm.engine.expiry import EXPIRY_GRACE
from vault_plugin_litellm.sdk.framework import WAL_PREFIX
from vault_plugin_litellm.sdk.logical import Alias, Entity, Group

from .conftest import MODEL, OTHER_MODEL, Engine


async def test_a_minted_key_works_on_its_models_only(engine: Engine) -> None:
    await engine.configure()
    await engine.role(max_budget=5, ttl="10m", max_ttl="1h")
    minted = await engine.creds()
    data = minted.data
    assert data is not None
    key = data["key"]
    assert key.startswith("sk-")
    assert data["token"] == hash_key(key)
    assert data["models"] == [MODEL]
    assert data["max_budget"] == 5
    assert data["key_alias"].startswith("vault-litellm-dev-")
    assert data["user_id"] is None
    assert data["team_id"] is None
    assert minted.renewable
    assert minted.lease_duration == 600
    assert engine.proxy.chat(key, MODEL) == 200
    assert engine.proxy.chat(key, OTHER_MODEL) == 403


async def test_the_key_expires_in_litellm_shortly_after_its_lease(engine: Engine) -> None:
    await engine.configure()
    await engine.role(ttl="10m")
    before = datetime.now(UTC)
    minted = await engine.creds()
    after = datetime.now(UTC)
    assert minted.data is not None
    expires = datetime.fromisoformat(minted.data["expires"])
    lease_end_earliest = before + timedelta(seconds=minted.lease_duration)
    assert lease_end_earliest <= expires
    assert expires <= after + timedelta(seconds=minted.lease_duration) + EXPIRY_GRACE + timedelta(
        seconds=2
    )
    assert timedelta(minutes=5) >= EXPIRY_GRACE


async def test_metadata_names_mount_role_request_and_caller(engine: Engine) -> None:
    await engine.configure()
    await engine.role(metadata={"team": "search"})
    engine.system_view.entities["ent-1"] = Entity(id="ent-1", name="alice")
    minted = await engine.creds(entity_id="ent-1")
    assert minted.data is not None
    info = engine.proxy.admin.key_info(minted.data["token"])
    metadata = info.metadata or {}
    assert metadata["vault_mount"] == "litellm/"
    assert metadata["vault_role"] == "dev"
    assert metadata["vault_entity_id"] == "ent-1"
    assert metadata["vault_request_id"]
    assert metadata["vault_backend_uuid"] == engine.backend.backend_uuid
    assert metadata["team"] == "search"
    assert info.key_alias == minted.data["key_alias"]
    assert info.models == [MODEL]


async def test_the_lease_and_storage_hold_no_raw_key(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    minted = await engine.creds()
    assert minted.data is not None
    assert minted.secret is not None
    key, token = minted.data["key"], minted.data["token"]
    internal = minted.secret.internal_data
    assert internal["token"] == token
    assert internal["role"] == "dev"
    assert internal["key_alias"] == minted.data["key_alias"]
    assert isinstance(internal["issued_at"], int)
    assert key not in json.dumps(internal)
    keys = engine.stored()
    assert key_index.INDEX_PREFIX + token in keys
    assert not [k for k in keys if k.startswith(WAL_PREFIX)], "the write-ahead entry is removed"
    for name in keys:
        entry = await engine.host.storage.get(name)
        assert entry is not None
        assert key.encode() not in entry.value


async def test_identity_templates_fill_user_and_team(engine: Engine) -> None:
    await engine.configure()
    await engine.role(
        user_id="{{identity.entity.name}}",
        team_id="team-{{identity.entity.metadata.team}}",
    )
    engine.system_view.entities["e1"] = Entity(
        id="e1",
        name="alice",
        metadata={"team": "search"},
        aliases=[Alias(mount_accessor="auth_userpass_1", name="alice")],
    )
    engine.system_view.groups["e1"] = [Group(id="g1", name="devs")]
    minted = await engine.creds(entity_id="e1")
    assert minted.data is not None
    assert minted.data["user_id"] == "alice"
    assert minted.data["team_id"] == "team-search"
    info = engine.proxy.admin.key_info(minted.data["token"])
    assert (info.user_id, info.team_id) == ("alice", "team-search")


async def test_a_template_the_caller_cannot_fill_refuses_the_mint(engine: Engine) -> None:
    await engine.configure()
    await engine.role(user_id="{{identity.entity.id}}")
    refused = await engine.host.read("creds/dev")  # a root token: no entity
    assert refused.status == 400
    assert "user_id" in refused.error
    assert "{{identity.entity.id}}" in refused.error
    assert "no entity" in refused.error
    engine.system_view.entities["e2"] = Entity(id="e2", name="bob")
    await engine.role(user_id="", team_id="{{identity.entity.metadata.team}}")
    refused = await engine.host.read("creds/dev", entity_id="e2")
    assert refused.status == 400
    assert "team_id" in refused.error
    assert not [k for k in engine.stored() if k.startswith(("wal/", "keys/"))]


async def test_unknown_role_and_missing_config_are_clean_400s(engine: Engine) -> None:
    unconfigured = await engine.host.read("creds/dev")
    assert unconfigured.status == 400
    await engine.configure()
    missing = await engine.host.read("creds/nope")
    assert missing.status == 400
    assert "nope" in missing.error


async def test_a_taken_alias_is_refused_cleanly_without_random(engine: Engine) -> None:
    await engine.configure()
    await engine.role(key_alias_template="vault-fixed-{{role}}")
    first = await engine.creds()
    second = await engine.host.read("creds/dev")
    assert second.status == 400
    assert "vault-fixed-dev" in second.error
    assert "{{random}}" in second.error
    assert len(engine.host.leases) == 1
    assert not [k for k in engine.stored() if k.startswith("wal/")]
    index = await key_index.indexed_tokens(engine.host.storage)
    assert index == {first.data["token"]}  # type: ignore[index]


async def test_the_role_ttl_and_the_mount_limits_give_the_lease(engine: Engine) -> None:
    await engine.configure()
    engine.system_view.default_ttl = timedelta(minutes=7)
    engine.system_view.max_ttl = timedelta(minutes=30)
    await engine.role("default")
    assert (await engine.creds("default")).lease_duration == 420
    await engine.role("long", ttl="2h")
    capped = await engine.creds("long")
    assert capped.lease_duration == 1800
    assert capped.data is not None
    expires = datetime.fromisoformat(capped.data["expires"])
    # Capped at the mount maximum: LiteLLM's expiry does not run past it.
    assert expires <= datetime.now(UTC) + timedelta(minutes=30, seconds=5)


async def test_an_unreachable_proxy_is_a_500_naming_it_and_leaves_nothing(
    engine: Engine,
) -> None:
    await engine.configure()
    await engine.role()
    dead = "http://127.0.0.1:9"
    assert (await engine.host.write("config", {"url": dead, "verify_connection": False})).ok
    failed = await engine.host.read("creds/dev")
    assert failed.status == 500
    assert dead in failed.error
    assert "sk-" not in failed.error
    # The proxy never got the request (connection refused), so nothing is left to undo.
    assert not [k for k in engine.stored() if k.startswith(("wal/", "keys/"))]
    assert len(engine.host.leases) == 0


async def test_the_largest_values_a_role_accepts_are_minted(engine: Engine) -> None:
    # One more and LiteLLM's database refuses the key with a 500 (tests/engine/test_roles.py).
    await engine.configure()
    await engine.role(
        max_parallel_requests=2**31 - 1,
        metadata={"control": "\x01\x1f"},
        key_request={"tpd_limit": 2**63 - 1},
    )
    minted = await engine.creds()
    assert minted.data is not None
    info = engine.proxy.admin.key_info(minted.data["token"])
    assert info.max_parallel_requests == 2**31 - 1
    assert (info.metadata or {})["control"] == "\x01\x1f"


async def test_an_enterprise_only_setting_is_a_400_that_says_so(engine: Engine) -> None:
    await engine.configure()
    await engine.role(tags="team-a")
    refused = await engine.host.read("creds/dev")
    assert refused.status == 400
    assert "Enterprise licence" in refused.error
    assert 'minting a key for role "dev"' in refused.error  # which role to fix
    assert not [k for k in engine.stored() if k.startswith(("wal/", "keys/"))]


async def test_a_refused_admin_key_is_a_403_that_says_to_fix_config(engine: Engine) -> None:
    _, admin_key = engine.proxy.new_admin_key()
    assert (await engine.host.write("config", {"url": engine.proxy.url, "admin_key": admin_key})).ok
    await engine.role()
    engine.proxy.admin.delete_keys([admin_key])
    refused = await engine.host.read("creds/dev")
    assert refused.status == 403
    assert "config" in refused.error
    assert admin_key not in refused.error


async def test_a_minted_key_may_call_llm_routes_only(engine: Engine) -> None:
    """Keys are llm_api keys unless the role says otherwise: one consumer's key cannot read
    another's details (LiteLLM 1.108 lets ownerless default keys read each other's info)."""
    await engine.configure()
    await engine.role()
    first, second = (await engine.creds()).data, (await engine.creds()).data
    assert first is not None
    assert second is not None
    key = first["key"]
    assert engine.proxy.get_as(key, "/key/info", {"key": second["token"]}) == 403
    assert engine.proxy.get_as(key, "/key/info") == 403
    assert engine.proxy.chat(key) == 200


async def test_a_huge_proxy_message_is_cut_in_the_answer(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proxy (or whatever answers at its URL) chooses the size of its error messages; the
    # host passes ours on to the caller and its audit log.
    await engine.configure()
    await engine.role()

    async def refused(self: AsyncLiteLLMClient, **fields: Any) -> Any:
        raise BadRequestError("x" * (1 << 20), status=400, maybe_processed=False)

    monkeypatch.setattr(AsyncLiteLLMClient, "generate_key", refused)
    answer = await engine.host.read("creds/dev")
    assert answer.status == 400
    assert answer.error.startswith('LiteLLM refused minting a key for role "dev": xxx')
    assert len(answer.error) < 2000


async def test_a_url_that_is_not_the_proxy_base_is_a_500_naming_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real proxy answers {"detail": "Not Found"} with 404 under a wrong base path. A 404 from
    # the host reads as "no such path" (the CLI prints "No value found" for a read and drops
    # the message): the proxy's 404 must not become the answer's status.
    await engine.configure()
    await engine.role()

    async def not_found(self: AsyncLiteLLMClient, **fields: Any) -> Any:
        raise NotFoundError("Not Found", status=404, maybe_processed=False)

    monkeypatch.setattr(AsyncLiteLLMClient, "generate_key", not_found)
    failed = await engine.host.read("creds/dev")
    assert failed.status == 500
    assert engine.proxy.url in failed.error
    assert "base URL" in failed.error
