"""The request-building core shared by the sync and async clients.

Every operation is a generator ("sans-I/O"): it yields a :class:`RequestSpec` when it needs an HTTP
exchange and a :class:`Sleep` when it must wait, and is sent back the ``httpx.Response`` (or the
``httpx.TransportError``). Building requests, reading answers, classifying errors and deciding
retries all live here, once; the two clients differ only in how they perform the I/O.
"""

from __future__ import annotations

import logging
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
    InvalidDurationError,
    LiteLLMError,
    NotFoundError,
    RequestValidationError,
    UnexpectedResponseError,
    classify_response,
    transport_error,
)
from litellm_client.keys import RAW_KEY_PREFIX, to_token
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
Outcome: TypeAlias = httpx.Response | httpx.TransportError | None
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
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"base_url: expected an http(s) URL like 'http://127.0.0.1:4000', got {base_url!r}"
            )
        if not api_key:
            raise ValueError("api_key: expected the master key or a proxy_admin virtual key")
        if max_retries < 0:
            raise ValueError(f"max_retries: expected 0 or more, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.secrets = (api_key,)
        extra = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        self.headers = {
            "User-Agent": f"litellm-client/{__version__}",
            "Accept": "application/json",
            **extra,
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
        path = "/key/generate"
        body = self._body(GenerateKeyRequest, request, fields, extra_body, path)
        raw_key, alias = body.get("key"), body.get("key_alias")
        probe = self._creation_probe(
            raw_key if isinstance(raw_key, str) and raw_key.startswith(RAW_KEY_PREFIX) else None,
            alias if isinstance(alias, str) and alias else None,
        )
        spec = RequestSpec("POST", path, json=body)
        return self._call(spec, _reader(GeneratedKey), safety=Safety.UNSAFE, probe=probe)

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
        probe = self._creation_probe(new_key if isinstance(new_key, str) else None, None)
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
        if isinstance(params.get("key_hash"), str):
            params["key_hash"] = to_token(params["key_hash"])
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
            if not retry:
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
        if isinstance(outcome, httpx.TransportError):
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

    def _creation_probe(self, raw_key: str | None, alias: str | None) -> Probe[GeneratedKey] | None:
        """How a retried generate (or regenerate) finds out whether a lost attempt created the key.

        With the raw key known (a custom ``key``), look its token up: the raw key can be returned.
        With only an alias, look for a live key holding it: the raw key is lost for good, so the
        answer has ``key=None``. With neither there is no safe way to tell, so no probe (and no
        retry after an attempt that may have landed).
        """
        if raw_key is None and alias is None:
            return None

        def probe(error: LiteLLMError, history: History) -> Op[GeneratedKey | None]:
            # An alias conflict on a retry is what a late-landing earlier attempt looks like.
            alias_taken = history.maybe_processed and isinstance(error, AliasConflictError)
            if not (error.maybe_processed or alias_taken):
                return None
            logger.info("%s: checking whether the key was created after all", error)
            found: KeyInfo | None = None
            if raw_key is not None:
                try:
                    info = yield from self.key_info(raw_key)
                except NotFoundError:
                    info = None
                if info is not None and info.status != KeyStatus.DELETED:
                    found = info
            elif alias is not None:
                page = yield from self.list_keys_page(
                    page=1,
                    size=MAX_PAGE_SIZE,
                    return_full_object=True,
                    filters={"key_alias": alias},
                )
                holders = [k for k in page.keys if k.key_alias == alias and k.token]
                found = max(holders, key=_created, default=None)
            if found is None:
                logger.info("the key was not created; the request will be retried if allowed")
                return None
            logger.info("the key was created (token %s); returning it", found.token)
            return GeneratedKey.from_info(found, key=raw_key)

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


def _created(info: KeyInfo) -> float:
    return info.created_at.timestamp() if info.created_at is not None else 0.0


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
