"""An HTTP/2 connection carrying gRPC calls, as an asyncio protocol.

Both ends of the plugin protocol speak gRPC over HTTP/2 behind TLS that only Python's ``ssl``
can negotiate with the host (its P-521 certificate is beyond grpcio's BoringSSL). Rather than
relaying bytes to a grpcio server, the plugin speaks HTTP/2 itself: one event loop, one
thread, no relay hop. The peer is grpc-go (the host) or grpcio (our tests), so the subset
implemented is what those peers use: HEADERS/CONTINUATION with HPACK, DATA with flow control,
SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and GOAWAY. Priorities are ignored, push is refused.

Writes made while a batch of received frames is processed are coalesced into one transport
write: with TLS, every write is a record and a syscall.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

from . import frames
from .frames import ErrorCode, Flag, FrameType, Setting
from .hpack import Decoder, Header, HPACKError

log = logging.getLogger(__name__)

# Receive windows are large: peers are trusted, and a small window costs round trips.
RECV_WINDOW = 1 << 30
_WINDOW_REFILL = RECV_WINDOW // 2
_U32 = struct.Struct(">I")
_MSG_PREFIX = struct.Struct(">BI")


class ConnectionError_(Exception):
    """A connection-level protocol violation: answered with GOAWAY and a close."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class StreamBase:
    """Per-stream state common to both roles."""

    __slots__ = ("buf", "id", "local_closed", "recv_unacked", "remote_closed", "send_window")

    def __init__(self, stream_id: int, send_window: int) -> None:
        self.id = stream_id
        self.send_window = send_window
        self.recv_unacked = 0
        self.buf = bytearray()  # gRPC length-prefixed messages not yet complete
        self.remote_closed = False
        self.local_closed = False

    def take_messages(self) -> list[bytes]:
        """Complete gRPC messages buffered so far."""
        buf = self.buf
        out: list[bytes] = []
        pos = 0
        n = len(buf)
        while n - pos >= 5:
            compressed, length = _MSG_PREFIX.unpack_from(buf, pos)
            if n - pos - 5 < length:
                break
            if compressed:
                raise ValueError("compressed gRPC message, but no compression was negotiated")
            out.append(bytes(buf[pos + 5 : pos + 5 + length]))
            pos += 5 + length
        if pos:
            del buf[:pos]
        return out


def frame_message(payload: bytes) -> bytes:
    """A gRPC message on the wire: uncompressed flag, 32-bit length, bytes."""
    return _MSG_PREFIX.pack(0, len(payload)) + payload


