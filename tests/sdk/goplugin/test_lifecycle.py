"""When the process stops, and go-plugin's own services (health, controller, stdio)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.goplugin import Lifecycle, lifecycle, services
from vault_plugin_litellm.sdk.grpc import (
    ClientConnection,
    RpcError,
    Server,
    StatusCode,
    connect_unix,
)
from vault_plugin_proto.goplugin import grpc_controller_pb2, grpc_stdio_pb2


async def test_the_first_stop_reason_wins() -> None:
    life = Lifecycle()
    life.request_stop("the host asked to shut down")
    life.request_stop("the host closed the broker")
    assert life.stopping.is_set()
    assert life.reason == "the host asked to shut down"


async def test_hooks_run_in_order_and_a_failure_or_hang_does_not_stop_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "CLEANUP_BUDGET", 0.05)
    life = Lifecycle()
    ran: list[str] = []

    async def fails() -> None:
        ran.append("fails")
        raise RuntimeError("cleanup broke")

    async def hangs() -> None:
        ran.append("hangs")
        await asyncio.Event().wait()

    async def works() -> None:
        ran.append("works")

    for hook in (fails, hangs, works):
        life.on_stop(hook)
    await life.run_hooks()
    assert ran == ["fails", "hangs", "works"]


async def test_expect_stops_only_when_the_event_is_late() -> None:
    life = Lifecycle()
    event = asyncio.Event()
    event.set()
    await life.expect(event, 5, "broker stream")
    assert not life.stopping.is_set()
    await life.expect(asyncio.Event(), 0.05, "broker stream from the host")
    assert life.reason == "no broker stream from the host within 0 s"


async def test_watch_parent_stops_when_the_parent_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    parents = iter([4242, 4242, 1])
    monkeypatch.setattr(os, "getppid", lambda: next(parents))
    life = Lifecycle()
    await asyncio.wait_for(life.watch_parent(interval=0.01), 5)
    assert life.reason == "the host process exited"


async def test_a_parent_lost_before_the_watcher_started_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The host read the handshake and died before the watcher's first look: the parent is
    # the one the process had when the Lifecycle was made, not the one the watcher first sees.
    parents = iter([4242, 1])
    monkeypatch.setattr(os, "getppid", lambda: next(parents))
    life = Lifecycle()
    await asyncio.wait_for(life.watch_parent(interval=30), 5)
    assert life.reason == "the host process exited"


async def test_watch_parent_returns_once_stopping() -> None:
    life = Lifecycle()
    watcher = asyncio.ensure_future(life.watch_parent(interval=30))
    await asyncio.sleep(0)
    life.request_stop("done")
    await asyncio.wait_for(watcher, 5)  # woken by the stop, not by the 30 s interval
    assert life.reason == "done"


# -- services ---------------------------------------------------------------------------------
@pytest.fixture
async def served(sock_dir: str) -> AsyncIterator[tuple[Lifecycle, ClientConnection, str]]:
    life = Lifecycle()
    server = Server()
    services.register(server, life)
    path = os.path.join(sock_dir, "svc.sock")
    await server.listen_unix(path)
    conn = await connect_unix(path)
    yield life, conn, path
    conn.close()
    life.request_stop("test over")
    await server.stop(grace=0.1)


async def test_health(served: tuple[Lifecycle, ClientConnection, str]) -> None:
    _, conn, _ = served
    for service in ("", "plugin"):
        reply = await conn.call(
            "/grpc.health.v1.Health/Check",
            health_pb2.HealthCheckRequest(service=service),
            health_pb2.HealthCheckResponse,
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(RpcError) as info:
        await conn.call(
            "/grpc.health.v1.Health/Check",
            health_pb2.HealthCheckRequest(service="other"),
            health_pb2.HealthCheckResponse,
        )
    assert info.value.code == StatusCode.NOT_FOUND


@given(service=st.text(max_size=40), status=st.sampled_from([0, 1, 2, 3]))
def test_health_messages_are_wire_identical_to_grpc_health(service: str, status: int) -> None:
    request = health_pb2.HealthCheckRequest(service=service).SerializeToString()
    assert services.HealthCheckRequest(value=service).SerializeToString() == request
    assert services.HealthCheckRequest.FromString(request).value == service
    response = services.HealthCheckResponse(value=status).SerializeToString()
    assert health_pb2.HealthCheckResponse.FromString(response).status == status
    assert services.HealthCheckResponse.FromString(response).value == status
    assert health_pb2.HealthCheckResponse.SERVING == services.SERVING


async def test_shutdown_replies_then_stops(served: tuple[Lifecycle, ClientConnection, str]) -> None:
    life, conn, _ = served
    reply = await conn.call(
        "/plugin.GRPCController/Shutdown", grpc_controller_pb2.Empty(), grpc_controller_pb2.Empty
    )
    assert reply == grpc_controller_pb2.Empty()
    assert life.stopping.is_set()
    assert life.reason == "the host asked to shut down"


async def test_stdio_stream_stays_open_and_silent_until_stop(
    served: tuple[Lifecycle, ClientConnection, str],
) -> None:
    life, _, path = served
    async with grpc.aio.insecure_channel(f"unix:{path}") as channel:
        stream = channel.unary_stream(
            "/plugin.GRPCStdio/StreamStdio",
            request_serializer=empty_pb2.Empty.SerializeToString,
            response_deserializer=grpc_stdio_pb2.StdioData.FromString,
        )
        call = stream(empty_pb2.Empty())
        reading = asyncio.ensure_future(call.read())
        # A unary call on the same channel after the stream opened: the stream is still open.
        health = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        await health(health_pb2.HealthCheckRequest())
        assert not reading.done()
        life.request_stop("test")
        assert await asyncio.wait_for(reading, 5) == grpc.aio.EOF
        assert await call.code() == grpc.StatusCode.OK
