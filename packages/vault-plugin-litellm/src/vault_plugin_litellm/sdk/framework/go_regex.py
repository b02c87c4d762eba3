"""Path patterns in Go's (RE2) syntax, translated to Python ``re`` and checked for backtracking.

Go compiles path patterns with RE2, which runs in linear time; Python's ``re`` backtracks.
:func:`compile_path_pattern` turns a Go pattern into a compiled Python pattern that routes
the same paths, or raises :class:`ValueError` at declaration:

- RE2 spellings Python reads differently are rewritten (:func:`go_regex_to_python`):
  ``[\\w-.]``, ``\\z``, ``(?<name>``, ``\\s`` (RE2: ``[\\t\\n\\f\\r ]``, without ``\\v``), POSIX
  classes such as ``[[:alpha:]]`` (ASCII sets, as in RE2), ``x{,3}`` (literal text in RE2),
  and a ``[`` or doubled ``&``/``~``/``|`` inside a class (literal in both, but Python
  warns about future set operations);
- RE2 syntax Python lacks fails to compile: ``\\pL``/``\\p{Greek}``, ``\\Q...\\E``,
  ``\\x{41}``, ``\\C``, the ``(?U)`` flag, flags after the start (``a(?i)b``; write
  ``a(?i:b)``); so do repeat counts above 1000, as in RE2;
- a repeated group whose body contains an unbounded quantifier (``(\\w+\\.?)+``) is
  refused (:func:`check_backtracking`): Python needs exponential time to reject some
  paths with it, and one slow request would stall every mount the process serves.

Differences that remain: ``(?i)`` folds ASCII letters only (RE2 also folds e.g. the Kelvin
sign to ``k``); Python-only syntax (lookarounds, backreferences, atomic groups, possessive
quantifiers) is accepted here although Go would refuse the pattern. The backtracking check
is syntactic and errs towards refusing (``(?:a+){2}`` is refused though only quadratic); it
does not detect overlapping alternatives under a repetition (``(a|aa)+``, ``(ab?|b)+``) or
long chains of ``.*`` (polynomial), so keep repeated alternatives distinct.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from .regex_parse import Branches, Node, parse

_CLASS_ESCAPES = "wWdDsS"
_MAX_CODEPOINT = 0x10FFFF
_RE2_MAX_REPEAT = 1000

# RE2's \s and its ASCII POSIX classes, as code point ranges.
_Ranges = tuple[tuple[int, int], ...]
_PERL_SPACE: _Ranges = ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20))
_POSIX: dict[str, _Ranges] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_POSIX_CLASS = re.compile(r"\[:(\^?)([a-z]*):\]")


def _complement(ranges: _Ranges) -> _Ranges:
    out: list[tuple[int, int]] = []
    low = 0
    for start, end in sorted(ranges):
        if start > low:
            out.append((low, start - 1))
        low = max(low, end + 1)
    if low <= _MAX_CODEPOINT:
        out.append((low, _MAX_CODEPOINT))
    return tuple(out)


def _class_char(code: int) -> str:
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _class_body(ranges: _Ranges) -> str:
    """Ranges as the inside of a Python character class (every special character escaped)."""
    parts = []
    for start, end in ranges:
        if start == end:
            parts.append(_class_char(start))
        else:
            parts.append(f"{_class_char(start)}-{_class_char(end)}")
    return "".join(parts)


_SPACE_BODY = _class_body(_PERL_SPACE)
_NOT_SPACE_BODY = _class_body(_complement(_PERL_SPACE))


def _posix_body(pattern: str, name: str, negated: bool) -> str:
    ranges = _POSIX.get(name)
    if ranges is None:
        raise ValueError(
            f"path pattern {pattern!r} uses an unknown POSIX class [:{name}:]; "
            f"known: {', '.join(sorted(_POSIX))}"
        )
    return _class_body(_complement(ranges) if negated else ranges)


class _ClassWriter:
    """Writes one character class (``[`` already consumed) and returns where it ended.

    It tracks whether the previous item could start a range, so that a ``-`` that RE2
    reads as a literal (after a class such as ``\\w``) is escaped for Python.
    """

    def __init__(self, pattern: str, start: int, out: list[str]) -> None:
        self.pattern = pattern
        self.i = start
        self.out = out
        # "start", "char" (may begin a range), "range" (a "-" range operator was written),
        # "set" (a class or a finished range: a following "-" is a literal)
        self.previous = "start"

    def _next_is(self, text: str) -> bool:
        return self.pattern.startswith(text, self.i)

    def _item(self, text: str, kind: str) -> None:
        self.out.append(text)
        self.previous = "set" if self.previous == "range" and kind == "char" else kind

    def write(self) -> int:
        pattern = self.pattern
        n = len(pattern)
        if self._next_is("^"):
            self.out.append("^")
            self.i += 1
        if self._next_is("]"):  # a "]" first is a literal, in both dialects
            self._item("]", "char")
            self.i += 1
        while self.i < n:
            c = pattern[self.i]
            if c == "]":
                self.out.append("]")
                return self.i + 1
            if c == "\\" and self.i + 1 < n:
                self._escape(pattern[self.i + 1])
                continue
            posix = _POSIX_CLASS.match(pattern, self.i)
            if posix is not None:
                body = _posix_body(pattern, posix.group(2), posix.group(1) == "^")
                self._item(body, "set")
                self.i = posix.end()
                continue
            self.i += 1
            if c == "[":
                self._item("\\[", "char")
            elif c in "&~|" and self._next_is(c):
                self._item("\\" + c, "char")
            elif c == "-":
                self._hyphen()
            else:
                self._item(c, "char")
        return self.i  # unterminated: Python reports it when compiling

    def _escape(self, escape: str) -> None:
        self.i += 2
        if escape == "s":
            self._item(_SPACE_BODY, "set")
        elif escape == "S":
            self._item(_NOT_SPACE_BODY, "set")
        else:
            self._item("\\" + escape, "set" if escape in _CLASS_ESCAPES else "char")

    def _hyphen(self) -> None:
        if self.previous == "range":  # the end of a range ("[!--]")
            self.out.append("\\-")
            self.previous = "set"
        elif self._next_is("]"):  # last: a literal in both dialects
            self.out.append("-")
            self.previous = "char"
        elif self.previous == "char":  # a range operator
            self.out.append("-")
            self.previous = "range"
        else:
            # After a class or a finished range RE2 reads "-" as a literal; it may itself
            # begin a range ("[\\w--z]"), which the escaped form also does in Python.
            self.out.append("\\-")
            self.previous = "char"


def go_regex_to_python(pattern: str) -> str:
    """Rewrite the RE2 constructs Python reads differently (see the module notes); raises
    :class:`ValueError` for an unknown POSIX class."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            escape = pattern[i + 1]
            i += 2
            if escape == "z":
                out.append(r"\Z")
            elif escape == "s":
                out.append(f"[{_SPACE_BODY}]")
            elif escape == "S":
                out.append(f"[^{_SPACE_BODY}]")
            else:
                out.append("\\" + escape)
            continue
        if c == "[":
            out.append("[")
            i = _ClassWriter(pattern, i + 1, out).write()
            continue
        if c == "{" and pattern.startswith(",", i + 1):
            out.append("\\{")  # "{,n}" is a repeat in Python, literal text in RE2
            i += 1
            continue
        if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


# -- the backtracking check -----------------------------------------------------------------


def _contains_unbounded(branches: Sequence[Sequence[Node]]) -> bool:
    """Whether a backtracking, unbounded repetition occurs anywhere in ``branches``."""
    for branch in branches:
        for node in branch:
            if node.kind == "repeat":
                assert node.child is not None
                if node.high is None and not node.possessive:
                    return True
                child = node.child
                if (
                    child.kind == "group"
                    and not child.atomic
                    and _contains_unbounded(child.branches)
                ):
                    return True
            elif node.kind == "group" and not node.atomic and _contains_unbounded(node.branches):
                return True
    return False


_PROBE_FLAGS = re.ASCII | re.IGNORECASE | re.DOTALL  # the widest reading of each character


# Every Latin-1 character and a few beyond; with each character a pattern names, two of its
# classes that share a character share one of these (overlapping ranges share an end).
_BASE_PROBES = frozenset(chr(code) for code in [*range(256), 0x100, 0xFFFF, _MAX_CODEPOINT])


def _flat_sequence(branches: list[list[Node]]) -> list[Node] | None:
    """The body as a sequence of single characters (possibly repeated), else ``None``."""
    while len(branches) == 1 and len(branches[0]) == 1 and branches[0][0].kind == "group":
        inner = branches[0][0]
        if inner.atomic or inner.assertion:
            return None
        branches = inner.branches
    if len(branches) != 1:
        return None
    sequence = branches[0]
    for node in sequence:
        target = node.child if node.kind == "repeat" else node
        if target is None or target.kind != "char":
            return None
    return sequence


def _is_delimited(body: list[list[Node]], source: str) -> bool:
    """Whether each repetition of ``body`` starts or ends with a character that nothing else
    in it can match (``(/\\w+)*``, ``(\\w+\\.)+``): then the repeated text splits into
    repetitions in one way only, and matching stays polynomial."""
    sequence = _flat_sequence(body)
    if sequence is None or len(sequence) < 2:
        return False
    probes = _BASE_PROBES | set(source)
    for delimiter in (sequence[0], sequence[-1]):
        if delimiter.kind != "char":
            continue
        own = re.compile(delimiter.text, _PROBE_FLAGS)
        shared = [c for c in probes if own.fullmatch(c)]
        others = [node for node in sequence if node is not delimiter]
        if all(_disjoint(node, shared) for node in others):
            return True
    return False


def _disjoint(node: Node, characters: list[str]) -> bool:
    target = node.child if node.kind == "repeat" else node
    assert target is not None
    compiled = re.compile(target.text, _PROBE_FLAGS)
    return not any(compiled.fullmatch(c) for c in characters)


def _check(pattern: str, branches: list[list[Node]], source: str) -> None:
    for branch in branches:
        for node in branch:
            child = node.child
            if node.kind == "repeat" and child is not None and child.kind == "group":
                repeated = node.high is None or node.high > 1
                if (
                    repeated
                    and not node.possessive
                    and not child.atomic
                    and _contains_unbounded(child.branches)
                    and not _is_delimited(child.branches, source)
                ):
                    raise ValueError(
                        f"path pattern {pattern!r} repeats a group that itself contains an "
                        f"unbounded repetition ({node.text}); Python's matcher can need "
                        "exponential time to reject a path with it, stalling the plugin. "
                        "Write it in a linear form: one character class (e.g. [\\w.]+ "
                        "instead of (\\w+\\.?)+), or a group that starts or ends with a "
                        "separator nothing else in it matches (e.g. \\w+(?:/\\w+)*)"
                    )
                _check(pattern, child.branches, source)
            elif node.kind == "group":
                _check(pattern, node.branches, source)


def _check_repeat_counts(pattern: str, branches: Branches) -> None:
    """Refuse repeat counts above RE2's limit, as Go would."""
    for branch in branches:
        for node in branch:
            if node.kind == "repeat" and max(node.low, node.high or 0) > _RE2_MAX_REPEAT:
                raise ValueError(
                    f"path pattern {pattern!r} repeats something more than "
                    f"{_RE2_MAX_REPEAT} times ({node.quantifier}), which Go's RE2 refuses"
                )
            inner = node.child if node.kind == "repeat" else node
            if inner is not None and inner.kind == "group":
                _check_repeat_counts(pattern, inner.branches)


def check_backtracking(pattern: str, translated: str) -> None:
    """Raise :class:`ValueError` when ``translated`` (the Python form of ``pattern``) repeats
    something more often than RE2 allows, or repeats a group holding an unbounded repetition
    in a way that can backtrack exponentially."""
    branches = parse(translated)
    _check_repeat_counts(pattern, branches)
    _check(pattern, branches, translated)


@functools.lru_cache(maxsize=1024)  # every mount declares the same paths again
def _translated(pattern: str) -> tuple[str, re.Pattern[str]]:
    translated = go_regex_to_python(pattern)
    try:
        return translated, re.compile(translated, re.ASCII)
    except re.error as exc:
        raise ValueError(f"path pattern {pattern!r} does not compile: {exc}") from None


@functools.lru_cache(maxsize=1024)
def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled Python form of a Go path pattern; :class:`ValueError` when it cannot be
    compiled or could backtrack exponentially."""
    translated, compiled = _translated(pattern)
    check_backtracking(pattern, translated)
    return compiled


def pattern_structure(pattern: str) -> Branches:
    """The parsed Python form of a Go path pattern (:mod:`.regex_parse`); :class:`ValueError`
    when it does not compile."""
    return parse(_translated(pattern)[0])
