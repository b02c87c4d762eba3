"""Path declarations: a pattern, its fields, its operation handlers and its help."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vault_plugin_litellm.sdk.logical import Operation, Request, Response

from .field_data import FieldData
from .fields import DisplayAttributes, FieldSchema
from .go_regex import compile_path_pattern

OperationFunc = Callable[[Request, FieldData], Awaitable[Response | None]]
"""A handler: answer the request, or raise a :class:`~..logical.LogicalError`."""

ExistenceFunc = Callable[[Request, FieldData], Awaitable[bool]]
"""Whether the resource a write names exists: ``False`` makes the write a ``create``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestExample:
    """Sample request data; the first example of an operation goes into its OpenAPI schema."""

    data: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationResponse:
    """A documented response of an operation, for OpenAPI."""

    description: str
    media_type: str = "application/json"
    fields: Mapping[str, FieldSchema] | None = None
    example: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PathOperation:
    """A handler with the properties that document it.

    ``forward_performance_standby`` / ``_secondary`` make the framework refuse the request
    with the host's read-only error on such nodes, which makes the host forward it to the
    active node (for handlers with external side effects before their storage write).

    The check costs a host round trip before the callback starts. A callback whose first step
    is a storage write may set ``callback_checks_forwarding`` and call
    :meth:`~.backend.Backend.refuse_on_performance_nodes` itself, alongside that write: it must
    have the check's answer before any side effect outside the host's storage (a storage
    write is refused on such nodes anyway).
    """

    callback: OperationFunc
    summary: str = ""
    description: str = ""
    examples: Sequence[RequestExample] = ()
    responses: Mapping[int, Sequence[OperationResponse]] = field(default_factory=dict)
    unpublished: bool = False
    deprecated: bool = False
    forward_performance_standby: bool = False
    forward_performance_secondary: bool = False
    callback_checks_forwarding: bool = False
    display_attrs: DisplayAttributes | None = None


@dataclass(slots=True, kw_only=True)
class Path:
    """One route of a backend.

    ``pattern`` is a regular expression over the mount-relative path, matched in full (it
    may omit ``^``/``$``), with named groups for captured fields. Go (RE2) syntax is
    accepted and translated (:mod:`.go_regex`): ``[\\w-.]`` works, ``\\w``, ``\\s`` and POSIX
    classes such as ``[[:alpha:]]`` are ASCII, ``x{,3}`` is literal text. A path that lists
    must accept the trailing ``/`` without requiring it (end the pattern with ``/?``),
    because help requests arrive without it.

    Matching is stricter than Go's where Go's anchoring falls short: Go only prepends
    ``^`` and appends ``$`` when missing, so there ``a|b`` matches anything that starts
    with ``a`` (or ends with ``b``) and a pattern ending in ``\\$`` matches any path that
    starts with it; here the whole path must match the whole pattern, and help shows the
    route that way (``^(?:a|b)$``).

    The pattern is compiled here, and refused with :class:`ValueError` when it does not
    compile, uses RE2 syntax Python lacks (``\\pL``, ``\\Q...\\E``, ``(?U)``), or repeats a
    group containing an unbounded repetition (``(\\w+\\.?)+``), which Python could need
    exponential time to reject a path with, where Go's RE2 is linear.

    ``operations`` maps operations to handlers or :class:`PathOperation`; ``help`` needs
    no entry. Captured values override body or query values of the same name. A path with
    an ``existence_check`` must handle :attr:`~Operation.CREATE`: the check turns writes
    to missing resources into creates.
    """

    pattern: str
    fields: Mapping[str, FieldSchema] = field(default_factory=dict)
    operations: Mapping[Operation, PathOperation | OperationFunc] = field(default_factory=dict)
    existence_check: ExistenceFunc | None = None
    help_synopsis: str = ""
    help_description: str = ""
    display_attrs: DisplayAttributes | None = None
    takes_arbitrary_input: bool = False
    deprecated: bool = False
    handlers: dict[Operation, PathOperation] = field(init=False, repr=False)
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.pattern:
            raise ValueError("a path pattern cannot be empty")
        self.regex = compile_path_pattern(self.pattern)
        handlers: dict[Operation, PathOperation] = {}
        for operation, handler in self.operations.items():
            if not isinstance(operation, Operation):
                raise TypeError(f"operation keys must be Operation members, got {operation!r}")
            if isinstance(handler, PathOperation):
                handlers[operation] = handler
            else:
                # A bare handler is documented with the path's synopsis, as Go's legacy
                # Callbacks map is.
                handlers[operation] = PathOperation(handler, summary=self.help_synopsis)
        if self.existence_check is not None and Operation.CREATE not in handlers:
            raise ValueError(
                f"path {self.pattern!r} has an existence check but no create handler: writes "
                "to missing resources would be refused as unsupported operations; add "
                "Operation.CREATE (often the update handler) or drop the existence check"
            )
        self.handlers = handlers


def generic_name_regex(name: str) -> str:
    """A capture for a name: word characters, with ``-`` and ``.`` inside."""
    return rf"(?P<{name}>\w(([\w.-]+)?\w)?)"


def optional_generic_name_regex(name: str) -> str:
    """``/<name>`` or nothing, e.g. ``"roles" + optional_generic_name_regex("name")``."""
    return rf"(/(?P<{name}>\w(([\w.-]+)?\w)?))?"


def generic_name_with_at_regex(name: str) -> str:
    """Like :func:`generic_name_regex`, also allowing ``@`` inside."""
    return rf"(?P<{name}>\w(([\w.@-]+)?\w)?)"


def optional_param_regex(name: str) -> str:
    """``/<anything>`` or nothing."""
    return rf"(/(?P<{name}>.+))?"


def match_all_regex(name: str) -> str:
    """Everything (possibly nothing) as one capture."""
    return rf"(?P<{name}>.*)"


def path_append(*groups: Iterable[Path]) -> list[Path]:
    """Concatenate groups of paths (e.g. one list per ``path_*.py`` module)."""
    out: list[Path] = []
    for group in groups:
        out.extend(group)
    return out
