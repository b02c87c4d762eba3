"""Our ClientConnection against a scripted HTTP/2 server that answers frame by frame."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.grpc import ClientConnection, RpcError, StatusCode, connect_tcp, hpack
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, Flag, FrameType, Setting
from vault_plugin_litellm.sdk.grpc.status import parse_timeout

from .rawh2 import Frame, RawPeer, grpc_message

Script = Callable[[RawPeer], Awaitable[None]]


@dataclass
class ScriptedServer:
    """Runs ``script`` on each accepted connection, after the preface and SETTINGS."""

    script: Script | None = None
    settings: bytes = b""
    seen: list[Frame] = field(default_factory=list)
    port: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer)
        try:
            assert await reader.readexactly(len(fr.PREFACE)) == fr.PREFACE
            peer.send_frame(FrameType.SETTINGS, 0, 0, self.settings)
            assert self.script is not None
            await self.script(peer)
        finally:
            self.done.set()
            await peer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    state = ScriptedServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    yield state
    server.close()


async def read_request(
    peer: RawPeer, seen: list[Frame] | None = None
) -> tuple[int, dict[str, str]]:
    """The next request's stream id and header fields (acknowledging SETTINGS on the way)."""
    while True:
        frame = await peer.read_frame()
        assert frame is not None
        if seen is not None:
            seen.append(frame)
        if frame.type == FrameType.SETTINGS and not frame.flags & Flag.ACK:
            peer.send(fr.SETTINGS_ACK)
        if frame.type == FrameType.HEADERS:
            assert frame.flags & Flag.END_HEADERS
            return frame.stream_id, dict(peer.decoder.decode(frame.payload))


async def read_body(peer: RawPeer, stream_id: int) -> bytes:
    data = bytearray()
    while True:
        frame = await peer.expect(FrameType.DATA, stream_id)
        data += frame.payload
        if frame.flags & Flag.END_STREAM:
            return bytes(data)


def respond(
    peer: RawPeer, stream_id: int, payload: bytes, status: int = 0, message: str = ""
) -> None:
    peer.send_frame(
        FrameType.HEADERS,
        Flag.END_HEADERS,
        stream_id,
        hpack.encode_headers([(":status", "200"), ("content-type", "application/grpc")]),
    )
    peer.send_frame(FrameType.DATA, 0, stream_id, grpc_message(payload))
    trailers = [("grpc-status", str(status))] + ([("grpc-message", message)] if message else [])
    peer.send_frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        stream_id,
        hpack.encode_headers(trailers),
    )


def trailers_only(peer: RawPeer, stream_id: int, status: int, message: str) -> None:
    block = hpack.encode_headers(
        [
            (":status", "200"),
            ("content-type", "application/grpc"),
            ("grpc-status", str(status)),
            ("grpc-message", message),
        ]
    )
    peer.send_frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, stream_id, block)


async def call(conn: ClientConnection, text: str = "x", deadline: float | None = 10) -> str:
    reply = await conn.call(
        "/test.Echo/Echo", StringValue(value=text), StringValue, timeout=deadline
    )
    return reply.value


async def test_request_wire_format(scripted: ScriptedServer) -> None:
    async def script(peer: RawPeer) -> None:
        stream_id, headers = await read_request(peer, scripted.seen)
        body = await read_body(peer, stream_id)
        assert body[:5] == struct.pack(">BI", 0, len(body) - 5)
        assert headers[":method"] == "POST"
        assert headers[":path"] == "/test.Echo/Echo"
        assert headers["content-type"] == "application/grpc"
        assert headers["te"] == "trailers"
        assert headers["multiplex_id"] == "m1"
        timeout = parse_timeout(headers["grpc-timeout"])
        assert timeout is not None
        assert 0 < timeout <= 7
        respond(peer, stream_id, StringValue(value="ok").SerializeToString())
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    reply = await conn.call(
        "/test.Echo/Echo",
        StringValue(value="x"),
        StringValue,
        metadata=[("multiplex_id", "m1")],
        timeout=7,
    )
    assert reply.value == "ok"
    await scripted.done.wait()
    # The client opened with SETTINGS (push disabled) and a connection WINDOW_UPDATE.
    opening = scripted.seen[0]
    assert opening.type == FrameType.SETTINGS
    assert dict(fr.parse_settings(opening.payload))[Setting.ENABLE_PUSH] == 0
    conn.close()


