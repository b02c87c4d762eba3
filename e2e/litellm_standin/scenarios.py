"""The requests :mod:`e2e.litellm_standin.parity` sends to both targets.

Each scenario is a function of a :class:`~e2e.litellm_standin.parity.Session`; it labels every
call, and may use earlier answers (tokens, raw keys) in later calls. Nothing here touches the
real proxy's configuration: no master-key rotation, no settings, only keys and users whose names
start with the run's prefix, deleted again afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from e2e.litellm_standin.parity import Scenario, Session

HI = [{"role": "user", "content": "hi"}]
# Fields that legitimately differ from one run to the next on the real proxy itself.
USAGE_FIELDS = frozenset({"spend", "total_spend", "last_active", "updated_at"})


def mint(s: Session, label: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("key_alias", s.alias(label))
    answer = s.call(f"mint {label}", "POST", "/key/generate", json=fields)
    body: dict[str, Any] = answer.json()
    return body


def chat(s: Session, label: str, raw: str, model: object = "fake-gpt", **extra: Any) -> None:
    s.call(
        label,
        "POST",
        "/chat/completions",
        key=raw,
        json={"model": model, "messages": HI, **extra},
        ignore=frozenset({"created"}),
    )


def info(s: Session, label: str, key: str, *, ignore: frozenset[str] = frozenset()) -> None:
    s.call(label, "GET", "/key/info", params={"key": key}, ignore=ignore)


def health(s: Session) -> None:
    s.call("liveliness", "GET", "/health/liveliness", key="")
    s.call("liveness", "GET", "/health/liveness", key="")
    s.call("readiness", "GET", "/health/readiness", key="")
    s.call("liveliness by POST", "POST", "/health/liveliness", key="")
    s.call("unknown path", "GET", "/no/such/route", key="")
    s.call("generate by GET", "GET", "/key/generate")
    s.call("info by POST", "POST", "/key/info")


def credentials(s: Session) -> None:
    key = mint(s, "cred")
    raw, token = key["key"], key["token"]
    s.register_raw(raw)
    master = s.master_key
    path = "/key/info"
    params = {"key": token}

    def probe(label: str, headers: Mapping[str, str], key: str = "") -> None:
        s.call(label, "GET", path, key=key, headers=headers, params=params)

    probe("no credential", {})
    probe("Token scheme", {"Authorization": "Token abc"})
    probe("bare Bearer", {"Authorization": "Bearer"})
    probe("Basic scheme", {"Authorization": f"Basic {master}"})
    probe("lowercase bearer", {"Authorization": f"bearer {master}"})
    probe("x-litellm-api-key raw", {"x-litellm-api-key": master})
    probe("x-litellm-api-key bearer", {"x-litellm-api-key": f"Bearer {master}"})
    probe("x-api-key", {"x-api-key": master})
    probe("API-Key", {"API-Key": master})
    probe("x-litellm wins", {"x-litellm-api-key": master, "Authorization": "Bearer sk-bogus-12"})
    probe("non-sk value", {}, "abcdefabcdef")
    probe("short non-sk", {}, "abc")
    probe("token as credential", {}, token)
    probe("unknown sk key", {}, s.custom_key("unknown"))
    probe("wrong master", {}, "sk-wrong-master-key-for-parity")
    probe("key_name as credential", {}, key["key_name"])
    probe("master alias", {}, "litellm_proxy_master_key")
    probe("own key", {}, raw)


def generate_defaults(s: Session) -> None:
    mint(s, "empty")
    mint(
        s,
        "full",
        models=["fake-gpt"],
        max_budget=10,
        duration="1h",
        budget_duration="30d",
        soft_budget=5.0,
        metadata={"owner": "vault", "nested": {"a": [1, 2]}},
        tpm_limit=100,
        rpm_limit=10,
        max_parallel_requests=2,
        user_id=s.alias("user"),
        team_id=s.alias("team"),
        blocked=False,
        aliases={"gpt": "fake-gpt"},
        config={"c": 1},
        permissions={"pii": False},
        allowed_cache_controls=["no-cache"],
        unknown_field="ignored",
    )
    mint(s, "typed llm", key_type="llm_api")
    mint(s, "typed mgmt", key_type="management")
    mint(s, "typed ro", key_type="read_only")
    mint(s, "typed null", key_type=None, allowed_routes=["/key/info"])
    mint(s, "meta fields", model_rpm_limit={"fake-gpt": 5}, rpm_limit_type="dynamic")
    mint(s, "falsy premium", tags=[], guardrails=[], disable_global_guardrails=False)
    mint(s, "router", router_settings={"num_retries": 3})
    mint(s, "blank budget", max_budget="", team_id="")
    mint(s, "spend", spend=1.5)
    mint(s, "null metadata", metadata=None)
    mint(s, "null models", models=None)
    mint(s, "budget windows", budget_limits=[{"budget_duration": "1d", "max_budget": 2.0}])
    mint(s, "zero budget", max_budget=0)
    s.call("nan budget", "POST", "/key/generate", content=b'{"max_budget": NaN}', headers=_JSON)
    s.call(
        "inf soft budget",
        "POST",
        "/key/generate",
        content=b'{"soft_budget": Infinity}',
        headers=_JSON,
    )
    mint(s, "model budget empty", model_max_budget={})
    mint(s, "service account", metadata={"service_account_id": "svc"})
    mint(s, "months", duration="1mo", budget_duration="1mo")
    mint(s, "rotation", auto_rotate=True, rotation_interval="30d")
    mint(s, "object permission", object_permission={"vector_stores": ["v1"]})
    mint(s, "enforced params", enforced_params=["user"])


def generate_errors(s: Session) -> None:
    s.call(
        "schema",
        "POST",
        "/key/generate",
        json={
            "tpm_limit": 1.5,
            "max_budget": "x",
            "models": "a",
            "metadata": [],
            "key_alias": 5,
        },
    )
    s.call(
        "more schema",
        "POST",
        "/key/generate",
        json={
            "key_type": "bogus",
            "rpm_limit_type": "x",
            "default_estimated_output_tokens": 0,
            "budget_limits": [{}],
            "object_permission": {"models": "x"},
            "blocked": "maybe",
        },
    )
    s.call("bad json", "POST", "/key/generate", content=b'{"a":', headers=_JSON)
    s.call("bad json 2", "POST", "/key/generate", content=b"{bad", headers=_JSON)
    s.call("list body", "POST", "/key/generate", content=b"[]", headers=_JSON)
    s.call("null body", "POST", "/key/generate", content=b"null", headers=_JSON)
    s.call("empty body", "POST", "/key/generate", content=b"", headers=_JSON)
    s.call("no auth bad json", "POST", "/key/generate", key="", content=b"{x", headers=_JSON)
    s.call("no auth list", "POST", "/key/generate", key="", content=b"[1]", headers=_JSON)
    s.call("no auth schema", "POST", "/key/generate", key="", json={"tpm_limit": 1.5})
    s.call(
        "text/plain",
        "POST",
        "/key/generate",
        content=b'{"a":1}',
        headers={"content-type": "text/plain"},
    )
    mint(s, "neg budget", max_budget=-1)
    mint(s, "neg soft", soft_budget=-2)
    mint(s, "bad budget_duration", budget_duration="bogus")
    mint(s, "zero budget_duration", budget_duration="0s")
    mint(s, "2mo budget_duration", budget_duration="2mo")
    mint(s, "1mo budget_duration", budget_duration="1mo")
    mint(s, "daily budget_duration", budget_duration="daily")
    mint(s, "1hour budget_duration", budget_duration="1hour")
    mint(s, "tags", tags=["a"])
    mint(s, "guardrails", guardrails=["g"])
    mint(s, "policies", policies=["p"])
    mint(s, "prompts", prompts=["p"])
    mint(s, "passthrough", allowed_passthrough_routes=["/x"])
    mint(s, "model budget", model_max_budget={"fake-gpt": 1})
    mint(s, "spend routes", permissions={"get_spend_routes": True})
    mint(s, "org", organization_id="org-nope")
    mint(s, "project", project_id="proj-nope")
    mint(s, "agent", agent_id="agent-nope")
    mint(s, "unsafe alias", key_alias="a/../b")
    mint(s, "control alias", key_alias="a\tb")
    mint(s, "line sep alias", key_alias="a\u2028b")
    mint(s, "space alias", key_alias=s.alias("with space"))
    dup = mint(s, "dup")
    mint(s, "dup again", key_alias=dup["key_alias"])
    mint(s, "no sk", key="prob-key-0002")
    mint(s, "short", key="sk-short")
    mint(s, "short no sk", key="abc")
    mint(s, "throttle", throttle_on_budget_exceeded=True)


def durations(s: Session) -> None:
    for text in (
        "abc",
        "30",
        "1x",
        "1.5h",
        "10M",
        "-1",
        " 1h",
        "",
        "0s",
        "1hour",
        "2w",
        "hourly",
        "90m",
        "3600s",
        "1mo",
        "99999999999d",
    ):
        mint(s, f"duration {text!r}", duration=text)
    key = mint(s, "to update", duration="1h")
    for text in ("abc", "30", "-1", "", "2h", "0s", "99999999999d"):
        s.call(
            f"update duration {text!r}",
            "POST",
            "/key/update",
            json={"key": key["token"], "duration": text},
        )
    s.call(
        "update duration null", "POST", "/key/update", json={"key": key["token"], "duration": None}
    )
    for text in ("0s", "bogus", "", "7d", "2mo"):
        s.call(
            f"update budget_duration {text!r}",
            "POST",
            "/key/update",
            json={"key": key["token"], "budget_duration": text},
        )
    s.call(
        "update budget_duration null",
        "POST",
        "/key/update",
        json={"key": key["token"], "budget_duration": None},
    )
    info(s, "info after", key["token"])


def custom_keys(s: Session) -> None:
    raw = s.custom_key("custom")
    mint(s, "custom", key=raw, max_budget=2.0)
    s.call("reuse without alias", "POST", "/key/generate", json={"key": raw, "max_budget": 9.0})
    s.call(
        "reuse with new alias",
        "POST",
        "/key/generate",
        json={"key": raw, "key_alias": s.alias("other")},
    )
    info(s, "info custom", raw)
    s.call("delete custom", "POST", "/key/delete", json={"keys": [raw]})
    mint(s, "recreate deleted custom", key=raw, key_alias=s.alias("again"))
    info(s, "info recreated", raw)


def updates(s: Session) -> None:
    key = mint(s, "upd", duration="1h", max_budget=3.0, metadata={"a": 1}, models=["fake-gpt"])
    token = key["token"]
    s.call(
        "max_budget and metadata",
        "POST",
        "/key/update",
        json={"key": token, "max_budget": None, "metadata": {"b": 2}},
    )
    s.call("by raw key", "POST", "/key/update", json={"key": key["key"], "rpm_limit": 5})
    s.call("models", "POST", "/key/update", json={"key": token, "models": ["fake-other"]})
    s.call("models null", "POST", "/key/update", json={"key": token, "models": None})
    s.call("metadata null", "POST", "/key/update", json={"key": token, "metadata": None})
    s.call(
        "meta field only",
        "POST",
        "/key/update",
        json={"key": token, "model_rpm_limit": {"fake-gpt": 1}},
    )
    s.call(
        "metadata and field",
        "POST",
        "/key/update",
        json={"key": token, "metadata": {"c": 3}, "tpm_limit_type": "dynamic"},
    )
    s.call("blocked", "POST", "/key/update", json={"key": token, "blocked": True})
    s.call("unblocked", "POST", "/key/update", json={"key": token, "blocked": False})
    s.call("spend", "POST", "/key/update", json={"key": token, "spend": 0.5})
    s.call("soft budget", "POST", "/key/update", json={"key": token, "soft_budget": 1.0})
    s.call("neg budget", "POST", "/key/update", json={"key": token, "max_budget": -5})
    s.call(
        "nan spend",
        "POST",
        "/key/update",
        content=b'{"key": "' + token.encode() + b'", "spend": NaN}',
        headers=_JSON,
    )
    s.call("tags", "POST", "/key/update", json={"key": token, "tags": ["a"]})
    s.call("falsy tags", "POST", "/key/update", json={"key": token, "tags": []})
    s.call("guardrails", "POST", "/key/update", json={"key": token, "guardrails": ["g"]})
    s.call(
        "model budget",
        "POST",
        "/key/update",
        json={"key": token, "model_max_budget": {"fake-gpt": 1}},
    )
    s.call("model budget empty", "POST", "/key/update", json={"key": token, "model_max_budget": {}})
    s.call(
        "temp budget alone", "POST", "/key/update", json={"key": token, "temp_budget_increase": 1}
    )
    s.call("project", "POST", "/key/update", json={"key": token, "project_id": "p-nope"})
    s.call("org", "POST", "/key/update", json={"key": token, "organization_id": "o-nope"})
    s.call(
        "throttle", "POST", "/key/update", json={"key": token, "throttle_on_budget_exceeded": True}
    )
    s.call("key_type ignored", "POST", "/key/update", json={"key": token, "key_type": "llm_api"})
    s.call(
        "service account",
        "POST",
        "/key/update",
        json={"key": token, "metadata": {"service_account_id": "svc"}},
    )
    s.call(
        "temp budget pair",
        "POST",
        "/key/update",
        json={"key": token, "temp_budget_increase": 1, "temp_budget_expiry": "2030-01-01T00:00:00"},
    )
    s.call("unknown field", "POST", "/key/update", json={"key": token, "no_such_field": 1})
    s.call("unblock never blocked", "POST", "/key/unblock", json={"key": token})
    s.call("neither", "POST", "/key/update", json={"max_budget": 1})
    s.call("schema", "POST", "/key/update", json={"key": token, "rpm_limit": "x"})
    s.call("unknown key", "POST", "/key/update", json={"key": s.custom_key("nope"), "rpm_limit": 1})
    s.call("unknown hash", "POST", "/key/update", json={"key": "f" * 64, "rpm_limit": 1})
    info(s, "info after", token)


def aliases(s: Session) -> None:
    first = mint(s, "a1")
    second = mint(s, "a2")
    s.call(
        "rename",
        "POST",
        "/key/update",
        json={"key": first["token"], "key_alias": s.alias("a1-renamed")},
    )
    s.call(
        "rename onto other",
        "POST",
        "/key/update",
        json={"key": first["token"], "key_alias": second["key_alias"]},
    )
    s.call("rename unsafe", "POST", "/key/update", json={"key": first["token"], "key_alias": ".."})
    s.call(
        "same alias",
        "POST",
        "/key/update",
        json={"key": second["token"], "key_alias": second["key_alias"]},
    )
    s.call(
        "by alias", "POST", "/key/update", json={"key_alias": second["key_alias"], "rpm_limit": 3}
    )
    s.call(
        "by unknown alias",
        "POST",
        "/key/update",
        json={"key_alias": s.alias("none"), "rpm_limit": 3},
    )
    s.call("alias null", "POST", "/key/update", json={"key": second["token"], "key_alias": None})
    s.call("list renamed", "GET", "/key/list", params={"key_alias": s.alias("a1-renamed")})


def deletes(s: Session) -> None:
    one = mint(s, "d1")
    two = mint(s, "d2")
    three = mint(s, "d3", metadata={"m": 1}, max_budget=4.0)
    s.call("neither", "POST", "/key/delete", json={})
    s.call("empty lists", "POST", "/key/delete", json={"keys": [], "key_aliases": []})
    s.call("schema", "POST", "/key/delete", json={"keys": "x"})
    s.call("none found", "POST", "/key/delete", json={"keys": [s.custom_key("missing")]})
    s.call("partial", "POST", "/key/delete", json={"keys": [one["token"], "0" * 64]})
    s.call("again", "POST", "/key/delete", json={"keys": [one["token"]]})
    s.call("by alias", "POST", "/key/delete", json={"key_aliases": [two["key_alias"]]})
    s.call("alias again", "POST", "/key/delete", json={"key_aliases": [two["key_alias"]]})
    s.call(
        "both given",
        "POST",
        "/key/delete",
        json={"keys": [three["key"]], "key_aliases": ["nothing"]},
    )
    info(s, "info deleted by raw", three["key"])
    info(s, "info deleted by token", three["token"])
    s.call("update deleted", "POST", "/key/update", json={"key": three["token"], "max_budget": 1})
    s.call("block deleted", "POST", "/key/block", json={"key": three["token"]})
    chat(s, "chat deleted", three["key"])
    s.call(
        "list deleted",
        "GET",
        "/key/list",
        params={"status": "deleted", "key_alias": three["key_alias"], "return_full_object": "true"},
    )
    s.call(
        "delete with changed-by",
        "POST",
        "/key/delete",
        json={"keys": [mint(s, "d4")["token"]]},
        headers={"litellm-changed-by": "parity-bot"},
    )


def infos(s: Session) -> None:
    key = mint(s, "info", soft_budget=1.0, budget_duration="1h")
    info(s, "by raw", key["key"])
    info(s, "by token", key["token"])
    info(s, "unknown", "0" * 64)
    info(s, "unknown raw", s.custom_key("unknown"))
    info(s, "junk", "not-a-key")
    s.call("master without key", "GET", "/key/info")
    s.call("own without key", "GET", "/key/info", key=key["key"])
    s.call("empty key param", "GET", "/key/info", params={"key": ""})
    expired = mint(s, "expired", duration="0s")
    info(s, "expired status", expired["token"])
    blocked = mint(s, "blocked", blocked=True)
    info(s, "revoked status", blocked["token"])


def listing(s: Session) -> None:
    tokens = [mint(s, f"list-{index}", user_id=s.alias("lister"))["token"] for index in range(5)]
    mint(s, "list-expired", duration="0s", user_id=s.alias("lister"))
    mint(s, "list-revoked", blocked=True, user_id=s.alias("lister"))
    prefix = s.alias("list-")
    base = {"key_alias": prefix, "substring_matching": "true"}

    def listed(label: str, params: Mapping[str, str | int]) -> None:
        s.call(label, "GET", "/key/list", params=params)

    listed("page 1", {**base, "size": 2})
    listed("page 3", {**base, "size": 2, "page": 3})
    listed("page 9", {**base, "size": 2, "page": 9})
    listed("full", {**base, "return_full_object": "true", "size": 3})
    listed("upper case substring", {"key_alias": prefix.upper(), "substring_matching": "true"})
    listed("exact", {"key_alias": s.alias("list-3")})
    listed("exact prefix only", {"key_alias": prefix})
    listed("by user", {"user_id": s.alias("lister")})
    listed("by user substring", {"user_id": s.alias("liste"), "substring_matching": "true"})
    listed("key_hash", {"key_hash": tokens[0]})
    listed("search hash", {"search": tokens[1]})
    listed("search alias", {"search": prefix.upper()})
    for status in ("active", "expired", "revoked", "deleted", "bogus"):
        listed(f"status {status}", {**base, "status": status})
    listed("expires expired", {**base, "expires": "expired"})
    listed("expires bogus", {**base, "expires": "bogus"})
    listed("sort alias asc", {**base, "sort_by": "key_alias", "sort_order": "asc"})
    listed("sort bogus", {**base, "sort_by": "bogus"})
    listed("sort order bogus", {**base, "sort_by": "spend", "sort_order": "up"})
    listed("page 0 size 101", {"page": 0, "size": 101})
    listed("page abc", {"page": "abc"})
    listed("bool junk", {"return_full_object": "maybe"})
    listed("team filter", {**base, "team_id": "nope"})


def blocking(s: Session) -> None:
    key = mint(s, "blk", models=["fake-gpt"])
    raw, token = key["key"], key["token"]
    s.register_raw(raw)
    s.call("invalid format", "POST", "/key/block", json={"key": "sk-bad key!"})
    s.call("too short", "POST", "/key/block", json={"key": "sk"})
    s.call("hash wrong length", "POST", "/key/block", json={"key": "ab" * 20})
    s.call("missing key", "POST", "/key/block", json={})
    s.call("not found", "POST", "/key/block", json={"key": "sk-doesnotexist123"})
    s.call("unblock not found", "POST", "/key/unblock", json={"key": "0" * 64})
    s.call("block", "POST", "/key/block", json={"key": raw})
    chat(s, "chat blocked", raw)
    chat(s, "chat blocked wrong model", raw, "fake-other")
    info(s, "info revoked", token)
    s.call("block twice", "POST", "/key/block", json={"key": token})
    s.call("unblock", "POST", "/key/unblock", json={"key": token})
    chat(s, "chat unblocked", raw)
    info(s, "info active", token, ignore=USAGE_FIELDS)


def regenerate(s: Session) -> None:
    key = mint(s, "regen")
    s.call("by body", "POST", "/key/regenerate", json={"key": key["token"]})
    s.call("by path", "POST", f"/key/{key['key']}/regenerate", json={})
    s.call("empty", "POST", "/key/regenerate", json={})
    s.call("no body", "POST", "/key/regenerate")
    info(s, "still active", key["token"])


def bulk(s: Session) -> None:
    key = mint(s, "bulk")
    s.call("empty", "POST", "/key/bulk_update", json={"keys": []})
    s.call("missing", "POST", "/key/bulk_update", json={})
    s.call(
        "mixed",
        "POST",
        "/key/bulk_update",
        json={
            "keys": [
                {"key": key["token"], "max_budget": 12},
                {"key": "sk-missing-key-12345"},
            ]
        },
    )
    s.call(
        "tags", "POST", "/key/bulk_update", json={"keys": [{"key": key["token"], "tags": ["x"]}]}
    )
    s.call(
        "negative",
        "POST",
        "/key/bulk_update",
        json={"keys": [{"key": key["token"], "max_budget": -1}]},
    )


def llm_calls(s: Session) -> None:
    key = mint(s, "llm", models=["fake-gpt"])
    raw = key["key"]
    s.register_raw(raw)
    chat(s, "allowed", raw)
    s.call(
        "v1 path",
        "POST",
        "/v1/chat/completions",
        key=raw,
        json={"model": "fake-gpt", "messages": HI},
        ignore=frozenset({"created"}),
    )
    chat(s, "other model", raw, "fake-other")
    chat(s, "unknown model", raw, "nope")
    s.call("no model", "POST", "/chat/completions", key=raw, json={"messages": HI})
    s.call("no messages", "POST", "/chat/completions", key=raw, json={"model": "fake-gpt"})
    s.call("empty body", "POST", "/chat/completions", key=raw, content=b"", headers=_JSON)
    s.call("bad json", "POST", "/chat/completions", key=raw, content=b"{bad", headers=_JSON)
    s.call("bad json 2", "POST", "/chat/completions", key=raw, content=b'{"a": }', headers=_JSON)
    s.call("list body", "POST", "/chat/completions", key=raw, content=b"[]", headers=_JSON)
    s.call("v1 no messages", "POST", "/v1/chat/completions", key=raw, json={"model": "fake-gpt"})
    s.call(
        "v1 unknown model",
        "POST",
        "/v1/chat/completions",
        key=raw,
        json={"model": "nope", "messages": HI},
    )
    s.call(
        "stream",
        "POST",
        "/chat/completions",
        key=raw,
        json={"model": "fake-gpt", "messages": HI, "stream": True},
    )
    open_key = mint(s, "llm open")
    chat(s, "unrestricted unknown model", open_key["key"], "nope")
    chat(s, "unrestricted other", open_key["key"], "fake-other")
    chat(s, "master unknown model", s.master_key, "nope")
    chat(s, "master known model", s.master_key)
    chat(s, "no key", "")
    s.call(
        "x-litellm-api-key",
        "POST",
        "/chat/completions",
        key="",
        headers={"x-litellm-api-key": raw},
        json={"model": "fake-gpt", "messages": HI},
        ignore=frozenset({"created"}),
    )
    chat(s, "max_tokens", raw, max_tokens=5)
    chat(s, "unknown key", s.custom_key("nokey"))
    chat(s, "hash key", key["token"])
    wildcard = mint(s, "llm wildcard", models=["fake-*"])
    chat(s, "wildcard", wildcard["key"], "fake-other")
    group = mint(s, "llm all", models=["all-proxy-models"])
    chat(s, "all-proxy-models", group["key"], "fake-other")


def expiry(s: Session) -> None:
    gone = mint(s, "exp0", duration="0s", models=["fake-gpt"])
    chat(s, "expired", gone["key"])
    chat(s, "expired wrong model", gone["key"], "fake-other")
    s.call("expired key manages", "GET", "/key/info", key=gone["key"])
    later = mint(s, "exp1", duration="1h", models=["fake-gpt"])
    chat(s, "before", later["key"])
    s.call("expire now", "POST", "/key/update", json={"key": later["token"], "duration": "0s"})
    chat(s, "after", later["key"])
    s.call("revive", "POST", "/key/update", json={"key": later["token"], "duration": "1h"})
    chat(s, "revived", later["key"])
    s.call("never", "POST", "/key/update", json={"key": later["token"], "duration": "-1"})
    info(s, "info never", later["token"], ignore=USAGE_FIELDS)


def budgets(s: Session) -> None:
    tiny = mint(s, "tiny", models=["fake-gpt"], max_budget=0.0001)
    for index in range(3):
        chat(s, f"tiny call {index}", tiny["key"])
    s.call("tiny manages", "GET", "/key/info", key=tiny["key"], ignore=USAGE_FIELDS)
    zero = mint(s, "zero", max_budget=0)
    chat(s, "zero first call", zero["key"])
    chat(s, "zero unknown model", zero["key"], "nope")
    chat(s, "zero wrong model", mint(s, "zero2", max_budget=0, models=["x"])["key"])
    expired = mint(s, "zero expired", max_budget=0, duration="0s")
    chat(s, "zero expired", expired["key"])
    spent = mint(s, "spent", max_budget=1.0)
    s.call("set spend", "POST", "/key/update", json={"key": spent["token"], "spend": 1.0})
    chat(s, "spent", spent["key"])
    s.call("raise budget", "POST", "/key/update", json={"key": spent["token"], "max_budget": 2.0})
    chat(s, "raised", spent["key"])


def rate_limits(s: Session) -> None:
    rpm = mint(s, "rpm", models=["fake-gpt"], rpm_limit=1)
    chat(s, "rpm first", rpm["key"])
    chat(s, "rpm second", rpm["key"])
    chat(s, "rpm unknown model", rpm["key"], "nope")
    s.call(
        "rpm no messages", "POST", "/chat/completions", key=rpm["key"], json={"model": "fake-gpt"}
    )
    tpm = mint(s, "tpm", models=["fake-gpt"], tpm_limit=40)
    chat(s, "tpm first", tpm["key"])
    chat(s, "tpm second", tpm["key"])
    tiny = mint(s, "tpm tiny", tpm_limit=1)
    chat(s, "tpm below one call", tiny["key"])
    zero = mint(s, "rpm zero", rpm_limit=0)
    chat(s, "rpm zero", zero["key"])
    open_rpm = mint(s, "rpm open", rpm_limit=1)
    chat(s, "rpm open unknown model", open_rpm["key"], "nope")
    chat(s, "rpm open after unknown", open_rpm["key"])


def non_admin(s: Session) -> None:
    plain = mint(s, "plain")
    raw = plain["key"]
    s.register_raw(raw)
    other = mint(s, "other")
    for label, method, path, body in (
        ("generate", "POST", "/key/generate", {}),
        ("update", "POST", "/key/update", {"key": other["token"], "rpm_limit": 1}),
        ("delete", "POST", "/key/delete", {"keys": [other["token"]]}),
        ("block", "POST", "/key/block", {"key": other["token"]}),
        ("unblock", "POST", "/key/unblock", {"key": other["token"]}),
        ("regenerate", "POST", "/key/regenerate", {"key": other["token"]}),
        ("bulk", "POST", "/key/bulk_update", {"keys": []}),
        ("user new", "POST", "/user/new", {}),
        ("generate bad schema", "POST", "/key/generate", {"tpm_limit": 1.5}),
    ):
        s.call(f"plain {label}", method, path, key=raw, json=body)
    s.call("plain list", "GET", "/key/list", key=raw)
    s.call("plain own info", "GET", "/key/info", key=raw, params={"key": plain["token"]})
    s.call("plain other info", "GET", "/key/info", key=raw, params={"key": other["token"]})
    s.call("plain unknown info", "GET", "/key/info", key=raw, params={"key": "0" * 64})
    owned = mint(s, "owned", user_id=s.alias("ghost"))
    s.call("ownerless user generate", "POST", "/key/generate", key=owned["key"], json={})
    llm = mint(s, "llm only", key_type="llm_api")
    s.call("llm_api info", "GET", "/key/info", key=llm["key"], params={"key": llm["token"]})
    s.call("llm_api generate", "POST", "/key/generate", key=llm["key"], json={})
    chat(s, "llm_api chat", llm["key"])
    mgmt = mint(s, "mgmt only", key_type="management")
    chat(s, "management chat", mgmt["key"])
    s.call("management list", "GET", "/key/list", key=mgmt["key"])
    s.call("management generate", "POST", "/key/generate", key=mgmt["key"], json={})
    ro = mint(s, "ro only", key_type="read_only")
    s.call("read_only info", "GET", "/key/info", key=ro["key"])
    s.call("read_only generate", "POST", "/key/generate", key=ro["key"], json={})
    chat(s, "read_only chat", ro["key"])


def users(s: Session) -> None:
    admin_id = s.alias("admin")
    admin = s.call(
        "new admin", "POST", "/user/new", json={"user_id": admin_id, "user_role": "proxy_admin"}
    ).json()
    s.users.add(admin_id)
    s.call("duplicate user", "POST", "/user/new", json={"user_id": admin_id})
    s.call("bad role", "POST", "/user/new", json={"user_role": "bogus"})
    s.call("password", "POST", "/user/new", json={"user_id": s.alias("pw"), "password": "x"})
    raw = admin["key"]
    s.register_raw(raw)
    made = s.call(
        "admin generates", "POST", "/key/generate", key=raw, json={"key_alias": s.alias("by-admin")}
    ).json()
    s.call("admin own info", "GET", "/key/info", key=raw)
    s.call("admin info other", "GET", "/key/info", key=raw, params={"key": made["token"]})
    s.call("admin lists", "GET", "/key/list", key=raw, params={"key_alias": s.alias("by-admin")})
    s.call("admin deletes", "POST", "/key/delete", key=raw, json={"keys": [made["token"]]})
    info(s, "deleted by admin", made["token"])
    s.call("admin bulk", "POST", "/key/bulk_update", key=raw, json={"keys": []})
    second = mint(s, "second admin key", user_id=admin_id)
    s.call("second admin key generates", "POST", "/key/generate", key=second["key"], json={})
    s.call(
        "admin lists by expand",
        "GET",
        "/key/list",
        key=raw,
        params={"user_id": admin_id, "expand": "user"},
        ignore=frozenset({"user"}),
    )
    blocked_admin = s.call("block admin key", "POST", "/key/block", json={"key": raw})
    s.call("blocked admin generates", "POST", "/key/generate", key=raw, json={})
    s.call("unblock admin key", "POST", "/key/unblock", json={"key": raw})
    s.call("expire admin key", "POST", "/key/update", json={"key": raw, "duration": "0s"})
    s.call("expired admin generates", "POST", "/key/generate", key=raw, json={})
    assert blocked_admin.status_code


def internal_users(s: Session) -> None:
    user_id = s.alias("internal")
    user = s.call(
        "new internal", "POST", "/user/new", json={"user_id": user_id, "user_role": "internal_user"}
    ).json()
    s.users.add(user_id)
    raw = user["key"]
    s.register_raw(raw)
    other = mint(s, "not theirs")
    own = s.call(
        "internal generates", "POST", "/key/generate", key=raw, json={"key_alias": s.alias("own")}
    ).json()
    for label, method, path, body, params in (
        ("internal generates for team", "POST", "/key/generate", {"team_id": "t-nope"}, None),
        ("internal generates throttle", "POST", "/key/generate", _THROTTLE, None),
        ("internal info other", "GET", "/key/info", None, {"key": other["token"]}),
        ("internal info own", "GET", "/key/info", None, {"key": own["token"]}),
        ("internal list", "GET", "/key/list", None, None),
        ("internal list other user", "GET", "/key/list", None, {"user_id": "x"}),
        ("internal list team", "GET", "/key/list", None, {"team_id": "x"}),
        (
            "internal update other",
            "POST",
            "/key/update",
            {"key": other["token"], "rpm_limit": 3},
            None,
        ),
        ("internal update own", "POST", "/key/update", {"key": own["token"], "rpm_limit": 3}, None),
        (
            "internal update own budget",
            "POST",
            "/key/update",
            {"key": own["token"], "max_budget": 3},
            None,
        ),
        ("internal block own", "POST", "/key/block", {"key": own["token"]}, None),
        ("internal block unknown", "POST", "/key/block", {"key": "0" * 64}, None),
        ("internal block bad", "POST", "/key/block", {"key": "bad key"}, None),
        ("internal bulk", "POST", "/key/bulk_update", {"keys": []}, None),
        ("internal regenerate", "POST", "/key/regenerate", {"key": own["token"]}, None),
    ):
        s.call(label, method, path, key=raw, json=body, params=params)
    s.call("internal delete other", "POST", "/key/delete", key=raw, json={"keys": [other["token"]]})
    s.call("internal delete own", "POST", "/key/delete", key=raw, json={"keys": [own["token"]]})
    s.call("internal user new", "POST", "/user/new", key=raw, json={})


_JSON = {"content-type": "application/json"}
_THROTTLE = {"throttle_on_budget_exceeded": True}

SCENARIOS: dict[str, Scenario] = {
    "health": health,
    "credentials": credentials,
    "generate_defaults": generate_defaults,
    "generate_errors": generate_errors,
    "durations": durations,
    "custom_keys": custom_keys,
    "updates": updates,
    "aliases": aliases,
    "deletes": deletes,
    "infos": infos,
    "listing": listing,
    "blocking": blocking,
    "regenerate": regenerate,
    "bulk": bulk,
    "llm_calls": llm_calls,
    "expiry": expiry,
    "budgets": budgets,
    "rate_limits": rate_limits,
    "non_admin": non_admin,
    "users": users,
    "internal_users": internal_users,
}

# (scenario or "*", label, where) -> why the difference is accepted.
_SETTLING = (
    "the real proxy settles a call's cost on its spend counter just after answering; a request"
    " sent at once still sees the reservation, capped at the budget, where the stand-in shows the"
    " settled cost (the real proxy shows it too a few milliseconds later)"
)
ACCEPTED: dict[tuple[str, str, str], str] = {
    ("budgets", "tiny call 1", "body.error.message"): _SETTLING,
    ("budgets", "tiny call 2", "body.error.message"): _SETTLING,
    ("rate_limits", "tpm second", "status"): (
        "the real proxy adds a call's tokens to the TPM window after answering; a request sent"
        " at once is measured without them, where the stand-in has already counted them"
    ),
}
