"""The proxy's error envelopes (docs/litellm-api.md §6), and the stand-in's own refusal.

Handlers raise :class:`HTTPProblem` where the real proxy raises a plain HTTP exception; the route
renders it as the real route does (:func:`as_internal` on most routes, :func:`as_auth_error` on
update), which is where the Python dict-repr messages and the odd ``type`` labels come from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ENTERPRISE_NOTICE = (
    "You must be a LiteLLM Enterprise user to use this feature. If you have a license please set "
    "`LITELLM_LICENSE` in your env. Get a 7 day trial key here: "
    "https://www.litellm.ai/enterprise#trial. \nPricing: https://www.litellm.ai/#pricing"
)


class StandInError(Exception):
    """Ends a request with this answer; by default shape D, an unhandled exception's 500."""

    def __init__(
        self, status: int = 500, body: object = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status)
        internal = {"error": {"message": "Internal server error", "type": "internal_server_error"}}
        self.status, self.body = status, internal if body is None else body
        self.headers = dict(headers or {})


class ProxyError(StandInError):
    """Shape A: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        error_type: str,
        param: str | None = None,
        *,
        extra: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        error = {"message": message, "type": error_type, "param": param, "code": str(status)}
        super().__init__(status, {"error": {**error, **(extra or {})}}, headers)


class DetailError(StandInError):
    """Shape C: ``{"detail": <string or object>}``."""

    def __init__(self, status: int, detail: str | Mapping[str, object]) -> None:
        super().__init__(status, {"detail": detail})


class ValidationFailure(StandInError):
    """Shape B: request validation, 422 ``{"detail": [{"type", "loc", "msg"}, ...]}``."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(422, {"detail": [dict(error) for error in errors]})


class NotModelled(ProxyError):
    """A request the stand-in cannot answer as the real proxy would: refused, never guessed.

    501 with type ``standin_not_modelled``, which the real proxy never sends, so a test that
    strays outside what the stand-in imitates fails loudly instead of passing on made-up answers.
    """

    def __init__(self, what: str, param: str | None = None) -> None:
        message = f"LiteLLM stand-in: {what} is not modelled; test this against a real proxy"
        super().__init__(501, message, "standin_not_modelled", param)


class HTTPProblem(Exception):
    """An HTTP exception raised inside a handler; its route decides how it is rendered."""

    def __init__(self, status: int, detail: str | Mapping[str, object]) -> None:
        super().__init__(status)
        # str() of a dict detail is the Python repr the real proxy puts in ``message``.
        self.status, self.text = (
            status,
            str(dict(detail)) if isinstance(detail, Mapping) else detail,
        )


def as_internal(problem: HTTPProblem) -> ProxyError:
    """Most routes: the detail as message, labelled ``internal_server_error`` whatever the code."""
    return ProxyError(problem.status, problem.text, "internal_server_error")


def as_auth_error(problem: HTTPProblem) -> ProxyError:
    """``/key/update`` relabels its HTTP exceptions as ``auth_error`` with param ``"None"``."""
    return ProxyError(problem.status, problem.text, "auth_error", "None")


def enterprise_only(feature: str) -> HTTPProblem:
    message = f"This feature is only available for LiteLLM Enterprise users: {feature}. "
    return HTTPProblem(403, {"error": message + ENTERPRISE_NOTICE})


def auth_failure(message: str) -> ProxyError:
    """What the auth layer makes of a plain exception: "Authentication Error, " + its text."""
    return ProxyError(401, f"Authentication Error, {message}", "auth_error", "None")
