"""What every handler gets: the server's state and one parsed request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from e2e.litellm_standin.catalog import Model
from e2e.litellm_standin.store import Store


@dataclass
class Context:
    master_key: str
    models: Mapping[str, Model]
    store: Store = field(default_factory=Store)
    # general_settings.disable_custom_api_keys: generate refuses a caller's own ``key`` (403).
    disable_custom_api_keys: bool = False


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: Any  # parsed JSON (a dict for every route that gets this far), or None if empty

    def param(self, name: str) -> str | None:
        """A query parameter; the last value wins when it is repeated, as in Starlette."""
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def changed_by(self) -> str | None:
        return self.header("litellm-changed-by")

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Response:
    status: int
    body: object
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: list[str] | None = None  # server-sent events, for stream=true completions
