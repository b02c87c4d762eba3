"""Our Server against a hand-written HTTP/2 client (RFC 9113 and the gRPC wire format)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf.wrappers_pb2 import BytesValue, StringValue
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.grpc import Server, connect_tcp, hpack, huffman
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, Flag, FrameType, Setting
from vault_plugin_litellm.sdk.grpc.limits import HOST_SERVER_LIMITS

from .conftest import EchoState, echo_server
from .rawh2 import RawPeer, grpc_message, read_reply, request_headers

ECHO = "/test.Echo/Echo"
HEADERS = FrameType.HEADERS
DATA = FrameType.DATA


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Exceptions that escaped into the event loop (a protocol callback that raised)."""
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    loop.set_exception_handler(None)


async def start(port: int, settings_payload: bytes = b"") -> RawPeer:
    peer = await RawPeer.connect(port)
    peer.send_frame(FrameType.SETTINGS, 0, 0, settings_payload)
    return peer


def echo_request(
    peer: RawPeer, stream_id: int, text: str, extra: list[tuple[str, str]] | None = None
) -> None:
    peer.send_frame(HEADERS, Flag.END_HEADERS, stream_id, request_headers(ECHO, extra))
    peer.send_frame(
        DATA, Flag.END_STREAM, stream_id, grpc_message(StringValue(value=text).SerializeToString())
    )


def echo_value(message: bytes) -> str:
    return StringValue.FromString(message).value


async def test_opening_settings_window_and_ack(plain_port: int) -> None:
    peer = await RawPeer.connect(plain_port)
    first = await peer.read_frame()
    assert first is not None
    assert first.type == FrameType.SETTINGS
    assert not first.flags & Flag.ACK
    settings_sent = dict(fr.parse_settings(first.payload))
    limits = HOST_SERVER_LIMITS
    assert settings_sent == {
        Setting.INITIAL_WINDOW_SIZE: limits.stream_window,
        Setting.MAX_HEADER_LIST_SIZE: limits.max_header_list,
        Setting.MAX_CONCURRENT_STREAMS: limits.max_concurrent_streams,
    }
    update = await peer.expect(FrameType.WINDOW_UPDATE)
    assert update.stream_id == 0
    assert struct.unpack(">I", update.payload)[0] == limits.connection_window - fr.DEFAULT_WINDOW
    peer.send_frame(FrameType.SETTINGS, 0, 0, struct.pack(">HI", Setting.MAX_FRAME_SIZE, 32_768))
    ack = await peer.expect(FrameType.SETTINGS)
    assert ack.flags & Flag.ACK
    assert ack.payload == b""
    await peer.close()