class H2Connection(asyncio.Protocol):
    """Frame handling shared by the server and client ends."""

    is_client = False

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._buf = bytearray()
        self._preface_pending = not self.is_client
        self._decoder = Decoder()
        self._streams: dict[int, Any] = {}
        self._header_block: tuple[int, int, bytearray] | None = None  # (stream, flags, block)
        self._batch: list[bytes] | None = None
        # Peer settings and our send windows.
        self.peer_max_frame = frames.DEFAULT_MAX_FRAME_SIZE
        self.peer_initial_window = frames.DEFAULT_WINDOW
        self.peer_max_streams = 1 << 31
        self.conn_send_window = frames.DEFAULT_WINDOW
        self._window_waiters: list[asyncio.Future[None]] = []
        self._conn_recv_unacked = 0
        self._closed_waiter: asyncio.Future[None] = self._loop.create_future()

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        settings = {
            Setting.INITIAL_WINDOW_SIZE: RECV_WINDOW,
            Setting.MAX_HEADER_LIST_SIZE: 16 << 20,
        }
        if self.is_client:
            settings[Setting.ENABLE_PUSH] = 0
        opening = frames.settings_frame(settings) + frames.window_update(
            0, RECV_WINDOW - frames.DEFAULT_WINDOW
        )
        transport.write(frames.PREFACE + opening if self.is_client else opening)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake_senders()
        self.on_close(exc)
        if not self._closed_waiter.done():
            self._closed_waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        batch: list[bytes] = []
        self._batch = batch
        try:
            pos = 0
            if self._preface_pending:
                # A short wrong start (an HTTP/1.1 probe) is refused now, not after 24 octets.
                seen = bytes(buf[: len(frames.PREFACE)])
                if not frames.PREFACE.startswith(seen):
                    raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "invalid connection preface")
                if len(seen) < len(frames.PREFACE):
                    return
                self._preface_pending = False
                pos = len(frames.PREFACE)
            end = len(buf)
            while end - pos >= 9:
                length, ftype, flags, stream_id = frames.unpack_header(buf, pos)
                # We never raise SETTINGS_MAX_FRAME_SIZE, so the default is the limit.
                if length > frames.DEFAULT_MAX_FRAME_SIZE:
                    raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "frame too large")
                if end - pos - 9 < length:
                    break
                payload = bytes(buf[pos + 9 : pos + 9 + length])
                pos += 9 + length
                self._on_frame(ftype, flags, stream_id, payload)
                if self.closed:
                    return
            if pos:
                del buf[:pos]
        except (ConnectionError_, HPACKError, ValueError, struct.error) as exc:
            code = exc.code if isinstance(exc, ConnectionError_) else ErrorCode.PROTOCOL_ERROR
            if isinstance(exc, HPACKError):
                code = ErrorCode.COMPRESSION_ERROR
            self._abort(code, str(exc))
        finally:
            self._batch = None
            if batch and self.transport is not None and not self.closed:
                self.transport.write(b"".join(batch))

    # -- writing -------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Write now, or with the batch of replies to the frames being processed."""
        if self._batch is not None:
            self._batch.append(data)
        elif self.transport is not None and not self.closed:
            self.transport.write(data)

    def headers_frames(self, stream_id: int, block: bytes, end_stream: bool) -> bytes:
        flags = Flag.END_STREAM if end_stream else 0
        limit = self.peer_max_frame
        if len(block) <= limit:
            return frames.frame(FrameType.HEADERS, flags | Flag.END_HEADERS, stream_id, block)
        parts = [frames.frame(FrameType.HEADERS, flags, stream_id, block[:limit])]
        for start in range(limit, len(block), limit):
            last = start + limit >= len(block)
            parts.append(
                frames.frame(
                    FrameType.CONTINUATION,
                    Flag.END_HEADERS if last else 0,
                    stream_id,
                    block[start : start + limit],
                )
            )
        return b"".join(parts)

    def fits_window(self, stream: StreamBase, size: int) -> bool:
        return size <= self.conn_send_window and size <= stream.send_window

    def data_frame_now(self, stream: StreamBase, payload: bytes, end_stream: bool) -> bytes:
        """One DATA frame for a payload known to fit the windows and the frame size."""
        size = len(payload)
        self.conn_send_window -= size
        stream.send_window -= size
        if end_stream:
            stream.local_closed = True
        return frames.frame(
            FrameType.DATA, Flag.END_STREAM if end_stream else 0, stream.id, payload
        )

    async def send_data(self, stream: StreamBase, payload: bytes, end_stream: bool) -> None:
        """Send DATA honouring the peer's windows and frame size, waiting for window updates."""
        view = memoryview(payload)
        while True:
            if self.closed:
                raise ConnectionResetError("connection closed")
            if stream.local_closed:
                raise ConnectionResetError("stream closed")
            n = min(len(view), self.conn_send_window, stream.send_window, self.peer_max_frame)
            if n <= 0 and len(view):
                fut = self._loop.create_future()
                self._window_waiters.append(fut)
                await fut
                continue
            last = n == len(view)
            chunk = bytes(view[:n])
            view = view[n:]
            self.write(self.data_frame_now(stream, chunk, end_stream and last))
            if last:
                return

    def _wake_senders(self) -> None:
        waiters, self._window_waiters = self._window_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _abort(self, code: ErrorCode, message: str) -> None:
        log.warning("HTTP/2 connection error %s: %s", code.name, message)
        if self.transport is not None and not self.closed:
            self.transport.write(frames.goaway(self.last_peer_stream(), code, message.encode()))
            self.transport.close()
        self.closed = True

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(frames.goaway(self.last_peer_stream(), ErrorCode.NO_ERROR))
            self.transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed_waiter)

    # -- frame dispatch ------------------------------------------------------------------
    def _on_frame(self, ftype: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._header_block is not None and ftype != FrameType.CONTINUATION:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION")
        if ftype == FrameType.DATA:
            if stream_id == 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
            self._on_data_frame(flags, stream_id, payload)
        elif ftype == FrameType.HEADERS:
            if stream_id == 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0")
            payload = frames.strip_padding(flags, payload)
            if flags & Flag.PRIORITY:
                payload = payload[5:]
            if flags & Flag.END_HEADERS:
                self._on_header_block(stream_id, flags, payload)
            else:
                self._header_block = (stream_id, flags, bytearray(payload))
        elif ftype == FrameType.CONTINUATION:
            pending = self._header_block
            if pending is None or pending[0] != stream_id:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION")
            pending[2].extend(payload)
            if flags & Flag.END_HEADERS:
                self._header_block = None
                self._on_header_block(stream_id, pending[1], bytes(pending[2]))
        elif ftype == FrameType.SETTINGS:
            if stream_id != 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
            if flags & Flag.ACK:
                if payload:
                    raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with data")
            else:
                self._on_settings(payload)
        elif ftype == FrameType.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif ftype == FrameType.PING:
            if stream_id != 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "PING on a stream")
            if len(payload) != 8:
                raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "PING payload must be 8 octets")
            if not flags & Flag.ACK:
                self.write(frames.frame(FrameType.PING, Flag.ACK, 0, payload))
        elif ftype == FrameType.RST_STREAM:
            (code,) = _U32.unpack_from(payload)
            stream = self._streams.pop(stream_id, None)
            if stream is not None:
                self.on_stream_reset(stream, code)
        elif ftype == FrameType.GOAWAY:
            if stream_id != 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream")
            last, code = struct.unpack_from(">II", payload)
            self.on_goaway(last & 0x7FFF_FFFF, code, payload[8:])
        elif ftype == FrameType.PUSH_PROMISE:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "push is disabled")
        # PRIORITY and unknown frame types are ignored, as the RFC requires.

    def _on_header_block(self, stream_id: int, flags: int, block: bytes) -> None:
        # Decode even for streams we dropped: the HPACK table must see every block.
        headers = self._decoder.decode(block)
        self.on_headers(stream_id, headers, bool(flags & Flag.END_STREAM))

    def _on_data_frame(self, flags: int, stream_id: int, payload: bytes) -> None:
        size = len(payload)
        self._conn_recv_unacked += size
        if self._conn_recv_unacked >= _WINDOW_REFILL:
            self.write(frames.window_update(0, self._conn_recv_unacked))
            self._conn_recv_unacked = 0
        data = frames.strip_padding(flags, payload)
        end_stream = bool(flags & Flag.END_STREAM)
        stream = self._streams.get(stream_id)
        if stream is None:
            return  # reset or finished: the data is dropped, the window still refilled
        stream.recv_unacked += size
        if stream.recv_unacked >= _WINDOW_REFILL and not end_stream:
            self.write(frames.window_update(stream_id, stream.recv_unacked))
            stream.recv_unacked = 0
        stream.buf += data
        if end_stream:
            stream.remote_closed = True
        self.on_data(stream, end_stream)

    def _on_settings(self, payload: bytes) -> None:
        for key, value in frames.parse_settings(payload):
            if key == Setting.INITIAL_WINDOW_SIZE:
                if value > frames.MAX_WINDOW:
                    raise ConnectionError_(ErrorCode.FLOW_CONTROL_ERROR, "window too large")
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                for stream in self._streams.values():
                    stream.send_window += delta
            elif key == Setting.MAX_FRAME_SIZE:
                if not frames.DEFAULT_MAX_FRAME_SIZE <= value <= frames.MAX_FRAME_SIZE_LIMIT:
                    raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "invalid MAX_FRAME_SIZE")
                self.peer_max_frame = value
            elif key == Setting.MAX_CONCURRENT_STREAMS:
                self.peer_max_streams = value
        self.write(frames.SETTINGS_ACK)
        self._wake_senders()

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE must be 4 octets")
        (increment,) = _U32.unpack_from(payload)
        increment &= 0x7FFF_FFFF
        if stream_id == 0:
            if increment == 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "zero window increment")
            self.conn_send_window += increment
            if self.conn_send_window > frames.MAX_WINDOW:
                raise ConnectionError_(ErrorCode.FLOW_CONTROL_ERROR, "window beyond 2^31-1")
        else:
            stream = self._streams.get(stream_id)
            if stream is None:
                return
            stream.send_window += increment
            if stream.send_window > frames.MAX_WINDOW:
                # A stream error: only this stream is reset.
                self._streams.pop(stream_id, None)
                self.write(frames.rst_stream(stream_id, ErrorCode.FLOW_CONTROL_ERROR))
                self.on_stream_reset(stream, ErrorCode.FLOW_CONTROL_ERROR)
        self._wake_senders()

    # -- role hooks ----------------------------------------------------------------------
    def last_peer_stream(self) -> int:
        return 0

    def on_headers(self, stream_id: int, headers: list[Header], end_stream: bool) -> None:
        raise NotImplementedError

    def on_data(self, stream: Any, end_stream: bool) -> None:
        raise NotImplementedError

    def on_stream_reset(self, stream: Any, code: int) -> None:
        raise NotImplementedError

    def on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        pass

    def on_close(self, exc: Exception | None) -> None:
        pass
