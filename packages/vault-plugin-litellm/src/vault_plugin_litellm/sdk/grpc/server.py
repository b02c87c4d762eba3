"""The gRPC server: a method table, and the HTTP/2 server end that dispatches into it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, TypeVar

from . import frames
from .connection import H2Connection, StreamBase, frame_message
from .frames import ErrorCode
from .hpack import Header, encode_headers
from .status import RpcError, StatusCode, encode_message, parse_timeout

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Req_co = TypeVar("Req_co", covariant=True)
Resp = TypeVar("Resp")

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
        listener = await loop.create_unix_server(
            self._protocol, path, ssl=ssl_context, ssl_handshake_timeout=10 if ssl_context else None
        )
        self._listeners.append(listener)

    async def listen_tcp(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> int:
        """Listen on ``host:port`` (0 = any free port); returns the bound port."""
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(
            self._protocol,
            host,
            port,
            ssl=ssl_context,
            ssl_handshake_timeout=10 if ssl_context else None,
        )
        self._listeners.append(listener)
        port_bound: int = listener.sockets[0].getsockname()[1]
        return port_bound

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
    __slots__ = ("context", "method", "queue", "requests", "task")

    def __init__(self, stream_id: int, send_window: int, method: Method, context: ServerContext):
        super().__init__(stream_id, send_window)
        self.method = method
        self.context = context
        self.requests: list[bytes] = []
        self.queue: asyncio.Queue[bytes | None] | None = None
        self.task: asyncio.Task[None] | None = None


def _trailers_only(code: StatusCode, message: str) -> bytes:
    headers: list[Header] = [
        (":status", "200"),
        ("content-type", "application/grpc"),
        ("grpc-status", str(int(code))),
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


class ServerConnection(H2Connection):
    is_client = False

    def __init__(self, server: Server) -> None:
        super().__init__()
        self._server = server
        self._last_stream = 0
        self._draining = False
        self._peer = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server._connections.add(self)
        peer = transport.get_extra_info("peername")
        self._peer = str(peer) if peer else "unix"

    def on_close(self, exc: Exception | None) -> None:
        self._server._connections.discard(self)
        self.abort_all()

    def abort_all(self) -> None:
        for stream in list(self._streams.values()):
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def close_gracefully(self) -> None:
        if not self._draining:
            self._draining = True
            if self._streams:
                # Say it now, not when the last call ends: the broker stream never ends by
                # itself, and a peer that knows opens no new streams here.
                self.write(frames.goaway(self._last_stream, ErrorCode.NO_ERROR))
        if not self._streams:
            self.close()

    def last_peer_stream(self) -> int:
        return self._last_stream

    # -- incoming ------------------------------------------------------------------------
    def on_headers(self, stream_id: int, headers: list[Header], end_stream: bool) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:  # trailers from the client: only END_STREAM matters
            if end_stream:
                stream.remote_closed = True
                self.on_data(stream, True)
            return
        if stream_id <= self._last_stream or not stream_id & 1:
            return  # a closed or invalid stream id: nothing to answer
        if self._draining:
            # Above the last stream id of our GOAWAY, which must not grow: refused, so the
            # client knows nothing ran and may retry elsewhere.
            self.write(frames.rst_stream(stream_id, ErrorCode.REFUSED_STREAM))
            return
        self._last_stream = stream_id
        path = ""
        metadata: dict[str, str] = {}
        timeout = None
        for name, value in headers:
            if name.startswith(":"):  # an empty name is legal HPACK, so no name[0]
                if name == ":path":
                    path = value
            elif name == "grpc-timeout":
                timeout = parse_timeout(value)
            elif name not in ("content-type", "te", "user-agent", "grpc-accept-encoding"):
                metadata[name] = value
        method = self._server.methods.get(path)
        if method is None:
            block = _trailers_only(StatusCode.UNIMPLEMENTED, f"unknown method {path}")
            self.write(self.headers_frames(stream_id, block, True))
            return
        context = ServerContext(path, metadata, self._peer, timeout)
        stream = _ServerStream(stream_id, self.peer_initial_window, method, context)
        self._streams[stream_id] = stream
        if method.kind is Kind.BIDI_STREAM:
            stream.queue = asyncio.Queue()
            stream.task = self._loop.create_task(self._run_stream(stream, self._iter_queue(stream)))
        if end_stream:
            stream.remote_closed = True
            self.on_data(stream, True)

    def on_data(self, stream: _ServerStream, end_stream: bool) -> None:
        if stream.task is not None and stream.queue is None:
            return  # the request was complete: a second END_STREAM must not run it again
        try:
            messages = stream.take_messages()
        except ValueError as exc:
            if stream.task is not None:  # a bidi handler would wait for more forever
                stream.task.cancel()
            self._fail_stream(stream, StatusCode.UNIMPLEMENTED, str(exc))
            return
        if stream.queue is not None:
            for message in messages:
                stream.queue.put_nowait(message)
            if end_stream:
                stream.queue.put_nowait(None)
            return
        stream.requests.extend(messages)
        if not end_stream:
            return
        if len(stream.requests) != 1:
            self._fail_stream(
                stream,
                StatusCode.INTERNAL,
                f"expected 1 request message, got {len(stream.requests)}",
            )
            return
        request = stream.requests[0]
        if stream.method.kind is Kind.UNARY:
            stream.task = self._loop.create_task(self._run_unary(stream, request))
        else:
            stream.task = self._loop.create_task(self._run_stream(stream, request))

    def on_stream_reset(self, stream: _ServerStream, code: int) -> None:
        stream.local_closed = True
        if stream.task is not None:
            stream.task.cancel()

    # -- outgoing ------------------------------------------------------------------------
    def _fail_stream(self, stream: _ServerStream, code: StatusCode, message: str) -> None:
        self._streams.pop(stream.id, None)
        if not stream.local_closed:
            stream.local_closed = True
            self.write(self.headers_frames(stream.id, _trailers_only(code, message), True))
        self._maybe_finish_draining()

    def _finish(self, stream: _ServerStream, code: StatusCode, message: str, sent: bool) -> None:
        self._streams.pop(stream.id, None)
        if stream.local_closed:
            return
        stream.local_closed = True
        block = _trailers(code, message) if sent else _trailers_only(code, message)
        self.write(self.headers_frames(stream.id, block, True))
        self._maybe_finish_draining()

    def _maybe_finish_draining(self) -> None:
        if self._draining and not self._streams:
            self.close()

    async def _iter_queue(self, stream: _ServerStream) -> AsyncIterator[Any]:
        assert stream.queue is not None
        decode = stream.method.decode
        while (item := await stream.queue.get()) is not None:
            yield decode(item)

    async def _run_unary(self, stream: _ServerStream, request: bytes) -> None:
        method = stream.method
        try:
            response = await method.func(method.decode(request), stream.context)
            payload = frame_message(response.SerializeToString())
        except RpcError as exc:
            self._fail_stream(stream, exc.code, exc.message)
            return
        except asyncio.CancelledError:
            self._streams.pop(stream.id, None)
            raise
        except Exception:
            log.exception("unhandled error in %s", stream.context.method)
            self._fail_stream(stream, StatusCode.INTERNAL, "internal error in the plugin")
            return
        if stream.local_closed or self.closed:
            self._streams.pop(stream.id, None)
            return
        if len(payload) <= self.peer_max_frame and self.fits_window(stream, len(payload)):
            self._streams.pop(stream.id, None)
            self.write(
                self.headers_frames(stream.id, _RESPONSE_HEADERS, False)
                + self.data_frame_now(stream, payload, False)
                + self.headers_frames(stream.id, _TRAILERS_OK, True)
            )
            stream.local_closed = True
            self._maybe_finish_draining()
            return
        self.write(self.headers_frames(stream.id, _RESPONSE_HEADERS, False))
        try:
            await self.send_data(stream, payload, False)
        except ConnectionResetError:
            self._streams.pop(stream.id, None)
            return
        self._finish(stream, StatusCode.OK, "", True)

    async def _run_stream(self, stream: _ServerStream, request: Any) -> None:
        method = stream.method
        sent = False
        try:
            arg = method.decode(request) if isinstance(request, bytes) else request
            async for response in method.func(arg, stream.context):
                if not sent:
                    self.write(self.headers_frames(stream.id, _RESPONSE_HEADERS, False))
                    sent = True
                await self.send_data(stream, frame_message(response.SerializeToString()), False)
        except RpcError as exc:
            self._finish(stream, exc.code, exc.message, sent)
            return
        except asyncio.CancelledError:
            self._streams.pop(stream.id, None)
            raise
        except ConnectionResetError:
            self._streams.pop(stream.id, None)
            return
        except Exception:
            log.exception("unhandled error in %s", stream.context.method)
            self._finish(stream, StatusCode.INTERNAL, "internal error in the plugin", sent)
            return
        self._finish(stream, StatusCode.OK, "", sent)