async def test_response_split_padded_and_pinged(scripted: ScriptedServer) -> None:
    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        block = hpack.encode_headers([(":status", "200"), ("content-type", "application/grpc")])
        peer.send_frame(FrameType.HEADERS, 0, stream_id, block[:1])
        peer.send_frame(FrameType.CONTINUATION, Flag.END_HEADERS, stream_id, block[1:])
        peer.send_frame(FrameType.PING, 0, 0, b"pingpong")
        message = grpc_message(StringValue(value="split").SerializeToString())
        peer.send_frame(FrameType.DATA, Flag.PADDED, stream_id, b"\x04" + message[:3] + b"\0\0\0\0")
        peer.send_frame(FrameType.DATA, 0, stream_id, message[3:])
        ack = await peer.expect(FrameType.PING)
        assert ack.flags & Flag.ACK
        assert ack.payload == b"pingpong"
        peer.send_frame(
            FrameType.HEADERS,
            Flag.END_HEADERS | Flag.END_STREAM,
            stream_id,
            hpack.encode_headers([("grpc-status", "0")]),
        )
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    assert await call(conn) == "split"
    conn.close()


async def test_error_before_the_request_body_fits_the_window(scripted: ScriptedServer) -> None:
    # The server's window holds 1000 octets and is never refilled; it answers at once with an
    # error. The client must stop sending and report that status, not hang or say UNAVAILABLE.
    scripted.settings = struct.pack(">HI", Setting.INITIAL_WINDOW_SIZE, 1000)

    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        trailers_only(peer, stream_id, StatusCode.RESOURCE_EXHAUSTED, "too big")
        await peer.sync()
        # What the first call sent counts against the connection window: give it back.
        peer.send(fr.window_update(0, 1 << 20))
        stream_id, _ = await read_request(peer)
        await read_body(peer, stream_id)
        respond(peer, stream_id, StringValue(value="small").SerializeToString())
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError) as info:
        await asyncio.wait_for(call(conn, "y" * 100_000), 10)
    assert (info.value.code, info.value.message) == (StatusCode.RESOURCE_EXHAUSTED, "too big")
    assert await call(conn) == "small"
    conn.close()


@pytest.mark.parametrize(
    ("http_status", "code"),
    [
        ("404", StatusCode.UNIMPLEMENTED),
        ("503", StatusCode.UNAVAILABLE),
        ("418", StatusCode.UNKNOWN),
        ("²00", StatusCode.UNKNOWN),
    ],
)
async def test_non_grpc_http_status(
    scripted: ScriptedServer, http_status: str, code: StatusCode
) -> None:
    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        peer.send_frame(
            FrameType.HEADERS,
            Flag.END_HEADERS | Flag.END_STREAM,
            stream_id,
            hpack.encode_headers([(":status", http_status)]),
        )
        stream_id, _ = await read_request(peer)
        respond(peer, stream_id, StringValue(value="fine").SerializeToString())
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError) as info:
        await call(conn)
    assert info.value.code == code
    assert await call(conn) == "fine"  # the connection survives
    conn.close()


async def test_stream_resets(scripted: ScriptedServer) -> None:
    async def script(peer: RawPeer) -> None:
        for code in (ErrorCode.CANCEL, ErrorCode.PROTOCOL_ERROR):
            stream_id, _ = await read_request(peer)
            peer.send_frame(FrameType.RST_STREAM, 0, stream_id, struct.pack(">I", code))
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    codes = []
    for _ in range(2):
        with pytest.raises(RpcError) as info:
            await call(conn)
        codes.append(info.value.code)
    assert codes == [StatusCode.CANCELLED, StatusCode.INTERNAL]
    conn.close()


async def test_refused_streams_are_retried_transparently(scripted: ScriptedServer) -> None:
    refused: list[int] = []

    async def script(peer: RawPeer) -> None:
        for _ in range(2):  # REFUSED_STREAM: the request was not processed
            stream_id, _ = await read_request(peer)
            refused.append(stream_id)
            peer.send_frame(
                FrameType.RST_STREAM, 0, stream_id, struct.pack(">I", ErrorCode.REFUSED_STREAM)
            )
        stream_id, _ = await read_request(peer)
        body = await read_body(peer, stream_id)
        respond(peer, stream_id, body[5:])
        # A server that keeps refusing exhausts the retries: the caller sees UNAVAILABLE.
        while True:
            stream_id, _ = await read_request(peer)
            peer.send_frame(
                FrameType.RST_STREAM, 0, stream_id, struct.pack(">I", ErrorCode.REFUSED_STREAM)
            )

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    assert await call(conn, "again") == "again"
    assert refused == [1, 3]
    with pytest.raises(RpcError) as info:
        await call(conn)
    assert info.value.code == StatusCode.UNAVAILABLE
    conn.close()


