"""``roles/``: typed fields checked with a 400 naming the field, partial updates, listing."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.engine.backend import factory
from vault_plugin_litellm.engine.path_roles import ROLE_FIELDS
from vault_plugin_litellm.sdk.framework.testing import BackendHarness
from vault_plugin_litellm.sdk.logical import InMemoryStorage, StorageEntry

from .conftest import MODEL, Engine

DEEP: list[object] = [1]
for _ in range(18):
    DEEP = [DEEP]


async def test_create_read_update_list_delete(engine: Engine) -> None:
    created = await engine.host.write(
        "roles/dev",
        {
            "models": "fake-gpt,fake-other",
            "max_budget": 2.5,
            "budget_duration": "30d",
            "rpm_limit": 10,
            "metadata": {"team": "search"},
            "ttl": "1h",
            "max_ttl": "24h",
        },
    )
    assert created.ok, created.errors
    role = (await engine.host.read("roles/dev")).data
    assert role is not None
    assert role["models"] == ["fake-gpt", "fake-other"]
    assert role["max_budget"] == 2.5
    assert role["budget_duration"] == "30d"
    assert role["rpm_limit"] == 10
    assert role["metadata"] == {"team": "search"}
    assert (role["ttl"], role["max_ttl"]) == (3600, 86400)
    assert role["tpm_limit"] is None

    assert (await engine.host.write("roles/dev", {"rpm_limit": 20, "max_budget": None})).ok
    role = (await engine.host.read("roles/dev")).data
    assert role is not None
    assert role["rpm_limit"] == 20
    assert role["max_budget"] is None
    assert role["models"] == ["fake-gpt", "fake-other"]  # untouched fields stay

    await engine.role("other")
    assert (await engine.host.list("roles")).data == {"keys": ["dev", "other"]}
    assert (await engine.host.delete("roles/dev")).ok
    assert (await engine.host.read("roles/dev")).status == 404
    assert (await engine.host.list("roles")).data == {"keys": ["other"]}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "models"),
        ({"models": ""}, "models"),
        ({"models": "a,,b"}, "models"),
        ({"models": "x" * 300}, "models"),
        ({"models": ",".join(f"m{i}" for i in range(1001))}, "models"),
        ({"models": MODEL, "allow_all_models": True}, "allow_all_models"),
        ({"models": MODEL, "max_budget": -1}, "max_budget"),
        ({"models": MODEL, "max_budget": "NaN"}, "max_budget"),
        ({"models": MODEL, "max_budget": "inf"}, "max_budget"),
        ({"models": MODEL, "soft_budget": -0.5}, "soft_budget"),
        ({"models": MODEL, "budget_duration": "30"}, "budget_duration"),
        ({"models": MODEL, "budget_duration": "2mo"}, "budget_duration"),
        ({"models": MODEL, "tpm_limit": -1}, "tpm_limit"),
        ({"models": MODEL, "rpm_limit": "1.5"}, "rpm_limit"),
        ({"models": MODEL, "max_parallel_requests": 10**13}, "max_parallel_requests"),
        # What LiteLLM's API takes but its database cannot store (the mint would be a 500).
        ({"models": MODEL, "max_parallel_requests": 2**31}, "max_parallel_requests"),
        ({"models": MODEL, "metadata": {"k": "a\x00"}}, "metadata"),
        ({"models": MODEL, "metadata": {"k\x00": "a"}}, "metadata"),
        ({"models": MODEL, "key_request": {"aliases": {"a": "\x00"}}}, "key_request.aliases.a"),
        ({"models": MODEL, "key_request": {"config": {"\x00": 1}}}, "key_request.config"),
        ({"models": MODEL, "key_request": {"tpd_limit": 2**63}}, "key_request.tpd_limit"),
        (
            {"models": MODEL, "key_request": {"max_parallel_requests": 2**31}},
            "key_request.max_parallel_requests",
        ),
        ({"models": MODEL, "user_id": "{{identity.entity.id"}, "user_id"),
        ({"models": MODEL, "team_id": "}}oops"}, "team_id"),
        ({"models": MODEL, "metadata": {"vault_role": "x"}}, "metadata"),
        ({"models": MODEL, "metadata": ["no-equals"]}, "metadata"),
        ({"models": MODEL, "tags": ",".join(f"t{i}" for i in range(101))}, "tags"),
        ({"models": MODEL, "key_alias_template": "{{nope}}"}, "key_alias_template"),
        ({"models": MODEL, "key_alias_template": "a b {{random}}"}, "key_alias_template"),
        ({"models": MODEL, "key_alias_template": "{{random"}, "key_alias_template"),
        ({"models": MODEL, "key_alias_template": "-{{random}}"}, "key_alias_template"),
        ({"models": MODEL, "key_alias_template": ""}, "key_alias_template"),
        ({"models": MODEL, "ttl": "2h", "max_ttl": "1h"}, "ttl"),
        ({"models": MODEL, "ttl": "-1s"}, "ttl"),
        ({"models": MODEL, "key_request": "a string"}, "key_request"),
        ({"models": MODEL, "key_request": {"key": "sk-mine-1234567890"}}, "key_request.key"),
        ({"models": MODEL, "key_request": {"duration": "1h"}}, "key_request.duration"),
        ({"models": MODEL, "key_request": {"key_alias": "x"}}, "key_request.key_alias"),
        ({"models": MODEL, "key_request": {"expires": "x"}}, "key_request.expires"),
        ({"models": MODEL, "key_request": {"models": ["x"]}}, "key_request.models"),
        (
            {"models": MODEL, "rpm_limit": 1, "key_request": {"rpm_limit": 2}},
            "key_request.rpm_limit",
        ),
        ({"models": MODEL, "key_request": {"tpd_limit": "many"}}, "key_request"),
        ({"models": MODEL, "key_request": {"auto_rotate": True}}, "key_request.auto_rotate"),
        ({"models": MODEL, "key_request": {"metadata": {"vault_x": 1}}}, "key_request.metadata"),
        (
            {"models": MODEL, "key_request": {"allow_all_models": True}},
            "key_request.allow_all_models",
        ),
        ({"models": MODEL, "key_request": {"x": "y" * 70_000}}, "key_request"),
        (
            {"models": MODEL, "key_request": {"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}},
            "key_request",
        ),
    ],
)
async def test_bad_roles_are_refused_naming_the_field(
    engine: Engine, body: dict[str, Any], named: str
) -> None:
    response = await engine.host.write("roles/r", body)
    assert response.status == 400, response
    text = response.error
    assert text.startswith(f"{named}:") or f'"{named}"' in text, text
    assert (await engine.host.read("roles/r")).status == 404


async def test_models_may_come_from_key_request_and_all_models_must_be_asked_for(
    engine: Engine,
) -> None:
    assert (await engine.host.write("roles/any", {"allow_all_models": True})).ok
    role = (await engine.host.read("roles/any")).data
    assert role is not None
    assert role["models"] == []
    assert role["allow_all_models"]
    via_request = await engine.host.write("roles/req", {"key_request": {"models": [MODEL]}})
    assert via_request.ok, via_request.errors


async def test_warnings_for_unknown_key_request_fields_and_aliases_without_random(
    engine: Engine,
) -> None:
    response = await engine.host.write(
        "roles/r",
        {
            "models": MODEL,
            "key_request": {"key_type": "llm_api", "brand_new_field": 1},
            "key_alias_template": "fixed-{{role}}",
        },
    )
    assert response.ok
    assert any("brand_new_field" in w for w in response.warnings)
    assert any("{{random}}" in w for w in response.warnings)


async def test_ttls_longer_than_the_mount_allows_are_accepted_with_a_warning(
    engine: Engine,
) -> None:
    response = await engine.host.write("roles/r", {"models": MODEL, "ttl": "800h"})
    assert response.ok
    assert any("capped" in w for w in response.warnings)


async def test_update_only_changes_named_fields_and_can_clear(engine: Engine) -> None:
    await engine.role(metadata={"a": "1"}, tags="x,y", user_id="{{identity.entity.id}}")
    assert (await engine.host.write("roles/dev", {"metadata": None, "tags": ""})).ok
    role = (await engine.host.read("roles/dev")).data
    assert role is not None
    assert role["metadata"] == {}
    assert role["tags"] == []
    assert role["user_id"] == "{{identity.entity.id}}"
    refused = await engine.host.write("roles/dev", {"models": None})
    assert refused.status == 400
    assert refused.error.startswith("models:")


_FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=10), max_size=4),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.dictionaries(st.sampled_from(sorted(ROLE_FIELDS)), _FIELD_VALUES, max_size=6))
async def test_any_role_body_is_stored_or_refused_naming_a_field(body: dict[str, Any]) -> None:
    """No input crashes the handler (the harness raises on anything but a host error), and a
    refusal names the field it is about."""
    async with BackendHarness(factory, mount_point="litellm/") as host:
        body.pop("name", None)
        response = await host.write("roles/fuzz", body)
        if response.ok:
            stored = (await host.read("roles/fuzz")).data
            assert stored is not None
            json.dumps(stored, allow_nan=False)
            return
        assert response.status == 400, response
        named = re.match(r'^([a-z_.]+):|.*field "([a-z_]+)"', response.error)
        assert named is not None, response.error
        field = (named.group(1) or named.group(2)).split(".")[0]
        assert field in ROLE_FIELDS, response.error


class _SlowStorage(InMemoryStorage):
    """Storage whose writes take a while, as over the host's storage RPC."""

    async def put(self, entry: StorageEntry) -> None:
        await asyncio.sleep(0.02)
        await super().put(entry)


async def test_concurrent_updates_of_one_role_keep_every_field() -> None:
    """Each update merges the fields it names into the stored role: two at once must not
    lose one another's field."""
    host = BackendHarness(factory, storage=_SlowStorage(), mount_point="litellm/")
    await host.start()
    assert (await host.write("roles/r", {"models": MODEL})).ok
    updates: list[dict[str, Any]] = [
        {"rpm_limit": 5},
        {"tpm_limit": 7},
        {"max_budget": 3},
        {"tags": "a"},
    ]
    answers = await asyncio.gather(*(host.write("roles/r", body) for body in updates))
    assert all(answer.ok for answer in answers), answers
    role = (await host.read("roles/r")).data
    assert role is not None
    assert (role["rpm_limit"], role["tpm_limit"], role["max_budget"], role["tags"]) == (
        5,
        7,
        3,
        ["a"],
    )
    assert role["models"] == [MODEL]
