"""``LiteLLMClient`` and ``AsyncLiteLLMClient``: the same methods over one shared core.

Both only drive the operations of :mod:`litellm_client._core`, performing the HTTP exchanges and
the waits those ask for; this module holds no request building, parsing or retry logic.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from litellm_client._core import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    Answer,
    BodyReader,
    Core,
    KeyPager,
    Op,
    RequestSpec,
    Sleep,
    check_http_client,
    check_max_response_bytes,
    ssl_verify,
)
from litellm_client.models import (
    DeleteKeysResult,
    GeneratedKey,
    GenerateKeyRequest,
    Health,
    KeyInfo,
    KeyList,
    RegenerateKeyRequest,
    UpdateKeyRequest,
)
from litellm_client.params import (
    GenerateKeyParams,
    ListKeysFilters,
    RegenerateKeyParams,
    UpdateKeyParams,
)
from litellm_client.retry import Backoff

T = TypeVar("T")


class LiteLLMClient:
    """Admin client for the LiteLLM proxy's virtual-key API.

    Args:
        base_url: the proxy, e.g. ``http://127.0.0.1:4000`` (a path prefix is kept).
        api_key: the master key or a ``proxy_admin`` virtual key: visible ASCII, no whitespace
            (checked here, ``ValueError``); sent only as ``Authorization: Bearer``, never logged
            or put in error messages.
        timeout, verify: for the httpx client made here (``verify`` may be a CA bundle path).
            Ignored when ``http_client`` is given: that client's own settings apply.
        max_retries: retries after the first attempt (429, 5xx, network) for idempotent calls;
            see the README for what ``generate_key`` and ``delete_keys`` do.
        headers: extra headers on every request, e.g. ``{"litellm-changed-by": "vault"}``.
            Headers the proxy reads a credential from (``Authorization``, ``x-litellm-api-key``,
            ``API-Key``, ``x-api-key``, ...) are refused with ``ValueError``.
        http_client: an ``httpx.Client`` to use; it is not closed by :meth:`close`. Its default
            headers may not carry a credential either (``ValueError``).
        backoff: retry timing (:class:`Backoff`).
        sleep: how to wait between retries (``time.sleep``); tests pass a recorder.
        max_response_bytes: the largest answer body read (16 MiB; at least 1024); a larger
            one fails the call with :class:`TransportError` and is not read further.

    Every method that takes a key accepts the raw key (``sk-...``) or its token (sha256 hex); the
    client always sends the token.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        verify: bool | str | ssl.SSLContext = True,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._core = Core(
            base_url,
            api_key,
            max_retries=max_retries,
            backoff=backoff or Backoff(),
            headers=headers,
        )
        if http_client is not None:
            check_http_client(http_client.headers)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, verify=ssl_verify(verify))
        self._sleep = sleep
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (unless it came from ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def _run(self, op: Op[T]) -> T:
        try:
            instruction = next(op)
            while True:
                if isinstance(instruction, Sleep):
                    self._sleep(instruction.seconds)
                    instruction = op.send(None)
                else:
                    instruction = op.send(self._send(instruction))
        except StopIteration as done:
            result: T = done.value
            return result
        finally:
            op.close()

    def _send(self, spec: RequestSpec) -> Answer:
        # Any httpx failure goes back to the core, which turns it into a LiteLLMError.
        try:
            request = self._http.build_request(**self._core.request_args(spec))
            response = self._http.send(request, stream=True)
            try:
                body = BodyReader(response, self._max_response_bytes)
                for chunk in response.iter_bytes():
                    body.add(chunk)
                return body.finish()
            finally:
                response.close()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return exc

    def generate_key(
        self,
        request: GenerateKeyRequest | None = None,
        /,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Unpack[GenerateKeyParams],
    ) -> GeneratedKey:
        """Mint a key (``POST /key/generate``) from a request model or keyword fields.

        Only the fields given are sent; ``extra_body`` is merged in last, for fields this package
        does not know yet. Not blindly retried: see the README ("generate_key and retries").
        """
        return self._run(self._core.generate_key(request, fields, extra_body))

    def update_key(
        self,
        key: str,
        request: UpdateKeyRequest | None = None,
        /,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Unpack[UpdateKeyParams],
    ) -> KeyInfo:
        """Patch a key (``POST /key/update``): given fields change, None clears, others stay.

        ``duration`` restarts the expiry from now (proxy clock); ``metadata`` is replaced whole.
        """
        return self._run(self._core.update_key(key, request, fields, extra_body))

    def delete_keys(
        self,
        keys: Sequence[str] | None = None,
        *,
        key_aliases: Sequence[str] | None = None,
        missing_ok: bool = False,
    ) -> DeleteKeysResult:
        """Delete keys by raw key/token, or every key holding one of ``key_aliases``.

        404 "No keys found" raises :class:`NotFoundError` unless ``missing_ok`` is True, or it
        answers a retry after an attempt whose answer was lost; then the result has
        ``none_found=True``.
        """
        return self._run(self._core.delete_keys(keys, key_aliases, missing_ok=missing_ok))

    def key_info(self, key: str) -> KeyInfo:
        """Describe a key (``GET /key/info``). Deleted keys answer with ``status == "deleted"``."""
        return self._run(self._core.key_info(key))

    def list_keys_page(
        self,
        page: int = 1,
        size: int = 10,
        *,
        return_full_object: bool = True,
        **filters: Unpack[ListKeysFilters],
    ) -> KeyList:
        """One page of ``GET /key/list``."""
        op = self._core.list_keys_page(
            page=page, size=size, return_full_object=return_full_object, filters=filters
        )
        return self._run(op)

    def list_keys(
        self,
        *,
        page_size: int = 100,
        return_full_object: bool = True,
        **filters: Unpack[ListKeysFilters],
    ) -> Iterator[KeyInfo]:
        """Iterate over every matching key, fetching pages as needed (each key once)."""
        pager = KeyPager(
            self._core, page_size=page_size, return_full_object=return_full_object, filters=filters
        )
        return self._walk(pager)

    def _walk(self, pager: KeyPager) -> Iterator[KeyInfo]:
        while (op := pager.next_page()) is not None:
            yield from pager.accept(self._run(op))

    def regenerate_key(
        self,
        key: str,
        request: RegenerateKeyRequest | None = None,
        /,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Unpack[RegenerateKeyParams],
    ) -> GeneratedKey:
        """Re-key an existing key (``POST /key/regenerate``); needs a LiteLLM Enterprise licence.

        A community proxy answers :class:`EnterpriseFeatureError`; rotate there by generating a
        new key and deleting the old one.
        """
        return self._run(self._core.regenerate_key(key, request, fields, extra_body))

    def block_key(self, key: str) -> KeyInfo:
        """Block a key: LLM calls with it get 401 and its info says ``revoked``."""
        return self._run(self._core.block_key(key, blocked=True))

    def unblock_key(self, key: str) -> KeyInfo:
        """Undo :meth:`block_key`."""
        return self._run(self._core.block_key(key, blocked=False))

    def health(self) -> Health:
        """``GET /health/readiness``: healthy once the proxy can reach its database."""
        return self._run(self._core.health())

    def check_admin(self) -> None:
        """Return if the credential is a proxy admin; raise :class:`PermissionDeniedError`
        (or :class:`AuthenticationError` for a refused key) otherwise. Changes nothing."""
        return self._run(self._core.check_admin())


class AsyncLiteLLMClient:
    """The asyncio twin of :class:`LiteLLMClient`: same arguments, methods are coroutines.

    ``list_keys`` returns an async iterator; ``http_client`` is an ``httpx.AsyncClient``;
    ``sleep`` is awaited (``asyncio.sleep``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        verify: bool | str | ssl.SSLContext = True,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._core = Core(
            base_url,
            api_key,
            max_retries=max_retries,
            backoff=backoff or Backoff(),
            headers=headers,
        )
        if http_client is not None:
            check_http_client(http_client.headers)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout, verify=ssl_verify(verify))
        self._sleep = sleep
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless it came from ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def _run(self, op: Op[T]) -> T:
        try:
            instruction = next(op)
            while True:
                if isinstance(instruction, Sleep):
                    await self._sleep(instruction.seconds)
                    instruction = op.send(None)
                else:
                    instruction = op.send(await self._send(instruction))
        except StopIteration as done:
            result: T = done.value
            return result
        finally:
            op.close()

    async def _send(self, spec: RequestSpec) -> Answer:
        # Any httpx failure goes back to the core, which turns it into a LiteLLMError.
        try:
            request = self._http.build_request(**self._core.request_args(spec))
            response = await self._http.send(request, stream=True)
            try:
                body = BodyReader(response, self._max_response_bytes)
                async for chunk in response.aiter_bytes():
                    body.add(chunk)
                return body.finish()
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return exc

    async def generate_key(
        self,
        request: GenerateKeyRequest | None = None,
        /,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Unpack[GenerateKeyParams],
    ) -> GeneratedKey:
        """See :meth:`LiteLLMClient.generate_key`."""
        return await self._run(self._core.generate_key(request, fields, extra_body))

    async def update_key(
        self,
        key: str,
        request: UpdateKeyRequest | None = None,
        /,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Unpack[UpdateKeyParams],
    ) -> KeyInfo:
        """See :meth:`LiteLLMClient.update_key`."""
        return await self._run(self._core.update_key(key, request, fields, extra_body))

    async def delete_keys(
        self,
        keys: Sequence[str] | None = None,
        *,
        key_aliases: Sequence[str] | None = None,
        missing_ok: bool = False,
    ) -> DeleteKeysResult:
        """See :meth:`LiteLLMClient.delete_keys`."""
        return await self._run(self._core.delete_keys(keys, key_aliases, missing_ok=missing_ok))

    async def key_info(self, key: str) -> KeyInfo:
        """See :meth:`LiteLLMClient.key_info`."""
        return await self._run(self._core.key_info(key))

    async def list_keys_page(
        self,
        page: int = 1,
        size: int = 10,
        *,
        return_full_object: bool = True,
        **filters: Unpack[ListKeysFilters],
    ) -> KeyList:
        """See :meth:`LiteLLMClient.list_keys_page`."""
        op = self._core.list_keys_page(
            page=page, size=size, return_full_object=return_full_object, filters=filters
        )
        return await self._run(op)

    def list_keys(
        self,
        *,
        page_size: int = 100,
        return_full_object: bool = True,
        **filters: Unpack[ListKeysFilters],
    ) -> AsyncIterator[KeyInfo]:
        """See :meth:`LiteLLMClient.list_keys`; iterate with ``async for``."""
        pager = KeyPager(
            self._core, page_size=page_size, return_full_object=return_full_object, filters=filters
        )
        return self._walk(pager)

    async def _walk(self, pager: KeyPager) -> AsyncIterator[KeyInfo]:
        while (op := pager.next_page()) is not None:
            for key in pager.accept(await self._run(op)):
                yield key

    async def regenerate_key(
        self,
        key: str,
        request: RegenerateKeyRequest | None = None,
        /,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Unpack[RegenerateKeyParams],
    ) -> GeneratedKey:
        """See :meth:`LiteLLMClient.regenerate_key`."""
        return await self._run(self._core.regenerate_key(key, request, fields, extra_body))

    async def block_key(self, key: str) -> KeyInfo:
        """See :meth:`LiteLLMClient.block_key`."""
        return await self._run(self._core.block_key(key, blocked=True))

    async def unblock_key(self, key: str) -> KeyInfo:
        """See :meth:`LiteLLMClient.unblock_key`."""
        return await self._run(self._core.block_key(key, blocked=False))

    async def health(self) -> Health:
        """See :meth:`LiteLLMClient.health`."""
        return await self._run(self._core.health())

    async def check_admin(self) -> None:
        """See :meth:`LiteLLMClient.check_admin`."""
        return await self._run(self._core.check_admin())
