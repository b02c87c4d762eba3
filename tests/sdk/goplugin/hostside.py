"""What the host does, for tests that play the host: certificates made like go-plugin's, the
environment it gives a plugin, and starting the plugin as a real process."""

from __future__ import annotations

import base64
import datetime
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from vault_plugin_litellm.sdk.goplugin import handshake, tls

PLUGIN_MAIN = Path(__file__).with_name("plugin_main.py")


def go_plugin_host_identity() -> tls.Identity:
    """A certificate made the way go-plugin's mtls.go makes the host's: ECDSA P-521,
    ecdsa-with-SHA512, self-signed CA, SAN localhost, EKU client and server auth."""
    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(hours=262_980))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
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
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA512())
    )
    return tls.Identity(
        cert_der=cert.public_bytes(serialization.Encoding.DER),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def cert_pem_from_handshake(field: str) -> str:
    """The PEM of the certificate in handshake field 6 (unpadded standard base64 of DER)."""
    der = base64.b64decode(field + "=" * (-len(field) % 4), validate=True)
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def plugin_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIN_", "VAULT_", "BAO_"))}
    env[handshake.MAGIC_COOKIE_KEY] = handshake.MAGIC_COOKIE_VALUE
    env["PLUGIN_PROTOCOL_VERSIONS"] = "5"
    env.update(extra)
    return env


@dataclass
class PluginProcess:
    proc: subprocess.Popen[bytes]
    line: str

    @property
    def fields(self) -> list[str]:
        return self.line.rstrip("\n").split("|")

    @property
    def socket_path(self) -> str:
        return self.fields[3]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def start_plugin(env: dict[str, str], script: Path = PLUGIN_MAIN) -> PluginProcess:
    """Start ``script`` as the host would and read its handshake line."""
    proc = subprocess.Popen(
        [sys.executable, "-I", str(script)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line:
        proc.wait(10)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise AssertionError(f"no handshake line; exit {proc.returncode}; stderr:\n{stderr}")
    return PluginProcess(proc, line)
