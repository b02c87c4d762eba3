"""Help text for ``path-help``: the backend overview and the page of one path.

The layout follows Go plugins ("## DESCRIPTION" and "## PATHS" at the root; "Request:",
"Matching Route:", "## PARAMETERS" and "## DESCRIPTION" per path) so that operators read
Python and Go plugins alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from .router import CompiledPath

_NO_SYNOPSIS = "<no synopsis>"
_NO_DESCRIPTION = "<no description>"


def indent(text: str, width: int) -> str:
    prefix = " " * width
    return "\n".join(prefix + line for line in text.splitlines())


def root_help(description: str, paths: Iterable[CompiledPath]) -> str:
    """The backend overview: its description and every route with its synopsis."""
    lines = ["## DESCRIPTION", "", description.strip(), "", "## PATHS", ""]
    lines.append(
        "Help is available on every path below: ask for help on any path that matches a\n"
        "route. Which operations you may perform depends on the policies of your token."
    )
    lines.append("")
    for compiled in sorted(paths, key=lambda c: c.route):
        lines.append(indent(compiled.route, 4))
        synopsis = compiled.path.help_synopsis.strip()
        if synopsis:
            lines.append(indent(synopsis, 8))
        lines.append("")
    return "\n".join(lines).strip()


def path_help(request_path: str, compiled: CompiledPath) -> str:
    """The page of one path: the route that matched, its fields and its description."""
    path = compiled.path
    lines = [
        f"Request:        {request_path}",
        f"Matching Route: {compiled.route}",
        "",
        path.help_synopsis.strip() or _NO_SYNOPSIS,
        "",
    ]
    if path.fields:
        lines.extend(["## PARAMETERS", ""])
        for name in sorted(path.fields):
            schema = path.fields[name]
            description = schema.description.strip() or _NO_DESCRIPTION
            if schema.deprecated:
                description = f"(DEPRECATED) {description}"
            lines.extend([indent(f"{name} ({schema.type.label})", 4), ""])
            lines.extend([indent(description, 8), ""])
    lines.extend(["## DESCRIPTION", "", path.help_description.strip() or _NO_DESCRIPTION])
    return "\n".join(lines).strip()