async def test_missing_trailers_and_message_counts(scripted: ScriptedServer) -> None:
    ok_headers = hpack.encode_headers([(":status", "200"), ("content-type", "application/grpc")])
    message = grpc_message(StringValue(value="m").SerializeToString())

    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)  # DATA with END_STREAM, no trailers
        peer.send_frame(FrameType.HEADERS, Flag.END_HEADERS, stream_id, ok_headers)
        peer.send_frame(FrameType.DATA, Flag.END_STREAM, stream_id, message)
        stream_id, _ = await read_request(peer)  # two messages on a unary call
        peer.send_frame(FrameType.HEADERS, Flag.END_HEADERS, stream_id, ok_headers)
        peer.send_frame(FrameType.DATA, 0, stream_id, message + message)
        peer.send_frame(
            FrameType.HEADERS,
            Flag.END_HEADERS | Flag.END_STREAM,
            stream_id,
            hpack.encode_headers([("grpc-status", "0")]),
        )
        stream_id, _ = await read_request(peer)  # a status that is no number
        trailers_only(peer, stream_id, 0, "")
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError, match="without gRPC trailers"):
        await call(conn)
    with pytest.raises(RpcError, match="expected 1 response, got 2"):
        await call(conn)
    with pytest.raises(RpcError, match="expected 1 response, got 0"):
        await call(conn)
    conn.close()


async def test_goaway_fails_newer_streams_and_lets_older_ones_finish(
    scripted: ScriptedServer,
) -> None:
    async def script(peer: RawPeer) -> None:
        first, _ = await read_request(peer)
        second, _ = await read_request(peer)
        assert (first, second) == (1, 3)
        peer.send(fr.goaway(1, ErrorCode.NO_ERROR))
        await peer.sync()
        respond(peer, first, StringValue(value="first").SerializeToString())
        await peer.sync(b"second!!")

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    one = asyncio.ensure_future(call(conn, "1"))
    await asyncio.sleep(0)  # stream 1 goes out first
    three = asyncio.ensure_future(call(conn, "3"))
    with pytest.raises(RpcError) as info:
        await three
    assert info.value.code == StatusCode.UNAVAILABLE
    with pytest.raises(RpcError, match="going away"):
        await call(conn, "new")
    assert await one == "first"
    conn.close()


async def test_connection_loss_fails_pending_calls(scripted: ScriptedServer) -> None:
    async def script(peer: RawPeer) -> None:
        await read_request(peer)
        # Returning closes the connection without an answer.

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError) as info:
        await call(conn)
    assert info.value.code == StatusCode.UNAVAILABLE
    await conn.wait_closed()
    with pytest.raises(RpcError, match="connection closed"):
        await call(conn)


async def test_timeout_sends_rst_stream_cancel(scripted: ScriptedServer) -> None:
    got: list[Frame] = []

    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        got.append(await peer.expect(FrameType.RST_STREAM, stream_id))
        # A late answer on the cancelled stream is ignored; the next call works.
        respond(peer, stream_id, StringValue(value="late").SerializeToString())
        stream_id, _ = await read_request(peer)
        respond(peer, stream_id, StringValue(value="next").SerializeToString())
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError) as info:
        await call(conn, deadline=0.2)
    assert info.value.code == StatusCode.DEADLINE_EXCEEDED
    assert await call(conn) == "next"
    assert got[0].error_code() == ErrorCode.CANCEL
    conn.close()


async def test_unsendable_metadata_leaves_no_stream_behind(scripted: ScriptedServer) -> None:
    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        assert stream_id == 1  # the failed call took no stream id
        respond(peer, stream_id, StringValue(value="fine").SerializeToString())
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(UnicodeEncodeError):
        await conn.unary("/test.Echo/Echo", b"", metadata=[("x-name", "not latin-1: ✓")])
    assert conn._streams == {}
    assert await call(conn) == "fine"
    conn.close()


# -- responses the client must refuse -------------------------------------------------------
OK_HEADERS = [(":status", "200"), ("content-type", "application/grpc")]
Reply = list[tuple[int, int, list[tuple[str, str]] | bytes]]  # (type, flags, fields or data)


def _send_reply(peer: RawPeer, stream_id: int, reply: Reply) -> None:
    for ftype, flags, content in reply:
        payload = hpack.encode_headers(content) if isinstance(content, list) else content
        peer.send_frame(ftype, flags | (Flag.END_HEADERS if ftype == FrameType.HEADERS else 0),
                        stream_id, payload)  # fmt: skip


