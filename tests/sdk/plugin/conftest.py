"""A fake host for the sdk.plugin tests: grpc.aio plays grpc-go on both of the host's sides.

The host dials the plugin process (TLS, ALPN h2) and opens the broker stream; for each mount
it serves ``pb.Storage`` and ``pb.SystemView`` on a broker listener of its own, backed by a
dict, and announces it with a ConnInfo. grpcio cannot do the real host's P-521 certificate, so
the host certificate here is P-256: the plugin accepts whatever ``PLUGIN_CLIENT_CERT`` holds.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.message import Message
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_proto.goplugin import grpc_broker_pb2
from vault_plugin_proto.logical import plugin_pb2
from vault_plugin_proto.pb import backend_pb2 as pb

from ..goplugin.hostside import PluginProcess, cert_pem_from_handshake, plugin_env, start_plugin

PLUGIN_BACKEND = Path(__file__).with_name("plugin_backend.py")
MAX = 2**31 - 1
LIMITS = [("grpc.max_receive_message_length", MAX), ("grpc.max_send_message_length", MAX)]
MISSING_STORAGE = (
    "missing storage implementation: this method should not be called during plugin Setup, "
    "but only during and after Initialize"
)
DEFAULT_TTL_NS = 768 * 3600 * 10**9

R = TypeVar("R", bound=Message)


@dataclass
class BrokerHost:
    """One mount's broker listener: storage in a dict, a system view with fixed answers."""

    service_id: int
    path: str
    data: dict[str, bytes] = field(default_factory=dict)
    probe: bool = False  # answer storage calls as during registration probes
    calls: list[str] = field(default_factory=list)
    server: grpc.aio.Server | None = None

    def handlers(self) -> grpc.GenericRpcHandler:
        async def storage_gate(ctx: grpc.aio.ServicerContext[Any, Any], name: str) -> None:
            self.calls.append(name)
            if self.probe:
                await ctx.abort(grpc.StatusCode.UNKNOWN, MISSING_STORAGE)

        async def get(
            req: pb.StorageGetArgs, ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> pb.StorageGetReply:
            await storage_gate(ctx, "Get")
            if req.key not in self.data:
                return pb.StorageGetReply()
            return pb.StorageGetReply(entry=pb.StorageEntry(key=req.key, value=self.data[req.key]))

        async def put(
            req: pb.StoragePutArgs, ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> pb.StoragePutReply:
            await storage_gate(ctx, "Put")
            if req.entry.key.startswith("readonly/"):
                return pb.StoragePutReply(err="cannot write to readonly storage")
            self.data[req.entry.key] = req.entry.value
            return pb.StoragePutReply()

        async def delete(
            req: pb.StorageDeleteArgs, ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> pb.StorageDeleteReply:
            await storage_gate(ctx, "Delete")
            self.data.pop(req.key, None)
            return pb.StorageDeleteReply()

        async def list_keys(
            req: pb.StorageListArgs, ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> pb.StorageListReply:
            await storage_gate(ctx, "List")
            children = {
                k[len(req.prefix) :].split("/", 1)[0] + ("/" if "/" in k[len(req.prefix) :] else "")
                for k in self.data
                if k.startswith(req.prefix)
            }
            return pb.StorageListReply(keys=sorted(children))

        async def default_ttl(
            req: pb.Empty, ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> pb.TTLReply:
            self.calls.append("DefaultLeaseTTL")
            return pb.TTLReply(TTL=DEFAULT_TTL_NS)

        async def plugin_env_call(
            req: pb.Empty, ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> pb.PluginEnvReply:
            env = plugin_pb2.PluginEnvironment(vault_version="2.7.2")
            return pb.PluginEnvReply(plugin_environment=env)

        def unary(
            func: Callable[..., Any], request: type[Message], reply: type[Message]
        ) -> grpc.RpcMethodHandler[Any, Any]:
            return grpc.unary_unary_rpc_method_handler(
                func,
                request_deserializer=request.FromString,
                response_serializer=reply.SerializeToString,
            )

        storage = grpc.method_handlers_generic_handler(
            "pb.Storage",
            {
                "Get": unary(get, pb.StorageGetArgs, pb.StorageGetReply),
                "Put": unary(put, pb.StoragePutArgs, pb.StoragePutReply),
                "Delete": unary(delete, pb.StorageDeleteArgs, pb.StorageDeleteReply),
                "List": unary(list_keys, pb.StorageListArgs, pb.StorageListReply),
            },
        )
        system_view = grpc.method_handlers_generic_handler(
            "pb.SystemView",
            {
                "DefaultLeaseTTL": unary(default_ttl, pb.Empty, pb.TTLReply),
                "PluginEnv": unary(plugin_env_call, pb.Empty, pb.PluginEnvReply),
            },
        )
        # One generic handler serving both services.
        return _Either(storage, system_view)


class _Either(grpc.GenericRpcHandler):
    def __init__(self, *handlers: grpc.GenericRpcHandler) -> None:
        self._handlers = handlers

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        for handler in self._handlers:
            found = handler.service(handler_call_details)
            if found is not None:
                return found
        return None


class FakeHost:
    """Plays OpenBao: starts the plugin, dials it, brokers storage, drives pb.Backend."""

    def __init__(self, sock_dir: str, identity: tls.Identity, env: dict[str, str]) -> None:
        self.sock_dir = sock_dir
        self.identity = identity
        self.plugin: PluginProcess = start_plugin(
            plugin_env(PLUGIN_CLIENT_CERT=identity.cert_pem.decode(), **env), PLUGIN_BACKEND
        )
        self.plugin_cert = cert_pem_from_handshake(self.plugin.fields[5])
        creds = grpc.ssl_channel_credentials(
            root_certificates=self.plugin_cert.encode(),
            private_key=identity.key_pem,
            certificate_chain=identity.cert_pem,
        )
        self.channel = grpc.aio.secure_channel(
            f"unix:{self.plugin.socket_path}",
            creds,
            options=[
                ("grpc.ssl_target_name_override", "localhost"),
                ("grpc.default_authority", "localhost"),
                *LIMITS,
            ],
        )
        self.broker_stream: grpc.aio.StreamStreamCall[Any, Any] | None = None
        self.brokers: list[BrokerHost] = []
        self._next_id = 1

    async def open_broker_stream(self) -> None:
        call = self.channel.stream_stream(
            "/plugin.GRPCBroker/StartStream",
            request_serializer=grpc_broker_pb2.ConnInfo.SerializeToString,
            response_deserializer=grpc_broker_pb2.ConnInfo.FromString,
        )
        self.broker_stream = call()

    async def unary(
        self,
        path: str,
        request: Message,
        reply: type[R],
        mux_id: str | None = None,
        deadline: float = 30,
    ) -> R:
        call = self.channel.unary_unary(
            path,
            request_serializer=type(request).SerializeToString,
            response_deserializer=reply.FromString,
        )
        metadata = [("multiplex_id", mux_id)] if mux_id is not None else None
        result: R = await call(request, metadata=metadata, timeout=deadline)
        return result

    async def start_broker(self, *, probe: bool = False) -> BrokerHost:
        broker = BrokerHost(
            self._next_id, os.path.join(self.sock_dir, f"broker{self._next_id}.sock"), probe=probe
        )
        self._next_id += 1
        server = grpc.aio.server(options=LIMITS)
        server.add_generic_rpc_handlers([broker.handlers()])
        creds = grpc.ssl_server_credentials(
            [(self.identity.key_pem, self.identity.cert_pem)],
            root_certificates=self.plugin_cert.encode(),
            require_client_auth=True,
        )
        server.add_secure_port(f"unix:{broker.path}", creds)
        await server.start()
        broker.server = server
        self.brokers.append(broker)
        return broker

    async def announce(self, broker: BrokerHost) -> None:
        assert self.broker_stream is not None
        await self.broker_stream.write(
            grpc_broker_pb2.ConnInfo(
                service_id=broker.service_id, network="unix", address=broker.path
            )
        )

    async def setup(
        self, mux_id: str, broker: BrokerHost, config: dict[str, str] | None = None
    ) -> pb.SetupReply:
        args = pb.SetupArgs(
            broker_id=broker.service_id, Config=config or {}, backendUUID=f"uuid-{mux_id}"
        )
        return await self.unary("/pb.Backend/Setup", args, pb.SetupReply, mux_id)

    async def mount(self, mux_id: str, config: dict[str, str] | None = None) -> BrokerHost:
        broker = await self.start_broker()
        await self.announce(broker)
        reply = await self.setup(
            mux_id, broker, {"plugin_name": "tiny", "plugin_type": "secret", **(config or {})}
        )
        assert reply.err == ""
        return broker

    async def request(
        self, mux_id: str, operation: str, path: str, data: str = "null", **fields: Any
    ) -> pb.HandleRequestReply:
        req = pb.Request(operation=operation, path=path, data=data, **fields)
        return await self.unary(
            "/pb.Backend/HandleRequest",
            pb.HandleRequestArgs(request=req),
            pb.HandleRequestReply,
            mux_id,
        )

    async def close(self) -> None:
        if self.broker_stream is not None:
            self.broker_stream.cancel()
        await self.channel.close()
        for broker in self.brokers:
            if broker.server is not None:
                await broker.server.stop(None)
        self.plugin.stop()


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="sdkh", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def host_identity() -> tls.Identity:
    return tls.generate_identity()


@pytest.fixture
async def host(sock_dir: str, host_identity: tls.Identity) -> AsyncIterator[FakeHost]:
    fake = FakeHost(sock_dir, host_identity, {})
    await fake.open_broker_stream()
    yield fake
    await fake.close()


async def wait_exit(plugin: PluginProcess, bound: float = 10) -> int:
    """The exit status; ``bound`` only stops a hang, it is not a measurement."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, plugin.proc.wait, bound)
