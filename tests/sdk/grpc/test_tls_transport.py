"""Mutual TLS on our transport: who is let in, and what is negotiated."""

from __future__ import annotations

import ssl

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import (
    ClientConnection,
    RpcError,
    Server,
    StatusCode,
    connect_tcp,
)

from .conftest import GRPCIO_LIMITS, EchoState


@pytest.fixture
async def tls_port(
    our_server: Server, plugin_identity: tls.Identity, host_identity: tls.Identity
) -> int:
    ctx = tls.server_context(plugin_identity, host_identity.cert_pem.decode())
    return await our_server.listen_tcp("127.0.0.1", 0, ctx)


async def _echo(conn: ClientConnection) -> str:
    reply = await conn.call("/test.Echo/Echo", StringValue(value="hi"), StringValue, timeout=10)
    return reply.value


async def test_our_client_negotiates_h2_with_our_server(
    our_server: Server, tls_port: int, plugin_identity: tls.Identity, host_identity: tls.Identity
) -> None:
    ctx = tls.client_context(host_identity, plugin_identity.cert_pem.decode())
    conn = await connect_tcp("127.0.0.1", tls_port, ctx)
    try:
        assert await _echo(conn) == "hi|-"
        assert conn.transport is not None
        client_ssl = conn.transport.get_extra_info("ssl_object")
        assert client_ssl.selected_alpn_protocol() == "h2"
        assert client_ssl.version() in ("TLSv1.2", "TLSv1.3")
        (server_conn,) = our_server._connections
        assert server_conn.transport is not None
        server_ssl = server_conn.transport.get_extra_info("ssl_object")
        assert server_ssl.selected_alpn_protocol() == "h2"
        # The server saw the host's certificate, and the client the plugin's.
        assert server_ssl.getpeercert(binary_form=True) == host_identity.cert_der
        assert client_ssl.getpeercert(binary_form=True) == plugin_identity.cert_der
    finally:
        conn.close()


@pytest.mark.parametrize("client", ["stranger", "no-certificate"])
async def test_grpcio_client_without_the_host_certificate_is_refused(
    client: str,
    tls_port: int,
    plugin_identity: tls.Identity,
    echo_state: EchoState,
) -> None:
    stranger = tls.generate_identity()
    creds = grpc.ssl_channel_credentials(
        root_certificates=plugin_identity.cert_pem,
        private_key=stranger.key_pem if client == "stranger" else None,
        certificate_chain=stranger.cert_pem if client == "stranger" else None,
    )
    async with grpc.aio.secure_channel(
        f"127.0.0.1:{tls_port}",
        creds,
        options=[("grpc.ssl_target_name_override", "localhost"), *GRPCIO_LIMITS],
    ) as channel:
        call = channel.unary_unary(
            "/test.Echo/Echo",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(StringValue(value="hi"), timeout=5)
    assert info.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert echo_state.contexts == []


async def test_our_client_with_a_stranger_certificate_is_refused(
    tls_port: int, plugin_identity: tls.Identity, echo_state: EchoState
) -> None:
    stranger = tls.generate_identity()
    ctx = tls.client_context(stranger, plugin_identity.cert_pem.decode())
    try:
        conn = await connect_tcp("127.0.0.1", tls_port, ctx)
    except (ssl.SSLError, ConnectionError):
        pass  # TLS 1.2 fails the handshake itself
    else:
        # TLS 1.3: the client finishes first and learns of the refusal on its first read.
        with pytest.raises(RpcError) as info:
            await _echo(conn)
        assert info.value.code == StatusCode.UNAVAILABLE
        conn.close()
    assert echo_state.contexts == []


async def test_our_client_refuses_a_server_it_does_not_trust(
    tls_port: int, host_identity: tls.Identity
) -> None:
    # Trusting only some other certificate: the plugin's own is not accepted.
    ctx = tls.client_context(host_identity, tls.generate_identity().cert_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect_tcp("127.0.0.1", tls_port, ctx)


async def test_server_name_must_be_localhost(
    tls_port: int, plugin_identity: tls.Identity, host_identity: tls.Identity
) -> None:
    ctx = tls.client_context(host_identity, plugin_identity.cert_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError, match=r"localhost|match|Hostname"):
        await connect_tcp("127.0.0.1", tls_port, ctx, server_hostname="example.com")
