"""RFC 9113 rules the server used to let pass, each answered with the error the RFC names.

Connection errors end in GOAWAY with that code; stream errors in RST_STREAM on the stream,
after which the connection still serves a request.
"""

from __future__ import annotations

import struct

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc import hpack
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, Flag, FrameType, Setting
from vault_plugin_litellm.sdk.grpc.hpack import Header
from vault_plugin_litellm.sdk.grpc.limits import Limits

from .conftest import EchoState, serving
from .rawh2 import RawPeer, grpc_message, read_reply, request_headers

ECHO = "/test.Echo/Echo"
HEADERS = FrameType.HEADERS
DATA = FrameType.DATA
U32 = struct.Struct(">I")
frame = fr.frame


def open_stream(stream_id: int) -> bytes:
    """A request whose body has not come yet: the stream stays open."""
    return frame(HEADERS, Flag.END_HEADERS, stream_id, request_headers(ECHO))


def settings(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack(">HI", key, value) for key, value in pairs)


async def still_serves(peer: RawPeer, stream_id: int) -> None:
    peer.send_frame(HEADERS, Flag.END_HEADERS, stream_id, request_headers(ECHO))
    message = grpc_message(StringValue(value="alive").SerializeToString())
    peer.send_frame(DATA, Flag.END_STREAM, stream_id, message)
    reply = await read_reply(peer, stream_id)
    assert reply.status() == "0"


