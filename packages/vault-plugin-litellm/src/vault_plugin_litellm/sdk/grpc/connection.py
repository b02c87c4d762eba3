"""An HTTP/2 connection carrying gRPC calls, as an asyncio protocol.

Both ends of the plugin protocol speak gRPC over HTTP/2 behind TLS that only Python's ``ssl``
can negotiate with the host (its P-521 certificate is beyond grpcio's BoringSSL). Rather than
relaying bytes to a grpcio server, the plugin speaks HTTP/2 itself: one event loop, one
thread, no relay hop. The peer is grpc-go (the host) or grpcio (our tests), so the subset
implemented is what those peers use: HEADERS/CONTINUATION with HPACK, DATA with flow control,
SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and GOAWAY. Priorities are ignored, push is refused.

What a peer sends is checked as RFC 9113 requires, each violation answered with the error the
RFC names: a *connection* error (GOAWAY, then close) for what breaks the connection's state
(framing, HPACK, flow control, idle or reused stream ids), a *stream* error (RST_STREAM) for
what concerns one stream. Every resource a peer can make us spend is bounded by
:class:`~.limits.Limits` (see that module for the values and why):

- frames above 16,384 octets (we never raise SETTINGS_MAX_FRAME_SIZE) end the connection;
- a header block is capped in octets and frames as it arrives, its decoded list in octets;
- receive windows are refilled as the gRPC layer takes data (``credit``), not as it arrives,
  and DATA beyond a window is a FLOW_CONTROL_ERROR;
- when the peer stops reading, asyncio pauses our writing: senders of DATA wait, and more
  than ``max_pending_replies`` frames owed meanwhile (PING/SETTINGS ACKs, RST_STREAM) end the
  connection, so the write buffer stays bounded.

Writes made while a batch of received frames is processed are coalesced into one transport
write: with TLS, every write is a record and a syscall.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import OrderedDict
from typing import Any

from . import frames
from .frames import ErrorCode, Flag, FrameType, Setting
from .hpack import Decoder, Header, HeaderListTooLarge, HPACKError
from .limits import DEFAULT_LIMITS, Limits

log = logging.getLogger(__name__)

_U32 = struct.Struct(">I")
_PRIORITY = struct.Struct(">IB")
_MSG_PREFIX = struct.Struct(">BI")

# How a stream that is no longer open was closed (kept for late frames, see ``_on_closed``).
RESET_BY_US = 1
RESET_BY_PEER = 2
ENDED = 3  # both sides sent END_STREAM


class ConnectionError_(Exception):
    """A connection-level protocol violation: answered with GOAWAY and a close."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class StreamError(Exception):
    """A violation that concerns one stream: answered with RST_STREAM."""

    def __init__(self, stream_id: int, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.stream_id = stream_id
        self.code = code


class MessageError(Exception):
    """A gRPC message the receiver refuses (too large, or flagged compressed)."""

    def __init__(self, too_large: bool, message: str) -> None:
        super().__init__(message)
        self.too_large = too_large


class StreamBase:
    """Per-stream state common to both roles."""

    __slots__ = (
        "buf",
        "id",
        "local_closed",
        "recv_unacked",
        "recv_window",
        "remote_closed",
        "send_window",
    )

    def __init__(self, stream_id: int, send_window: int, recv_window: int) -> None:
        self.id = stream_id
        self.send_window = send_window
        self.recv_window = recv_window  # what the peer may still send before we credit more
        self.recv_unacked = 0  # credited octets not yet announced in a WINDOW_UPDATE
        self.buf = bytearray()  # the start of a gRPC message not yet complete
        self.remote_closed = False
        self.local_closed = False

    def take_messages(self, data: bytes, limit: int) -> list[bytes]:
        """Complete gRPC messages once ``data`` is added; the rest stays buffered.

        A message whose prefix declares more than ``limit`` octets is refused as soon as the
        prefix is here, so at most ``limit`` octets (plus one frame) are ever buffered.
        """
        buf = self.buf
        if buf:
            buf += data
            view: bytes | bytearray = buf
        else:
            view = data
        out: list[bytes] = []
        pos = 0
        n = len(view)
        while n - pos >= 5:
            flag, length = _MSG_PREFIX.unpack_from(view, pos)
            if flag:
                raise MessageError(False, "compressed gRPC message without grpc-encoding")
            if length > limit:
                raise MessageError(
                    True, f"received message larger than max ({length} vs. {limit} octets)"
                )
            end = pos + 5 + length
            if end > n:
                break
            out.append(bytes(view[pos + 5 : end]))
            pos = end
        if view is buf:
            if pos:
                del buf[:pos]
        elif pos < n:
            buf += data[pos:]
        return out


def frame_message(payload: bytes) -> bytes:
    """A gRPC message on the wire: uncompressed flag, 32-bit length, bytes."""
    return _MSG_PREFIX.pack(0, len(payload)) + payload


class H2Connection(asyncio.Protocol):
    """Frame handling shared by the server and client ends."""

    is_client = False

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.limits = limits
        self._loop = asyncio.get_running_loop()
        self._buf = bytearray()
        self._preface_pending = not self.is_client
        self._decoder = Decoder(max_header_list_size=limits.max_header_list)
        self._streams: dict[int, Any] = {}
        # Stream id -> RESET_BY_US / RESET_BY_PEER / ENDED, oldest first, bounded.
        self._closed_streams: OrderedDict[int, int] = OrderedDict()
        # A header block in progress: [stream id, HEADERS flags, block, frames, priority error]
        self._header_block: list[Any] | None = None
        self._batch: list[bytes] | None = None
        # Stream ids: the peer opens those of its parity, we open ours (clients odd).
        self._peer_parity = 0 if self.is_client else 1
        self._last_peer_stream = 0  # highest id the peer opened (lower ones are closed)
        self._last_accepted = 0  # highest we took for processing: GOAWAY's last stream id
        self._next_own_stream = 1 if self.is_client else 2
        # Peer settings and our send windows.
        self.peer_max_frame = frames.DEFAULT_MAX_FRAME_SIZE
        self.peer_initial_window = frames.DEFAULT_WINDOW
        self.peer_max_streams = 1 << 31
        self.conn_send_window = frames.DEFAULT_WINDOW
        self._window_waiters: list[asyncio.Future[None]] = []
        # Receive windows: what the peer may still send, and credit not yet announced.
        self._conn_recv_window = limits.connection_window
        self._conn_unacked = 0
        self._conn_refill = limits.connection_window // 2
        self._stream_refill = limits.stream_window // 2
        # Backpressure from the transport (the peer does not read what we write).
        self._write_paused = False
        self._pending_replies = 0
        self._closed_waiter: asyncio.Future[None] = self._loop.create_future()

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            # HTTP/2 over TLS must be negotiated (RFC 9113 §3.2), and grpc-go insists too.
            log.warning("closing a TLS connection that did not negotiate ALPN h2")
            self.closed = True
            transport.abort()
            return
        limits = self.limits
        settings = {
            Setting.INITIAL_WINDOW_SIZE: limits.stream_window,
            Setting.MAX_HEADER_LIST_SIZE: limits.max_header_list,
        }
        if self.is_client:
            settings[Setting.ENABLE_PUSH] = 0
        else:
            settings[Setting.MAX_CONCURRENT_STREAMS] = limits.max_concurrent_streams
        opening = frames.settings_frame(settings)
        if limits.connection_window > frames.DEFAULT_WINDOW:
            opening += frames.window_update(0, limits.connection_window - frames.DEFAULT_WINDOW)
        transport.write(frames.PREFACE + opening if self.is_client else opening)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._write_paused = False
        self._wake_senders()
        self.on_close(exc)
        if not self._closed_waiter.done():
            self._closed_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._pending_replies = 0
        self._wake_senders()

    def data_received(self, data: bytes) -> None:
        if self.closed:  # after a connection error, nothing more is read (TLS may still deliver)
            return
        batch: list[bytes] = []
        self._batch = batch
        try:
            self._read_frames(data)
        except ConnectionError_ as exc:
            self._abort(exc.code, str(exc))
        except HeaderListTooLarge as exc:
            self._abort(ErrorCode.ENHANCE_YOUR_CALM, str(exc))
        except HPACKError as exc:
            self._abort(ErrorCode.COMPRESSION_ERROR, str(exc))
        except Exception:  # a bug must not escape into the event loop and leave us half-open
            log.exception("HTTP/2 frame handling failed")
            self._abort(ErrorCode.INTERNAL_ERROR, "internal error")
        finally:
            self._batch = None
            if batch and self.transport is not None and not self.closed:
                self.transport.write(b"".join(batch))

    def _read_frames(self, data: bytes) -> None:
        buf = self._buf
        buf += data
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
            try:
                self._on_frame(ftype, flags, stream_id, payload)
            except StreamError as exc:
                self._stream_error(exc)
            if self.closed:
                return
        if pos:
            del buf[:pos]

    # -- writing -------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Write now, or with the batch of replies to the frames being processed."""
        if self._batch is not None:
            self._batch.append(data)
        elif self.transport is not None and not self.closed:
            self.transport.write(data)

    def reply(self, data: bytes) -> None:
        """Write a frame the peer's own frames made us owe (ACKs, resets, refusals).

        While the peer does not read, these pile up in the write buffer; a peer that keeps
        asking for them then is flooding us (ping/settings/reset floods).
        """
        if self._write_paused:
            self._pending_replies += 1
            if self._pending_replies > self.limits.max_pending_replies:
                raise ConnectionError_(
                    ErrorCode.ENHANCE_YOUR_CALM,
                    f"more than {self.limits.max_pending_replies} replies owed to a peer "
                    "that does not read",
                )
        self.write(data)

    async def wait_writable(self) -> None:
        """Wait while the transport is paused (the peer is not reading what we send)."""
        while self._write_paused and not self.closed:
            fut = self._loop.create_future()
            self._window_waiters.append(fut)
            await fut

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
        """Whether one DATA frame of ``size`` octets may go out right now."""
        return (
            size <= self.conn_send_window
            and size <= stream.send_window
            and size <= self.peer_max_frame
            and not self._write_paused
        )

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
        """Send DATA honouring the peer's windows and frame size and the transport's pauses."""
        view = memoryview(payload)
        while True:
            if self.closed:
                raise ConnectionResetError("connection closed")
            if stream.local_closed:
                raise ConnectionResetError("stream closed")
            n = min(len(view), self.conn_send_window, stream.send_window, self.peer_max_frame)
            if (n <= 0 and len(view)) or self._write_paused:
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
        transport = self.transport
        if transport is not None and not self.closed:
            transport.write(frames.goaway(self._last_accepted, code, message.encode()[:256]))
            if self._write_paused:
                transport.abort()  # a peer that does not read would hold the buffer forever
            else:
                transport.close()
        self.closed = True

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(frames.goaway(self._last_accepted, ErrorCode.NO_ERROR))
            self.transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed_waiter)

    # -- receive windows -----------------------------------------------------------------
    def credit(self, stream: StreamBase | None, size: int) -> None:
        """Give ``size`` octets of receive window back: the gRPC layer took that much data.

        WINDOW_UPDATE goes out once half a window is owed, so small messages cost none.
        """
        if size <= 0:
            return
        self._conn_unacked += size
        if self._conn_unacked >= self._conn_refill:
            self.write(frames.window_update(0, self._conn_unacked))
            self._conn_recv_window += self._conn_unacked
            self._conn_unacked = 0
        if stream is not None and not stream.remote_closed:
            stream.recv_unacked += size
            if stream.recv_unacked >= self._stream_refill:
                self.write(frames.window_update(stream.id, stream.recv_unacked))
                stream.recv_window += stream.recv_unacked
                stream.recv_unacked = 0

    # -- stream bookkeeping --------------------------------------------------------------
    def close_stream(self, stream: StreamBase, how: int) -> None:
        """Forget an open stream, remembering how it closed for frames still on the way."""
        if self._streams.pop(stream.id, None) is not None:
            self._remember(stream.id, how)

    def _remember(self, stream_id: int, how: int) -> None:
        closed = self._closed_streams
        closed[stream_id] = how
        if len(closed) > self.limits.max_closed_streams:
            closed.popitem(last=False)  # O(1), where a plain dict would rescan its holes

    def _is_idle(self, stream_id: int) -> bool:
        if stream_id & 1 == self._peer_parity:
            return stream_id > self._last_peer_stream
        return stream_id >= self._next_own_stream

    def _on_closed(self, stream_id: int, what: str) -> ErrorCode | None:
        """A frame other than PRIORITY on a stream that is not open.

        Idle streams are a connection error. Frames on streams we reset are ignored (the peer
        may have sent them before it saw our RST_STREAM). Otherwise the stream error to answer
        with is returned: STREAM_CLOSED, as RFC 9113 §5.1 and §6.1 require.
        """
        if self._is_idle(stream_id):
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, f"{what} on idle stream {stream_id}")
        how = self._closed_streams.get(stream_id)
        if how == RESET_BY_US:
            return None
        if what == "HEADERS":
            if how == ENDED:
                raise ConnectionError_(
                    ErrorCode.STREAM_CLOSED, f"HEADERS on closed stream {stream_id}"
                )
            if how is None:  # never opened: stream ids must increase
                raise ConnectionError_(
                    ErrorCode.PROTOCOL_ERROR, f"HEADERS reuse closed stream id {stream_id}"
                )
        return ErrorCode.STREAM_CLOSED

    def _stream_error(self, exc: StreamError) -> None:
        stream_id = exc.stream_id
        log.info("HTTP/2 stream %d error %s: %s", stream_id, exc.code.name, exc)
        self.reply(frames.rst_stream(stream_id, exc.code))
        stream = self._streams.get(stream_id)
        if stream is not None:
            self.close_stream(stream, RESET_BY_US)
            self.on_stream_reset(stream, exc.code, str(exc), True)
        elif stream_id not in self._closed_streams:
            self._remember(stream_id, RESET_BY_US)

    # -- frame dispatch ------------------------------------------------------------------
    def _on_frame(self, ftype: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._header_block is not None:
            if ftype != FrameType.CONTINUATION:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION")
            self._on_continuation(flags, stream_id, payload)
        elif ftype == FrameType.DATA:
            self._on_data_frame(flags, stream_id, payload)
        elif ftype == FrameType.HEADERS:
            self._on_headers_frame(flags, stream_id, payload)
        elif ftype == FrameType.SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif ftype == FrameType.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif ftype == FrameType.PING:
            if stream_id != 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "PING on a stream")
            if len(payload) != 8:
                raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "PING payload must be 8 octets")
            if not flags & Flag.ACK:
                self.reply(frames.frame(FrameType.PING, Flag.ACK, 0, payload))
        elif ftype == FrameType.RST_STREAM:
            self._on_rst_stream(stream_id, payload)
        elif ftype == FrameType.PRIORITY:
            self._on_priority(stream_id, payload)
        elif ftype == FrameType.GOAWAY:
            if stream_id != 0:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream")
            if len(payload) < 8:
                raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 octets")
            last, code = struct.unpack_from(">II", payload)
            self.on_goaway(last & 0x7FFF_FFFF, code, payload[8:])
        elif ftype == FrameType.PUSH_PROMISE:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "push is disabled")
        elif ftype == FrameType.CONTINUATION:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS")
        # Unknown frame types are ignored, as the RFC requires.

    def _on_headers_frame(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0")
        fragment = payload
        priority_error = ""
        if flags & (Flag.PADDED | Flag.PRIORITY):
            pad = 0
            start = 0
            if flags & Flag.PADDED:
                if not payload:
                    raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "PADDED without pad length")
                pad = payload[0]
                start = 1
            if flags & Flag.PRIORITY:
                if len(payload) < start + 5:
                    raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short")
                dependency, _ = _PRIORITY.unpack_from(payload, start)
                if dependency & 0x7FFF_FFFF == stream_id:
                    priority_error = f"stream {stream_id} depends on itself"
                start += 5
            if pad > len(payload) - start:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "padding exceeds the frame")
            fragment = payload[start : len(payload) - pad]
        if flags & Flag.END_HEADERS:
            self._on_header_block(stream_id, flags, fragment, priority_error)
            return
        if len(fragment) > self.limits.max_header_list:
            raise ConnectionError_(ErrorCode.ENHANCE_YOUR_CALM, "header block too large")
        self._header_block = [stream_id, flags, bytearray(fragment), 1, priority_error]

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        pending = self._header_block
        assert pending is not None
        if pending[0] != stream_id:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "CONTINUATION on another stream")
        block: bytearray = pending[2]
        if len(block) + len(payload) > self.limits.max_header_list:
            raise ConnectionError_(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"header block larger than the advertised {self.limits.max_header_list} octets",
            )
        pending[3] += 1
        if pending[3] > self.limits.max_header_frames:
            raise ConnectionError_(
                ErrorCode.PROTOCOL_ERROR,
                f"header block in more than {self.limits.max_header_frames} frames",
            )
        block += payload
        if flags & Flag.END_HEADERS:
            self._header_block = None
            self._on_header_block(stream_id, pending[1], bytes(block), pending[4])

    def _on_header_block(self, stream_id: int, flags: int, block: bytes, error: str) -> None:
        # Decoded first, whatever happens to the stream: the HPACK table must see every block.
        headers = self._decoder.decode(block)
        end_stream = bool(flags & Flag.END_STREAM)
        stream = self._streams.get(stream_id)
        if stream is not None:
            if stream.remote_closed:
                raise StreamError(stream_id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM")
            if error:
                raise StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, error)
            if end_stream:
                stream.remote_closed = True
            self.on_headers(stream, headers, end_stream)
        elif self._is_idle(stream_id):
            if stream_id & 1 != self._peer_parity or self.is_client:
                raise ConnectionError_(
                    ErrorCode.PROTOCOL_ERROR, f"stream {stream_id} opened by the wrong end"
                )
            self._last_peer_stream = stream_id
            if error:
                raise StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, error)
            self.on_new_stream(stream_id, headers, end_stream)
        else:
            code = self._on_closed(stream_id, "HEADERS")
            if code is not None:
                raise StreamError(stream_id, code, "HEADERS on a closed stream")

    def _on_data_frame(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)  # padding counts against the windows too
        self._conn_recv_window -= size
        if self._conn_recv_window < 0:
            raise ConnectionError_(
                ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection receive window"
            )
        data = payload
        if flags & Flag.PADDED:
            if not payload:
                raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "PADDED without pad length")
            if payload[0] >= size:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "padding exceeds the frame")
            data = payload[1 : size - payload[0]]
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_closed:
            code = self._on_closed(stream_id, "DATA") if stream is None else ErrorCode.STREAM_CLOSED
            self.credit(None, size)  # dropped, but the connection window must not shrink
            if code is not None:
                raise StreamError(stream_id, code, "DATA on a closed stream")
            return
        stream.recv_window -= size
        if stream.recv_window < 0:
            raise ConnectionError_(
                ErrorCode.FLOW_CONTROL_ERROR,
                f"DATA beyond the receive window of stream {stream_id}",
            )
        end_stream = bool(flags & Flag.END_STREAM)
        if end_stream:
            stream.remote_closed = True
        self.on_data(stream, data, size, end_stream)

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & Flag.ACK:
            if payload:
                raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with data")
            return
        if len(payload) % 6:
            raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS not a multiple of 6")
        for key, value in frames.parse_settings(payload):
            if key == Setting.INITIAL_WINDOW_SIZE:
                if value > frames.MAX_WINDOW:
                    raise ConnectionError_(ErrorCode.FLOW_CONTROL_ERROR, "window too large")
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                for stream in self._streams.values():
                    stream.send_window += delta
                    if stream.send_window > frames.MAX_WINDOW:
                        raise ConnectionError_(
                            ErrorCode.FLOW_CONTROL_ERROR, "a stream window beyond 2^31-1"
                        )
            elif key == Setting.MAX_FRAME_SIZE:
                if not frames.DEFAULT_MAX_FRAME_SIZE <= value <= frames.MAX_FRAME_SIZE_LIMIT:
                    raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "invalid MAX_FRAME_SIZE")
                self.peer_max_frame = value
            elif key == Setting.MAX_CONCURRENT_STREAMS:
                self.peer_max_streams = value
            elif key == Setting.ENABLE_PUSH:
                if value > 1 or (value and self.is_client):
                    raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "invalid ENABLE_PUSH")
            elif key == _ENABLE_CONNECT_PROTOCOL and value > 1:
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "invalid ENABLE_CONNECT_PROTOCOL")
        self.reply(frames.SETTINGS_ACK)
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
                code = self._on_closed(stream_id, "WINDOW_UPDATE")
                if increment == 0 and code is not None:
                    raise StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, "zero window increment")
                return  # the peer may not have seen the stream end yet
            if increment == 0:
                raise StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, "zero window increment")
            stream.send_window += increment
            if stream.send_window > frames.MAX_WINDOW:
                raise StreamError(stream_id, ErrorCode.FLOW_CONTROL_ERROR, "window beyond 2^31-1")
        self._wake_senders()

    def _on_rst_stream(self, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4:
            raise ConnectionError_(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM must be 4 octets")
        stream = self._streams.get(stream_id)
        if stream is None:
            if self._is_idle(stream_id):
                raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream")
            return
        (code,) = _U32.unpack_from(payload)
        self.close_stream(stream, RESET_BY_PEER)
        self.on_stream_reset(stream, code, "", False)

    def _on_priority(self, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0")
        idle = self._is_idle(stream_id)
        problem = ""
        if len(payload) != 5:
            code, problem = ErrorCode.FRAME_SIZE_ERROR, "PRIORITY must be 5 octets"
        elif _U32.unpack_from(payload)[0] & 0x7FFF_FFFF == stream_id:
            code, problem = ErrorCode.PROTOCOL_ERROR, f"stream {stream_id} depends on itself"
        if problem:
            # RST_STREAM may not be sent on an idle stream: the whole connection pays.
            if idle:
                raise ConnectionError_(code, problem)
            raise StreamError(stream_id, code, problem)
        # Priorities themselves are advisory and ignored.

    # -- role hooks ----------------------------------------------------------------------
    def on_new_stream(self, stream_id: int, headers: list[Header], end_stream: bool) -> None:
        raise ConnectionError_(ErrorCode.PROTOCOL_ERROR, "the peer may not open streams")

    def on_headers(self, stream: Any, headers: list[Header], end_stream: bool) -> None:
        raise NotImplementedError

    def on_data(self, stream: Any, data: bytes, size: int, end_stream: bool) -> None:
        """DATA on an open stream; ``size`` is what it counted against the windows."""
        raise NotImplementedError

    def on_stream_reset(self, stream: Any, code: int, message: str, local: bool) -> None:
        """The stream was reset: by the peer, or by us (``local``) for a stream error."""
        raise NotImplementedError

    def on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        pass

    def on_close(self, exc: Exception | None) -> None:
        pass


_ENABLE_CONNECT_PROTOCOL = 0x8  # RFC 8441