async def test_ping_gets_an_ack_with_the_same_payload(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(FrameType.PING, Flag.ACK, 0, b"ignored!")  # an ACK is never answered
    before = await peer.sync(b"\x00\x01\x02\x03\xfc\xfd\xfe\xff")
    assert not [f for f in before if f.type == FrameType.PING]
    await peer.close()


async def test_a_ping_of_the_wrong_size_is_a_frame_size_error(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(FrameType.PING, 0, 0, b"short")
    goaway = await peer.expect(FrameType.GOAWAY)
    assert goaway.error_code() == ErrorCode.FRAME_SIZE_ERROR
    assert await peer.read_until_closed() == []


async def test_unary_call_frame_by_frame(plain_port: int, echo_state: EchoState) -> None:
    peer = await start(plain_port)
    echo_request(peer, 1, "raw", [("multiplex_id", "abc"), ("grpc-timeout", "5S")])
    reply = await read_reply(peer, 1)
    assert dict(reply.headers)[":status"] == "200"
    assert dict(reply.headers)["content-type"] == "application/grpc"
    assert [echo_value(m) for m in reply.messages] == ["raw|abc"]
    assert reply.status() == "0"
    assert echo_state.contexts[-1].timeout == 5.0
    await peer.close()


async def test_headers_split_over_continuation_frames(plain_port: int) -> None:
    peer = await start(plain_port)
    block = request_headers(ECHO, [("multiplex_id", "split"), ("x-long", "v" * 3000)])
    parts = [block[:10], block[10:2000], block[2000:]]
    peer.send_frame(HEADERS, 0, 1, parts[0])
    peer.send_frame(FrameType.CONTINUATION, 0, 1, parts[1])
    peer.send_frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, parts[2])
    peer.send_frame(
        DATA, Flag.END_STREAM, 1, grpc_message(StringValue(value="c").SerializeToString())
    )
    reply = await read_reply(peer, 1)
    assert [echo_value(m) for m in reply.messages] == ["c|split"]
    await peer.close()


async def test_end_stream_on_headers_that_continue(plain_port: int) -> None:
    # END_STREAM on HEADERS applies once the CONTINUATION ends the block: an empty request.
    peer = await start(plain_port)
    block = request_headers(ECHO)
    peer.send_frame(HEADERS, Flag.END_STREAM, 1, block[:5])
    peer.send_frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block[5:])
    reply = await read_reply(peer, 1)
    assert reply.status() == str(13)  # INTERNAL: a unary call needs exactly one message
    assert "got 0" in dict(reply.trailers)["grpc-message"]
    await peer.close()


async def test_padded_and_prioritised_frames(plain_port: int) -> None:
    peer = await start(plain_port)
    block = request_headers(ECHO)
    priority = struct.pack(">IB", 0x8000_0000 | 0, 200)  # exclusive dependency on 0, weight
    peer.send_frame(
        HEADERS,
        Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS,
        1,
        b"\x03" + priority + block + b"\x00" * 3,
    )
    peer.send_frame(FrameType.PRIORITY, 0, 1, struct.pack(">IB", 0, 16))  # ignored
    message = grpc_message(StringValue(value="padded").SerializeToString())
    peer.send_frame(DATA, Flag.PADDED, 1, b"\x02" + message[:4] + b"\x00\x00")
    peer.send_frame(DATA, Flag.PADDED | Flag.END_STREAM, 1, b"\x00" + message[4:])
    peer.send_frame(0xEE, 0xFF, 1, b"an unknown frame type is ignored")
    reply = await read_reply(peer, 1)
    assert [echo_value(m) for m in reply.messages] == ["padded|-"]
    await peer.close()


async def test_invalid_padding_is_a_protocol_error(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO))
    peer.send_frame(DATA, Flag.PADDED | Flag.END_STREAM, 1, b"\x09abc")
    goaway = await peer.expect(FrameType.GOAWAY)
    assert goaway.error_code() == ErrorCode.PROTOCOL_ERROR
    await peer.read_until_closed()


@pytest.mark.parametrize(
    "preface",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # shorter than the preface: refused without waiting
        fr.PREFACE[:-1] + b"?",
    ],
)
async def test_bad_preface_gets_goaway_protocol_error(plain_port: int, preface: bytes) -> None:
    peer = await RawPeer.connect(plain_port, preface=preface)
    frames = await peer.read_until_closed()
    goaways = [f for f in frames if f.type == FrameType.GOAWAY]
    assert len(goaways) == 1
    assert goaways[0].error_code() == ErrorCode.PROTOCOL_ERROR
    assert b"preface" in goaways[0].payload[8:]


async def test_preface_may_arrive_in_pieces(plain_port: int) -> None:
    peer = await RawPeer.connect(plain_port, preface=fr.PREFACE[:5])
    await asyncio.sleep(0)
    peer.send(fr.PREFACE[5:])
    peer.send_frame(FrameType.SETTINGS, 0, 0)
    await peer.sync()
    await peer.close()


