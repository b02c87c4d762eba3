"""LiteLLM's answers, as the host's callers should see them.

- bad input the proxy refused: 400, with the proxy's reason;
- a setting that needs a LiteLLM Enterprise licence: 400 that says so;
- the admin key refused: 403, telling the operator to fix ``config``;
- the proxy unreachable, slow or failing (5xx, garbage, a 404 nobody expected): 500 naming
  the proxy.

Messages never carry key material: the client masks anything shaped like a key in what the
proxy says, and the engine only ever adds tokens (hashes) and aliases.
"""

from __future__ import annotations

import functools

from litellm_client import (
    AuthenticationError,
    BadRequestError,
    EnterpriseFeatureError,
    LiteLLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    redact,
)

from vault_plugin_litellm.sdk.framework import FieldData, OperationFunc
from vault_plugin_litellm.sdk.logical import (
    CodedError,
    LogicalError,
    Request,
    Response,
    error_response,
)

from .limits import OPERATION_DEADLINE

MAX_DETAIL = 1000
"""Characters of the proxy's own message kept in an answer: whatever answers at the proxy's URL
chooses its size, and the host hands the answer to the caller and to its audit devices."""


class Refusal(Exception):
    """Bad input, answered as a 400 error response that keeps the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def answer_refusals(handler: OperationFunc) -> OperationFunc:
    """Answer a :class:`Refusal` raised anywhere in ``handler`` as a 400 error response."""

    @functools.wraps(handler)
    async def answered(req: Request, data: FieldData) -> Response | None:
        try:
            return await handler(req, data)
        except Refusal as exc:
            return error_response(exc.message)

    return answered


def config_hint(mount_point: str) -> str:
    return f"write a working proxy_admin key to {mount_point or '<mount>/'}config"


def from_proxy_error(
    exc: BaseException, *, action: str, url: str, mount_point: str = ""
) -> LogicalError | Refusal:
    """The error to answer for ``exc``, raised while ``action`` (e.g. "minting a key")."""
    if isinstance(exc, TimeoutError) and not isinstance(exc, LiteLLMError):
        seconds = int(OPERATION_DEADLINE.total_seconds())
        return LogicalError(
            f"LiteLLM proxy at {url} did not finish {action} within {seconds} s; "
            "the operation was abandoned"
        )
    if not isinstance(exc, LiteLLMError):
        return LogicalError(f"{action} failed: internal error ({type(exc).__name__})")
    detail = redact(exc.message)
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL] + f"... ({len(detail) - MAX_DETAIL} more characters)"
    if isinstance(exc, EnterpriseFeatureError):
        return Refusal(
            f"LiteLLM refused {action}: the proxy needs a LiteLLM Enterprise licence for a "
            f"setting in this request ({detail}); remove it from the role or license the proxy"
        )
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return CodedError(
            403,
            f"LiteLLM at {url} refused the engine's admin key while {action}: {detail}; "
            f"{config_hint(mount_point)}",
        )
    if isinstance(exc, BadRequestError):
        return Refusal(f"LiteLLM refused {action}: {detail}")
    if isinstance(exc, NotFoundError):
        # Never a 404 of our own: the host would read it as "no such path" (a CLI read prints
        # "No value found" and drops the message). Callers handle the 404s they expect.
        return LogicalError(
            f"LiteLLM proxy at {url} answered 404 while {action}: {detail}; check that url is "
            "the proxy's base URL"
        )
    if isinstance(exc, RateLimitError):
        return CodedError(429, f"LiteLLM at {url} is rate limiting {action}: {detail}")
    status = f"HTTP {exc.status}" if exc.status is not None else "no answer"
    return LogicalError(f"LiteLLM proxy at {url} failed while {action} ({status}): {detail}")
