"""``pb.Storage`` on the host, as a :class:`~..logical.Storage`.

OpenBao adds paging (``ListPage``) and transactions (``IsTransactional``, ``BeginTx``,
``BeginReadOnlyTx``, ``Commit``, ``Rollback`` and a ``txn`` field on the data calls); Vault
answers those with UNIMPLEMENTED. Paging then falls back to a full list filtered here, and a
transaction cannot be begun (:class:`~..logical.UnsupportedByHostError`).
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

from google.protobuf.message import Message
from vault_plugin_proto.pb import backend_pb2 as pb

from ..grpc import RpcError
from ..grpc.channel import UnaryCaller
from ..grpc.server import MessageType
from ..logical import StorageEntry, StorageError, UnsupportedByHostError
from ..logical.storage import page_of
from .host_service import HostService, ReportsError

R = TypeVar("R", bound=ReportsError)


def _failure(method: str, exc: RpcError) -> StorageError:
    return StorageError(exc.message or str(exc))


class _Calls:
    def __init__(self, conn: UnaryCaller) -> None:
        self._conn = conn
        self._host = HostService(conn, "Storage", "storage", _failure, StorageError)

    async def _call(self, method: str, request: Message, reply_type: MessageType[R]) -> R:
        """One storage RPC. Transport failures, and the "missing storage implementation" the
        host answers during registration probes, arrive as gRPC errors; the host's own storage
        failures arrive in ``err``, whose text must reach the host again unchanged (some make
        it forward the request to the active node). All become :class:`StorageError`."""
        return await self._host.checked_call(method, request, reply_type)


class GrpcStorage(_Calls):
    """The mount's storage view, over the broker channel dialled at ``Setup``."""

    _txn = ""  # the data calls of a transaction carry its id; plain storage sends none

    def __init__(self, conn: UnaryCaller) -> None:
        super().__init__(conn)
        self._paging: bool | None = None  # unknown until the host has been asked
        self._transactional: bool | None = None

    async def get(self, key: str) -> StorageEntry | None:
        reply = await self._call(
            "Get", pb.StorageGetArgs(key=key, txn=self._txn), pb.StorageGetReply
        )
        if not reply.HasField("entry"):
            return None
        entry = reply.entry
        return StorageEntry(entry.key, entry.value, entry.seal_wrap)

    async def put(self, entry: StorageEntry) -> None:
        value = pb.StorageEntry(key=entry.key, value=entry.value, seal_wrap=entry.seal_wrap)
        await self._call("Put", pb.StoragePutArgs(entry=value, txn=self._txn), pb.StoragePutReply)

    async def delete(self, key: str) -> None:
        args = pb.StorageDeleteArgs(key=key, txn=self._txn)
        await self._call("Delete", args, pb.StorageDeleteReply)

    async def list(self, prefix: str) -> list[str]:
        args = pb.StorageListArgs(prefix=prefix, txn=self._txn)
        return list((await self._call("List", args, pb.StorageListReply)).keys)

    async def list_page(self, prefix: str, after: str = "", limit: int = 0) -> builtins.list[str]:
        """Children of ``prefix`` sorted after ``after``, at most ``limit`` (0: all).

        OpenBao pages on the server; on a host without ``ListPage`` the page is cut from a
        full list (the answers are the same, the cost is not).
        """
        if self._paging is not False:
            args = pb.StorageListPageArgs(prefix=prefix, after=after, limit=limit, txn=self._txn)
            try:
                keys = (await self._call("ListPage", args, pb.StorageListReply)).keys
            except UnsupportedByHostError:
                self._paging = False
            else:
                self._paging = True
                return list(keys)
        return page_of(await self.list(prefix), after, limit)

    async def is_transactional(self) -> bool:
        """Whether the host's storage supports transactions (never on Vault)."""
        if self._transactional is None:
            try:
                reply = await self._host.call(
                    "IsTransactional", pb.Empty(), pb.StorageIsTransactionalReply
                )
            except UnsupportedByHostError:
                self._transactional = False
            else:
                self._transactional = reply.transactional
        return self._transactional

    @contextlib.asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[GrpcTransaction]:
        """A storage transaction: committed when the block ends, rolled back if it raises.

        Refused with :class:`UnsupportedByHostError` where the host cannot do transactions.
        An unknown transaction id makes OpenBao's data calls silently non-transactional, so a
        transaction is only ever used inside this block.
        """
        if not await self.is_transactional():
            raise UnsupportedByHostError("storage transactions")
        method = "BeginReadOnlyTx" if read_only else "BeginTx"
        begun = await self._call(method, pb.Empty(), pb.StorageBeginTxReply)
        txn = GrpcTransaction(self._conn, begun.txn)
        try:
            yield txn
        except BaseException:
            await txn.rollback()
            raise
        await txn.commit()


class GrpcTransaction(GrpcStorage):
    """The data calls of one open transaction (use :meth:`GrpcStorage.transaction`)."""

    def __init__(self, conn: UnaryCaller, txn: str) -> None:
        super().__init__(conn)
        self._txn = txn
        self._done = False

    async def commit(self) -> None:
        if not self._done:
            self._done = True
            await self._call(
                "Commit", pb.StorageCommitTxArgs(txn=self._txn), pb.StorageCommitTxReply
            )

    async def rollback(self) -> None:
        if not self._done:
            self._done = True
            args = pb.StorageRollbackTxArgs(txn=self._txn)
            await self._call("Rollback", args, pb.StorageRollbackTxReply)
