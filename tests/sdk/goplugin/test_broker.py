"""The broker: ConnInfo announcements on the host's stream, and dials to its listeners."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.goplugin import Broker, BrokerError, ConnInfo, tls
from vault_plugin_litellm.sdk.grpc import Server, ServerContext
from vault_plugin_proto.goplugin import grpc_broker_pb2

MAX = 2**31 - 1


async def _host_broker_ours(path: str, host: tls.Identity, plugin: tls.Identity) -> Server:
    """The host's broker listener, played by our own Server (any certificate, P-521 included)."""
    server = Server()

    async def whoami(req: StringValue, ctx: ServerContext) -> StringValue:
        return StringValue(value=f"ours:{req.value}")

    server.add_unary("/t.Broker/WhoAmI", StringValue, whoami)
    await server.listen_unix(path, tls.server_context(host, plugin.cert_pem.decode()))
    return server


@pytest.fixture
async def ours_broker(
    sock_dir: str, plugin_identity: tls.Identity, p521_host: tls.Identity
) -> AsyncIterator[tuple[str, Broker]]:
    """Our own Server as the host's listener with a P-521 certificate, and a broker for it."""
    path = os.path.join(sock_dir, "broker-ours.sock")
    server = await _host_broker_ours(path, p521_host, plugin_identity)
    yield path, Broker(tls.client_context(plugin_identity, p521_host.cert_pem.decode()))
    await server.stop(grace=0.1)


@pytest.fixture
async def grpcio_broker(
    sock_dir: str, plugin_identity: tls.Identity
) -> AsyncIterator[tuple[str, tls.Identity]]:
    """The host's broker listener played by grpc.aio with TLS (a P-256 host certificate)."""
    host = tls.generate_identity()

    async def whoami(
        req: StringValue, ctx: grpc.aio.ServicerContext[StringValue, StringValue]
    ) -> StringValue:
        return StringValue(value=f"grpcio:{req.value}")

    server = grpc.aio.server(options=[("grpc.max_receive_message_length", MAX)])
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "t.Broker",
                {
                    "WhoAmI": grpc.unary_unary_rpc_method_handler(
                        whoami,
                        request_deserializer=StringValue.FromString,
                        response_serializer=StringValue.SerializeToString,
                    )
                },
            )
        ]
    )
    path = os.path.join(sock_dir, "broker-grpcio.sock")
    creds = grpc.ssl_server_credentials(
        [(host.key_pem, host.cert_pem)],
        root_certificates=plugin_identity.cert_pem,
        require_client_auth=True,
    )
    server.add_secure_port(f"unix:{path}", creds)
    await server.start()
    yield path, host
    await server.stop(None)


async def _who(broker: Broker, service_id: int, within: float = 5) -> str:
    conn = await broker.dial(service_id, within)
    try:
        reply = await conn.call(
            "/t.Broker/WhoAmI", StringValue(value=str(service_id)), StringValue, timeout=10
        )
        return reply.value
    finally:
        conn.close()


async def test_conninfo_before_dial(
    grpcio_broker: tuple[str, tls.Identity], plugin_identity: tls.Identity
) -> None:
    path, host = grpcio_broker
    broker = Broker(tls.client_context(plugin_identity, host.cert_pem.decode()))
    broker.announce(ConnInfo(1, "unix", path))
    assert await _who(broker, 1) == "grpcio:1"


async def test_conninfo_after_dial_started(ours_broker: tuple[str, Broker]) -> None:
    path, broker = ours_broker
    dialing = asyncio.ensure_future(_who(broker, 2))
    await asyncio.sleep(0)  # the dial is now waiting for its ConnInfo
    assert not dialing.done()
    broker.announce(ConnInfo(3, "unix", "/nonexistent"))  # another mount's: not this one
    broker.announce(ConnInfo(2, "unix", path))
    assert await dialing == "ours:2"


async def test_timeout_error_message() -> None:
    broker = Broker(None)
    with pytest.raises(BrokerError, match=r"^timeout waiting for connection info for broker id 7$"):
        await broker.dial(7, timeout=0.05)
    # A ConnInfo that comes after the timeout still serves a later dial.
    broker.announce(ConnInfo(7, "bogus", "x"))
    with pytest.raises(BrokerError, match="unsupported broker network 'bogus' for id 7"):
        await broker.dial(7, timeout=1)


