"""Certificates made the way go-plugin makes the host's, for tests and benchmarks that play
the host (a plugin never needs one: it gets the host's certificate in its environment)."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from vault_plugin_litellm.sdk.goplugin.tls import HOSTNAME, Identity


def _self_signed(
    key: ec.EllipticCurvePrivateKey,
    name: x509.Name,
    validity: datetime.timedelta,
    digest: hashes.SHA256 | hashes.SHA512,
    *,
    key_encipherment: bool,
) -> Identity:
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))  # tolerate clock skew
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_encipherment,
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
        .sign(key, digest)
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


def generate_host_identity() -> Identity:
    """A certificate made the way go-plugin makes the host's (``mtls.go``): ECDSA P-521
    signed with SHA-512, O=HashiCorp, CN and SAN localhost, both EKUs, valid 262 980 h.

    For tests and tools that play the host; grpcio cannot use it, Python's ``ssl`` can.
    """
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME),
        ]
    )
    return _self_signed(
        ec.generate_private_key(ec.SECP521R1()),
        name,
        datetime.timedelta(hours=262_980),
        hashes.SHA512(),
        key_encipherment=True,
    )
