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

from .path import Path

_META = "\\.^$|?*+()[]{}"
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]*:\]")


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
    if _has_top_level_alternation(pattern):
        body = pattern.removeprefix("^")
        if _ends_with_anchor(body):
            body = body[:-1]
        return f"^(?:{body})$"
    if not pattern.startswith("^"):
        pattern = "^" + pattern
    if not _ends_with_anchor(pattern):
        pattern += "$"
    return pattern


def _has_top_level_alternation(pattern: str) -> bool:
    depth = 0
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            posix = _POSIX_CLASS.match(pattern, i) if c == "[" else None
            if posix is not None:
                i = posix.end()
                continue
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # a leading "]" is a literal, not the end of the class
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


def literal_prefix(pattern: str) -> str:
    """The text every match must start with (possibly ``""``), to skip patterns cheaply."""
    if _has_top_level_alternation(pattern):
        return ""
    start = 1 if pattern.startswith("^") else 0
    out: list[str] = []
    for c in pattern[start:]:
        if c in _META:
            if c in "?*{" and out:
                out.pop()  # the quantifier makes the previous character optional
            break
        out.append(c)
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
