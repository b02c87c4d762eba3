"""The bridge between the host's ``pb.Backend`` protocol and ``sdk.logical`` backends."""

from .backend_service import BackendService
from .serve import serve

__all__ = ["BackendService", "serve"]
