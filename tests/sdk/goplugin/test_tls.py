"""AutoMTLS: the plugin's certificate, where its key lives, and the P-521 host certificate."""

from __future__ import annotations

import asyncio
import datetime
import os
import ssl
import stat
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import Server, ServerContext, connect_unix

from .hostside import PLUGIN_MAIN, plugin_env


def test_certificate_properties() -> None:
    before = datetime.datetime.now(datetime.UTC)
    identity = tls.generate_identity()
    after = datetime.datetime.now(datetime.UTC)
    cert = x509.load_der_x509_certificate(identity.cert_der)
    assert x509.load_pem_x509_certificate(identity.cert_pem) == cert

    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature

    # Valid from 30 s ago (whole seconds on the wire), for years.
    not_before = cert.not_valid_before_utc
    assert (
        before - datetime.timedelta(seconds=31)
        <= not_before
        <= after - datetime.timedelta(seconds=29)
    )
    assert cert.not_valid_after_utc - after > datetime.timedelta(days=365)

    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # self-signed, and the signature holds
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)


def test_each_identity_is_new() -> None:
    a, b = tls.generate_identity(), tls.generate_identity()
    assert a.cert_der != b.cert_der
    assert a.key_pem != b.key_pem


def test_private_key_is_never_shown(plugin_identity: tls.Identity) -> None:
    for text in (repr(plugin_identity), str(plugin_identity), f"{plugin_identity!r}"):
        assert "PRIVATE" not in text
        assert plugin_identity.key_pem.decode().splitlines()[1] not in text
        assert "redacted" in text