async def test_other_frame_inside_a_header_block_is_a_protocol_error(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, 0, 1, request_headers(ECHO)[:4])
    peer.send_frame(FrameType.PING, 0, 0, b"12345678")
    goaway = await peer.expect(FrameType.GOAWAY)
    assert goaway.error_code() == ErrorCode.PROTOCOL_ERROR
    await peer.read_until_closed()


async def test_undecodable_header_block_is_a_compression_error(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, b"\xbe")  # empty dynamic table
    goaway = await peer.expect(FrameType.GOAWAY)
    assert goaway.error_code() == ErrorCode.COMPRESSION_ERROR
    await peer.read_until_closed()


async def test_dynamic_table_and_huffman_across_requests(plain_port: int) -> None:
    peer = await start(plain_port)
    path = huffman.encode(ECHO.encode())
    # :path as a literal with incremental indexing (static name 4), Huffman-coded value.
    rest = hpack.encode_headers([(":authority", "localhost"), ("content-type", "application/grpc")])
    first = (
        bytes([0x83, 0x86])
        + hpack.encode_integer(4, 6, 0x40)
        + hpack.encode_integer(len(path), 7, 0x80)
        + path
        + rest
    )
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, first)
    peer.send_frame(
        DATA, Flag.END_STREAM, 1, grpc_message(StringValue(value="one").SerializeToString())
    )
    assert [echo_value(m) for m in (await read_reply(peer, 1)).messages] == ["one|-"]
    # The second request names :path by its dynamic index (62), after a table size update.
    second = hpack.encode_integer(4096, 5, 0x20) + bytes([0x83, 0x86, 0xBE]) + rest
    peer.send_frame(HEADERS, Flag.END_HEADERS, 3, second)
    peer.send_frame(
        DATA, Flag.END_STREAM, 3, grpc_message(StringValue(value="two").SerializeToString())
    )
    assert [echo_value(m) for m in (await read_reply(peer, 3)).messages] == ["two|-"]
    await peer.close()


async def test_empty_header_name_is_a_malformed_request(
    plain_port: int, loop_errors: list[dict[str, Any]], echo_state: EchoState
) -> None:
    # Legal HPACK, but no HTTP field (RFC 9113 §8.2): the stream is reset, the connection lives.
    peer = await start(plain_port)
    block = request_headers(ECHO) + b"\x00\x00\x01v"  # literal, new name of length 0
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, block)
    peer.send_frame(
        DATA, Flag.END_STREAM, 1, grpc_message(StringValue(value="e").SerializeToString())
    )
    reset = await peer.expect(FrameType.RST_STREAM, 1)
    assert reset.error_code() == ErrorCode.PROTOCOL_ERROR
    echo_request(peer, 3, "next")
    assert [echo_value(m) for m in (await read_reply(peer, 3)).messages] == ["next|-"]
    assert echo_state.contexts[-1].metadata == {}
    assert len(echo_state.contexts) == 1
    assert loop_errors == []
    await peer.close()


async def test_rst_stream_cancels_a_running_handler(plain_port: int, echo_state: EchoState) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Slow"))
    peer.send_frame(DATA, Flag.END_STREAM, 1, grpc_message(b""))
    await echo_state.started.wait()
    peer.send_frame(FrameType.RST_STREAM, 0, 1, struct.pack(">I", ErrorCode.CANCEL))
    await asyncio.wait_for(echo_state.cancelled.wait(), 10)
    # Nothing more is written on the reset stream, and the connection lives on.
    before = await peer.sync()
    assert not [f for f in before if f.stream_id == 1 and f.type in (HEADERS, DATA)]
    echo_request(peer, 3, "still here")
    assert [echo_value(m) for m in (await read_reply(peer, 3)).messages] == ["still here|-"]
    await peer.close()


