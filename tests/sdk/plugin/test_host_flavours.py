"""Methods only one server offers: OpenBao's paging and transactions, Vault's identity tokens.

A grpc.aio server plays the host's broker listener in two flavours: "openbao" implements
ListPage and the transaction calls (and not GenerateIdentityToken); "vault" the reverse, so
its unknown methods answer UNIMPLEMENTED exactly as a real server's would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from vault_plugin_litellm.sdk.grpc import connect_unix
from vault_plugin_litellm.sdk.logical import (
    InMemoryStorage,
    StorageEntry,
    StorageError,
    UnsupportedByHostError,
)
from vault_plugin_litellm.sdk.logical.storage import immediate_children, page_of
from vault_plugin_litellm.sdk.plugin.storage_client import GrpcStorage
from vault_plugin_litellm.sdk.plugin.system_view_client import GrpcSystemView
from vault_plugin_proto.pb import backend_pb2 as pb


class FakeStorageHost:
    """Storage with OpenBao-like transactions: writes buffered per txn, applied at commit.
    An unknown txn id on a data call falls back to plain storage, as OpenBao does."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.txns: dict[str, dict[str, bytes | None]] = {}
        self.calls: list[str] = []

    def _view(self, txn: str) -> dict[str, bytes]:
        view = dict(self.data)
        for key, value in self.txns.get(txn, {}).items():
            if value is None:
                view.pop(key, None)
            else:
                view[key] = value
        return view

    def handlers(self, flavour: str) -> list[grpc.GenericRpcHandler]:
        def unary(func: Callable[..., Any], req: type[Message], rep: type[Message]) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                func, request_deserializer=req.FromString, response_serializer=rep.SerializeToString
            )

        async def get(req: pb.StorageGetArgs, ctx: Any) -> pb.StorageGetReply:
            self.calls.append(f"Get:{req.txn}")
            value = self._view(req.txn).get(req.key)
            if value is None:
                return pb.StorageGetReply()
            return pb.StorageGetReply(entry=pb.StorageEntry(key=req.key, value=value))

        async def put(req: pb.StoragePutArgs, ctx: Any) -> pb.StoragePutReply:
            self.calls.append(f"Put:{req.txn}")
            if req.txn in self.txns:
                self.txns[req.txn][req.entry.key] = req.entry.value
            else:
                self.data[req.entry.key] = req.entry.value
            return pb.StoragePutReply()

        async def list_keys(req: pb.StorageListArgs, ctx: Any) -> pb.StorageListReply:
            self.calls.append(f"List:{req.txn}")
            keys = sorted(self._view(req.txn))
            return pb.StorageListReply(keys=immediate_children(keys, req.prefix))

        async def list_page(req: pb.StorageListPageArgs, ctx: Any) -> pb.StorageListReply:
            self.calls.append("ListPage")
            children = immediate_children(sorted(self._view(req.txn)), req.prefix)
            return pb.StorageListReply(keys=page_of(children, req.after, req.limit))

        async def is_tx(req: pb.Empty, ctx: Any) -> pb.StorageIsTransactionalReply:
            return pb.StorageIsTransactionalReply(transactional=True)

        async def begin(req: pb.Empty, ctx: Any) -> pb.StorageBeginTxReply:
            txn = uuid.uuid4().hex
            self.txns[txn] = {}
            self.calls.append("Begin")
            return pb.StorageBeginTxReply(txn=txn)

        async def commit(req: pb.StorageCommitTxArgs, ctx: Any) -> pb.StorageCommitTxReply:
            self.calls.append("Commit")
            for key, value in self.txns.pop(req.txn).items():
                if value is None:
                    self.data.pop(key, None)
                else:
                    self.data[key] = value
            return pb.StorageCommitTxReply()

        async def rollback(req: pb.StorageRollbackTxArgs, ctx: Any) -> pb.StorageRollbackTxReply:
            self.calls.append("Rollback")
            self.txns.pop(req.txn)
            return pb.StorageRollbackTxReply()

        async def identity_token(
            req: pb.GenerateIdentityTokenRequest, ctx: Any
        ) -> pb.GenerateIdentityTokenResponse:
            return pb.GenerateIdentityTokenResponse(token=f"jwt-for-{req.audience}", ttl=req.ttl)

        storage = {
            "Get": unary(get, pb.StorageGetArgs, pb.StorageGetReply),
            "Put": unary(put, pb.StoragePutArgs, pb.StoragePutReply),
            "List": unary(list_keys, pb.StorageListArgs, pb.StorageListReply),
        }
        system_view: dict[str, Any] = {}
        if flavour == "openbao":
            storage |= {
                "ListPage": unary(list_page, pb.StorageListPageArgs, pb.StorageListReply),
                "IsTransactional": unary(is_tx, pb.Empty, pb.StorageIsTransactionalReply),
                "BeginTx": unary(begin, pb.Empty, pb.StorageBeginTxReply),
                "BeginReadOnlyTx": unary(begin, pb.Empty, pb.StorageBeginTxReply),
                "Commit": unary(commit, pb.StorageCommitTxArgs, pb.StorageCommitTxReply),
                "Rollback": unary(rollback, pb.StorageRollbackTxArgs, pb.StorageRollbackTxReply),
            }
        else:
            system_view["GenerateIdentityToken"] = unary(
                identity_token, pb.GenerateIdentityTokenRequest, pb.GenerateIdentityTokenResponse
            )
        return [
            grpc.method_handlers_generic_handler("pb.Storage", storage),
            grpc.method_handlers_generic_handler("pb.SystemView", system_view),
        ]


