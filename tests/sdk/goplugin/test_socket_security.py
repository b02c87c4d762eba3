"""The plugin's socket, as a real OpenBao starts the real plugin: only the host can talk to it.

The plugin listens on one unix socket, in a directory only its own user may enter, and serves
gRPC over HTTP/2 only inside mutual TLS with the host's one-time certificate. Here a client on
the same machine tries everything short of stealing the host's key: plaintext HTTP/2, TLS 1.2
and 1.3 without a certificate, TLS with a certificate of its own making (made the way the host
makes its), and (when the tests run as root) a connection as another user. None of them gets an
HTTP/2 frame back, and the plugin keeps serving the host.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from vault_plugin_litellm.sdk.goplugin import tls

from e2e.engine_env import ENGINE_NAME, install_engine
from e2e.openbao import Bao, OpenBaoServer, plugin_processes, register_plugin

from .hostside import go_plugin_host_identity

pytestmark = [pytest.mark.openbao, pytest.mark.local_server]

# What an HTTP/2 client sends first (RFC 9113 §3.4): the preface and an empty SETTINGS frame.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
TLS_ALERT = 0x15  # the content type of a TLS alert record
ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix: a listening socket
TCP_LISTEN = "0A"
NOBODY = 65534


@dataclass
class Plugin:
    server: OpenBaoServer
    bao: Bao
    mount: str
    pid: int
    socket_path: str


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
            if found:
                inodes.add(found.group(1))
    return inodes


def _unix_sockets(pid: int) -> list[tuple[str, bool]]:
    """The named unix sockets ``pid`` holds: (path, listening) each; the connections a
    listener accepted carry its path too."""
    inodes = _socket_inodes(pid)
    found = []
    with open("/proc/net/unix") as table:
        next(table)  # Num RefCount Protocol Flags Type St Inode Path
        for line in table:
            parts = line.split()
            if len(parts) >= 8 and parts[6] in inodes:
                found.append((parts[7], bool(int(parts[3], 16) & ACCEPTING)))
    return found


def _listening_unix_sockets(pid: int) -> list[str]:
    return [path for path, listening in _unix_sockets(pid) if listening]


def _listening_tcp_ports(pid: int) -> list[str]:
    inodes = _socket_inodes(pid)
    ports = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(name) as table:
            next(table)  # sl local_address rem_address st ... inode
            for line in table:
                parts = line.split()
                if parts[3] == TCP_LISTEN and parts[9] in inodes:
                    ports.append(parts[1])
    return ports


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plugin]:
    """The engine's plugin process, started by a real dev server for a mount."""
    server = OpenBaoServer(tmp_path_factory.mktemp("socket-security")).start()
    try:
        bao = server.client()
        launcher = install_engine(server.plugin_dir)
        register_plugin(bao, ENGINE_NAME, launcher.sha256, launcher.command)
        bao.ok(bao.write("sys/mounts/guarded", {"type": ENGINE_NAME}))
        (pid,) = plugin_processes(launcher.path)
        (path,) = _listening_unix_sockets(pid)
        yield Plugin(server, bao, "guarded", pid, path)
    finally:
        server.stop()


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(15)
    sock.connect(path)
    return sock


