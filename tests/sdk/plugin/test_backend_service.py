"""BackendService, GrpcStorage and GrpcSystemView in process, against our own fake broker."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from vault_plugin_litellm.sdk.goplugin import Broker, ConnInfo
from vault_plugin_litellm.sdk.grpc import (
    Channel,
    ClientConnection,
    RpcError,
    Server,
    ServerContext,
    StatusCode,
    connect_unix,
)
from vault_plugin_litellm.sdk.logical import (
    BackendConfig,
    BackendType,
    Request,
    Response,
    SpecialPaths,
    StorageEntry,
    StorageError,
    UnsupportedByHostError,
)
from vault_plugin_litellm.sdk.logical.errors import ErrType
from vault_plugin_litellm.sdk.plugin import BackendService
from vault_plugin_litellm.sdk.plugin.backend_service import load_factory
from vault_plugin_litellm.sdk.plugin.storage_client import GrpcStorage
from vault_plugin_litellm.sdk.plugin.system_view_client import GrpcSystemView, SystemViewError
from vault_plugin_proto.logical import identity_pb2
from vault_plugin_proto.pb import backend_pb2 as pb


@dataclass
class HostBroker:
    """pb.Storage and pb.SystemView as the host serves them, on our own Server."""

    data: dict[str, bytes] = field(default_factory=dict)
    server: Server = field(default_factory=Server)

    def __post_init__(self) -> None:
        add = self.server.add_unary

        async def get(req: pb.StorageGetArgs, ctx: ServerContext) -> pb.StorageGetReply:
            if req.key == "grpc-error":
                raise RpcError(StatusCode.UNKNOWN, "missing storage implementation")
            if req.key == "reply-error":
                return pb.StorageGetReply(err="cannot read: sealed")
            if req.key not in self.data:
                return pb.StorageGetReply()
            return pb.StorageGetReply(
                entry=pb.StorageEntry(key=req.key, value=self.data[req.key], seal_wrap=True)
            )

        async def put(req: pb.StoragePutArgs, ctx: ServerContext) -> pb.StoragePutReply:
            if req.entry.key.startswith("ro/"):
                return pb.StoragePutReply(err="cannot write to readonly storage")
            self.data[req.entry.key] = req.entry.value
            return pb.StoragePutReply()

        async def delete(req: pb.StorageDeleteArgs, ctx: ServerContext) -> pb.StorageDeleteReply:
            if req.key.startswith("ro/"):
                return pb.StorageDeleteReply(err="cannot write to readonly storage")
            self.data.pop(req.key, None)
            return pb.StorageDeleteReply()

        async def list_keys(req: pb.StorageListArgs, ctx: ServerContext) -> pb.StorageListReply:
            if req.prefix == "bad/":
                return pb.StorageListReply(err="list failed")
            return pb.StorageListReply(
                keys=sorted(
                    k.removeprefix(req.prefix) for k in self.data if k.startswith(req.prefix)
                )
            )

        async def ttl(req: pb.Empty, ctx: ServerContext) -> pb.TTLReply:
            return pb.TTLReply(TTL=3_600_000_001_999)

        async def entity(req: pb.EntityInfoArgs, ctx: ServerContext) -> pb.EntityInfoReply:
            if req.entity_id == "":
                return pb.EntityInfoReply()
            if req.entity_id == "broken":
                return pb.EntityInfoReply(err="entity lookup failed")
            alias = identity_pb2.Alias(mount_accessor="acc", name="alice", metadata={"k": "v"})
            return pb.EntityInfoReply(
                entity=identity_pb2.Entity(ID=req.entity_id, name="alice", aliases=[alias])
            )

        async def password(
            req: pb.GeneratePasswordFromPolicyRequest, ctx: ServerContext
        ) -> pb.GeneratePasswordFromPolicyReply:
            if not req.policy_name:
                raise RpcError(StatusCode.INVALID_ARGUMENT, "policy name missing")
            return pb.GeneratePasswordFromPolicyReply(password="s3cr3t")

        add("/pb.Storage/Get", pb.StorageGetArgs, get)
        add("/pb.Storage/Put", pb.StoragePutArgs, put)
        add("/pb.Storage/Delete", pb.StorageDeleteArgs, delete)
        add("/pb.Storage/List", pb.StorageListArgs, list_keys)
        add("/pb.SystemView/DefaultLeaseTTL", pb.Empty, ttl)
        add("/pb.SystemView/EntityInfo", pb.EntityInfoArgs, entity)
        add(
            "/pb.SystemView/GeneratePasswordFromPolicy",
            pb.GeneratePasswordFromPolicyRequest,
            password,
        )


class QuickBroker(Broker):
    """A broker that gives up on a missing ConnInfo quickly (the real wait is 5 s)."""

    async def dial(self, service_id: int, timeout: float = 0.2) -> Channel:  # noqa: ASYNC109
        return await super().dial(service_id, timeout)


class Recorder:
    """A backend that records what the service did to it."""

    def __init__(self) -> None:
        self.config: BackendConfig | None = None
        self.cleanups = 0

    async def setup(self, config: BackendConfig) -> None:
        self.config = config

    def backend_type(self) -> BackendType:
        return BackendType.LOGICAL

    def special_paths(self) -> SpecialPaths:
        return SpecialPaths()

    async def initialize(self) -> None:
        pass

    async def handle_request(self, req: Request) -> Response | None:
        return Response(data={"path": req.path})

    async def handle_existence_check(self, req: Request) -> tuple[bool, bool]:
        return False, False

    async def invalidate_key(self, key: str) -> None:
        pass

    async def cleanup(self) -> None:
        self.cleanups += 1


@pytest.fixture
async def host(sock_dir: str) -> AsyncIterator[tuple[HostBroker, str]]:
    broker = HostBroker()
    path = os.path.join(sock_dir, "hb.sock")
    await broker.server.listen_unix(path)
    yield broker, path
    await broker.server.stop(grace=0.1)


def ctx(mux_id: str | None) -> ServerContext:
    return ServerContext("/pb.Backend/X", {} if mux_id is None else {"multiplex_id": mux_id})


async def test_setup_without_conninfo_fails_in_the_reply() -> None:
    service = BackendService(Recorder, QuickBroker(None))
    reply = await service.setup(pb.SetupArgs(broker_id=9), ctx("m"))
    assert reply.err == "timeout waiting for connection info for broker id 9"
    assert service.instance_count == 0


async def test_setup_needs_a_multiplex_id() -> None:
    service = BackendService(Recorder, QuickBroker(None))
    with pytest.raises(RpcError, match="no multiplexing ID found"):
        await service.setup(pb.SetupArgs(broker_id=1), ctx(None))


async def test_instances_setup_replacement_and_cleanup(host: tuple[HostBroker, str]) -> None:
    _, path = host
    broker = QuickBroker(None)
    made: list[Recorder] = []

    async def factory() -> Recorder:  # factories may be async
        made.append(Recorder())
        return made[-1]

    service = BackendService(factory, broker)

    for broker_id in (1, 2, 3):
        broker.announce(ConnInfo(broker_id, "unix", path))
    args = pb.SetupArgs(broker_id=1, Config={"plugin_name": "x"}, backendUUID="u-1")
    assert (await service.setup(args, ctx("a"))).err == ""
    first = made[-1]
    assert first.config is not None
    assert first.config.config == {"plugin_name": "x"}
    assert first.config.backend_uuid == "u-1"
    first_conn = service._instances["a"].conn

    # A repeated Setup for the same id replaces the instance and lets go of the old one.
    assert (await service.setup(pb.SetupArgs(broker_id=2), ctx("a"))).err == ""
    assert first.cleanups == 1
    await first_conn.wait_closed()
    second = made[-1]
    assert second is not first
    assert service.instance_count == 1

    assert (await service.setup(pb.SetupArgs(broker_id=3), ctx("b"))).err == ""
    assert service.instance_count == 2
    reply = await service.handle_request(
        pb.HandleRequestArgs(request=pb.Request(operation="read", path="p")), ctx("b")
    )
    assert reply.response.data == '{"path":"p"}'

    # Cleanup is idempotent and touches only its own id.
    await service.cleanup(pb.Empty(), ctx("a"))
    await service.cleanup(pb.Empty(), ctx("a"))
    await service.cleanup(pb.Empty(), ctx(None))
    assert second.cleanups == 1
    assert service.instance_count == 1
    with pytest.raises(RpcError, match="no backend instance found"):
        await service.type(pb.Empty(), ctx("a"))
    assert (await service.type(pb.Empty(), ctx("b"))).type == 1

    await service.close_all()
    assert service.instance_count == 0
    assert made[-1].cleanups == 1


async def test_undecodable_request_data_is_a_400_for_each_rpc(host: tuple[HostBroker, str]) -> None:
    """The host makes a 400 only of a UserError from an existence check (any other type is
    500 "internal error"), and of a StatusBadRequest from HandleRequest (resolve-path too)."""
    _, path = host
    broker = QuickBroker(None)
    service = BackendService(Recorder, broker)
    broker.announce(ConnInfo(1, "unix", path))
    assert (await service.setup(pb.SetupArgs(broker_id=1), ctx("a"))).err == ""
    deep = '{"junk": ' + "[" * 5000 + "]" * 5000 + "}"
    request = pb.Request(operation="update", path="p", data=deep)
    checked = await service.existence_check(pb.HandleExistenceCheckArgs(request=request), ctx("a"))
    assert checked.err.err_type == ErrType.USER_ERROR
    assert 'field "junk"' in checked.err.err_msg
    for operation in ("resolve-path", "update"):
        request.operation = operation
        handled = await service.handle_request(pb.HandleRequestArgs(request=request), ctx("a"))
        assert handled.err.err_type == ErrType.STATUS_BAD_REQUEST
        assert 'field "junk"' in handled.err.err_msg
    await service.close_all()


def test_load_factory() -> None:
    factory = load_factory("vault_plugin_litellm.sdk.logical:InMemoryStorage")
    assert factory.__name__ == "InMemoryStorage"
    assert load_factory(Recorder) is Recorder


# -- storage and system view clients ----------------------------------------------------------
@pytest.fixture
async def conn(host: tuple[HostBroker, str]) -> AsyncIterator[ClientConnection]:
    connection = await connect_unix(host[1])
    yield connection
    connection.close()


async def test_storage_client(conn: ClientConnection, host: tuple[HostBroker, str]) -> None:
    data = host[0].data
    storage = GrpcStorage(conn)
    assert await storage.get("missing") is None
    await storage.put(StorageEntry("a/b", b"\x00bytes\xff"))
    assert data["a/b"] == b"\x00bytes\xff"
    assert await storage.get("a/b") == StorageEntry("a/b", b"\x00bytes\xff", True)
    assert await storage.list("a/") == ["b"]
    await storage.delete("a/b")
    assert "a/b" not in data


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            "put",
            "cannot write to readonly storage",
        ),  # passed on verbatim: it forwards to the active node
        ("delete", "cannot write to readonly storage"),
        ("get-reply", "cannot read: sealed"),
        ("get-grpc", "missing storage implementation"),
        ("list", "list failed"),
    ],
)
async def test_storage_errors(conn: ClientConnection, operation: str, message: str) -> None:
    storage = GrpcStorage(conn)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "put": lambda: storage.put(StorageEntry("ro/x", b"")),
        "delete": lambda: storage.delete("ro/x"),
        "get-reply": lambda: storage.get("reply-error"),
        "get-grpc": lambda: storage.get("grpc-error"),
        "list": lambda: storage.list("bad/"),
    }
    attempt: Awaitable[object] = calls[operation]()
    with pytest.raises(StorageError) as info:
        await attempt
    assert info.value.message == message


async def test_storage_on_a_closed_connection(conn: ClientConnection) -> None:
    conn.close()
    await conn.wait_closed()
    with pytest.raises(StorageError, match="connection closed"):
        await GrpcStorage(conn).get("a")


async def test_system_view_client(conn: ClientConnection) -> None:
    view = GrpcSystemView(conn)
    assert await view.default_lease_ttl() == timedelta(
        hours=1, microseconds=1
    )  # ns truncated to µs
    assert await view.entity_info("") is None
    entity = await view.entity_info("e-1")
    assert entity is not None
    assert entity.id == "e-1"
    assert entity.aliases[0].metadata == {"k": "v"}
    with pytest.raises(SystemViewError, match="entity lookup failed"):
        await view.entity_info("broken")
    assert await view.generate_password_from_policy("p") == "s3cr3t"
    with pytest.raises(
        SystemViewError, match="system view GeneratePasswordFromPolicy: policy name missing"
    ):
        await view.generate_password_from_policy("")
    # Failures raise instead of reading as zero; a method the host lacks says so.
    with pytest.raises(UnsupportedByHostError, match="system view MaxLeaseTTL is not supported"):
        await view.max_lease_ttl()
