"""What a backend may ask the host about its mount, and a static stand-in for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

DEFAULT_LEASE_TTL = timedelta(days=32)  # both hosts' default for mounts that were not tuned


@dataclass(slots=True, kw_only=True)
class Alias:
    id: str = ""
    mount_type: str = ""
    mount_accessor: str = ""
    name: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    custom_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Entity:
    id: str = ""
    name: str = ""
    disabled: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    aliases: list[Alias] = field(default_factory=list)
    namespace_id: str = ""


@dataclass(slots=True, kw_only=True)
class Group:
    id: str = ""
    name: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    namespace_id: str = ""


@dataclass(slots=True, kw_only=True)
class PluginEnvironment:
    vault_version: str = ""
    vault_version_prerelease: str = ""
    vault_version_metadata: str = ""


@dataclass(slots=True, kw_only=True)
class WrapInfo:
    """The response-wrapping token the host minted (``pb.ResponseWrapInfo``)."""

    ttl: timedelta = timedelta(0)
    token: str = ""
    accessor: str = ""
    creation_path: str = ""
    format: str = ""
    seal_wrap: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class SystemView(Protocol):
    """The host's facts about this mount (``pb.SystemView``). TTLs are ``timedelta``."""

    async def default_lease_ttl(self) -> timedelta: ...

    async def max_lease_ttl(self) -> timedelta: ...

    async def tainted(self) -> bool: ...

    async def caching_disabled(self) -> bool: ...

    async def replication_state(self) -> int: ...

    async def local_mount(self) -> bool: ...

    async def mlock_enabled(self) -> bool: ...

    async def entity_info(self, entity_id: str) -> Entity | None: ...

    async def groups_for_entity(self, entity_id: str) -> list[Group]: ...

    async def plugin_env(self) -> PluginEnvironment: ...

    async def generate_password_from_policy(self, policy_name: str) -> str: ...

    async def cluster_id(self) -> str: ...


@dataclass(slots=True, kw_only=True)
class StaticSystemView:
    """A :class:`SystemView` answered from fields; for tests and in-process harnesses."""

    default_ttl: timedelta = DEFAULT_LEASE_TTL
    max_ttl: timedelta = DEFAULT_LEASE_TTL
    is_tainted: bool = False
    is_caching_disabled: bool = False
    replication: int = 0
    is_local_mount: bool = False
    entities: dict[str, Entity] = field(default_factory=dict)
    groups: dict[str, list[Group]] = field(default_factory=dict)
    env: PluginEnvironment = field(default_factory=PluginEnvironment)
    passwords: dict[str, str] = field(default_factory=dict)
    cluster: str = ""

    async def default_lease_ttl(self) -> timedelta:
        return self.default_ttl

    async def max_lease_ttl(self) -> timedelta:
        return self.max_ttl

    async def tainted(self) -> bool:
        return self.is_tainted

    async def caching_disabled(self) -> bool:
        return self.is_caching_disabled

    async def replication_state(self) -> int:
        return self.replication

    async def local_mount(self) -> bool:
        return self.is_local_mount

    async def mlock_enabled(self) -> bool:
        return False

    async def entity_info(self, entity_id: str) -> Entity | None:
        return self.entities.get(entity_id)

    async def groups_for_entity(self, entity_id: str) -> list[Group]:
        return list(self.groups.get(entity_id, []))

    async def plugin_env(self) -> PluginEnvironment:
        return self.env

    async def generate_password_from_policy(self, policy_name: str) -> str:
        try:
            return self.passwords[policy_name]
        except KeyError:
            raise LookupError(f"password policy {policy_name!r} not found") from None

    async def cluster_id(self) -> str:
        return self.cluster