async def test_headers_after_end_stream_reset_the_stream(
    plain_port: int, echo_state: EchoState
) -> None:
    # Half-closed (remote): more HEADERS are a stream error STREAM_CLOSED (RFC 9113 §5.1);
    # the running handler is cancelled, and ran once.
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Slow"))
    peer.send_frame(DATA, Flag.END_STREAM, 1, grpc_message(b""))
    await echo_state.started.wait()
    peer.send_frame(
        HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack.encode_headers([("x", "y")])
    )
    reset = await peer.expect(FrameType.RST_STREAM, 1)
    assert reset.error_code() == ErrorCode.STREAM_CLOSED
    await asyncio.wait_for(echo_state.cancelled.wait(), 10)
    assert len(echo_state.contexts) == 1
    await peer.close()


async def test_headers_on_a_finished_stream_are_a_connection_error(plain_port: int) -> None:
    peer = await start(plain_port)
    echo_request(peer, 1, "once")
    assert [echo_value(m) for m in (await read_reply(peer, 1)).messages] == ["once|-"]
    peer.send_frame(
        HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack.encode_headers([("x", "y")])
    )
    goaway = await peer.expect(FrameType.GOAWAY)
    assert goaway.error_code() == ErrorCode.STREAM_CLOSED
    await peer.read_until_closed()


async def test_two_request_messages_on_a_unary_call(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO))
    message = grpc_message(StringValue(value="x").SerializeToString())
    peer.send_frame(DATA, Flag.END_STREAM, 1, message + message)
    reply = await read_reply(peer, 1)
    assert reply.status() == "13"
    assert reply.messages == []
    await peer.close()


async def test_compressed_message_on_a_bidi_stream_ends_it_and_its_handler(
    plain_port: int, echo_state: EchoState
) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Upper"))
    peer.send_frame(DATA, 0, 1, grpc_message(StringValue(value="a").SerializeToString()))
    first = await peer.expect(DATA, 1)
    assert first.payload[5:] == StringValue(value="A").SerializeToString()
    peer.send_frame(DATA, 0, 1, grpc_message(b"zz", compressed=True))
    trailers = await peer.expect(HEADERS, 1)
    assert trailers.flags & Flag.END_STREAM
    assert dict(peer.decoder.decode(trailers.payload))["grpc-status"] == "13"  # INTERNAL
    await asyncio.wait_for(echo_state.cancelled.wait(), 10)
    await peer.close()


async def test_unknown_method_and_trailers_only(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(
        HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, request_headers("/no.Such/Method")
    )
    reply = await read_reply(peer, 1)
    assert reply.headers is reply.trailers  # one block: trailers-only
    assert reply.data_frames == []
    fields = dict(reply.trailers)
    assert fields[":status"] == "200"
    assert fields["grpc-status"] == "12"
    assert fields["grpc-message"] == "unknown method /no.Such/Method"
    await peer.close()


async def test_flow_control_respects_the_client_windows(plain_port: int) -> None:
    window = 1000
    peer = await start(plain_port, struct.pack(">HI", Setting.INITIAL_WINDOW_SIZE, window))
    payload = bytes(range(256)) * 20  # the reply is 5125 octets of DATA
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Size"))
    peer.send_frame(
        DATA, Flag.END_STREAM, 1, grpc_message(BytesValue(value=payload).SerializeToString())
    )
    received = 0
    while received < window:
        frame = await peer.expect(DATA, 1)
        received += len(frame.payload)
    assert received == window
    assert not [f for f in await peer.sync() if f.type == DATA]
    # A stream WINDOW_UPDATE releases exactly that much more.
    peer.send_frame(FrameType.WINDOW_UPDATE, 0, 1, struct.pack(">I", 2000))
    while received < 3 * window:
        received += len((await peer.expect(DATA, 1)).payload)
    assert received == 3 * window
    assert not [f for f in await peer.sync(b"second!!") if f.type == DATA]
    # Raising the initial window through SETTINGS applies to the open stream too.
    peer.send_frame(
        FrameType.SETTINGS, 0, 0, struct.pack(">HI", Setting.INITIAL_WINDOW_SIZE, 1 << 20)
    )
    rest = await read_reply(peer, 1)
    assert received + len(rest.data) == 5 + len(BytesValue(value=payload).SerializeToString())
    assert rest.status() == "0"
    await peer.close()


async def test_data_frames_follow_the_client_max_frame_size(plain_port: int) -> None:
    settings_payload = struct.pack(
        ">HIHI", Setting.MAX_FRAME_SIZE, 20_000, Setting.INITIAL_WINDOW_SIZE, 1 << 24
    )
    peer = await start(plain_port, settings_payload)
    peer.send_frame(FrameType.WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 24))
    payload = b"\x5a" * 100_000
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Size"))
    peer.send_data(1, grpc_message(BytesValue(value=payload).SerializeToString()))
    reply = await read_reply(peer, 1)
    sizes = [len(f.payload) for f in reply.data_frames]
    assert max(sizes) == 20_000
    assert BytesValue.FromString(reply.messages[0]).value == payload
    await peer.close()


