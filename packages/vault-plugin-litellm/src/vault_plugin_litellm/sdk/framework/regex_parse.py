"""The structure of a path pattern: one small reader of Python regex syntax for the framework.

Routing (the literal prefix, a top-level ``|``), the backtracking check and the OpenAPI paths
all need to know how a pattern is built, and Python's own regex parser is private API. This
reader runs on the Python form of a pattern (:func:`.go_regex.go_regex_to_python`) once it has
compiled, so it never has to report a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Branches = list[list["Node"]]


@dataclass(slots=True)
class Node:
    """A parsed piece of a pattern.

    ``kind``: ``char`` (one character: a literal, an escape, a class or ``.``), ``zero`` (an
    anchor or assertion without a body), ``flags`` (``(?i)``, for the whole pattern),
    ``other`` (a backreference), ``group``, ``repeat``. ``text`` is the piece as written.
    """

    kind: str
    text: str = ""
    branches: Branches = field(default_factory=list)  # group bodies
    name: str = ""  # a named group's name
    atomic: bool = False
    assertion: bool = False  # a lookaround
    conditional: bool = False  # (?(name)yes|no)
    child: Node | None = None  # repeat
    quantifier: str = ""  # repeat: "*", "+?", "{2,5}", ...
    low: int = 0  # repeat: the fewest repetitions
    high: int | None = None  # repeat: the most; None: unbounded
    possessive: bool = False


_REPEAT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_HEX_LENGTHS = {"x": 2, "u": 4, "U": 8}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}


def parse(source: str) -> Branches:
    """The top-level alternatives of ``source`` (a pattern that compiles), each a sequence."""
    return _Parser(source).parse()


def literal(node: Node) -> str | None:
    """The one character a ``char`` node stands for, or ``None`` (a class, ``.``, ``\\w``)."""
    if node.kind != "char":
        return None
    text = node.text
    if len(text) == 1:
        return None if text == "." else text
    if text[0] != "\\":
        return None  # a class
    escape = text[1]
    if escape in _HEX_LENGTHS:
        return chr(int(text[2:], 16))
    if escape.isdigit():
        return chr(int(text[1:], 8))
    if len(text) == 2 and escape in _CONTROL:
        return _CONTROL[escape]
    return None if escape.isalnum() else escape


class _Parser:
    """A small recursive-descent reader, enough to find groups, repetitions and literals."""

    def __init__(self, source: str) -> None:
        self.text = source
        self.i = 0

    def parse(self) -> Branches:
        return self._alternation()

    def _alternation(self) -> Branches:
        branches = [self._sequence()]
        while self.i < len(self.text) and self.text[self.i] == "|":
            self.i += 1
            branches.append(self._sequence())
        return branches

    def _sequence(self) -> list[Node]:
        items: list[Node] = []
        text = self.text
        while self.i < len(text) and text[self.i] not in "|)":
            start = self.i
            atom = self._atom()
            if atom is not None:
                items.append(self._quantified(atom, start))
        return items

    def _quantified(self, atom: Node, start: int) -> Node:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            begin = self.i
            if c in "*+?":
                low, high = (1, None) if c == "+" else (0, 1 if c == "?" else None)
                self.i += 1
            elif c == "{" and (found := _REPEAT.match(text, self.i)) and found.group() != "{}":
                low_text, comma, high_text = found.groups()
                low = int(low_text) if low_text else 0
                high = int(high_text) if high_text else (None if comma else low)
                self.i = found.end()
            else:
                return atom
            possessive = False
            if self.i < len(text) and text[self.i] in "?+":  # lazy or possessive
                possessive = text[self.i] == "+"
                self.i += 1
            atom = Node(
                "repeat",
                text=text[start : self.i],
                child=atom,
                quantifier=text[begin : self.i],
                low=low,
                high=high,
                possessive=possessive,
            )
        return atom

    def _atom(self) -> Node | None:
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
            return Node("zero", text=c)
        return Node("char", text=c)

    def _class(self) -> Node:
        text = self.text
        start = self.i
        self.i += 1
        if text.startswith("^", self.i):
            self.i += 1
        if text.startswith("]", self.i):
            self.i += 1  # a "]" first is a literal
        while self.i < len(text) and text[self.i] != "]":
            self.i += 2 if text[self.i] == "\\" else 1
        self.i += 1
        return Node("char", text=text[start : self.i])

    def _escape(self) -> Node:
        text = self.text
        start = self.i
        escape = text[self.i + 1]
        self.i += 2
        if escape in "bBAZ":
            return Node("zero", text=text[start : self.i])
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
                return Node("other", text=text[start : self.i])  # a backreference
        return Node("char", text=text[start : self.i])

    def _group(self) -> Node | None:
        text = self.text
        start = self.i
        self.i += 1
        node = Node("group")
        if text.startswith("?", self.i):
            head = text[self.i + 1 : self.i + 3]
            if head.startswith(("P=", "#")):  # a named backreference, or a comment
                self.i = text.index(")", self.i) + 1
                return Node("other", text=text[start : self.i]) if head[0] == "P" else None
            if head.startswith("P<"):
                end = text.index(">", self.i)
                node.name = text[self.i + 3 : end]
                self.i = end + 1
            elif head.startswith((":", ">")):
                node.atomic = head.startswith(">")
                self.i += 2
            elif head.startswith(("=", "!")) or head in ("<=", "<!"):
                node.assertion = True
                self.i += 1 + (2 if head.startswith("<") else 1)
            elif head.startswith("("):  # a conditional: (?(name)yes|no)
                node.conditional = True
                self.i = text.index(")", self.i) + 1
            else:  # flags: "(?i)" applies to the whole pattern, "(?i:...)" to a group
                end = self.i + 1
                while text[end] not in ":)":
                    end += 1
                self.i = end + 1
                if text[end] == ")":
                    return Node("flags", text=text[start : self.i])
        node.branches = self._alternation()
        self.i += 1  # ")"
        node.text = text[start : self.i]
        return node
