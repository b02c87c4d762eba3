"""The LiteLLM engine end to end: a real OpenBao (2.6.1 and 2.7.2) runs the plugin, which
mints keys in a LiteLLM proxy (the stand-in, or with ``-m live`` a real one)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.engine_env import MODEL, OTHER_MODEL, EngineTarget, Mount
from e2e.openbao import Bao, wait_until

pytestmark = pytest.mark.openbao


def _expires(mount: Mount, token: str) -> datetime:
    info = mount.target.litellm.admin.key_info(token)
    assert info.expires is not None
    return info.expires


def test_full_lifecycle(engine_mount: Mount) -> None:
    mount, litellm = engine_mount, engine_mount.target.litellm
    mount.role(ttl="10m", max_ttl="1h", max_budget=1)
    issued = mount.creds()
    body = issued.body
    data = body["data"]
    key, token = data["key"], data["token"]
    assert body["renewable"] is True
    assert body["lease_duration"] == 600
    assert body["lease_id"].startswith(f"{mount.path}/creds/dev/")
    assert data["models"] == [MODEL]
    assert data["max_budget"] == 1
    assert litellm.chat(key, MODEL) == 200
    assert litellm.chat(key, OTHER_MODEL) == 403

    before = _expires(mount, token)
    renewed = mount.ok(
        mount.bao.write("sys/leases/renew", {"lease_id": body["lease_id"], "increment": 1800})
    )
    assert renewed.body["lease_duration"] == 1800
    assert _expires(mount, token) > before + timedelta(minutes=15)

    mount.ok(mount.bao.write("sys/leases/revoke", {"lease_id": body["lease_id"]}))
    assert wait_until(lambda: litellm.chat(key) == 401, timeout=20)
    assert litellm.status(token) in ("deleted", "missing")


def test_lease_expiry_deletes_the_key(engine_mount: Mount) -> None:
    litellm = engine_mount.target.litellm
    engine_mount.role(ttl="3s", max_ttl="1m")
    issued = engine_mount.creds().body
    assert issued["lease_duration"] == 3
    key = issued["data"]["key"]
    assert litellm.chat(key) == 200
    assert wait_until(lambda: litellm.chat(key) == 401, timeout=40, interval=0.5)


def test_renew_past_max_ttl_is_capped(engine_mount: Mount) -> None:
    engine_mount.role(ttl="10s", max_ttl="30s")
    issued = engine_mount.creds().body
    started = datetime.now(UTC)
    renewed = engine_mount.bao.write(
        "sys/leases/renew", {"lease_id": issued["lease_id"], "increment": 3600}
    )
    assert renewed.status == 200, renewed.body
    assert renewed.body["lease_duration"] <= 30
    expires = _expires(engine_mount, issued["data"]["token"])
    assert expires <= started + timedelta(seconds=30 + 5)


def test_config_never_echoes_the_key(engine_mount: Mount) -> None:
    litellm = engine_mount.target.litellm
    read = engine_mount.ok(engine_mount.bao.read(f"{engine_mount.path}/config"))
    assert litellm.master_key not in json.dumps(read.body)
    assert "admin_key" not in read.body["data"]
    assert read.body["data"]["admin_key_type"] == "master_key"


def test_identity_templates_with_a_userpass_entity_and_a_group(
    engine_target: EngineTarget, engine_mount: Mount
) -> None:
    bao = engine_target.bao
    userpass = f"up-{uuid.uuid4().hex[:6]}"
    group = f"devs-{uuid.uuid4().hex[:6]}"
    entities: list[str] = []
    try:
        _identity_templates(engine_target, engine_mount, userpass, group, entities)
    finally:
        # Nothing of this test may stay behind on a shared (external) server.
        bao.delete(f"identity/group/name/{group}")
        for entity_id in entities:
            bao.delete(f"identity/entity/id/{entity_id}")
        bao.delete(f"sys/policies/acl/{userpass}")
        bao.delete(f"sys/auth/{userpass}")


def _identity_templates(
    engine_target: EngineTarget, engine_mount: Mount, userpass: str, group: str, entities: list[str]
) -> None:
    bao = engine_target.bao
    bao.ok(bao.write(f"sys/auth/{userpass}", {"type": "userpass"}))
    accessor = bao.ok(bao.read("sys/auth"))[f"{userpass}/"]["accessor"]
    policy = f'path "{engine_mount.path}/creds/dev" {{ capabilities = ["read"] }}'
    bao.ok(bao.write(f"sys/policies/acl/{userpass}", {"policy": policy}))
    bao.ok(bao.write(f"auth/{userpass}/users/alice", {"password": "pw", "policies": userpass}))
    login = bao.request("POST", f"auth/{userpass}/login/alice", {"password": "pw"}, token="")
    auth = login.body["auth"]
    entities.append(auth["entity_id"])
    bao.ok(bao.write("identity/group", {"name": group, "member_entity_ids": [auth["entity_id"]]}))
    engine_mount.role(
        user_id=f"{{{{identity.entity.aliases.{accessor}.name}}}}",
        team_id=f"{{{{identity.groups.names.{group}.name}}}}",
    )
    engine_mount.role("other")

    issued = engine_mount.creds(token=auth["client_token"]).body["data"]
    assert issued["user_id"] == "alice"
    assert issued["team_id"] == group
    info = engine_target.litellm.admin.key_info(issued["token"])
    assert (info.user_id, info.team_id) == ("alice", group)
    assert (info.metadata or {})["vault_entity_id"] == auth["entity_id"]

    confined = bao.request("GET", f"{engine_mount.path}/creds/other", token=auth["client_token"])
    assert confined.status == 403
    root = bao.read(f"{engine_mount.path}/creds/dev")
    assert root.status == 400
    assert "user_id" in root.body["errors"][0]
    assert "no entity" in root.body["errors"][0]


def test_rotate_root_kills_the_old_key_and_keeps_leases(engine_target: EngineTarget) -> None:
    litellm = engine_target.litellm
    user_id, old_key = litellm.new_admin_key()
    mount = engine_target.mount()
    try:
        mount.configure(admin_key=old_key)
        mount.role()
        earlier = mount.creds().body
        rotated = mount.ok(mount.bao.write(f"{mount.path}/rotate-root", {})).body["data"]
        assert rotated["previous_key_deleted"] is True
        assert rotated["admin_user_id"] == user_id
        assert litellm.chat(old_key) == 401
        config = mount.ok(mount.bao.read(f"{mount.path}/config")).body["data"]
        assert config["admin_key_type"] == "virtual_key"
        assert config["admin_key_rotated_at"]
        later = mount.creds().body  # the new key works
        for lease in (earlier, later):
            mount.ok(mount.bao.write("sys/leases/revoke", {"lease_id": lease["lease_id"]}))
        assert wait_until(lambda: litellm.chat(earlier["data"]["key"]) == 401, timeout=20)
    finally:
        mount.unmount()
        leftovers = [
            k.token for k in litellm.admin.list_keys(user_id=user_id) if k.token is not None
        ]
        if leftovers:
            litellm.admin.delete_keys(leftovers, missing_ok=True)


def test_master_key_rotation_is_refused(engine_mount: Mount) -> None:
    refused = engine_mount.bao.write(f"{engine_mount.path}/rotate-root", {})
    assert refused.status == 400
    assert "master key" in refused.body["errors"][0]


def _raw_keys(bao: Bao, mount_uuid: str, prefix: str) -> list[str]:
    listed = bao.list(f"sys/raw/logical/{mount_uuid}/{prefix}")
    return list(listed.data["keys"]) if listed.status == 200 else []


def test_tidy_deletes_a_key_the_engine_has_no_record_of_and_nothing_else(
    engine_mount: Mount,
) -> None:
    litellm, bao = engine_mount.target.litellm, engine_mount.bao
    engine_mount.role()
    held = engine_mount.creds().body["data"]
    orphan = engine_mount.creds().body["data"]
    # As if its lease had never landed: the engine's index loses the key.
    mount_uuid = engine_mount.backend_uuid()
    assert orphan["token"] in _raw_keys(bao, mount_uuid, "keys/")
    bao.ok(bao.delete(f"sys/raw/logical/{mount_uuid}/keys/{orphan['token']}"))
    stranger = litellm.admin.generate_key(models=[MODEL], duration="10m", key_alias=None)

    tidy = f"{engine_mount.path}/tidy"
    young = bao.ok(bao.write(tidy, {"dry_run": True}))
    assert young["found_count"] == 0  # within the default safety buffer: left alone
    dry = bao.ok(bao.write(tidy, {"dry_run": True, "safety_buffer": 0}))
    assert [f["token"] for f in dry["found"]] == [orphan["token"]]
    assert dry["deleted"] == 0
    assert litellm.chat(orphan["key"]) == 200
    report = bao.ok(bao.write(tidy, {"safety_buffer": 0}))
    assert [f["token"] for f in report["found"]] == [orphan["token"]]
    assert report["deleted"] == 1
    assert litellm.chat(orphan["key"]) == 401
    assert litellm.chat(held["key"]) == 200
    assert litellm.status(stranger.token) == "active"
    litellm.admin.delete_keys([stranger.token])


# Every path, bad input: a 400 that names the field.
BAD_INPUT: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "config", {"url": "ftp://x"}, "url"),
    ("POST", "config", {"admin_key": "nope"}, "admin_key"),
    ("POST", "config", {"timeout": "1h"}, "timeout"),
    ("POST", "config", {"ca_cert": "garbage"}, "ca_cert"),
    ("POST", "config", {"verify_connection": "sometimes"}, "verify_connection"),
    ("POST", "config", {"tidy_interval": "1s"}, "tidy_interval"),
    ("POST", "roles/r", {"models": []}, "models"),
    ("POST", "roles/r", {"models": ["m"], "max_budget": -3}, "max_budget"),
    ("POST", "roles/r", {"models": ["m"], "budget_duration": "soon"}, "budget_duration"),
    ("POST", "roles/r", {"models": ["m"], "rpm_limit": "many"}, "rpm_limit"),
    ("POST", "roles/r", {"models": ["m"], "ttl": "2h", "max_ttl": "1h"}, "ttl"),
    ("POST", "roles/r", {"models": ["m"], "key_request": {"key": "sk-x"}}, "key_request.key"),
    ("POST", "roles/r", {"models": ["m"], "key_alias_template": "{{x}}"}, "key_alias_template"),
    ("POST", "roles/r", {"models": ["m"], "user_id": "{{identity"}, "user_id"),
    ("POST", "roles/r", {"models": ["m"], "metadata": {"vault_x": "1"}}, "metadata"),
    ("POST", "tidy", {"safety_buffer": "30d"}, "safety_buffer"),
    ("POST", "tidy", {"dry_run": "maybe"}, "dry_run"),
    ("GET", "creds/no-such-role", {}, "no-such-role"),
]


@pytest.mark.parametrize(("method", "path", "body", "named"), BAD_INPUT)
def test_bad_input_is_a_400_naming_the_field(
    engine_mount: Mount, method: str, path: str, body: dict[str, Any], named: str
) -> None:
    response = engine_mount.bao.request(method, f"{engine_mount.path}/{path}", body or None)
    assert response.status == 400, response.body
    (error,) = response.errors
    assert named in error


def test_every_path_has_help_and_is_in_the_openapi_document(engine_mount: Mount) -> None:
    bao = engine_mount.bao
    root = engine_mount.ok(bao.help(engine_mount.path)).body
    assert "LiteLLM" in root["help"]
    for path in ("config", "roles", "roles/x", "creds/x", "rotate-root", "tidy"):
        helped = engine_mount.ok(bao.help(f"{engine_mount.path}/{path}")).body
        assert len(helped["help"]) > 100, path
    spec = engine_mount.ok(bao.read("sys/internal/specs/openapi")).body
    paths = {p for p in spec["paths"] if p.startswith(f"/{engine_mount.path}/")}
    expected = {"config", "roles", "roles/{name}", "creds/{name}", "rotate-root", "tidy"}
    assert paths == {f"/{engine_mount.path}/{p}" for p in expected}
    role_schema = json.dumps(spec["paths"][f"/{engine_mount.path}/roles/{{name}}"])
    for field in ("models", "allow_all_models", "key_request", "key_alias_template", "max_ttl"):
        assert field in role_schema
