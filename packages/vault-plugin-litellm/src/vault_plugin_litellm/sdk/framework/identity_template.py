"""Identity templates: ``{{identity.entity.name}}`` and friends, filled from the caller's entity.

The selectors and error texts are the host's own (``sdk/helper/identitytpl`` in OpenBao),
so a template means the same in a policy, a Go plugin and this framework:

- ``identity.entity.{id,name,metadata,metadata.<k>,groups.ids,groups.names}``
- ``identity.entity.aliases.<mount accessor>.{id,name,metadata[.<k>],custom_metadata[.<k>]}``
- ``identity.groups.{ids.<id>,names.<name>}.{id,name,metadata.<k>}``
- ``time.now``, ``time.now.plus.<duration>``, ``time.now.minus.<duration>`` (Unix seconds)

Lists and whole maps render only in JSON mode, where entity and alias values are JSON
literals (maps compact, keys sorted, as Go's ``json.Marshal`` writes them). Group values
are inserted raw in both modes, as the host does (``{{identity.groups.ids.<id>.name}}``
renders ``devs``, not ``"devs"``), so that a template means the same everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum

from vault_plugin_litellm.sdk.logical import Alias, Entity, Group, SystemView, utcnow

from .goparse import GoSyntaxError, parse_duration_second

UNBALANCED = "unbalanced templating characters"
NO_ENTITY = "string contains entity template directives but no entity was provided"
NO_GROUPS = "string contains groups template directives but no groups were provided"
NOT_FOUND = "no value could be found for one of the template directives"


class TemplateError(ValueError):
    """The template is malformed or names something the caller's identity lacks."""


class TemplateMode(Enum):
    ACL = "acl"  # values verbatim; lists and maps refused
    JSON = "json"  # values as JSON literals


_Value = str | Sequence[str] | Mapping[str, str]


def _render(mode: TemplateMode, value: _Value, key: str | None = None) -> str:
    if mode is TemplateMode.ACL:
        if isinstance(value, str):
            if value == "":
                raise TemplateError(NOT_FOUND)
            return value
        if isinstance(value, Mapping) and key is not None and key in value:
            return value[key]
        raise TemplateError(NOT_FOUND)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        if key is not None:
            return json.dumps(value.get(key, ""), ensure_ascii=False)
        return _go_json(dict(value))
    return _go_json(list(value))


