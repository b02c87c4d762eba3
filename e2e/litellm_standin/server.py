"""The HTTP server: routing, body parsing in the proxy's order, and :class:`StandIn`.

Management routes parse the body as FastAPI does before anything else (bad JSON is a 422, JSON
that is not an object a 500), then authenticate, then validate the body against the route's model.
LLM routes read the body themselves (bad JSON is a 400). Every response is JSON except streamed
completions. Request lines are never logged with their query string: it may hold a raw key.
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

from e2e.litellm_standin import chat, clock, generate, lifecycle, lookup, update
from e2e.litellm_standin.auth import Caller, authenticate
from e2e.litellm_standin.catalog import DEFAULT_MODELS, Model
from e2e.litellm_standin.context import Context, Request, Response
from e2e.litellm_standin.errors import (
    DetailError,
    InternalError,
    ProxyError,
    StandInError,
    ValidationFailure,
)

log = logging.getLogger("e2e.litellm_standin")

Handler = Callable[[Context, Caller, Request], Response]

_MANAGEMENT: Mapping[tuple[str, str], Handler] = {
    ("POST", "/key/generate"): generate.generate_key,
    ("POST", "/user/new"): generate.new_user,
    ("POST", "/key/update"): update.update_key,
    ("POST", "/key/bulk_update"): update.bulk_update,
    ("POST", "/key/delete"): lifecycle.delete_keys,
    ("POST", "/key/block"): lambda c, who, r: lifecycle.set_blocked(c, who, r, blocked=True),
    ("POST", "/key/unblock"): lambda c, who, r: lifecycle.set_blocked(c, who, r, blocked=False),
    ("POST", "/key/regenerate"): lifecycle.regenerate,
    ("GET", "/key/info"): lookup.key_info,
    ("GET", "/key/list"): lookup.list_keys,
}
_LLM_PATHS = frozenset({"/chat/completions", "/v1/chat/completions"})
_HEALTH: Mapping[str, object] = {
    "/health/liveliness": "I'm alive!",
    "/health/liveness": "I'm alive!",
    "/health/readiness": {"status": "healthy", "db": "connected"},
}


def _regenerate_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "key" and parts[3] == "regenerate" and bool(parts[2])


def _known_methods(path: str) -> set[str]:
    methods = {method for method, known in _MANAGEMENT if known == path}
    if path in _LLM_PATHS or _regenerate_path(path):
        methods.add("POST")
    if path in _HEALTH:
        methods.add("GET")
    return methods


def _is_json_type(content_type: str | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _management_body(raw: bytes, content_type: str | None) -> Any:
    """The body as FastAPI hands it over, or the error it fails with before auth runs."""
    if not raw:
        return None
    if not _is_json_type(content_type):
        return raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailure(
            [{"type": "json_invalid", "loc": ["body", exc.pos], "msg": "JSON decode error"}]
        ) from None
    except UnicodeDecodeError:
        raise DetailError(400, "There was an error parsing the body") from None
    if not isinstance(parsed, dict):
        # The proxy's auth layer reads the body as a dict and crashes on anything else.
        raise InternalError()
    return parsed


# Python's json messages in the words of the proxy's parser (orjson), for the common cases.
_JSON_WORDS = {
    "Expecting property name enclosed in double quotes": (
        "unexpected character, expected a string key"
    ),
    "Expecting value": "unexpected character, expected a JSON value",
}


def _llm_body(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # The proxy's reader gives up on undecodable bodies and carries on with an empty one.
        return {}
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        words = (
            "unexpected end of data"
            if exc.pos >= len(exc.doc)
            else _JSON_WORDS.get(exc.msg, exc.msg)
        )
        raise ProxyError(
            400,
            f"Invalid JSON payload: {words}: line {exc.lineno} column {exc.colno} (char {exc.pos})",
            "invalid_request_error",
            "request_body",
        ) from None
    if not isinstance(parsed, dict):
        raise InternalError()
    return parsed


def dispatch(
    ctx: Context, method: str, target: str, headers: Mapping[str, str], raw: bytes
) -> Response:
    """Answer one request; every failure becomes the proxy's error response."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    query = parse_qs(parts.query, keep_blank_values=True)
    with ctx.store.lock:
        ctx.store.flush(clock.now())
    try:
        return _route(ctx, method, path, query, headers, raw)
    except StandInError as error:
        return Response(error.status, error.body(), dict(error.headers))


