"""Identity templates: selectors, JSON mode, the host's errors (docs/host-behaviour.md §15.2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.framework import (
    TemplateError,
    TemplateMode,
    populate_identity_template,
    populate_string,
    validate_identity_template,
)
from vault_plugin_litellm.sdk.framework.identity_template import (
    NO_ENTITY,
    NO_GROUPS,
    NOT_FOUND,
    UNBALANCED,
)
from vault_plugin_litellm.sdk.logical import Alias, Entity, Group, StaticSystemView

ENTITY = Entity(
    id="ent-1",
    name="alice",
    metadata={"team": "red", "empty": ""},
    aliases=[
        Alias(
            id="al-1",
            mount_accessor="auth_userpass_1",
            name="alice-up",
            metadata={"org": "o"},
            custom_metadata={"cc": "42"},
        )
    ],
)
GROUPS = [
    Group(id="g-1", name="devs", metadata={"tier": "gold", "blank": ""}),
    Group(id="g-2", name="ops"),
    Group(id="", name="", metadata={"k": "v"}),
]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def fill(template: str, mode: TemplateMode = TemplateMode.ACL) -> str:
    return populate_string(template, entity=ENTITY, groups=GROUPS, mode=mode, now=NOW)[1]


@pytest.mark.parametrize(
    ("template", "result"),
    [
        ("user-{{identity.entity.name}}", "user-alice"),
        ("{{ identity.entity.id }}", "ent-1"),
        ("{{identity.entity.metadata.team}}", "red"),
        ("{{identity.entity.aliases.auth_userpass_1.name}}", "alice-up"),
        ("{{identity.entity.aliases.auth_userpass_1.id}}", "al-1"),
        ("{{identity.entity.aliases.auth_userpass_1.metadata.org}}", "o"),
        ("{{identity.entity.aliases.auth_userpass_1.custom_metadata.cc}}", "42"),
        ("{{identity.groups.names.devs.id}}", "g-1"),
        ("{{identity.groups.ids.g-2.name}}", "ops"),
        ("{{identity.groups.names.devs.metadata.tier}}", "gold"),
        ("{{identity.groups.names.devs.metadata.blank}}", ""),  # present and empty, as in Go
        ("<{{identity.groups.ids..id}}>", "<>"),  # a group id is inserted even when empty
        ("{{time.now}}", str(int(NOW.timestamp()))),
        ("{{time.now.plus.1h}}", str(int(NOW.timestamp()) + 3600)),
        ("{{time.now.minus.60}}", str(int(NOW.timestamp()) - 60)),
        ("a{{identity.entity.name}}b{{identity.entity.id}}c", "aalicebent-1c"),
        ("{{identity.entity.metadata.empty}}", ""),  # a present, empty value is used as is
        ("no directives", "no directives"),
    ],
)
def test_acl_mode_selectors(template: str, result: str) -> None:
    assert fill(template) == result


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{identity.entity.name", UNBALANCED),
        ("name}}", UNBALANCED),
        ("{{a}}}}", UNBALANCED),
        ("{{identity.entity.nope}}", NOT_FOUND),
        ("{{identity.entity.metadata.missing}}", NOT_FOUND),
        ("{{identity.entity.metadata}}", NOT_FOUND),  # maps render only in JSON mode
        ("{{identity.entity.groups.names}}", NOT_FOUND),  # lists too
        ("{{identity.entity.aliases.other.name}}", "alias not found"),
        ("{{identity.entity.aliases.x}}", "invalid alias selector"),
        ("{{identity.groups.names.qa.id}}", 'entity is not a member of group "qa"'),
        ("{{identity.groups.colors.red.id}}", "invalid groups selector"),
        ("{{identity.groups.names.devs}}", "invalid groups accessor"),
        ("{{identity.groups.names.ops.metadata.x}}", NOT_FOUND),
        ("{{identity.groups.ids..name}}", NOT_FOUND),  # an empty group name is not found
        ("{{time.later}}", 'invalid time selector "later"'),
        ("{{time.now.plus}}", "missing time operand"),
        ("{{time.now.times.1h}}", 'invalid time operator "times"'),
        ("{{time.now.plus.soon}}", "invalid duration"),
        ("{{unknown}}", NOT_FOUND),
    ],
)
def test_acl_mode_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        fill(template)
    assert str(caught.value).startswith(message)


def test_json_mode_renders_json_literals() -> None:
    json_fill = TemplateMode.JSON
    assert json.loads(fill("{{identity.entity.name}}", json_fill)) == "alice"
    assert json.loads(fill("{{identity.entity.metadata}}", json_fill)) == {
        "team": "red",
        "empty": "",
    }
    assert json.loads(fill("{{identity.entity.groups.names}}", json_fill)) == ["devs", "ops", ""]
    assert json.loads(fill("{{identity.entity.metadata.missing}}", json_fill)) == ""
    assert json.loads(fill("{{identity.entity.aliases.none.metadata}}", json_fill)) == {}
    assert json.loads(fill('{"u": {{identity.entity.name}}}', json_fill)) == {"u": "alice"}


def test_json_mode_writes_maps_and_lists_as_go_marshals_them() -> None:
    entity = Entity(id="e", name="n", metadata={"z": "1", "a": "<&>", "m": "\u2028"})
    groups = [Group(id="g2", name="b"), Group(id="g1", name="a")]

    def json_fill(template: str) -> str:
        return populate_string(template, entity=entity, groups=groups, mode=TemplateMode.JSON)[1]

    assert json_fill("{{identity.entity.metadata}}") == (
        '{"a":"\\u003c\\u0026\\u003e","m":"\\u2028","z":"1"}'
    )
    assert json.loads(json_fill("{{identity.entity.metadata}}")) == entity.metadata
    assert json_fill("{{identity.entity.groups.ids}}") == '["g2","g1"]'  # order kept
    assert json_fill("{{identity.entity.metadata.a}}") == '"<&>"'


def test_group_values_are_raw_in_both_modes_as_in_go() -> None:
    for mode in TemplateMode:
        assert fill("{{identity.groups.ids.g-1.name}}", mode) == "devs"
        assert fill("{{identity.groups.names.devs.id}}", mode) == "g-1"
        assert fill("{{identity.groups.names.devs.metadata.tier}}", mode) == "gold"
        assert fill("{{identity.groups.names.devs.metadata.blank}}", mode) == ""


def test_missing_identity() -> None:
    with pytest.raises(TemplateError, match=NO_ENTITY):
        populate_string("{{identity.entity.name}}")
    with pytest.raises(TemplateError, match=NO_GROUPS):
        populate_string("{{identity.groups.names.devs.id}}", entity=ENTITY)
    assert populate_string("{{time.now}}", now=NOW) == (True, str(int(NOW.timestamp())))
    assert populate_string("") == (False, "")


def test_blocked_substitutions() -> None:
    entity = Entity(id="x", name="a*b")
    with pytest.raises(TemplateError, match="forbidden value"):
        populate_string("{{identity.entity.name}}", entity=entity, blocked_substitutions=["*"])


def test_validation_only_checks_structure() -> None:
    assert validate_identity_template("plain") is False
    assert validate_identity_template("{{identity.whatever}}") is True
    with pytest.raises(TemplateError, match="failed to validate policy templating: unbalanced"):
        validate_identity_template("{{oops")


async def test_populate_identity_template_asks_the_system_view() -> None:
    system = StaticSystemView(entities={"ent-1": ENTITY}, groups={"ent-1": GROUPS})
    assert (
        await populate_identity_template("u-{{identity.entity.name}}", "ent-1", system) == "u-alice"
    )
    assert (
        await populate_identity_template("{{identity.groups.names.ops.id}}", "ent-1", system)
        == "g-2"
    )
    assert await populate_identity_template("literal", "", system) == "literal"
    with pytest.raises(TemplateError, match=NO_ENTITY):
        await populate_identity_template("{{identity.entity.name}}", "", system)
    with pytest.raises(TemplateError, match=NO_ENTITY):
        await populate_identity_template("{{identity.entity.name}}", "unknown-id", system)


@given(st.text(max_size=30))
def test_fuzz_templates_fail_only_with_template_errors(template: str) -> None:
    try:
        had, result = populate_string(template, entity=ENTITY, groups=GROUPS, now=NOW)
    except TemplateError:
        return
    if not had:
        assert result == template
        assert "{{" not in template
