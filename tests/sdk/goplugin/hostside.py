"""What the host does, for tests that play the host: certificates made like go-plugin's, the
environment it gives a plugin, and starting the plugin as a real process."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from vault_plugin_litellm.sdk.goplugin import handshake, tls

from tests.support import host_identity

PLUGIN_MAIN = Path(__file__).with_name("plugin_main.py")


def go_plugin_host_identity() -> tls.Identity:
    """A certificate made the way go-plugin's mtls.go makes the host's (P-521, SHA-512)."""
    return host_identity.generate_host_identity()


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
