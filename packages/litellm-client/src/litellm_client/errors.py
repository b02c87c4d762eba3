"""The exception tree and the rules that map a proxy answer onto it (docs/litellm-api.md §6.3)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from typing import Any, ClassVar

import httpx

from litellm_client._envelope import Envelope, parse_envelope
from litellm_client._redact import redact, redact_data
from litellm_client.retry import parse_retry_after


class LiteLLMError(Exception):
    """Base of every error this package raises.

    Attributes:
        status: HTTP status, or None when no answer came (network) or the request was never sent.
        type: the proxy's error ``type`` (``auth_error``, ``budget_exceeded``, ...), if any.
        message: the proxy's message, unwrapped from Python dict-repr form, keys masked.
        raw_message: the message exactly as the proxy wrote it (keys masked).
        param: the ``param`` the proxy named (its string ``"None"`` becomes None).
        body: the decoded error body (text if it was not JSON), keys masked.
        method, path: what was asked.
        request_id: the proxy's ``x-litellm-call-id``, when it sent one.
        retry_after: seconds the proxy asked us to wait (``Retry-After``), if it did.
        attempts: how many times the request was sent before this error was raised.
        maybe_processed: True when the proxy may have carried the request out although no good
            answer came back (timeout after sending, 5xx, unreadable answer); False when it
            refused the request or never got it (4xx, 429, connection refused, local checks).
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        raw_message: str | None = None,
        param: str | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        maybe_processed: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.raw_message = message if raw_message is None else raw_message
        self.param = param
        self.body = body
        self.method = method
        self.path = path
        self.request_id = request_id
        self.retry_after = retry_after
        self.attempts = 1
        self.maybe_processed = maybe_processed

    def __str__(self) -> str:
        head = f"{self.method} {self.path}" if self.method and self.path else ""
        if self.status is not None:
            labels = [label for label in (self.type, self.param and f"param {self.param}") if label]
            suffix = f" ({', '.join(labels)})" if labels else ""
            answer = f"HTTP {self.status}{suffix}"
            head = f"{head} -> {answer}" if head else answer
        text = f"{head}: {self.message}" if head else self.message
        if self.attempts > 1:
            text += f" [after {self.attempts} attempts]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthenticationError(LiteLLMError):
    """401: the credential was refused (missing, unknown, deleted, expired, blocked, malformed)."""


class InvalidKeyError(AuthenticationError):
    """401 ``token_not_found_in_db``: the key presented does not exist (or was deleted)."""


class ExpiredKeyError(AuthenticationError):
    """401 ``expired_key``: the key presented has expired."""


class KeyBlockedError(AuthenticationError):
    """401: the key presented is blocked (``/key/block``)."""


class PermissionDeniedError(LiteLLMError):
    """403, or 401 "Only proxy admin ...": the credential is valid but may not do this."""


class NotFoundError(LiteLLMError):
    """404: no such key (or no such route)."""


class BadRequestError(LiteLLMError):
    """400 or 422: the proxy refused the request's content."""


class AliasConflictError(BadRequestError):
    """400: ``key_alias`` is already used by a live key, or several keys share it."""


class InvalidDurationError(BadRequestError):
    """A duration the proxy cannot parse: refused locally before sending, or by the proxy."""


