"""The HTTP server: routing, body parsing in the proxy's order, and :class:`StandIn`.

Management routes parse the body as FastAPI does before anything else (bad JSON is a 422, JSON
that is not an object a 500), then authenticate, then validate the body against the route's
model. Request lines are never logged with their query string: it may hold a raw key.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from tests.support.litellm_standin import chat, keys
from tests.support.litellm_standin.auth import Caller, authenticate
from tests.support.litellm_standin.context import DEFAULT_MODELS, Context, Model, Request, Response
from tests.support.litellm_standin.errors import (
    NotModelled,
    StandInError,
    ValidationFailure,
)
from tests.support.litellm_standin.store import utc_now

log = logging.getLogger("tests.support.litellm_standin")

# The LiteLLM releases whose behaviour is modelled; 1.106.12 is the one the client is written for.
VERSIONS = ("1.106.12", "1.108.5")
MAX_BODY = 1 << 20  # far above anything the client sends; the stand-in holds bodies in memory

Handler = Callable[[Context, Caller, Request], Response]
_MANAGEMENT: Mapping[tuple[str, str], Handler] = {
    ("POST", "/key/generate"): keys.generate,
    ("POST", "/key/update"): keys.update,
    ("POST", "/key/delete"): keys.delete,
    ("POST", "/key/block"): lambda c, who, r: keys.set_blocked(c, who, r, blocked=True),
    ("POST", "/key/unblock"): lambda c, who, r: keys.set_blocked(c, who, r, blocked=False),
    ("POST", "/key/regenerate"): keys.regenerate,
    ("POST", "/key/bulk_update"): keys.bulk_update,
    ("POST", "/user/new"): keys.new_user,
    ("GET", "/key/info"): keys.info,
    ("GET", "/key/list"): keys.list_keys,
}
_HEALTH: Mapping[str, object] = {
    "/health/liveliness": "I'm alive!",
    "/health/readiness": {"status": "healthy", "db": "connected"},
}


def _json_body(raw: bytes, headers: Mapping[str, str]) -> Any:
    """The body as FastAPI hands it over, or the error it fails with before auth runs."""
    if not raw:
        return None
    media = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if media and "json" not in media.split(";", 1)[0].lower():
        raise NotModelled(f"a body of type {media!r}")
    try:
        parsed = json.loads(raw)
    except UnicodeDecodeError:
        raise NotModelled("a body that is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValidationFailure(
            [{"type": "json_invalid", "loc": ["body", exc.pos], "msg": "JSON decode error"}]
        ) from None
    if not isinstance(parsed, dict):
        # The proxy's auth layer reads the body as a dict and crashes on anything else.
        raise StandInError()
    return parsed


def dispatch(
    ctx: Context, method: str, target: str, headers: Mapping[str, str], raw: bytes
) -> Response:
    """Answer one request; every failure becomes the proxy's error response."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    with ctx.store.lock:
        ctx.store.flush(utc_now())
    try:
        if method == "GET" and path in _HEALTH:
            return Response(200, _HEALTH[path])
        if method == "POST" and path == chat.ROUTE:
            request = Request(path, {}, headers, _json_body(raw, headers))
            return chat.chat_completions(ctx, request)
        handler = _MANAGEMENT.get((method, path))
        if handler is None:
            raise NotModelled(f"{method} {path}")
        body = _json_body(raw, headers) if method == "POST" else None
        request = Request(path, parse_qs(parts.query, keep_blank_values=True), headers, body)
        with ctx.store.lock:
            caller = authenticate(ctx.store, ctx.master_key, ctx.version, headers, path)
        return handler(ctx, caller, request)
    except StandInError as error:
        return Response(error.status, error.body, error.headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each answer waits ~40 ms on
    # the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        try:
            response = self._respond()
            payload = _encode(response.body)
        except Exception as exc:
            # A bug in the stand-in: answered as the proxy answers unhandled errors, logged
            # with where it failed but not the exception's text (it may quote a raw key).
            frames = traceback.extract_tb(sys.exc_info()[2])[-8:]
            where = "".join(f"  {f.filename}:{f.lineno} in {f.name}\n" for f in frames)
            log.error(
                "unhandled %s on %s %s\n%s", type(exc).__name__, self.command, self._path(), where
            )
            response = Response(500, StandInError().body)
            payload = _encode(response.body)
        self.send_response(response.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _respond(self) -> Response:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            # Refused unread, and the connection closed: the body is still on it.
            self.close_connection = True
            refusal = NotModelled(f"a body over {MAX_BODY} bytes")
            return Response(refusal.status, refusal.body)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = dict(self.headers.items())
        return dispatch(self.server.context, self.command, self.path, headers, raw)

    def _path(self) -> str:
        return urlsplit(self.path).path

    def log_message(self, format: str, *args: Any) -> None:
        # The default line includes the query string; /key/info?key=sk-... would leak a raw key.
        log.debug("%s %s", self.command, self._path())


def _encode(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        self.context = context
        super().__init__(address, _Handler)


class StandIn:
    """An in-process LiteLLM proxy with in-memory state, on 127.0.0.1.

    ``with StandIn() as proxy: ... proxy.url ... proxy.master_key``. ``port=0`` picks a free port;
    without ``master_key`` a random one is made. ``version`` picks which release's answers to
    give where they differ (see :data:`VERSIONS`). ``spend_write_interval`` is how long an LLM
    call's cost takes to show in ``spend`` (the proxy's batch writes; budgets count it at once).
    ``disable_custom_api_keys`` acts as ``general_settings.disable_custom_api_keys``.
    """

    def __init__(
        self,
        master_key: str | None = None,
        models: Iterable[Model] = DEFAULT_MODELS,
        *,
        port: int = 0,
        version: str = VERSIONS[0],
        spend_write_interval: float = 10.0,
        disable_custom_api_keys: bool = False,
    ) -> None:
        key = master_key if master_key is not None else f"sk-standin-{secrets.token_urlsafe(16)}"
        if not key.startswith("sk-"):
            raise ValueError("master_key: must start with 'sk-', as LiteLLM requires of it")
        if version not in VERSIONS:
            raise ValueError(f"version: {version!r} is not modelled; choose one of {VERSIONS}")
        self.master_key = key
        self.version = version
        self.context = Context(
            master_key=key,
            version=version,
            models={model.name: model for model in models},
            disable_custom_api_keys=disable_custom_api_keys,
        )
        self.context.store.spend_write_interval = timedelta(seconds=spend_write_interval)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", self._port), self.context)
            # A short poll interval keeps stop() quick (shutdown waits for the next poll).
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="litellm-standin",
                daemon=True,
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
