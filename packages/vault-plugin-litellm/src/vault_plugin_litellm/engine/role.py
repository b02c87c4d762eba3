"""A role: the settings every key minted from it gets, stored under ``roles/<name>``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .alias_template import DEFAULT_ALIAS_TEMPLATE

ROLE_PREFIX = "roles/"

# Typed role fields that go into /key/generate as they are, when set.
PASSTHROUGH_FIELDS = (
    "max_budget",
    "budget_duration",
    "soft_budget",
    "tpm_limit",
    "rpm_limit",
    "max_parallel_requests",
)
TYPED_FIELDS = (
    "models",
    "allow_all_models",
    *PASSTHROUGH_FIELDS,
    "team_id",
    "user_id",
    "metadata",
    "tags",
)
# The engine sets these itself on every key: a role may not.
ENGINE_FIELDS = ("key", "key_alias", "duration", "expires")
METADATA_PREFIX = "vault_"
"""Metadata keys the engine stamps on every key start with this; roles may not use it."""

DEFAULT_KEY_TYPE = "llm_api"
"""Minted keys may call LLM routes only, unless ``key_request`` says otherwise: a consumer's key
has no business on the proxy's management routes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    name: str
    models: tuple[str, ...] = ()
    allow_all_models: bool = False
    max_budget: float | None = None
    budget_duration: str | None = None
    soft_budget: float | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_parallel_requests: int | None = None
    team_id: str = ""
    user_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    key_alias_template: str = DEFAULT_ALIAS_TEMPLATE
    ttl: int = 0  # seconds; 0 = the mount's default
    max_ttl: int = 0  # seconds; 0 = the mount's maximum
    key_request: dict[str, Any] = field(default_factory=dict)

    def to_storage(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["models"] = list(self.models)
        out["tags"] = list(self.tags)
        del out["name"]
        return out

    @classmethod
    def from_storage(cls, name: str, raw: object) -> Role:
        if not isinstance(raw, dict):
            raise ValueError(f"the stored role {name!r} is not a JSON object")
        names = {f.name for f in dataclasses.fields(cls)} - {"name"}
        values: dict[str, Any] = {k: v for k, v in raw.items() if k in names}
        for key in ("models", "tags"):
            if key in values:
                values[key] = tuple(values[key])
        for key in ("metadata", "key_request"):
            if key in values:
                values[key] = dict(values[key])
        return cls(name=name, **values)

    def public(self) -> dict[str, Any]:
        """What a role read returns (unset optional settings as null)."""
        return self.to_storage()

    def effective_models(self) -> list[str]:
        """The models minted keys may use; empty means every model (``allow_all_models``)."""
        if self.models:
            return list(self.models)
        from_request = self.key_request.get("models")
        return list(from_request) if isinstance(from_request, list) else []

    def generate_fields(self, *, user_id: str, team_id: str) -> dict[str, Any]:
        """The role's part of the ``/key/generate`` body (without the engine's own fields).

        ``user_id``/``team_id`` are the role's templates already filled for the caller.
        ``key_request`` goes first, so the typed settings (which it may not repeat) are
        authoritative; metadata is merged by :meth:`key_metadata`.
        """
        body: dict[str, Any] = {"key_type": DEFAULT_KEY_TYPE} if not self._sets_routes() else {}
        body.update(self.key_request)
        body.pop("metadata", None)
        models = self.effective_models()
        body["models"] = models  # always explicit: the proxy's defaults must not fill it in
        for name in PASSTHROUGH_FIELDS:
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if user_id:
            body["user_id"] = user_id
        if team_id:
            body["team_id"] = team_id
        if self.tags:
            body["tags"] = list(self.tags)
        return body

    def key_metadata(self, stamps: dict[str, str]) -> dict[str, Any]:
        """The role's metadata (typed, else ``key_request``'s) under the engine's stamps."""
        base: dict[str, Any] = dict(self.metadata)
        if not base and isinstance(self.key_request.get("metadata"), dict):
            base = dict(self.key_request["metadata"])
        return {**base, **stamps}

    def _sets_routes(self) -> bool:
        return "key_type" in self.key_request or "allowed_routes" in self.key_request
