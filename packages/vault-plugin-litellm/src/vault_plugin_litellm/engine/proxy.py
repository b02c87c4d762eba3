"""One LiteLLM admin client per mount and config, shared by every request.

Building an httpx client loads a CA bundle and costs tens of milliseconds, so a mount keeps one
for as long as its config stands. When the config changes (a write, ``rotate-root``, or an
``InvalidateKey`` from another node) the old client is retired: requests already using it
finish, and it is closed when the last one is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Sequence

import httpx
from litellm_client import AsyncLiteLLMClient, KeyInfo, UnexpectedResponseError, to_token

from .config import EngineConfig
from .limits import OPERATION_DEADLINE

log = logging.getLogger(__name__)

AUDIT_ACTOR = "vault-plugin-litellm"
"""Sent as ``litellm-changed-by``: the proxy records it as the actor of every change."""

# One retry: a second failure is reported rather than retried into the host's deadline.
MAX_RETRIES = 1


def ssl_context(ca_cert: str) -> ssl.SSLContext | bool:
    """Verification settings for the proxy: the system's CAs, or only the given PEM bundle."""
    if not ca_cert:
        return True
    return ssl.create_default_context(cadata=ca_cert)


def make_client(config: EngineConfig) -> AsyncLiteLLMClient:
    timeout = float(config.timeout)
    return AsyncLiteLLMClient(
        config.url,
        config.admin_key,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        max_retries=MAX_RETRIES,
        verify=ssl_context(config.ca_cert),
        headers={"litellm-changed-by": AUDIT_ACTOR},
    )


class ProxyHandle:
    """A client and the config it was made for, counted while requests use it."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.client = make_client(config)
        self._users = 0
        self._retired = False
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncLiteLLMClient]:
        """The client, for one operation bounded by :data:`OPERATION_DEADLINE`."""
        self._users += 1
        self._idle.clear()
        try:
            async with asyncio.timeout(OPERATION_DEADLINE.total_seconds()):
                yield self.client
        finally:
            self._users -= 1
            if self._users == 0:
                self._idle.set()
                if self._retired:
                    await self._close()

    async def retire(self) -> None:
        """No new requests will use this client; close it once the current ones are done."""
        self._retired = True
        if self._users == 0:
            await self._close()

    async def drained(self) -> None:
        """Wait until no request uses the client (bound it with ``asyncio.timeout``)."""
        await self._idle.wait()

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.client.aclose()
        except Exception:  # closing must never fail a request
            log.warning("closing a retired LiteLLM client failed", exc_info=True)


async def delete_tokens(client: AsyncLiteLLMClient, tokens: Sequence[str]) -> None:
    """Delete keys by token; keys already gone count as deleted.

    The proxy's 200 echoes the list it was sent (docs/litellm-api.md §4.3). A 200 that does not
    is no answer of the proxy's (another service at the URL, a gateway's page): nothing says
    the keys are gone, so it is an error, never a deletion.
    """
    result = await client.delete_keys(list(tokens), missing_ok=True)
    if result.none_found:
        return
    echoed = {to_token(name) for name in result.deleted_keys}
    unconfirmed = [token for token in tokens if token not in echoed]
    if unconfirmed:
        raise UnexpectedResponseError(
            f"HTTP 200 but not the documented answer: /key/delete did not confirm "
            f"{len(unconfirmed)} of {len(tokens)} keys",
            status=200,
            method="POST",
            path="/key/delete",
        )


def check_updated(info: KeyInfo, token: str) -> KeyInfo:
    """``info`` if it is the proxy's answer to updating ``token``'s expiry (§4.2: the row, with
    its token and the new expiry); any other 200 changed nothing anyone can vouch for."""
    if info.token != token or info.expires is None:
        raise UnexpectedResponseError(
            "HTTP 200 but not the documented answer: /key/update did not return the key's "
            "token and new expiry",
            status=200,
            method="POST",
            path="/key/update",
        )
    return info
