"""A request as a backend sees it, translated from ``pb.Request``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import StorageError
from .lease import Secret
from .operation import Operation
from .storage import Storage, StorageEntry


class _NoStorage:
    """Stands in until the runtime attaches the mount's storage, and says so when used."""

    def _fail(self) -> StorageError:
        return StorageError("no storage is attached to this request")

    async def get(self, key: str) -> StorageEntry | None:
        raise self._fail()

    async def put(self, entry: StorageEntry) -> None:
        raise self._fail()

    async def delete(self, key: str) -> None:
        raise self._fail()

    async def list(self, prefix: str) -> list[str]:
        raise self._fail()


NO_STORAGE: Storage = _NoStorage()


@dataclass(slots=True, kw_only=True)
class Connection:
    remote_addr: str = ""
    remote_port: int = 0


@dataclass(slots=True, kw_only=True)
class RequestWrapInfo:
    ttl: timedelta = timedelta(0)
    format: str = ""
    seal_wrap: bool = False


@dataclass(slots=True, kw_only=True)
class Request:
    """One operation on one mount-relative path.

    ``path`` has no leading slash and the mount root is ``""``. ``data`` is the decoded JSON
    body or query (query values arrive as strings or lists of strings). ``client_token`` is
    not the caller's token but a salted hash of it (the host never forwards the token).
    """

    operation: Operation
    path: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    secret: Secret | None = None
    storage: Storage = NO_STORAGE
    headers: dict[str, list[str]] = field(default_factory=dict)
    client_token: str = ""
    client_token_accessor: str = ""
    display_name: str = ""
    mount_point: str = ""
    mount_type: str = ""
    mount_accessor: str = ""
    entity_id: str = ""
    policy_override: bool = False
    unauthenticated: bool = False
    replication_cluster: str = ""
    wrap_info: RequestWrapInfo | None = None
    connection: Connection | None = None
