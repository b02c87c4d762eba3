"""The request-building core shared by the sync and async clients.

Every operation is a generator ("sans-I/O"): it yields a :class:`RequestSpec` when it needs an HTTP
exchange and a :class:`Sleep` when it must wait, and is sent back the ``httpx.Response`` (or the
httpx exception raised instead). Building requests, reading answers, classifying errors and deciding
retries all live here, once; the two clients differ only in how they perform the I/O.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from litellm_client._redact import RedactingFilter, redact
from litellm_client._version import __version__
from litellm_client.errors import (
    AliasConflictError,
    BadRequestError,
    InvalidDurationError,
    LiteLLMError,
    NotFoundError,
    PermissionDeniedError,
    RequestValidationError,
    UnexpectedResponseError,
    classify_response,
    transport_error,
)
from litellm_client.keys import RAW_KEY_PREFIX, new_raw_key, to_token
from litellm_client.models import (
    DeleteKeysResult,
    GeneratedKey,
    GenerateKeyRequest,
    Health,
    KeyInfo,
    KeyList,
    KeyStatus,
    RegenerateKeyRequest,
    UpdateKeyRequest,
    _KeySettings,
)
from litellm_client.retry import Backoff

logger = logging.getLogger("litellm_client")
logger.addFilter(RedactingFilter())

T = TypeVar("T")
R = TypeVar("R", bound=_KeySettings)
M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
MAX_PAGE_SIZE = 100

# Every header the proxy reads a credential from (docs/litellm-api.md §2.1). x-litellm-api-key is
# checked before Authorization, so an extra one would silently replace the admin key.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "x-litellm-api-key",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"(?:[!-~](?:[ -~]*[!-~])?)?")
_CUSTOM_KEYS_DISABLED = "custom api key values are disabled"
_NO_KEYS_PROVIDED = "no keys provided for update"


@dataclass(frozen=True, slots=True)
class RequestSpec:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Instruction: TypeAlias = RequestSpec | Sleep
# What a driver sends back for a RequestSpec: the answer, or the httpx error that stood in for one.
Answer: TypeAlias = httpx.Response | httpx.HTTPError | httpx.InvalidURL

# The largest answer read into memory. The key API's answers are small (a /key/list page of
# 100 full keys is a few hundred KiB); a proxy, or anything at its URL, that sends more is
# cut off instead of growing the caller's memory without bound.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class ResponseTooLarge(httpx.DecodingError):
    """An answer body beyond the client's ``max_response_bytes`` (counted after decoding,
    so that a compressed body cannot unfold past it)."""


class BodyReader:
    """Collects a streamed answer's body up to ``limit`` octets."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self.response = response
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            self.too_large()

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_large()
        self.parts.append(chunk)

    def too_large(self) -> None:
        raise ResponseTooLarge(
            f"the answer is larger than {self.limit} octets (max_response_bytes)",
            request=self.response.request,
        )

    def finish(self) -> httpx.Response:
        # What httpx's own read() does once the stream is consumed.
        self.response._content = b"".join(self.parts)
        return self.response


def check_max_response_bytes(value: int) -> int:
    if value < 1024:
        raise ValueError(f"max_response_bytes: expected 1024 or more, got {value}")
    return value


Outcome: TypeAlias = Answer | None
Op: TypeAlias = Generator[Instruction, Outcome, T]


class Safety(Enum):
    IDEMPOTENT = "idempotent"
    # Retried only when the proxy certainly did not act, or when a probe shows it did not.
    UNSAFE = "unsafe"


@dataclass(slots=True)
class History:
    attempts: int = 0
    maybe_processed: bool = False  # an earlier failed attempt may have been carried out


# Called after every failed attempt; returns the operation's result if the proxy turns out to have
# done the work after all. It must look whenever ``error.maybe_processed`` is set: the retry
# decision counts on that.
Probe: TypeAlias = Callable[[LiteLLMError, History], Op[T | None]]


class _InfoAnswer(BaseModel):
    info: KeyInfo


