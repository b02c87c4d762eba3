"""The contract between a backend and the plugin runtime that serves it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, runtime_checkable

from .request import Request
from .response import Response
from .storage import Storage
from .system_view import SystemView


class BackendType(IntEnum):
    UNKNOWN = 0
    LOGICAL = 1  # secrets engines; the host refuses to mount anything else as one
    CREDENTIAL = 2


@dataclass(slots=True, kw_only=True)
class SpecialPaths:
    """Path patterns the host treats specially (``*`` suffix = prefix, ``+`` = one segment)."""

    root: list[str] = field(default_factory=list)
    unauthenticated: list[str] = field(default_factory=list)
    local_storage: list[str] = field(default_factory=list)
    seal_wrap_storage: list[str] = field(default_factory=list)
    write_forwarded_storage: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class BackendConfig:
    """What a backend instance gets at ``Setup``: its mount's storage, system view and options.

    ``config`` holds the mount options plus ``plugin_name``, ``plugin_type`` and
    ``plugin_version``; it is empty (and storage unusable) during the host's registration
    probes, which a backend must survive.
    """

    storage: Storage
    system_view: SystemView
    logger: logging.Logger
    config: dict[str, str] = field(default_factory=dict)
    backend_uuid: str = ""


@runtime_checkable
class LogicalBackend(Protocol):
    """One mount's backend instance, as the runtime drives it."""

    async def setup(self, config: BackendConfig) -> None: ...

    def backend_type(self) -> BackendType: ...

    def special_paths(self) -> SpecialPaths: ...

    async def initialize(self) -> None: ...

    async def handle_request(self, req: Request) -> Response | None:
        """Answer ``req`` or raise a :class:`~.errors.LogicalError`."""
        ...

    async def handle_existence_check(self, req: Request) -> tuple[bool, bool]:
        """``(check_found, exists)``; ``(False, False)`` turns every write into ``update``."""
        ...

    async def invalidate_key(self, key: str) -> None: ...

    async def cleanup(self) -> None: ...


BackendFactory = Callable[[], LogicalBackend | Awaitable[LogicalBackend]]
"""Makes one backend instance per mount (per ``multiplex_id``); ``setup`` is called next."""


async def make_backend(factory: BackendFactory) -> LogicalBackend:
    """One instance from ``factory``, which may be a plain or an async callable."""
    made = factory()
    backend: LogicalBackend = await made if inspect.isawaitable(made) else made
    return backend