def test_key_is_loaded_from_memory_on_linux(
    plugin_identity: tls.Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError("the key would be written to disk")

    monkeypatch.setattr("tempfile.TemporaryDirectory", no_disk)
    with tls._key_files(plugin_identity) as (cert_path, key_path):
        for path, blob in (
            (cert_path, plugin_identity.cert_pem),
            (key_path, plugin_identity.key_pem),
        ):
            assert path.startswith("/proc/self/fd/")
            fd = int(path.rsplit("/", 1)[1])
            assert os.readlink(path).startswith("/memfd:plugin-tls")
            assert not os.get_inheritable(fd)  # a child process never gets the key
            with open(path, "rb") as fh:
                assert fh.read() == blob
        fds = [int(p.rsplit("/", 1)[1]) for p in (cert_path, key_path)]
    for fd in fds:
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(fd)
    # And the contexts load through that path.
    tls.server_context(plugin_identity, plugin_identity.cert_pem.decode())


def test_without_memfd_the_key_file_is_private_and_removed(
    plugin_identity: tls.Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create")
    with tls._key_files(plugin_identity) as (_cert_path, key_path):
        directory = os.path.dirname(key_path)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
        with open(key_path, "rb") as fh:
            assert fh.read() == plugin_identity.key_pem
    assert not os.path.exists(directory)
    tls.client_context(plugin_identity, plugin_identity.cert_pem.decode())


def test_contexts(plugin_identity: tls.Identity, p521_host: tls.Identity) -> None:
    host_serial = x509.load_der_x509_certificate(p521_host.cert_der).serial_number
    server = tls.server_context(plugin_identity, p521_host.cert_pem.decode())
    client = tls.client_context(plugin_identity, p521_host.cert_pem.decode())
    for ctx in (server, client):
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
        # Trust exactly the host's certificate, nothing from the system store.
        (only,) = ctx.get_ca_certs()
        assert int(str(only["serialNumber"]), 16) == host_serial
    assert client.check_hostname


def test_p521_host_certificate_is_like_go_plugins(p521_host: tls.Identity) -> None:
    cert = x509.load_der_x509_certificate(p521_host.cert_der)
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp521r1"
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA512)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


async def _echo_over_tls(
    sock_dir: str, server_identity: tls.Identity, client_identity: tls.Identity
) -> tuple[str, str]:
    server = Server()

    async def echo(req: StringValue, ctx: ServerContext) -> StringValue:
        return StringValue(value=req.value[::-1])

    server.add_unary("/t.T/Echo", StringValue, echo)
    path = os.path.join(sock_dir, "tls.sock")
    await server.listen_unix(
        path, tls.server_context(server_identity, client_identity.cert_pem.decode())
    )
    conn = await connect_unix(
        path, tls.client_context(client_identity, server_identity.cert_pem.decode())
    )
    try:
        reply = await conn.call("/t.T/Echo", StringValue(value="p521"), StringValue, timeout=10)
        assert conn.transport is not None
        ssl_object = conn.transport.get_extra_info("ssl_object")
        assert ssl_object.selected_alpn_protocol() == "h2"
        return reply.value, ssl_object.version()
    finally:
        conn.close()
        await server.stop(grace=0.1)


async def test_p521_host_as_tls_client(
    sock_dir: str, plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    # The main connection: the host dials the plugin and presents its P-521 certificate,
    # signing with ecdsa_secp521r1_sha512 (what grpcio's BoringSSL cannot accept).
    value, version = await _echo_over_tls(sock_dir, plugin_identity, p521_host)
    assert (value, version) == ("125p", "TLSv1.3")


async def test_p521_host_as_tls_server(
    sock_dir: str, plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    # A broker dial: the host serves with its P-521 certificate and requires ours.
    value, version = await _echo_over_tls(sock_dir, p521_host, plugin_identity)
    assert (value, version) == ("125p", "TLSv1.3")


# -- hardening --------------------------------------------------------------------------------
def test_contexts_allow_no_cbc_suite_and_no_renegotiation(
    plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    for ctx in (
        tls.server_context(plugin_identity, p521_host.cert_pem.decode()),
        tls.client_context(plugin_identity, p521_host.cert_pem.decode()),
    ):
        assert ctx.options & ssl.OP_NO_RENEGOTIATION
        tls12 = [c for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
        assert tls12, "TLS 1.2 stays possible (the host's minimum)"
        for cipher in tls12:
            assert cipher["aead"], cipher["name"]
            assert cipher["kea"] == "kx-ecdhe", cipher["name"]
            assert "CBC" not in cipher["description"]
            assert "SHA1" not in cipher["description"]


def _client(identity: tls.Identity, server_pem: str) -> ssl.SSLContext:
    """A TLS client like the host's, to be weakened by each test."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=server_pem)
    with tls._key_files(identity) as (cert_path, key_path):
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


async def _serving(sock_dir: str, server_identity: tls.Identity, client_pem: str) -> Server:
    server = Server()

    async def echo(req: StringValue, ctx: ServerContext) -> StringValue:
        return req

    server.add_unary("/t.T/Echo", StringValue, echo)
    await server.listen_unix(
        os.path.join(sock_dir, "tls.sock"), tls.server_context(server_identity, client_pem)
    )
    return server


async def test_a_tls12_client_offering_only_cbc_suites_is_refused(
    sock_dir: str, plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    server = await _serving(sock_dir, plugin_identity, p521_host.cert_pem.decode())
    ctx = _client(p521_host, plugin_identity.cert_pem.decode())
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA")
    ctx.set_alpn_protocols(["h2"])
    try:
        # The server finds no shared cipher and aborts the handshake (an alert or a reset).
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            await connect_unix(os.path.join(sock_dir, "tls.sock"), ctx)
        # The same client with an AEAD suite is served over TLS 1.2.
        ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
        conn = await connect_unix(os.path.join(sock_dir, "tls.sock"), ctx)
        assert conn.transport is not None
        assert conn.transport.get_extra_info("ssl_object").version() == "TLSv1.2"
        reply = await conn.call("/t.T/Echo", StringValue(value="aead"), StringValue, timeout=10)
        assert reply.value == "aead"
        conn.close()
    finally:
        await server.stop(grace=0.1)


async def test_the_server_closes_a_connection_without_alpn_h2(
    sock_dir: str, plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    server = await _serving(sock_dir, plugin_identity, p521_host.cert_pem.decode())
    ctx = _client(p521_host, plugin_identity.cert_pem.decode())
    ctx.set_alpn_protocols(["http/1.1"])  # no h2 on offer: the handshake itself succeeds
    try:
        reader, writer = await asyncio.open_unix_connection(
            os.path.join(sock_dir, "tls.sock"), ssl=ctx, server_hostname="localhost"
        )
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() is None
        writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, nothing served
        writer.close()
        assert server._connections == set()
    finally:
        await server.stop(grace=0.1)


async def test_our_client_refuses_a_server_without_alpn_h2(
    sock_dir: str, plugin_identity: tls.Identity, p521_host: tls.Identity
) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # a TLS server that negotiates no ALPN
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=plugin_identity.cert_pem.decode())
    with tls._key_files(p521_host) as (cert_path, key_path):
        ctx.load_cert_chain(cert_path, key_path)
    path = os.path.join(sock_dir, "noalpn.sock")
    listener = await asyncio.start_unix_server(lambda r, w: None, path, ssl=ctx)
    try:
        client = tls.client_context(plugin_identity, p521_host.cert_pem.decode())
        with pytest.raises(ConnectionError, match="ALPN h2"):
            await connect_unix(path, client)
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("env", "outcome"),
    [
        ({"PLUGIN_CLIENT_CERT": "PEM"}, "PEM"),
        ({}, None),
        ({"BAO_PLUGIN_AUTOMTLS_ENABLED": "false"}, None),
        ({"BAO_PLUGIN_AUTOMTLS_ENABLED": "true"}, "BAO_PLUGIN_AUTOMTLS_ENABLED"),
        ({"VAULT_PLUGIN_AUTOMTLS_ENABLED": "1"}, "VAULT_PLUGIN_AUTOMTLS_ENABLED"),
        (
            {"BAO_PLUGIN_AUTOMTLS_ENABLED": "true", "PLUGIN_CLIENT_CERT": " \n"},
            "BAO_PLUGIN_AUTOMTLS_ENABLED",
        ),
        ({"BAO_PLUGIN_AUTOMTLS_ENABLED": "true", "PLUGIN_CLIENT_CERT": "PEM"}, "PEM"),
    ],
)
def test_host_certificate(env: dict[str, str], outcome: str | None) -> None:
    if outcome is None or outcome == "PEM":
        assert tls.host_certificate(env) == outcome
        return
    with pytest.raises(tls.TLSSetupError, match=rf"announced AutoMTLS \({outcome}\)"):
        tls.host_certificate(env)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"BAO_PLUGIN_AUTOMTLS_ENABLED": "true"}, b"refusing to serve without TLS"),
        ({"PLUGIN_CLIENT_CERT": "not a certificate"}, b"PLUGIN_CLIENT_CERT is not a PEM"),
    ],
    ids=["automtls-without-certificate", "certificate-that-is-no-pem"],
)
def test_the_plugin_refuses_to_start_without_usable_tls(
    extra: dict[str, str], message: bytes
) -> None:
    # No silent plaintext: no handshake line, exit 1, and the reason on stderr for the host log.
    done = subprocess.run(
        [sys.executable, "-I", str(PLUGIN_MAIN)],
        env=plugin_env(**extra),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == b""
    assert message in done.stderr
