"""Real OpenBao clusters for tests: ``bao server`` processes on Raft storage, on 127.0.0.1.

Unlike a dev server (in-memory, unsealed, one process), a cluster node keeps its Raft data on
disk, starts sealed, and can be killed, restarted and unsealed again, so that tests can prove
what survives a restart and what a standby and a failover do. One node alone is a persistent
single server.

Every node has its own directory (config, Raft data, plugin directory, log), its own API and
cluster ports, and ``retry_join`` stanzas naming all the other nodes. Processes are started in
their own session and stopped by PID; nothing here ever signals a process it did not start.

``start_engine_cluster`` adds the LiteLLM engine: its launcher in every node's plugin
directory (each node runs its own plugin process), registered once through the active node
(the catalog is replicated), and an ``EngineCluster`` to reach a mount through any node.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from vault_plugin_litellm.sdk.launcher import Launcher

from .engine_env import ENGINE_NAME, EngineTarget, LiteLLM, Mount, install_engine
from .openbao import (
    Bao,
    OpenBaoError,
    bao_binary,
    free_port,
    plugin_processes,
    register_plugin,
    wait_until,
)

# Raft's timings are multiplied by this (OpenBao's default, 5, is for WANs). 1 makes a failover
# take a few seconds instead of tens; the nodes share one loopback, so it is not too eager.
PERFORMANCE_MULTIPLIER = 1


def _hcl(value: str) -> str:
    """An HCL string literal (JSON's escaping is a subset HCL accepts)."""
    return json.dumps(value)


class ClusterNode:
    """One ``bao server`` of a cluster: its files, its ports and its process."""

    def __init__(self, cluster: OpenBaoCluster, index: int) -> None:
        self.cluster = cluster
        self.index = index
        self.name = f"node{index + 1}"
        self.workdir = cluster.workdir / self.name
        self.data_dir = self.workdir / "raft"
        self.plugin_dir = self.workdir / "plugins"
        self.config_path = self.workdir / "server.hcl"
        self.log_path = self.workdir / "bao.log"
        self.port = free_port()
        self.cluster_port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._clients: list[Bao] = []

    def __repr__(self) -> str:
        return f"<{self.name} {self.addr} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def write_config(self, peers: list[ClusterNode]) -> None:
        joins = "".join(
            f"  retry_join {{\n    leader_api_addr = {_hcl(peer.addr)}\n  }}\n" for peer in peers
        )
        self.config_path.write_text(
            f"ui = false\n"
            f"disable_mlock = true\n"
            # Tests read a mount's storage back through sys/raw (to prove what is stored).
            f"raw_storage_endpoint = true\n"
            f"plugin_directory = {_hcl(str(self.plugin_dir))}\n"
            f"api_addr = {_hcl(self.addr)}\n"
            f"cluster_addr = {_hcl(f'https://127.0.0.1:{self.cluster_port}')}\n"
            f'storage "raft" {{\n'
            f"  path = {_hcl(str(self.data_dir))}\n"
            f"  node_id = {_hcl(self.name)}\n"
            f"  performance_multiplier = {PERFORMANCE_MULTIPLIER}\n"
            f"{joins}"
            f"}}\n"
            f'listener "tcp" {{\n'
            f"  address = {_hcl(f'127.0.0.1:{self.port}')}\n"
            f"  cluster_address = {_hcl(f'127.0.0.1:{self.cluster_port}')}\n"
            f"  tls_disable = true\n"
            f"}}\n"
        )

    # -- the process ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the process (sealed); returns once its API answers."""
        self.spawn()
        self.wait_answering()

    def spawn(self) -> None:
        if self.running:
            raise OpenBaoError(f"{self.name} is already running (pid {self.pid})")
        for directory in (self.data_dir, self.plugin_dir):
            directory.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            **self.cluster.env,
        }
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== test harness: starting {self.name} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    str(self.cluster.binary),
                    "server",
                    f"-config={self.config_path}",
                    f"-log-level={self.cluster.log_level}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
                start_new_session=True,  # a Ctrl-C in the test runner must not reach it
            )

    def wait_answering(self, timeout: float = 60) -> None:
        assert self.proc is not None
        answered = wait_until(lambda: self.health() is not None or not self.running, timeout)
        if not self.running:
            raise OpenBaoError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
            )
        if not answered:
            raise OpenBaoError(f"{self.name} did not answer in {timeout} s:\n{self.log_tail()}")

    def kill(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 30) -> None:
        """Send ``sig`` to this node's process (by PID) and wait until it has exited."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        """SIGTERM (the server seals and stops its plugins), SIGKILL if that hangs."""
        self.kill(signal.SIGTERM, timeout=20)

    # -- the API --------------------------------------------------------------------------------

    def client(self, token: str | None = None) -> Bao:
        bao = Bao(self.addr, token if token is not None else self.cluster.root_token)
        self._clients.append(bao)
        return bao

    def health(self) -> dict[str, Any] | None:
        """``sys/health`` (whatever its status code says), or None when nothing answers."""
        try:
            response = httpx.get(f"{self.addr}/v1/sys/health", timeout=2)
        except httpx.HTTPError:
            return None
        with contextlib.suppress(ValueError):
            body = response.json()
            if isinstance(body, dict):
                return body
        return None

    def state(self) -> str:
        """``down``, ``uninitialized``, ``sealed``, ``standby`` or ``active``."""
        if not self.running:
            return "down"
        health = self.health()
        if health is None:
            return "down"
        if not health.get("initialized"):
            return "uninitialized"
        if health.get("sealed"):
            return "sealed"
        return "standby" if health.get("standby") else "active"

    def unseal(self, timeout: float = 60) -> None:
        self.cluster.unseal([self], timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def close_clients(self) -> None:
        for bao in self._clients:
            bao.close()
        self._clients.clear()


class OpenBaoCluster:
    """``size`` OpenBao nodes on Raft storage, initialised (one key share) and unsealed.

    ``start()`` brings up every node and returns once one is active and all others are
    unsealed standbys that joined the Raft configuration. The root token and the unseal key
    are kept on the object. ``kill``/``restart``/``step_down`` let tests move the active role.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        version: str | None = None,
        size: int = 3,
        env: Mapping[str, str] | None = None,
        log_level: str = "debug",
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster needs at least one node, not {size}")
        self.workdir = workdir
        self.binary = bao_binary(version)
        self.version = version or "installed"
        self.env = dict(env or {})
        self.log_level = log_level
        self.root_token = ""
        self.unseal_key = ""
        self.nodes = [ClusterNode(self, i) for i in range(size)]

    def start(self, timeout: float = 120) -> OpenBaoCluster:
        try:
            for node in self.nodes:
                node.workdir.mkdir(parents=True, exist_ok=True)
                node.write_config([peer for peer in self.nodes if peer is not node])
            for node in self.nodes:
                node.spawn()
            for node in self.nodes:
                node.wait_answering()
            first = self.nodes[0]
            answer = httpx.put(
                f"{first.addr}/v1/sys/init",
                json={"secret_shares": 1, "secret_threshold": 1},
                timeout=60,
            )
            if answer.status_code != 200:
                raise OpenBaoError(f"init failed: HTTP {answer.status_code}: {answer.text}")
            keys = answer.json()
            self.root_token, self.unseal_key = keys["root_token"], keys["keys"][0]
            first.unseal(timeout)
            self.wait_for_active(timeout=timeout)
            self._tune_autopilot(first)
            self.unseal(self.nodes[1:], timeout)
            self.wait_for_members(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def unseal(self, nodes: list[ClusterNode], timeout: float = 60) -> None:
        """Give ``nodes`` the unseal key until all are unsealed. All at once: a node joins the
        cluster only on its retry-join tick (every 2 s), and forgets a key it was given before
        the join finished, so the key is given again until the node is in."""
        deadline = time.monotonic() + timeout

        def sealed() -> list[ClusterNode]:
            return [n for n in nodes if n.state() in ("sealed", "uninitialized", "down")]

        while pending := sealed():
            for node in pending:
                if not node.running:
                    raise OpenBaoError(f"{node.name} is not running:\n{node.log_tail()}")
            if time.monotonic() > deadline:
                raise OpenBaoError(f"still sealed after {timeout} s: {pending}\n{self.logs()}")
            for node in pending:
                with contextlib.suppress(httpx.HTTPError):
                    httpx.put(
                        f"{node.addr}/v1/sys/unseal", json={"key": self.unseal_key}, timeout=10
                    )
            wait_until(lambda: not sealed(), timeout=2.5, interval=0.2)

    def _tune_autopilot(self, node: ClusterNode) -> None:
        # A joining node is a non-voter until autopilot has seen it healthy for the
        # stabilization time (10 s by default); a test cluster need not wait that long.
        bao = node.client()
        try:
            bao.ok(
                bao.write(
                    "sys/storage/raft/autopilot/configuration",
                    {"server_stabilization_time": "1s", "cleanup_dead_servers": False},
                )
            )
        finally:
            bao.close()

    # -- who is who -----------------------------------------------------------------------------

    def states(self) -> dict[str, str]:
        return {node.name: node.state() for node in self.nodes}

    def wait_for_active(
        self, *, exclude: ClusterNode | None = None, timeout: float = 60
    ) -> ClusterNode:
        """The active node, once exactly one running node says it is active."""

        def active() -> ClusterNode | None:
            found = [n for n in self.nodes if n is not exclude and n.state() == "active"]
            return found[0] if len(found) == 1 else None

        node = wait_until(active, timeout=timeout, interval=0.2)
        if node is None:
            raise OpenBaoError(f"no single active node after {timeout} s: {self.states()}")
        return node

    def active(self) -> ClusterNode:
        return self.wait_for_active()

    def standbys(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.state() == "standby"]

    def raft_members(self) -> list[dict[str, Any]]:
        bao = self.active().client()
        try:
            config = bao.ok(bao.read("sys/storage/raft/configuration"))
        finally:
            bao.close()
        return list(config["config"]["servers"])

    def wait_for_members(self, timeout: float = 60) -> None:
        """Until every running node is unsealed, a voter in the Raft configuration, and every
        node but the active one a standby that has caught up enough to answer."""
        running = {n.name for n in self.nodes if n.running}

        def settled() -> bool:
            states = self.states()
            if sorted(s for name, s in states.items() if name in running).count("active") != 1:
                return False
            if any(states[name] not in ("active", "standby") for name in running):
                return False
            with contextlib.suppress(OpenBaoError, httpx.HTTPError):
                voters = {m["node_id"] for m in self.raft_members() if m.get("voter")}
                return running <= voters
            return False

        if not wait_until(settled, timeout=timeout, interval=0.3):
            raise OpenBaoError(f"the cluster did not settle in {timeout} s: {self.states()}")

    # -- moving the active role -----------------------------------------------------------------

    def kill(self, node: ClusterNode, sig: signal.Signals = signal.SIGKILL) -> None:
        node.kill(sig)

    def restart(self, node: ClusterNode, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop ``node`` with ``sig`` (if it runs), start it again and unseal it."""
        node.kill(sig)
        node.start()
        node.unseal()
        self.wait_for_members()

    def heal(self) -> None:
        """Start and unseal every node that is down, and wait until all are members again."""
        for node in self.nodes:
            if not node.running:
                node.start()
        self.unseal([n for n in self.nodes if n.state() == "sealed"])
        self.wait_for_members()

    def step_down(self, timeout: float = 60) -> ClusterNode:
        """Ask the active node to give up the role; returns the node that takes it."""
        old = self.active()
        bao = old.client()
        try:
            bao.ok(bao.request("PUT", "sys/step-down"))
        finally:
            bao.close()
        return self.wait_for_active(exclude=old, timeout=timeout)

    # -- plugins --------------------------------------------------------------------------------

    def install(self, write: Callable[[Path], Launcher]) -> list[Launcher]:
        """Put a plugin's launcher into every node's plugin directory (the catalog is
        replicated, so each node needs the same file, with the same checksum)."""
        launchers = [write(node.plugin_dir) for node in self.nodes]
        if len({launcher.sha256 for launcher in launchers}) != 1:
            raise OpenBaoError(f"the launchers differ between nodes: {launchers}")
        return launchers

    # -- teardown -------------------------------------------------------------------------------

    def stop(self) -> None:
        for node in self.nodes:
            node.close_clients()
            node.stop()

    def errors(self, lines: int = 60) -> str:
        """The error lines (and plugin tracebacks) of every node's log: what a failing test
        prints, since the logs live in a temporary directory pytest may have removed by the
        time anyone looks."""
        marks = ("[ERROR]", "Traceback", "Error:", "  |")
        out = []
        for node in self.nodes:
            found = [line for line in node.log_text().splitlines() if any(m in line for m in marks)]
            out.append(f"--- {node.name} ({node.log_path}) ---")
            out.extend(found[-lines:])
        return "\n".join(out)

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {n.name} ---\n{n.log_tail(lines)}" for n in self.nodes)

    def __enter__(self) -> OpenBaoCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the LiteLLM engine on a cluster -----------------------------------------------------------


@dataclass
class EngineCluster:
    """A cluster with the engine registered, and the LiteLLM proxy its mounts talk to."""

    cluster: OpenBaoCluster
    litellm: LiteLLM
    launchers: dict[str, Launcher]  # by node name: each node runs its own copy
    _targets: dict[str, EngineTarget] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.cluster.version

    def target(self, node: ClusterNode) -> EngineTarget:
        """The engine as reached through ``node`` (requests go to that node's API)."""
        if node.name not in self._targets:
            self._targets[node.name] = EngineTarget(
                node.client(),
                node.plugin_dir,
                self.version,
                self.litellm,
                launcher=self.launchers[node.name],
            )
        return self._targets[node.name]

    def mount(self, path: str | None = None, **options: Any) -> Mount:
        """A new mount, made through the active node (requests through it); returns once
        every standby routes to it too (they apply the mount table a little later)."""
        mount = self.target(self.cluster.active()).mount(path, **options)
        self.wait_for_route(mount)
        return mount

    def wait_for_route(self, mount: Mount, timeout: float = 30) -> None:
        for node in self.cluster.nodes:
            if node.state() not in ("active", "standby"):
                continue
            bao = self.target(node).bao

            def routed(bao: Bao = bao) -> bool:
                return bao.help(mount.path).status == 200

            if not wait_until(routed, timeout=timeout):
                raise OpenBaoError(f"{node.name} has no route to {mount.path} after {timeout} s")

    def through(self, mount: Mount, node: ClusterNode) -> Mount:
        """The same mount, with requests sent to ``node``."""
        return Mount(self.target(node), mount.path)

    def pids(self, node: ClusterNode) -> list[int]:
        return plugin_processes(self.launchers[node.name].path)

    def unmount(self, mount: Mount) -> None:
        """Unmount through whichever node is active now (revokes the mount's leases)."""
        self.through(mount, self.cluster.active()).unmount()


def start_engine_cluster(
    workdir: Path, version: str, litellm: LiteLLM, *, size: int = 3
) -> Iterator[EngineCluster]:
    """Yield a started cluster with the engine installed on every node and registered once
    (the catalog is replicated); stops it after, and checks no plugin outlived its node."""
    cluster = OpenBaoCluster(workdir, version=version, size=size)
    cluster.start()
    launchers: dict[str, Launcher] = {}
    try:
        for node, launcher in zip(cluster.nodes, cluster.install(install_engine), strict=True):
            launchers[node.name] = launcher
        bao = cluster.active().client()
        first = next(iter(launchers.values()))
        register_plugin(bao, ENGINE_NAME, first.sha256, first.command)
        yield EngineCluster(cluster, litellm, launchers)
    finally:
        cluster.stop()

    # A plugin must not outlive its host: it exits when the host goes away.
    def survivors() -> list[int]:
        return [pid for la in launchers.values() for pid in plugin_processes(la.path)]

    if not wait_until(lambda: not survivors(), timeout=15):
        raise OpenBaoError(f"plugin processes outlived the cluster: {survivors()}")
