"""AutoMTLS: the plugin's one-time certificate and the TLS contexts both directions use.

The host (go-plugin) trusts exactly the certificate the plugin prints in its handshake line and
presents its own one-time P-521 certificate (``PLUGIN_CLIENT_CERT``) on every connection, as the
TLS client on the plugin's socket and as the TLS server on each broker listener. Python's
``ssl`` (OpenSSL) negotiates ``ecdsa_secp521r1_sha512`` where grpcio's BoringSSL cannot.

The contexts are strict where the host allows it: both ends must present a certificate the
other trusts, ALPN must settle on ``h2`` (the transport closes connections that did not),
renegotiation is off, and TLS 1.2 (the host's minimum; it normally speaks 1.3) is limited to
ECDHE key exchange with AEAD ciphers: no CBC suites. A host that announced AutoMTLS but sent no
certificate is refused rather than served in plaintext (:func:`host_certificate`).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import der

HOSTNAME = "localhost"  # the only name the host verifies, against the SAN

# TLS 1.2 suites allowed: forward secret and AEAD only (TLS 1.3 suites are all AEAD).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
# How OpenBao and Vault say AutoMTLS is on (strconv.ParseBool's true forms).
AUTOMTLS_VARIABLES = ("BAO_PLUGIN_AUTOMTLS_ENABLED", "VAULT_PLUGIN_AUTOMTLS_ENABLED")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


class TLSSetupError(Exception):
    """The environment asks for TLS the plugin cannot set up: it must not serve at all."""


def host_certificate(env: Mapping[str, str]) -> str | None:
    """The host's certificate (PEM), or None when it started us without AutoMTLS.

    Without it the plugin serves plaintext, which is right only when the host did not ask
    for TLS (the legacy metadata mode, tests). A host that announced AutoMTLS and sent no
    certificate would otherwise get a plaintext plugin: refused here instead.
    """
    cert = env.get("PLUGIN_CLIENT_CERT", "")
    if cert.strip():
        return cert
    announced = [name for name in AUTOMTLS_VARIABLES if env.get(name, "") in _TRUE]
    if announced:
        raise TLSSetupError(
            f"the host announced AutoMTLS ({announced[0]}) but sent no certificate in "
            "PLUGIN_CLIENT_CERT: refusing to serve without TLS"
        )
    return None


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


# Object identifiers of what the certificate says (RFC 5280, RFC 5758).
_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
_COMMON_NAME = "2.5.4.3"
_SUBJECT_ALT_NAME = "2.5.29.17"
_BASIC_CONSTRAINTS = "2.5.29.19"
_KEY_USAGE = "2.5.29.15"
_EXT_KEY_USAGE = "2.5.29.37"
_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
_DNS_NAME = HOSTNAME.encode("ascii")  # GeneralName dNSName, [2] IMPLICIT IA5String


def _extension(oid: str, value: bytes, *, critical: bool = False) -> bytes:
    flag = der.boolean(True) if critical else b""  # DER omits the FALSE default
    return der.sequence(der.oid(oid), flag, der.octet_string(value))


def generate_identity(validity_days: int = 365 * 10) -> Identity:
    """A self-signed ECDSA P-256 certificate with the properties the host checks.

    SAN ``DNS:localhost`` (the host refuses CN-only names) and EKU serverAuth + clientAuth
    (the same certificate serves the plugin's listener and every broker dial); valid from 30 s
    ago, for clock skew. Encoded by :mod:`.der`, signed by ``cryptography``.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = der.sequence(der.set_of(der.sequence(der.oid(_COMMON_NAME), der.utf8_string(HOSTNAME))))
    algorithm = der.sequence(der.oid(_ECDSA_WITH_SHA256))
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    # keyUsage bits 0 (digitalSignature), 4 (keyAgreement), 5 (keyCertSign): 10001100, with
    # the two trailing zero bits declared unused.
    key_usage = der.bit_string(b"\x8c", unused_bits=2)
    extensions = der.sequence(
        _extension(_SUBJECT_ALT_NAME, der.sequence(der.context(2, _DNS_NAME, constructed=False))),
        _extension(_BASIC_CONSTRAINTS, der.sequence(der.boolean(True)), critical=True),
        _extension(_KEY_USAGE, key_usage, critical=True),
        _extension(_EXT_KEY_USAGE, der.sequence(der.oid(_SERVER_AUTH), der.oid(_CLIENT_AUTH))),
    )
    tbs = der.sequence(
        der.context(0, der.integer(2)),  # X.509 v3
        der.integer(int.from_bytes(os.urandom(19), "big") >> 1 or 1),  # positive, < 2^159
        algorithm,
        name,
        der.sequence(
            der.time(now - datetime.timedelta(seconds=30)),
            der.time(now + datetime.timedelta(days=validity_days)),
        ),
        name,
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        der.context(3, extensions),
    )
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    cert_der = der.sequence(tbs, algorithm, der.bit_string(signature))
    return Identity(
        cert_der=cert_der,
        cert_pem=der.pem("CERTIFICATE", cert_der),
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
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_verify_locations(cadata=peer_ca_pem)
    except (ssl.SSLError, ValueError) as exc:
        raise TLSSetupError(f"PLUGIN_CLIENT_CERT is not a PEM certificate: {exc}") from None
    with _key_files(identity) as (cert_path, key_path):
        ctx.load_cert_chain(cert_path, key_path)
    # Offered and, in the transport, required: grpc-go refuses connections without h2, and
    # HTTP/2 over TLS must be negotiated (RFC 9113 §3.2).
    ctx.set_alpn_protocols(["h2"])
    return ctx


def server_context(identity: Identity, host_cert_pem: str) -> ssl.SSLContext:
    """For the plugin's listener: present our certificate, require the host's."""
    return _context(ssl.PROTOCOL_TLS_SERVER, identity, host_cert_pem)


def client_context(identity: Identity, host_cert_pem: str) -> ssl.SSLContext:
    """For broker dials: the host is the TLS server, we present the same certificate."""
    ctx = _context(ssl.PROTOCOL_TLS_CLIENT, identity, host_cert_pem)
    ctx.check_hostname = True
    return ctx