async def test_default_max_frame_size_bounds_data_frames(plain_port: int) -> None:
    peer = await start(plain_port)
    payload = b"\x01" * 200_000
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Size"))
    peer.send_data(1, grpc_message(BytesValue(value=payload).SerializeToString()))
    # The default connection window (65 535) runs out: refill it as a client would.
    received = 0
    total = 5 + len(BytesValue(value=payload).SerializeToString())
    while received < total:
        frame = await peer.expect(DATA, 1)
        assert len(frame.payload) <= fr.DEFAULT_MAX_FRAME_SIZE
        received += len(frame.payload)
        peer.send_frame(FrameType.WINDOW_UPDATE, 0, 0, struct.pack(">I", len(frame.payload)))
        peer.send_frame(FrameType.WINDOW_UPDATE, 0, 1, struct.pack(">I", len(frame.payload)))
    assert received == total
    await peer.close()


async def test_graceful_stop_says_goaway_and_refuses_new_streams(
    our_server: Server, plain_port: int, echo_state: EchoState
) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 5, request_headers("/test.Echo/Slow"))
    peer.send_frame(DATA, Flag.END_STREAM, 5, grpc_message(b""))
    await echo_state.started.wait()
    stopping = asyncio.ensure_future(our_server.stop(grace=10))
    goaway = await peer.expect(FrameType.GOAWAY)
    last_stream, code = struct.unpack(">II", goaway.payload[:8])
    assert (last_stream, code) == (5, ErrorCode.NO_ERROR)
    # A stream opened after the GOAWAY is refused, not run, and the last id does not grow.
    echo_request(peer, 7, "late")
    reset = await peer.expect(FrameType.RST_STREAM, 7)
    assert reset.error_code() == ErrorCode.REFUSED_STREAM
    echo_state.release.set()
    reply = await read_reply(peer, 5)
    assert reply.status() == "0"
    rest = await peer.read_until_closed()
    assert all(
        struct.unpack(">I", f.payload[:4])[0] <= 5 for f in rest if f.type == FrameType.GOAWAY
    )
    await stopping
    assert echo_state.contexts[-1].method == "/test.Echo/Slow"
    assert len(echo_state.contexts) == 1


async def test_stop_without_calls_closes_with_goaway(our_server: Server, plain_port: int) -> None:
    peer = await start(plain_port)
    await peer.sync()
    await our_server.stop(grace=5)
    frames = await peer.read_until_closed()
    assert [f.error_code() for f in frames if f.type == FrameType.GOAWAY] == [ErrorCode.NO_ERROR]