def ssl_verify(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """httpx takes a CA bundle path only through an SSLContext."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def _reader(model: type[M]) -> Callable[[httpx.Response], M]:
    def read(response: httpx.Response) -> M:
        return model.model_validate_json(response.content)

    return read


def _ignore_body(response: httpx.Response) -> None:
    return None


class Core:
    """Builds requests, reads answers and runs the retry policy; performs no I/O itself."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        max_retries: int,
        backoff: Backoff,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = _check_base_url(base_url)
        _check_api_key(api_key)
        if max_retries < 0:
            raise ValueError(f"max_retries: expected 0 or more, got {max_retries}")
        self.max_retries = max_retries
        self.backoff = backoff
        self.secrets = (api_key,)
        self.headers = {
            "User-Agent": f"litellm-client/{__version__}",
            "Accept": "application/json",
            **_check_headers(headers or {}),
            "Authorization": f"Bearer {api_key}",
        }

    def request_args(self, spec: RequestSpec) -> dict[str, Any]:
        """Arguments for ``httpx.Client.build_request`` (and its async twin)."""
        return {
            "method": spec.method,
            "url": self.base_url + spec.path,
            "params": spec.params,
            "json": spec.json,
            "headers": self.headers,
        }

    # --- operations -----------------------------------------------------------------------------

    def key_info(self, key: str) -> Op[KeyInfo]:
        token = to_token(key)

        def read(response: httpx.Response) -> KeyInfo:
            info = _InfoAnswer.model_validate_json(response.content).info
            return info.model_copy(update={"token": token})

        spec = RequestSpec("GET", "/key/info", params={"key": token})
        return self._call(spec, read, safety=Safety.IDEMPOTENT)

    def generate_key(
        self,
        request: GenerateKeyRequest | None,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> Op[GeneratedKey]:
        """Mint a key, identified by a raw key known before the first attempt.

        Without a caller's ``key`` the client makes one, so every attempt carries the same token
        and a lost answer is settled by looking that token up (docs/litellm-api.md §9.4). If the
        proxy refuses custom keys, the call falls back to a key the proxy makes; that attempt is
        never repeated once it may have reached the proxy (see the README).
        """
        path = "/key/generate"
        body = self._body(GenerateKeyRequest, request, fields, extra_body, path)
        own_key = body.get("key") is None
        if own_key:
            body["key"] = new_raw_key()
        history = History()
        try:
            return (yield from self._mint(path, body, history))
        except PermissionDeniedError as error:
            if not (own_key and _custom_keys_disabled(error)) or history.maybe_processed:
                raise
            logger.info(
                "%s: the proxy refuses custom keys; generating with a key the proxy makes, which"
                " is not retried after an answer that may have been lost",
                error,
            )
        fallback = {name: value for name, value in body.items() if name != "key"}
        spec = RequestSpec("POST", path, json=fallback)
        return (yield from self._call(spec, _reader(GeneratedKey), safety=Safety.UNSAFE))

    def _mint(self, path: str, body: dict[str, Any], history: History) -> Op[GeneratedKey]:
        raw_key = body.get("key")
        probe = self._creation_probe(
            raw_key if isinstance(raw_key, str) and raw_key.startswith(RAW_KEY_PREFIX) else None
        )
        spec = RequestSpec("POST", path, json=body)
        return self._call(
            spec, _reader(GeneratedKey), safety=Safety.UNSAFE, probe=probe, history=history
        )

    def update_key(
        self,
        key: str,
        request: UpdateKeyRequest | None,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> Op[KeyInfo]:
        path = "/key/update"
        body = self._body(UpdateKeyRequest, request, fields, extra_body, path, key=key)
        # A retried update re-applies absolute values; a duration restarts from the retry.
        return self._call(
            RequestSpec("POST", path, json=body), _reader(KeyInfo), safety=Safety.IDEMPOTENT
        )

    def regenerate_key(
        self,
        key: str,
        request: RegenerateKeyRequest | None,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> Op[GeneratedKey]:
        path = "/key/regenerate"
        body = self._body(RegenerateKeyRequest, request, fields, extra_body, path, key=key)
        new_key = body.get("new_key")
        probe = self._creation_probe(
            new_key if isinstance(new_key, str) and new_key.startswith(RAW_KEY_PREFIX) else None
        )
        spec = RequestSpec("POST", path, json=body)
        return self._call(spec, _reader(GeneratedKey), safety=Safety.UNSAFE, probe=probe)

    def delete_keys(
        self,
        keys: Sequence[str] | None,
        key_aliases: Sequence[str] | None,
        *,
        missing_ok: bool,
    ) -> Op[DeleteKeysResult]:
        body: dict[str, Any]
        if keys is not None and key_aliases is not None:
            # The proxy would silently ignore key_aliases.
            raise ValueError("delete_keys: pass keys or key_aliases, not both")
        if keys is not None:
            body = {"keys": [to_token(k) for k in _names("keys", keys)]}
        elif key_aliases is not None:
            body = {"key_aliases": _names("key_aliases", key_aliases)}
        else:
            raise ValueError("delete_keys: pass keys (raw keys or tokens) or key_aliases")
        return self._delete(RequestSpec("POST", "/key/delete", json=body), missing_ok=missing_ok)

    def list_keys_page(
        self,
        *,
        page: int,
        size: int,
        return_full_object: bool,
        filters: Mapping[str, Any],
    ) -> Op[KeyList]:
        if page < 1:
            raise ValueError(f"page: expected 1 or more, got {page}")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size: expected 1 to {MAX_PAGE_SIZE} keys per page, got {size}")
        params = {name: value for name, value in filters.items() if value is not None}
        # A raw key would otherwise sit in the URL (and httpx's log); the proxy's search matches
        # an exact token, so searching by the token finds the same key.
        for name in ("key_hash", "search"):
            if isinstance(params.get(name), str) and params[name]:
                params[name] = to_token(params[name])
        params.update(page=page, size=size, return_full_object=return_full_object)
        spec = RequestSpec("GET", "/key/list", params=params)
        return self._call(spec, _reader(KeyList), safety=Safety.IDEMPOTENT)

    def block_key(self, key: str, *, blocked: bool) -> Op[KeyInfo]:
        path = "/key/block" if blocked else "/key/unblock"
        spec = RequestSpec("POST", path, json={"key": to_token(key)})
        return self._call(spec, _reader(KeyInfo), safety=Safety.IDEMPOTENT)

    def health(self) -> Op[Health]:
        spec = RequestSpec("GET", "/health/readiness")
        return self._call(spec, _reader(Health), safety=Safety.IDEMPOTENT)

    def check_admin(self) -> Op[None]:
        """Prove the credential is a proxy admin without changing anything.

        ``POST /key/bulk_update`` is for proxy admins only and refuses an empty list before
        touching a key: an admin gets 400 "No keys provided for update", anyone else 401 or 403.
        """
        spec = RequestSpec("POST", "/key/bulk_update", json={"keys": []})
        try:
            # Whatever a success carries, it is not the expected refusal (see below).
            yield from self._call(spec, _ignore_body, safety=Safety.IDEMPOTENT)
        except BadRequestError as exc:
            if exc.status == 400 and _NO_KEYS_PROVIDED in exc.message.lower():
                return None
            raise
        # A proxy that accepts an empty bulk update at all did not run the admin-only check.
        raise UnexpectedResponseError(
            "POST /key/bulk_update with no keys succeeded; cannot tell whether the credential"
            " is a proxy admin",
            status=200,
            method="POST",
            path="/key/bulk_update",
            maybe_processed=False,
        )

    # --- machinery ------------------------------------------------------------------------------

    def _body(
        self,
        model: type[R],
        request: R | None,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
        path: str,
        *,
        key: str | None = None,
    ) -> dict[str, Any]:
        """The JSON body: the identifying token (if any), the set fields, then ``extra_body``."""
        if request is not None and fields:
            raise TypeError(f"pass a {model.__name__} or keyword fields, not both")
        if request is None:
            try:
                request = model.model_validate(fields)
            except InvalidDurationError as exc:
                exc.method, exc.path = "POST", path
                raise
            except ValidationError as exc:
                raise _local_validation_error(exc, path) from None
        body = request.to_body() if key is None else {"key": to_token(key), **request.to_body()}
        if extra_body:
            body.update(extra_body)
        return body

    def _call(
        self,
        spec: RequestSpec,
        read: Callable[[httpx.Response], T],
        *,
        safety: Safety,
        probe: Probe[T] | None = None,
        history: History | None = None,
    ) -> Op[T]:
        history = History() if history is None else history
        while True:
            history.attempts += 1
            started = time.perf_counter()
            outcome = yield spec
            try:
                return self._read(spec, outcome, time.perf_counter() - started, read)
            except LiteLLMError as exc:
                error = exc
            error.attempts = history.attempts
            if probe is not None:
                try:
                    found = yield from probe(error, history)
                except LiteLLMError as probe_error:
                    raise error from probe_error
                if found is not None:
                    return found
            retry = (
                error.retryable
                and history.attempts <= self.max_retries
                and (safety is Safety.IDEMPOTENT or not error.maybe_processed or probe is not None)
            )
            history.maybe_processed = history.maybe_processed or error.maybe_processed
            if retry and not self.backoff.waits_for(error.retry_after):
                # Retrying before the proxy's time would only be refused again.
                logger.warning(
                    "%s; the proxy asks to wait %.0f s, more than max_retry_after (%.0f s):"
                    " not retried",
                    error,
                    error.retry_after,
                    self.backoff.max_retry_after,
                )
                retry = False
            if not retry:
                # The call as a whole: an earlier attempt may have landed even if this one did not.
                error.maybe_processed = error.maybe_processed or history.maybe_processed
                raise error
            delay = self.backoff.delay(history.attempts, error.retry_after)
            logger.warning(
                "%s; retry %d of %d in %.2f s",
                error,
                history.attempts,
                self.max_retries,
                delay,
            )
            yield Sleep(delay)

    def _read(
        self,
        spec: RequestSpec,
        outcome: Outcome,
        elapsed: float,
        read: Callable[[httpx.Response], T],
    ) -> T:
        if isinstance(outcome, httpx.InvalidURL):
            raise BadRequestError(
                redact(f"not sent, the request URL is invalid: {outcome}", self.secrets),
                method=spec.method,
                path=spec.path,
                maybe_processed=False,
            )
        if isinstance(outcome, httpx.HTTPError):
            logger.debug("%s %s: no answer after %.1f ms", spec.method, spec.path, elapsed * 1e3)
            raise transport_error(outcome, method=spec.method, path=spec.path, secrets=self.secrets)
        if not isinstance(outcome, httpx.Response):
            raise TypeError(f"driver sent {type(outcome).__name__} for {spec.method} {spec.path}")
        call_id = outcome.headers.get("x-litellm-call-id")
        logger.debug(
            "%s %s -> %d in %.1f ms%s",
            spec.method,
            spec.path,
            outcome.status_code,
            elapsed * 1e3,
            f" (call id {call_id})" if call_id else "",
        )
        if not outcome.is_success:
            raise classify_response(
                outcome.status_code,
                outcome.content,
                outcome.headers,
                method=spec.method,
                path=spec.path,
                secrets=self.secrets,
            )
        try:
            return read(outcome)
        except ValueError as exc:  # pydantic's ValidationError, including "invalid JSON"
            raise UnexpectedResponseError(
                redact(
                    f"HTTP {outcome.status_code} but not the documented answer: {_summary(exc)}",
                    self.secrets,
                ),
                status=outcome.status_code,
                method=spec.method,
                path=spec.path,
                request_id=call_id,
                maybe_processed=True,
            ) from None

    def _creation_probe(self, raw_key: str | None) -> Probe[GeneratedKey] | None:
        """How a retried generate (or regenerate) finds out whether a lost attempt created the key.

        Only by the token of the raw key every attempt carried: a live key with that token is this
        call's key (the proxy upserts custom keys, so no other call can have made a second one).
        Without a raw key there is no proof of ownership, so no probe, and no retry after an
        attempt that may have landed. In particular a key found by its alias is never adopted:
        the alias may belong to someone else's key (the first attempt may really have been refused
        with "alias already exists"), and the proxy's alias check is not atomic, so a retry could
        mint a second key beside a late-landing first one.
        """
        if raw_key is None:
            return None

        def probe(error: LiteLLMError, history: History) -> Op[GeneratedKey | None]:
            # An alias conflict on a retry is what a late-landing earlier attempt looks like.
            alias_taken = history.maybe_processed and isinstance(error, AliasConflictError)
            if not (error.maybe_processed or alias_taken):
                return None
            logger.info("%s: checking whether the key was created after all", error)
            try:
                info: KeyInfo | None = yield from self.key_info(raw_key)
            except NotFoundError:
                info = None
            if info is None or info.status == KeyStatus.DELETED:
                logger.info("the key was not created; the request will be retried if allowed")
                return None
            logger.info("the key was created (token %s); returning it", info.token)
            return GeneratedKey.from_info(info, key=raw_key)

        return probe

    def _delete(self, spec: RequestSpec, *, missing_ok: bool) -> Op[DeleteKeysResult]:
        history = History()
        try:
            return (
                yield from self._call(
                    spec, _reader(DeleteKeysResult), safety=Safety.IDEMPOTENT, history=history
                )
            )
        except NotFoundError as error:
            # "No keys found" after an attempt whose answer was lost: that attempt deleted them
            # (or they were gone already); either way they are gone. Other 404s (a wrong base
            # path answers {"detail": "Not Found"}) stay errors.
            if error.message.strip() != "No keys found" or not (
                missing_ok or history.maybe_processed
            ):
                raise
            logger.info("%s: counted as deleted", error)
            return DeleteKeysResult(deleted_keys=[], none_found=True)


class KeyPager:
    """Walks ``/key/list`` page by page, skipping keys already seen.

    Keys created while paging push older ones onto later pages (the order is newest first), so a
    key can turn up twice; deleting while paging can make one be missed, so collect first.
    """

    def __init__(
        self,
        core: Core,
        *,
        page_size: int,
        return_full_object: bool,
        filters: Mapping[str, Any],
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size: expected 1 to {MAX_PAGE_SIZE}, got {page_size}")
        self._core = core
        self._size = page_size
        self._full = return_full_object
        self._filters = dict(filters)
        self._next = 1
        self._done = False
        self._seen: set[str] = set()

    def next_page(self) -> Op[KeyList] | None:
        if self._done:
            return None
        return self._core.list_keys_page(
            page=self._next, size=self._size, return_full_object=self._full, filters=self._filters
        )

    def accept(self, page: KeyList) -> list[KeyInfo]:
        fresh = [k for k in page.keys if k.token is None or k.token not in self._seen]
        self._seen.update(k.token for k in fresh if k.token is not None)
        self._next += 1
        last = page.total_pages if page.total_pages is not None else self._next
        self._done = not page.keys or self._next > last
        return fresh


def _names(field: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{field}: expected a list of strings, got a single string")
    names = list(values)
    if not names or not all(isinstance(v, str) and v for v in names):
        raise ValueError(f"{field}: expected a non-empty list of non-empty strings")
    return names


def _custom_keys_disabled(error: PermissionDeniedError) -> bool:
    # 403 "Custom API key values are disabled by your administrator. ..." (observed with
    # general_settings.disable_custom_api_keys).
    return error.status == 403 and _CUSTOM_KEYS_DISABLED in error.message.lower()


def _check_base_url(base_url: str) -> str:
    expected = "base_url: expected an http(s) URL like 'http://127.0.0.1:4000'"
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{expected}; {base_url!r} is not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{expected}, got {base_url!r}")
    return base_url.rstrip("/")


def _check_api_key(api_key: str) -> None:
    # Never quote the key: these messages end up in logs.
    expected = "api_key: expected the master key or a proxy_admin virtual key"
    if not isinstance(api_key, str) or not api_key:
        raise ValueError(expected)
    if not _VISIBLE_ASCII.fullmatch(api_key):
        problem = (
            "contains whitespace (a trailing newline from a file or environment variable?)"
            if any(c.isspace() for c in api_key)
            else "contains a character that is not visible ASCII"
        )
        raise ValueError(
            f"{expected}, made of visible ASCII characters only; the value given {problem}"
        )


def check_http_client(headers: httpx.Headers) -> None:
    """Refuse a caller's httpx client whose default headers hold a credential the proxy reads
    before or besides ``Authorization`` (``x-litellm-api-key`` would take precedence over
    ``api_key``). A default ``Authorization`` is harmless: each request sets its own."""
    found = sorted(
        name
        for name in headers
        if name.lower() in CREDENTIAL_HEADERS and name.lower() != "authorization"
    )
    if found:
        raise ValueError(
            f"http_client: its default headers carry a credential ({', '.join(found)}), which"
            " would replace or compete with api_key; remove them"
        )


def _check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Extra headers, refused up front rather than failing (or leaking) at the first request."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if name.lower() in CREDENTIAL_HEADERS:
            raise ValueError(
                f"headers: {name!r} carries a credential, which would replace or compete with"
                " api_key; pass the admin key as api_key only"
            )
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(
                f"headers: the value of {name!r} must be visible ASCII text without line"
                " breaks or leading/trailing spaces"
            )
        checked[name] = value
    return checked


def _summary(exc: ValueError) -> str:
    # Never the input values: a generate answer holds the raw key.
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        )
    return type(exc).__name__


def _local_validation_error(exc: ValidationError, path: str) -> RequestValidationError:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    detail = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in errors]
    return RequestValidationError(
        f"not sent, invalid request: {_summary(exc)}",
        detail=detail,
        method="POST",
        path=path,
        maybe_processed=False,
    )
