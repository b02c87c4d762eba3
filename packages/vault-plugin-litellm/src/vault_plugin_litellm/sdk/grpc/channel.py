"""The gRPC client end: unary calls over HTTP/2 (the plugin's broker dials to the host).

A call's deadline covers all of it: dialling, waiting for a stream slot under the server's
MAX_CONCURRENT_STREAMS, waiting for flow-control window, and the answer; the time left goes
to the server as ``grpc-timeout``. A response is checked as strictly as the server checks
requests: a malformed header section resets the stream (INTERNAL), a ``:status`` other than
200 maps to a code as the gRPC protocol says, a content-type other than ``application/grpc``
is INTERNAL, ``grpc-status`` must be a plain decimal, a message larger than
``Limits.max_receive_message`` is RESOURCE_EXHAUSTED and a compressed one INTERNAL.

When the server says GOAWAY, calls it will not process (stream ids above its last one) are
retried on a new connection; the old one drains: calls in flight there finish, and it is
closed after the last of them.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from . import fields, frames
from .connection import (
    ENDED,
    RESET_BY_US,
    H2Connection,
    MessageError,
    StreamBase,
    StreamError,
    frame_message,
)
from .frames import ErrorCode
from .hpack import Header, encode_headers
from .limits import DEFAULT_LIMITS, Limits
from .server import TLS_HANDSHAKE_TIMEOUT, Message, MessageType
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
    """The server did not process the call (REFUSED_STREAM, or past its GOAWAY): safe to send
    again, on this connection or a new one."""


class _CallStream(StreamBase):
    __slots__ = ("future", "got_headers", "message")

    def __init__(
        self, stream_id: int, send_window: int, recv_window: int, future: asyncio.Future[bytes]
    ) -> None:
        super().__init__(stream_id, send_window, recv_window)
        self.future = future
        self.got_headers = False
        self.message: bytes | None = None


class ClientConnection(H2Connection):
    is_client = True

    def __init__(self, authority: str = "localhost", limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits)
        self._goaway_last: int | None = None
        self._close_when_idle = False
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

    def _request_block(
        self, path: str, metadata: Iterable[Header], deadline: float | None
    ) -> bytes:
        base = self._path_blocks.get(path)
        if base is None:
            base = encode_headers([*self._prefix, (":path", path)]) + self._suffix
            self._path_blocks[path] = base
        extra: list[Header] = list(metadata)
        if deadline is not None:
            extra.append(("grpc-timeout", format_timeout(max(0.0, deadline - self._loop.time()))))
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

        A stream the server refused (it did not process the request) is retried
        transparently, as gRPC clients do; any other failure is the caller's. ``timeout``
        bounds the whole call, retries included.
        """
        metadata = list(metadata)

        async def attempts(deadline: float | None) -> bytes:
            for attempt in range(TRANSPARENT_RETRIES + 1):
                try:
                    return await self.unary_once(path, payload, metadata, deadline)
                except RefusedStreamError:
                    if attempt == TRANSPARENT_RETRIES:
                        raise
            raise AssertionError("unreachable")

        return await with_deadline(path, timeout, attempts)

    async def unary_once(
        self, path: str, payload: bytes, metadata: list[Header], deadline: float | None
    ) -> bytes:
        """One attempt; the caller bounds it in time (see :func:`with_deadline`)."""
        while True:
            if self.closed:
                raise RpcError(StatusCode.UNAVAILABLE, "connection closed")
            if self._goaway_last is not None:
                raise RefusedStreamError(StatusCode.UNAVAILABLE, "connection is going away")
            if len(self._streams) < self.peer_max_streams:
                break
            slot: asyncio.Future[None] = self._loop.create_future()
            self._window_waiters.append(slot)  # woken whenever a stream ends
            await slot
        if self._next_own_stream > MAX_STREAM_ID:
            raise RpcError(StatusCode.UNAVAILABLE, "stream ids exhausted: open a new connection")
        stream_id = self._next_own_stream
        # Encoded before the stream exists: a header value that cannot be sent leaves nothing.
        head = self.headers_frames(stream_id, self._request_block(path, metadata, deadline), False)
        self._next_own_stream += 2
        future: asyncio.Future[bytes] = self._loop.create_future()
        stream = _CallStream(stream_id, self.peer_initial_window, self.limits.stream_window, future)
        self._streams[stream_id] = stream
        body = frame_message(payload)
        try:
            if self.fits_window(stream, len(body)):
                self.write(head + self.data_frame_now(stream, body, True))
            else:
                self.write(head)
                try:
                    await self.send_data(stream, body, True)
                except ConnectionResetError:
                    if not future.done():
                        self.close_stream(stream, RESET_BY_US)
                        raise RpcError(StatusCode.UNAVAILABLE, "connection closed") from None
                    # The server answered before taking the whole request (an error status).
            return await future
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
        stream.future.cancel()  # its caller is gone: nobody would read an error
        self._complete(stream, RpcError(StatusCode.CANCELLED, "call cancelled"))

    # -- incoming ------------------------------------------------------------------------
    def on_headers(self, stream: _CallStream, headers: list[Header], end_stream: bool) -> None:
        try:
            if stream.got_headers:
                if not end_stream:  # only trailers may follow the response headers (RFC 9113 §8.1)
                    raise fields.MalformedError("HEADERS inside a response")
                self._finish(stream, fields.parse_trailers(headers))
                return
            stream.got_headers = True
            found = fields.parse_response(headers)
        except fields.MalformedError as exc:
            message = f"malformed response: {exc}"
            raise StreamError(stream.id, ErrorCode.PROTOCOL_ERROR, message) from None
        status = found[":status"]
        if status != "200":
            known = status.isascii() and status.isdigit()
            code = _HTTP_TO_GRPC.get(int(status) if known else 0, StatusCode.UNKNOWN)
            self._fail(stream, RpcError(code, f"HTTP status {status[:20]}"), end_stream)
            return
        content_type = found.get("content-type", "")
        if content_type != "application/grpc" and not content_type.startswith(
            ("application/grpc+", "application/grpc;")
        ):
            message = f"unexpected content-type {content_type[:40]!r}"
            self._fail(stream, RpcError(StatusCode.INTERNAL, message), end_stream)
        elif end_stream:
            self._finish(stream, found)  # trailers-only

    def on_data(self, stream: _CallStream, data: bytes, size: int, end_stream: bool) -> None:
        self.credit(stream, size)  # one message per call: taken as it arrives
        if not stream.got_headers:
            raise StreamError(stream.id, ErrorCode.PROTOCOL_ERROR, "DATA before the headers")
        if data:
            try:
                messages = stream.take_messages(data, self.limits.max_receive_message)
            except MessageError as exc:
                code = StatusCode.RESOURCE_EXHAUSTED if exc.too_large else StatusCode.INTERNAL
                self._fail(stream, RpcError(code, str(exc)), end_stream)
                return
            if messages:
                if stream.message is not None or len(messages) > 1:
                    got = len(messages) + (stream.message is not None)
                    error = RpcError(StatusCode.INTERNAL, f"expected 1 response, got {got}")
                    self._fail(stream, error, end_stream)
                    return
                stream.message = messages[0]
        if end_stream:
            self._complete(
                stream, RpcError(StatusCode.INTERNAL, "stream ended without gRPC trailers")
            )

    def _finish(self, stream: _CallStream, trailers: dict[str, str]) -> None:
        raw = trailers.get("grpc-status")
        message = decode_message(trailers.get("grpc-message", ""))
        if raw is None:
            self._complete(stream, RpcError(StatusCode.UNKNOWN, message or "no grpc-status"))
            return
        try:
            code = StatusCode.parse(raw)
        except ValueError as exc:
            self._complete(stream, RpcError(StatusCode.INTERNAL, str(exc)))
            return
        if code != StatusCode.OK:
            self._complete(stream, RpcError(code, message))
        elif stream.message is None or stream.buf:
            self._complete(stream, RpcError(StatusCode.INTERNAL, "expected 1 response, got 0"))
        else:
            self._complete(stream, stream.message)

    def _fail(self, stream: _CallStream, error: RpcError, end_stream: bool) -> None:
        """End a call early (``_complete`` tells a server still sending to stop)."""
        self._complete(stream, error)

    @property
    def usable(self) -> bool:
        """Whether new calls can start here (a :class:`Channel` redials when not)."""
        return (
            not self.closed
            and self._goaway_last is None
            and not self._close_when_idle
            and self._next_own_stream <= MAX_STREAM_ID
        )

    def close_when_idle(self) -> None:
        """Take no new calls; close once the calls in flight have ended."""
        self._close_when_idle = True
        if not self._streams:
            self.close()

    def _complete(self, stream: _CallStream, result: bytes | RpcError, reset: bool = True) -> None:
        if self._streams.get(stream.id) is stream:
            if stream.remote_closed and stream.local_closed:
                self.close_stream(stream, ENDED)
            else:
                # One side is still open (the server answered before the whole request, or
                # we give up on its answer): RST_STREAM closes it on both ends.
                if reset and not self.closed:
                    self.write(frames.rst_stream(stream.id, ErrorCode.CANCEL))
                self.close_stream(stream, RESET_BY_US)
        # Wakes a request still waiting for window (it must stop now) and calls waiting for
        # a free stream under the peer's MAX_CONCURRENT_STREAMS.
        self._wake_senders()
        stream.local_closed = True
        if not stream.future.done():
            if isinstance(result, RpcError):
                stream.future.set_exception(result)
            else:
                stream.future.set_result(result)
        if self._close_when_idle and not self._streams:
            self.close()

    def on_stream_reset(self, stream: _CallStream, code: int, message: str, local: bool) -> None:
        if local:
            self._complete(stream, RpcError(StatusCode.INTERNAL, message))
        elif code == ErrorCode.REFUSED_STREAM and not stream.got_headers:
            self._complete(stream, RefusedStreamError(StatusCode.UNAVAILABLE, "stream refused"))
        else:
            grpc_code = _RESET_TO_GRPC.get(code, StatusCode.INTERNAL)
            self._complete(
                stream, RpcError(grpc_code, f"stream reset by the peer (HTTP/2 error {code})")
            )

    def on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        if self._goaway_last is None or last_stream_id < self._goaway_last:
            self._goaway_last = last_stream_id
        for stream in list(self._streams.values()):
            if stream.id > last_stream_id:  # never processed: another connection may take it
                self._complete(
                    stream,
                    RefusedStreamError(StatusCode.UNAVAILABLE, "server sent GOAWAY"),
                    reset=False,
                )
        self._wake_senders()  # calls waiting for a stream slot go elsewhere

    def on_close(self, exc: Exception | None) -> None:
        for stream in list(self._streams.values()):
            self._complete(stream, RpcError(StatusCode.UNAVAILABLE, "connection closed"))


