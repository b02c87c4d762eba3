"""The example plugin's backend, driven in process through the host emulation."""

from __future__ import annotations

import json
import pathlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vault_plugin_litellm.sdk.framework.testing import BackendHarness
from vault_plugin_litellm.sdk.logical import (
    InMemoryStorage,
    LogicalBackend,
    Operation,
    StaticSystemView,
    StorageEntry,
)

from e2e.example_plugin.backend import ExampleBackend, factory
from e2e.example_plugin.common import REVOCATION_LOG_ENV
from e2e.example_plugin.path_wal import WAL_MIN_AGE_ENV
from e2e.example_plugin.secret_lease import LEASE_TYPE

START = datetime(2030, 1, 1, tzinfo=UTC)


class CountingStorage(InMemoryStorage):
    """Counts storage calls, to hold the benchmark paths to their promised cost."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.calls = 0

    async def get(self, key: str) -> StorageEntry | None:
        self.gets += 1
        self.calls += 1
        return await super().get(key)

    async def put(self, entry: StorageEntry) -> None:
        self.calls += 1
        await super().put(entry)

    async def list(self, prefix: str) -> list[str]:
        self.calls += 1
        return await super().list(prefix)


async def start(
    storage: InMemoryStorage | None = None, *, frozen: bool = True, **kw: Any
) -> BackendHarness:
    """A mounted example backend at a fixed harness time (``frozen=False``: wall-clock
    time), moved on only by ``advance``; WAL entries are stamped by the same clock."""
    system = StaticSystemView(default_ttl=timedelta(hours=1), max_ttl=timedelta(hours=4))
    return await BackendHarness(
        factory,
        storage=storage,
        system_view=system,
        clock=(lambda: START) if frozen else None,
        mount_point="example/",
        **kw,
    ).start()


def test_factory_makes_fresh_logical_backends() -> None:
    first, second = factory(), factory()
    assert first is not second
    assert isinstance(first, LogicalBackend)


async def test_const_reads_no_storage() -> None:
    storage = CountingStorage()
    harness = await start(storage)
    response = await harness.read("const")
    assert (response.status, response.data) == (
        200,
        {"const": True, "plugin": "example", "version": "0.1.0"},
    )
    assert storage.calls == 0


async def test_config_create_read_update_delete() -> None:
    storage = CountingStorage()
    harness = await start(storage)
    assert (await harness.read("config")).status == 404
    created = await harness.write("config", {"default_ttl": "30m", "max_ttl": "2h"})
    assert (created.status, created.operation) == (204, Operation.CREATE)
    storage.gets = 0
    read = await harness.read("config")
    assert storage.gets == 1  # the "one Get" benchmark path
    assert read.data == {
        "default_ttl": 1800,
        "max_ttl": 7200,
        "greeting": "hello",
        "wal_min_age": 0,
    }
    updated = await harness.write("config", {"greeting": "hi"})
    assert updated.operation is Operation.UPDATE
    assert (await harness.read("config")).data == {
        "default_ttl": 1800,
        "max_ttl": 7200,
        "greeting": "hi",
        "wal_min_age": 0,
    }
    refused = await harness.write("config", {"default_ttl": "3h"})
    assert (refused.status, refused.errors) == (
        400,
        ["default_ttl must not be greater than max_ttl"],
    )
    assert (await harness.delete("config")).status == 204
    assert (await harness.read("config")).status == 404


async def test_config_field_errors_are_400s_naming_the_field() -> None:
    harness = await start()
    response = await harness.write("config", {"max_ttl": "soon"})
    assert response.status == 400
    assert response.error.startswith('error converting input for field "max_ttl": ')


async def test_kv_crud_list_and_patch() -> None:
    harness = await start()
    created = await harness.write("kv/app", {"value": "v1", "count": "010", "tags": "a, b"})
    assert (created.status, created.operation) == (204, Operation.CREATE)
    read = await harness.read("kv/app")
    assert read.data == {"name": "app", "value": "v1", "count": 8, "tags": ["a", "b"]}
    await harness.write("kv/app", {"count": 3})
    assert (await harness.read("kv/app")).data == {
        "name": "app",
        "value": "v1",
        "count": 3,
        "tags": ["a", "b"],
    }
    assert (await harness.patch("kv/app", {"value": "v2", "tags": None, "name": "x"})).status == 204
    assert (await harness.read("kv/app")).data == {
        "name": "app",
        "value": "v2",
        "count": 3,
        "tags": [],
    }
    missing = await harness.patch("kv/none", {"value": "x"})
    assert (missing.status, missing.errors) == (404, ['no entry named "none"'])
    await harness.write("kv/other", {})
    assert (await harness.list("kv")).data == {"keys": ["app", "other"]}
    assert (await harness.list("kv/")).data == {"keys": ["app", "other"]}
    assert (await harness.delete("kv/app")).status == 204
    assert (await harness.read("kv/app")).status == 404


async def test_kv_bad_count_is_a_400_naming_count() -> None:
    harness = await start()
    response = await harness.write("kv/app", {"count": "abc"})
    assert response.status == 400
    assert response.error.startswith('error converting input for field "count": "abc"')
    read = await harness.read("kv/app", {"count": "abc"})
    assert read.status == 400
    assert read.error.startswith(
        'Field validation failed: error converting input for field "count"'
    )


async def test_kv_warnings_for_ignored_and_captured_parameters() -> None:
    harness = await start()
    await harness.write("kv/app", {"value": "v"})
    response = await harness.read("kv/app", {"name": "other", "bogus": "1"})
    assert response.warnings == [
        "Endpoint ignored these unrecognized parameters: [bogus]",
        "Endpoint replaced the value of these parameters with the values captured from the "
        "endpoint's path: [name]",
    ]


async def test_unknown_paths_and_operations() -> None:
    harness = await start()
    assert (await harness.read("nowhere")).status == 404
    assert (await harness.delete("const")).status == 405
    assert (await harness.read("kv/bad name")).status == 404


async def test_leases_issue_renew_revoke_with_events(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv(REVOCATION_LOG_ENV, str(log))
    harness = await start()
    await harness.write("config", {"default_ttl": "10m", "max_ttl": "1h", "greeting": "yo"})
    issued = await harness.read("lease/app")
    assert (issued.status, issued.lease_duration, issued.renewable) == (200, 600, True)
    assert issued.data is not None
    assert issued.data["greeting"] == "yo"
    assert issued.secret is not None
    internal = issued.secret.internal_data
    assert internal == {"name": "app", "serial": issued.data["serial"], "secret_type": LEASE_TYPE}
    assert issued.secret.lease_options.max_ttl == timedelta(hours=1)

    harness.advance(timedelta(minutes=9))
    assert (await harness.renew(issued.lease_id)).lease_duration == 600  # the config TTL
    renewed = await harness.renew(issued.lease_id, increment=3600)
    assert renewed.lease_duration == 51 * 60  # capped by the 1h maximum since issue
    assert renewed.data is not None
    assert renewed.data["serial"] == issued.data["serial"]  # data survives the renewal

    revoked = await harness.revoke(issued.lease_id)
    assert revoked.status == 204
    names = await harness.list("revoked")
    assert names.data == {"keys": ["app/"]}
    serials = await harness.list("revoked/app")
    assert serials.data == {"keys": [issued.data["serial"]]}

    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events] == ["renew", "renew", "revoke"]
    for event in events:
        assert event["name"] == "app"
        assert event["mount"] == "example/"
        assert event["lease"] == issued.data["serial"]
    assert events[0]["lease_id"] == ""  # the host sends no lease id before a renewal
    assert events[2]["lease_id"] == issued.lease_id


async def test_request_ttls_override_config_and_expiry_revokes(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv(REVOCATION_LOG_ENV, str(log))
    harness = await start()
    short = await harness.read("lease/a", {"ttl": "60"})
    assert short.lease_duration == 60
    long = await harness.read("lease/b", {"ttl": "10h"})
    assert long.lease_duration == 4 * 3600  # mount maximum
    harness.advance(timedelta(minutes=2))
    assert [r.status for r in await harness.expire()] == [204]
    await harness.unmount()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["event"], e["name"]) for e in events] == [("revoke", "a"), ("revoke", "b")]
    assert harness.leases == {}


async def test_wal_demo_rollback(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv(REVOCATION_LOG_ENV, str(log))
    harness = await start()  # years away from the wall clock: only the harness's counts
    await harness.write("config", {"wal_min_age": "30s"})
    written = await harness.write("wal-demo", {"value": "half-done"})
    assert written.status == 200
    assert written.data is not None
    committed = await harness.write("wal-demo", {"value": "done", "commit": True})
    assert committed.data is not None
    assert committed.data["committed"] is True
    state = await harness.read("wal-demo")
    assert state.data == {"pending": [written.data["wal_id"]], "rolled_back": []}

    assert (await harness.rollback()).status == 204  # too young
    assert (await harness.read("wal-demo")).data["pending"] == [written.data["wal_id"]]  # type: ignore[index]
    harness.advance(timedelta(seconds=31))
    assert (await harness.rollback()).status == 204
    state = await harness.read("wal-demo")
    assert state.data is not None
    assert state.data["pending"] == []
    assert [r["value"] for r in state.data["rolled_back"]] == ["half-done"]
    stats = await harness.read("stats")
    assert stats.data is not None
    assert (stats.data["ticks"], stats.data["wal_rollbacks"], stats.data["wal_min_age"]) == (
        2,
        1,
        30,
    )
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events == [
        {"event": "rollback", "kind": "demo", "value": "half-done", "mount": "example/"}
    ]


async def test_failed_wal_rollback_is_an_ignored_error_response() -> None:
    harness = await start()
    await harness.write("wal-demo", {"value": "x", "kind": "fail"})
    response = await harness.rollback(immediate=True)
    assert response.status == 400  # an error response, which the host ignores
    assert response.error == "error rolling back \"fail\" entry: cannot roll back a 'fail' entry"
    assert len((await harness.read("wal-demo")).data["pending"]) == 1  # type: ignore[index]


async def test_wal_min_age_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WAL_MIN_AGE_ENV, "2")
    harness = await start()
    backend = harness.backend
    assert isinstance(backend, ExampleBackend)
    assert backend.wal_rollback_min_age == timedelta(seconds=2)
    await harness.write("config", {"wal_min_age": "1h"})
    await harness.rollback()
    assert backend.wal_rollback_min_age == timedelta(seconds=2)  # the environment wins


async def test_help_on_every_path() -> None:
    harness = await start()
    root = await harness.help("")
    assert root.status == 200
    assert root.data is not None
    assert set(root.data) == {"help", "see_also", "openapi"}
    assert "## PATHS" in root.data["help"]
    paths = set(root.data["openapi"]["paths"])
    assert paths == {
        "/const",
        "/config",
        "/kv",
        "/kv/{name}",
        "/lease/{name}",
        "/revoked",
        "/revoked/{name}",
        "/wal-demo",
        "/stats",
        "/public/ping",
        "/admin/reset-stats",
    }
    for path in (
        "const",
        "config",
        "kv",
        "kv/x",
        "lease/x",
        "revoked",
        "revoked/x",
        "wal-demo",
        "stats",
        "public/ping",
        "admin/reset-stats",
    ):
        page = await harness.help(path)
        assert page.status == 200, path
        assert page.data is not None
        assert page.data["help"].startswith(f"Request:        {path}\nMatching Route: ^")
        assert "<no synopsis>" not in page.data["help"]


async def test_special_paths_are_declared_for_the_host() -> None:
    harness = await start()
    paths = harness.backend.special_paths()
    assert paths.root == ["admin/*"]
    assert paths.unauthenticated == ["public/*"]
    # The OpenAPI document marks them as the host will treat them.
    doc = (await harness.help("")).data
    assert doc is not None
    assert doc["openapi"]["paths"]["/admin/reset-stats"]["x-vault-sudo"] is True
    assert doc["openapi"]["paths"]["/public/ping"]["x-vault-unauthenticated"] is True
