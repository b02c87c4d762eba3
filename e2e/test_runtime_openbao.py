"""The plugin runtime proven on a real OpenBao: the example plugin registered and exercised
through the HTTP API, on the oldest and the newest OpenBao on PyPI."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest

from e2e.conftest import ExampleEnv
from e2e.openbao import wait_until

# The example plugin on dev servers these tests start, kill into and read the logs of: never
# against an external server.
pytestmark = [pytest.mark.openbao, pytest.mark.local_server]


def events(env: ExampleEnv, **match: Any) -> list[dict[str, Any]]:
    if not env.events_path.exists():
        return []
    out = []
    for line in env.events_path.read_text().splitlines():
        event: dict[str, Any] = json.loads(line)
        if all(event.get(k) == v for k, v in match.items()):
            out.append(event)
    return out


def wait_event(env: ExampleEnv, timeout: float = 20, **match: Any) -> dict[str, Any]:
    found = wait_until(lambda: events(env, **match), timeout=timeout)
    assert found, f"no plugin event {match} within {timeout} s; events: {events(env)}"
    return found[0]


def test_two_mounts_share_one_process_with_isolated_storage(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("iso-a")
    env.mount("iso-b")
    bao.ok(bao.write("iso-a/kv/shared", {"value": "from-a"}))
    assert bao.read("iso-b/kv/shared").status == 404
    bao.ok(bao.write("iso-b/kv/shared", {"value": "from-b"}))
    assert bao.read("iso-a/kv/shared").data["value"] == "from-a"
    assert bao.read("iso-b/kv/shared").data["value"] == "from-b"
    assert len(env.pids()) == 1, "both mounts should be served by one multiplexed process"


def test_write_read_list_patch_delete(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("crud")
    # The first write is a create (existence check: absent), the second an update that keeps
    # the fields it does not name.
    assert bao.write("crud/kv/alpha", {"value": "one", "count": 2, "tags": "a, b"}).status == 204
    assert bao.write("crud/kv/alpha", {"count": "3"}).status == 204
    bao.ok(bao.write("crud/kv/beta", {"value": "two"}))
    alpha = bao.read("crud/kv/alpha").data
    assert alpha == {"name": "alpha", "value": "one", "count": 3, "tags": ["a", "b"]}
    assert bao.list("crud/kv").data["keys"] == ["alpha", "beta"]
    assert bao.patch("crud/kv/alpha", {"value": "patched"}).status == 204
    assert bao.read("crud/kv/alpha").data["value"] == "patched"
    assert bao.delete("crud/kv/alpha").status == 204
    assert bao.read("crud/kv/alpha").status == 404
    assert bao.list("crud/kv").data["keys"] == ["beta"]


def test_bad_request_is_a_400_naming_the_field(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("bad")
    resp = bao.write("bad/kv/x", {"count": "abc"})
    assert resp.status == 400, resp.body
    assert any('"count"' in err or "count" in err for err in resp.errors), resp.errors
    assert bao.read("bad/kv/x").status == 404, "nothing may be half-written"
    # Unknown paths and operations get the host's own statuses.
    assert bao.read("bad/no-such-path").status == 404
    assert bao.delete("bad/const").status == 405


def test_lease_issue_renew_revoke_reach_the_plugin(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("leases")
    bao.ok(bao.write("leases/config", {"default_ttl": "60s", "max_ttl": "1h"}))
    issued = bao.read("leases/lease/alpha")
    assert issued.status == 200, issued.body
    lease_id = issued.body["lease_id"]
    assert lease_id.startswith("leases/lease/alpha/")
    assert issued.body["lease_duration"] == 60
    assert issued.body["renewable"] is True
    serial = issued.data["serial"]

    renewed = bao.write("sys/leases/renew", {"lease_id": lease_id, "increment": 30})
    assert renewed.status == 200, renewed.body
    assert renewed.body["lease_duration"] == 30
    wait_event(env, event="renew", lease=serial)

    assert bao.write("sys/leases/revoke", {"lease_id": lease_id}).status == 204
    event = wait_event(env, event="revoke", lease=serial)
    assert event["mount"] == "leases/"
    assert bao.list("leases/revoked").data["keys"] == ["alpha/"]
    assert bao.write("sys/leases/lookup", {"lease_id": lease_id}).status == 400


def test_lease_ttl_is_capped_by_the_lease_max(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("capped")
    issued = bao.read("capped/lease/c", ttl="600", max_ttl="5")
    assert issued.status == 200, issued.body
    assert 0 < issued.body["lease_duration"] <= 5


def test_expiry_revokes_through_the_plugin(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("expiry")
    issued = bao.read("expiry/lease/short", ttl="2")
    assert issued.body["lease_duration"] == 2
    wait_event(env, timeout=30, event="revoke", lease=issued.data["serial"])


def test_unmount_revokes_through_the_plugin(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("gone")
    serial = bao.read("gone/lease/g").data["serial"]
    assert bao.delete("sys/mounts/gone").status == 204
    wait_event(env, event="revoke", lease=serial, mount="gone/")


def test_path_help_on_every_kind_of_path(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("helped")
    for path, needle in [
        ("helped/kv/some-entry", "Manage one entry"),
        ("helped/config", "Configure lease TTLs"),
        ("helped/lease/x", "Issue a renewable lease"),
        ("helped", "leased key/value store"),
    ]:
        resp = bao.help(path)
        assert resp.status == 200, (path, resp.body)
        assert needle in resp.body["help"], (path, resp.body["help"][:300])


def test_openapi_document_lists_the_mount(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("documented")
    doc = bao.read("sys/internal/specs/openapi").body
    paths = doc["paths"]
    entry = paths["/documented/kv/{name}"]
    assert "Manage one entry" in entry.get("description", "")
    params = {p["name"]: p for p in entry["parameters"]}
    assert params["name"]["in"] == "path"
    assert params["name"]["required"] is True
    props = entry["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert props["count"]["type"] == "integer"
    assert props["count"]["description"] == "A number kept with the entry."
    assert "/documented/config" in paths
    assert "/documented/lease/{name}" in paths


def test_kill_9_is_followed_by_a_transparent_restart(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("crash")
    bao.ok(bao.write("crash/kv/keep", {"value": "kept"}))
    (pid,) = env.pids()
    offset = len(env.server.log_text())
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10)
    env.server.wait_for_log("plugin process exited", after=offset)
    # go-plugin logs the exit a moment before it marks its client exited: a request in
    # between reaches the dead socket (so would a Go plugin's). Once marked, a request finds
    # the plugin shut down, and the host restarts it and retries the request once.
    resp = bao.read("crash/kv/keep")
    deadline = time.monotonic() + 15  # a bound on a hang, not a measurement
    while resp.status != 200 and time.monotonic() < deadline:
        assert "connection refused" in str(resp.errors), resp.body
        time.sleep(0.1)
        resp = bao.read("crash/kv/keep")
    assert resp.status == 200, resp.body
    assert resp.data["value"] == "kept"
    new = env.pids()
    assert new
    assert pid not in new


def test_plugin_reload(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("reloaded")
    bao.ok(bao.write("reloaded/kv/keep", {"value": "kept"}))
    before = env.pids()
    resp = bao.write("sys/plugins/reload/backend", {"plugin": env.name})
    assert resp.status in (200, 204), resp.body
    assert wait_until(lambda: not set(before) & set(env.pids()), timeout=10)
    assert bao.read("reloaded/kv/keep").data["value"] == "kept"
    after = env.pids()
    assert after
    assert not set(before) & set(after)


def test_wal_rollback_runs_in_the_plugin(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("walled")
    written = bao.write("walled/wal-demo", {"value": "undo-me"})
    assert written.status == 200, written.body
    assert bao.read("walled/wal-demo").data["pending"] == [written.data["wal_id"]]
    time.sleep(1.2)  # the minimum age before rollback, set to 1 s for the tests
    # A remount runs a rollback tick on the mount (the periodic one comes every 60 s).
    assert bao.write("sys/remount", {"from": "walled", "to": "walled-2"}).status in (200, 204)
    wait_event(env, event="rollback", value="undo-me")
    state = wait_until(lambda: bao.read("walled-2/wal-demo").data, timeout=10)
    assert state["pending"] == []
    assert [r["value"] for r in state["rolled_back"]] == ["undo-me"]


def test_plugin_logs_reach_the_host_at_their_level(example_env: ExampleEnv) -> None:
    log = example_env.server.log_text()
    serving = [line for line in log.splitlines() if "plugin serving" in line]
    assert serving
    assert all("[INFO]" in line for line in serving), serving[:3]
    assert f"secrets.{example_env.name}" in serving[0]
    # A line the host could not parse as hclog JSON would be logged raw, keys and all.
    assert '"@level"' not in log
    assert '"@message"' not in log


def test_disabling_the_last_mount_stops_the_process(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    assert env.pids(), "the earlier tests leave mounts behind"
    mounts = bao.read("sys/mounts").data
    for path, info in mounts.items():
        if info["type"] == env.name:
            assert bao.delete(f"sys/mounts/{path}").status == 204
    assert wait_until(lambda: not env.pids(), timeout=10), env.pids()
    # The plugin starts again on demand.
    env.mount("again")
    assert env.bao.read("again/const").data["const"] is True


def test_the_catalog_records_the_version_the_plugin_reports(example_env: ExampleEnv) -> None:
    from vault_plugin_litellm import __version__

    # Registered without a version, the entry takes the one the plugin reports.
    catalog = example_env.bao.read("sys/plugins/catalog")
    assert catalog.status == 200, catalog.body
    entries = [e for e in catalog.data["detailed"] if e["name"] == example_env.name]
    assert [e["version"] for e in entries] == [f"v{__version__}"]
    pinned = example_env.bao.read(
        f"sys/plugins/catalog/secret/{example_env.name}", version=f"v{__version__}"
    )
    assert pinned.status == 200, pinned.body


def test_special_paths_reach_the_host(example_env: ExampleEnv) -> None:
    env, bao = example_env, example_env.bao
    env.mount("special")
    # unauthenticated: answered with no token at all, and the plugin is told so.
    anonymous = bao.request("GET", "special/public/ping", token="")
    assert anonymous.status == 200, anonymous.body
    assert anonymous.data == {"pong": True, "unauthenticated": True}
    # root: a token with every capability but sudo is refused; the root token is not.
    policy = 'path "special/*" { capabilities = ["create", "read", "update", "delete", "list"] }'
    bao.ok(bao.write("sys/policies/acl/no-sudo", {"policy": policy}))
    created = bao.write("auth/token/create", {"policies": ["no-sudo"]})
    user_token = created.body["auth"]["client_token"]
    assert bao.request("POST", "special/admin/reset-stats", {}, token=user_token).status == 403
    assert bao.request("GET", "special/stats", token=user_token).status == 200
    assert bao.write("special/admin/reset-stats").status == 204
