"""A service the host serves on the broker connection (``pb.Storage``, ``pb.SystemView``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message

from ..grpc import RpcError, StatusCode
from ..grpc.channel import UnaryCaller
from ..grpc.server import MessageType
from ..logical import LogicalError, UnsupportedByHostError

R = TypeVar("R")


class HostService:
    """Calls to one of the host's services, with one reading of gRPC failures.

    ``UNIMPLEMENTED`` is how a host says it lacks a method (Vault has no storage paging, OpenBao
    no identity tokens): it becomes :class:`UnsupportedByHostError` naming ``label`` and the
    method. Any other gRPC failure becomes what ``failure`` makes of the method and the error.
    """

    def __init__(
        self,
        conn: UnaryCaller,
        service: str,
        label: str,
        failure: Callable[[str, RpcError], LogicalError],
    ) -> None:
        self._conn = conn
        self._service = service
        self._label = label
        self._failure = failure

    async def call(self, method: str, request: Message, reply_type: MessageType[R]) -> R:
        try:
            return await self._conn.call(f"/pb.{self._service}/{method}", request, reply_type)
        except RpcError as exc:
            if exc.code == StatusCode.UNIMPLEMENTED:
                raise UnsupportedByHostError(f"{self._label} {method}") from None
            raise self._failure(method, exc) from None
