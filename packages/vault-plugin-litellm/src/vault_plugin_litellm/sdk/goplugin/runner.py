"""Run a go-plugin v5 server process: from the magic cookie to the exit after Shutdown.

The steps, in order: check what the host asked for (AutoMTLS must come with the host's
certificate), build the server, listen and print the handshake line, add the plugin's own
services, and serve until the host says Shutdown, closes the broker or dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import ssl
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from vault_plugin_proto.goplugin import grpc_broker_pb2

from ..grpc import Server
from ..grpc.limits import HOST_SERVER_LIMITS
from . import handshake, services, tls
from . import log as plugin_log
from .broker import Broker
from .lifecycle import Lifecycle

log = logging.getLogger(__name__)

# A host that accepted our handshake opens the broker stream at once; one that failed TLS
# never does, and OpenBao 2.7 leaves such a process running.
BROKER_STREAM_DEADLINE = 10.0
# After the host closes the broker it sends Shutdown; give it a moment before leaving alone.
STREAM_END_GRACE = 0.5


@dataclass
class PluginContext:
    """What service registrations get: the server to add methods to, and the plumbing."""

    server: Server
    broker: Broker
    lifecycle: Lifecycle
    env: Mapping[str, str]


Register = Callable[[PluginContext], None]
"""Adds the plugin's own services. Called once the handshake line is out, before anything is
served, so that its imports are not part of the time the host waits for the line."""


def _socket_dir(env: Mapping[str, str]) -> str:
    base = env.get("PLUGIN_UNIX_SOCKET_DIR") or None
    path = tempfile.mkdtemp(prefix="plugin", dir=base)
    os.chmod(path, 0o700)
    return path


def _share_with_group(directory: str, socket_path: str, group: str) -> None:
    """Containerised Vault runs the plugin as another user sharing a group."""
    gid = int(group) if group.isdigit() else __import__("grp").getgrnam(group).gr_gid
    os.chown(directory, -1, gid)
    os.chmod(directory, 0o750)  # noqa: S103  (group access is the point)
    os.chown(socket_path, -1, gid)
    os.chmod(socket_path, 0o660)


@dataclass(frozen=True, slots=True)
class _TLS:
    """AutoMTLS as the host asked for it: all None for a plaintext start."""

    identity: tls.Identity | None = None
    server: ssl.SSLContext | None = None
    client: ssl.SSLContext | None = None


def _check_host(env: Mapping[str, str]) -> _TLS:
    """What the host asked for, checked before anything listens (raises TLSSetupError)."""
    if env.get("PLUGIN_MULTIPLEX_GRPC", "").lower() == "true":
        # Vault's containerised plugin runtime multiplexes the broker over yamux, which this
        # runtime does not implement; the host will refuse the handshake, say why here too.
        log.error(
            "the host asked for gRPC broker multiplexing (PLUGIN_MULTIPLEX_GRPC), which this "
            "plugin runtime does not support: run the plugin as a process, not in a container"
        )
    host_cert = tls.host_certificate(env)
    if host_cert is None:
        return _TLS()
    identity = tls.generate_identity()
    return _TLS(
        identity, tls.server_context(identity, host_cert), tls.client_context(identity, host_cert)
    )


def _build_server(lifecycle: Lifecycle, broker: Broker) -> Server:
    server = Server(limits=HOST_SERVER_LIMITS)
    server.add_bidi_stream(
        "/plugin.GRPCBroker/StartStream", grpc_broker_pb2.ConnInfo, broker.start_stream
    )
    services.register(server, lifecycle)
    return server


async def _listen_and_announce(
    server: Server, directory: str, env: Mapping[str, str], setup: _TLS, stdout: IO[bytes]
) -> None:
    """Listen first (the host dials as soon as it reads the line), then print the line."""
    socket_path = os.path.join(directory, "plugin.sock")
    await server.listen_unix(socket_path, setup.server)
    if group := env.get("PLUGIN_UNIX_SOCKET_GROUP"):
        _share_with_group(directory, socket_path, group)
    cert_field = setup.identity.handshake_field() if setup.identity else ""
    handshake.write_handshake(
        stdout,
        handshake.handshake_line(
            "unix", socket_path, cert_field, version=handshake.negotiate_version(env)
        ),
    )


async def _run_until_stopped(lifecycle: Lifecycle, broker: Broker, server: Server) -> None:
    watchers = [
        asyncio.create_task(lifecycle.watch_parent()),
        asyncio.create_task(
            lifecycle.expect(
                broker.stream_opened, BROKER_STREAM_DEADLINE, "broker stream from the host"
            )
        ),
    ]
    await lifecycle.stopping.wait()
    log.debug("stopping: %s", lifecycle.reason)
    for task in watchers:
        task.cancel()
    await lifecycle.run_hooks()
    await server.stop(grace=0.3)


async def serve(register: Register, env: Mapping[str, str]) -> int:
    stdout = handshake.take_stdout()
    try:
        setup = _check_host(env)
    except tls.TLSSetupError as exc:
        log.error("%s", exc)
        stdout.close()
        return 1
    lifecycle = Lifecycle()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lifecycle.request_stop, "SIGTERM")

    def broker_closed() -> None:
        loop.call_later(STREAM_END_GRACE, lifecycle.request_stop, "the host closed the broker")

    broker = Broker(setup.client, on_stream_end=broker_closed)
    server = _build_server(lifecycle, broker)
    directory = _socket_dir(env)
    try:
        await _listen_and_announce(server, directory, env, setup, stdout)
        # The caller's services are added once the line is out: nothing is served before
        # this returns (the loop has not run yet), and the host dials in the meantime.
        register(PluginContext(server, broker, lifecycle, env))
        log.info(
            "plugin serving",
            extra={"pid": os.getpid(), "protocol": 5, "tls": setup.identity is not None},
        )
        await _run_until_stopped(lifecycle, broker, server)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            stdout.close()
    return 0


def main(register: Register, env: Mapping[str, str] | None = None) -> int:
    """Entry point of a plugin executable; returns the process exit status."""
    env = os.environ if env is None else env
    try:
        handshake.check_cookie(env)
    except handshake.HandshakeError as exc:
        sys.stderr.write(str(exc))
        return 1
    # Ctrl-C in the server's terminal reaches the whole process group; the host decides
    # when we stop, as go-plugin servers do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    plugin_log.configure()
    try:
        return asyncio.run(serve(register, env))
    except Exception:
        log.exception("plugin failed")
        return 1
