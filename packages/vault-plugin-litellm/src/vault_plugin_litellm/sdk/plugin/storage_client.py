"""``pb.Storage`` on the host, as a :class:`~..logical.Storage`."""

from __future__ import annotations

from vault_plugin_proto.pb import backend_pb2 as pb

from ..grpc import RpcError
from ..grpc.channel import UnaryCaller
from ..logical import StorageEntry, StorageError


class GrpcStorage:
    """The mount's storage view, over the broker connection dialled at ``Setup``.

    The host reports storage failures in the reply's ``err`` string, which must reach the host
    again unchanged (some texts make it forward the request to the active node). Transport
    failures, and the "missing storage implementation" the host answers during registration
    probes, arrive as gRPC errors; both become :class:`StorageError`.
    """

    def __init__(self, conn: UnaryCaller) -> None:
        self._conn = conn

    async def get(self, key: str) -> StorageEntry | None:
        try:
            reply = await self._conn.call(
                "/pb.Storage/Get", pb.StorageGetArgs(key=key), pb.StorageGetReply
            )
        except RpcError as exc:
            raise StorageError(exc.message or str(exc)) from None
        if reply.err:
            raise StorageError(reply.err)
        if not reply.HasField("entry"):
            return None
        entry = reply.entry
        return StorageEntry(entry.key, entry.value, entry.seal_wrap)

    async def put(self, entry: StorageEntry) -> None:
        args = pb.StoragePutArgs(
            entry=pb.StorageEntry(key=entry.key, value=entry.value, seal_wrap=entry.seal_wrap)
        )
        try:
            reply = await self._conn.call("/pb.Storage/Put", args, pb.StoragePutReply)
        except RpcError as exc:
            raise StorageError(exc.message or str(exc)) from None
        if reply.err:
            raise StorageError(reply.err)

    async def delete(self, key: str) -> None:
        try:
            reply = await self._conn.call(
                "/pb.Storage/Delete", pb.StorageDeleteArgs(key=key), pb.StorageDeleteReply
            )
        except RpcError as exc:
            raise StorageError(exc.message or str(exc)) from None
        if reply.err:
            raise StorageError(reply.err)

    async def list(self, prefix: str) -> list[str]:
        try:
            reply = await self._conn.call(
                "/pb.Storage/List", pb.StorageListArgs(prefix=prefix), pb.StorageListReply
            )
        except RpcError as exc:
            raise StorageError(exc.message or str(exc)) from None
        if reply.err:
            raise StorageError(reply.err)
        return list(reply.keys)
