"""AutoMTLS: the plugin's one-time certificate and the TLS contexts both directions use.

The host (go-plugin) trusts exactly the certificate the plugin prints in its handshake line and
presents its own one-time P-521 certificate (``PLUGIN_CLIENT_CERT``) on every connection, as the
TLS client on the plugin's socket and as the TLS server on each broker listener. Python's
``ssl`` (OpenSSL) negotiates ``ecdsa_secp521r1_sha512`` where grpcio's BoringSSL cannot.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTNAME = "localhost"  # the only name the host verifies, against the SAN


@dataclass(frozen=True, slots=True)
class Identity:
    """The plugin's certificate (DER and PEM) and its private key (PEM, kept in memory)."""

    cert_der: bytes
    cert_pem: bytes
    key_pem: bytes

    def handshake_field(self) -> str:
        # go-plugin decodes this with RawStdEncoding: padding makes it fail for some lengths.
        return base64.b64encode(self.cert_der).decode("ascii").rstrip("=")

    def __repr__(self) -> str:  # never show the key, even in a traceback's locals
        return f"Identity(cert_der=<{len(self.cert_der)} bytes>, key_pem=<redacted>)"


def generate_identity(validity_days: int = 365 * 10) -> Identity:
    """A self-signed P-256 certificate with the properties the host checks.

    SAN ``DNS:localhost`` (the host refuses CN-only names) and EKU serverAuth + clientAuth
    (the same certificate serves the plugin's listener and every broker dial).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return Identity(
        cert_der=cert.public_bytes(serialization.Encoding.DER),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@contextlib.contextmanager
def _key_files(identity: Identity) -> Iterator[tuple[str, str]]:
    """Paths ``load_cert_chain`` can read, keeping the key off disk where the OS allows.

    ``ssl`` only loads keys from files. On Linux an anonymous memfd, opened through
    ``/proc/self/fd``, is a file that lives in memory only; elsewhere a 0600 file in a 0700
    directory is written and removed right after loading.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and os.path.isdir("/proc/self/fd"):
        fds = []
        try:
            for blob in (identity.cert_pem, identity.key_pem):
                fd = memfd_create("plugin-tls", os.MFD_CLOEXEC)  # no child may inherit it
                fds.append(fd)
                os.write(fd, blob)
            yield f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}"
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="plugin-tls-") as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        for path, blob in ((cert_path, identity.cert_pem), (key_path, identity.key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
        yield cert_path, key_path


def _context(purpose: int, identity: Identity, peer_ca_pem: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=peer_ca_pem)
    with _key_files(identity) as (cert_path, key_path):
        ctx.load_cert_chain(cert_path, key_path)
    ctx.set_alpn_protocols(["h2"])  # grpc-go refuses connections that did not negotiate h2
    return ctx


def server_context(identity: Identity, host_cert_pem: str) -> ssl.SSLContext:
    """For the plugin's listener: present our certificate, require the host's."""
    return _context(ssl.PROTOCOL_TLS_SERVER, identity, host_cert_pem)


def client_context(identity: Identity, host_cert_pem: str) -> ssl.SSLContext:
    """For broker dials: the host is the TLS server, we present the same certificate."""
    ctx = _context(ssl.PROTOCOL_TLS_CLIENT, identity, host_cert_pem)
    ctx.check_hostname = True
    return ctx
