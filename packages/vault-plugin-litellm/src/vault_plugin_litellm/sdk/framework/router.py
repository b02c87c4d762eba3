"""Matching a request path to the first declared path whose pattern matches it in full.

Go compiles path patterns as RE2, anchored. Three Python differences would silently change
routing, so every pattern goes through :func:`go_regex_to_python` and is compiled with
``re.ASCII`` and matched with ``fullmatch``:

- ``\\w`` is Unicode in Python and ASCII in Go;
- ``$`` also matches before a trailing newline in Python;
- ``[\\w-.]`` (a literal ``-`` after a class escape) is an error in Python.

Every request that reaches a path is routed, often twice (``resolve-path`` then the
operation), so patterns are compiled once and each carries its literal prefix, which
rules most candidates out with a ``startswith`` before any regex runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .path import Path

_CLASS_ESCAPES = "wWdDsS"
_META = "\\.^$|?*+()[]{}"


def go_regex_to_python(pattern: str) -> str:
    """Rewrite the RE2 constructs Python reads differently: ``[\\w-.]`` -> ``[\\w\\-.]``,
    ``\\z`` -> ``\\Z``, ``(?<name>`` -> ``(?P<name>``."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_class = False
    class_body_start = -1
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            escape = pattern[i + 1]
            i += 2
            if escape == "z" and not in_class:
                out.append(r"\Z")
                continue
            out.append("\\" + escape)
            if (
                in_class
                and escape in _CLASS_ESCAPES
                and i + 1 < n
                and pattern[i] == "-"
                and pattern[i + 1] != "]"
            ):
                out.append(r"\-")
                i += 1
            continue
        if in_class:
            if c == "]" and i != class_body_start:
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_body_start = i  # a "]" right here is a literal, as in both dialects
            continue
        if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def anchored(pattern: str) -> str:
    """The pattern with ``^``/``$`` added as Go adds them (shown as the matching route)."""
    if not pattern.startswith("^"):
        pattern = "^" + pattern
    if not pattern.endswith("$"):
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
    """A declared path with its compiled pattern; ``route`` is the pattern as Go shows it."""

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
            try:
                regex = re.compile(go_regex_to_python(path.pattern), re.ASCII)
            except re.error as exc:
                raise ValueError(f"path pattern {path.pattern!r} does not compile: {exc}") from None
            compiled.append(
                CompiledPath(
                    path, index, regex, literal_prefix(path.pattern), anchored(path.pattern)
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
            captures = {k: "" if v is None else v for k, v in match.groupdict().items()}
            return candidate, captures
        return None
