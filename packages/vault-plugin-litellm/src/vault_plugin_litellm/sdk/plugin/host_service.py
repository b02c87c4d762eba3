"""A service the host serves on the broker connection (``pb.Storage``, ``pb.SystemView``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from ..grpc import RpcError, StatusCode
from ..grpc.channel import UnaryCaller
from ..grpc.server import MessageType
from ..logical import LogicalError, UnsupportedByHostError

R = TypeVar("R")
E = TypeVar("E", bound="ReportsError")


class ReportsError(Protocol):
    """A reply that carries the host's own failure in ``err`` ("" on success)."""

    @property
    def err(self) -> str: ...


class HostService:
    """Calls to one of the host's services, with one reading of failures.

    ``UNIMPLEMENTED`` is how a host says it lacks a method (Vault has no storage paging, OpenBao
    no identity tokens): it becomes :class:`UnsupportedByHostError` naming ``label`` and the
    method. Any other gRPC failure becomes what ``failure`` makes of the method and the error;
    a failure the host reports in a reply's ``err`` becomes what ``reported`` makes of it.
    """

    def __init__(
        self,
        conn: UnaryCaller,
        service: str,
        label: str,
        failure: Callable[[str, RpcError], LogicalError],
        reported: Callable[[str], LogicalError],
    ) -> None:
        self._conn = conn
        self._service = service
        self._label = label
        self._failure = failure
        self._reported = reported

    async def call(self, method: str, request: Message, reply_type: MessageType[R]) -> R:
        try:
            return await self._conn.call(f"/pb.{self._service}/{method}", request, reply_type)
        except RpcError as exc:
            if exc.code == StatusCode.UNIMPLEMENTED:
                raise UnsupportedByHostError(f"{self._label} {method}") from None
            raise self._failure(method, exc) from None

    async def checked_call(self, method: str, request: Message, reply_type: MessageType[E]) -> E:
        """A call whose reply reports the host's own failure in ``err``."""
        reply = await self.call(method, request, reply_type)
        if reply.err:
            raise self._reported(reply.err)
        return reply