def _route(
    ctx: Context,
    method: str,
    path: str,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    raw: bytes,
) -> Response:
    allowed = _known_methods(path)
    if not allowed:
        raise DetailError(404, "Not Found")
    if method not in allowed:
        raise DetailError(405, "Method Not Allowed")
    if path in _HEALTH:
        return Response(200, _HEALTH[path])
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if path in _LLM_PATHS:
        return chat.chat_completions(ctx, Request(method, path, query, headers, _llm_body(raw)))
    body = _management_body(raw, content_type) if method == "POST" else None
    request = Request(method, path, query, headers, body)
    route = "/key/regenerate" if _regenerate_path(path) else path
    with ctx.store.lock:
        caller = authenticate(ctx.store, ctx.master_key, headers, route)
    return _MANAGEMENT[(method, route)](ctx, caller, request)


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

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = dict(self.headers.items())
        try:
            response = dispatch(self.server.context, self.command, self.path, headers, raw)
            payload, content_type = _encode(response)
        except Exception as exc:
            # A bug in the stand-in (or a value JSON cannot carry, such as NaN in metadata):
            # answer as the proxy answers unhandled errors.
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                self.command,
                self._route(),
                _trace(),
            )
            response = Response(500, InternalError().body())
            payload, content_type = _encode(response)
        self._send(response, payload, content_type)

    def _send(self, response: Response, payload: bytes, content_type: str) -> None:
        self.send_response(response.status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _route(self) -> str:
        """The path without query, raw keys in it redacted (``/key/sk-.../regenerate``)."""
        path = urlsplit(self.path).path
        return "/".join("REDACTED" if part.startswith("sk-") else part for part in path.split("/"))

    def log_message(self, format: str, *args: Any) -> None:
        # The default line includes the query string; /key/info?key=sk-... would leak a raw key.
        log.debug("%s %s", self.command, self._route())


def _encode(response: Response) -> tuple[bytes, str]:
    if response.stream is not None:
        return "".join(response.stream).encode(), "text/event-stream"
    text = json.dumps(response.body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode(), "application/json"


def _trace() -> str:
    """Where it failed, without the exception's text: that may quote request data (keys)."""
    frames = traceback.extract_tb(sys.exc_info()[2])[-8:]
    return "".join(f"  {frame.filename}:{frame.lineno} in {frame.name}\n" for frame in frames)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        self.context = context
        super().__init__(address, _Handler)


class StandIn:
    """An in-process LiteLLM 1.106.12 proxy with in-memory state, on 127.0.0.1.

    ``with StandIn() as proxy: ... proxy.url ... proxy.master_key``. ``port=0`` picks a free port.
    Without ``master_key`` a random one is made (see :attr:`master_key`). Budgets act on spend at
    once; the ``spend`` that ``/key/info`` shows catches up every ``spend_write_interval`` seconds,
    as on the real proxy (0 writes it at once). ``disable_custom_api_keys`` acts as the proxy's
    ``general_settings.disable_custom_api_keys``: generate refuses a caller's own ``key`` (403).
    """

    def __init__(
        self,
        master_key: str | None = None,
        models: Iterable[Model] = DEFAULT_MODELS,
        *,
        port: int = 0,
        spend_write_interval: float = 10.0,
        disable_custom_api_keys: bool = False,
    ) -> None:
        key = master_key if master_key is not None else f"sk-standin-{secrets.token_urlsafe(16)}"
        if not key.startswith("sk-"):
            raise ValueError("master_key: must start with 'sk-', as LiteLLM requires of it")
        self.master_key = key
        self.context = Context(
            master_key=key,
            models={model.name: model for model in models},
            disable_custom_api_keys=disable_custom_api_keys,
        )
        # Like the proxy, spend reaches the key rows in batches (PROXY_BATCH_WRITE_AT, 10 s).
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
        if self._server is not None:
            return self.url
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
