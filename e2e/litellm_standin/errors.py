"""The proxy's error envelopes (docs/litellm-api.md §6) and how each route renders its failures.

Handlers raise :class:`HTTPProblem` where the real proxy raises a plain HTTP exception; the route
then renders it the way the real route does (:func:`as_internal`, :func:`as_auth_error`, ...),
which is where the Python dict-repr messages and the odd ``type`` labels come from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

JsonObject = dict[str, Any]

DICT_OR_TEXT = str | Mapping[str, object]

ENTERPRISE_NOTICE = (
    "You must be a LiteLLM Enterprise user to use this feature. If you have a license please set "
    "`LITELLM_LICENSE` in your env. Get a 7 day trial key here: "
    "https://www.litellm.ai/enterprise#trial. \nPricing: https://www.litellm.ai/#pricing"
)


class StandInError(Exception):
    """Anything that ends a request with an error response."""

    status: int
    headers: Mapping[str, str] = {}

    def body(self) -> object:
        raise NotImplementedError


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
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.param = param
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> object:
        error: JsonObject = {
            "message": self.message,
            "type": self.error_type,
            "param": self.param,
            "code": str(self.status),
        }
        error.update(self.extra)
        return {"error": error}


class DetailError(StandInError):
    """Shape C: ``{"detail": <string or object>}``."""

    def __init__(self, status: int, detail: DICT_OR_TEXT) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail

    def body(self) -> object:
        return {"detail": self.detail}


class ValidationFailure(StandInError):
    """Shape B: request validation, 422 ``{"detail": [{"type", "loc", "msg"}, ...]}``."""

    status = 422

    def __init__(self, errors: Sequence[Mapping[str, object]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = [dict(error) for error in errors]

    def body(self) -> object:
        return {"detail": self.errors}


class InternalError(StandInError):
    """Shape D: an unhandled exception, 500 without ``param`` or ``code``."""

    status = 500

    def body(self) -> object:
        return {"error": {"message": "Internal server error", "type": "internal_server_error"}}


class HTTPProblem(Exception):
    """An HTTP exception raised inside a handler; its route decides how it is rendered."""

    def __init__(self, status: int, detail: DICT_OR_TEXT) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail

    @property
    def text(self) -> str:
        # str() of a dict detail is the Python repr the real proxy puts in ``message``.
        return str(dict(self.detail)) if isinstance(self.detail, Mapping) else self.detail


def as_internal(problem: HTTPProblem, param: str | None = None) -> ProxyError:
    """Most routes: the detail as message, labelled ``internal_server_error`` whatever the code."""
    return ProxyError(problem.status, problem.text, "internal_server_error", param)


def as_auth_error(problem: HTTPProblem) -> ProxyError:
    """``/key/update`` relabels its HTTP exceptions as ``auth_error`` with param ``"None"``."""
    return ProxyError(problem.status, problem.text, "auth_error", "None")


def enterprise_only(feature: str) -> HTTPProblem:
    return HTTPProblem(
        403,
        {
            "error": "This feature is only available for LiteLLM Enterprise users: "
            f"{feature}. {ENTERPRISE_NOTICE}"
        },
    )


def not_found(message: str, param: str = "key") -> ProxyError:
    return ProxyError(404, message, "not_found_error", param)


def bad_request(message: str, param: str | None) -> ProxyError:
    return ProxyError(400, message, "bad_request_error", param)


def auth_failure(message: str, status: int = 401) -> ProxyError:
    """What the auth layer makes of a plain exception: "Authentication Error, " + its text."""
    return ProxyError(status, f"Authentication Error, {message}", "auth_error", "None")