END = Flag.END_STREAM
H = FrameType.HEADERS
D = FrameType.DATA
MESSAGE = grpc_message(StringValue(value="m").SerializeToString())


@pytest.mark.parametrize(
    ("reply", "code", "text", "reset"),
    [
        pytest.param([(H, END, [*OK_HEADERS, ("grpc-status", "+0")])], StatusCode.INTERNAL,
                     "malformed grpc-status", None, id="grpc-status-with-sign"),
        pytest.param([(H, END, [*OK_HEADERS, ("grpc-status", "0x0")])], StatusCode.INTERNAL,
                     "malformed grpc-status", None, id="grpc-status-in-hex"),
        pytest.param([(H, END, [*OK_HEADERS, ("grpc-status", "99")])], StatusCode.UNKNOWN,
                     "", None, id="grpc-status-unknown-code"),
        pytest.param([(H, END, OK_HEADERS)], StatusCode.UNKNOWN, "no grpc-status", None,
                     id="no-grpc-status"),
        pytest.param([(H, 0, [(":status", "200"), ("content-type", "text/html")])],
                     StatusCode.INTERNAL, "unexpected content-type", ErrorCode.CANCEL,
                     id="not-grpc-content-type"),
        pytest.param([(H, 0, [*OK_HEADERS, ("X-Upper", "v")])], StatusCode.INTERNAL,
                     "malformed response", ErrorCode.PROTOCOL_ERROR, id="uppercase-field"),
        pytest.param([(H, 0, [*OK_HEADERS, (":path", "/x")])], StatusCode.INTERNAL,
                     "malformed response", ErrorCode.PROTOCOL_ERROR, id="request-pseudo-header"),
        pytest.param([(H, 0, [("content-type", "application/grpc")])], StatusCode.INTERNAL,
                     "missing :status", ErrorCode.PROTOCOL_ERROR, id="no-status"),
        pytest.param([(D, 0, MESSAGE)], StatusCode.INTERNAL, "DATA before the headers",
                     ErrorCode.PROTOCOL_ERROR, id="data-before-headers"),
        pytest.param([(H, 0, OK_HEADERS), (H, 0, [("x-more", "v")])], StatusCode.INTERNAL,
                     "HEADERS inside a response", ErrorCode.PROTOCOL_ERROR,
                     id="headers-without-end-stream"),
        pytest.param([(H, 0, OK_HEADERS), (H, END, [("grpc-status", "0"), (":status", "200")])],
                     StatusCode.INTERNAL, "pseudo-header field", ErrorCode.PROTOCOL_ERROR,
                     id="pseudo-header-in-trailers"),
        pytest.param([(H, 0, OK_HEADERS), (D, 0, b"\x01\0\0\0\0")], StatusCode.INTERNAL,
                     "compressed", ErrorCode.CANCEL, id="compressed-message"),
    ],
)  # fmt: skip
async def test_responses_the_client_refuses(
    scripted: ScriptedServer,
    reply: Reply,
    code: StatusCode,
    text: str,
    reset: ErrorCode | None,
) -> None:
    resets: list[int] = []

    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        _send_reply(peer, stream_id, reply)
        frames = await peer.sync()
        resets.extend(f.error_code() for f in frames if f.type == FrameType.RST_STREAM)
        # The connection goes on serving.
        stream_id, _ = await read_request(peer)
        respond(peer, stream_id, StringValue(value="next").SerializeToString())
        await peer.sync(b"second!!")

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError) as info:
        await call(conn)
    assert info.value.code == code
    assert text in info.value.message
    assert await call(conn) == "next"
    assert resets == ([] if reset is None else [reset])
    conn.close()


async def test_the_deadline_covers_waiting_for_flow_control_window(
    scripted: ScriptedServer,
) -> None:
    # The server grants 1,000 octets and never more: the call may not wait past its deadline.
    scripted.settings = struct.pack(">HI", Setting.INITIAL_WINDOW_SIZE, 1000)
    seen: list[Frame] = []

    async def script(peer: RawPeer) -> None:
        stream_id, _ = await read_request(peer)
        seen.append(await peer.expect(FrameType.RST_STREAM, stream_id))
        await peer.sync()

    scripted.script = script
    conn = await connect_tcp("127.0.0.1", scripted.port)
    with pytest.raises(RpcError) as info:
        await conn.unary("/test.Echo/Echo", b"x" * 100_000, timeout=0.3)
    assert info.value.code == StatusCode.DEADLINE_EXCEEDED
    await scripted.done.wait()
    assert [f.error_code() for f in seen] == [ErrorCode.CANCEL]
    assert conn._streams == {}
    conn.close()
