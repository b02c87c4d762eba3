"""gRPC rules on the server end: deadlines, compression, content-type and method."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.grpc import StatusCode
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, Flag, FrameType
from vault_plugin_litellm.sdk.grpc.hpack import Header, encode_headers
from vault_plugin_litellm.sdk.grpc.limits import Limits

from .conftest import EchoState, serving
from .rawh2 import RawPeer, grpc_message, read_reply, request_headers

ECHO = "/test.Echo/Echo"
SLOW = "/test.Echo/Slow"
HEADERS = FrameType.HEADERS
DATA = FrameType.DATA


def request(path: str, *, method: str = "POST", content_type: str = "application/grpc",
            extra: list[Header] | None = None) -> bytes:  # fmt: skip
    return encode_headers(
        [
            (":method", method),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", content_type),
            *(extra or []),
        ]
    )


async def test_grpc_timeout_cancels_the_handler_and_answers_deadline_exceeded(
    echo_state: EchoState,
) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(
            HEADERS, Flag.END_HEADERS, 1, request_headers(SLOW, [("grpc-timeout", "100m")])
        )
        peer.send_frame(DATA, Flag.END_STREAM, 1, grpc_message(b""))
        reply = await read_reply(peer, 1)
        assert reply.status() == str(int(StatusCode.DEADLINE_EXCEEDED))
        await asyncio.wait_for(echo_state.cancelled.wait(), 10)
        assert echo_state.contexts[-1].timeout == pytest.approx(0.1)
        assert not echo_state.release.is_set()  # it ended by the deadline alone
        await peer.close()


async def test_a_deadline_passing_before_the_request_ends_also_resets_the_stream(
    echo_state: EchoState,
) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(
            HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO, [("grpc-timeout", "50m")])
        )
        reply = await read_reply(peer, 1)  # the body never comes
        assert reply.status() == str(int(StatusCode.DEADLINE_EXCEEDED))
        assert await peer.reset_code(1) == ErrorCode.CANCEL
        await peer.close()
    assert echo_state.contexts == []


@pytest.mark.parametrize(
    ("block", "http_status", "grpc_status", "text"),
    [
        pytest.param(
            request_headers(ECHO, [("grpc-timeout", "1x")]), "200", "13", "malformed grpc-timeout",
            id="malformed-grpc-timeout",
        ),
        pytest.param(
            request_headers(ECHO, [("grpc-encoding", "gzip")]), "200", "12", "compression",
            id="unsupported-grpc-encoding",
        ),
        pytest.param(
            request(ECHO, content_type="text/plain"), "415", "13", "content-type",
            id="not-grpc-content-type",
        ),
        pytest.param(
            request(ECHO, content_type="application/grpcx"), "415", "13", "content-type",
            id="content-type-prefix-only",
        ),
        pytest.param(
            request(ECHO, method="GET"), "405", "13", "POST", id="get-instead-of-post",
        ),
    ],
)  # fmt: skip
async def test_requests_no_handler_sees(
    echo_state: EchoState, block: bytes, http_status: str, grpc_status: str, text: str
) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, block)
        peer.send_frame(
            DATA, Flag.END_STREAM, 1, grpc_message(StringValue(value="x").SerializeToString())
        )
        reply = await read_reply(peer, 1)
        fields = dict(reply.trailers)
        assert (fields[":status"], fields["grpc-status"]) == (http_status, grpc_status)
        assert text in fields["grpc-message"]
        if grpc_status == "12":
            assert fields["grpc-accept-encoding"] == "identity"
        await peer.close()
    assert echo_state.contexts == []


@pytest.mark.parametrize("content_type", ["application/grpc+proto", "application/grpc;x=y"])
async def test_grpc_content_type_forms(echo_state: EchoState, content_type: str) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request(ECHO, content_type=content_type))
        peer.send_frame(
            DATA, Flag.END_STREAM, 1, grpc_message(StringValue(value="f").SerializeToString())
        )
        assert (await read_reply(peer, 1)).status() == "0"
        await peer.close()


@pytest.mark.parametrize("flag", [1, 2, 255])
async def test_a_compressed_flag_without_grpc_encoding_is_internal(
    echo_state: EchoState, flag: int
) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO))
        peer.send_frame(DATA, Flag.END_STREAM, 1, bytes([flag]) + b"\0\0\0\0")
        reply = await read_reply(peer, 1)
        assert reply.status() == "13"
        assert "compressed" in dict(reply.trailers)["grpc-message"]
        await peer.close()
    assert echo_state.contexts == []


async def test_a_request_ending_inside_a_message_is_internal(echo_state: EchoState) -> None:
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        peer.send_frame(HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO))
        peer.send_frame(DATA, Flag.END_STREAM, 1, b"\0\0\0\0\x09abc")
        reply = await read_reply(peer, 1)
        assert reply.status() == "13"
        assert "inside a gRPC message" in dict(reply.trailers)["grpc-message"]
        await peer.close()


async def test_each_call_on_a_connection_keeps_its_own_deadline(echo_state: EchoState) -> None:
    # One timer serves the connection: a later call with a nearer deadline must move it, and
    # a call with a far deadline must outlive the others.
    async with serving(Limits(), echo_state) as (_, port):
        peer = await RawPeer.start(port)
        for stream_id, timeout in ((1, "10S"), (3, "300m"), (5, "100m")):
            block = request_headers(SLOW, [("grpc-timeout", timeout)])
            peer.send_frame(HEADERS, Flag.END_HEADERS, stream_id, block)
            peer.send_frame(DATA, Flag.END_STREAM, stream_id, grpc_message(b""))
        deadline_exceeded = str(int(StatusCode.DEADLINE_EXCEEDED))
        assert (await read_reply(peer, 5)).status() == deadline_exceeded
        assert (await read_reply(peer, 3)).status() == deadline_exceeded
        echo_state.release.set()
        assert (await read_reply(peer, 1)).status() == "0"
        await peer.close()