# Go's json.Marshal escapes these even outside ASCII mode (HTML safety, JS line separators).
_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _go_json(value: dict[str, str] | list[str]) -> str:
    """``value`` as Go's ``json.Marshal`` writes it: compact, map keys sorted."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.translate(_GO_JSON_ESCAPES)


class _Context:
    def __init__(
        self,
        entity: Entity | None,
        groups: Sequence[Group],
        namespace_id: str,
        mode: TemplateMode,
        now: datetime | None,
    ) -> None:
        self.entity = entity
        self.groups = list(groups)
        self.namespace_id = namespace_id
        self.mode = mode
        self.now = now

    def render(self, value: _Value, key: str | None = None) -> str:
        return _render(self.mode, value, key)

    def directive(self, text: str) -> str:
        if text.startswith("identity.entity."):
            if self.entity is None:
                raise TemplateError(NO_ENTITY)
            return self._entity(self.entity, text.removeprefix("identity.entity."))
        if text.startswith("identity.groups."):
            if not self.groups:
                raise TemplateError(NO_GROUPS)
            return self._group(text.removeprefix("identity.groups."))
        if text.startswith("time."):
            return self._time(text.removeprefix("time."))
        raise TemplateError(NOT_FOUND)

    def _attribute(
        self, selector: str, scalars: Mapping[str, str], maps: Mapping[str, Mapping[str, str]]
    ) -> str | None:
        """``id``/``name``-like selectors, and ``<map>`` or ``<map>.<key>`` ones."""
        if selector in scalars:
            return self.render(scalars[selector])
        if selector in maps:
            return self.render(maps[selector])
        head, dot, key = selector.partition(".")
        if dot and head in maps:
            return self.render(maps[head], key)
        return None

    def _entity(self, entity: Entity, selector: str) -> str:
        found = self._attribute(
            selector, {"id": entity.id, "name": entity.name}, {"metadata": entity.metadata}
        )
        if found is not None:
            return found
        if selector == "groups.names":
            return self.render([group.name for group in self.groups])
        if selector == "groups.ids":
            return self.render([group.id for group in self.groups])
        if selector.startswith("aliases."):
            accessor, dot, rest = selector.removeprefix("aliases.").partition(".")
            if not dot:
                raise TemplateError("invalid alias selector")
            alias = next((a for a in entity.aliases if a.mount_accessor == accessor), None)
            if alias is None:
                if self.mode is TemplateMode.ACL:
                    raise TemplateError("alias not found")
                alias = Alias()  # JSON mode renders the defaults of an empty alias
            found = self._attribute(
                rest,
                {"id": alias.id, "name": alias.name},
                {"metadata": alias.metadata, "custom_metadata": alias.custom_metadata},
            )
            if found is not None:
                return found
        raise TemplateError(NOT_FOUND)

    def _group(self, selector: str) -> str:
        by, dot, rest = selector.partition(".")
        if not dot or by not in ("ids", "names"):
            raise TemplateError("invalid groups selector")
        wanted, dot, attribute = rest.partition(".")
        if not dot:
            raise TemplateError("invalid groups accessor")
        found: Group | None = None
        for group in self.groups:
            if by == "ids":
                matches = group.id == wanted
            else:
                in_namespace = not self.namespace_id or group.namespace_id == self.namespace_id
                matches = in_namespace and group.name == wanted
            if matches:
                found = group
                break
        if found is None:
            raise TemplateError(f'entity is not a member of group "{wanted}"')
        # Raw values in both modes, as the host renders them; only an empty name and a
        # missing metadata key count as "not found" there.
        if attribute == "id":
            return found.id
        if attribute == "name":
            if found.name == "":
                raise TemplateError(NOT_FOUND)
            return found.name
        if attribute.startswith("metadata."):
            key = attribute.removeprefix("metadata.")
            if key not in found.metadata:
                raise TemplateError(NOT_FOUND)
            return found.metadata[key]
        raise TemplateError(NOT_FOUND)

    def _time(self, selector: str) -> str:
        parts = selector.split(".", 2)
        if parts[0] != "now":
            raise TemplateError(f'invalid time selector "{parts[0]}"')
        result = self.now or utcnow()
        if len(parts) == 2:
            raise TemplateError("missing time operand")
        if len(parts) == 3:
            try:
                offset = parse_duration_second(parts[2])
            except GoSyntaxError as exc:
                raise TemplateError(f"invalid duration: {exc.reason}") from None
            if parts[1] == "plus":
                result = result + offset
            elif parts[1] == "minus":
                result = result - offset
            else:
                raise TemplateError(f'invalid time operator "{parts[1]}"')
        return str(math.floor(result.timestamp()))


def populate_string(
    template: str,
    *,
    entity: Entity | None = None,
    groups: Sequence[Group] = (),
    namespace_id: str = "",
    mode: TemplateMode = TemplateMode.ACL,
    now: datetime | None = None,
    blocked_substitutions: Sequence[str] = (),
    validity_check_only: bool = False,
) -> tuple[bool, str]:
    """``(had_directives, result)``; raises :class:`TemplateError`.

    With ``validity_check_only`` only the ``{{``/``}}`` structure is checked and the
    result is empty. A substituted value containing any of ``blocked_substitutions`` is
    refused (e.g. ``*`` where the result becomes a path).
    """
    if template == "":
        return False, ""
    pieces = template.split("{{")
    if "}}" in pieces[0]:
        raise TemplateError(UNBALANCED)
    if len(pieces) == 1:
        return False, template
    context = _Context(entity, groups, namespace_id, mode, now)
    out = [] if validity_check_only else [pieces[0]]
    for piece in pieces[1:]:
        inner = piece.split("}}")
        if len(inner) != 2:
            raise TemplateError(UNBALANCED)
        if validity_check_only:
            continue
        value = context.directive(inner[0].strip())
        for blocked in blocked_substitutions:
            if blocked in value:
                raise TemplateError(f"template substitution contains forbidden value {blocked!r}")
        out.append(value)
        out.append(inner[1])
    return True, "".join(out)


def validate_identity_template(template: str) -> bool:
    """Whether ``template`` has directives; raises :class:`TemplateError` when malformed."""
    try:
        has_directives, _ = populate_string(template, validity_check_only=True)
    except TemplateError as exc:
        raise TemplateError(f"failed to validate policy templating: {exc}") from None
    return has_directives


async def populate_identity_template(
    template: str,
    entity_id: str,
    system_view: SystemView,
    *,
    mode: TemplateMode = TemplateMode.ACL,
    now: datetime | None = None,
    blocked_substitutions: Sequence[str] = (),
) -> str:
    """Fill ``template`` for the entity behind a request (``req.entity_id``).

    The entity and its groups (direct and inherited) are fetched from the host only when
    the template has directives, and only for a non-empty ``entity_id``; without an entity,
    an entity directive fails with the host's "no entity was provided" message.
    """
    if not validate_identity_template(template):
        return template
    entity = await system_view.entity_info(entity_id) if entity_id else None
    groups = await system_view.groups_for_entity(entity_id) if entity is not None else []
    # The host already limits the groups to the mount's namespace (inherited ones
    # included), so no namespace filter is applied here, as in Go's helper.
    _, result = populate_string(
        template,
        entity=entity,
        groups=groups,
        mode=mode,
        now=now,
        blocked_substitutions=blocked_substitutions,
    )
    return result
