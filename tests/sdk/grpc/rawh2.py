"""A hand-driven HTTP/2 peer: writes frames exactly as told, reads what comes back.

Frame-level tests use it to send what grpcio never would (padding, CONTINUATION, bad
prefaces, resets at chosen moments) and to see every frame our side writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass

from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc.hpack import Decoder, Header, encode_headers

# How long an answer may take before a test calls it missing: generous, as the machine may be
# loaded; no answer at all is what it catches.
ANSWER_TIMEOUT = 10.0


@dataclass
class Frame:
    type: int
    flags: int
    stream_id: int
    payload: bytes

    def error_code(self) -> int:
        """The error code of a RST_STREAM or GOAWAY frame."""
        offset = 4 if self.type == fr.FrameType.GOAWAY else 0
        code: int = struct.unpack_from(">I", self.payload, offset)[0]
        return code


class RawPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder()

    @classmethod
    async def connect(cls, port: int, *, preface: bytes = fr.PREFACE) -> RawPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        peer = cls(reader, writer)
        peer.send(preface)
        return peer

    @classmethod
    async def start(cls, port: int, settings_payload: bytes = b"") -> RawPeer:
        """Connected, preface and SETTINGS sent: ready for requests."""
        peer = await cls.connect(port)
        peer.send_frame(fr.FrameType.SETTINGS, 0, 0, settings_payload)
        return peer

    async def goaway_code(self) -> int:
        """The error code of the GOAWAY that must come, once the connection closed.

        Bounded in time, so that a server which lets the offence pass fails the test instead
        of hanging it.
        """
        async with asyncio.timeout(ANSWER_TIMEOUT):
            goaway = await self.expect(fr.FrameType.GOAWAY)
            await self.read_until_closed()
        return goaway.error_code()

    async def reset_code(self, stream_id: int) -> int:
        """The error code of the next RST_STREAM on ``stream_id`` (bounded in time)."""
        async with asyncio.timeout(ANSWER_TIMEOUT):
            return (await self.expect(fr.FrameType.RST_STREAM, stream_id)).error_code()

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def send_frame(self, ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> None:
        self.send(fr.frame(ftype, flags, stream_id, payload))

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = True) -> None:
        """DATA within the server's (default) maximum frame size, END_STREAM on the last."""
        limit = fr.DEFAULT_MAX_FRAME_SIZE
        chunks = [data[i : i + limit] for i in range(0, len(data), limit)] or [b""]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            self.send_frame(
                fr.FrameType.DATA,
                fr.Flag.END_STREAM if last and end_stream else 0,
                stream_id,
                chunk,
            )

    async def read_frame(self) -> Frame | None:
        """The next frame, or None once the other side closed the connection."""
        try:
            head = await self.reader.readexactly(fr.HEADER_SIZE)
            length, ftype, flags, stream_id = fr.unpack_header(head, 0)
            payload = await self.reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return Frame(ftype, flags, stream_id, payload)

    async def expect(self, ftype: int, stream_id: int | None = None) -> Frame:
        """Skip frames until one of ``ftype`` (on ``stream_id``) arrives; fail on close."""
        while True:
            frame = await self.read_frame()
            assert frame is not None, f"connection closed while waiting for frame type {ftype}"
            if frame.type == ftype and (stream_id is None or frame.stream_id == stream_id):
                return frame

    async def read_until_closed(self) -> list[Frame]:
        out: list[Frame] = []
        while (frame := await self.read_frame()) is not None:
            out.append(frame)
        return out

    async def sync(self, payload: bytes = b"syncsync") -> list[Frame]:
        """Send a PING and return the frames that arrived before its ACK.

        The other side answers frames in order, so anything it would write in reply to what
        was sent earlier is written before this ACK.
        """
        self.send_frame(fr.FrameType.PING, 0, 0, payload)
        before: list[Frame] = []
        while True:
            frame = await self.read_frame()
            assert frame is not None, "connection closed while waiting for a PING ACK"
            if frame.type == fr.FrameType.PING and frame.flags & fr.Flag.ACK:
                assert frame.payload == payload
                return before
            before.append(frame)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def request_headers(path: str, extra: list[Header] | None = None) -> bytes:
    return encode_headers(
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            *(extra or []),
        ]
    )


def grpc_message(payload: bytes, *, compressed: bool = False) -> bytes:
    return struct.pack(">BI", int(compressed), len(payload)) + payload


def parse_grpc_messages(data: bytes) -> list[bytes]:
    out = []
    pos = 0
    while pos < len(data):
        flag, length = struct.unpack_from(">BI", data, pos)
        assert flag == 0, "our side never compresses"
        out.append(data[pos + 5 : pos + 5 + length])
        pos += 5 + length
    assert pos == len(data), "a gRPC message was cut short"
    return out


@dataclass
class Reply:
    headers: list[Header]
    trailers: list[Header]
    data_frames: list[Frame]

    @property
    def data(self) -> bytes:
        return b"".join(fr.strip_padding(f.flags, f.payload) for f in self.data_frames)

    @property
    def messages(self) -> list[bytes]:
        return parse_grpc_messages(self.data)

    def status(self) -> str:
        return dict(self.trailers).get("grpc-status", "")


async def read_reply(peer: RawPeer, stream_id: int) -> Reply:
    """One stream's frames up to END_STREAM, header blocks decoded (CONTINUATION aware).

    Header blocks of every stream are decoded, in order, to keep the HPACK state in step.
    """
    blocks: list[list[Header]] = []
    data_frames: list[Frame] = []
    pending = bytearray()
    ending = False
    while True:
        frame = await peer.read_frame()
        assert frame is not None, "connection closed before the reply ended"
        ours = frame.stream_id == stream_id
        if frame.type in (fr.FrameType.HEADERS, fr.FrameType.CONTINUATION):
            pending += frame.payload
            if frame.type == fr.FrameType.HEADERS and frame.flags & fr.Flag.END_STREAM and ours:
                ending = True
            if frame.flags & fr.Flag.END_HEADERS:
                headers = peer.decoder.decode(bytes(pending))
                pending.clear()
                if ours:
                    blocks.append(headers)
                    if ending:
                        break
        elif frame.type == fr.FrameType.DATA and ours:
            data_frames.append(frame)
            if frame.flags & fr.Flag.END_STREAM:
                break
        elif frame.type == fr.FrameType.RST_STREAM and ours:
            raise AssertionError(f"stream reset with code {frame.error_code()}")
    # One block is a trailers-only reply: the same fields are headers and trailers.
    return Reply(blocks[0], blocks[-1], data_frames)
