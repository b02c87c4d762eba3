"""The gRPC client end: unary calls over one HTTP/2 connection (the plugin's broker dials)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from . import frames
from .connection import H2Connection, StreamBase, frame_message
from .frames import ErrorCode
from .hpack import Header, encode_headers
from .server import Message, MessageType
from .status import RpcError, StatusCode, decode_message, format_timeout

M = TypeVar("M")

# HTTP statuses a gRPC client maps to codes when the server did not speak gRPC (gRPC spec,
# "HTTP to gRPC Status Code Mapping").
_HTTP_TO_GRPC = {
    400: StatusCode.INTERNAL,
    401: StatusCode.UNAUTHENTICATED,
    403: StatusCode.PERMISSION_DENIED,
    404: StatusCode.UNIMPLEMENTED,
    429: StatusCode.UNAVAILABLE,
    502: StatusCode.UNAVAILABLE,
    503: StatusCode.UNAVAILABLE,
    504: StatusCode.UNAVAILABLE,
}
_RESET_TO_GRPC: dict[int, StatusCode] = {
    ErrorCode.CANCEL: StatusCode.CANCELLED,
    ErrorCode.REFUSED_STREAM: StatusCode.UNAVAILABLE,
    ErrorCode.ENHANCE_YOUR_CALM: StatusCode.RESOURCE_EXHAUSTED,
    ErrorCode.INADEQUATE_SECURITY: StatusCode.PERMISSION_DENIED,
}


MAX_STREAM_ID = (1 << 31) - 1
TRANSPARENT_RETRIES = 5


class RefusedStreamError(RpcError):
    """The server refused the stream before processing it: safe to send again."""


class _CallStream(StreamBase):
    __slots__ = ("future", "got_headers", "messages")

    def __init__(self, stream_id: int, send_window: int, future: asyncio.Future[bytes]) -> None:
        super().__init__(stream_id, send_window)
        self.future = future
        self.got_headers = False
        self.messages: list[bytes] = []


class ClientConnection(H2Connection):
    is_client = True

    def __init__(self, authority: str = "localhost") -> None:
        super().__init__()
        self._next_stream = 1
        self._goaway_last: int | None = None
        self._prefix: list[Header] = [
            (":method", "POST"),
            (":scheme", "http"),
        ]
        self._suffix = encode_headers(
            [
                (":authority", authority),
                ("content-type", "application/grpc"),
                ("te", "trailers"),
                ("user-agent", "vault-plugin-litellm-grpc"),
            ]
        )
        self._path_blocks: dict[str, bytes] = {}

    def _request_block(self, path: str, metadata: Iterable[Header], timeout: float | None) -> bytes:
        base = self._path_blocks.get(path)
        if base is None:
            base = encode_headers([*self._prefix, (":path", path)]) + self._suffix
            self._path_blocks[path] = base
        extra: list[Header] = list(metadata)
        if timeout is not None:
            extra.append(("grpc-timeout", format_timeout(timeout)))
        return base + encode_headers(extra) if extra else base

    async def unary(
        self,
        path: str,
        payload: bytes,
        *,
        metadata: Iterable[Header] = (),
        timeout: float | None = None,  # noqa: ASYNC109  (also sent as grpc-timeout)
    ) -> bytes:
        """Call ``path`` with one serialised request; returns the serialised response.

        A stream the server refused (REFUSED_STREAM: it did not process the request) is
        retried transparently, as gRPC clients do; any other failure is the caller's.
        """
        metadata = list(metadata)
        for _ in range(TRANSPARENT_RETRIES):
            try:
                return await self._unary_once(path, payload, metadata, timeout)
            except RefusedStreamError:
                continue
        return await self._unary_once(path, payload, metadata, timeout)

    async def _unary_once(
        self,
        path: str,
        payload: bytes,
        metadata: list[Header],
        timeout: float | None,  # noqa: ASYNC109  (also sent as grpc-timeout)
    ) -> bytes:
        if self.closed:
            raise RpcError(StatusCode.UNAVAILABLE, "connection closed")
        if self._goaway_last is not None:
            raise RpcError(StatusCode.UNAVAILABLE, "connection is going away")
        while len(self._streams) >= self.peer_max_streams and not self.closed:
            slot: asyncio.Future[None] = self._loop.create_future()
            self._window_waiters.append(slot)  # woken whenever a stream ends
            await slot
        if self._next_stream > MAX_STREAM_ID:
            raise RpcError(StatusCode.UNAVAILABLE, "stream ids exhausted: open a new connection")
        stream_id = self._next_stream
        self._next_stream += 2
        # Encoded before the stream exists: a header value that cannot be sent leaves nothing.
        head = self.headers_frames(stream_id, self._request_block(path, metadata, timeout), False)
        future: asyncio.Future[bytes] = self._loop.create_future()
        stream = _CallStream(stream_id, self.peer_initial_window, future)
        self._streams[stream_id] = stream
        body = frame_message(payload)
        if len(body) <= self.peer_max_frame and self.fits_window(stream, len(body)):
            self.write(head + self.data_frame_now(stream, body, True))
        else:
            self.write(head)
            try:
                await self.send_data(stream, body, True)
            except ConnectionResetError:
                self._streams.pop(stream_id, None)
                if not future.done():
                    raise RpcError(StatusCode.UNAVAILABLE, "connection closed") from None
                # The server answered before taking the whole request (an error status).
            except asyncio.CancelledError:
                self._cancel(stream)
                raise
        try:
            if timeout is None:
                return await future
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._cancel(stream)
            raise RpcError(StatusCode.DEADLINE_EXCEEDED, f"{path} timed out") from None
        except asyncio.CancelledError:
            self._cancel(stream)  # the server would otherwise go on with an abandoned call
            raise

    async def call(
        self,
        path: str,
        request: Message,
        response_type: MessageType[M],
        *,
        metadata: Iterable[Header] = (),
        timeout: float | None = None,  # noqa: ASYNC109  (also sent as grpc-timeout)
    ) -> M:
        data = await self.unary(
            path, request.SerializeToString(), metadata=metadata, timeout=timeout
        )
        return response_type.FromString(data)

    def _cancel(self, stream: _CallStream) -> None:
        if self._streams.pop(stream.id, None) is not None:
            self.write(frames.rst_stream(stream.id, ErrorCode.CANCEL))

    # -- incoming ------------------------------------------------------------------------
    def on_headers(self, stream_id: int, headers: list[Header], end_stream: bool) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        if not stream.got_headers:
            stream.got_headers = True
            status = next((v for k, v in headers if k == ":status"), "")
            if status != "200":
                known = status.isascii() and status.isdigit()
                code = _HTTP_TO_GRPC.get(int(status) if known else 0, StatusCode.UNKNOWN)
                self._complete(stream, RpcError(code, f"HTTP status {status or 'missing'}"))
                return
            if not end_stream:
                return
        if end_stream:
            self._finish(stream, headers)

    def on_data(self, stream: _CallStream, end_stream: bool) -> None:
        try:
            stream.messages.extend(stream.take_messages())
        except ValueError as exc:
            self._cancel(stream)
            self._complete(stream, RpcError(StatusCode.INTERNAL, str(exc)))
            return
        if end_stream:
            self._complete(
                stream, RpcError(StatusCode.INTERNAL, "stream ended without gRPC trailers")
            )

    def _finish(self, stream: _CallStream, trailers: list[Header]) -> None:
        code = StatusCode.UNKNOWN
        message = ""
        for name, value in trailers:
            if name == "grpc-status":
                code = StatusCode.parse(value)
            elif name == "grpc-message":
                message = decode_message(value)
        if code != StatusCode.OK:
            self._complete(stream, RpcError(code, message))
        elif len(stream.messages) != 1:
            self._complete(
                stream,
                RpcError(StatusCode.INTERNAL, f"expected 1 response, got {len(stream.messages)}"),
            )
        else:
            self._complete(stream, stream.messages[0])

    @property
    def usable(self) -> bool:
        """Whether new calls can start here (a :class:`Channel` redials when not)."""
        return not self.closed and self._goaway_last is None and self._next_stream <= MAX_STREAM_ID

    def _complete(self, stream: _CallStream, result: bytes | RpcError) -> None:
        self._streams.pop(stream.id, None)
        # Wakes a request still waiting for window (it must stop now) and calls waiting for
        # a free stream under the peer's MAX_CONCURRENT_STREAMS.
        self._wake_senders()
        if not stream.local_closed:
            stream.local_closed = True
        if stream.future.done():
            return
        if isinstance(result, RpcError):
            stream.future.set_exception(result)
        else:
            stream.future.set_result(result)

    def on_stream_reset(self, stream: _CallStream, code: int) -> None:
        if code == ErrorCode.REFUSED_STREAM and not stream.got_headers:
            self._complete(stream, RefusedStreamError(StatusCode.UNAVAILABLE, "stream refused"))
            return
        grpc_code = _RESET_TO_GRPC.get(code, StatusCode.INTERNAL)
        self._complete(
            stream, RpcError(grpc_code, f"stream reset by the peer (HTTP/2 error {code})")
        )

    def on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        self._goaway_last = last_stream_id
        for stream in list(self._streams.values()):
            if stream.id > last_stream_id:
                self._complete(stream, RpcError(StatusCode.UNAVAILABLE, "server sent GOAWAY"))

    def on_close(self, exc: Exception | None) -> None:
        for stream in list(self._streams.values()):
            self._complete(stream, RpcError(StatusCode.UNAVAILABLE, "connection closed"))


async def connect_unix(
    path: str, ssl_context: ssl.SSLContext | None = None, *, server_hostname: str = "localhost"
) -> ClientConnection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_unix_connection(
        ClientConnection,
        path,
        ssl=ssl_context,
        server_hostname=server_hostname if ssl_context else None,
        ssl_handshake_timeout=10 if ssl_context else None,
    )
    return conn


async def connect_tcp(
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    *,
    server_hostname: str = "localhost",
) -> ClientConnection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(
        ClientConnection,
        host,
        port,
        ssl=ssl_context,
        server_hostname=server_hostname if ssl_context else None,
        ssl_handshake_timeout=10 if ssl_context else None,
    )
    return conn


Dial = Callable[[], Awaitable[ClientConnection]]


class UnaryCaller(Protocol):
    """What service clients need: a :class:`Channel` or a bare :class:`ClientConnection`."""

    async def call(
        self,
        path: str,
        request: Message,
        response_type: MessageType[M],
        *,
        metadata: Iterable[Header] = (),
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> M: ...


class Channel:
    """Calls over a connection that is redialled when it is gone, like grpc-go's ClientConn.

    A connection ends for good when the peer closes it, says GOAWAY, or when its 2^30 client
    stream ids run out (days of storage calls on a busy mount). Calls in flight then fail
    with UNAVAILABLE; the next call dials again.
    """

    def __init__(self, dial: Dial, conn: ClientConnection | None = None) -> None:
        self._dial = dial
        self._conn = conn
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def connection(self) -> ClientConnection:
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        async with self._lock:
            if self._closed:
                raise RpcError(StatusCode.UNAVAILABLE, "channel closed")
            conn = self._conn
            if conn is None or not conn.usable:
                if conn is not None:
                    conn.close()
                try:
                    conn = await self._dial()
                except (OSError, ssl.SSLError) as exc:
                    raise RpcError(StatusCode.UNAVAILABLE, f"dialing failed: {exc}") from exc
                self._conn = conn
            return conn

    async def unary(
        self,
        path: str,
        payload: bytes,
        *,
        metadata: Iterable[Header] = (),
        timeout: float | None = None,  # noqa: ASYNC109  (also sent as grpc-timeout)
    ) -> bytes:
        conn = await self.connection()
        return await conn.unary(path, payload, metadata=metadata, timeout=timeout)

    async def call(
        self,
        path: str,
        request: Message,
        response_type: MessageType[M],
        *,
        metadata: Iterable[Header] = (),
        timeout: float | None = None,  # noqa: ASYNC109  (also sent as grpc-timeout)
    ) -> M:
        conn = await self.connection()
        return await conn.call(path, request, response_type, metadata=metadata, timeout=timeout)

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()

    async def wait_closed(self) -> None:
        if self._conn is not None:
            await self._conn.wait_closed()