CONNECTION_ERRORS: dict[str, tuple[bytes, ErrorCode]] = {
    "zero-window-increment-on-the-connection": (
        frame(FrameType.WINDOW_UPDATE, 0, 0, U32.pack(0)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "even-stream-id-from-a-client": (
        frame(HEADERS, Flag.END_HEADERS, 2, request_headers(ECHO)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "decreasing-stream-id": (open_stream(5) + open_stream(3), ErrorCode.PROTOCOL_ERROR),
    "rst-stream-on-stream-0": (
        frame(FrameType.RST_STREAM, 0, 0, U32.pack(ErrorCode.CANCEL)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "rst-stream-on-an-idle-stream": (
        frame(FrameType.RST_STREAM, 0, 9, U32.pack(ErrorCode.CANCEL)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "rst-stream-of-5-octets": (
        open_stream(1) + frame(FrameType.RST_STREAM, 0, 1, b"\0" * 5),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
    "data-on-an-idle-stream": (frame(DATA, 0, 7, b"data"), ErrorCode.PROTOCOL_ERROR),
    "window-update-on-an-idle-stream": (
        frame(FrameType.WINDOW_UPDATE, 0, 7, U32.pack(10)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "priority-on-stream-0": (
        frame(FrameType.PRIORITY, 0, 0, struct.pack(">IB", 1, 16)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "short-priority-on-an-idle-stream": (
        frame(FrameType.PRIORITY, 0, 11, b"\0\0\0"),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
    "settings-of-7-octets": (
        frame(FrameType.SETTINGS, 0, 0, b"\0" * 7),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
    "enable-push-2": (
        frame(FrameType.SETTINGS, 0, 0, settings((Setting.ENABLE_PUSH, 2))),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "max-frame-size-below-16-kib": (
        frame(FrameType.SETTINGS, 0, 0, settings((Setting.MAX_FRAME_SIZE, 100))),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "initial-window-of-2-31": (
        frame(FrameType.SETTINGS, 0, 0, settings((Setting.INITIAL_WINDOW_SIZE, 1 << 31))),
        ErrorCode.FLOW_CONTROL_ERROR,
    ),
    "initial-window-change-overflows-an-open-stream": (
        open_stream(1)
        + frame(FrameType.WINDOW_UPDATE, 0, 1, U32.pack(fr.MAX_WINDOW - 65_535))
        + frame(FrameType.SETTINGS, 0, 0, settings((Setting.INITIAL_WINDOW_SIZE, 65_536))),
        ErrorCode.FLOW_CONTROL_ERROR,
    ),
    "goaway-of-4-octets": (frame(FrameType.GOAWAY, 0, 0, b"\0\0\0\0"), ErrorCode.FRAME_SIZE_ERROR),
    "continuation-without-headers": (
        frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, b"\x83"),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "continuation-on-another-stream": (
        frame(HEADERS, 0, 1, request_headers(ECHO)[:3])
        + frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, request_headers(ECHO)[3:]),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "push-promise-from-a-client": (
        open_stream(1) + frame(FrameType.PUSH_PROMISE, 4, 1, U32.pack(2)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "headers-too-short-for-their-priority": (
        frame(HEADERS, Flag.END_HEADERS | Flag.PRIORITY, 1, b"\0\0"),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
    "headers-padding-past-the-end": (
        frame(HEADERS, Flag.END_HEADERS | Flag.PADDED, 1, b"\x09\x83\x86"),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "padded-data-without-pad-length": (
        open_stream(1) + frame(DATA, Flag.PADDED, 1, b""),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
}


@pytest.mark.parametrize("case", list(CONNECTION_ERRORS))
async def test_connection_errors(echo_state: EchoState, case: str) -> None:
    sent, code = CONNECTION_ERRORS[case]
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send(sent)
        assert ErrorCode(await peer.goaway_code()) == code


STREAM_ERRORS: dict[str, tuple[bytes, ErrorCode]] = {
    "zero-window-increment-on-a-stream": (
        open_stream(1) + frame(FrameType.WINDOW_UPDATE, 0, 1, U32.pack(0)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "stream-window-past-2-31": (
        open_stream(1) + frame(FrameType.WINDOW_UPDATE, 0, 1, U32.pack(fr.MAX_WINDOW)),
        ErrorCode.FLOW_CONTROL_ERROR,
    ),
    "short-priority-on-an-open-stream": (
        open_stream(1) + frame(FrameType.PRIORITY, 0, 1, b"\0\0\0\0"),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
    "priority-on-itself": (
        open_stream(1) + frame(FrameType.PRIORITY, 0, 1, b"\0\0\0\x01\x10"),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "headers-depending-on-themselves": (
        frame(
            HEADERS,
            Flag.END_HEADERS | Flag.PRIORITY,
            1,
            struct.pack(">IB", 1, 16) + request_headers(ECHO),
        ),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "data-after-the-peer-reset-the-stream": (
        open_stream(1)
        + frame(FrameType.RST_STREAM, 0, 1, U32.pack(ErrorCode.CANCEL))
        + frame(DATA, 0, 1, b"late"),
        ErrorCode.STREAM_CLOSED,
    ),
    "data-after-end-stream": (
        frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/test.Echo/Slow"))
        + frame(DATA, Flag.END_STREAM, 1, grpc_message(b""))
        + frame(DATA, 0, 1, b"more"),
        ErrorCode.STREAM_CLOSED,
    ),
}


@pytest.mark.parametrize("case", list(STREAM_ERRORS))
async def test_stream_errors(echo_state: EchoState, case: str) -> None:
    sent, code = STREAM_ERRORS[case]
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send(sent)
        assert ErrorCode(await peer.reset_code(1)) == code
        await still_serves(peer, 21)
        await peer.close()


async def test_data_on_a_finished_stream_is_stream_closed(echo_state: EchoState) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        await still_serves(peer, 1)  # both ends sent END_STREAM: closed
        peer.send_frame(DATA, 0, 1, b"late")
        assert await peer.reset_code(1) == ErrorCode.STREAM_CLOSED
        await still_serves(peer, 3)
        await peer.close()


async def test_frames_on_a_stream_we_reset_are_ignored_but_count_for_the_window(
    echo_state: EchoState,
) -> None:
    # The peer may have sent them before it saw our RST_STREAM (§5.1): no error, and the
    # connection window the dropped DATA used comes back.
    limits = Limits(connection_window=65_535, stream_window=65_535)
    async with serving(limits, echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers("/no.Such/Method"))
        reply = await read_reply(peer, 1)
        assert reply.status() == "12"
        assert await peer.reset_code(1) == ErrorCode.NO_ERROR  # stop sending, no error
        for _ in range(10):  # 160 KiB: more than twice the connection window
            peer.send_frame(DATA, 0, 1, b"\0" * fr.DEFAULT_MAX_FRAME_SIZE)
        peer.send_frame(FrameType.WINDOW_UPDATE, 0, 1, U32.pack(0))
        peer.send_frame(FrameType.RST_STREAM, 0, 1, U32.pack(ErrorCode.CANCEL))
        before = await peer.sync()
        assert not [f for f in before if f.type in (FrameType.RST_STREAM, FrameType.GOAWAY)]
        await still_serves(peer, 3)
        await peer.close()


MALFORMED: dict[str, list[Header]] = {
    "uppercase-name": [("X-Upper", "v")],
    "space-in-name": [("x name", "v")],
    "colon-inside-name": [("x:y", "v")],
    "value-with-leading-space": [("x-v", " v")],
    "value-with-nul": [("x-v", "a\x00b")],
    "connection-header": [("connection", "keep-alive")],
    "transfer-encoding": [("transfer-encoding", "chunked")],
    "te-other-than-trailers": [("te", "gzip")],
    "pseudo-after-regular": [("x-first", "v"), (":authority", "again")],
    "unknown-pseudo": [(":status", "200")],
    "host-differs-from-authority": [("host", "elsewhere")],
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_request_fields_reset_the_stream(echo_state: EchoState, case: str) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        extra = hpack.encode_headers(MALFORMED[case])
        peer.send_frame(
            HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, request_headers(ECHO) + extra
        )
        assert await peer.reset_code(1) == ErrorCode.PROTOCOL_ERROR
        await still_serves(peer, 3)
        await peer.close()
    assert [c.method for c in echo_state.contexts] == [ECHO]  # only the well-formed call ran


BROKEN_PSEUDO: dict[str, list[Header]] = {
    "missing-method": [(":scheme", "http"), (":path", ECHO), (":authority", "x")],
    "missing-scheme": [(":method", "POST"), (":path", ECHO), (":authority", "x")],
    "missing-path": [(":method", "POST"), (":scheme", "http"), (":authority", "x")],
    "empty-path": [(":method", "POST"), (":scheme", "http"), (":path", ""), (":authority", "x")],
    "duplicate-path": [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", ECHO),
        (":path", ECHO),
        (":authority", "x"),
    ],
    "no-authority-nor-host": [(":method", "POST"), (":scheme", "http"), (":path", ECHO)],
}


@pytest.mark.parametrize("case", list(BROKEN_PSEUDO))
async def test_broken_pseudo_header_fields_reset_the_stream(
    echo_state: EchoState, case: str
) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        block = hpack.encode_headers([*BROKEN_PSEUDO[case], ("content-type", "application/grpc")])
        peer.send_frame(HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block)
        assert await peer.reset_code(1) == ErrorCode.PROTOCOL_ERROR
        await still_serves(peer, 3)
        await peer.close()


@pytest.mark.parametrize(
    "trailers",
    [
        pytest.param((0, [("x-t", "v")]), id="trailers-without-end-stream"),
        pytest.param((Flag.END_STREAM, [(":path", "/x")]), id="pseudo-header-in-trailers"),
        pytest.param((Flag.END_STREAM, [("Upper", "v")]), id="uppercase-in-trailers"),
    ],
)
async def test_malformed_trailers_reset_the_stream(
    echo_state: EchoState, trailers: tuple[int, list[Header]]
) -> None:
    flags, fields = trailers
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send(open_stream(1))
        peer.send_frame(DATA, 0, 1, grpc_message(StringValue(value="x").SerializeToString()))
        peer.send_frame(HEADERS, Flag.END_HEADERS | flags, 1, hpack.encode_headers(fields))
        assert await peer.reset_code(1) == ErrorCode.PROTOCOL_ERROR
        await still_serves(peer, 3)
        await peer.close()


@pytest.mark.parametrize(
    ("declared", "sent"), [(5, b"1234"), (3, b"1234")], ids=["short-body", "long-body"]
)
async def test_content_length_must_match_the_data(
    echo_state: EchoState, declared: int, sent: bytes
) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        block = request_headers(ECHO, [("content-length", str(declared))])
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, block)
        peer.send_frame(DATA, Flag.END_STREAM, 1, sent)
        assert await peer.reset_code(1) == ErrorCode.PROTOCOL_ERROR
        await still_serves(peer, 3)
        await peer.close()


async def test_trailers_from_the_client_end_the_request(echo_state: EchoState) -> None:
    # Well-formed trailers (END_STREAM, no pseudo-header fields) are a valid request end.
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send(open_stream(1))
        peer.send_frame(DATA, 0, 1, grpc_message(StringValue(value="t").SerializeToString()))
        peer.send_frame(
            HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack.encode_headers([("x-t", "v")])
        )
        assert (await read_reply(peer, 1)).status() == "0"
        await peer.close()
