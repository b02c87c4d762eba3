"""Methods kept for parity with Go's SDK (a plugin ported from Go finds them) that the runtime
and the example plugin do not call themselves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import Message as ProtoMessage
from vault_plugin_litellm.sdk.framework import FieldData, FieldSchema, FieldType
from vault_plugin_litellm.sdk.grpc.hpack import Header
from vault_plugin_litellm.sdk.grpc.server import Message, MessageType
from vault_plugin_litellm.sdk.logical import LeaseOptions, Response, StaticSystemView
from vault_plugin_litellm.sdk.plugin.system_view_client import GrpcSystemView
from vault_plugin_proto.pb import backend_pb2 as pb

M = TypeVar("M")


def test_get_default_or_zero_ignores_what_was_sent() -> None:
    schema = {
        "greeting": FieldSchema(FieldType.STRING, default="hello"),
        "count": FieldSchema(FieldType.INT),
        "tags": FieldSchema(FieldType.COMMA_STRING_SLICE),
    }
    data = FieldData({"greeting": "hi", "count": 3}, schema)
    assert data.get_default_or_zero("greeting") == "hello"
    assert data.get_default_or_zero("count") == 0
    assert data.get_default_or_zero("tags") == []


def test_expiration_time_needs_an_issue_time_and_a_ttl() -> None:
    issued = datetime(2030, 1, 1, tzinfo=UTC)
    lease = LeaseOptions(ttl=timedelta(minutes=5), issue_time=issued)
    assert lease.expiration_time() == issued + timedelta(minutes=5)
    assert LeaseOptions(ttl=timedelta(minutes=5)).expiration_time() is None
    assert LeaseOptions(issue_time=issued).expiration_time() is None


def test_add_warning_appends() -> None:
    response = Response(data={"a": 1})
    response.add_warning("first")
    response.add_warning("second")
    assert response.warnings == ["first", "second"]
    assert not response.is_error()


class Replies:
    """A broker connection that answers each system-view method with a fixed reply."""

    def __init__(self, **replies: ProtoMessage) -> None:
        self.replies = replies
        self.paths: list[str] = []

    async def call(
        self,
        path: str,
        request: Message,
        response_type: MessageType[M],
        *,
        metadata: Iterable[Header] = (),
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> M:
        self.paths.append(path)
        reply = self.replies[path.rsplit("/", 1)[1]]
        return response_type.FromString(reply.SerializeToString())


async def test_caching_disabled_and_mlock_enabled() -> None:
    static = StaticSystemView(is_caching_disabled=True)
    assert await static.caching_disabled() is True
    assert await static.mlock_enabled() is False

    conn = Replies(
        CachingDisabled=pb.CachingDisabledReply(disabled=True),
        MlockEnabled=pb.MlockEnabledReply(enabled=True),
    )
    view = GrpcSystemView(conn)
    assert await view.caching_disabled() is True
    assert await view.mlock_enabled() is True
    assert conn.paths == ["/pb.SystemView/CachingDisabled", "/pb.SystemView/MlockEnabled"]
