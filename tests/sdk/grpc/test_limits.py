"""Resource limits, each driven with the hostile input itself over a real socket.

Every test sends what a review found unbounded (a huge Huffman header, a CONTINUATION flood, a
4 GiB message prefix, a flood of streams or PINGs) and asserts the bounded outcome: the frame
that answers it, the state that stayed small, or the connection that was closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct

import pytest
from google.protobuf.wrappers_pb2 import BytesValue, StringValue
from hpack import Decoder as OracleDecoder
from vault_plugin_litellm.sdk.grpc import RpcError, StatusCode, connect_tcp, hpack, huffman
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc.connection import H2Connection
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, Flag, FrameType, Setting
from vault_plugin_litellm.sdk.grpc.limits import DEFAULT_LIMITS, HOST_SERVER_LIMITS, Limits
from vault_plugin_litellm.sdk.grpc.server import Server

from .conftest import EchoState, serving
from .rawh2 import Frame, RawPeer, grpc_message, read_reply, request_headers

ECHO = "/test.Echo/Echo"
HOARD = "/test.Echo/Hoard"
HEADERS = FrameType.HEADERS
DATA = FrameType.DATA
CONTINUATION = FrameType.CONTINUATION


def server_connection(server: Server) -> H2Connection:
    (conn,) = server._connections
    return conn


def huffman_literal(name: str, value: bytes) -> bytes:
    """A literal field without indexing, new name, Huffman-coded value."""
    coded = huffman.encode(value)
    name_raw = name.encode()
    return (
        b"\x00"
        + hpack.encode_integer(len(name_raw), 7)
        + name_raw
        + hpack.encode_integer(len(coded), 7, 0x80)
        + coded
    )


def send_block(peer: RawPeer, stream_id: int, block: bytes, flags: int = 0) -> None:
    """A header block split into HEADERS and CONTINUATION frames of the maximum size."""
    size = fr.DEFAULT_MAX_FRAME_SIZE
    parts = [block[i : i + size] for i in range(0, len(block), size)] or [b""]
    for i, part in enumerate(parts):
        last = Flag.END_HEADERS if i == len(parts) - 1 else 0
        peer.send_frame(HEADERS if i == 0 else CONTINUATION, (flags if i == 0 else 0) | last,
                        stream_id, part)  # fmt: skip


def echo_message(text: str) -> bytes:
    return grpc_message(StringValue(value=text).SerializeToString())


# -- header blocks ------------------------------------------------------------------------
async def test_a_55_kb_huffman_header_is_decoded_and_answered(echo_state: EchoState) -> None:
    # 'X' has an 8-bit code, so 55,000 of them stay 55,000 octets on the wire and decoded:
    # inside the 64 KiB header list, over four frames. Decoding this used to take seconds.
    value = b"X" * 55_000
    async with serving(HOST_SERVER_LIMITS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        block = request_headers(ECHO) + huffman_literal("x-big", value)
        assert len(block) > 55_000
        send_block(peer, 1, block)
        peer.send_frame(DATA, Flag.END_STREAM, 1, echo_message("big"))
        reply = await read_reply(peer, 1)
        assert reply.status() == "0"
        assert echo_state.contexts[-1].metadata["x-big"] == value.decode()
        await peer.close()


async def test_huffman_header_decoding_beyond_the_list_limit_ends_the_connection(
    echo_state: EchoState,
) -> None:
    # 60,000 'a' (5-bit codes) fit a 37,500-octet block but decode past 64 KiB.
    async with serving(HOST_SERVER_LIMITS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        send_block(peer, 1, request_headers(ECHO) + huffman_literal("x-big", b"a" * 70_000))
        assert await peer.goaway_code() == ErrorCode.ENHANCE_YOUR_CALM
    assert echo_state.contexts == []


def test_huffman_agrees_with_hpack_on_a_55_kb_string() -> None:
    rng = random.Random(7)
    text = bytes(rng.randrange(256) for _ in range(55_000))
    coded = huffman.encode(text)
    assert huffman.decode(coded) == text
    block = b"\x00\x01x" + hpack.encode_integer(len(coded), 7, 0x80) + coded
    assert OracleDecoder(max_header_list_size=1 << 20).decode(block, raw=True) == [(b"x", text)]


async def test_continuation_flood_is_cut_at_the_header_list_limit(
    echo_state: EchoState,
) -> None:
    # Without END_HEADERS the block would never end: the server must stop at 64 KiB, not
    # buffer the 512 KiB sent (it used to take 512 MiB without a word).
    async with serving(HOST_SERVER_LIMITS, echo_state) as (server, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, 0, 1, request_headers(ECHO))
        junk = b"\x00" * fr.DEFAULT_MAX_FRAME_SIZE
        for _ in range(32):
            peer.send_frame(CONTINUATION, 0, 1, junk)
        goaway = await peer.expect(FrameType.GOAWAY)
        assert goaway.error_code() == ErrorCode.ENHANCE_YOUR_CALM
        assert b"header block larger than the advertised 65536 octets" in goaway.payload
        assert await peer.read_until_closed() == []
        async with asyncio.timeout(10):
            while server._connections:  # noqa: ASYNC110 - closed in the server's own time
                await asyncio.sleep(0.01)


@pytest.mark.parametrize(("continuations", "accepted"), [(63, True), (64, False)])
async def test_a_header_block_spans_at_most_64_frames(
    echo_state: EchoState, continuations: int, accepted: bool
) -> None:
    # Empty CONTINUATION frames cost nothing against the size cap: their number is bounded.
    async with serving(HOST_SERVER_LIMITS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, 0, 1, request_headers(ECHO))
        for i in range(continuations):
            last = Flag.END_HEADERS if i == continuations - 1 else 0
            peer.send_frame(CONTINUATION, last, 1, b"")
        if accepted:
            peer.send_frame(DATA, Flag.END_STREAM, 1, echo_message("ok"))
            assert (await read_reply(peer, 1)).status() == "0"
            await peer.close()
        else:
            assert await peer.goaway_code() == ErrorCode.PROTOCOL_ERROR


async def test_an_hpack_bomb_is_refused_at_the_decoded_size(echo_state: EchoState) -> None:
    # One 4,038-octet table entry, referenced 20 times by one octet each: a 4 KB block that
    # decodes to 80 KB.
    async with serving(HOST_SERVER_LIMITS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        entry = hpack.encode_integer(0, 6, 0x40) + b"\x06x-bomb"
        entry += hpack.encode_integer(4000, 7) + b"b" * 4000
        block = request_headers(ECHO) + entry + b"\xbe" * 20
        assert len(block) < 5000
        send_block(peer, 1, block, Flag.END_STREAM)
        assert await peer.goaway_code() == ErrorCode.ENHANCE_YOUR_CALM


# -- messages -----------------------------------------------------------------------------
async def test_a_4_gib_message_prefix_is_refused_before_its_body(echo_state: EchoState) -> None:
    async with serving(DEFAULT_LIMITS, echo_state) as (server, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO))
        peer.send_frame(DATA, 0, 1, struct.pack(">BI", 0, 0xFFFF_FFFF) + b"\x00" * 16_000)
        reply = await read_reply(peer, 1)
        assert reply.headers is reply.trailers  # trailers-only: nothing was run
        assert reply.status() == str(int(StatusCode.RESOURCE_EXHAUSTED))
        assert dict(reply.trailers)["grpc-message"] == (
            "received message larger than max (4294967295 vs. 4194304 octets)"
        )
        # The client is told to stop sending, and nothing of the body stays buffered.
        assert await peer.reset_code(1) == ErrorCode.NO_ERROR
        assert server_connection(server)._streams == {}
        peer.send_frame(HEADERS, Flag.END_HEADERS, 3, request_headers(ECHO))
        peer.send_frame(DATA, Flag.END_STREAM, 3, echo_message("after"))
        assert (await read_reply(peer, 3)).status() == "0"
        await peer.close()
    assert echo_state.contexts[-1].method == ECHO


@pytest.mark.parametrize(("length", "status"), [(1000, "0"), (1001, "8")])
async def test_the_receive_limit_is_configurable(
    echo_state: EchoState, length: int, status: str
) -> None:
    async with serving(Limits(max_receive_message=1000), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        body = BytesValue(value=b"v" * (length - 3)).SerializeToString()  # tag, 2-octet length
        assert len(body) == length
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Size"))
        peer.send_frame(DATA, Flag.END_STREAM, 1, grpc_message(body))
        assert (await read_reply(peer, 1)).status() == status
        await peer.close()


async def test_our_client_refuses_a_4_gib_response_and_resets_the_stream() -> None:
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer)
        await reader.readexactly(len(fr.PREFACE))
        peer.send_frame(FrameType.SETTINGS, 0, 0)
        request = await peer.expect(HEADERS)
        peer.send_frame(
            HEADERS,
            Flag.END_HEADERS,
            request.stream_id,
            hpack.encode_headers([(":status", "200"), ("content-type", "application/grpc")]),
        )
        peer.send_frame(DATA, 0, request.stream_id, struct.pack(">BI", 0, 0xFFFF_FFFF) + b"x")
        seen.append(await peer.reset_code(request.stream_id))
        await peer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    conn = await connect_tcp("127.0.0.1", port)
    try:
        with pytest.raises(RpcError) as info:
            await conn.unary(ECHO, b"", timeout=10)
        assert info.value.code == StatusCode.RESOURCE_EXHAUSTED
        assert "4294967295 vs. 4194304" in info.value.message
        async with asyncio.timeout(10):
            while not seen:  # noqa: ASYNC110 - the scripted server reports in its own task
                await asyncio.sleep(0.01)
        assert seen == [ErrorCode.CANCEL]
    finally:
        conn.close()
        listener.close()


# -- flow control and request queues ------------------------------------------------------
WINDOWS = Limits(stream_window=100_000, connection_window=150_000)


def hoard_messages(peer: RawPeer, stream_id: int, total: int) -> None:
    """``total`` octets of whole StringValue messages, one of 10,000 octets per DATA frame."""
    while total:
        size = min(total, 10_000)
        total -= size
        # 5-octet gRPC prefix, tag, 2-octet length: the value is 8 octets shorter.
        message = grpc_message(StringValue(value="z" * (size - 8)).SerializeToString())
        assert len(message) == size
        peer.send_frame(DATA, 0, stream_id, message)


def window_updates(frames_seen: list[Frame], stream_id: int) -> int:
    return sum(
        struct.unpack(">I", f.payload)[0]
        for f in frames_seen
        if f.type == FrameType.WINDOW_UPDATE and f.stream_id == stream_id
    )


# Our responses may flow freely: only our receive windows are under test.
OPEN_WINDOWS = struct.pack(">HI", Setting.INITIAL_WINDOW_SIZE, fr.MAX_WINDOW)


async def test_unread_messages_hold_the_stream_window_and_overrun_is_an_error(
    echo_state: EchoState,
) -> None:
    async with serving(WINDOWS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(HOARD))
        hoard_messages(peer, 1, 100_000)  # the whole stream window, nothing read yet
        before = await peer.sync()
        assert window_updates(before, 1) == 0  # not refilled on arrival
        peer.send_frame(DATA, 0, 1, b"\x00")
        assert await peer.goaway_code() == ErrorCode.FLOW_CONTROL_ERROR


async def test_the_window_comes_back_as_the_handler_reads(echo_state: EchoState) -> None:
    async with serving(WINDOWS, echo_state) as (_, port):
        peer = await RawPeer.start(port, OPEN_WINDOWS)
        peer.send(fr.window_update(0, fr.MAX_WINDOW - fr.DEFAULT_WINDOW))
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(HOARD))
        hoard_messages(peer, 1, 100_000)
        assert window_updates(await peer.sync(), 1) == 0
        echo_state.release.set()
        update = await peer.expect(FrameType.WINDOW_UPDATE, 1)
        assert struct.unpack(">I", update.payload)[0] >= WINDOWS.stream_window // 2
        await peer.close()


async def test_the_connection_window_bounds_all_streams_together(echo_state: EchoState) -> None:
    async with serving(WINDOWS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(HOARD))
        peer.send_frame(HEADERS, Flag.END_HEADERS, 3, request_headers(HOARD))
        hoard_messages(peer, 1, 90_000)
        hoard_messages(peer, 3, 60_000)  # 150,000: the connection window, each stream within its
        # Only the opening update that raised the window to 150,000: no refill since.
        opening = WINDOWS.connection_window - fr.DEFAULT_WINDOW
        assert window_updates(await peer.sync(), 0) == opening
        peer.send_frame(DATA, 0, 3, b"\x00")
        assert await peer.goaway_code() == ErrorCode.FLOW_CONTROL_ERROR


async def test_a_streaming_request_queue_is_bounded(echo_state: EchoState) -> None:
    async with serving(HOST_SERVER_LIMITS, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(HOARD))
        await asyncio.wait_for(echo_state.started.wait(), 10)
        count = HOST_SERVER_LIMITS.max_queued_messages + 1
        peer.send_frame(DATA, 0, 1, grpc_message(b"") * count)  # 1,285 octets, 257 messages
        reply = await read_reply(peer, 1)
        assert reply.status() == str(int(StatusCode.RESOURCE_EXHAUSTED))
        assert "more than 256 request messages waiting" in dict(reply.trailers)["grpc-message"]
        assert await peer.reset_code(1) == ErrorCode.NO_ERROR
        await asyncio.wait_for(echo_state.cancelled.wait(), 10)
        await peer.close()


# -- concurrent streams -------------------------------------------------------------------
async def test_streams_beyond_max_concurrent_streams_are_refused(echo_state: EchoState) -> None:
    limits = Limits(max_concurrent_streams=3)
    async with serving(limits, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        first = await peer.expect(FrameType.SETTINGS)
        assert dict(fr.parse_settings(first.payload))[Setting.MAX_CONCURRENT_STREAMS] == 3
        for stream_id in (1, 3, 5, 7):
            peer.send_frame(
                HEADERS, Flag.END_HEADERS, stream_id, request_headers("/test.Echo/Slow")
            )
            peer.send_frame(DATA, Flag.END_STREAM, stream_id, grpc_message(b""))
        assert await peer.reset_code(7) == ErrorCode.REFUSED_STREAM
        async with asyncio.timeout(10):
            while len(echo_state.contexts) < 3:  # noqa: ASYNC110 - handlers start in their tasks
                await asyncio.sleep(0.01)
        echo_state.release.set()
        for stream_id in (1, 3, 5):
            assert (await read_reply(peer, stream_id)).status() == "0"
        peer.send_frame(HEADERS, Flag.END_HEADERS, 9, request_headers(ECHO))
        peer.send_frame(DATA, Flag.END_STREAM, 9, echo_message("room again"))
        assert (await read_reply(peer, 9)).status() == "0"
        assert len(echo_state.contexts) == 3 + 1  # the refused call never ran
        await peer.close()


async def test_a_stream_flood_creates_at_most_the_limit_of_streams_and_tasks(
    echo_state: EchoState,
) -> None:
    # 5,000 streaming calls opened in one burst (each would start a handler task).
    async with serving(HOST_SERVER_LIMITS, echo_state) as (server, port):
        peer = await RawPeer.start(port)
        block = request_headers("/test.Echo/Upper")
        burst = b"".join(fr.frame(HEADERS, Flag.END_HEADERS, 1 + 2 * i, block) for i in range(5000))
        peer.send(burst)
        refused = 0
        while refused < 5000 - HOST_SERVER_LIMITS.max_concurrent_streams:
            frame = await peer.read_frame()
            assert frame is not None
            if frame.type == FrameType.RST_STREAM:
                assert frame.error_code() == ErrorCode.REFUSED_STREAM
                refused += 1
        conn = server_connection(server)
        assert len(conn._streams) == HOST_SERVER_LIMITS.max_concurrent_streams
        handlers = [
            t for t in asyncio.all_tasks() if "_run_stream" in repr(t.get_coro()) and not t.done()
        ]
        assert len(handlers) == HOST_SERVER_LIMITS.max_concurrent_streams
        await peer.close()


# -- a peer that does not read ------------------------------------------------------------
async def _non_reading_peer(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, or it grows
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


def _record_buffer_peak(conn: H2Connection) -> list[int]:
    """The largest write buffer the server's transport held, updated on each write."""
    assert conn.transport is not None
    transport = conn.transport
    peak = [0]
    write = transport.write

    def recording_write(data: bytes | bytearray | memoryview) -> None:
        write(data)
        peak[0] = max(peak[0], transport.get_write_buffer_size())

    transport.write = recording_write  # type: ignore[method-assign]
    return peak


