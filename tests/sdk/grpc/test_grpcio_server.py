"""Our ClientConnection against a grpc.aio server: the plugin's broker dials to the host."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.wrappers_pb2 import BytesValue, StringValue
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import (
    ClientConnection,
    RpcError,
    StatusCode,
    connect_tcp,
    connect_unix,
)
from vault_plugin_litellm.sdk.grpc.limits import BROKER_CHANNEL_LIMITS

from .conftest import GRPCIO_LIMITS, NON_ASCII_MESSAGE, GrpcioState, grpcio_echo_handlers


@dataclass
class Peer:
    server: grpc.aio.Server
    conn: ClientConnection
    state: GrpcioState


@pytest.fixture(params=["plain-unix", "tls-tcp"])
async def peer(
    request: pytest.FixtureRequest,
    sock_dir: str,
    plugin_identity: tls.Identity,
    host_identity: tls.Identity,
) -> AsyncIterator[Peer]:
    state = GrpcioState()
    server = grpc.aio.server(options=GRPCIO_LIMITS)
    server.add_generic_rpc_handlers([grpcio_echo_handlers(state)])
    if request.param == "plain-unix":
        path = os.path.join(sock_dir, "g.sock")
        server.add_insecure_port(f"unix:{path}")
        await server.start()
        conn = await connect_unix(path, limits=BROKER_CHANNEL_LIMITS)
    else:
        creds = grpc.ssl_server_credentials(
            [(host_identity.key_pem, host_identity.cert_pem)],
            root_certificates=plugin_identity.cert_pem,
            require_client_auth=True,
        )
        port = server.add_secure_port("127.0.0.1:0", creds)
        await server.start()
        ctx = tls.client_context(plugin_identity, host_identity.cert_pem.decode())
        conn = await connect_tcp("127.0.0.1", port, ctx, limits=BROKER_CHANNEL_LIMITS)
        ssl_object = conn.transport.get_extra_info("ssl_object") if conn.transport else None
        assert ssl_object is not None
        assert ssl_object.selected_alpn_protocol() == "h2"
    yield Peer(server, conn, state)
    conn.close()
    state.release.set()
    await server.stop(None)


async def test_unary_with_metadata(peer: Peer) -> None:
    reply = await peer.conn.call(
        "/test.Echo/Echo",
        StringValue(value="abc"),
        StringValue,
        metadata=[("multiplex_id", "gF1dQ6crnU")],
        timeout=30,
    )
    assert reply.value == "cba"
    seen = peer.state.metadata[-1]
    assert seen["multiplex_id"] == "gF1dQ6crnU"
    assert seen["user-agent"].startswith("vault-plugin-litellm-grpc")


async def test_error_status_and_non_ascii_message(peer: Peer) -> None:
    with pytest.raises(RpcError) as info:
        await peer.conn.call("/test.Echo/Echo", StringValue(value="fail"), StringValue)
    assert info.value.code == StatusCode.NOT_FOUND
    assert info.value.message == NON_ASCII_MESSAGE


async def test_unknown_method(peer: Peer) -> None:
    with pytest.raises(RpcError) as info:
        await peer.conn.call("/test.Echo/Nope", StringValue(value="x"), StringValue)
    assert info.value.code == StatusCode.UNIMPLEMENTED


async def test_big_messages_both_ways(peer: Peer) -> None:
    payload = os.urandom(6 << 20)
    reply = await peer.conn.call("/test.Echo/Size", BytesValue(value=payload), BytesValue)
    assert reply.value == payload[::-1]


async def test_many_concurrent_calls(peer: Peer) -> None:
    blobs = [os.urandom(200_000 + i) for i in range(4)]
    texts, sizes = await asyncio.gather(
        asyncio.gather(
            *(
                peer.conn.call("/test.Echo/Echo", StringValue(value=f"n{i}"), StringValue)
                for i in range(300)
            )
        ),
        asyncio.gather(
            *(peer.conn.call("/test.Echo/Size", BytesValue(value=b), BytesValue) for b in blobs)
        ),
    )
    assert [r.value for r in texts] == [f"n{i}"[::-1] for i in range(300)]
    assert [r.value for r in sizes] == [b[::-1] for b in blobs]


async def test_timeout_is_deadline_exceeded_and_cancels_the_server_call(peer: Peer) -> None:
    with pytest.raises(RpcError) as info:
        await peer.conn.call("/test.Echo/Slow", StringValue(value="x"), StringValue, timeout=0.2)
    assert info.value.code == StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(peer.state.cancelled.wait(), 10)
    # The connection goes on serving.
    reply = await peer.conn.call("/test.Echo/Echo", StringValue(value="ok"), StringValue)
    assert reply.value == "ko"


async def test_caller_cancellation_resets_the_stream(peer: Peer) -> None:
    task = asyncio.ensure_future(
        peer.conn.call("/test.Echo/Slow", StringValue(value="x"), StringValue)
    )
    await peer.state.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The server learns of it (RST_STREAM), and the client forgets the stream.
    await asyncio.wait_for(peer.state.cancelled.wait(), 10)
    assert not peer.conn._streams


async def test_server_going_away(peer: Peer) -> None:
    running = asyncio.ensure_future(
        peer.conn.call("/test.Echo/Slow", StringValue(value="x"), StringValue)
    )
    await peer.state.started.wait()
    await peer.server.stop(grace=None)
    with pytest.raises(RpcError) as info:
        await running
    assert info.value.code == StatusCode.UNAVAILABLE
    await asyncio.wait_for(peer.conn.wait_closed(), 10)
    with pytest.raises(RpcError) as info:
        await peer.conn.call("/test.Echo/Echo", StringValue(value="late"), StringValue)
    assert info.value.code == StatusCode.UNAVAILABLE
