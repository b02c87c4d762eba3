"""A fault-injecting HTTP forwarder for the end-to-end tests.

It listens on 127.0.0.1 in front of a LiteLLM proxy, passes every request on, and can be
switched at run time, route by route, to:

- hold an answer (the proxy has done the work, the caller does not hear of it yet), or hold the
  request itself before the proxy sees it;
- answer garbage: an HTML page, truncated JSON, or a 200 whose JSON has the wrong shape, either
  in place of the proxy's answer (the proxy did the work) or without asking the proxy at all;
- be down: the port is closed (connections are refused) and open connections are dropped.

    with Forwarder("http://127.0.0.1:4000") as proxy:
        proxy.delay("/key/generate", 30)   # the key is created; its answer is held
        ...
        proxy.clear()                      # held answers go out now

Everything is bounded: bodies and client connections (:data:`MAX_BODY`, :data:`MAX_CONNECTIONS`
or less), holds (:data:`MAX_DELAY`, and :meth:`Forwarder.clear` ends them early), upstream calls
(:data:`UPSTREAM_TIMEOUT`), and :meth:`Forwarder.stop` waits for its threads at most
:data:`STOP_TIMEOUT`. It also records the tokens of the keys it saw created, so a test can name
the key of a mint whose answer never arrived.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

MAX_BODY = 1 << 20
MAX_CONNECTIONS = 64
MAX_DELAY = 120.0
UPSTREAM_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
ANY_ROUTE = "*"

GarbageKind = Literal["html", "truncated", "wrong_shape"]
GARBAGE_KINDS: tuple[GarbageKind, ...] = ("html", "truncated", "wrong_shape")

# Headers that belong to one connection, or that this forwarder sets itself.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",
    }
)
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b'<body><h1>Please sign in</h1><form method="post"><input name="user"></form></body></html>\n'
)
WRONG_SHAPE = b'{"status": "ok", "result": [1, 2, 3]}'
UNREACHABLE = b'{"detail": "the forwarder could not reach the proxy"}'


@dataclass(frozen=True, slots=True)
class Delay:
    seconds: float
    before: bool  # hold the request before the proxy sees it (else: hold the proxy's answer)


@dataclass(frozen=True, slots=True)
class Garbage:
    kind: GarbageKind
    forward: bool  # the proxy gets the request and its answer is replaced (else: not asked)


Fault = Delay | Garbage


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Forwarder:
    """The forwarder; :meth:`start` it (or use ``with``), switch faults, :meth:`stop` it."""

    def __init__(
        self,
        upstream: str,
        *,
        port: int = 0,
        max_connections: int = MAX_CONNECTIONS,
        max_body: int = MAX_BODY,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"upstream: expected an http(s) URL, got {upstream!r}")
        if not 1 <= max_connections <= MAX_CONNECTIONS or not 0 <= max_body <= MAX_BODY:
            raise ValueError(
                f"limits: max_connections 1 to {MAX_CONNECTIONS}, max_body 0 to {MAX_BODY} bytes"
            )
        self.upstream = upstream.rstrip("/")
        self.max_connections = max_connections
        self.max_body = max_body
        self._port = port
        self._cond = threading.Condition()
        self._faults: dict[str, Fault] = {}
        self._epoch = 0  # bumped by clear(), down() and stop(): ends the holds begun before
        self._down = False
        self._stopped = True
        self._server: _Server | None = None
        self._serving: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._seen: collections.Counter[str] = collections.Counter()
        self._forwarded: collections.Counter[str] = collections.Counter()
        self._completed: collections.Counter[str] = collections.Counter()
        self._holding: collections.Counter[str] = collections.Counter()
        self._held_mints: collections.Counter[str] = collections.Counter()
        self._minted: list[str] = []
        self._client: httpx.Client | None = None

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the forwarder has not been started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Forwarder:
        with self._cond:
            if not self._stopped:
                raise RuntimeError("the forwarder is already running")
            self._stopped = False
            self._down = False
        self._client = httpx.Client(
            base_url=self.upstream,
            timeout=UPSTREAM_TIMEOUT,
            limits=httpx.Limits(max_connections=self.max_connections),
        )
        self._listen()
        return self

    def stop(self) -> None:
        """Close the port and every connection, end holds, and wait for the threads."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._epoch += 1
            self._cond.notify_all()
        self._close_port()
        self._drop_connections()
        deadline = time.monotonic() + STOP_TIMEOUT
        for thread in self._snapshot_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Forwarder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- switching faults ---------------------------------------------------------------------

    def delay(self, routes: str | Iterable[str], seconds: float, *, before: bool = False) -> None:
        """Hold the answers of ``routes`` for ``seconds`` (or until :meth:`clear`); with
        ``before``, hold the requests before the proxy sees them instead."""
        if not 0 < seconds <= MAX_DELAY:
            raise ValueError(
                f"seconds: expected more than 0 and at most {MAX_DELAY}, got {seconds}"
            )
        self._set(routes, Delay(seconds, before))

    def garbage(
        self, routes: str | Iterable[str], kind: GarbageKind, *, forward: bool = True
    ) -> None:
        """Answer ``kind`` garbage on ``routes``; ``forward=False`` does not ask the proxy."""
        if kind not in GARBAGE_KINDS:
            raise ValueError(f"kind: expected one of {GARBAGE_KINDS}, got {kind!r}")
        self._set(routes, Garbage(kind, forward))

    def clear(self) -> None:
        """No faults from now on; held requests and answers go on at once."""
        with self._cond:
            self._faults.clear()
            self._epoch += 1
            self._cond.notify_all()

    def down(self) -> None:
        """Refuse connections (the port is closed) and drop the open ones, held ones included."""
        with self._cond:
            if self._stopped or self._down:
                return
            self._down = True
            self._epoch += 1
            self._cond.notify_all()
        self._close_port()
        self._drop_connections()

    def up(self) -> None:
        """Listen again, on the same port."""
        with self._cond:
            if self._stopped or not self._down:
                return
            self._down = False
        self._listen()

    # -- what happened --------------------------------------------------------------------------

    def seen(self, route: str) -> int:
        """Requests for ``route`` received so far."""
        with self._cond:
            return self._seen[route]

    def forwarded(self, route: str) -> int:
        """Requests for ``route`` passed to the proxy so far."""
        with self._cond:
            return self._forwarded[route]

    def completed(self, route: str) -> int:
        """Requests for ``route`` the proxy has answered so far (or failed to)."""
        with self._cond:
            return self._completed[route]

    def holding(self, route: str) -> int:
        """Requests or answers of ``route`` held right now."""
        with self._cond:
            return self._holding[route]

    def wait_holding(self, route: str, count: int = 1, timeout: float = 30) -> bool:
        """Wait until at least ``count`` requests or answers of ``route`` are held."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._holding[route] < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    @property
    def minted(self) -> list[str]:
        """Tokens (sha256) of the raw keys sent to the proxy's ``/key/generate``, in order."""
        with self._cond:
            return list(self._minted)

    def held_mints(self) -> list[str]:
        """Tokens of the ``/key/generate`` requests (or answers) held right now."""
        with self._cond:
            return sorted(self._held_mints.elements())

    # -- the handler's side ---------------------------------------------------------------------

    def _set(self, routes: str | Iterable[str], fault: Fault) -> None:
        names = [routes] if isinstance(routes, str) else list(routes)
        if not names or not all(n == ANY_ROUTE or n.startswith("/") for n in names):
            raise ValueError(f"routes: expected paths such as /key/generate, got {names!r}")
        with self._cond:
            for name in names:
                self._faults[name] = fault

    def _arrive(self, route: str) -> tuple[Fault | None, bool]:
        """The fault for a request that just arrived, and whether it may be answered at all."""
        with self._cond:
            self._seen[route] += 1
            fault = self._faults.get(route, self._faults.get(ANY_ROUTE))
            return fault, not (self._down or self._stopped)

    def _hold(self, route: str, seconds: float, mint: str | None) -> bool:
        """Hold for ``seconds`` or until the faults change; False if the forwarder went down."""
        deadline = time.monotonic() + seconds
        with self._cond:
            epoch = self._epoch
            self._holding[route] += 1
            if mint is not None:
                self._held_mints[mint] += 1
            self._cond.notify_all()
            try:
                while self._epoch == epoch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            finally:
                self._holding[route] -= 1
                if mint is not None:
                    self._held_mints[mint] -= 1
            return not (self._down or self._stopped)

    def _forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> _Answer:
        route = urlsplit(target).path
        with self._cond:
            self._forwarded[route] += 1
            if route == "/key/generate" and (token := mint_token(body)) is not None:
                self._minted.append(token)
            client = self._client
        if client is None:
            return _Answer(502, [("Content-Type", "application/json")], UNREACHABLE)
        sent = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        sent.append(("Accept-Encoding", "identity"))  # bytes it can truncate meaningfully
        try:
            response = client.request(method, target, headers=sent, content=body)
        except httpx.HTTPError:
            return _Answer(502, [("Content-Type", "application/json")], UNREACHABLE)
        finally:
            with self._cond:
                self._completed[route] += 1
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        return _Answer(response.status_code, kept, response.content)

    # -- sockets ----------------------------------------------------------------------------------

    def _listen(self) -> None:
        server = _Server(("127.0.0.1", self._port), _Handler, self)
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"forwarder-{self._port}",
            daemon=True,
        )
        with self._cond:
            self._server, self._serving = server, thread
        thread.start()

    def _close_port(self) -> None:
        with self._cond:
            server, thread = self._server, self._serving
            self._server = self._serving = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(STOP_TIMEOUT)

    def _drop_connections(self) -> None:
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)

    def _admit(self, conn: socket.socket) -> bool:
        with self._cond:
            if self._down or self._stopped or len(self._connections) >= self.max_connections:
                return False
            self._connections.add(conn)
            return True

    def _release(self, conn: socket.socket) -> None:
        with self._cond:
            self._connections.discard(conn)
            self._threads.discard(threading.current_thread())

    def _track(self, thread: threading.Thread) -> None:
        with self._cond:
            self._threads.add(thread)

    def _snapshot_threads(self) -> list[threading.Thread]:
        with self._cond:
            return list(self._threads)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # the forwarder joins its own threads, with a bound
    allow_reuse_address = True  # up() binds the same port again at once

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: Forwarder,
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        conn: socket.socket = request
        if not self.owner._admit(conn):
            self.shutdown_request(conn)
            return
        thread = threading.Thread(
            target=self._serve_connection,
            args=(conn, client_address),
            name=f"forwarder-{self.server_address[1]}-connection",
            daemon=True,
        )
        self.owner._track(thread)
        thread.start()

    def _serve_connection(self, conn: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(conn, client_address)
        except OSError:
            pass  # the client, or down(), closed the connection
        finally:
            self.owner._release(conn)
            self.shutdown_request(conn)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests' output is not the place for an access log

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _relay(self) -> None:
        owner = self.server.owner
        route = urlsplit(self.path).path
        fault, open_ = owner._arrive(route)
        if not open_:
            self.close_connection = True
            return
        body = self._read_body()
        if body is None:
            return
        mint = mint_token(body) if route == "/key/generate" else None
        delay = fault if isinstance(fault, Delay) else None
        if delay is not None and delay.before and not owner._hold(route, delay.seconds, mint):
            self.close_connection = True  # went down while holding: no answer at all
            return
        headers = [(k, v) for k, v in self.headers.items()]
        if isinstance(fault, Garbage) and not fault.forward:
            answer = _garbage(fault.kind, None)
        else:
            answer = owner._forward(self.command, self.path, headers, body)
        if delay is not None and not delay.before and not owner._hold(route, delay.seconds, mint):
            self.close_connection = True
            return
        if isinstance(fault, Garbage):
            answer = _garbage(fault.kind, answer)
        self._answer(answer)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._answer(_Answer(501, [], b"chunked request bodies are not supported"))
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        limit = self.server.owner.max_body
        if not 0 <= length <= limit:
            self._answer(_Answer(413, [], f"bodies of 0 to {limit} bytes only".encode()))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _answer(self, answer: _Answer) -> None:
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the caller gave up (or was killed) meanwhile


def mint_token(body: bytes) -> str | None:
    """The token (sha256) of the raw key a ``/key/generate`` body carries, if any."""
    try:
        sent: Any = json.loads(body)
    except ValueError:
        return None
    raw = sent.get("key") if isinstance(sent, dict) else None
    if isinstance(raw, str) and raw.startswith("sk-"):
        return hashlib.sha256(raw.encode()).hexdigest()
    return None


def _garbage(kind: GarbageKind, real: _Answer | None) -> _Answer:
    if kind == "html":
        return _Answer(200, [("Content-Type", "text/html; charset=utf-8")], HTML_PAGE)
    if kind == "wrong_shape":
        return _Answer(200, [("Content-Type", "application/json")], WRONG_SHAPE)
    whole = real.body if real is not None and len(real.body) > 1 else WRONG_SHAPE
    status = real.status if real is not None else 200
    return _Answer(status, [("Content-Type", "application/json")], whole[: len(whole) // 2])
