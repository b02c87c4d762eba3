"""What every handler gets: the server's state and one parsed request, and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.litellm_standin.store import Store


@dataclass(frozen=True)
class Model:
    """A mock model: a call never reaches a provider and always reports 10 prompt and 20
    completion tokens. A model without prices costs nothing, so budgets never bite on it."""

    name: str
    input_cost_per_token: float = 0.0
    output_cost_per_token: float = 0.0
    mock_response: str = "Hello from the mock model"

    @property
    def priced(self) -> bool:
        return self.input_cost_per_token > 0 or self.output_cost_per_token > 0


# The two priced mock models of ci/litellm-config.yaml, which the real proxies in CI serve too.
DEFAULT_MODELS: tuple[Model, ...] = (
    Model("fake-gpt", 0.001, 0.002, "Hello from the mock model"),
    Model("fake-other", 0.001, 0.002, "Other mock"),
)


@dataclass
class Context:
    master_key: str
    version: str
    models: Mapping[str, Model]
    store: Store = field(default_factory=Store)
    # general_settings.disable_custom_api_keys: generate refuses a caller's own ``key`` (403).
    disable_custom_api_keys: bool = False


@dataclass(frozen=True)
class Request:
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: Any  # the parsed JSON object, or None when there was no body

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class Response:
    status: int
    body: object
    headers: Mapping[str, str] = field(default_factory=dict)
