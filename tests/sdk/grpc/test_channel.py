"""``Channel``: calls survive the end of a connection by dialling again, and the client keeps
to the server's MAX_CONCURRENT_STREAMS."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.grpc import (
    Channel,
    ClientConnection,
    RpcError,
    StatusCode,
    connect_tcp,
)
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc.channel import MAX_STREAM_ID, connect_unix
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, FrameType
from vault_plugin_litellm.sdk.grpc.limits import Limits

from .conftest import EchoState, GrpcioState, echo_server, grpcio_echo_handlers, serving
from .rawh2 import RawPeer
from .test_raw_client import read_body, read_request, respond


def tcp_channel(port: int) -> tuple[Channel, list[ClientConnection]]:
    dials: list[ClientConnection] = []

    async def dial() -> ClientConnection:
        conn = await connect_tcp("127.0.0.1", port)
        dials.append(conn)
        return conn

    return Channel(dial), dials


async def call_text(channel: Channel, text: str) -> str:
    reply = await channel.call("/test.Echo/Echo", StringValue(value=text), StringValue, timeout=30)
    return reply.value


@dataclass
class ScriptedPair:
    """A raw HTTP/2 server running ``scripts[i]`` on its i-th accepted connection."""

    scripts: list[Callable[[RawPeer], Awaitable[None]]] = field(default_factory=list)
    port: int = 0
    accepted: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer)
        index = self.accepted
        self.accepted += 1
        try:
            assert await reader.readexactly(len(fr.PREFACE)) == fr.PREFACE
            peer.send_frame(FrameType.SETTINGS, 0, 0)
            await self.scripts[index](peer)
        finally:
            if self.accepted == len(self.scripts):
                self.done.set()
            await peer.close()


@pytest.fixture
async def scripted_pair() -> AsyncIterator[ScriptedPair]:
    state = ScriptedPair()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    yield state
    server.close()


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


async def test_graceful_goaway_drains_the_old_connection(scripted_pair: ScriptedPair) -> None:
    # grpc-go's graceful stop: GOAWAY(2^31-1), a PING round trip, GOAWAY(last processed).
    # The call it processes finishes on the old connection (a storage write the server
    # completes is reported as done), the one it does not is retried on a new connection,
    # and the old connection closes after its last call.
    first_sent = asyncio.Event()
    answer_first = asyncio.Event()

    async def old(peer: RawPeer) -> None:
        processed, _ = await read_request(peer)
        ignored, _ = await read_request(peer)
        assert (processed, ignored) == (1, 3)
        peer.send(fr.goaway(MAX_STREAM_ID, ErrorCode.NO_ERROR))
        await peer.sync()
        peer.send(fr.goaway(processed, ErrorCode.NO_ERROR))
        first_sent.set()
        await answer_first.wait()
        respond(peer, processed, StringValue(value="processed").SerializeToString())
        rest = await peer.read_until_closed()  # the client closes once that call is done
        assert [f.error_code() for f in rest if f.type == FrameType.GOAWAY] == [0]

    async def new(peer: RawPeer) -> None:
        for _ in range(2):
            stream_id, _ = await read_request(peer)
            body = await read_body(peer, stream_id)
            respond(peer, stream_id, body[5:])
        await peer.sync()

    scripted_pair.scripts[:] = [old, new]
    channel, dials = tcp_channel(scripted_pair.port)
    try:
        processed = asyncio.ensure_future(call_text(channel, "first"))
        async with asyncio.timeout(10):  # stream 1 goes out first
            while not (dials and dials[0]._streams):  # noqa: ASYNC110 - no event for it
                await asyncio.sleep(0.01)
        retried = asyncio.ensure_future(call_text(channel, "retried"))
        await first_sent.wait()
        assert await call_text(channel, "later") == "later"  # a new connection serves it
        assert await retried == "retried"
        assert not processed.done()  # still in flight on the old connection
        answer_first.set()
        assert await processed == "processed"
        await asyncio.wait_for(dials[0].wait_closed(), 10)
        assert len(dials) == 2
    finally:
        channel.close()
    await asyncio.wait_for(scripted_pair.done.wait(), 10)


async def test_the_deadline_covers_waiting_for_a_stream_slot(echo_state: EchoState) -> None:
    async with serving(Limits(max_concurrent_streams=1), echo_state) as (_, port):
        channel, dials = tcp_channel(port)
        try:
            held = asyncio.ensure_future(
                channel.call("/test.Echo/Slow", StringValue(), StringValue, timeout=30)
            )
            await echo_state.started.wait()
            with pytest.raises(RpcError) as info:
                await channel.call(
                    "/test.Echo/Echo", StringValue(value="x"), StringValue, timeout=0.3
                )
            assert info.value.code == StatusCode.DEADLINE_EXCEEDED
            assert dials[0]._next_own_stream == 3  # the second call never got a stream
            echo_state.release.set()
            assert (await held).value == "released"
        finally:
            channel.close()
    assert len(echo_state.contexts) == 1
