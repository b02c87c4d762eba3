"""AutoMTLS: the plugin's certificate, where its key lives, and the P-521 host certificate."""

from __future__ import annotations

import datetime
import os
import ssl
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from google.protobuf.wrappers_pb2 import StringValue
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import Server, ServerContext, connect_unix


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
