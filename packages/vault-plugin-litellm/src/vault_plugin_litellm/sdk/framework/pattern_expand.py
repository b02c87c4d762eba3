"""Turning a path pattern into the OpenAPI paths it stands for.

``kv/(?P<name>\\w+)`` documents as ``kv/{name}``; ``x?`` and ``a|b`` fork into one path per
choice; a trailing optional ``/`` adds nothing. Anything else outside a named group (a
class, ``.``, ``*``, ``+``, a repetition, a lookaround) has no OpenAPI form, and the pattern
is then left out of the document rather than documented wrongly, as Go's framework does.
The pattern's structure comes from :mod:`.regex_parse`, as for routing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .go_regex import pattern_structure
from .regex_parse import Branches, Node, literal


class UndocumentablePatternError(ValueError):
    """The pattern uses a construct that cannot be written as an OpenAPI path."""


@dataclass(slots=True)
class _Collector:
    text: str = ""
    optional_slash_at: int = -1  # length right after appending an optional "/"

    def fork(self) -> _Collector:
        return _Collector(self.text, self.optional_slash_at)


def _describe(node: Node) -> str:
    if node.kind == "repeat":
        return node.quantifier
    if node.kind == "char":
        return "." if node.text == "." else "class" if node.text[0] == "[" else "escape"
    return node.text


def _walk_branches(branches: Branches, collectors: list[_Collector]) -> list[_Collector]:
    if len(branches) == 1:
        return _walk_sequence(branches[0], collectors)
    combined: list[_Collector] = []
    for branch in branches:
        combined.extend(_walk_sequence(branch, [c.fork() for c in collectors]))
    return combined


def _walk_sequence(nodes: list[Node], collectors: list[_Collector]) -> list[_Collector]:
    for node in nodes:
        collectors = _walk(node, collectors)
    return collectors


def _walk(node: Node, collectors: list[_Collector]) -> list[_Collector]:
    if node.kind in ("zero", "flags"):  # anchors and flags do not change the path's text
        return collectors
    char = literal(node)
    if char is not None:
        for collector in collectors:
            collector.text += char
        return collectors
    if node.kind == "group" and node.name:
        for collector in collectors:
            collector.text += "{" + node.name + "}"
        return collectors
    if node.kind == "group" and not (node.assertion or node.conditional):
        return _walk_branches(node.branches, collectors)
    if node.kind == "repeat" and node.child is not None and (node.low, node.high) == (0, 1):
        taken = _walk(node.child, [c.fork() for c in collectors])
        if literal(node.child) == "/":
            for collector in taken:
                collector.optional_slash_at = len(collector.text)
        return collectors + taken
    raise UndocumentablePatternError(f"{_describe(node)} outside a named group")


def expand_pattern(pattern: str) -> list[str]:
    """The OpenAPI paths (without the leading ``/``) a pattern stands for, in order.

    Raises :class:`UndocumentablePatternError` when it has no faithful OpenAPI form.
    """
    try:
        branches = pattern_structure(pattern)
    except ValueError as exc:
        raise UndocumentablePatternError(str(exc)) from None
    paths: list[str] = []
    for collector in _walk_branches(branches, [_Collector()]):
        # Variants that only add the optional trailing "/" are dropped (help and the
        # documented path never carry it); duplicates are kept so that "|"-separated
        # operation suffixes line up with the variants by index, as in Go.
        if collector.optional_slash_at != len(collector.text):
            paths.append(collector.text)
    return paths
