"""The plugin runtime as a real process, started the way the host starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from grpc_health.v1 import health_pb2
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import connect_unix
from vault_plugin_proto.goplugin import grpc_controller_pb2

from .hostside import PLUGIN_MAIN, cert_pem_from_handshake, plugin_env, start_plugin


def _json_lines(stderr: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]


def test_missing_or_wrong_cookie_exits_non_zero_with_the_human_message() -> None:
    for cookie in (None, "wrong"):
        env = plugin_env()
        if cookie is None:
            del env["VAULT_BACKEND_PLUGIN"]
        else:
            env["VAULT_BACKEND_PLUGIN"] = cookie
        done = subprocess.run(
            [sys.executable, "-I", str(PLUGIN_MAIN)], env=env, capture_output=True, timeout=60
        )
        assert done.returncode == 1
        assert done.stdout == b""  # no handshake, so the host never classifies it
        assert (
            b"This binary is a plugin. These are not meant to be executed directly." in done.stderr
        )


async def test_p521_host_lifecycle(p521_host: tls.Identity) -> None:
    """TLS with a go-plugin style P-521 host certificate, then Shutdown: exit 0, sockets gone."""
    plugin = start_plugin(plugin_env(PLUGIN_CLIENT_CERT=p521_host.cert_pem.decode()))
    try:
        fields = plugin.fields
        assert fields[:3] == ["1", "5", "unix"]
        assert fields[4] == "grpc"
        assert len(fields) == 6
        socket_path = fields[3]
        assert os.path.isabs(socket_path)
        directory = os.path.dirname(socket_path)
        assert os.stat(directory).st_mode & 0o777 == 0o700

        plugin_cert = cert_pem_from_handshake(fields[5])
        conn = await connect_unix(socket_path, tls.client_context(p521_host, plugin_cert))
        health = await conn.call(
            "/grpc.health.v1.Health/Check",
            health_pb2.HealthCheckRequest(service="plugin"),
            health_pb2.HealthCheckResponse,
            timeout=10,
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        await conn.call(
            "/plugin.GRPCController/Shutdown",
            grpc_controller_pb2.Empty(),
            grpc_controller_pb2.Empty,
            timeout=10,
        )
        started = time.monotonic()
        code = plugin.proc.wait(10)
        elapsed = time.monotonic() - started
        print(f"exit {code} {elapsed:.3f} s after the Shutdown reply (the host allows 2 s)")
        conn.close()
        assert code == 0
        assert not _exists(directory)
        assert plugin.proc.stdout is not None
        assert plugin.proc.stderr is not None
        assert plugin.proc.stdout.read() == b""  # the handshake was the only line
        stderr = plugin.proc.stderr.read()
        assert b"registered services" in stderr  # a stray print went to stderr
        for entry in _json_lines(stderr):
            assert all(isinstance(entry[k], str) for k in ("@level", "@message", "@timestamp"))
    finally:
        plugin.stop()


def test_plaintext_without_a_host_certificate() -> None:
    plugin = start_plugin(plugin_env(SDK_TEST_BROKER_DEADLINE="0.2"))
    try:
        assert plugin.fields[5] == ""  # metadata mode: no certificate field
        assert plugin.proc.wait(30) == 0
    finally:
        plugin.stop()


def test_socket_directory_and_group_for_containerised_hosts(tmp_path: Path) -> None:
    base = tmp_path / "sockets"
    base.mkdir()
    gid = os.getgid()
    plugin = start_plugin(
        plugin_env(
            PLUGIN_UNIX_SOCKET_DIR=str(base),
            PLUGIN_UNIX_SOCKET_GROUP=str(gid),
            # Long enough that the plugin cannot give up on the broker while the socket is
            # looked at, however busy the machine: SIGTERM ends it.
            SDK_TEST_BROKER_DEADLINE="60",
        )
    )
    try:
        socket_path = Path(plugin.socket_path)
        assert socket_path.parent.parent == base
        assert socket_path.stat().st_gid == gid
        assert socket_path.stat().st_mode & 0o777 == 0o660
        assert socket_path.parent.stat().st_mode & 0o777 == 0o750
        plugin.proc.send_signal(signal.SIGTERM)
        assert plugin.proc.wait(30) == 0
        assert list(base.iterdir()) == []  # the plugin's directory went with it
    finally:
        plugin.stop()


async def test_sigint_is_ignored_and_sigterm_stops() -> None:
    plugin = start_plugin(plugin_env(SDK_TEST_BROKER_DEADLINE="60"))
    try:
        # Ctrl-C in the server's terminal reaches the whole process group: the plugin stays.
        plugin.proc.send_signal(signal.SIGINT)
        conn = await connect_unix(plugin.socket_path)
        health = await conn.call(
            "/grpc.health.v1.Health/Check",
            health_pb2.HealthCheckRequest(),
            health_pb2.HealthCheckResponse,
            timeout=10,
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        assert plugin.proc.poll() is None
        conn.close()
        plugin.proc.send_signal(signal.SIGTERM)
        assert plugin.proc.wait(30) == 0
        assert not _exists(os.path.dirname(plugin.socket_path))
    finally:
        plugin.stop()


def test_a_process_that_never_gets_the_broker_stream_exits(p521_host: tls.Identity) -> None:
    # A host whose TLS failed never calls again (OpenBao 2.7 leaves such a process running).
    plugin = start_plugin(
        plugin_env(
            PLUGIN_CLIENT_CERT=p521_host.cert_pem.decode(),
            SDK_TEST_BROKER_DEADLINE="0.3",
            PLUGIN_LOG_LEVEL="debug",
        )
    )
    try:
        directory = os.path.dirname(plugin.socket_path)
        assert plugin.proc.wait(30) == 0
        assert not os.path.exists(directory)
        assert plugin.proc.stderr is not None
        messages = [str(e["@message"]) for e in _json_lines(plugin.proc.stderr.read())]
        assert any("no broker stream from the host within" in m for m in messages), messages
    finally:
        plugin.stop()


def test_an_orphaned_process_exits(p521_host: tls.Identity) -> None:
    # A middle process starts the plugin, reports its pid and handshake, and dies.
    launcher = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-I', sys.argv[1]], stdin=subprocess.DEVNULL,\n"
        "                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n"
        "line = child.stdout.readline().decode()\n"
        "print(child.pid, line, end='', flush=True)\n"
    )
    env = plugin_env(PLUGIN_CLIENT_CERT=p521_host.cert_pem.decode(), SDK_TEST_BROKER_DEADLINE="60")
    done = subprocess.run(
        [sys.executable, "-I", "-c", launcher, str(PLUGIN_MAIN)],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    pid_text, line = done.stdout.decode().split(" ", 1)
    pid = int(pid_text)
    directory = os.path.dirname(line.split("|")[3])
    deadline = time.monotonic() + 30  # a bound on a hang, not a measurement
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(pid)
    if alive:
        os.kill(pid, 9)
    assert not alive, "the orphaned plugin kept running"
    assert not os.path.exists(directory)


def _exists(path: str) -> bool:
    return os.path.exists(path)


def _alive(pid: int) -> bool:
    """Running (a zombie left for init to reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_host_asking_for_broker_multiplexing_is_told_it_is_unsupported() -> None:
    plugin = start_plugin(plugin_env(PLUGIN_MULTIPLEX_GRPC="true", SDK_TEST_BROKER_DEADLINE="0.2"))
    try:
        assert len(plugin.fields) == 6  # no field 7: the host then refuses, as it must
        assert plugin.proc.wait(30) == 0
        assert plugin.proc.stderr is not None
        stderr = plugin.proc.stderr.read().decode().splitlines()
        # The test plugin also prints a plain line (stdout redirected to stderr): skip it.
        lines = [json.loads(line) for line in stderr if line.startswith("{")]
        errors = [entry["@message"] for entry in lines if entry["@level"] == "error"]
        assert any("PLUGIN_MULTIPLEX_GRPC" in message for message in errors), lines
    finally:
        plugin.stop()