# -- fuzzing ------------------------------------------------------------------------------------
# Frames that are well formed on the outside; flags, ids and payloads lean towards the values
# the server acts on, so the fuzz reaches stream and header handling, not only framing errors.
header_blocks = st.lists(
    st.tuples(st.text(max_size=12), st.text(max_size=12)).map(
        lambda field: (
            hpack.encode_header(field[0].encode("utf-8").decode("latin-1"), field[1])
            if field[1].isascii()
            else b""
        )
    ),
    max_size=4,
).map(lambda parts: request_headers(ECHO) + b"".join(parts))
frame_strategy = st.tuples(
    st.sampled_from([*range(10), 0x42]),
    st.one_of(
        st.sampled_from([0, Flag.END_STREAM, Flag.END_HEADERS, Flag.END_HEADERS | 1]),
        st.integers(0, 255),
    ),
    st.sampled_from([0, 1, 3, 5, 2]),
    st.one_of(st.binary(max_size=40), header_blocks),
)


async def _fuzz_once(chunks: list[bytes]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    server = echo_server(EchoState())
    port = await server.listen_tcp("127.0.0.1", 0)
    peer = await RawPeer.connect(port)
    for chunk in chunks:
        peer.send(chunk)
    await peer.close()
    # Every byte is processed once the server saw the connection close.
    closing = [conn.wait_closed() for conn in list(server._connections)]
    await asyncio.wait_for(asyncio.gather(*closing), 10)
    # The server still serves a well-behaved client.
    conn = await connect_tcp("127.0.0.1", port)
    reply = await conn.call(ECHO, StringValue(value="alive"), StringValue, timeout=10)
    assert reply.value == "alive|-"
    conn.close()
    await server.stop(grace=0.1)
    return errors


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(min_size=1, max_size=64), max_size=6))
def test_fuzz_arbitrary_bytes_after_the_preface(chunks: list[bytes]) -> None:
    assert asyncio.run(_fuzz_once(chunks)) == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame_strategy, max_size=8), st.booleans())
@example([(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO) + b"\x00\x00\x00")], False)
def test_fuzz_well_framed_garbage(
    frames_spec: list[tuple[int, int, int, bytes]], with_request: bool
) -> None:
    chunks = [
        fr.frame(ftype, flags, stream, payload) for ftype, flags, stream, payload in frames_spec
    ]
    if with_request:  # a valid request in the mix reaches the handler paths too
        chunks.insert(0, fr.frame(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO)))
    assert asyncio.run(_fuzz_once(chunks)) == []


async def test_a_frame_beyond_our_max_frame_size_is_a_connection_error(plain_port: int) -> None:
    peer = await start(plain_port)
    peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Size"))
    peer.send_frame(DATA, Flag.END_STREAM, 1, b"\x00" * (fr.DEFAULT_MAX_FRAME_SIZE + 1))
    goaway = await peer.expect(FrameType.GOAWAY, 0)
    assert struct.unpack(">I", goaway.payload[4:8])[0] == fr.ErrorCode.FRAME_SIZE_ERROR
    await peer.close()


@pytest.mark.parametrize(
    ("ftype", "stream_id", "payload", "code"),
    [
        (DATA, 0, b"x", fr.ErrorCode.PROTOCOL_ERROR),
        (FrameType.PING, 1, b"12345678", fr.ErrorCode.PROTOCOL_ERROR),
        (FrameType.SETTINGS, 1, b"", fr.ErrorCode.PROTOCOL_ERROR),
        (
            FrameType.WINDOW_UPDATE,
            0,
            struct.pack(">I", fr.MAX_WINDOW),
            fr.ErrorCode.FLOW_CONTROL_ERROR,
        ),
    ],
    ids=["data-on-stream-0", "ping-on-a-stream", "settings-on-a-stream", "window-overflow"],
)
async def test_connection_errors_the_rfc_names(
    plain_port: int, ftype: int, stream_id: int, payload: bytes, code: int
) -> None:
    peer = await start(plain_port)
    peer.send_frame(ftype, 0, stream_id, payload)
    goaway = await peer.expect(FrameType.GOAWAY, 0)
    assert struct.unpack(">I", goaway.payload[4:8])[0] == code
    await peer.close()
