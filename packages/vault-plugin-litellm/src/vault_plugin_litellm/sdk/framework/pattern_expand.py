"""Turning a path pattern into the OpenAPI paths it stands for.

``kv/(?P<name>\\w+)`` documents as ``kv/{name}``; ``x?`` and ``a|b`` fork into one path per
choice; a trailing optional ``/`` adds nothing. Anything else outside a named group (a
class, ``.``, ``*``, ``+``, a repetition) has no OpenAPI form, and the pattern is then
left out of the document rather than documented wrongly, as Go's framework does.

Python's own regex parser is private API, so this module parses the small subset of
regex syntax that matters here and treats the rest as undocumentable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class UndocumentablePatternError(ValueError):
    """The pattern uses a construct that cannot be written as an OpenAPI path."""


@dataclass(frozen=True, slots=True)
class _Literal:
    text: str


@dataclass(frozen=True, slots=True)
class _Param:
    name: str


@dataclass(frozen=True, slots=True)
class _Concat:
    parts: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alternate:
    choices: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Optional:
    child: _Node


@dataclass(frozen=True, slots=True)
class _Unsupported:
    what: str


_Node = _Literal | _Param | _Concat | _Alternate | _Optional | _Unsupported

_REPEAT = re.compile(r"\{\d+(?:,\d*)?\}", re.ASCII)
_ESCAPED_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos != len(self.text):
            raise UndocumentablePatternError(f"unbalanced ')' at {self.pos}")
        return node

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _alternation(self) -> _Node:
        choices = [self._concat()]
        while self._peek() == "|":
            self.pos += 1
            choices.append(self._concat())
        return choices[0] if len(choices) == 1 else _Alternate(tuple(choices))

    def _concat(self) -> _Node:
        parts: list[_Node] = []
        while self._peek() not in ("", "|", ")"):
            atom = self._atom()
            if atom is not None:
                parts.append(self._quantified(atom))
        return _Concat(tuple(parts))

    def _quantified(self, atom: _Node) -> _Node:
        c = self._peek()
        if c == "?":
            self.pos += 1
            if self._peek() == "?":  # lazy makes no difference to the paths
                self.pos += 1
            return _Optional(atom)
        if c in ("*", "+"):
            self.pos += 1
            if self._peek() == "?":
                self.pos += 1
            return _Unsupported(c)
        if c == "{":
            repeat = _REPEAT.match(self.text, self.pos)
            if repeat is not None:
                self.pos = repeat.end()
                return _Unsupported("repetition")
        return atom

    def _atom(self) -> _Node | None:
        c = self.text[self.pos]
        if c in "^$":
            self.pos += 1
            return None
        if c == ".":
            self.pos += 1
            return _Unsupported(".")
        if c == "[":
            self._skip_class()
            return _Unsupported("class")
        if c == "(":
            return self._group()
        if c == "\\":
            return self._escape()
        self.pos += 1
        return _Literal(c)

    def _escape(self) -> _Node | None:
        if self.pos + 1 >= len(self.text):
            raise UndocumentablePatternError("trailing backslash")
        c = self.text[self.pos + 1]
        self.pos += 2
        if c in "AzZbB":
            return None
        if c in "pP":
            if self._peek() == "{":
                end = self.text.find("}", self.pos)
                self.pos = len(self.text) if end < 0 else end + 1
            else:
                self.pos += 1
            return _Unsupported("class")
        if c.isalnum():
            control = _ESCAPED_CONTROL.get(c)
            return _Unsupported("escape") if control is None else _Literal(control)
        return _Literal(c)

    def _skip_class(self) -> None:
        self.pos += 1
        if self._peek() == "^":
            self.pos += 1
        if self._peek() == "]":
            self.pos += 1
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\":
                self.pos += 2
                continue
            if c == "[" and self.text.startswith("[:", self.pos):
                end = self.text.find(":]", self.pos + 2)
                if end >= 0:
                    self.pos = end + 2
                    continue
            self.pos += 1
            if c == "]":
                return
        raise UndocumentablePatternError("unterminated character class")

    def _group(self) -> _Node:
        self.pos += 1
        name = None
        if self.text.startswith("?P<", self.pos) or (
            self.text.startswith("?<", self.pos)
            and not self.text.startswith(("?<=", "?<!"), self.pos)
        ):
            start = self.text.index("<", self.pos) + 1
            end = self.text.find(">", start)
            if end < 0:
                raise UndocumentablePatternError("unterminated group name")
            name = self.text[start:end]
            self.pos = end + 1
        elif self._peek() == "?":
            # (?:...), (?i:...), (?i): flags do not change the path's text.
            end = self.pos + 1
            while end < len(self.text) and self.text[end] not in ":)":
                end += 1
            if end >= len(self.text):
                raise UndocumentablePatternError("unterminated group")
            if self.text[end] == ")":
                self.pos = end + 1
                return _Concat(())
            self.pos = end + 1
        inner = self._alternation()
        if self._peek() != ")":
            raise UndocumentablePatternError("missing ')'")
        self.pos += 1
        return inner if name is None else _Param(name)


@dataclass(slots=True)
class _Collector:
    text: str = ""
    optional_slash_at: int = -1  # length right after appending an optional "/"

    def fork(self) -> _Collector:
        return _Collector(self.text, self.optional_slash_at)


def _walk(node: _Node, collectors: list[_Collector]) -> list[_Collector]:
    if isinstance(node, _Literal):
        for collector in collectors:
            collector.text += node.text
        return collectors
    if isinstance(node, _Param):
        for collector in collectors:
            collector.text += "{" + node.name + "}"
        return collectors
    if isinstance(node, _Concat):
        for part in node.parts:
            collectors = _walk(part, collectors)
        return collectors
    if isinstance(node, _Alternate):
        combined: list[_Collector] = []
        for choice in node.choices:
            combined.extend(_walk(choice, [c.fork() for c in collectors]))
        return combined
    if isinstance(node, _Optional):
        taken = _walk(node.child, [c.fork() for c in collectors])
        if node.child == _Literal("/"):
            for collector in taken:
                collector.optional_slash_at = len(collector.text)
        return collectors + taken
    raise UndocumentablePatternError(f"{node.what} outside a named group")


def expand_pattern(pattern: str) -> list[str]:
    """The OpenAPI paths (without the leading ``/``) a pattern stands for, in order.

    Raises :class:`UndocumentablePatternError` when it has no faithful OpenAPI form.
    """
    tree = _Parser(pattern).parse()
    paths: list[str] = []
    for collector in _walk(tree, [_Collector()]):
        # Variants that only add the optional trailing "/" are dropped (help and the
        # documented path never carry it); duplicates are kept so that "|"-separated
        # operation suffixes line up with the variants by index, as in Go.
        if collector.optional_slash_at != len(collector.text):
            paths.append(collector.text)
    return paths
