"""The engine's path reference (``docs/paths.md``), written from its own path declarations.

Every parameter, type, default, operation and help text comes from the ``Path`` and
``FieldSchema`` objects the engine serves, so the reference cannot say something the engine
does not do. The repository keeps the rendered file and a test fails when it is stale.

    python -m vault_plugin_litellm.engine.reference            # print it
    python -m vault_plugin_litellm.engine.reference FILE       # write it
    python -m vault_plugin_litellm.engine.reference --check FILE
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Any

from vault_plugin_litellm.sdk.framework import (
    Backend,
    FieldSchema,
    FieldType,
    Path,
    expand_pattern,
)
from vault_plugin_litellm.sdk.framework.goparse import human_duration
from vault_plugin_litellm.sdk.framework.router import anchored
from vault_plugin_litellm.sdk.logical import Operation

MOUNT = "litellm"
REGENERATE = "make docs"
REGENERATE_DIRECT = "uv run python -m vault_plugin_litellm.engine.reference docs/paths.md"

# How an operator writes a value of each type: on the command line (key=value) or in JSON.
_TYPE_HINTS: dict[FieldType, str] = {
    FieldType.STRING: "string",
    FieldType.LOWERCASE_STRING: "string (lower-cased)",
    FieldType.NAME_STRING: "name",
    FieldType.INT: "integer",
    FieldType.INT64: "integer",
    FieldType.FLOAT: "number",
    FieldType.BOOL: "boolean (`true`/`false`)",
    FieldType.DURATION_SECOND: "duration (seconds, or `90s`, `10m`, `1h`)",
    FieldType.SIGNED_DURATION_SECOND: "duration (seconds, or `90s`, `10m`, `1h`; may be negative)",
    FieldType.MAP: "JSON object",
    FieldType.KV_PAIRS: "key=value pairs (a JSON object, or `k=v` repeated)",
    FieldType.SLICE: "list (JSON array)",
    FieldType.STRING_SLICE: "list of strings (JSON array)",
    FieldType.COMMA_STRING_SLICE: "list of strings (JSON array, or `a,b,c`)",
    FieldType.COMMA_INT_SLICE: "list of integers (JSON array, or `1,2,3`)",
    FieldType.HEADER: "HTTP headers (JSON object of lists)",
    FieldType.TIME: "time (RFC 3339 or Unix seconds)",
}

# Operations in the order a reader meets them, with HTTP verb and CLI verb.
_OPERATIONS: tuple[tuple[Operation, str, str], ...] = (
    (Operation.READ, "GET", "read"),
    (Operation.LIST, "LIST (or GET `?list=true`)", "list"),
    (Operation.CREATE, "POST / PUT (new)", "write"),
    (Operation.UPDATE, "POST / PUT", "write"),
    (Operation.PATCH, "PATCH", "patch"),
    (Operation.DELETE, "DELETE", "delete"),
)

_HEADER = f"""\
# Path reference

<!-- Generated from the engine's path definitions by vault_plugin_litellm.engine.reference.
     Do not edit by hand. Regenerate with `{REGENERATE}`, or:
     {REGENERATE_DIRECT} -->

Every path of the LiteLLM secrets engine, its operations and its parameters, as the engine
declares them (the same text `bao path-help` shows). Paths are relative to the mount; the
examples assume the engine is mounted at `{MOUNT}/`. How to use them together is in
[operator-guide.md](operator-guide.md).

Parameters are sent as JSON in the request body, or as `key=value` arguments of `bao write` /
`vault write`; on a read (`creds/<name>`) only the path names the parameter. A parameter shown with
no default is unset unless given.
"""


def _prose(text: str) -> str:
    """Help text as Markdown shows it literally: ``creds/<name>`` is not an HTML tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """One line of a Markdown table cell."""
    return _prose(" ".join(text.split())).replace("|", "\\|")


def _default(schema: FieldSchema) -> str:
    if schema.default is None:
        return "—"
    value: Any = schema.default_or_zero()
    if schema.type.is_duration:
        seconds = int(value)
        return "`0`" if seconds == 0 else f"`{human_duration(timedelta(seconds=seconds))}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{value}`"