@pytest.fixture(params=["openbao", "vault"])
async def host(
    request: pytest.FixtureRequest, sock_dir: str
) -> AsyncIterator[tuple[str, FakeStorageHost, GrpcStorage, GrpcSystemView]]:
    fake = FakeStorageHost()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(fake.handlers(request.param))
    path = os.path.join(sock_dir, "broker.sock")
    server.add_insecure_port("unix:" + path)
    await server.start()
    conn = await connect_unix(path)
    yield request.param, fake, GrpcStorage(conn), GrpcSystemView(conn)
    conn.close()
    await server.stop(0)


async def test_list_page_is_the_same_on_both_hosts(
    host: tuple[str, FakeStorageHost, GrpcStorage, GrpcSystemView],
) -> None:
    flavour, fake, storage, _ = host
    for name in ("a", "b", "c", "d", "e/x"):
        await storage.put(StorageEntry(f"p/{name}", b"1"))
    assert await storage.list_page("p/", after="b", limit=2) == ["c", "d"]
    assert await storage.list_page("p/", after="c") == ["d", "e/"]
    assert await storage.list_page("p/", limit=1) == ["a"]
    # OpenBao pages on the server; Vault answers UNIMPLEMENTED and the page is cut from a list.
    assert fake.calls.count("ListPage") == (3 if flavour == "openbao" else 0)
    assert fake.calls.count("List:") == (0 if flavour == "openbao" else 3)


async def test_transactions_commit_roll_back_or_are_refused(
    host: tuple[str, FakeStorageHost, GrpcStorage, GrpcSystemView],
) -> None:
    flavour, fake, storage, _ = host
    if flavour == "vault":
        assert await storage.is_transactional() is False
        with pytest.raises(UnsupportedByHostError, match="storage transactions"):
            await storage.transaction().__aenter__()
        return
    assert await storage.is_transactional() is True
    async with storage.transaction() as txn:
        await txn.put(StorageEntry("t/one", b"1"))
        assert (await txn.get("t/one")) is not None  # reads see the transaction's writes
        assert await storage.get("t/one") is None  # others do not, until the commit
    assert fake.data["t/one"] == b"1"

    async def failing_work() -> None:
        async with storage.transaction() as txn:
            await txn.put(StorageEntry("t/two", b"2"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_work()
    assert "t/two" not in fake.data
    assert fake.calls.count("Commit") == 1
    assert fake.calls.count("Rollback") == 1


async def test_identity_tokens_exist_only_on_vault(
    host: tuple[str, FakeStorageHost, GrpcStorage, GrpcSystemView],
) -> None:
    flavour, _, _, system_view = host
    if flavour == "openbao":
        with pytest.raises(UnsupportedByHostError, match="GenerateIdentityToken"):
            await system_view.generate_identity_token("aud", timedelta(minutes=5))
        return
    token, ttl = await system_view.generate_identity_token("aud", timedelta(minutes=5))
    assert token == "jwt-for-aud"
    assert ttl == timedelta(minutes=5)


async def test_in_memory_storage_pages_like_openbao() -> None:
    storage = InMemoryStorage()
    for name in ("b", "a", "c/d"):
        await storage.put(StorageEntry(name, b""))
    assert await storage.list_page("", after="a") == ["b", "c/"]
    assert await storage.list_page("", limit=2) == ["a", "b"]
    with pytest.raises(StorageError, match="relative paths"):
        await storage.list_page("../x")
