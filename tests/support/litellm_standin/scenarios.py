"""The calls :mod:`~tests.support.litellm_standin.parity` sends to both targets: every behaviour
the stand-in imitates, and the refusals around it.

Each scenario labels its calls and may use earlier answers in later calls. Nothing here touches
the real proxy's configuration: only keys and users named with the run's prefix, deleted again.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tests.support.litellm_standin.parity import Difference, Scenario, Session

HI = [{"role": "user", "content": "hi"}]
JSON = {"content-type": "application/json"}


def mint(s: Session, label: str, **fields: Any) -> Any:
    fields.setdefault("key_alias", s.alias(label))
    return s.call(f"mint {label}", "POST", "/key/generate", json=fields)


def update(s: Session, label: str, **fields: Any) -> Any:
    return s.call(label, "POST", "/key/update", json=fields)


def chat(
    s: Session,
    label: str,
    raw: str,
    model: object = "fake-gpt",
    ignore: frozenset[str] = frozenset(),
    **extra: Any,
) -> None:
    body = {"model": model, "messages": HI, **extra}
    s.call(label, "POST", "/chat/completions", key=raw, json=body, ignore=ignore | {"created"})


def info(s: Session, label: str, key: str, *, by: str | None = None, **kw: Any) -> None:
    s.call(label, "GET", "/key/info", key=by, params={"key": key}, **kw)


def health(s: Session) -> None:
    s.call("liveliness", "GET", "/health/liveliness", key="")
    s.call("readiness", "GET", "/health/readiness", key="")


def credentials(s: Session) -> None:
    key = mint(s, "cred")
    for label, headers, credential in (
        ("no credential", {}, ""),
        ("Token scheme", {"Authorization": "Token abc"}, ""),
        ("bare Bearer", {"Authorization": "Bearer"}, ""),
        ("non-sk value", {}, "abcdefabcdef"),
        ("short non-sk", {}, "abc"),
        ("token as credential", {}, key["token"]),
        ("unknown sk key", {}, s.custom_key("unknown")),
        ("wrong master", {}, "sk-wrong-master-key-for-parity"),
        ("key_name as credential", {}, key["key_name"]),
        ("master alias", {}, "litellm_proxy_master_key"),
        ("own key", {}, key["key"]),
    ):
        s.call(label, "GET", "/key/info", key=credential, headers=headers)


def generate(s: Session) -> None:
    mint(s, "empty")
    full = {"models": ["fake-gpt"], "max_budget": 10, "duration": "1h", "budget_duration": "30d"}
    full.update(metadata={"owner": "vault", "nested": {"a": [1, 2]}}, tpm_limit=100)
    full.update(rpm_limit=10, tpd_limit=1000, max_parallel_requests=2, blocked=False)
    mint(s, "full", **full, user_id=s.alias("user"), team_id=s.alias("team"))
    for key_type in ("llm_api", "management", "read_only", "default"):
        mint(s, f"typed {key_type}", key_type=key_type)
    mint(s, "typed null", key_type=None, allowed_routes=["/key/info"])
    mint(s, "falsy premium", tags=[], guardrails=[], disable_global_guardrails=False)
    mint(s, "blank budget and team", max_budget="", team_id="")
    mint(s, "nulls", metadata=None, models=None, user_id=None)
    mint(s, "zero budget", max_budget=0, model_max_budget={})
    for period in ("1mo", "7d", "1w", "2w", "1d", "12h", "90m", "2592000s", "daily", "1hour"):
        mint(s, f"budget_duration {period}", budget_duration=period)
    s.call("schema", "POST", "/key/generate", json={"tpm_limit": 1.5, "max_budget": "x"})
    more = {"models": "a", "metadata": [], "key_alias": 5, "key_type": "bogus", "blocked": "no"}
    s.call("more schema", "POST", "/key/generate", json=more)
    for label, content in (("bad json", b'{"a":'), ("list body", b"[]"), ("null", b"null")):
        s.call(label, "POST", "/key/generate", content=content, headers=JSON)
    s.call("no body", "POST", "/key/generate", content=b"", headers=JSON)
    s.call("no auth bad json", "POST", "/key/generate", key="", content=b"{x", headers=JSON)
    s.call("nan budget", "POST", "/key/generate", content=b'{"max_budget": NaN}', headers=JSON)
    mint(s, "negative budget", max_budget=-1)
    for period in ("bogus", "0s", "2mo", "30"):
        mint(s, f"bad budget_duration {period}", budget_duration=period)
    for name in ("tags", "guardrails", "policies", "prompts", "allowed_passthrough_routes"):
        mint(s, f"premium {name}", **{name: ["x"]})
    mint(s, "premium flag", disable_global_guardrails=True)
    mint(s, "model budget", model_max_budget={"fake-gpt": 1})
    for label, alias in (("dots", "a/../b"), ("tab", "a\tb"), ("line sep", "a\u2028b")):
        mint(s, f"unsafe alias {label}", key_alias=alias)
    dup = mint(s, "dup")
    mint(s, "dup again", key_alias=dup["key_alias"])
    mint(s, "custom no sk", key="prob-key-0002-long")
    mint(s, "custom short", key="sk-short")


def durations(s: Session) -> None:
    texts = ("abc", "30", "1x", "1.5h", "10M", "-1", " 1h", "", "0s", "1hour", "2w", "hourly")
    for text in (*texts, "90m", "3600s", "99999999999d"):
        mint(s, f"duration {text!r}", duration=text)
    token = mint(s, "to update", duration="1h")["token"]
    for sent in ("abc", "30", "-1", "", "2h", "0s", "99999999999d", None):
        update(s, f"update duration {sent!r}", key=token, duration=sent)
    for sent in ("0s", "bogus", "", "7d", "2mo", None):
        update(s, f"update budget_duration {sent!r}", key=token, budget_duration=sent)
    info(s, "info after", token)


def custom_keys(s: Session) -> None:
    raw = s.custom_key("custom")
    mint(s, "custom", key=raw, max_budget=2.0)
    s.call("reuse without alias", "POST", "/key/generate", json={"key": raw, "max_budget": 9.0})
    s.call(
        "reuse, new alias", "POST", "/key/generate", json={"key": raw, "key_alias": s.alias("o")}
    )
    info(s, "info custom", raw)
    s.call("delete custom", "POST", "/key/delete", json={"keys": [raw]})
    mint(s, "recreate deleted custom", key=raw, key_alias=s.alias("again"))
    info(s, "info recreated", raw)


def updates(s: Session) -> None:
    key = mint(s, "upd", duration="1h", max_budget=3.0, metadata={"a": 1}, models=["fake-gpt"])
    token = key["token"]
    update(s, "budget and metadata", key=token, max_budget=None, metadata={"b": 2})
    update(s, "by raw key", key=key["key"], rpm_limit=5, tpm_limit=7, tpd_limit=9)
    update(
        s, "owner and limits", key=token, user_id=s.alias("u"), team_id="", max_parallel_requests=3
    )
    update(s, "models", key=token, models=["fake-other"], allowed_routes=["/key/info"])
    update(s, "models null", key=token, models=None)
    update(s, "allowed_routes null", key=token, allowed_routes=None)
    update(s, "metadata null", key=token, metadata=None)
    update(s, "blocked", key=token, blocked=True)
    update(s, "unblocked", key=token, blocked=False)
    update(s, "negative budget", key=token, max_budget=-5)
    nan = b'{"key": "' + token.encode() + b'", "max_budget": NaN}'
    s.call("nan budget", "POST", "/key/update", content=nan, headers=JSON)
    update(s, "tags", key=token, tags=["a"])
    update(s, "falsy tags", key=token, tags=[], metadata={"c": 3})
    update(s, "model budget", key=token, model_max_budget={"fake-gpt": 1})
    update(s, "model budget empty", key=token, model_max_budget={})
    update(s, "key_type ignored", key=token, key_type="llm_api")
    update(s, "neither key nor alias", max_budget=1)
    update(s, "schema", key=token, rpm_limit="x")
    update(s, "unknown key", key=s.custom_key("nope"), rpm_limit=1)
    update(s, "unknown hash", key="f" * 64, rpm_limit=1)
    info(s, "info after", token)


def aliases(s: Session) -> None:
    first, second = mint(s, "a1"), mint(s, "a2")
    update(s, "rename", key=first["token"], key_alias=s.alias("a1-renamed"))
    update(s, "rename onto other", key=first["token"], key_alias=second["key_alias"])
    update(s, "rename unsafe", key=first["token"], key_alias="..")
    update(s, "same alias", key=second["token"], key_alias=second["key_alias"])
    update(s, "by alias", key_alias=second["key_alias"], rpm_limit=3)
    update(s, "by unknown alias", key_alias=s.alias("none"), rpm_limit=3)
    update(s, "alias null", key=second["token"], key_alias=None)
    s.call("list renamed", "GET", "/key/list", params={"key_alias": s.alias("a1-renamed")})


def deletes(s: Session) -> None:
    one, two = mint(s, "d1"), mint(s, "d2")
    three = mint(s, "d3", metadata={"m": 1}, max_budget=4.0, user_id=s.alias("owner"))
    for label, body in (
        ("neither", {}),
        ("empty lists", {"keys": [], "key_aliases": []}),
        ("schema", {"keys": "x"}),
        ("none found", {"keys": [s.custom_key("missing")]}),
        ("partial", {"keys": [one["token"], "0" * 64]}),
        ("again", {"keys": [one["token"]]}),
        ("by alias", {"key_aliases": [two["key_alias"]]}),
        ("alias again", {"key_aliases": [two["key_alias"]]}),
    ):
        s.call(label, "POST", "/key/delete", json=body)
    actor = {"litellm-changed-by": "parity-bot"}
    s.call("with changed-by", "POST", "/key/delete", json={"keys": [three["key"]]}, headers=actor)
    info(s, "info deleted by raw", three["key"])
    info(s, "info deleted by token", three["token"])
    update(s, "update deleted", key=three["token"], max_budget=1)
    s.call("block deleted", "POST", "/key/block", json={"key": three["token"]})
    chat(s, "chat deleted", three["key"])
    listed = {"status": "deleted", "key_alias": three["key_alias"], "return_full_object": "true"}
    s.call("list deleted", "GET", "/key/list", params=listed)


def infos(s: Session) -> None:
    key = mint(s, "info", budget_duration="1h", user_id=s.alias("someone"))
    info(s, "by raw", key["key"])
    info(s, "by token", key["token"])
    info(s, "unknown", "0" * 64)
    info(s, "unknown raw", s.custom_key("unknown"))
    info(s, "junk", "not-a-key")
    s.call("master without key", "GET", "/key/info")
    s.call("own without key", "GET", "/key/info", key=key["key"])
    s.call("empty key param", "GET", "/key/info", params={"key": ""})
    info(s, "expired status", mint(s, "expired", duration="0s")["token"])
    info(s, "revoked status", mint(s, "blocked", blocked=True)["token"])


def listing(s: Session) -> None:
    owner = s.alias("lister")
    tokens = [mint(s, f"list-{n}", user_id=owner, team_id=s.alias("t"))["token"] for n in range(5)]
    mint(s, "list-expired", duration="0s", user_id=owner)
    mint(s, "list-revoked", blocked=True, user_id=owner)
    prefix = s.alias("list-")
    base: dict[str, str | int] = {"key_alias": prefix, "substring_matching": "true"}
    queries: tuple[tuple[str, dict[str, str | int]], ...] = (
        ("page 1", {**base, "size": 2}),
        ("page 3", {**base, "size": 2, "page": 3}),
        ("page 9", {**base, "size": 2, "page": 9}),
        ("full", {**base, "return_full_object": "true", "size": 3}),
        ("upper case substring", {"key_alias": prefix.upper(), "substring_matching": "true"}),
        ("exact", {"key_alias": s.alias("list-3")}),
        ("exact prefix only", {"key_alias": prefix}),
        ("by user", {"user_id": owner}),
        ("by user substring", {"user_id": owner[:-2], "substring_matching": "true"}),
        ("by team", {"team_id": s.alias("t"), "size": 100}),
        ("key_hash", {"key_hash": tokens[0]}),
        ("search hash", {"search": tokens[1]}),
        ("search alias", {"search": prefix.upper()}),
        ("page 0 size 101", {"page": 0, "size": 101}),
        ("page abc", {"page": "abc"}),
        ("bool junk", {"return_full_object": "maybe"}),
    )
    for label, params in queries:
        s.call(label, "GET", "/key/list", params=params)
    for status in ("active", "expired", "revoked", "deleted", "bogus"):
        s.call(f"status {status}", "GET", "/key/list", params={**base, "status": status})


def blocking(s: Session) -> None:
    key = mint(s, "blk", models=["fake-gpt"])
    raw, token = key["key"], key["token"]
    for label, body in (
        ("invalid format", {"key": "sk-bad key!"}),
        ("too short", {"key": "sk"}),
        ("hash wrong length", {"key": "ab" * 20}),
        ("missing key", {}),
        ("not found", {"key": "sk-doesnotexist123"}),
    ):
        s.call(label, "POST", "/key/block", json=body)
    s.call("unblock not found", "POST", "/key/unblock", json={"key": "0" * 64})
    s.call("block", "POST", "/key/block", json={"key": raw})
    chat(s, "chat blocked", raw)
    chat(s, "chat blocked wrong model", raw, "fake-other")
    info(s, "info revoked", token)
    s.call("block twice", "POST", "/key/block", json={"key": token})
    s.call("unblock", "POST", "/key/unblock", json={"key": token})
    chat(s, "chat unblocked", raw)
    info(s, "info active", token)


def regenerate(s: Session) -> None:
    key = mint(s, "regen")
    s.call("by body", "POST", "/key/regenerate", json={"key": key["token"], "max_budget": 1})
    s.call("empty", "POST", "/key/regenerate", json={})
    s.call("no body", "POST", "/key/regenerate")
    info(s, "still active", key["token"])


def llm_calls(s: Session) -> None:
    raw = mint(s, "llm", models=["fake-gpt"])["key"]
    chat(s, "allowed", raw)
    chat(s, "other model", raw, "fake-other")
    chat(s, "unknown model", raw, "nope")
    s.call("no model", "POST", "/chat/completions", key=raw, json={"messages": HI})
    s.call("no messages", "POST", "/chat/completions", key=raw, json={"model": "fake-gpt"})
    s.call("empty body", "POST", "/chat/completions", key=raw, content=b"", headers=JSON)
    chat(s, "max_tokens", raw, max_tokens=5)
    open_key = mint(s, "llm open")["key"]
    chat(s, "unrestricted unknown model", open_key, "nope")
    chat(s, "unrestricted other", open_key, "fake-other")
    chat(s, "master unknown model", s.master_key, "nope")
    chat(s, "master known model", s.master_key)
    chat(s, "no key", "")
    chat(s, "unknown key", s.custom_key("nokey"))
    chat(s, "hash as key", mint(s, "hash")["token"])
    chat(s, "wildcard", mint(s, "llm wildcard", models=["fake-*"])["key"], "fake-other")
    chat(
        s, "all-proxy-models", mint(s, "llm all", models=["all-proxy-models"])["key"], "fake-other"
    )


def expiry(s: Session) -> None:
    gone = mint(s, "exp0", duration="0s", models=["fake-gpt"])
    chat(s, "expired", gone["key"])
    chat(s, "expired wrong model", gone["key"], "fake-other")
    s.call("expired key manages", "GET", "/key/info", key=gone["key"])
    later = mint(s, "exp1", duration="1h", models=["fake-gpt"])
    chat(s, "before", later["key"])
    update(s, "expire now", key=later["token"], duration="0s")
    chat(s, "after", later["key"])
    update(s, "revive", key=later["token"], duration="1h")
    chat(s, "revived", later["key"])
    update(s, "never", key=later["token"], duration="-1")
    info(s, "info never", later["token"])


def budgets(s: Session) -> None:
    tiny = mint(s, "tiny", models=["fake-gpt"], max_budget=0.0001)
    for index in range(3):
        chat(s, f"tiny call {index}", tiny["key"])
    s.call("tiny manages", "GET", "/key/info", key=tiny["key"])
    zero = mint(s, "zero", max_budget=0)
    chat(s, "zero first call", zero["key"])
    chat(s, "zero unknown model", zero["key"], "nope")
    chat(s, "zero wrong model", mint(s, "zero2", max_budget=0, models=["x"])["key"])
    chat(s, "zero expired", mint(s, "zero expired", max_budget=0, duration="0s")["key"])
    update(s, "raise budget", key=zero["token"], max_budget=1.0)
    chat(s, "raised", zero["key"])


def rate_limits(s: Session) -> None:
    rpm = mint(s, "rpm", models=["fake-gpt"], rpm_limit=1)["key"]
    chat(s, "rpm first", rpm)
    chat(s, "rpm second", rpm)
    chat(s, "rpm unknown model", rpm, "nope")
    s.call("rpm no messages", "POST", "/chat/completions", key=rpm, json={"model": "fake-gpt"})
    chat(s, "rpm zero", mint(s, "rpm zero", rpm_limit=0)["key"])
    open_rpm = mint(s, "rpm open", rpm_limit=1)["key"]
    chat(s, "rpm open unknown model", open_rpm, "nope")
    chat(s, "rpm open after unknown", open_rpm)


def callers(s: Session) -> None:
    """Who may do what: the master key, proxy_admin and internal_user keys, ownerless keys."""
    admin_id, user_id = s.alias("admin"), s.alias("internal")
    new_user = {"user_id": admin_id, "user_role": "proxy_admin"}
    admin = s.call("new admin", "POST", "/user/new", json=new_user)
    s.call("duplicate user", "POST", "/user/new", json=new_user)
    new_user = {"user_id": user_id, "user_role": "internal_user"}
    user = s.call("new internal", "POST", "/user/new", json=new_user)
    plain, other = mint(s, "plain"), mint(s, "other")
    ghost = mint(s, "owned", user_id=s.alias("ghost"))  # owned by a user_id that is no user
    for who, key in (("master", None), ("admin", admin["key"]), ("internal", user["key"])):
        s.call(f"{who} bulk check", "POST", "/key/bulk_update", key=key, json={"keys": []})
    for who, key in (("plain", plain["key"]), ("ghost-owned", ghost["key"])):
        s.call(f"{who} bulk check", "POST", "/key/bulk_update", key=key, json={"keys": []})
    s.call("bulk without keys", "POST", "/key/bulk_update", json={})
    by_admin = {"key_alias": s.alias("by-admin")}
    made = s.call("admin generates", "POST", "/key/generate", key=admin["key"], json=by_admin)
    for_x = {"user_id": s.alias("x"), "key_alias": s.alias("for-x")}
    s.call("admin generates for x", "POST", "/key/generate", key=admin["key"], json=for_x)
    s.call("admin own info", "GET", "/key/info", key=admin["key"])
    info(s, "admin info other", made["token"], by=admin["key"])
    s.call("admin lists", "GET", "/key/list", key=admin["key"], params=by_admin)
    deleted = {"keys": [made["token"]]}
    s.call("admin deletes", "POST", "/key/delete", key=admin["key"], json=deleted)
    info(s, "deleted by admin", made["token"])
    mine = {"key_alias": s.alias("own")}
    own = s.call("internal generates", "POST", "/key/generate", key=user["key"], json=mine)
    for label, body in (
        ("internal generates for self", {"user_id": user_id, "key_alias": s.alias("own2")}),
        ("internal generates for another", {"user_id": s.alias("someone")}),
        ("internal generates for a team", {"team_id": "t-nope"}),
        ("internal reuses an alias", {"key_alias": plain["key_alias"]}),
    ):
        s.call(label, "POST", "/key/generate", key=user["key"], json=body)
    info(s, "internal info own", own["token"], by=user["key"])
    info(s, "internal info other", other["token"], by=user["key"])
    s.call("internal user new", "POST", "/user/new", key=user["key"], json={"user_id": "x"})
    again = {"key": own["token"]}
    s.call("internal regenerate", "POST", "/key/regenerate", key=user["key"], json=again)
    for label, method, path, body in (
        ("plain generate", "POST", "/key/generate", {}),
        ("plain update", "POST", "/key/update", {"key": other["token"], "rpm_limit": 1}),
        ("plain delete", "POST", "/key/delete", {"keys": [other["token"]]}),
        ("plain block", "POST", "/key/block", {"key": other["token"]}),
        ("plain regenerate", "POST", "/key/regenerate", {"key": other["token"]}),
        ("plain user new", "POST", "/user/new", {"user_id": "x"}),
        ("plain generate bad schema", "POST", "/key/generate", {"tpm_limit": 1.5}),
    ):
        s.call(label, method, path, key=plain["key"], json=body)
    s.call("plain list", "GET", "/key/list", key=plain["key"])
    s.call("ghost-owned list", "GET", "/key/list", key=ghost["key"])
    for label, key, by in (
        ("plain info own", plain, plain),
        ("plain info other ownerless", other, plain),
        ("plain info ghost-owned", ghost, plain),
        ("ghost-owned info ownerless", plain, ghost),
    ):
        info(s, label, key["token"], by=by["key"])
    info(s, "plain info unknown", "0" * 64, by=plain["key"])
    for key_type in ("llm_api", "management", "read_only"):
        typed = mint(s, f"{key_type} only", key_type=key_type)
        info(s, f"{key_type} info", typed["token"], by=typed["key"])
        s.call(f"{key_type} list", "GET", "/key/list", key=typed["key"])
        s.call(f"{key_type} generate", "POST", "/key/generate", key=typed["key"], json={})
        chat(s, f"{key_type} chat", typed["key"])
    s.call("block admin key", "POST", "/key/block", json={"key": admin["key"]})
    s.call("blocked admin generates", "POST", "/key/generate", key=admin["key"], json={})
    s.call("unblock admin key", "POST", "/key/unblock", json={"key": admin["key"]})
    update(s, "expire admin key", key=admin["key"], duration="0s")
    s.call("expired admin generates", "POST", "/key/generate", key=admin["key"], json={})


SCENARIOS: dict[str, Scenario] = {
    scenario.__name__: scenario
    for scenario in (
        health,
        credentials,
        generate,
        durations,
        custom_keys,
        updates,
        aliases,
        deletes,
        infos,
        listing,
        blocking,
        regenerate,
        llm_calls,
        expiry,
        budgets,
        rate_limits,
        callers,
    )
}

# Why a difference is expected: (scenario, call label, where) patterns (fnmatch) and the reason.
_BATCHED = (
    "the real proxy records a key's use (its spend, and last_active for any request made with"
    " it, refused LLM calls included; the stand-in sets last_active only with spend) in batches"
    " written every 10 s, so what a read shows depends on where the batch clock stands"
)
_FIGURES = (
    "the stand-in charges every mock call 10 prompt and 20 completion tokens; with a budget the"
    " real proxy counts the prompt itself and reserves the call's estimated cost before settling"
    " it, so token counts and the spend quoted in a refusal differ (status, type and wording are"
    " compared)"
)
TOLERATED: tuple[tuple[str, str, str, str], ...] = (
    ("blocking", "unblock", "body.last_active", _BATCHED),
    ("*", "*", "body.info.spend", _BATCHED),
    ("*", "*", "body.info.total_spend", _BATCHED),
    ("*", "*", "body.info.last_active", _BATCHED),
    ("budgets", "*", "body.usage.*", _FIGURES),
    ("budgets", "tiny call *", "body.error.message", _FIGURES),
)


def tolerated(version: str, difference: Difference) -> str | None:
    """The reason a difference is expected, or None if it is a bug in the stand-in."""
    where = (difference.scenario, difference.label, difference.where)
    for *patterns, reason in TOLERATED:
        if all(map(fnmatch.fnmatchcase, where, patterns)):
            return reason
    return None