def _answer(sock: socket.socket | ssl.SSLSocket) -> bytes | ssl.SSLError:
    """Everything the plugin sends until it closes the connection, or the TLS error."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ssl.SSLError as exc:
        return exc
    return received


def _client_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    # Trusts any server certificate: the point is what the plugin accepts, not what we do.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = version
    ctx.set_alpn_protocols(["h2"])
    return ctx


def _assert_still_serving(plugin: Plugin) -> None:
    assert plugin_processes(Path(plugin.server.plugin_dir) / ENGINE_NAME) == [plugin.pid]
    # A request through the host still reaches the plugin (no config yet: a 404 from it).
    read = plugin.bao.read(f"{plugin.mount}/config")
    assert read.status == 404, read.body
    help_text = plugin.bao.help(plugin.mount)
    assert help_text.status == 200, help_text.body


def test_one_unix_socket_in_a_directory_only_the_plugins_user_may_enter(plugin: Plugin) -> None:
    directory = Path(plugin.socket_path).parent
    info = directory.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700, oct(info.st_mode)
    uid = int(Path(f"/proc/{plugin.pid}/status").read_text().split("Uid:")[1].split()[0])
    assert info.st_uid == uid
    assert stat.S_ISSOCK(Path(plugin.socket_path).stat().st_mode)
    assert _listening_tcp_ports(plugin.pid) == []  # no TCP listener to reach from elsewhere
    # The host started this process, and its connection is one this socket accepted.
    log = plugin.server.log_text()
    assert f"plugin started: path={plugin.server.plugin_dir / ENGINE_NAME} pid={plugin.pid}" in log
    assert (plugin.socket_path, False) in _unix_sockets(plugin.pid)


def test_plaintext_http2_gets_no_http2(plugin: Plugin) -> None:
    with _connect(plugin.socket_path) as sock:
        sock.sendall(H2_PREFACE)
        answer = _answer(sock)
    # A TLS alert at most, then the connection is closed: never a SETTINGS frame.
    assert isinstance(answer, bytes)
    assert answer == b"" or answer[0] == TLS_ALERT, answer[:64]
    _assert_still_serving(plugin)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_without_a_client_certificate_is_refused(
    plugin: Plugin, version: ssl.TLSVersion
) -> None:
    ctx = _client_context(version)
    with _connect(plugin.socket_path) as raw:
        if version is ssl.TLSVersion.TLSv1_2:  # the server fails the handshake itself
            with pytest.raises(ssl.SSLError):
                ctx.wrap_socket(raw, server_hostname=tls.HOSTNAME)
            _assert_still_serving(plugin)
            return
        sock = ctx.wrap_socket(raw, server_hostname=tls.HOSTNAME)
        # TLS 1.3: the client finishes first; the server checks its (empty) certificate after.
        certificate = sock.getpeercert(binary_form=True)
        assert certificate is not None
        names = x509.load_der_x509_certificate(certificate).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
        assert tls.HOSTNAME in names.value.get_values_for_type(x509.DNSName)  # the plugin
        with contextlib.suppress(OSError):
            sock.sendall(H2_PREFACE)
        answer = _answer(sock)
    # Closed without a byte (or with a TLS alert, which the ssl module raises).
    assert isinstance(answer, ssl.SSLError) or answer == b"", answer
    _assert_still_serving(plugin)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_with_a_self_made_certificate_is_refused(
    plugin: Plugin, version: ssl.TLSVersion, tmp_path: Path
) -> None:
    # Made exactly as go-plugin makes the host's (P-521, CN and SAN localhost): only the key
    # differs, and the plugin trusts nothing but the one certificate its host sent it.
    impostor = go_plugin_host_identity()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(impostor.cert_pem)
    key.write_bytes(impostor.key_pem)
    key.chmod(0o600)
    ctx = _client_context(version)
    ctx.load_cert_chain(cert, key)
    with _connect(plugin.socket_path) as raw:
        if version is ssl.TLSVersion.TLSv1_2:
            with pytest.raises(ssl.SSLError):
                ctx.wrap_socket(raw, server_hostname=tls.HOSTNAME)
            _assert_still_serving(plugin)
            return
        sock = ctx.wrap_socket(raw, server_hostname=tls.HOSTNAME)
        with contextlib.suppress(OSError):
            sock.sendall(H2_PREFACE)
        answer = _answer(sock)
    assert isinstance(answer, ssl.SSLError) or answer == b"", answer
    _assert_still_serving(plugin)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_another_user_cannot_even_reach_the_socket(plugin: Plugin) -> None:
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through its exit status only)
        code = 3
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                socket.socket(socket.AF_UNIX).connect(plugin.socket_path)
                code = 1
            except PermissionError:
                code = 0
            except OSError:
                code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "as nobody: connected, or another error"
    _assert_still_serving(plugin)