class RequestValidationError(BadRequestError):
    """422 with a validation list (or the same check made locally); ``detail`` keeps the items."""

    def __init__(self, message: str, *, detail: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.detail = detail


class BudgetExceededError(LiteLLMError):
    """``budget_exceeded`` (422, or 429 where the proxy is configured so): not worth retrying."""


class RateLimitError(LiteLLMError):
    """429: a rate limit; retried with backoff."""

    retryable = True


class EnterpriseFeatureError(LiteLLMError):
    """The proxy refused a feature that needs a LiteLLM Enterprise licence (403 or 500)."""


class ServerError(LiteLLMError):
    """5xx not explained by a rule above; retried for idempotent calls."""

    retryable = True


class TransportError(LiteLLMError):
    """No usable answer: connection or TLS failure, or a body that is none of the proxy's shapes."""

    retryable = True


class RequestTimeoutError(TransportError, builtins.TimeoutError):
    """The request timed out. Also a ``builtins.TimeoutError``, so generic timeout handling sees it.

    Named apart from the builtin (0.1 called it ``TimeoutError``), so importing it never
    shadows ``TimeoutError`` in the importer's namespace.
    """


class UnexpectedResponseError(TransportError):
    """A success status whose body could not be read as the documented response; never retried."""

    retryable = False


_ENTERPRISE_MARKERS = ("you must be a litellm enterprise user", "enterprise license")
_ALIAS_CONFLICT_MARKERS = ("already exists", "multiple keys share")
_DURATION_MARKERS = (
    "invalid duration format",
    "unsupported duration unit",
    "invalid budget_duration",
)
# These never reached the proxy's handler, so the request certainly had no effect.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# These came with an answer the client could not use (a body it could not decode, redirects).
_ANSWERED = (httpx.DecodingError, httpx.TooManyRedirects)


def _decode(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def _http_error_class(status: int, envelope: Envelope) -> type[LiteLLMError]:
    text = f"{envelope.message}\n{envelope.raw_message}".lower()
    if any(marker in text for marker in _ENTERPRISE_MARKERS):
        return EnterpriseFeatureError
    if status == 401:
        if "only proxy admin" in text:
            return PermissionDeniedError
        if envelope.type == "token_not_found_in_db":
            return InvalidKeyError
        if envelope.type == "expired_key":
            return ExpiredKeyError
        if "key is blocked" in text:
            return KeyBlockedError
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 400 and any(marker in text for marker in _ALIAS_CONFLICT_MARKERS):
        return AliasConflictError
    if any(marker in text for marker in _DURATION_MARKERS):
        return InvalidDurationError
    if status == 400:
        return BadRequestError
    if status == 422 and envelope.shape == "B":
        return RequestValidationError
    if envelope.type == "budget_exceeded":
        return BudgetExceededError
    if status == 422:
        return BadRequestError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return LiteLLMError


def classify_response(
    status: int,
    content: bytes,
    headers: httpx.Headers,
    *,
    method: str | None,
    path: str | None,
    secrets: Iterable[str] = (),
) -> LiteLLMError:
    """Build the error for a non-success answer, applying docs/litellm-api.md §6.3 in order."""
    secrets = tuple(secrets)
    decoded = _decode(content)
    common: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "request_id": headers.get("x-litellm-call-id"),
        "retry_after": parse_retry_after(headers.get("retry-after")),
        # Refusals (4xx) and 429 mean nothing was done; a 5xx or an unreadable answer may hide a
        # request that was carried out.
        "maybe_processed": status != 429,
    }
    envelope = parse_envelope(decoded)
    if envelope is None:
        text = content[:300].decode("utf-8", errors="replace").strip()
        return TransportError(
            redact(f"unexpected answer, none of the proxy's error shapes: {text!r}", secrets),
            body=redact_data(decoded if decoded is not None else text, secrets),
            **common,
        )
    cls = _http_error_class(status, envelope)
    common["maybe_processed"] = common["maybe_processed"] and cls.retryable
    fields: dict[str, Any] = {
        "type": envelope.type,
        "raw_message": redact(envelope.raw_message, secrets),
        "param": envelope.param and redact(envelope.param, secrets),
        "body": redact_data(decoded, secrets),
        **common,
    }
    message = redact(envelope.message, secrets)
    if cls is RequestValidationError:
        return RequestValidationError(
            message, detail=redact_data(envelope.detail or [], secrets), **fields
        )
    return cls(message, **fields)


def error_from_response(response: httpx.Response, *, secrets: Iterable[str] = ()) -> LiteLLMError:
    """Classify any non-success proxy answer, e.g. from ``/chat/completions`` made with httpx.

    ``secrets`` are extra strings to mask besides anything shaped like a key.
    """
    try:
        method: str | None = response.request.method
        path: str | None = response.request.url.path
    except RuntimeError:  # a Response built by hand has no request
        method = path = None
    return classify_response(
        response.status_code,
        response.content,
        response.headers,
        method=method,
        path=path,
        secrets=secrets,
    )


def transport_error(
    exc: httpx.HTTPError, *, method: str, path: str, secrets: Iterable[str] = ()
) -> TransportError:
    """Wrap an httpx failure to get a usable answer.

    Timeouts become :class:`RequestTimeoutError`; a redirect loop (only with a redirect-following
    ``http_client``) becomes :class:`UnexpectedResponseError`, which is not retried; an answer
    whose body could not be decoded, and any other network failure, a :class:`TransportError`.
    """
    cls: type[TransportError] = TransportError
    if isinstance(exc, httpx.TimeoutException):
        cls = RequestTimeoutError
    elif isinstance(exc, httpx.TooManyRedirects):
        cls = UnexpectedResponseError
    what = "no usable answer" if isinstance(exc, _ANSWERED) else "no answer"
    detail = str(exc) or "no detail"
    return cls(
        redact(f"{what} ({type(exc).__name__}): {detail}", secrets),
        method=method,
        path=path,
        maybe_processed=not isinstance(exc, _NOT_SENT),
    )
