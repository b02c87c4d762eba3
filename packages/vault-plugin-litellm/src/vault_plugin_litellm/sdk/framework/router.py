"""Matching a request path to the first declared path whose pattern matches it in full.

Go compiles path patterns as RE2 and anchors them by adding ``^``/``$`` where missing.
Here each pattern is translated and compiled when its :class:`~.path.Path` is declared
(:mod:`.go_regex`: ``\\w`` is ASCII as in Go, ``[\\w-.]`` works, exponential patterns are
refused) and matched with ``fullmatch``, so ``$`` never matches before a trailing newline
and the whole path must match even where Go's anchoring would not reach: a top-level
``a|b`` (Go: anything starting with ``a``) or a pattern ending in ``\\$`` (Go: unanchored
at the end). The route shown in help is what is really matched.

Every request that reaches a path is routed, often twice (``resolve-path`` then the
operation), so each pattern carries its literal prefix, which rules most candidates out
with a ``startswith`` before any regex runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .go_regex import pattern_structure
from .path import Path
from .regex_parse import literal


def _ends_with_anchor(pattern: str) -> bool:
    """Whether the pattern ends with a ``$`` that is an anchor, not an escaped ``\\$``."""
    if not pattern.endswith("$"):
        return False
    body = pattern[:-1]
    backslashes = len(body) - len(body.rstrip("\\"))
    return backslashes % 2 == 0


def anchored(pattern: str) -> str:
    """The route as it is matched, for help: Go's spelling (``^`` and ``$`` added where
    missing) when that means the same, else the whole pattern in ``^(?:...)$``."""
    if len(pattern_structure(pattern)) > 1:  # a top-level "|"
        body = pattern.removeprefix("^")
        if _ends_with_anchor(body):
            body = body[:-1]
        return f"^(?:{body})$"
    if not pattern.startswith("^"):
        pattern = "^" + pattern
    if not _ends_with_anchor(pattern):
        pattern += "$"
    return pattern


def literal_prefix(pattern: str) -> str:
    """The text every match must start with (possibly ``""``), to skip patterns cheaply."""
    branches = pattern_structure(pattern)
    if len(branches) > 1:
        return ""
    nodes = branches[0]
    if nodes and nodes[0].kind == "zero" and nodes[0].text in ("^", "\\A"):
        nodes = nodes[1:]
    out: list[str] = []
    for node in nodes:
        if node.kind == "repeat" and node.child is not None:
            char = literal(node.child)
            if char is not None and node.low >= 1:
                out.append(char)  # at least once; what follows may vary
            break
        char = literal(node)
        if char is None:  # a class, a group, flags such as (?i), an anchor
            break
        out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A declared path with its compiled pattern; ``route`` is the pattern as it is matched
    (see :func:`anchored`), for help."""

    path: Path
    index: int
    regex: re.Pattern[str]
    prefix: str
    route: str


class Router:
    """Routes request paths to declared paths, in declaration order."""

    __slots__ = ("compiled",)

    def __init__(self, paths: Sequence[Path]) -> None:
        compiled: list[CompiledPath] = []
        for index, path in enumerate(paths):
            compiled.append(
                CompiledPath(
                    path, index, path.regex, literal_prefix(path.pattern), anchored(path.pattern)
                )
            )
        self.compiled: tuple[CompiledPath, ...] = tuple(compiled)

    def route(self, request_path: str) -> tuple[CompiledPath, dict[str, str]] | None:
        """The first matching path and its captures (an unmatched optional capture is
        ``""``, as in Go), or ``None``."""
        for candidate in self.compiled:
            if not request_path.startswith(candidate.prefix):
                continue
            match = candidate.regex.fullmatch(request_path)
            if match is None:
                continue
            return candidate, match.groupdict("")
        return None