async def with_deadline(
    path: str,
    timeout: float | None,  # noqa: ASYNC109
    attempt: Callable[[float | None], Awaitable[bytes]],
) -> bytes:
    """Run ``attempt(deadline)`` within ``timeout`` seconds: DEADLINE_EXCEEDED after that."""
    if timeout is None:
        return await attempt(None)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            return await attempt(deadline)
    except TimeoutError:
        raise RpcError(StatusCode.DEADLINE_EXCEEDED, f"{path}: deadline exceeded") from None


async def _connect(
    create: Callable[..., Awaitable[tuple[asyncio.BaseTransport, ClientConnection]]],
    ssl_context: ssl.SSLContext | None,
    server_hostname: str,
    limits: Limits,
) -> ClientConnection:
    _, conn = await create(
        functools.partial(ClientConnection, limits=limits),
        ssl=ssl_context,
        server_hostname=server_hostname if ssl_context else None,
        ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if ssl_context else None,
    )
    if conn.closed:  # refused in connection_made: TLS without ALPN h2
        raise ConnectionError("the TLS server did not negotiate ALPN h2")
    return conn


async def connect_unix(
    path: str,
    ssl_context: ssl.SSLContext | None = None,
    *,
    server_hostname: str = "localhost",
    limits: Limits = DEFAULT_LIMITS,
) -> ClientConnection:
    loop = asyncio.get_running_loop()
    create = functools.partial(loop.create_unix_connection, path=path)
    return await _connect(create, ssl_context, server_hostname, limits)


async def connect_tcp(
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    *,
    server_hostname: str = "localhost",
    limits: Limits = DEFAULT_LIMITS,
) -> ClientConnection:
    loop = asyncio.get_running_loop()
    create = functools.partial(loop.create_connection, host=host, port=port)
    return await _connect(create, ssl_context, server_hostname, limits)


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
    stream ids run out (days of storage calls on a busy mount). The next call then dials
    again; calls in flight on a connection that said GOAWAY finish there (it closes after the
    last), those the server will not process are retried on the new one.
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
                    conn.close_when_idle()  # calls in flight there may still succeed
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
        metadata = list(metadata)

        async def attempts(deadline: float | None) -> bytes:
            for attempt in range(TRANSPARENT_RETRIES + 1):
                conn = await self.connection()
                try:
                    return await conn.unary_once(path, payload, metadata, deadline)
                except RefusedStreamError:
                    if attempt == TRANSPARENT_RETRIES:
                        raise
            raise AssertionError("unreachable")

        return await with_deadline(path, timeout, attempts)

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

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()

    async def wait_closed(self) -> None:
        if self._conn is not None:
            await self._conn.wait_closed()
