"""``pb.SystemView`` on the host, as a :class:`~..logical.SystemView`."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from google.protobuf.message import Message
from vault_plugin_proto.logical import identity_pb2
from vault_plugin_proto.pb import backend_pb2 as pb

from ..grpc import RpcError
from ..grpc.channel import UnaryCaller
from ..grpc.server import MessageType
from ..logical import Alias, Entity, Group, LogicalError, PluginEnvironment
from .host_service import HostService
from .translate import ns_to_timedelta

R = TypeVar("R")


class SystemViewError(LogicalError):
    """The host could not answer a system-view question."""


def _alias(msg: identity_pb2.Alias) -> Alias:
    return Alias(
        id=msg.ID,
        mount_type=msg.mount_type,
        mount_accessor=msg.mount_accessor,
        name=msg.name,
        metadata=dict(msg.metadata),
        custom_metadata=dict(msg.custom_metadata),
    )


def _failure(method: str, exc: RpcError) -> SystemViewError:
    return SystemViewError(f"system view {method}: {exc.message or exc}")


class GrpcSystemView:
    """Unlike Go's client, failures raise instead of reading as zero: a lease computed
    from a TTL of 0 would be silently wrong."""

    def __init__(self, conn: UnaryCaller) -> None:
        self._host = HostService(conn, "SystemView", "system view", _failure, SystemViewError)

    async def _call(self, method: str, request: Message, reply_type: MessageType[R]) -> R:
        return await self._host.call(method, request, reply_type)

    async def default_lease_ttl(self) -> timedelta:
        reply = await self._call("DefaultLeaseTTL", pb.Empty(), pb.TTLReply)
        return ns_to_timedelta(reply.TTL)

    async def max_lease_ttl(self) -> timedelta:
        reply = await self._call("MaxLeaseTTL", pb.Empty(), pb.TTLReply)
        return ns_to_timedelta(reply.TTL)

    async def tainted(self) -> bool:
        return (await self._call("Tainted", pb.Empty(), pb.TaintedReply)).tainted

    async def caching_disabled(self) -> bool:
        return (await self._call("CachingDisabled", pb.Empty(), pb.CachingDisabledReply)).disabled

    async def replication_state(self) -> int:
        return (await self._call("ReplicationState", pb.Empty(), pb.ReplicationStateReply)).state

    async def local_mount(self) -> bool:
        return (await self._call("LocalMount", pb.Empty(), pb.LocalMountReply)).local

    async def mlock_enabled(self) -> bool:
        return (await self._call("MlockEnabled", pb.Empty(), pb.MlockEnabledReply)).enabled

    async def entity_info(self, entity_id: str) -> Entity | None:
        reply = await self._host.checked_call(
            "EntityInfo", pb.EntityInfoArgs(entity_id=entity_id), pb.EntityInfoReply
        )
        if not reply.HasField("entity"):
            return None
        msg = reply.entity
        return Entity(
            id=msg.ID,
            name=msg.name,
            disabled=msg.disabled,
            metadata=dict(msg.metadata),
            aliases=[_alias(a) for a in msg.aliases],
            namespace_id=msg.namespace_id,
        )

    async def groups_for_entity(self, entity_id: str) -> list[Group]:
        reply = await self._host.checked_call(
            "GroupsForEntity", pb.EntityInfoArgs(entity_id=entity_id), pb.GroupsForEntityReply
        )
        return [
            Group(id=g.ID, name=g.name, metadata=dict(g.metadata), namespace_id=g.namespace_id)
            for g in reply.groups
        ]

    async def plugin_env(self) -> PluginEnvironment:
        reply = await self._host.checked_call("PluginEnv", pb.Empty(), pb.PluginEnvReply)
        env = reply.plugin_environment
        return PluginEnvironment(
            vault_version=env.vault_version,
            vault_version_prerelease=env.vault_version_prerelease,
            vault_version_metadata=env.vault_version_metadata,
        )

    async def generate_password_from_policy(self, policy_name: str) -> str:
        reply = await self._call(
            "GeneratePasswordFromPolicy",
            pb.GeneratePasswordFromPolicyRequest(policy_name=policy_name),
            pb.GeneratePasswordFromPolicyReply,
        )
        return reply.password

    async def cluster_id(self) -> str:
        reply = await self._host.checked_call("ClusterInfo", pb.Empty(), pb.ClusterInfoReply)
        return reply.cluster_id

    async def generate_identity_token(self, audience: str, ttl: timedelta) -> tuple[str, timedelta]:
        """A plugin identity token (Vault only; OpenBao answers UnsupportedByHostError).

        Unlike every other duration in the protocol, this one travels in whole seconds.
        """
        reply = await self._call(
            "GenerateIdentityToken",
            pb.GenerateIdentityTokenRequest(audience=audience, ttl=int(ttl.total_seconds())),
            pb.GenerateIdentityTokenResponse,
        )
        return reply.token, timedelta(seconds=reply.ttl)
