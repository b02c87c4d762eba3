"""Key management semantics the live suite does not pin down: defaults, patches, archive, paging."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from e2e.litellm_standin import StandIn

if TYPE_CHECKING:
    from litellm_standin.conftest import Mint

STRICT_MASTER_KEY = "sk-standin-no-custom-keys"

MICROS_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
MILLIS_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}000)?\+00:00")


def test_generate_defaults_and_echo(mint: Mint) -> None:
    key = mint()
    assert key["key"].startswith("sk-")
    assert len(key["key"]) == 25
    assert key["token"] == key["token_id"] == hashlib.sha256(key["key"].encode()).hexdigest()
    assert key["key_name"] == f"sk-...{key['key'][-4:]}"
    assert key["models"] == []
    assert key["metadata"] == {}
    assert key["expires"] is None
    assert key["duration"] is None
    assert key["key_type"] == "default"
    assert key["created_by"] == "default_user_id"
    assert "status" not in key
    assert "soft_budget" not in key
    assert key["router_settings"]["model_group_alias"] == {}


def test_timestamps_follow_each_endpoint_style(admin: httpx.Client, mint: Mint) -> None:
    key = mint(duration="1h")
    assert MICROS_Z.fullmatch(key["expires"])
    info = admin.get("/key/info", params={"key": key["token"]}).json()["info"]
    assert MILLIS_OFFSET.fullmatch(info["expires"])
    assert MILLIS_OFFSET.fullmatch(info["created_at"])
    generated = datetime.fromisoformat(key["expires"])
    stored = datetime.fromisoformat(info["expires"])
    assert timedelta(0) <= generated - stored < timedelta(milliseconds=1)
    blocked = admin.post("/key/block", json={"key": key["token"]}).json()
    assert blocked["expires"].endswith("Z")
    assert "org_id" in blocked
    assert "organization_id" not in blocked


def test_update_is_a_merge_patch(admin: httpx.Client, mint: Mint) -> None:
    key = mint(max_budget=3.0, metadata={"owner": "vault", "path": "x"}, rpm_limit=5)
    updated = admin.post("/key/update", json={"key": key["token"], "metadata": {"owner": "v2"}})
    assert updated.status_code == 200
    body = updated.json()
    assert body["key"] == key["token"]
    assert body["metadata"] == {"owner": "v2"}  # replaced, not merged
    assert body["max_budget"] == 3.0  # omitted: kept
    assert body["rpm_limit"] == 5
    assert body["litellm_budget_table"] is None
    cleared = admin.post("/key/update", json={"key": key["key"], "max_budget": None}).json()
    assert cleared["max_budget"] is None
    assert cleared["key"] == key["key"]  # the identifier comes back as sent


def test_update_duration_counts_from_the_update_and_minus_one_never_expires(
    admin: httpx.Client, mint: Mint
) -> None:
    key = mint(duration="1h")
    before = datetime.fromisoformat(key["expires"])
    moved = admin.post("/key/update", json={"key": key["token"], "duration": "3h"}).json()
    assert datetime.fromisoformat(moved["expires"]) - before >= timedelta(hours=2)
    kept = admin.post("/key/update", json={"key": key["token"], "duration": ""}).json()
    assert kept["expires"] == moved["expires"]
    never = admin.post("/key/update", json={"key": key["token"], "duration": "-1"}).json()
    assert never["expires"] is None


def test_null_on_a_required_column_is_refused(admin: httpx.Client, mint: Mint) -> None:
    key = mint(models=["fake-gpt"])
    answer = admin.post("/key/update", json={"key": key["token"], "models": None})
    assert answer.status_code == 400
    assert "`data.models`: A value is required but not set" in answer.json()["error"]["message"]
    info = admin.get("/key/info", params={"key": key["token"]}).json()["info"]
    assert info["models"] == ["fake-gpt"]


def test_aliases_are_unique_among_live_keys(admin: httpx.Client, mint: Mint) -> None:
    first = mint(key_alias="shared")
    again = admin.post("/key/generate", json={"key_alias": "shared"})
    assert again.status_code == 400
    assert again.json()["error"]["param"] == "key_alias"
    other = mint(key_alias="other")
    collision = admin.post("/key/update", json={"key": other["token"], "key_alias": "shared"})
    assert collision.status_code == 400
    admin.post("/key/delete", json={"keys": [first["token"]]})
    assert mint(key_alias="shared")["key_alias"] == "shared"  # reusable once deleted
    unsafe = admin.post("/key/generate", json={"key_alias": "a/../b"})
    assert unsafe.json()["error"] == {
        "message": "Invalid key_alias",
        "type": "bad_request_error",
        "param": "key_alias",
        "code": "400",
    }


def test_reusing_a_custom_key_changes_nothing(admin: httpx.Client, mint: Mint) -> None:
    raw = "sk-custom-key-for-reuse-test"
    first = mint(key=raw, max_budget=2.0, key_alias="custom")
    again = admin.post("/key/generate", json={"key": raw, "max_budget": 9.0}).json()
    assert again["token"] == first["token"]
    assert again["created_at"] == first["created_at"]
    assert again["key_alias"] is None  # the request is echoed ...
    info = admin.get("/key/info", params={"key": raw}).json()["info"]
    assert info["max_budget"] == 2.0  # ... the row is not touched
    assert info["key_alias"] == "custom"


def test_delete_echoes_the_request_and_archives(admin: httpx.Client, mint: Mint) -> None:
    key = mint(metadata={"m": 1})
    partial = admin.post(
        "/key/delete", json={"keys": [key["key"], "0" * 64]}, headers={"litellm-changed-by": "me"}
    )
    assert partial.json() == {"deleted_keys": [key["key"], "0" * 64]}
    info = admin.get("/key/info", params={"key": key["token"]}).json()
    assert info["key"] == key["token"]
    archived = info["info"]
    assert archived["status"] == "deleted"
    assert archived["deleted_by"] == "default_user_id"
    assert archived["deleted_by_api_key"] == "litellm_proxy_master_key"
    assert archived["litellm_changed_by"] == "me"
    assert archived["metadata"] == {"m": 1}
    assert "token" not in archived
    update = admin.post("/key/update", json={"key": key["token"], "rpm_limit": 1})
    assert update.status_code == 404
    assert update.json()["error"]["message"] == "Key not found."


def test_info_status_and_own_key(admin: httpx.Client, mint: Mint, standin_url: str) -> None:
    expired = mint(duration="0s")
    blocked = mint(blocked=True, duration="0s")
    assert admin.get("/key/info", params={"key": expired["token"]}).json()["info"]["status"] == (
        "expired"
    )
    assert admin.get("/key/info", params={"key": blocked["token"]}).json()["info"]["status"] == (
        "revoked"
    )
    assert admin.get("/key/info").status_code == 404  # the master key has no row
    plain = mint()
    own = httpx.get(f"{standin_url}/key/info", headers={"Authorization": f"Bearer {plain['key']}"})
    assert own.json()["key"] == plain["token"]


def test_list_pages_newest_first(admin: httpx.Client, mint: Mint) -> None:
    tokens = [mint(key_alias=f"page-{index}")["token"] for index in range(5)]
    mint(key_alias="elsewhere")
    first = admin.get("/key/list", params={"key_alias": "PAGE-", "substring_matching": "true"})
    assert first.json()["total_count"] == 5
    seen: list[str] = []
    for page in (1, 2, 3):
        answer = admin.get(
            "/key/list",
            params={"key_alias": "page-", "substring_matching": "true", "size": 2, "page": page},
        ).json()
        assert answer["current_page"] == page
        assert answer["total_pages"] == 3
        seen.extend(answer["keys"])
    assert sorted(seen) == sorted(tokens)
    full = admin.get(
        "/key/list",
        params={"key_alias": "page-", "substring_matching": "true", "return_full_object": "true"},
    ).json()["keys"]
    order = [(item["created_at"], item["token"]) for item in full]
    assert order == sorted(order, reverse=True)  # newest first, ties by token, descending
    assert [item["token"] for item in full] == seen
    out_of_range = admin.get("/key/list", params={"page": 0, "size": 101})
    assert [d["loc"] for d in out_of_range.json()["detail"]] == [
        ["query", "page"],
        ["query", "size"],
    ]
    bogus = admin.get("/key/list", params={"status": "bogus"}).json()["error"]
    assert bogus["param"] == "None"
    assert bogus["message"].startswith("{'error': \"Invalid status value.")


def test_block_validates_the_key_form_first(admin: httpx.Client) -> None:
    for bad in ("sk-bad key!", "sk", "ab" * 20):
        answer = admin.post("/key/block", json={"key": bad})
        assert answer.json()["error"]["message"] == "Invalid key format.", bad
    missing = admin.post("/key/block", json={"key": "sk-well-formed-but-unknown"})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Key not found."


def test_admin_virtual_keys_come_from_proxy_admin_users(
    admin: httpx.Client, standin_url: str
) -> None:
    user = admin.post("/user/new", json={"user_id": "vault-admin", "user_role": "proxy_admin"})
    assert user.status_code == 200
    raw = user.json()["key"]
    as_admin = {"Authorization": f"Bearer {raw}"}
    minted = httpx.post(f"{standin_url}/key/generate", json={}, headers=as_admin)
    assert minted.status_code == 200
    assert minted.json()["created_by"] == "vault-admin"
    assert admin.post("/user/new", json={"user_id": "vault-admin"}).status_code == 409
    plain = admin.post("/key/generate", json={}).json()["key"]
    refused = httpx.post(
        f"{standin_url}/key/generate", json={}, headers={"Authorization": f"Bearer {plain}"}
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith(
        "Authentication Error, Only proxy admin can be used to generate, delete, update info"
    )


def test_enterprise_only_endpoints_and_fields(admin: httpx.Client, mint: Mint) -> None:
    key = mint()
    for path in ("/key/regenerate", f"/key/{key['key']}/regenerate"):
        answer = admin.post(path, json={"key": key["token"]})
        assert answer.status_code == 500
        assert (
            "Regenerating Virtual Keys is an Enterprise feature"
            in answer.json()["error"]["message"]
        )
    budget = admin.post("/key/generate", json={"model_max_budget": {"fake-gpt": 1}})
    assert budget.status_code == 500
    assert budget.json()["error"]["message"].startswith("Invalid model_max_budget:")
    falsy = mint(tags=[])  # falsy values pass and are kept in metadata
    assert falsy["metadata"] == {"tags": []}
    assert falsy["tags"] is None


def test_bulk_update_is_admin_only_and_per_item(admin: httpx.Client, mint: Mint) -> None:
    key = mint()
    assert admin.post("/key/bulk_update", json={"keys": []}).json() == {
        "detail": {"error": "No keys provided for update"}
    }
    answer = admin.post(
        "/key/bulk_update",
        json={"keys": [{"key": key["token"], "max_budget": 12}, {"key": "sk-missing-12345"}]},
    ).json()
    assert answer["total_requested"] == 2
    assert answer["successful_updates"][0]["key_info"]["max_budget"] == 12.0
    assert answer["failed_updates"] == [
        {"key": "sk-missing-12345", "key_info": None, "failed_reason": "Key not found."}
    ]


def test_disabled_custom_keys_refuse_a_callers_key_after_the_alias_checks(mint: Mint) -> None:
    # The body a real 1.106.12 proxy with general_settings.disable_custom_api_keys answered.
    refusal = {
        "error": {
            "message": "{'error': 'Custom API key values are disabled by your administrator. "
            "Keys must be auto-generated.'}",
            "type": "internal_server_error",
            "param": None,
            "code": "403",
        }
    }
    custom = "sk-caller-chosen-key-0001"
    with (
        StandIn(master_key=STRICT_MASTER_KEY, disable_custom_api_keys=True) as proxy,
        httpx.Client(
            base_url=proxy.url, headers={"Authorization": f"Bearer {STRICT_MASTER_KEY}"}, timeout=10
        ) as strict,
    ):
        for raw in (custom, "short"):  # refused before the key's format is looked at
            answer = strict.post("/key/generate", json={"key": raw, "key_alias": "fresh"})
            assert answer.status_code == 403
            assert answer.json() == refusal
        for body in ({"key_alias": "taken"}, {"key": None}):
            made = strict.post("/key/generate", json=body)
            assert made.status_code == 200
            assert made.json()["key"].startswith("sk-")
        conflict = strict.post("/key/generate", json={"key": custom, "key_alias": "taken"})
        assert conflict.status_code == 400  # the alias check comes first
        assert conflict.json()["error"]["param"] == "key_alias"
    # The default stand-in takes custom keys.
    assert mint(key=custom)["key"] == custom
