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
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from e2e.litellm_standin import chat, generate, lifecycle, lookup, update
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
    if not isinstance(parsed, dict):
        # The proxy's auth layer reads the body as a dict and crashes on anything else.
        raise InternalError()
    return parsed


# Python's json messages, in the words of the proxy's parser (orjson), where they differ.
_JSON_WORDS = {
    "Expecting property name enclosed in double quotes": (
        "unexpected character, expected a string key"
    ),
    "Expecting value": "unexpected character",
}


def _llm_body(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        words = _JSON_WORDS.get(exc.msg, exc.msg)
        raise ProxyError(
            400,
            f"Invalid JSON payload: {words}: line {exc.lineno} column {exc.colno} (char {exc.pos})",
            "invalid_request_error",
            "request_body",
        ) from None
    if not isinstance(parsed, dict):
        raise InternalError()
    return parsed


def dispatch(ctx: Context, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Response:
    """Answer one request; every failure becomes the proxy's error response."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    query = parse_qs(parts.query, keep_blank_values=True)
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
        headers = {name: value for name, value in self.headers.items()}
        try:
            response = dispatch(self.server.context, self.command, self.path, headers, raw)
        except Exception:  # a bug in the stand-in: answer as the proxy does for unhandled errors
            log.error("unhandled error on %s %s\n%s", self.command, self._route(), _trace())
            response = Response(500, InternalError().body())
        self._send(response)

    def _send(self, response: Response) -> None:
        if response.stream is not None:
            payload = "".join(response.stream).encode()
            content_type = "text/event-stream"
        else:
            payload = json.dumps(
                response.body, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode()
            content_type = "application/json"
        self.send_response(response.status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _route(self) -> str:
        return urlsplit(self.path).path

    def log_message(self, format: str, *args: Any) -> None:
        # The default line includes the query string; /key/info?key=sk-... would leak a raw key.
        log.debug("%s %s", self.command, self._route())


def _trace() -> str:
    return "".join(traceback.format_exc(limit=8))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        self.context = context
        super().__init__(address, _Handler)


class StandIn:
    """An in-process LiteLLM 1.106.12 proxy with in-memory state, on 127.0.0.1.

    ``with StandIn() as proxy: ... proxy.url ... proxy.master_key``. ``port=0`` picks a free port.
    Without ``master_key`` a random one is made (see :attr:`master_key`).
    """

    def __init__(
        self,
        master_key: str | None = None,
        models: Iterable[Model] = DEFAULT_MODELS,
        *,
        port: int = 0,
    ) -> None:
        key = master_key if master_key is not None else f"sk-standin-{secrets.token_urlsafe(16)}"
        if not key.startswith("sk-"):
            raise ValueError("master_key: must start with 'sk-', as LiteLLM requires of it")
        self.master_key = key
        self.context = Context(master_key=key, models={model.name: model for model in models})
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
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="litellm-standin", daemon=True
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
