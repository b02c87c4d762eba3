"""Filling a role's ``user_id`` and ``team_id`` templates for the caller of ``creds``."""

from __future__ import annotations

from vault_plugin_litellm.sdk.framework import (
    TemplateError,
    populate_string,
    validate_identity_template,
)
from vault_plugin_litellm.sdk.logical import Entity, Group, Request, SystemView

from .limits import MAX_ID_LENGTH
from .proxy_errors import Refusal

_NO_ENTITY_HINT = (
    " (the token has no identity entity, e.g. a root token; log in through an auth method "
    "that creates entities)"
)


async def fill_ids(
    role_name: str, templates: dict[str, str], req: Request, system_view: SystemView | None
) -> dict[str, str]:
    """Each template filled for the entity behind ``req``; plain values pass unchanged.

    The entity and its groups are fetched once, and only when a template needs them. A
    template that cannot be filled refuses the request: a key is never minted with an empty
    or literal id.
    """
    templated = {field: t for field, t in templates.items() if t and _has_directives(t)}
    out = {field: value for field, value in templates.items() if field not in templated}
    if not templated:
        return out
    entity: Entity | None = None
    groups: list[Group] = []
    if req.entity_id and system_view is not None:
        entity = await system_view.entity_info(req.entity_id)
        if entity is not None:
            groups = await system_view.groups_for_entity(req.entity_id)
    for field, template in templated.items():
        out[field] = _fill(role_name, field, template, entity, groups)
    return out


def _has_directives(template: str) -> bool:
    try:
        return validate_identity_template(template)
    except TemplateError:
        return True  # refused with the reason when it is filled


def _fill(
    role_name: str, field: str, template: str, entity: Entity | None, groups: list[Group]
) -> str:
    what = f'role "{role_name}": the {field} template {template!r} cannot be filled for this caller'
    try:
        _, value = populate_string(template, entity=entity, groups=groups)
    except TemplateError as exc:
        hint = _NO_ENTITY_HINT if entity is None else ""
        raise Refusal(f"{what}: {exc}{hint}") from None
    if not value.strip():
        raise Refusal(f"{what}: it gives an empty value")
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise Refusal(
            f"{what}: it gives a value that is not 1 to {MAX_ID_LENGTH} printable characters"
        )
    return value
