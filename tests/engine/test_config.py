"""``config``: verified on write, partial updates, never echoes the key, cached in memory."""

from __future__ import annotations

import json

import pytest
from vault_plugin_litellm.engine.config import CONFIG_KEY
from vault_plugin_litellm.sdk.logical import StorageEntry

from .conftest import Engine

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens there


async def test_first_write_needs_url_and_admin_key(engine: Engine) -> None:
    missing_key = await engine.host.write("config", {"url": engine.proxy.url})
    assert missing_key.status == 400
    assert missing_key.error.startswith("admin_key:")
    missing_url = await engine.host.write("config", {"admin_key": engine.proxy.master_key})
    assert missing_url.status == 400
    assert missing_url.error.startswith("url:")
    assert (await engine.host.read("config")).status == 404


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"url": "ftp://proxy:4000"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://user:pw@proxy:4000"}, "url"),
        ({"url": "http://proxy:4000/?x=1"}, "url"),
        ({"url": "http://p/" + "a" * 3000}, "url"),
        ({"admin_key": "master"}, "admin_key"),
        ({"admin_key": "sk-with space"}, "admin_key"),
        ({"admin_key": "sk-" + "a" * 2000}, "admin_key"),
        ({"ca_cert": "not a pem"}, "ca_cert"),
        (
            {"ca_cert": "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"},
            "ca_cert",
        ),
        ({"timeout": "0s"}, "timeout"),
        ({"timeout": "10m"}, "timeout"),
        ({"tidy_interval": "30s"}, "tidy_interval"),
        ({"timeout": "soon"}, "timeout"),
        ({"verify_connection": "maybe"}, "verify_connection"),
    ],
)
async def test_bad_values_are_refused_naming_the_field(
    engine: Engine, fields: dict[str, str], named: str
) -> None:
    body = {"url": engine.proxy.url, "admin_key": engine.proxy.master_key, **fields}
    response = await engine.host.write("config", body)
    assert response.status == 400
    assert f'"{named}"' in response.error or response.error.startswith(f"{named}:")
    assert "sk-" + "a" * 20 not in response.error
    assert (await engine.host.read("config")).status == 404


async def test_master_key_is_accepted_with_a_warning_and_never_returned(engine: Engine) -> None:
    written = await engine.configure()
    assert any("master key" in w for w in written.warnings)
    read = await engine.host.read("config")
    assert read.data is not None
    assert "admin_key" not in read.data
    assert engine.proxy.master_key not in json.dumps(read.data)
    assert read.data["admin_key_type"] == "master_key"
    assert read.data["url"] == engine.proxy.url
    assert read.data["timeout"] == 30
    assert read.data["verify_connection"] is True


async def test_a_proxy_admin_virtual_key_is_recognised(engine: Engine) -> None:
    user_id, key = engine.proxy.new_admin_key()
    try:
        written = await engine.host.write("config", {"url": engine.proxy.url, "admin_key": key})
        assert written.ok, written.errors
        assert not any("master key" in w for w in written.warnings)
        data = (await engine.host.read("config")).data
        assert data is not None
        assert data["admin_key_type"] == "virtual_key"
        assert data["admin_user_id"] == user_id
    finally:
        engine.proxy.admin.delete_keys([key], missing_ok=True)


async def test_a_refused_key_is_not_stored_and_the_proxy_says_why(engine: Engine) -> None:
    response = await engine.host.write(
        "config", {"url": engine.proxy.url, "admin_key": "sk-not-a-real-key-0000000000"}
    )
    assert response.status == 400
    assert response.error.startswith("config not stored:")
    assert "401" in response.error or "Authentication" in response.error
    assert "sk-not-a-real-key" not in response.error
    assert (await engine.host.read("config")).status == 404


async def test_a_key_that_is_not_an_admin_is_refused(engine: Engine) -> None:
    minted = engine.proxy.admin.generate_key(models=["fake-gpt"], duration="10m")
    assert minted.key is not None
    try:
        response = await engine.host.write(
            "config", {"url": engine.proxy.url, "admin_key": minted.key}
        )
        assert response.status == 400
        assert "admin" in response.error.lower()
    finally:
        engine.proxy.admin.delete_keys([minted.token], missing_ok=True)


async def test_an_unreachable_proxy_is_refused_unless_verification_is_off(engine: Engine) -> None:
    body = {"url": DEAD_URL, "admin_key": engine.proxy.master_key}
    refused = await engine.host.write("config", body)
    assert refused.status == 400
    assert DEAD_URL in refused.error
    accepted = await engine.host.write("config", {**body, "verify_connection": False})
    assert accepted.ok
    data = (await engine.host.read("config")).data
    assert data is not None
    assert data["admin_key_type"] == "unverified"
    assert data["verify_connection"] is False


async def test_partial_writes_keep_the_other_fields(engine: Engine) -> None:
    await engine.configure(timeout="12s", tidy_interval="1h")
    assert (await engine.host.write("config", {"timeout": "20s"})).ok
    data = (await engine.host.read("config")).data
    assert data is not None
    assert data["timeout"] == 20
    assert data["tidy_interval"] == 3600
    assert data["url"] == engine.proxy.url
    stored = await engine.host.storage.get(CONFIG_KEY)
    assert stored is not None
    assert json.loads(stored.value)["admin_key"] == engine.proxy.master_key


async def test_config_is_seal_wrapped_and_the_only_place_holding_the_key(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    await engine.creds()
    stored = await engine.host.storage.get(CONFIG_KEY)
    assert stored is not None
    assert stored.seal_wrap
    assert engine.backend.special_paths().seal_wrap_storage == [CONFIG_KEY]
    for key in engine.stored():
        if key == CONFIG_KEY:
            continue
        entry = await engine.host.storage.get(key)
        assert entry is not None
        assert engine.proxy.master_key.encode() not in entry.value, key


class CountingStorage:
    """Counts storage reads, to prove hot reads come from memory."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.gets: list[str] = []

    async def get(self, key: str) -> StorageEntry | None:
        self.gets.append(key)
        return await self.inner.get(key)  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_reads_come_from_memory_until_invalidated(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    counting = CountingStorage(engine.host.storage)
    engine.host.storage = counting  # type: ignore[assignment]
    await engine.creds()
    await engine.creds()
    assert CONFIG_KEY not in counting.gets
    assert "roles/dev" not in counting.gets
    await engine.host.invalidate(CONFIG_KEY)
    await engine.host.invalidate("roles/dev")
    await engine.creds()
    assert counting.gets.count(CONFIG_KEY) == 1
    assert counting.gets.count("roles/dev") == 1


async def test_invalidation_picks_up_a_change_made_elsewhere(engine: Engine) -> None:
    await engine.configure()
    stored = await engine.host.storage.get(CONFIG_KEY)
    assert stored is not None
    changed = json.loads(stored.value)
    changed["url"] = DEAD_URL
    # Another node wrote this; only InvalidateKey tells this one.
    await engine.host.storage.put(StorageEntry(CONFIG_KEY, json.dumps(changed).encode(), True))
    assert (await engine.host.read("config")).data["url"] == engine.proxy.url  # type: ignore[index]
    await engine.host.invalidate(CONFIG_KEY)
    assert (await engine.host.read("config")).data["url"] == DEAD_URL  # type: ignore[index]


async def test_delete_forgets_the_connection(engine: Engine) -> None:
    await engine.configure()
    await engine.role()
    assert (await engine.host.delete("config")).ok
    assert (await engine.host.read("config")).status == 404
    refused = await engine.host.read("creds/dev")
    assert refused.status == 400
    assert "not configured" in refused.error