def _route(path: Path) -> str:
    """The path as operators write it, e.g. ``roles/<name>``."""
    variants = expand_pattern(path.pattern)
    shown = [v.replace("{", "<").replace("}", ">") for v in variants]
    return " or ".join(shown) if shown else path.pattern


def _anchor(route: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in route).strip("-") or "root"


def _operations(path: Path, route: str) -> list[str]:
    lines = ["| operation | HTTP | CLI | what it does |", "|---|---|---|---|"]
    for operation, http, cli in _OPERATIONS:
        handler = path.handlers.get(operation)
        if handler is None:
            continue
        summary = handler.summary or path.help_synopsis
        command = f"`bao {cli} {MOUNT}/{route}`"
        lines.append(f"| {operation.value} | {http} | {command} | {_cell(summary)} |")
    return lines


def _parameters(path: Path) -> list[str]:
    if not path.fields:
        return ["No parameters."]
    captured = set(path.regex.groupindex)
    lines = [
        "| parameter | in | type | default | description |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(path.fields, key=lambda n: (n not in captured, n)):
        schema = path.fields[name]
        where = "path" if name in captured else "body"
        description = schema.description
        if schema.required and name not in captured:
            description = f"Required. {description}"
        if schema.deprecated:
            description = f"(Deprecated) {description}"
        if schema.allowed_values:
            allowed = ", ".join(f"`{v}`" for v in schema.allowed_values)
            description = f"{description} One of: {allowed}."
        lines.append(
            f"| `{name}` | {where} | {_TYPE_HINTS[schema.type]} | {_default(schema)} | "
            f"{_cell(description)} |"
        )
    return lines


def _path_section(path: Path) -> list[str]:
    route = _route(path)
    lines = [
        f'<a id="{_anchor(route)}"></a>',
        "",
        f"## `{route}`",
        "",
        _cell(path.help_synopsis) or "(no synopsis)",
        "",
        f"Matching route: `{anchored(path.pattern)}`",
        "",
        *_operations(path, route),
        "",
        "### Parameters",
        "",
        *_parameters(path),
        "",
    ]
    if path.help_description.strip():
        lines += ["### Description", "", _prose(path.help_description.strip()), ""]
    return lines


def _secret_section(backend: Backend) -> list[str]:
    lines = ["## Leases", ""]
    for name in sorted(backend.secrets):
        secret = backend.secrets[name]
        renew = (
            "`bao lease renew -increment=<duration> <lease_id>` (`PUT sys/leases/renew`)"
            if secret.renewable
            else "not renewable"
        )
        lines += [
            f"### Secret type `{name}`",
            "",
            f"Issued by every read of `creds/<name>`. Renew: {renew}. Revoke: "
            "`bao lease revoke <lease_id>` (`PUT sys/leases/revoke`), or let the lease expire. "
            "These go through the server's `sys/leases` endpoints, never the mount.",
            "",
        ]
    return lines


def render(backend: Backend) -> str:
    """The Markdown reference of ``backend``'s paths and secrets."""
    ordered = sorted(backend.paths, key=lambda p: _route(p))
    lines = [_HEADER, "## Contents", ""]
    for path in ordered:
        route = _route(path)
        lines.append(f"- [`{route}`](#{_anchor(route)}): {_cell(path.help_synopsis)}")
    lines.append("- [Leases](#leases)")
    lines += ["", "## The engine", "", _prose(backend.help_text.strip()), ""]
    for path in ordered:
        lines += _path_section(path)
    lines += _secret_section(backend)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_engine() -> str:
    """The reference of the LiteLLM engine as this version declares it."""
    from .backend import LiteLLMBackend

    return render(LiteLLMBackend())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vault_plugin_litellm.engine.reference",
        description="Write the engine's path reference (Markdown) from its path definitions.",
    )
    parser.add_argument("file", nargs="?", help="write here (default: print)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if FILE differs from what would be written"
    )
    args = parser.parse_args(argv)
    text = render_engine()
    if args.file is None:
        if args.check:
            parser.error("--check needs FILE")
        sys.stdout.write(text)
        return 0
    target = FilePath(args.file)
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == text:
            return 0
        print(f"{target} is out of date: run `{REGENERATE}`", file=sys.stderr)
        return 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
