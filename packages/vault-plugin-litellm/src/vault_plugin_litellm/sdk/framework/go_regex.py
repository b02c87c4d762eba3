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
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class _Node:
    """A parsed piece of a (valid) Python pattern.

    ``kind``: ``char`` (one character: literal, escape, class or ``.``), ``zero`` (an anchor
    or assertion without a body), ``other`` (a backreference), ``group``, ``repeat``.
    """

    kind: str
    text: str = ""
    branches: list[list[_Node]] = field(default_factory=list)  # group bodies
    child: _Node | None = None  # repeat
    high: int | None = None  # the most repetitions; None: unbounded
    possessive: bool = False
    atomic: bool = False
    assertion: bool = False


_REPEAT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_HEX_LENGTHS = {"x": 2, "u": 4, "U": 8}


class _Parser:
    """A small recursive-descent reader of Python regex syntax, enough to find repetitions.

    It runs only on patterns that already compiled, so it does not report syntax errors.
    """

    def __init__(self, pattern: str, source: str) -> None:
        self.pattern = pattern  # the Go pattern, for messages
        self.text = source
        self.i = 0

    def parse(self) -> list[list[_Node]]:
        return self._alternation()

    def _alternation(self) -> list[list[_Node]]:
        branches = [self._sequence()]
        while self.i < len(self.text) and self.text[self.i] == "|":
            self.i += 1
            branches.append(self._sequence())
        return branches

    def _sequence(self) -> list[_Node]:
        items: list[_Node] = []
        text = self.text
        while self.i < len(text) and text[self.i] not in "|)":
            start = self.i
            atom = self._atom()
            if atom is None:
                continue
            items.append(self._quantified(atom, start))
        return items

    def _quantified(self, atom: _Node, start: int) -> _Node:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c in "*+?":
                high = 1 if c == "?" else None
                self.i += 1
            elif c == "{" and (found := _REPEAT.match(text, self.i)) and found.group() != "{}":
                high = self._most(found)
                self.i = found.end()
            else:
                return atom
            possessive = False
            if self.i < len(text) and text[self.i] in "?+":
                possessive = text[self.i] == "+"
                self.i += 1
            atom = _Node(
                "repeat", text=text[start : self.i], child=atom, high=high, possessive=possessive
            )
        return atom

    def _most(self, found: re.Match[str]) -> int | None:
        """The upper bound of ``{m}``, ``{m,}`` or ``{m,n}`` (refused above RE2's limit)."""
        low_text, comma, high_text = found.groups()
        low = int(low_text) if low_text else 0
        high = int(high_text) if high_text else (None if comma else low)
        if max(low, high or 0) > _RE2_MAX_REPEAT:
            raise ValueError(
                f"path pattern {self.pattern!r} repeats something more than "
                f"{_RE2_MAX_REPEAT} times ({found.group()}), which Go's RE2 refuses"
            )
        return high

    def _atom(self) -> _Node | None:
        text = self.text
        c = text[self.i]
        if c == "(":
            return self._group()
        if c == "[":
            return self._class()
        if c == "\\":
            return self._escape()
        self.i += 1
        if c in "^$":
            return _Node("zero", text=c)
        return _Node("char", text=c)

    def _class(self) -> _Node:
        text = self.text
        start = self.i
        self.i += 1
        if text.startswith("^", self.i):
            self.i += 1
        if text.startswith("]", self.i):
            self.i += 1
        while self.i < len(text) and text[self.i] != "]":
            self.i += 2 if text[self.i] == "\\" else 1
        self.i += 1
        return _Node("char", text=text[start : self.i])

    def _escape(self) -> _Node:
        text = self.text
        start = self.i
        escape = text[self.i + 1]
        self.i += 2
        if escape in "bBAZ":
            return _Node("zero", text=text[start : self.i])
        if escape in _HEX_LENGTHS:
            self.i += _HEX_LENGTHS[escape]
        elif escape == "N":
            self.i = text.index("}", self.i) + 1
        elif escape == "0":
            while self.i < len(text) and self.i - start < 4 and text[self.i] in "01234567":
                self.i += 1
        elif escape.isdigit():
            digits = text[start + 1 : start + 4]
            if len(digits) == 3 and all(d in "01234567" for d in digits):
                self.i = start + 4  # three octal digits: a character
            else:
                if self.i < len(text) and text[self.i].isdigit():
                    self.i += 1
                return _Node("other", text=text[start : self.i])  # a backreference
        return _Node("char", text=text[start : self.i])

    def _group(self) -> _Node | None:
        text = self.text
        self.i += 1
        node = _Node("group")
        if text.startswith("?", self.i):
            head = text[self.i + 1 : self.i + 3]
            if head.startswith(("P=", "#")):  # a named backreference, or a comment
                start = self.i - 1
                self.i = text.index(")", self.i) + 1
                return _Node("other", text=text[start : self.i]) if head[0] == "P" else None
            if head.startswith("P<"):
                self.i = text.index(">", self.i) + 1
            elif head.startswith((":", ">")):
                node.atomic = head.startswith(">")
                self.i += 2
            elif head.startswith(("=", "!")) or head in ("<=", "<!"):
                node.assertion = True
                self.i += 1 + (2 if head.startswith("<") else 1)
            elif head.startswith("("):  # a conditional: (?(name)yes|no)
                self.i = text.index(")", self.i) + 1
            else:  # flags: "(?i)" applies to the whole pattern, "(?i:...)" to a group
                end = self.i + 1
                while text[end] not in ":)":
                    end += 1
                self.i = end + 1
                if text[end] == ")":
                    return None
        node.branches = self._alternation()
        self.i += 1  # ")"
        return node


def _contains_unbounded(branches: Sequence[Sequence[_Node]]) -> bool:
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


def _flat_sequence(branches: list[list[_Node]]) -> list[_Node] | None:
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


def _is_delimited(body: list[list[_Node]], source: str) -> bool:
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


def _disjoint(node: _Node, characters: list[str]) -> bool:
    target = node.child if node.kind == "repeat" else node
    assert target is not None
    compiled = re.compile(target.text, _PROBE_FLAGS)
    return not any(compiled.fullmatch(c) for c in characters)


def _check(pattern: str, branches: list[list[_Node]], source: str) -> None:
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


def check_backtracking(pattern: str, translated: str) -> None:
    """Raise :class:`ValueError` when ``translated`` (the Python form of ``pattern``) repeats
    a group holding an unbounded repetition in a way that can backtrack exponentially."""
    _check(pattern, _Parser(pattern, translated).parse(), translated)


@functools.lru_cache(maxsize=1024)  # every mount declares the same paths again
def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled Python form of a Go path pattern; :class:`ValueError` when it cannot be
    compiled or could backtrack exponentially."""
    translated = go_regex_to_python(pattern)
    try:
        compiled = re.compile(translated, re.ASCII)
    except re.error as exc:
        raise ValueError(f"path pattern {pattern!r} does not compile: {exc}") from None
    check_backtracking(pattern, translated)
    return compiled
