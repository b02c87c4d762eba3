"""Differential tests: python-hyper's ``hpack`` and ``h2`` as oracles.

The same random and mutated inputs go to our stack and to theirs, and both must take the same
accept/reject decision: Huffman strings and HPACK header blocks (decoded values too), and
frame sequences sent to our real server over a socket and fed to an ``h2`` server connection.

Where RFC 9113 allows either a stream or a connection error, the two stacks may choose
differently (h2 makes most stream errors connection errors), so the frame-level decision is
"rejected at all" (GOAWAY with an error, or RST_STREAM with an error code) versus "accepted".
Two places where h2 is more lenient than the RFC are counted as the RFC says (see
``h2_rejects``), and GOAWAY from the client is not generated: after one, h2 refuses every
further frame, which RFC 9113 §6.8 does not ask for.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import h2.config
import h2.connection
import h2.exceptions
import hpack
from google.protobuf.wrappers_pb2 import StringValue
from hpack.huffman_table import decode_huffman
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.grpc import Server, ServerContext, huffman
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc import hpack as our_hpack
from vault_plugin_litellm.sdk.grpc.frames import ErrorCode, Flag, FrameType
from vault_plugin_litellm.sdk.grpc.limits import Limits

from .rawh2 import Frame, RawPeer, grpc_message, request_headers

ECHO = "/test.Echo/Echo"
HOLD = asyncio.Event  # a fresh, never-set event per server: handlers wait until cancelled

# Bounded run time: the whole file takes seconds. No hypothesis deadline: the machine may be
# loaded, and time is no part of what is compared.
FAST = settings(max_examples=250, deadline=None)
SERVER_RUNS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- Huffman --------------------------------------------------------------------------------
def _mutate(data: bytes, position: int, bit: int) -> bytes:
    if not data:
        return bytes([1 << bit])
    i = position % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]


huffman_inputs = st.one_of(
    st.binary(max_size=48),
    st.binary(max_size=64).map(huffman.encode),
    st.builds(
        _mutate, st.binary(max_size=64).map(huffman.encode), st.integers(0, 200), st.integers(0, 7)
    ),
    st.binary(max_size=40).map(lambda d: huffman.encode(d) + b"\xff"),  # 8+ bits of padding
    st.binary(max_size=40).map(lambda d: huffman.encode(d)[:-1]),  # cut short
)


@FAST
@given(huffman_inputs)
@example(b"\xff\xff\xff\xff")  # EOS
@example(b"\x00")  # padding of zeros
def test_huffman_decisions_match_hpack(data: bytes) -> None:
    try:
        ours: bytes | None = huffman.decode(data)
    except huffman.HuffmanError:
        ours = None
    try:
        theirs: bytes | None = decode_huffman(data)
    except hpack.HPACKDecodingError:
        theirs = None
    assert ours == theirs


# -- HPACK ----------------------------------------------------------------------------------
def _string(value: bytes, use_huffman: bool) -> bytes:
    if use_huffman:
        coded = huffman.encode(value)
        return our_hpack.encode_integer(len(coded), 7, 0x80) + coded
    return our_hpack.encode_integer(len(value), 7) + value


field_strings = st.one_of(
    st.sampled_from([b"x-a", b"content-type", b":path", b"", b"x" * 40, b"b" * 3000]),
    st.binary(max_size=12),
)
representations = st.one_of(
    # indexed field (static, dynamic, or out of range)
    st.integers(0, 80).map(lambda i: our_hpack.encode_integer(i, 7, 0x80)),
    # literal: incremental indexing (0x40), without (0x00) or never indexed (0x10),
    # with an indexed or a new name
    st.builds(
        lambda kind, index, name, value, h1, h2_: (
            our_hpack.encode_integer(index, 6 if kind == 0x40 else 4, kind)
            + (b"" if index else _string(name, h1))
            + _string(value, h2_)
        ),
        st.sampled_from([0x40, 0x00, 0x10]),
        st.integers(0, 70),
        field_strings,
        field_strings,
        st.booleans(),
        st.booleans(),
    ),
    # dynamic table size update
    st.integers(0, 5000).map(lambda n: our_hpack.encode_integer(n, 5, 0x20)),
)
header_block = st.lists(representations, max_size=8).map(b"".join)
mutated_block = st.builds(_mutate, header_block, st.integers(0, 10_000), st.integers(0, 7))
block_sequences = st.lists(
    st.one_of(
        header_block, mutated_block, st.binary(max_size=24), header_block.map(lambda b: b[:-1])
    ),
    min_size=1,
    max_size=5,
)


@FAST
@given(block_sequences)
def test_hpack_decisions_and_values_match_hpack(blocks: list[bytes]) -> None:
    # One decoder each across the blocks, as on a connection: the dynamic tables must agree.
    ours = our_hpack.Decoder(max_header_list_size=1 << 16)
    theirs = hpack.Decoder(max_header_list_size=1 << 16)
    for block in blocks:
        try:
            got: list[tuple[bytes, bytes]] | None = [
                (n.encode("latin-1"), v.encode("latin-1")) for n, v in ours.decode(block)
            ]
        except our_hpack.HPACKError:
            got = None
        try:
            expected: list[tuple[bytes, bytes]] | None = [
                (bytes(n), bytes(v)) for n, v in theirs.decode(block, raw=True)
            ]
        except hpack.HPACKError:
            expected = None
        assert got == expected
        if got is None:
            return  # after an error the tables are undefined: the connection would end


# -- frames -----------------------------------------------------------------------------------
# Codes that mean "your frame was wrong" (not a refusal or an early, successful answer).
REJECTIONS = {
    ErrorCode.PROTOCOL_ERROR,
    ErrorCode.INTERNAL_ERROR,
    ErrorCode.FLOW_CONTROL_ERROR,
    ErrorCode.STREAM_CLOSED,
    ErrorCode.FRAME_SIZE_ERROR,
    ErrorCode.COMPRESSION_ERROR,
    ErrorCode.ENHANCE_YOUR_CALM,
}
SYNC = fr.frame(FrameType.PING, 0, 0, b"diffdiff")
# Both stacks get the same windows and limits: h2's defaults.
LIMITS = Limits(stream_window=65_535, connection_window=65_535, max_receive_message=(1 << 32) - 1)

extra_fields = st.lists(
    st.tuples(
        st.sampled_from(
            ["x-a", "X-Upper", "te", "connection", ":path", ":status", ":authority", "host",
             "content-length", "", "x y", "grpc-timeout", "content-type"]
        ),
        st.sampled_from(["v", " v", "trailers", "gzip", "1", "0", "localhost", "a\x00b", ""]),
    ),
    max_size=2,
)  # fmt: skip
request_blocks = st.one_of(
    extra_fields.map(lambda extra: request_headers(ECHO) + our_hpack.encode_headers(extra)),
    extra_fields.map(our_hpack.encode_headers),  # trailers, or a request without pseudo fields
    header_block,
)
stream_ids = st.sampled_from([1, 1, 1, 3, 3, 5, 2, 0])


def _payload(ftype: int) -> st.SearchStrategy[bytes]:
    u32 = st.sampled_from([0, 1, 100, 65_535, fr.MAX_WINDOW, 1 << 31]).map(struct.Struct(">I").pack)
    by_type: dict[int, st.SearchStrategy[bytes]] = {
        FrameType.DATA: st.one_of(
            st.binary(max_size=16).map(
                lambda b: grpc_message(StringValue(value=b.hex()).SerializeToString())
            ),
            st.binary(max_size=8),
        ),
        FrameType.HEADERS: request_blocks,
        FrameType.CONTINUATION: request_blocks,
        FrameType.PRIORITY: st.one_of(
            st.tuples(st.sampled_from([0, 1, 3, 5]), st.integers(0, 255)).map(
                lambda p: struct.pack(">IB", *p)
            ),
            st.binary(max_size=6),
        ),
        FrameType.RST_STREAM: st.one_of(u32, st.binary(max_size=5)),
        FrameType.SETTINGS: st.one_of(
            st.lists(
                st.tuples(
                    st.sampled_from([1, 2, 3, 4, 5, 6, 8, 0x42]),
                    st.sampled_from([0, 1, 2, 100, 16_383, 16_384, 65_536, fr.MAX_WINDOW, 1 << 31]),
                ),
                max_size=2,
            ).map(lambda pairs: b"".join(struct.pack(">HI", k, v) for k, v in pairs)),
            st.binary(max_size=7),
        ),
        FrameType.PING: st.one_of(st.just(b"pingping"), st.binary(max_size=9)),
        FrameType.WINDOW_UPDATE: st.one_of(u32, st.binary(max_size=5)),
    }
    return by_type.get(ftype, st.binary(max_size=8))


frame_types = st.sampled_from(
    [FrameType.HEADERS] * 4
    + [FrameType.DATA] * 3
    + [FrameType.CONTINUATION, FrameType.PRIORITY, FrameType.RST_STREAM, FrameType.SETTINGS]
    + [FrameType.PING, FrameType.WINDOW_UPDATE, FrameType.PUSH_PROMISE, 0x42]
)
flags = st.one_of(
    st.sampled_from(
        [
            Flag.END_HEADERS,
            Flag.END_HEADERS | Flag.END_STREAM,
            Flag.END_STREAM,
            0,
            Flag.ACK,
            Flag.END_HEADERS | Flag.PADDED,
            Flag.END_HEADERS | Flag.PRIORITY,
        ]
    ),
    st.integers(0, 255),
)
random_frame = frame_types.flatmap(lambda t: st.tuples(st.just(t), flags, stream_ids, _payload(t)))


def _valid_call(stream_id: int) -> list[tuple[int, int, int, bytes]]:
    message = grpc_message(StringValue(value="v").SerializeToString())
    return [
        (FrameType.HEADERS, Flag.END_HEADERS, stream_id, request_headers(ECHO)),
        (FrameType.DATA, Flag.END_STREAM, stream_id, message),
    ]


@st.composite
def frame_sequences(draw: st.DrawFn) -> list[tuple[int, int, int, bytes]]:
    """Random frames, or valid calls with a few frames changed, dropped or added."""
    if draw(st.integers(0, 2)) == 0:
        return draw(st.lists(random_frame, max_size=8))
    sequence = _valid_call(1) + _valid_call(3)
    for _ in range(draw(st.integers(1, 2))):
        i = draw(st.integers(0, len(sequence)))
        what = draw(st.sampled_from(["flags", "stream", "drop", "insert", "truncate"]))
        if what == "insert" or not sequence:
            sequence.insert(i, draw(random_frame))
            continue
        i = min(i, len(sequence) - 1)
        ftype, fflags, stream_id, payload = sequence[i]
        if what == "flags":
            sequence[i] = (ftype, draw(flags), stream_id, payload)
        elif what == "stream":
            sequence[i] = (ftype, fflags, draw(stream_ids), payload)
        elif what == "drop":
            del sequence[i]
        else:
            sequence[i] = (ftype, fflags, stream_id, payload[: draw(st.integers(0, len(payload)))])
    return sequence


def _rejected_in(frames: list[Frame]) -> bool:
    return any(
        (f.type == FrameType.GOAWAY and f.error_code() != ErrorCode.NO_ERROR)
        or (f.type == FrameType.RST_STREAM and f.error_code() in REJECTIONS)
        for f in frames
    )


def _parse(data: bytes) -> list[Frame]:
    out = []
    pos = 0
    while pos + 9 <= len(data):
        length, ftype, fflags, stream_id = fr.unpack_header(data, pos)
        out.append(Frame(ftype, fflags, stream_id, data[pos + 9 : pos + 9 + length]))
        pos += 9 + length
    return out


def h2_rejects(sequence: list[bytes]) -> bool:
    config = h2.config.H2Configuration(client_side=False, header_encoding=None)
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    conn.receive_data(fr.PREFACE + fr.frame(FrameType.SETTINGS, 0, 0))
    sent = bytearray()
    try:
        for wire in sequence:
            length, ftype, _, stream_id = fr.unpack_header(wire, 0)
            # RFC 9113 §6.4: RST_STREAM on an idle stream is a connection error PROTOCOL_ERROR
            # (h2 ignores it). Our server never opens streams: even ids are always idle.
            idle = stream_id % 2 == 0 or stream_id > conn.highest_inbound_stream_id
            if ftype == FrameType.RST_STREAM and stream_id and idle and length == 4:
                return True
            conn.receive_data(wire)
            sent += conn.data_to_send()
    except h2.exceptions.ProtocolError:
        return True
    return _rejected_in(_parse(bytes(sent)))


async def our_decision(sequence: list[bytes]) -> tuple[bool, bool]:
    """(rejected, our gRPC layer ended a stream early) for our server over a socket."""
    server = Server(limits=LIMITS)

    async def hold(request: StringValue, ctx: ServerContext) -> StringValue:
        await HOLD().wait()  # answers nothing, like the h2 connection: streams stay open
        return request

    server.add_unary(ECHO, StringValue, hold)
    port = await server.listen_tcp("127.0.0.1", 0)
    try:
        peer = await RawPeer.start(port)
        peer.send(b"".join(sequence))
        seen: list[Frame] = []
        async with asyncio.timeout(10):
            while (frame := await peer.read_frame()) is not None:
                if (
                    frame.type == FrameType.PING
                    and frame.flags & Flag.ACK
                    and frame.payload == b"diffdiff"
                ):
                    break
                seen.append(frame)
        await peer.close()
    finally:
        await server.stop(grace=0.1)
    early = any(
        f.type == FrameType.RST_STREAM and f.error_code() == ErrorCode.NO_ERROR for f in seen
    )
    return _rejected_in(seen), early


@SERVER_RUNS
@given(frame_sequences())
@example([(FrameType.RST_STREAM, 0, 5, b"\0\0\0\x08")])  # idle: h2 is lenient here
@example([(FrameType.HEADERS, Flag.END_HEADERS, 1, request_headers(ECHO, [("X-Up", "v")]))])
@example([(FrameType.WINDOW_UPDATE, 0, 1, b"\0\0\0\0")])
def test_frame_sequences_get_the_decision_h2_takes(
    sequence: list[tuple[int, int, int, bytes]],
) -> None:
    wires = [fr.frame(*spec) for spec in sequence if spec[0] != FrameType.GOAWAY]
    wires.append(SYNC)
    ours, early = asyncio.run(our_decision(wires))
    # Once our gRPC layer has answered a stream early and reset it (NO_ERROR), later frames
    # on it are ignored as RFC 9113 §5.1 requires, while h2 (with no application answering)
    # still judges them: such runs compare nothing.
    assume(not early)
    assert ours == h2_rejects(wires), sequence


def test_settings_under_test_are_h2s() -> None:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    local: Any = conn.local_settings
    assert local.initial_window_size == LIMITS.stream_window
    assert local.max_concurrent_streams == LIMITS.max_concurrent_streams
    assert local.max_header_list_size == LIMITS.max_header_list
    assert local.max_frame_size == fr.DEFAULT_MAX_FRAME_SIZE
