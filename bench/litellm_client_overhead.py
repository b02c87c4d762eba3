"""Per-call overhead of litellm-client over raw httpx, against a real LiteLLM proxy.

    uv run python bench/litellm_client_overhead.py [--calls 200] [--rounds 10]

Reads LITELLM_URL and LITELLM_MASTER_KEY (default: the local test proxy on 127.0.0.1:4000).
Each operation is timed the same number of times both ways, after a warm-up, in interleaved
rounds (raw first in even rounds, client first in odd ones) so that drift in the proxy's speed
touches both sides alike. Raw calls decode the JSON body, as any real caller must; the client
also validates it into models. Keys the benchmark creates are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from litellm_client import AsyncLiteLLMClient, LiteLLMClient

URL = os.environ.get("LITELLM_URL", "http://127.0.0.1:4000").rstrip("/")
MASTER_KEY = os.environ.get("LITELLM_MASTER_KEY", "sk-master-local-test")
HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}


@dataclass
class Samples:
    raw: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)

    def of(self, side: int) -> list[float]:
        return self.client if side else self.raw


def _ms(started: int) -> float:
    return (time.perf_counter_ns() - started) / 1e6


def schedule(calls: int, rounds: int) -> list[int]:
    """The order of the timed calls: 0 is raw, 1 the client; each round runs one side's batch
    then the other's, raw first in even rounds and client first in odd ones."""
    per_round = max(calls // rounds, 1)
    order: list[int] = []
    for index in range(rounds):
        first = index % 2
        order += [first] * per_round + [1 - first] * per_round
    return order


def warm_up(calls: int) -> int:
    return max(calls // 10, 5)


def measure(raw: Callable[[], Any], client: Callable[[], Any], calls: int, rounds: int) -> Samples:
    sides = (raw, client)
    for _ in range(warm_up(calls)):  # connections, caches, code paths
        raw()
        client()
    samples = Samples()
    for side in schedule(calls, rounds):
        started = time.perf_counter_ns()
        sides[side]()
        samples.of(side).append(_ms(started))
    return samples


async def measure_async(
    raw: Callable[[], Awaitable[Any]],
    client: Callable[[], Awaitable[Any]],
    calls: int,
    rounds: int,
) -> Samples:
    sides = (raw, client)
    for _ in range(warm_up(calls)):
        await raw()
        await client()
    samples = Samples()
    for side in schedule(calls, rounds):
        started = time.perf_counter_ns()
        await sides[side]()
        samples.of(side).append(_ms(started))
    return samples


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def report(name: str, samples: Samples) -> None:
    raw_median, client_median = statistics.median(samples.raw), statistics.median(samples.client)
    print(
        f"{name:<22} {len(samples.raw):>5} "
        f"{raw_median:>9.2f} {p95(samples.raw):>8.2f} "
        f"{client_median:>9.2f} {p95(samples.client):>8.2f} "
        f"{client_median / raw_median:>7.3f} {client_median - raw_median:>+9.2f}"
    )


def read_steps(
    http: httpx.Client, client: LiteLLMClient, token: str, calls: int, rounds: int
) -> None:
    """key_info, a page of list_keys, and update_key on one key."""
    report(
        "key_info",
        measure(
            lambda: http.get("/key/info", params={"key": token}).json(),
            lambda: client.key_info(token),
            calls,
            rounds,
        ),
    )
    report(
        "list_keys_page(10)",
        measure(
            lambda: http.get("/key/list", params={"size": 10, "return_full_object": True}).json(),
            lambda: client.list_keys_page(1, 10),
            calls // 2,
            rounds,
        ),
    )
    report(
        "update_key(duration)",
        measure(
            lambda: http.post("/key/update", json={"key": token, "duration": "1h"}).json(),
            lambda: client.update_key(token, duration="1h"),
            calls // 2,
            rounds,
        ),
    )


def generate_and_delete_steps(
    http: httpx.Client, client: LiteLLMClient, prefix: str, calls: int, rounds: int
) -> list[str]:
    """generate_key, then delete_keys on what it made; returns every key made (the clean-up
    deletes what is left)."""
    created: list[str] = []

    def raw_generate() -> None:
        answer = http.post("/key/generate", json={"key_alias": f"{prefix}{uuid.uuid4().hex}"})
        created.append(answer.json()["token"])

    def client_generate() -> None:
        created.append(client.generate_key(key_alias=f"{prefix}{uuid.uuid4().hex}").token)

    report("generate_key", measure(raw_generate, client_generate, calls // 4, rounds))

    victims = iter(list(created))

    def raw_delete() -> None:
        http.post("/key/delete", json={"keys": [next(victims)]}).json()

    def client_delete() -> None:
        client.delete_keys([next(victims)])

    # generate made as many keys as this deletes (same call count and warm-up).
    report("delete_keys(1)", measure(raw_delete, client_delete, calls // 4, rounds))
    return created


def offline_step(http: httpx.Client, token: str, calls: int, rounds: int) -> None:
    """The client's own cost, without the proxy's latency: the same recorded answer served
    in-process to both sides."""
    recorded = http.get("/key/info", params={"key": token})
    local = httpx.MockTransport(
        lambda request: httpx.Response(200, content=recorded.content, headers=recorded.headers)
    )
    with httpx.Client(base_url=URL, headers=HEADERS, transport=local) as fake_http:
        fake_client = LiteLLMClient(URL, MASTER_KEY, http_client=fake_http)
        report(
            "key_info (no network)",
            measure(
                lambda: fake_http.get("/key/info", params={"key": token}).json(),
                lambda: fake_client.key_info(token),
                calls * 10,
                rounds,
            ),
        )


def run_sync(calls: int, rounds: int, prefix: str, created: list[str]) -> str:
    """The synchronous steps; every key made is added to ``created``. Returns the token of the
    key the read steps use."""
    with (
        httpx.Client(base_url=URL, headers=HEADERS, timeout=30) as http,
        LiteLLMClient(URL, MASTER_KEY, timeout=30) as client,
    ):
        subject = client.generate_key(key_alias=f"{prefix}subject", models=["fake-gpt"])
        created.append(subject.token)
        read_steps(http, client, subject.token, calls, rounds)
        created += generate_and_delete_steps(http, client, prefix, calls, rounds)
        offline_step(http, subject.token, calls, rounds)
    return subject.token


async def run_async(calls: int, rounds: int, token: str) -> None:
    async with (
        httpx.AsyncClient(base_url=URL, headers=HEADERS, timeout=30) as http,
        AsyncLiteLLMClient(URL, MASTER_KEY, timeout=30) as client,
    ):

        async def raw() -> Any:
            return (await http.get("/key/info", params={"key": token})).json()

        async def ours() -> Any:
            return await client.key_info(token)

        report("key_info (async)", await measure_async(raw, ours, calls, rounds))


def clean_up(prefix: str, created: list[str]) -> None:
    """Delete every key the benchmark made, found by alias as well as by token."""
    with LiteLLMClient(URL, MASTER_KEY) as client:
        leftovers = {k.token for k in client.list_keys(key_alias=prefix, substring_matching=True)}
        leftovers |= set(created)
        if leftovers:
            client.delete_keys(sorted(t for t in leftovers if t), missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per side for key_info")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    print(f"proxy {URL}; times in ms; ratio = client median / raw median")
    print(
        f"{'operation':<22} {'calls':>5} {'raw med':>9} {'raw p95':>8} "
        f"{'cli med':>9} {'cli p95':>8} {'ratio':>7} {'overhead':>9}"
    )
    created: list[str] = []
    try:
        token = run_sync(args.calls, args.rounds, prefix, created)
        asyncio.run(run_async(args.calls, args.rounds, token))
    finally:
        clean_up(prefix, created)


if __name__ == "__main__":
    main()
