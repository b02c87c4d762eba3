"""The generated services work over a real in-process grpc.aio connection on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from vault_plugin_proto.logical import version_pb2, version_pb2_grpc
from vault_plugin_proto.pb import backend_pb2, backend_pb2_grpc


class EchoBackend(backend_pb2_grpc.BackendServicer):
    """A backend that answers every request with what it received (and leaves the rest out)."""

    def __init__(self) -> None:
        self.config: dict[str, str] = {}
        self.broker_id = 0

    async def Setup(
        self, request: backend_pb2.SetupArgs, context: grpc.aio.ServicerContext[object, object]
    ) -> backend_pb2.SetupReply:
        self.config = dict(request.Config)
        self.broker_id = request.broker_id
        return backend_pb2.SetupReply()

    async def Type(
        self, request: backend_pb2.Empty, context: grpc.aio.ServicerContext[object, object]
    ) -> backend_pb2.TypeReply:
        return backend_pb2.TypeReply(type=1)

    async def HandleRequest(
        self,
        request: backend_pb2.HandleRequestArgs,
        context: grpc.aio.ServicerContext[object, object],
    ) -> backend_pb2.HandleRequestReply:
        if request.request.operation != "read":
            return backend_pb2.HandleRequestReply(
                err=backend_pb2.ProtoError(err_type=5, err_msg="unsupported operation")
            )
        metadata = dict(context.invocation_metadata() or ())
        data = {
            "path": request.request.path,
            "multiplex_id": metadata.get("multiplex_id"),
            "config": self.config,
        }
        secret = backend_pb2.Secret(
            lease_options=backend_pb2.LeaseOptions(TTL=60 * 10**9, renewable=True),
            internal_data=json.dumps({"secret_type": "echo"}),
        )
        secret.lease_options.issue_time.GetCurrentTime()
        return backend_pb2.HandleRequestReply(
            response=backend_pb2.Response(data=json.dumps(data), secret=secret)
        )


class MemoryStorage(backend_pb2_grpc.StorageServicer):
    """Vault-like storage: the four basic RPCs, none of OpenBao's transactional ones."""

    def __init__(self) -> None:
        self.entries: dict[str, backend_pb2.StorageEntry] = {}

    async def Put(
        self, request: backend_pb2.StoragePutArgs, context: grpc.aio.ServicerContext[object, object]
    ) -> backend_pb2.StoragePutReply:
        self.entries[request.entry.key] = request.entry
        return backend_pb2.StoragePutReply()

    async def Get(
        self, request: backend_pb2.StorageGetArgs, context: grpc.aio.ServicerContext[object, object]
    ) -> backend_pb2.StorageGetReply:
        entry = self.entries.get(request.key)
        return backend_pb2.StorageGetReply(entry=entry)

    async def List(
        self,
        request: backend_pb2.StorageListArgs,
        context: grpc.aio.ServicerContext[object, object],
    ) -> backend_pb2.StorageListReply:
        keys = sorted(k.removeprefix(request.prefix) for k in self.entries)
        return backend_pb2.StorageListReply(keys=[k for k in keys if k])


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server()
    backend_pb2_grpc.add_BackendServicer_to_server(EchoBackend(), server)
    backend_pb2_grpc.add_StorageServicer_to_server(MemoryStorage(), server)
    health_servicer = health.aio.HealthServicer()
    await health_servicer.set("plugin", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            yield chan
    finally:
        await server.stop(grace=None)


async def test_backend_setup_type_and_handle_request(channel: grpc.aio.Channel) -> None:
    backend = backend_pb2_grpc.BackendStub(channel)
    multiplex = (("multiplex_id", "gF1dQ6crnU"),)

    setup: backend_pb2.SetupReply = await backend.Setup(
        backend_pb2.SetupArgs(broker_id=1, Config={"plugin_name": "echo"}), metadata=multiplex
    )
    kind: backend_pb2.TypeReply = await backend.Type(backend_pb2.Empty(), metadata=multiplex)
    reply: backend_pb2.HandleRequestReply = await backend.HandleRequest(
        backend_pb2.HandleRequestArgs(
            request=backend_pb2.Request(operation="read", path="creds/r1", data="null")
        ),
        metadata=multiplex,
    )
    refused: backend_pb2.HandleRequestReply = await backend.HandleRequest(
        backend_pb2.HandleRequestArgs(request=backend_pb2.Request(operation="patch"))
    )

    assert setup.err == ""
    assert kind.type == 1
    assert json.loads(reply.response.data) == {
        "path": "creds/r1",
        "multiplex_id": "gF1dQ6crnU",
        "config": {"plugin_name": "echo"},
    }
    assert reply.response.secret.lease_options.TTL == 60 * 10**9
    assert reply.response.secret.lease_options.issue_time.seconds > 0
    assert not reply.HasField("err")
    assert refused.err.err_type == 5


async def test_method_a_servicer_leaves_out_answers_unimplemented(
    channel: grpc.aio.Channel,
) -> None:
    backend = backend_pb2_grpc.BackendStub(channel)
    storage = backend_pb2_grpc.StorageStub(channel)

    for call in (
        backend.SpecialPaths(backend_pb2.Empty()),
        storage.BeginTx(backend_pb2.Empty()),
        storage.IsTransactional(backend_pb2.Empty()),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_storage_put_get_list(channel: grpc.aio.Channel) -> None:
    storage = backend_pb2_grpc.StorageStub(channel)
    entry = backend_pb2.StorageEntry(key="roles/reader", value=b'{"models":["fake-gpt"]}\n')

    put: backend_pb2.StoragePutReply = await storage.Put(backend_pb2.StoragePutArgs(entry=entry))
    got: backend_pb2.StorageGetReply = await storage.Get(
        backend_pb2.StorageGetArgs(key="roles/reader")
    )
    absent: backend_pb2.StorageGetReply = await storage.Get(
        backend_pb2.StorageGetArgs(key="roles/none")
    )
    listed: backend_pb2.StorageListReply = await storage.List(
        backend_pb2.StorageListArgs(prefix="roles/")
    )

    assert put.err == ""
    assert got.entry == entry
    assert not absent.HasField("entry")
    assert list(listed.keys) == ["reader"]


async def test_health_and_unserved_service(channel: grpc.aio.Channel) -> None:
    # The method path go-plugin hosts use; typeshed's HealthStub declares no methods.
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    checked = await check(health_pb2.HealthCheckRequest(service="plugin"))
    assert checked.status == health_pb2.HealthCheckResponse.SERVING

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await version_pb2_grpc.PluginVersionStub(channel).Version(version_pb2.Empty())
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_readme_example(readme_example: str, tmp_path: Path) -> None:
    """The README's example, run as written, with the broker dial pointed at a local Storage."""
    storage = MemoryStorage()
    role = {"models": ["fake-gpt"]}
    storage.entries["roles/reader"] = backend_pb2.StorageEntry(
        key="roles/reader", value=json.dumps(role).encode()
    )
    host = grpc.aio.server()
    backend_pb2_grpc.add_StorageServicer_to_server(storage, host)
    host.add_insecure_port(f"unix:{tmp_path}/host.sock")
    await host.start()
    dialled: list[tuple[int, grpc.aio.Channel]] = []

    async def dial_broker(broker_id: int) -> grpc.aio.Channel:
        dialled.append((broker_id, grpc.aio.insecure_channel(f"unix:{tmp_path}/host.sock")))
        return dialled[-1][1]

    example: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_example, "README.md", "exec"), example)  # noqa: S102 - our own README
    example["dial_broker"] = dial_broker
    plugin: grpc.aio.Server = await example["serve"](f"unix:{tmp_path}/plugin.sock")
    try:
        async with grpc.aio.insecure_channel(f"unix:{tmp_path}/plugin.sock") as channel:
            backend = backend_pb2_grpc.BackendStub(channel)
            setup: backend_pb2.SetupReply = await backend.Setup(backend_pb2.SetupArgs(broker_id=7))
            kind: backend_pb2.TypeReply = await backend.Type(backend_pb2.Empty())
            found: backend_pb2.HandleRequestReply = await backend.HandleRequest(
                backend_pb2.HandleRequestArgs(
                    request=backend_pb2.Request(operation="read", path="roles/reader")
                )
            )
            absent: backend_pb2.HandleRequestReply = await backend.HandleRequest(
                backend_pb2.HandleRequestArgs(
                    request=backend_pb2.Request(operation="read", path="roles/none")
                )
            )
            refused: backend_pb2.HandleRequestReply = await backend.HandleRequest(
                backend_pb2.HandleRequestArgs(request=backend_pb2.Request(operation="update"))
            )
    finally:
        await plugin.stop(grace=None)
        for _, dialled_channel in dialled:
            await dialled_channel.close()
        await host.stop(grace=None)

    assert setup.err == ""
    assert [broker_id for broker_id, _ in dialled] == [7]
    assert kind.type == 1
    assert json.loads(found.response.data) == {"role": role}
    assert json.loads(absent.response.data) == {"role": None}
    assert refused.err.err_type == 5
