"""The gRPC server: a method table, and the HTTP/2 server end that dispatches into it.

Beyond the HTTP/2 rules of :mod:`.connection`, each request is checked before a handler runs:

- its header section must be well formed (RFC 9113 §8.2-§8.3, see :mod:`.fields`), or the
  stream is reset with PROTOCOL_ERROR;
- beyond ``Limits.max_concurrent_streams`` open streams, new ones are refused
  (REFUSED_STREAM: the client knows nothing ran and may retry);
- ``:method`` must be POST (else HTTP 405) and ``content-type`` ``application/grpc`` or one of
  its ``+proto``/``;`` forms (else HTTP 415), as the gRPC protocol asks of servers;
- a ``grpc-encoding`` other than ``identity`` is UNIMPLEMENTED (we compress nothing), and a
  message flagged compressed is INTERNAL;
- ``grpc-timeout`` is enforced: when it passes, the handler is cancelled and the call ends
  with DEADLINE_EXCEEDED; a malformed one is INTERNAL;
- a message larger than ``Limits.max_receive_message`` is RESOURCE_EXHAUSTED as soon as its
  prefix arrives; a unary call takes exactly one message (INTERNAL otherwise); a streaming
  handler has at most ``Limits.max_queued_messages`` waiting (RESOURCE_EXHAUSTED beyond), and
  the window for them is given back as it reads them.

A call answered before the client finished sending is followed by RST_STREAM NO_ERROR (CANCEL
for a passed deadline), which tells the client to stop sending (RFC 9113 §8.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, TypeVar

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
from .status import RpcError, StatusCode, encode_message, parse_timeout

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Req_co = TypeVar("Req_co", covariant=True)
Resp = TypeVar("Resp")

TLS_HANDSHAKE_TIMEOUT = 10.0
_NEVER = float("inf")

_RESPONSE_HEADERS = encode_headers([(":status", "200"), ("content-type", "application/grpc")])
_TRAILERS_OK = encode_headers([("grpc-status", "0")])


class Message(Protocol):
    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...


class MessageType(Protocol[Req_co]):
    def FromString(self, data: bytes) -> Req_co: ...


@dataclass(slots=True)
class ServerContext:
    """What a handler may know about its call."""

    method: str
    metadata: Mapping[str, str]
    peer: str = ""
    timeout: float | None = None


class Kind(Enum):
    UNARY = "unary"
    SERVER_STREAM = "server_stream"
    BIDI_STREAM = "bidi_stream"


@dataclass(frozen=True, slots=True)
class Method:
    kind: Kind
    func: Callable[..., Any]
    decode: Callable[[bytes], Any]


UnaryHandler = Callable[[Req, ServerContext], Awaitable[Message]]
ServerStreamHandler = Callable[[Req, ServerContext], AsyncIterator[Message]]
BidiStreamHandler = Callable[[AsyncIterator[Req], ServerContext], AsyncIterator[Message]]


@dataclass
class Server:
    """Methods by full path (``/pb.Backend/HandleRequest``), served on any number of listeners."""

    methods: dict[str, Method] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    _listeners: list[asyncio.Server] = field(default_factory=list)
    _connections: set[ServerConnection] = field(default_factory=set)

    def add_unary(self, path: str, request: MessageType[Req], func: UnaryHandler[Req]) -> None:
        self.methods[path] = Method(Kind.UNARY, func, request.FromString)

    def add_server_stream(
        self, path: str, request: MessageType[Req], func: ServerStreamHandler[Req]
    ) -> None:
        self.methods[path] = Method(Kind.SERVER_STREAM, func, request.FromString)

    def add_bidi_stream(
        self, path: str, request: MessageType[Req], func: BidiStreamHandler[Req]
    ) -> None:
        self.methods[path] = Method(Kind.BIDI_STREAM, func, request.FromString)

    def _protocol(self) -> ServerConnection:
        return ServerConnection(self)

    async def listen_unix(self, path: str, ssl_context: ssl.SSLContext | None = None) -> None:
        loop = asyncio.get_running_loop()
        await self._listen(functools.partial(loop.create_unix_server, path=path), ssl_context)

    async def listen_tcp(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> int:
        """Listen on ``host:port`` (0 = any free port); returns the bound port."""
        loop = asyncio.get_running_loop()
        listener = await self._listen(
            functools.partial(loop.create_server, host=host, port=port), ssl_context
        )
        port_bound: int = listener.sockets[0].getsockname()[1]
        return port_bound

    async def _listen(
        self,
        create: Callable[..., Awaitable[asyncio.Server]],
        ssl_context: ssl.SSLContext | None,
    ) -> asyncio.Server:
        listener = await create(
            self._protocol,
            ssl=ssl_context,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if ssl_context else None,
        )
        self._listeners.append(listener)
        return listener

    async def stop(self, grace: float = 1.0) -> None:
        """Stop listening, say GOAWAY, give calls ``grace`` seconds, then close everything."""
        for listener in self._listeners:
            listener.close()
        for conn in list(self._connections):
            conn.close_gracefully()
        if self._connections:
            await asyncio.wait(
                [asyncio.ensure_future(c.wait_closed()) for c in self._connections], timeout=grace
            )
        for conn in list(self._connections):
            conn.abort_all()
        for listener in self._listeners:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), timeout=grace)
        self._listeners.clear()


class _ServerStream(StreamBase):
    __slots__ = (
        "context",
        "data_left",
        "deadline",
        "method",
        "queue",
        "request",
        "sent_headers",
        "task",
    )

    def __init__(
        self, stream_id: int, send_window: int, recv_window: int, method: Method, ctx: ServerContext
    ) -> None:
        super().__init__(stream_id, send_window, recv_window)
        self.method = method
        self.context = ctx
        self.request: bytes | None = None
        # Complete messages a streaming handler has not read, with the window they hold.
        self.queue: asyncio.Queue[tuple[bytes, int] | None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.deadline: float | None = None  # loop time when grpc-timeout runs out
        self.sent_headers = False
        self.data_left: int | None = None  # what content-length still announces


def _trailers_only(
    code: StatusCode, message: str, http_status: str = "200", extra: tuple[Header, ...] = ()
) -> bytes:
    headers: list[Header] = [
        (":status", http_status),
        ("content-type", "application/grpc"),
        ("grpc-status", str(int(code))),
        *extra,
    ]
    if message:
        headers.append(("grpc-message", encode_message(message)))
    return encode_headers(headers)


def _trailers(code: StatusCode, message: str) -> bytes:
    if code == StatusCode.OK:
        return _TRAILERS_OK
    headers: list[Header] = [("grpc-status", str(int(code)))]
    if message:
        headers.append(("grpc-message", encode_message(message)))
    return encode_headers(headers)


_UNKNOWN_METHOD = ("200", StatusCode.UNIMPLEMENTED, "unknown method")


def _refusal(
    request: fields.Request, method: Method | None, timeout: float | None
) -> tuple[str, StatusCode, str] | None:
    """Why a well-formed HTTP/2 request is no gRPC call we serve: (HTTP status, code, text)."""
    if request.method != "POST":
        return "405", StatusCode.INTERNAL, f"gRPC requires POST, not {request.method[:20]}"
    if not _is_grpc(request.content_type):
        return "415", StatusCode.INTERNAL, f"invalid content-type {request.content_type[:40]!r}"
    if request.encoding not in (None, "identity"):
        return "200", StatusCode.UNIMPLEMENTED, "no message compression is supported"
    if request.timeout is not None and timeout is None:
        return "200", StatusCode.INTERNAL, "malformed grpc-timeout"
    if method is None:
        return "200", StatusCode.UNIMPLEMENTED, f"unknown method {request.path[:200]}"
    return None


def _is_grpc(content_type: str) -> bool:
    return content_type == "application/grpc" or content_type.startswith(
        ("application/grpc+", "application/grpc;")
    )


class ServerConnection(H2Connection):
    is_client = False

    def __init__(self, server: Server) -> None:
        super().__init__(server.limits)
        self._server = server
        self._draining = False
        self._peer = ""
        self._sweep: asyncio.TimerHandle | None = None  # see _watch_deadline
        self._sweep_at = _NEVER

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.closed:
            return
        self._server._connections.add(self)
        peer = transport.get_extra_info("peername")
        self._peer = str(peer) if peer else "unix"

    def on_close(self, exc: Exception | None) -> None:
        self._server._connections.discard(self)
        self.abort_all()

    def abort_all(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for stream in list(self._streams.values()):
            self._release(stream)
        self._streams.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def close_gracefully(self) -> None:
        if not self._draining:
            self._draining = True
            if self._streams:
                # Say it now, not when the last call ends: the broker stream never ends by
                # itself, and a peer that knows opens no new streams here.
                self.write(frames.goaway(self._last_accepted, ErrorCode.NO_ERROR))
        if not self._streams:
            self.close()

    # -- incoming ------------------------------------------------------------------------
    def on_new_stream(self, stream_id: int, headers: list[Header], end_stream: bool) -> None:
        if self._draining or len(self._streams) >= self.limits.max_concurrent_streams:
            # Past our GOAWAY's last stream id (which must not grow) or our advertised
            # MAX_CONCURRENT_STREAMS: refused, so the client knows nothing ran.
            self.reply(frames.rst_stream(stream_id, ErrorCode.REFUSED_STREAM))
            self._remember(stream_id, RESET_BY_US)
            return
        try:
            request = fields.parse_request(headers)
        except fields.MalformedError as exc:
            message = f"malformed request: {exc}"
            raise StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, message) from None
        if end_stream and request.content_length:
            raise StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, "no DATA for content-length")
        self._last_accepted = stream_id
        method = self._server.methods.get(request.path)
        timeout = None if request.timeout is None else parse_timeout(request.timeout)
        refusal = _refusal(request, method, timeout)
        if refusal is not None or method is None:
            self._refuse(stream_id, end_stream, *(refusal or _UNKNOWN_METHOD))
            return
        context = ServerContext(request.path, request.metadata, self._peer, timeout)
        stream = _ServerStream(
            stream_id, self.peer_initial_window, self.limits.stream_window, method, context
        )
        stream.data_left = request.content_length
        self._streams[stream_id] = stream
        if timeout is not None:
            self._watch_deadline(stream, timeout)
        if method.kind is Kind.BIDI_STREAM:
            stream.queue = asyncio.Queue()
            stream.task = self._loop.create_task(self._run_stream(stream, self._iter_queue(stream)))
        if end_stream:
            stream.remote_closed = True
            self._request_ended(stream)

    def _refuse(
        self, stream_id: int, end_stream: bool, http_status: str, code: StatusCode, message: str
    ) -> None:
        """Answer a request no handler will see, in one trailers-only response."""
        extra: tuple[Header, ...] = ()
        if code == StatusCode.UNIMPLEMENTED and not message.startswith("unknown"):
            extra = (("grpc-accept-encoding", "identity"),)
        block = _trailers_only(code, message, http_status, extra)
        self.reply(self.headers_frames(stream_id, block, True))
        if end_stream:
            self._remember(stream_id, ENDED)
        else:
            self.reply(frames.rst_stream(stream_id, ErrorCode.NO_ERROR))
            self._remember(stream_id, RESET_BY_US)

    def on_headers(self, stream: _ServerStream, headers: list[Header], end_stream: bool) -> None:
        # Only trailers can follow the request headers, and they end the stream (§8.1).
        if not end_stream:
            raise StreamError(stream.id, ErrorCode.PROTOCOL_ERROR, "HEADERS inside a request")
        try:
            fields.parse_trailers(headers)
        except fields.MalformedError as exc:
            message = f"malformed trailers: {exc}"
            raise StreamError(stream.id, ErrorCode.PROTOCOL_ERROR, message) from None
        if stream.data_left:
            raise StreamError(stream.id, ErrorCode.PROTOCOL_ERROR, "less DATA than content-length")
        stream.remote_closed = True
        self._request_ended(stream)

    def on_data(self, stream: _ServerStream, data: bytes, size: int, end_stream: bool) -> None:
        if stream.data_left is not None:
            stream.data_left -= len(data)
            if stream.data_left < 0 or (end_stream and stream.data_left):
                raise StreamError(
                    stream.id, ErrorCode.PROTOCOL_ERROR, "DATA does not match content-length"
                )
        queue = stream.queue
        if queue is None:
            # A unary or server-streaming request: taken as it arrives (it is one message).
            self.credit(stream, size)
            if data:
                try:
                    messages = stream.take_messages(data, self.limits.max_receive_message)
                except MessageError as exc:
                    self._refused_message(stream, exc)
                    return
                if messages:
                    if stream.request is not None or len(messages) > 1:
                        self._end(stream, StatusCode.INTERNAL, "expected 1 request message, got 2")
                        return
                    stream.request = messages[0]
            if end_stream:
                self._request_ended(stream)
            return
        self._queue_messages(stream, queue, data, size)
        if end_stream and stream.id in self._streams:
            self._request_ended(stream)

    def _queue_messages(
        self,
        stream: _ServerStream,
        queue: asyncio.Queue[tuple[bytes, int] | None],
        data: bytes,
        size: int,
    ) -> None:
        """Hand complete messages to a streaming handler; their window comes back as it reads."""
        before = len(stream.buf)
        self.credit(stream, size - len(data))  # padding
        try:
            messages = stream.take_messages(data, self.limits.max_receive_message)
        except MessageError as exc:
            self._refused_message(stream, exc)
            return
        if not messages:
            self.credit(stream, len(data))  # the start of a message, taken into its buffer
            return
        if queue.qsize() + len(messages) > self.limits.max_queued_messages:
            self._end(
                stream,
                StatusCode.RESOURCE_EXHAUSTED,
                f"more than {self.limits.max_queued_messages} request messages waiting",
            )
            return
        self.credit(stream, len(stream.buf))  # what already belongs to the next message
        for i, message in enumerate(messages):
            # Octets of the first message that came before were credited as they came.
            queue.put_nowait((message, 5 + len(message) - (before if i == 0 else 0)))

    def on_stream_reset(self, stream: _ServerStream, code: int, message: str, local: bool) -> None:
        stream.local_closed = True  # nothing more may be written on it
        self._release(stream)
        self._maybe_finish_draining()

    def _request_ended(self, stream: _ServerStream) -> None:
        if stream.buf:
            self._end(stream, StatusCode.INTERNAL, "request ended inside a gRPC message")
            return
        if stream.queue is not None:
            stream.queue.put_nowait(None)
            return
        if stream.request is None:
            self._end(stream, StatusCode.INTERNAL, "expected 1 request message, got 0")
            return
        run = self._run_unary if stream.method.kind is Kind.UNARY else self._run_stream
        stream.task = self._loop.create_task(run(stream, stream.request))

    def _refused_message(self, stream: _ServerStream, exc: MessageError) -> None:
        code = StatusCode.RESOURCE_EXHAUSTED if exc.too_large else StatusCode.INTERNAL
        self._end(stream, code, str(exc))

    def _watch_deadline(self, stream: _ServerStream, timeout: float) -> None:
        """Enforce ``grpc-timeout``: one timer per connection, set for the nearest deadline.

        Calls usually end long before their deadline (the host sends 90 s), so a timer per
        call would mostly be armed and cancelled for nothing; this costs a comparison.
        """
        deadline = self._loop.time() + timeout
        stream.deadline = deadline
        if deadline < self._sweep_at:
            if self._sweep is not None:
                self._sweep.cancel()
            self._sweep_at = deadline
            self._sweep = self._loop.call_at(deadline, self._expire_deadlines)

    def _expire_deadlines(self) -> None:
        self._sweep = None
        self._sweep_at = _NEVER
        now = self._loop.time()
        nearest = _NEVER
        for stream in list(self._streams.values()):
            deadline = stream.deadline
            if deadline is None:
                continue
            if deadline <= now:
                message = "deadline exceeded"
                self._end(stream, StatusCode.DEADLINE_EXCEEDED, message, ErrorCode.CANCEL)
            elif deadline < nearest:
                nearest = deadline
        if nearest < _NEVER:
            self._sweep_at = nearest
            self._sweep = self._loop.call_at(nearest, self._expire_deadlines)

    # -- outgoing ------------------------------------------------------------------------
    def _end(
        self,
        stream: _ServerStream,
        code: StatusCode,
        message: str,
        rst: ErrorCode = ErrorCode.NO_ERROR,
        *,
        by_handler: bool = False,
    ) -> None:
        """Finish a call: its status (unless written already), and a reset if the client is
        still sending. The handler is cancelled unless it is the one finishing."""
        if self._streams.get(stream.id) is not stream:
            return  # reset, timed out or aborted already
        out = self.write if self._batch is None else self.reply
        if not stream.local_closed:
            stream.local_closed = True
            ending = _trailers if stream.sent_headers else _trailers_only
            block = ending(code, message)
            out(self.headers_frames(stream.id, block, True))
        if stream.remote_closed:
            self.close_stream(stream, ENDED)
        else:
            out(frames.rst_stream(stream.id, rst))
            self.close_stream(stream, RESET_BY_US)
        if not by_handler:
            self._release(stream)
        if self._draining:
            self._maybe_finish_draining()

    def _release(self, stream: _ServerStream) -> None:
        task = stream.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    def _maybe_finish_draining(self) -> None:
        if self._draining and not self._streams:
            self.close()

    async def _iter_queue(self, stream: _ServerStream) -> AsyncIterator[Any]:
        assert stream.queue is not None
        queue = stream.queue
        decode = stream.method.decode
        while (item := await queue.get()) is not None:
            message, owed = item
            self.credit(stream, owed)
            yield decode(message)

    async def _run_unary(self, stream: _ServerStream, request: bytes) -> None:
        method = stream.method
        try:
            response = await method.func(method.decode(request), stream.context)
            payload = frame_message(response.SerializeToString())
        except RpcError as exc:
            self._end(stream, exc.code, exc.message, by_handler=True)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unhandled error in %s", stream.context.method)
            self._end(stream, StatusCode.INTERNAL, "internal error in the plugin", by_handler=True)
            return
        if self._write_paused:
            await self.wait_writable()
        if stream.local_closed or self.closed:
            return
        if self.fits_window(stream, len(payload)):
            self.write(
                self.headers_frames(stream.id, _RESPONSE_HEADERS, False)
                + self.data_frame_now(stream, payload, False)
                + self.headers_frames(stream.id, _TRAILERS_OK, True)
            )
            stream.local_closed = True
            self._end(stream, StatusCode.OK, "", by_handler=True)
            return
        self.write(self.headers_frames(stream.id, _RESPONSE_HEADERS, False))
        stream.sent_headers = True
        try:
            await self.send_data(stream, payload, False)
        except ConnectionResetError:
            return
        self._end(stream, StatusCode.OK, "", by_handler=True)

    async def _run_stream(self, stream: _ServerStream, request: Any) -> None:
        method = stream.method
        try:
            arg = method.decode(request) if isinstance(request, bytes) else request
            async for response in method.func(arg, stream.context):
                if not stream.sent_headers:
                    await self.wait_writable()
                    if stream.local_closed or self.closed:
                        return
                    self.write(self.headers_frames(stream.id, _RESPONSE_HEADERS, False))
                    stream.sent_headers = True
                await self.send_data(stream, frame_message(response.SerializeToString()), False)
        except RpcError as exc:
            self._end(stream, exc.code, exc.message, by_handler=True)
            return
        except asyncio.CancelledError:
            raise
        except ConnectionResetError:  # the stream or the connection ended under us
            return
        except Exception:
            log.exception("unhandled error in %s", stream.context.method)
            self._end(stream, StatusCode.INTERNAL, "internal error in the plugin", by_handler=True)
            return
        self._end(stream, StatusCode.OK, "", by_handler=True)
