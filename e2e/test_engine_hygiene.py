"""Secrets hygiene of the LiteLLM engine with everything logged at trace level.

A dev server runs at ``-log-level=trace`` with ``PLUGIN_LOG_LEVEL=trace`` in its environment
(the server's environment reaches the plugin, whose stderr lands in the server's log). One full
lifecycle follows: config first with the master key and then with a proxy_admin virtual key,
a role, creds, a renewal, rotate-root, revocations, tidy, and a revocation that fails while the
proxy is unreachable and succeeds once it is back. Afterwards no raw LiteLLM key (every key
minted, the admin keys old and new, the master key) and no PEM private key may appear in the
server's log or in the mount's storage read back through ``sys/raw``; the admin key in use
appears exactly once, in the seal-wrapped ``config`` entry (a dev server has no seal wrapping,
so its raw reads return that entry decrypted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.conftest import openbao_versions, say_past_capture
from e2e.engine_env import ENGINE_NAME, EngineTarget, LiteLLM, Mount, install_engine
from e2e.openbao import Bao, OpenBaoServer, bao_binary, register_plugin

pytestmark = [pytest.mark.openbao, pytest.mark.local_server]

UNREACHABLE = "http://127.0.0.1:1"
KEY_SHAPE = re.compile(r"(?<![\w-])sk-[\w-]{8,}")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


@pytest.fixture(scope="module", params=openbao_versions(), ids=lambda v: f"openbao-{v}")
def traced(
    request: pytest.FixtureRequest, litellm: LiteLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineTarget]:
    """A dev server and its plugin, both logging at trace level, with the engine registered."""
    bao_binary(request.param, say=say_past_capture(request.config))
    workdir = tmp_path_factory.mktemp(f"hygiene-{request.param}")
    server = OpenBaoServer(
        workdir, version=request.param, env={"PLUGIN_LOG_LEVEL": "trace"}, log_level="trace"
    )
    server.start()
    try:
        bao = server.client()
        launcher = install_engine(server.plugin_dir)
        register_plugin(bao, ENGINE_NAME, launcher.sha256, launcher.command)
        yield EngineTarget(bao, server.plugin_dir, request.param, litellm, server, launcher)
    finally:
        server.stop()


def raw_storage(bao: Bao, prefix: str) -> dict[str, str]:
    """Every entry under ``prefix`` of the barrier, by its key relative to ``prefix``."""
    entries: dict[str, str] = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        listed = bao.list(f"sys/raw/{prefix}{folder}")
        if listed.status == 404:
            continue
        for name in bao.ok(listed)["keys"]:
            if name.endswith("/"):
                pending.append(folder + name)
                continue
            read = bao.ok(bao.read(f"sys/raw/{prefix}{folder}{name}"))
            entries[folder + name] = str(read["value"])
    return entries


def lease(mount: Mount) -> dict[str, Any]:
    body: dict[str, Any] = mount.creds().body
    return body


def revoke(bao: Bao, lease_id: str) -> Any:
    return bao.write("sys/leases/revoke", {"lease_id": lease_id, "sync": True})


def test_no_key_reaches_the_log_or_storage_at_trace_level(traced: EngineTarget) -> None:
    litellm, bao = traced.litellm, traced.bao
    server = traced.server
    assert server is not None
    admin_user, old_admin_key = litellm.new_admin_key()
    mount = traced.mount()
    minted: list[str] = []
    try:
        mount.configure()  # the master key first: nothing of it may stay behind
        mount.configure(admin_key=old_admin_key)
        config = mount.ok(bao.read(f"{mount.path}/config")).body["data"]
        assert config["admin_key_type"] == "virtual_key", config
        mount.role("dev", ttl="10m", max_ttl="1h")

        first, second = lease(mount), lease(mount)
        renewed = bao.write("sys/leases/renew", {"lease_id": first["lease_id"], "increment": 1800})
        assert renewed.status == 200, renewed.body
        rotated = mount.ok(bao.write(f"{mount.path}/rotate-root", {})).body["data"]
        assert rotated["previous_key_deleted"] is True, rotated
        assert rotated["admin_user_id"] == admin_user
        third = lease(mount)
        minted += [issued["data"]["key"] for issued in (first, second, third)]
        assert mount.ok(revoke(bao, first["lease_id"])).status == 204
        tidy = mount.ok(bao.write(f"{mount.path}/tidy", {"safety_buffer": 0})).body["data"]
        assert tidy["complete"] is True, tidy

        # The proxy goes away: the revocation fails, is remembered, and succeeds once it is back.
        mount.ok(
            bao.write(f"{mount.path}/config", {"url": UNREACHABLE, "verify_connection": False})
        )
        failed = revoke(bao, second["lease_id"])
        assert failed.status >= 400, failed.body
        assert UNREACHABLE in json.dumps(failed.body)
        owed = mount.ok(bao.list(f"sys/raw/logical/{mount.backend_uuid()}/revocations/"))
        assert owed.data["keys"] == [second["data"]["token"]]
        mount.ok(bao.write(f"{mount.path}/config", {"url": litellm.plugin_url}))
        assert mount.ok(revoke(bao, second["lease_id"])).status == 204
        assert mount.ok(revoke(bao, third["lease_id"])).status == 204
        tidy = mount.ok(bao.write(f"{mount.path}/tidy", {"safety_buffer": 0})).body["data"]
        assert tidy["complete"] is True, tidy
        for issued in (first, second, third):
            assert litellm.status(issued["data"]["token"]) in ("deleted", "missing")

        stored = raw_storage(bao, f"logical/{mount.backend_uuid()}/")
        new_admin_key = json.loads(stored["config"])["admin_key"]
        assert new_admin_key.startswith("sk-")
        assert new_admin_key != old_admin_key
    finally:
        mount.unmount()
        leftovers = [k.token for k in litellm.admin.list_keys(user_id=admin_user) if k.token]
        if leftovers:
            litellm.admin.delete_keys(leftovers, missing_ok=True)

    assert not [name for name in stored if name.startswith(("revocations/", "wal/"))], stored
    log = server.log_text()
    # The trace level reached the plugin: its debug lines are in the log (hclog JSON lines
    # come out as "[DEBUG] secrets.<plugin>.<accessor>.<plugin>.<command>: ...").
    assert "[TRACE]" in log
    assert re.search(r"\[DEBUG\]\s+secrets\.litellm\.\S+: ", log), "no plugin debug lines"

    secrets = {
        "the master key": litellm.master_key,
        "the old admin key": old_admin_key,
        "the new admin key": new_admin_key,
        **{f"minted key {i}": key for i, key in enumerate(minted, 1)},
    }
    for what, secret in secrets.items():
        assert secret not in log, f"{what} is in the server's log"
        holders = [name for name, value in stored.items() if secret in value]
        expected = ["config"] if secret == new_admin_key else []
        assert holders == expected, f"{what} is stored in {holders}"
    for name, value in stored.items():
        assert not PRIVATE_KEY.search(value), f"a private key is stored in {name}"
        if name != "config":
            assert not KEY_SHAPE.search(value), f"something shaped like a key is in {name}"
    assert not PRIVATE_KEY.search(log), "a private key is in the server's log"
    shaped = set(KEY_SHAPE.findall(log))
    assert not shaped, f"strings shaped like LiteLLM keys are in the server's log: {shaped}"


def test_the_admin_key_is_refused_in_no_message(traced: EngineTarget) -> None:
    """A refused admin key never comes back in an answer or the log, whatever its shape."""
    server = traced.server
    assert server is not None
    mount = traced.mount()
    try:
        wrong = "sk-hygiene-" + "Z" * 30
        for body in (
            {"url": traced.litellm.plugin_url, "admin_key": wrong},
            {"url": UNREACHABLE, "admin_key": wrong},
            {"url": traced.litellm.plugin_url, "admin_key": wrong + " \x00"},
        ):
            refused = traced.bao.write(f"{mount.path}/config", body)
            assert refused.status == 400, refused.body
            assert wrong not in json.dumps(refused.body)
    finally:
        mount.unmount()
    assert wrong not in server.log_text(), "a refused admin key is in the server's log"