async def test_dial_failure_names_the_address(sock_dir: str) -> None:
    broker = Broker(None)
    missing = os.path.join(sock_dir, "nobody-listens.sock")
    broker.announce(ConnInfo(4, "unix", missing))
    with pytest.raises(BrokerError, match=f"dialing broker id 4 at {missing}"):
        await broker.dial(4, timeout=1)


async def test_each_announcement_serves_one_dial(ours_broker: tuple[str, Broker]) -> None:
    path, broker = ours_broker
    broker.announce(ConnInfo(5, "unix", path))
    assert await _who(broker, 5) == "ours:5"
    with pytest.raises(BrokerError, match="timeout"):
        await broker.dial(5, timeout=0.05)


async def test_tcp_broker_address(plugin_identity: tls.Identity, p521_host: tls.Identity) -> None:
    server = Server()

    async def whoami(req: StringValue, ctx: ServerContext) -> StringValue:
        return StringValue(value="tcp")

    server.add_unary("/t.Broker/WhoAmI", StringValue, whoami)
    port = await server.listen_tcp(
        "127.0.0.1", 0, tls.server_context(p521_host, plugin_identity.cert_pem.decode())
    )
    broker = Broker(tls.client_context(plugin_identity, p521_host.cert_pem.decode()))
    broker.announce(ConnInfo(6, "tcp", f"127.0.0.1:{port}"))
    assert await _who(broker, 6) == "tcp"
    await server.stop(grace=0.1)


async def test_a_dial_that_trusts_another_host_fails(
    grpcio_broker: tuple[str, tls.Identity], plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    path, _ = grpcio_broker
    broker = Broker(tls.client_context(plugin_identity, p521_host.cert_pem.decode()))
    broker.announce(ConnInfo(8, "unix", path))
    with pytest.raises(BrokerError, match="dialing broker id 8"):
        await broker.dial(8, timeout=1)


async def test_start_stream_records_announcements_until_the_host_hangs_up() -> None:
    ended: list[bool] = []
    broker = Broker(None, on_stream_end=lambda: ended.append(True))
    feed: asyncio.Queue[grpc_broker_pb2.ConnInfo | None] = asyncio.Queue()

    async def host_messages() -> AsyncIterator[grpc_broker_pb2.ConnInfo]:
        while (item := await feed.get()) is not None:
            yield item

    ctx = ServerContext("/plugin.GRPCBroker/StartStream", {})
    replies: list[grpc_broker_pb2.ConnInfo] = []

    async def run() -> None:
        async for reply in broker.start_stream(host_messages(), ctx):
            replies.append(reply)

    task = asyncio.ensure_future(run())
    await asyncio.wait_for(broker.stream_opened.wait(), 5)
    feed.put_nowait(grpc_broker_pb2.ConnInfo(service_id=1, network="unix", address="/a"))
    knock = grpc_broker_pb2.ConnInfo(service_id=2, knock=grpc_broker_pb2.ConnInfo.Knock(knock=True))
    feed.put_nowait(knock)
    feed.put_nowait(grpc_broker_pb2.ConnInfo(service_id=3, network="tcp", address="127.0.0.1:1"))
    feed.put_nowait(None)
    await asyncio.wait_for(task, 5)
    assert replies == []  # a secrets engine brokers nothing of its own
    assert ended == [True]
    assert broker._known == {1: ConnInfo(1, "unix", "/a"), 3: ConnInfo(3, "tcp", "127.0.0.1:1")}


async def test_stream_end_is_reported_when_the_call_is_cancelled() -> None:
    ended: list[bool] = []
    broker = Broker(None, on_stream_end=lambda: ended.append(True))

    async def forever() -> AsyncIterator[grpc_broker_pb2.ConnInfo]:
        await asyncio.Event().wait()
        yield grpc_broker_pb2.ConnInfo()

    async def run() -> None:
        async for _ in broker.start_stream(forever(), ServerContext("/x", {})):
            pass

    task = asyncio.ensure_future(run())
    await asyncio.wait_for(broker.stream_opened.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended == [True]