async def test_a_ping_flood_from_a_peer_that_never_reads_is_cut_off(
    echo_state: EchoState, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(HOST_SERVER_LIMITS, echo_state) as (server, port):
        _, writer = await _non_reading_peer(port)
        writer.write(fr.PREFACE + fr.frame(FrameType.SETTINGS, 0, 0))
        async with asyncio.timeout(10):
            while not server._connections:  # noqa: ASYNC110 - accepted in the server's task
                await asyncio.sleep(0.01)
        conn = server_connection(server)
        peak = _record_buffer_peak(conn)
        ping = fr.frame(FrameType.PING, 0, 0, b"12345678")
        with contextlib.suppress(ConnectionError):
            for _ in range(64):  # 16 MiB of PINGs in 256 KiB writes, as the review sent
                writer.write(ping * 15_420)
                await asyncio.sleep(0)
                if conn.closed:
                    break
        await asyncio.wait_for(conn.wait_closed(), 30)
        # Cut off with GOAWAY ENHANCE_YOUR_CALM once 1,000 ACKs were owed while paused; the
        # buffer never held more than the pause threshold plus one batch of replies.
        assert peak[0] < 1 << 20
        assert "ENHANCE_YOUR_CALM: more than 1000 replies owed" in caplog.text
        writer.transport.abort()


async def test_a_response_to_a_peer_that_does_not_read_waits_instead_of_buffering(
    echo_state: EchoState,
) -> None:
    async with serving(HOST_SERVER_LIMITS, echo_state) as (server, port):
        _, writer = await _non_reading_peer(port)
        big_window = struct.pack(">HI", Setting.INITIAL_WINDOW_SIZE, fr.MAX_WINDOW)
        writer.write(
            fr.PREFACE
            + fr.frame(FrameType.SETTINGS, 0, 0, big_window)
            + fr.window_update(0, fr.MAX_WINDOW - fr.DEFAULT_WINDOW)
        )
        async with asyncio.timeout(10):
            while not server._connections:  # noqa: ASYNC110 - accepted in the server's task
                await asyncio.sleep(0.01)
        conn = server_connection(server)
        peak = _record_buffer_peak(conn)
        payload = b"\x0a\x80\x80\x80\x04" + b"r" * (8 << 20)  # an 8 MiB BytesValue
        writer.write(fr.frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Size")))
        message = grpc_message(payload)
        for i in range(0, len(message), fr.DEFAULT_MAX_FRAME_SIZE):
            chunk = message[i : i + fr.DEFAULT_MAX_FRAME_SIZE]
            last = i + fr.DEFAULT_MAX_FRAME_SIZE >= len(message)
            writer.write(fr.frame(DATA, Flag.END_STREAM if last else 0, 1, chunk))
            await writer.drain()
        async with asyncio.timeout(30):
            while not conn._write_paused:  # noqa: ASYNC110 - the transport tells the protocol
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the handler had every chance to write more
        assert peak[0] < 256 << 10  # the 64 KiB pause mark and one frame, not 8 MiB
        assert not conn.closed  # a slow reader is no flood: the response just waits
        writer.transport.abort()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_receive_message", 0),
        ("max_receive_message", 1 << 32),
        ("stream_window", 1000),
        ("connection_window", 1 << 31),
        ("max_concurrent_streams", -1),
        ("max_header_list", 1.5),
    ],
)
def test_limits_refuse_values_the_protocol_cannot_carry(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"Limits.{field}"):
        Limits(**{field: value})  # type: ignore[arg-type]
