"""The bridge between the host's ``pb.Backend`` protocol and ``sdk.logical`` backends.

Only :func:`serve` is imported eagerly: the bridge itself (and everything a backend needs)
loads after the handshake line is out, while the host is still connecting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .serve import serve

if TYPE_CHECKING:
    from .backend_service import BackendService

__all__ = ["BackendService", "serve"]


def __getattr__(name: str) -> Any:
    if name == "BackendService":
        from .backend_service import BackendService

        return BackendService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
