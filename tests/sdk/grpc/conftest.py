"""Shared pieces of the sdk.grpc tests: an echo service on our Server and on a grpc.aio
server, and certificates for both sides."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.wrappers_pb2 import BytesValue, StringValue
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import RpcError, Server, ServerContext, StatusCode
from vault_plugin_litellm.sdk.grpc.limits import HOST_SERVER_LIMITS, Limits

MAX_MESSAGE = 2**31 - 1
GRPCIO_LIMITS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]
NON_ASCII_MESSAGE = "bad input ✓ 100% sûr\nline two"


@pytest.fixture
def sock_dir() -> Iterator[str]:
    """A short directory for unix sockets (their paths are limited to about 100 bytes)."""
    path = tempfile.mkdtemp(prefix="sdkg", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def plugin_identity() -> tls.Identity:
    return tls.generate_identity()


@pytest.fixture(scope="session")
def host_identity() -> tls.Identity:
    """The other side's certificate (P-256, which grpcio's BoringSSL handles)."""
    return tls.generate_identity()


@dataclass
class Gate:
    """Holds a handler until released, and tells whether it started or was cancelled."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@dataclass
class EchoState(Gate):
    """What the echo handlers saw, for assertions."""

    contexts: list[ServerContext] = field(default_factory=list)


def echo_server(state: EchoState, limits: Limits = HOST_SERVER_LIMITS) -> Server:
    """Our Server with the methods the interop tests call (with the plugin's limits)."""
    server = Server(limits=limits)

    async def echo(req: StringValue, ctx: ServerContext) -> StringValue:
        state.contexts.append(ctx)
        if req.value == "fail":
            raise RpcError(StatusCode.INVALID_ARGUMENT, NON_ASCII_MESSAGE)
        if req.value == "crash":
            raise KeyError("a bug in the handler")
        return StringValue(value=req.value + "|" + ctx.metadata.get("multiplex_id", "-"))

    async def size(req: BytesValue, ctx: ServerContext) -> BytesValue:
        # Answers with as many bytes as the request carried, so both directions are big.
        return BytesValue(value=bytes(reversed(req.value)))

    async def slow(req: StringValue, ctx: ServerContext) -> StringValue:
        state.contexts.append(ctx)
        await state.hold()
        return StringValue(value="released")

    async def count(req: StringValue, ctx: ServerContext) -> AsyncIterator[StringValue]:
        for i in range(int(req.value)):
            yield StringValue(value=f"item-{i}")
        if ctx.metadata.get("fail-after"):
            raise RpcError(StatusCode.ABORTED, "stopped after the items")

    async def upper(
        requests: AsyncIterator[StringValue], ctx: ServerContext
    ) -> AsyncIterator[StringValue]:
        try:
            async for req in requests:
                yield StringValue(value=req.value.upper())
        except asyncio.CancelledError:
            state.cancelled.set()
            raise

    async def hoard(
        requests: AsyncIterator[StringValue], ctx: ServerContext
    ) -> AsyncIterator[StringValue]:
        # Reads nothing until released: what the client sends waits in the request queue.
        await state.hold()
        async for req in requests:
            yield StringValue(value=req.value)

    server.add_unary("/test.Echo/Echo", StringValue, echo)
    server.add_bidi_stream("/test.Echo/Hoard", StringValue, hoard)
    server.add_unary("/test.Echo/Size", BytesValue, size)
    server.add_unary("/test.Echo/Slow", StringValue, slow)
    server.add_server_stream("/test.Echo/Count", StringValue, count)
    server.add_bidi_stream("/test.Echo/Upper", StringValue, upper)
    return server


@pytest.fixture
def echo_state() -> EchoState:
    return EchoState()


@contextlib.asynccontextmanager
async def serving(limits: Limits, state: EchoState) -> AsyncIterator[tuple[Server, int]]:
    """The echo server with ``limits`` on a free TCP port, stopped afterwards."""
    server = echo_server(state, limits)
    port = await server.listen_tcp("127.0.0.1", 0)
    try:
        yield server, port
    finally:
        state.release.set()
        await server.stop(grace=0.1)


@pytest.fixture
async def our_server(echo_state: EchoState) -> AsyncIterator[Server]:
    server = echo_server(echo_state)
    yield server
    echo_state.release.set()
    await server.stop(grace=0.1)


# -- grpc.aio as the other side ---------------------------------------------------------------
@dataclass
class GrpcioState(Gate):
    metadata: list[dict[str, str]] = field(default_factory=list)


def grpcio_echo_handlers(state: GrpcioState) -> grpc.GenericRpcHandler:
    async def echo(
        req: StringValue, ctx: grpc.aio.ServicerContext[StringValue, StringValue]
    ) -> StringValue:
        state.metadata.append({k: str(v) for k, v in ctx.invocation_metadata() or ()})
        if req.value == "fail":
            await ctx.abort(grpc.StatusCode.NOT_FOUND, NON_ASCII_MESSAGE)
        return StringValue(value=req.value[::-1])

    async def size(
        req: BytesValue, ctx: grpc.aio.ServicerContext[BytesValue, BytesValue]
    ) -> BytesValue:
        return BytesValue(value=bytes(reversed(req.value)))

    async def slow(
        req: StringValue, ctx: grpc.aio.ServicerContext[StringValue, StringValue]
    ) -> StringValue:
        await state.hold()
        return StringValue(value="released")

    def unary(
        func: object, message: type[StringValue] | type[BytesValue]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        return grpc.unary_unary_rpc_method_handler(
            func,  # type: ignore[arg-type]
            request_deserializer=message.FromString,
            response_serializer=message.SerializeToString,
        )

    return grpc.method_handlers_generic_handler(
        "test.Echo",
        {
            "Echo": unary(echo, StringValue),
            "Size": unary(size, BytesValue),
            "Slow": unary(slow, StringValue),
        },
    )


@pytest.fixture
async def plain_port(our_server: Server) -> int:
    return await our_server.listen_tcp("127.0.0.1", 0)
