"""The mount's connection to LiteLLM, as stored under ``config`` (seal-wrapped).

The admin key lives only here: never in another storage entry, a response, a log line or an
error message. Everything else in the entry is returned by a ``config`` read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CONFIG_KEY = "config"


class AdminKeyType(StrEnum):
    """What the configured admin key is, as the proxy answered when it was verified."""

    MASTER_KEY = "master_key"  # the proxy's own master key: works, cannot be rotated by API
    VIRTUAL_KEY = "virtual_key"  # a proxy_admin virtual key: rotate-root can replace it
    UNVERIFIED = "unverified"  # written with verify_connection=false


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    url: str
    admin_key: str
    ca_cert: str = ""
    timeout: int = 30  # seconds, per attempt
    verify_connection: bool = True
    tidy_interval: int = 0  # seconds; 0 = no scheduled tidy
    admin_key_type: AdminKeyType = AdminKeyType.UNVERIFIED
    admin_user_id: str = ""
    admin_key_rotated_at: str = ""

    def to_storage(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["admin_key_type"] = self.admin_key_type.value
        return out

    @classmethod
    def from_storage(cls, raw: object) -> EngineConfig:
        if not isinstance(raw, dict):
            raise ValueError("the stored config is not a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in names}
        kind = values.get("admin_key_type", AdminKeyType.UNVERIFIED.value)
        try:
            values["admin_key_type"] = AdminKeyType(kind)
        except ValueError:
            values["admin_key_type"] = AdminKeyType.UNVERIFIED
        return cls(**values)

    def public(self) -> dict[str, Any]:
        """What a ``config`` read returns: everything but the admin key."""
        out = self.to_storage()
        del out["admin_key"]
        return out

    def connection_settings(self) -> tuple[str, str, str, int]:
        """What a client depends on: a change to any of these needs a new client."""
        return (self.url, self.admin_key, self.ca_cert, self.timeout)
