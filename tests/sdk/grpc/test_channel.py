"""``Channel``: calls survive the end of a connection by dialling again, and the client keeps
to the server's MAX_CONCURRENT_STREAMS."""

from __future__ import annotations

import asyncio
import os

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.grpc import Channel, ClientConnection, RpcError, StatusCode
from vault_plugin_litellm.sdk.grpc.channel import MAX_STREAM_ID, connect_unix

from .conftest import EchoState, GrpcioState, echo_server, grpcio_echo_handlers


def recording_channel(path: str) -> tuple[Channel, list[ClientConnection]]:
    """A channel to ``path`` and the list of connections it has dialled so far."""
    dials: list[ClientConnection] = []

    async def dial() -> ClientConnection:
        conn = await connect_unix(path)
        dials.append(conn)
        return conn

    return Channel(dial), dials


async def test_a_channel_redials_after_the_server_closed_the_connection(
    sock_dir: str, echo_state: EchoState
) -> None:
    path = os.path.join(sock_dir, "s.sock")
    server = echo_server(echo_state)
    await server.listen_unix(path)
    channel, dials = recording_channel(path)
    try:
        first = await channel.call("/test.Echo/Echo", StringValue(value="a"), StringValue)
        assert first.value == "a|-"
        await server.stop(grace=0.1)  # GOAWAY, then the connection closes
        await dials[0].wait_closed()
        # Nothing listens now: the call fails, and says why, instead of hanging.
        with pytest.raises(RpcError) as failed:
            await channel.call("/test.Echo/Echo", StringValue(value="b"), StringValue)
        assert failed.value.code == StatusCode.UNAVAILABLE
        server = echo_server(echo_state)
        await server.listen_unix(path)
        again = await channel.call("/test.Echo/Echo", StringValue(value="c"), StringValue)
        assert again.value == "c|-"
        assert len(dials) == 2
    finally:
        channel.close()
        await server.stop(grace=0.1)


async def test_a_channel_moves_on_when_stream_ids_run_out(
    sock_dir: str, echo_state: EchoState
) -> None:
    path = os.path.join(sock_dir, "s.sock")
    server = echo_server(echo_state)
    await server.listen_unix(path)
    channel, dials = recording_channel(path)
    try:
        await channel.call("/test.Echo/Echo", StringValue(value="a"), StringValue)
        dials[0]._next_own_stream = MAX_STREAM_ID  # the last id a client may use
        last = await channel.call("/test.Echo/Echo", StringValue(value="last"), StringValue)
        assert last.value == "last|-"
        assert not dials[0].usable
        with pytest.raises(RpcError, match="stream ids exhausted"):
            await dials[0].unary("/test.Echo/Echo", StringValue(value="x").SerializeToString())
        fresh = await channel.call("/test.Echo/Echo", StringValue(value="next"), StringValue)
        assert fresh.value == "next|-"
        assert len(dials) == 2
    finally:
        channel.close()
        await server.stop(grace=0.1)


async def test_the_client_keeps_to_the_servers_max_concurrent_streams(sock_dir: str) -> None:
    state = GrpcioState()
    path = os.path.join(sock_dir, "g.sock")
    server = grpc.aio.server(options=[("grpc.max_concurrent_streams", 2)])
    server.add_generic_rpc_handlers([grpcio_echo_handlers(state)])
    server.add_insecure_port("unix:" + path)
    await server.start()
    conn = await connect_unix(path)
    try:
        await conn.call("/test.Echo/Echo", StringValue(value="warm"), StringValue)
        assert conn.peer_max_streams == 2
        calls = [
            asyncio.ensure_future(conn.call("/test.Echo/Slow", StringValue(), StringValue))
            for _ in range(5)
        ]
        # Two calls open on the wire (the handlers hold them); the other three wait for a free
        # stream, however long the two take to get there.
        async with asyncio.timeout(30):
            while len(conn._streams) < 2:  # noqa: ASYNC110 - no event marks a stream opening
                await asyncio.sleep(0.01)
        assert len(conn._streams) == 2
        assert conn._next_own_stream == 3 + 2 * 2
        state.release.set()
        results = await asyncio.gather(*calls)
        assert [r.value for r in results] == ["released"] * 5
    finally:
        conn.close()
        await server.stop(0)
