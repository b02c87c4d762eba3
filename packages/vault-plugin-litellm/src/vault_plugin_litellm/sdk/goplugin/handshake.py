"""The go-plugin handshake: who may start us, which protocol we speak, and the stdout line.

The host reads exactly one line from stdout: ``CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT``. Anything
printed before it breaks the start ("Unrecognized remote plugin message"), so stdout is taken
over at start-up and ordinary ``print`` output is sent to stderr instead.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import IO

MAGIC_COOKIE_KEY = "VAULT_BACKEND_PLUGIN"
MAGIC_COOKIE_VALUE = "6669da05-b1c8-4f49-97d9-c8e5bed98e20"
CORE_PROTOCOL_VERSION = 1
APP_PROTOCOL_VERSION = 5  # v5: AutoMTLS and multiplexing; v3/v4 are the host's legacy fallbacks

log = logging.getLogger(__name__)

NOT_A_PLUGIN_MESSAGE = """\
This binary is a plugin. These are not meant to be executed directly.
Please execute the program that consumes these plugins, which will
load any plugins automatically. To install it, register it in the
plugin catalog of OpenBao or HashiCorp Vault.
"""


class HandshakeError(Exception):
    """The process was not started by a host that speaks our protocol."""


def check_cookie(env: Mapping[str, str]) -> None:
    """Refuse to serve unless started as a secrets-engine plugin.

    The host first probes untyped registrations as *database* plugins; serving those probes
    would get us classified as one, so a missing or wrong cookie must end the process.
    """
    if env.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        raise HandshakeError(NOT_A_PLUGIN_MESSAGE)


def negotiate_version(env: Mapping[str, str]) -> int:
    """The protocol version to announce.

    Only v5 is implemented. When the host does not offer it (it falls back to v3/v4 after a
    failed v5 attempt) we announce v5 anyway: the host then fails that attempt with a precise
    "incompatible API version" message, and the log here says which versions it offered.
    """
    offered = offered_versions(env)
    if APP_PROTOCOL_VERSION not in offered:
        log.warning(
            "the host offered plugin protocol versions %s; only %d is implemented",
            sorted(offered) or "none",
            APP_PROTOCOL_VERSION,
        )
    return APP_PROTOCOL_VERSION


def offered_versions(env: Mapping[str, str]) -> set[int]:
    out = set()
    for part in env.get("PLUGIN_PROTOCOL_VERSIONS", "").split(","):
        part = part.strip()
        if part.isascii() and part.isdigit():  # int() refuses some other Unicode digits
            out.add(int(part))
    return out


def handshake_line(
    network: str, address: str, cert_field: str, *, version: int = APP_PROTOCOL_VERSION
) -> str:
    # Field 7 (broker multiplexing) is omitted: only hosts that set PLUGIN_MULTIPLEX_GRPC
    # understand it, and older go-plugin hosts split the line into at most six fields.
    return f"{CORE_PROTOCOL_VERSION}|{version}|{network}|{address}|grpc|{cert_field}\n"


def take_stdout() -> IO[bytes]:
    """Keep the real stdout for the handshake and point ``sys.stdout`` at stderr."""
    fd = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return os.fdopen(fd, "wb", buffering=0)


def write_handshake(out: IO[bytes], line: str) -> None:
    out.write(line.encode("utf-8"))  # a socket path may hold any file-name characters
    out.flush()
