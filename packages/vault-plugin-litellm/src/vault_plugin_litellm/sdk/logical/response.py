"""A backend's answer, translated into ``pb.Response``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .lease import Secret
from .system_view import WrapInfo


@dataclass(slots=True, kw_only=True)
class Response:
    """``data`` must be JSON-serialisable; ``None`` data on a read becomes a 404 at the host."""

    data: dict[str, Any] | None = None
    secret: Secret | None = None
    redirect: str = ""
    warnings: list[str] = field(default_factory=list)
    wrap_info: WrapInfo | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)

    def is_error(self) -> bool:
        data = self.data
        if not data or "error" not in data or not isinstance(data["error"], str):
            return False
        return len(data) == 1 or (len(data) == 2 and data.get("data") is not None)

    def add_warning(self, warning: str) -> None:
        self.warnings.append(warning)


def error_response(message: str, data: Any = None) -> Response:
    """An error response: the host answers 400 and keeps ``message``.

    The host recognises it only when ``data`` holds ``"error"`` (a string) and at most a
    non-null ``"data"``, so nothing else may be added.
    """
    body: dict[str, Any] = {"error": str(message)}
    if data is not None:
        body["data"] = data
    return Response(data=body)


def list_response(keys: Iterable[str], key_info: Mapping[str, Any] | None = None) -> Response:
    """A list response; folders end in ``/``. An empty list becomes a 404 at the host."""
    body: dict[str, Any] = {"keys": list(keys)}
    if key_info:
        body["key_info"] = dict(key_info)
    return Response(data=body)
