"""``key_alias_template``: how the alias of each minted key is made.

LiteLLM requires aliases to be unique across all live keys, and its check is not atomic, so
the default template ends in 64 random bits: collisions do not happen in practice, and when
one does the engine retries with new bits. A template without ``{{random}}`` must make aliases
unique some other way (``{{request_id}}``); a collision is then refused with a clear 400.

Aliases also have to pass LiteLLM's optional strict format (2 to 255 characters of
``A-Z a-z 0-9 _ - / . @``, starting and ending with a letter or digit), so that the engine
works on proxies that enable it. Placeholder values are reduced to that alphabet.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from .limits import MAX_ALIAS_LENGTH, MAX_ALIAS_TEMPLATE

PLACEHOLDERS = (
    "role",
    "mount",
    "random",
    "unix_time",
    "display_name",
    "entity_id",
    "request_id",
)
DEFAULT_ALIAS_TEMPLATE = "vault-{{mount}}-{{role}}-{{random}}"

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+)\s*\}\}")
_LITERAL = re.compile(r"[A-Za-z0-9_.@/-]*")
_OUTSIDE_ALPHABET = re.compile(r"[^A-Za-z0-9_.@/-]+")
_ALIAS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.@/-]*[A-Za-z0-9])?")
FIELD = "key_alias_template"


class AliasTemplateError(ValueError):
    """The template (or an alias rendered from it) is not usable; the text names the field."""


@dataclass(frozen=True, slots=True)
class AliasTemplate:
    text: str
    parts: tuple[tuple[bool, str], ...]  # (is_placeholder, literal text or placeholder name)

    @property
    def has_random(self) -> bool:
        return any(is_name and value == "random" for is_name, value in self.parts)

    def render(self, values: Mapping[str, str]) -> str:
        """The alias for one key; ``values`` has every placeholder but ``random``."""
        out: list[str] = []
        for is_name, value in self.parts:
            if not is_name:
                out.append(value)
            elif value == "random":
                out.append(secrets.token_hex(8))
            else:
                out.append(_OUTSIDE_ALPHABET.sub("-", values.get(value, "")))
        alias = "".join(out)
        check_alias(alias)
        return alias


def parse(text: str) -> AliasTemplate:
    if len(text) > MAX_ALIAS_TEMPLATE:
        raise AliasTemplateError(
            f"{FIELD}: at most {MAX_ALIAS_TEMPLATE} characters, got {len(text)}"
        )
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        _literal(text[position : match.start()], parts)
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise AliasTemplateError(
                f"{FIELD}: unknown placeholder {{{{{name}}}}}; use "
                + ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
            )
        parts.append((True, name))
        position = match.end()
    _literal(text[position:], parts)
    if not parts:
        raise AliasTemplateError(f"{FIELD}: may not be empty")
    return AliasTemplate(text, tuple(parts))


def _literal(text: str, parts: list[tuple[bool, str]]) -> None:
    if not text:
        return
    if "{{" in text or "}}" in text:
        raise AliasTemplateError(f"{FIELD}: unbalanced '{{{{' or '}}}}' in {text!r}")
    if not _LITERAL.fullmatch(text):
        raise AliasTemplateError(
            f"{FIELD}: {text!r} has characters LiteLLM may refuse in an alias; use letters, "
            "digits and _ - / . @ outside placeholders"
        )
    parts.append((False, text))


def check_alias(alias: str) -> None:
    if not 2 <= len(alias) <= MAX_ALIAS_LENGTH:
        raise AliasTemplateError(
            f"{FIELD}: the alias it makes has {len(alias)} characters; LiteLLM takes 2 to "
            f"{MAX_ALIAS_LENGTH}"
        )
    if not _ALIAS.fullmatch(alias) or ".." in alias.split("/"):
        raise AliasTemplateError(
            f"{FIELD}: the alias it makes ({alias!r}) must start and end with a letter or "
            "digit and may not contain a '..' segment"
        )
