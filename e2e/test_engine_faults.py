"""Faults between the engine and LiteLLM, and in the plugin process, on a real OpenBao: none of
them may lose a key (a key no lease holds) or leave a lease whose key is gone.

A :class:`~e2e.faults.Forwarder` sits between the plugin and the proxy (the stand-in, or with
``-m live`` a real one) and is switched from the tests: down, slow, or answering garbage. The
engine's own records are read back through ``sys/raw``; the leases through
``sys/leases/lookup`` and their stored entries.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.engine_env import ENGINE_NAME, EngineTarget, LiteLLM, Mount, install_engine
from e2e.faults import GARBAGE_KINDS, MAX_BODY, MAX_DELAY, STOP_TIMEOUT, Forwarder
from e2e.openbao import Bao, BaoResponse, OpenBaoServer, register_plugin, wait_until

pytestmark = pytest.mark.openbao

GENERATE, INFO, UPDATE, DELETE = "/key/generate", "/key/info", "/key/update", "/key/delete"
GONE = ("deleted", "missing")
HOLD = 60.0  # far longer than any wait below: holds end when a test clears them


@pytest.fixture(scope="module")
def forwarder(litellm: LiteLLM) -> Iterator[Forwarder]:
    if litellm.plugin_url != litellm.url:
        pytest.fail(
            "the fault tests put a forwarder on 127.0.0.1 between the plugin and the proxy; "
            "with E2E_PLUGIN_LITELLM_URL set the plugin cannot reach it"
        )
    with Forwarder(litellm.url) as proxy:
        yield proxy


@dataclass
class Faulty:
    """A mount whose proxy URL is the forwarder's, and what a test needs to check on it."""

    mount: Mount
    proxy: Forwarder
    first_mint: int  # the forwarder's record of mints before this test
    stamp: str | None = None  # the vault_backend_uuid the engine stamps on this mount's keys

    @property
    def bao(self) -> Bao:
        return self.mount.bao

    @property
    def litellm(self) -> LiteLLM:
        return self.mount.target.litellm

    @property
    def path(self) -> str:
        return self.mount.path

    def creds(self) -> dict[str, Any]:
        issued: dict[str, Any] = self.mount.creds().body
        if self.stamp is None:
            # The backend-aware UUID the host gives the plugin, which is not the storage UUID
            # sys/mounts lists: read it off the first key.
            metadata = self.litellm.admin.key_info(issued["data"]["token"]).metadata or {}
            self.stamp = str(metadata["vault_backend_uuid"])
        return issued

    def minted(self) -> list[str]:
        """Tokens of the keys the proxy was asked to create during this test (once each)."""
        return list(dict.fromkeys(self.proxy.minted[self.first_mint :]))

    def stamped(self) -> set[str]:
        """Live keys in the proxy stamped with this mount's backend UUID."""
        stamp = self.stamp
        assert stamp is not None, "mint through creds() first"
        return {
            k.token
            for k in self.litellm.admin.list_keys()
            if k.token and (k.metadata or {}).get("vault_backend_uuid") == stamp
        }

    def leases(self, role: str = "dev") -> dict[str, str]:
        """Every live lease of ``role``: lease ID -> the key token its stored entry holds."""
        prefix = f"{self.path}/creds/{role}/"
        listed = self.bao.list(f"sys/leases/lookup/{prefix}")
        if listed.status == 404:
            return {}
        names = self.bao.ok(listed)["keys"]
        held = {}
        for name in names:
            entry = self.bao.ok(self.bao.read(f"sys/raw/sys/expire/id/{prefix}{name}"))
            stored = json.loads(entry["value"])
            held[prefix + name] = stored["secret"]["internal_data"]["token"]
        return held

    def stored(self, prefix: str) -> list[str]:
        """The engine's storage entries under ``prefix`` (``keys/``, ``wal/``, ``revocations/``)."""
        listed = self.bao.list(f"sys/raw/logical/{self.mount.backend_uuid()}/{prefix}")
        return list(listed.data["keys"]) if listed.status == 200 else []

    def wal_tokens(self) -> list[str]:
        """The key tokens the engine's write-ahead entries name."""
        tokens = []
        for entry_id in self.stored("wal/"):
            raw = self.bao.ok(
                self.bao.read(f"sys/raw/logical/{self.mount.backend_uuid()}/wal/{entry_id}")
            )
            tokens.append(json.loads(raw["value"])["data"]["token"])
        return sorted(tokens)

    def slow_down(self) -> None:
        """A 1 s timeout for each call to the proxy (the least config allows)."""
        self.mount.configure(url=self.proxy.url, timeout="1s")

    def owed(self, token: str) -> dict[str, Any] | None:
        raw = self.bao.read(f"sys/raw/logical/{self.mount.backend_uuid()}/revocations/{token}")
        return json.loads(raw.data["value"]) if raw.status == 200 else None

    def lease_exists(self, lease_id: str) -> bool:
        return self.bao.write("sys/leases/lookup", {"lease_id": lease_id}).status == 200

    def tidy(self, **body: Any) -> dict[str, Any]:
        report: dict[str, Any] = self.bao.ok(self.bao.write(f"{self.path}/tidy", body))
        return report

    def pids(self) -> list[int]:
        return self.mount.target.pids()

    def orphans(self) -> tuple[set[str], set[str]]:
        """(keys no lease holds, tokens of leases whose key is gone)."""
        keys, held = self.stamped(), set(self.leases().values())
        return keys - held, held - keys


def proxy_error(response: BaoResponse, status: int, url: str) -> str:
    """The one error of ``response``, checked to be ``status``, to name the proxy and to carry
    no key material."""
    assert response.status == status, response.body
    (error,) = response.errors
    assert url in error, error
    assert "sk-" not in error, error
    return error


@pytest.fixture
def faulty(engine_target: EngineTarget, forwarder: Forwarder) -> Iterator[Faulty]:
    forwarder.clear()
    forwarder.up()
    mount = engine_target.mount()
    faulty = Faulty(mount, forwarder, len(forwarder.minted))
    try:
        mount.configure(url=forwarder.url)
        mount.role(ttl="10m")
        yield faulty
    finally:
        forwarder.clear()
        forwarder.up()
        mount.unmount()
        # Nothing may be left, but a failed test must not leave keys in a shared proxy.
        if leftovers := faulty.minted():
            faulty.litellm.admin.delete_keys(leftovers, missing_ok=True)


# -- 1. the proxy down during revocation ------------------------------------------------------


def test_a_revocation_while_the_proxy_is_down_is_retried_until_the_key_is_gone(
    faulty: Faulty,
) -> None:
    issued = faulty.creds()
    lease_id, token = issued["lease_id"], issued["data"]["token"]
    faulty.proxy.down()

    refused = faulty.bao.write("sys/leases/revoke", {"lease_id": lease_id})
    error = proxy_error(refused, 400, faulty.proxy.url)
    assert "deleting a key" in error
    assert faulty.lease_exists(lease_id)
    owed = faulty.owed(token)
    assert owed is not None
    assert owed["attempts"] == 1

    # Queued, the host retries on its own (10 s, then longer) while the engine keeps count.
    queued = faulty.bao.write("sys/leases/revoke", {"lease_id": lease_id, "sync": False})
    assert queued.status == 202, queued.body
    assert wait_until(lambda: (faulty.owed(token) or {}).get("attempts", 0) >= 2, timeout=20)
    assert faulty.lease_exists(lease_id)
    assert faulty.litellm.status(token) == "active"

    faulty.proxy.up()
    assert wait_until(lambda: not faulty.lease_exists(lease_id), timeout=90, interval=0.5)
    assert faulty.litellm.status(token) in GONE
    assert faulty.owed(token) is None
    assert faulty.stored("keys/") == []


def test_revoke_force_while_the_proxy_is_down_is_finished_by_tidy(faulty: Faulty) -> None:
    kept = faulty.creds()
    forced = faulty.creds()
    faulty.proxy.down()

    dropped = faulty.bao.write(f"sys/leases/revoke-force/{forced['lease_id']}")
    assert dropped.status == 204, dropped.body
    token = forced["data"]["token"]
    # The host forgot the lease; the key lives on, and the engine knows it owes its deletion.
    assert not faulty.lease_exists(forced["lease_id"])
    assert faulty.litellm.status(token) == "active"
    assert faulty.owed(token) is not None
    proxy_error(faulty.bao.write(f"{faulty.path}/tidy", {}), 500, faulty.proxy.url)

    faulty.proxy.up()
    report = faulty.tidy()
    assert [(f["token"], f["reason"]) for f in report["found"]] == [
        (token, "its revocation failed and is still owed")
    ]
    assert report["deleted"] == 1
    assert faulty.litellm.status(token) in GONE
    assert faulty.owed(token) is None
    assert faulty.leases() == {kept["lease_id"]: kept["data"]["token"]}
    assert faulty.orphans() == (set(), set())


# -- 2. a slow proxy ----------------------------------------------------------------------------


def test_a_slow_proxy_fails_the_mint_at_the_configured_timeout_and_keeps_no_key(
    faulty: Faulty,
) -> None:
    held = faulty.creds()
    faulty.slow_down()
    # The proxy does the work at once; its answers are held far past the 1 s timeout.
    faulty.proxy.delay([GENERATE, INFO, DELETE], HOLD)
    failed = faulty.bao.read(f"{faulty.path}/creds/dev")
    error = proxy_error(failed, 500, faulty.proxy.url)
    assert "minting a key" in error
    assert "Timeout" in error
    # The engine gave up while the proxy's answer was still held: its timeout, not the hold,
    # ended the call.
    assert faulty.proxy.holding(GENERATE) == 1
    abandoned = faulty.minted()[-1]
    faulty.proxy.clear()

    faulty.tidy(safety_buffer=0)
    assert faulty.litellm.status(abandoned) in GONE
    assert faulty.stamped() == {held["data"]["token"]}
    assert faulty.leases() == {held["lease_id"]: held["data"]["token"]}
    assert faulty.stored("keys/") == [held["data"]["token"]]


def test_a_mint_that_reaches_a_slow_proxy_late_is_rolled_back(faulty: Faulty) -> None:
    held = faulty.creds()
    faulty.slow_down()
    forwarded = faulty.proxy.forwarded(GENERATE)
    faulty.proxy.delay(GENERATE, HOLD, before=True)
    failed = faulty.bao.read(f"{faulty.path}/creds/dev")
    assert "Timeout" in proxy_error(failed, 500, faulty.proxy.url)
    # Both attempts (one raw key) are still on their way: the proxy has seen neither, and the
    # engine has deleted the key it could not confirm, but kept the mint's write-ahead entry.
    on_the_way = faulty.proxy.held_mints()
    assert len(on_the_way) == 2
    late = on_the_way[0]
    assert on_the_way == [late, late]
    assert faulty.proxy.forwarded(GENERATE) == forwarded
    assert faulty.wal_tokens() == [late]

    faulty.proxy.clear()  # now they land: the key exists after all, and no lease holds it
    assert wait_until(lambda: faulty.proxy.completed(GENERATE) == forwarded + 2)
    assert faulty.litellm.status(late) == "active"
    assert late not in faulty.leases().values()

    # Rollback deletes it once no request of that mint can be in flight: in this process after
    # two minutes, in a new one (a reload, a restart, a crash) at once.
    reloaded = faulty.bao.write("sys/plugins/reload/backend", {"plugin": faulty.mount.target.name})
    assert reloaded.status in (200, 204), reloaded.body
    report = faulty.tidy()
    assert report["rolled_back"] == 1
    assert faulty.litellm.status(late) in GONE
    assert faulty.wal_tokens() == []
    assert faulty.stamped() == {held["data"]["token"]}
    assert faulty.orphans() == (set(), set())


# -- 3. a proxy answering garbage ---------------------------------------------------------------
# One mount per route, the kinds of garbage in turn: a mount costs seconds, a case a fraction.

CASES = [(kind, forward) for kind in GARBAGE_KINDS for forward in (True, False)]


def test_garbage_from_generate_is_a_clear_error_and_leaves_no_key(faulty: Faulty) -> None:
    held = faulty.creds()
    pids = faulty.pids()
    created: list[str] = []
    for kind in GARBAGE_KINDS:
        # The key is created, but neither the answer nor the lookup that would recover it can
        # be read.
        faulty.proxy.garbage([GENERATE, INFO], kind)
        failed = faulty.bao.read(f"{faulty.path}/creds/dev")
        faulty.proxy.clear()
        error = proxy_error(failed, 500, faulty.proxy.url)
        assert "minting a key" in error
        assert "not the documented answer" in error
        created.append(faulty.minted()[-1])
        assert faulty.litellm.status(created[-1]) in GONE, kind  # undone at once
        # The proxy may have acted, so the mint's write-ahead entry stays for rollback.
        assert faulty.wal_tokens() == sorted(created), kind
        assert faulty.stored("keys/") == [held["data"]["token"]], kind
    # An unreadable answer alone is settled by looking the key up by its token.
    faulty.proxy.garbage(GENERATE, "html")
    recovered = faulty.creds()
    faulty.proxy.clear()
    assert faulty.minted()[-1] == recovered["data"]["token"]
    assert faulty.leases() == {
        held["lease_id"]: held["data"]["token"],
        recovered["lease_id"]: recovered["data"]["token"],
    }
    assert faulty.orphans() == (set(), set())
    assert faulty.pids() == pids  # no crash


def test_garbage_from_update_fails_the_renewal_and_keeps_the_lease(faulty: Faulty) -> None:
    faulty.creds()
    pids = faulty.pids()
    for kind, forward in CASES:
        case = f"{kind}, proxy asked: {forward}"
        issued = faulty.creds()
        lease_id, token = issued["lease_id"], issued["data"]["token"]
        faulty.proxy.garbage(UPDATE, kind, forward=forward)
        refused = faulty.bao.write("sys/leases/renew", {"lease_id": lease_id, "increment": 1800})
        faulty.proxy.clear()
        assert "renewing a key" in proxy_error(refused, 400, faulty.proxy.url), case
        lookup = faulty.bao.ok(faulty.bao.write("sys/leases/lookup", {"lease_id": lease_id}))
        assert lookup["ttl"] <= 600, case  # not extended
        assert faulty.litellm.status(token) == "active", case
        renewed = faulty.bao.write("sys/leases/renew", {"lease_id": lease_id, "increment": 1800})
        assert renewed.status == 200, (case, renewed.body)
    assert len(faulty.leases()) == 1 + len(CASES)
    assert faulty.orphans() == (set(), set())
    assert faulty.pids() == pids


def test_garbage_from_delete_fails_the_revocation_and_keeps_the_lease(faulty: Faulty) -> None:
    held = faulty.creds()
    pids = faulty.pids()
    for kind, forward in CASES:
        case = f"{kind}, proxy asked: {forward}"
        issued = faulty.creds()
        lease_id, token = issued["lease_id"], issued["data"]["token"]
        faulty.proxy.garbage(DELETE, kind, forward=forward)
        refused = faulty.bao.write("sys/leases/revoke", {"lease_id": lease_id})
        faulty.proxy.clear()
        assert "deleting a key" in proxy_error(refused, 400, faulty.proxy.url), case
        assert faulty.lease_exists(lease_id), case
        assert faulty.owed(token) is not None, case
        assert faulty.litellm.status(token) == ("deleted" if forward else "active"), case
        done = faulty.bao.write("sys/leases/revoke", {"lease_id": lease_id})
        assert done.status == 204, (case, done.body)
        assert faulty.litellm.status(token) in GONE, case
        assert faulty.owed(token) is None, case
    assert faulty.leases() == {held["lease_id"]: held["data"]["token"]}
    assert faulty.orphans() == (set(), set())
    assert faulty.pids() == pids


# -- 4. and 5. the plugin killed while minting --------------------------------------------------


def kill_plugin(faulty: Faulty) -> list[int]:
    pids = faulty.pids()
    assert pids, "no plugin process to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not any(running(p) for p in pids), timeout=10)
    return pids


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited one may wait a moment to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def respawn(faulty: Faulty, killed: list[int]) -> None:
    """The next request starts the plugin again (the host may first answer a request or two
    with the dead socket's error)."""
    assert wait_until(lambda: faulty.bao.read(f"{faulty.path}/config").status == 200, timeout=30)
    assert faulty.pids()
    assert not set(faulty.pids()) & set(killed)


@pytest.mark.local_server
def test_kill_9_between_key_creation_and_lease_leaves_no_key(faulty: Faulty) -> None:
    held = faulty.creds()
    faulty.proxy.delay(GENERATE, HOLD)  # the proxy creates the key; the plugin never hears
    outcome: list[BaoResponse] = []
    minting = threading.Thread(
        target=lambda: outcome.append(faulty.bao.read(f"{faulty.path}/creds/dev"))
    )
    minting.start()
    try:
        assert faulty.proxy.wait_holding(GENERATE)
        cut_short = faulty.minted()[-1]
        assert faulty.litellm.status(cut_short) == "active"
        assert len(faulty.stored("wal/")) == 1  # the mint's write-ahead entry
        killed = kill_plugin(faulty)
    finally:
        faulty.proxy.clear()
        minting.join(timeout=120)
    (answer,) = outcome
    if answer.status == 200:
        # The host retried the request once on a new process: a new key, with its own lease.
        assert answer.body["data"]["token"] != cut_short
    else:
        assert answer.status == 500, answer.body
        assert "sk-" not in json.dumps(answer.body)
    respawn(faulty, killed)

    # The key is in the engine's index, so only rolling back the dead process's write-ahead
    # entry deletes it: tidy does that at once (unless a rollback tick came first).
    report = faulty.tidy()
    assert report["rolled_back"] <= 1
    assert faulty.litellm.status(cut_short) in GONE
    assert faulty.stored("wal/") == []
    leases = faulty.leases()
    assert held["data"]["token"] in leases.values()
    assert sorted(faulty.stored("keys/")) == sorted(leases.values())
    assert faulty.orphans() == (set(), set())


@pytest.mark.local_server
def test_kill_9_during_a_burst_leaves_every_key_leased_and_every_lease_keyed(
    faulty: Faulty,
) -> None:
    threads, wanted_after = 8, 4
    first = faulty.creds()
    stop = threading.Event()
    results: list[tuple[float, BaoResponse]] = []
    lock = threading.Lock()

    def mint_until_stopped() -> None:
        while not stop.is_set():
            response = faulty.bao.read(f"{faulty.path}/creds/dev")
            with lock:
                results.append((time.monotonic(), response))

    def successes(since: float = 0.0) -> int:
        with lock:
            return sum(1 for at, r in results if r.status == 200 and at > since)

    workers = [threading.Thread(target=mint_until_stopped) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        assert wait_until(lambda: successes() >= wanted_after, timeout=60)
        # Hold every answer until all the workers wait on one: every mint in flight has then
        # created its key, and none is between its answer and its lease.
        faulty.proxy.delay(GENERATE, HOLD)
        assert faulty.proxy.wait_holding(GENERATE, threads, timeout=60)
        cut_short = set(faulty.proxy.held_mints())
        killed = kill_plugin(faulty)
        killed_at = time.monotonic()
        faulty.proxy.clear()
        assert wait_until(lambda: successes(killed_at) >= wanted_after, timeout=90)
    finally:
        stop.set()
        faulty.proxy.clear()
        for worker in workers:
            worker.join(timeout=120)
    assert not set(faulty.pids()) & set(killed)

    failed = [r for _, r in results if r.status != 200]
    issued = {r.body["lease_id"]: r.body["data"]["token"] for _, r in results if r.status == 200}
    issued[first["lease_id"]] = first["data"]["token"]
    assert all("sk-" not in json.dumps(r.body) for r in failed)
    report = faulty.tidy()
    leases = faulty.leases()
    keys = faulty.stamped()
    stray_keys, dangling_leases = faulty.orphans()
    print(
        f"\nburst: {len(results)} requests, {len(issued)} leases, {len(failed)} failed; "
        f"{len(faulty.minted())} keys created, {report['rolled_back']} rolled back, "
        f"{len(keys)} live; orphans: {len(stray_keys)} keys, {len(dangling_leases)} leases"
    )
    assert len(cut_short) == threads
    assert all(faulty.litellm.status(token) in GONE for token in cut_short)
    assert leases == issued
    assert keys == set(issued.values())
    assert (stray_keys, dangling_leases) == (set(), set())
    assert faulty.wal_tokens() == []
    assert set(faulty.stored("keys/")) == keys


# -- the rollback tick, without tidy ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.local_server
def test_the_rollback_tick_finishes_owed_revocations_and_dead_mints(faulty: Faulty) -> None:
    forced = faulty.creds()
    faulty.proxy.delay(GENERATE, HOLD)
    minting = threading.Thread(target=lambda: faulty.bao.read(f"{faulty.path}/creds/dev"))
    minting.start()
    try:
        assert faulty.proxy.wait_holding(GENERATE)
        cut_short = faulty.minted()[-1]
        killed = kill_plugin(faulty)
    finally:
        faulty.proxy.clear()
        minting.join(timeout=120)
    respawn(faulty, killed)

    faulty.proxy.down()
    dropped = faulty.bao.write(f"sys/leases/revoke-force/{forced['lease_id']}")
    assert dropped.status == 204, dropped.body
    assert faulty.owed(forced["data"]["token"]) is not None
    faulty.proxy.up()

    # No tidy: the host's rollback tick (once a minute) does both.
    def settled() -> bool:
        tokens = (forced["data"]["token"], cut_short)
        return all(faulty.litellm.status(t) in GONE for t in tokens)

    assert wait_until(settled, timeout=150, interval=1)
    assert wait_until(lambda: not faulty.stored("wal/") and not faulty.stored("revocations/"))
    assert faulty.stamped() == set()
    assert faulty.leases() == {}


# -- 6. the host going away -------------------------------------------------------------------


def _unix_sockets_of(pids: list[int]) -> set[str]:
    """Paths of the unix sockets the processes hold open (from /proc/net/unix and their fds)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    paths = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[6] in inodes:
            paths.add(fields[7])
    return paths


@pytest.mark.local_server
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_the_host_going_away_leaves_no_plugin_process_or_socket(
    engine_target: EngineTarget,
    forwarder: Forwarder,
    tmp_path: Path,
    how: signal.Signals,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    first_mint = len(forwarder.minted)
    forwarder.clear()
    # The server's environment reaches the plugin: its socket directory goes into scratch.
    server = OpenBaoServer(tmp_path, version=engine_target.version, env={"TMPDIR": str(scratch)})
    server.start()
    minting: threading.Thread | None = None
    try:
        proc = server.proc
        assert proc is not None
        launcher = install_engine(server.plugin_dir)
        register_plugin(server.client(), ENGINE_NAME, launcher.sha256, launcher.command)
        target = EngineTarget(
            server.client(),
            server.plugin_dir,
            server.version,
            engine_target.litellm,
            server,
            launcher,
        )
        mount = target.mount()
        mount.configure(url=forwarder.url)
        mount.role()
        mount.creds()
        pids = target.pids()
        assert pids

        # A plugin process the server started only to ask its version may still be on its way
        # out, its socket with it: the directory wanted is the one the mount's process serves.
        (socket_dir,) = {Path(path).parent for path in _unix_sockets_of(pids)} & set(
            scratch.iterdir()
        )
        hosts = set(scratch.iterdir()) - {socket_dir}

        # The plugin is busy: a mint waits on the proxy when the host goes.
        forwarder.delay(GENERATE, HOLD)
        minting = threading.Thread(target=lambda: _quietly(target.bao, f"{mount.path}/creds/dev"))
        minting.start()
        assert forwarder.wait_holding(GENERATE)

        proc.send_signal(how)
        proc.wait(timeout=60)
        assert wait_until(lambda: not target.pids(), timeout=20), target.pids()
        # A process on its way out has no command line any more (so pids() misses it) but
        # may still be running for a moment.
        assert wait_until(lambda: not any(running(pid) for pid in pids), timeout=20), pids
        assert not socket_dir.exists(), sorted(socket_dir.iterdir())
        left = set(scratch.iterdir())
        if how == signal.SIGTERM:
            assert left == set(), left
        else:
            # A host killed outright cannot remove its own socket; nothing of the plugin's is left.
            assert left <= hosts, left
    finally:
        forwarder.clear()
        if minting is not None:
            minting.join(timeout=120)
        server.stop()  # if the test did not
        # The server and its storage are gone: delete what it minted from the proxy.
        if minted := list(dict.fromkeys(forwarder.minted[first_mint:])):
            engine_target.litellm.admin.delete_keys(minted, missing_ok=True)


def _quietly(bao: Bao, path: str) -> None:
    with contextlib.suppress(Exception):
        bao.read(path)


# -- the forwarder itself -------------------------------------------------------------------------


def test_the_forwarder_refuses_what_exceeds_its_limits(litellm: LiteLLM) -> None:
    with Forwarder(litellm.url, max_connections=2, max_body=1024) as proxy:
        headers = {"Authorization": f"Bearer {litellm.master_key}"}
        too_big = httpx.post(f"{proxy.url}{DELETE}", content=b"x" * 1025, headers=headers)
        assert too_big.status_code == 413
        assert b"1024" in too_big.content
        unreadable = _raw_request(
            proxy.url, b"POST /key/delete HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"
        )
        assert unreadable.startswith(b"HTTP/1.1 413")
        chunked = httpx.post(f"{proxy.url}{DELETE}", content=iter([b"{}"]), headers=headers)
        assert chunked.status_code == 501
        assert proxy.seen(DELETE) == 3
        assert proxy.forwarded(DELETE) == 0
        # Two idle connections fill it up; a third is closed unanswered.
        with (
            socket.create_connection(_address(proxy.url)),
            socket.create_connection(_address(proxy.url)),
        ):
            assert wait_until(lambda: _closed_at_once(proxy.url), timeout=10)
        with pytest.raises(ValueError, match="seconds"):
            proxy.delay(GENERATE, MAX_DELAY + 1)
        with pytest.raises(ValueError, match="seconds"):
            proxy.delay(GENERATE, 0)
        with pytest.raises(ValueError, match="kind"):
            proxy.garbage(GENERATE, "xml")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="routes"):
            proxy.garbage("key/generate", "html")
    with pytest.raises(ValueError, match="limits"):
        Forwarder(litellm.url, max_body=MAX_BODY + 1)


def test_the_forwarder_goes_down_comes_back_and_stops_with_a_request_held(
    litellm: LiteLLM,
) -> None:
    health = "/health/readiness"
    proxy = Forwarder(litellm.url).start()
    try:
        assert httpx.get(f"{proxy.url}{health}").status_code == 200
        proxy.delay(health, MAX_DELAY)
        held = _Background(lambda: httpx.get(f"{proxy.url}{health}", timeout=MAX_DELAY))
        assert proxy.wait_holding(health)
        proxy.down()
        assert isinstance(held.result(), httpx.RemoteProtocolError)  # dropped, unanswered
        assert isinstance(_get(f"{proxy.url}{health}"), httpx.ConnectError)
        proxy.up()
        proxy.clear()
        assert httpx.get(f"{proxy.url}{health}").status_code == 200  # the same port

        proxy.delay(health, MAX_DELAY, before=True)
        held = _Background(lambda: httpx.get(f"{proxy.url}{health}", timeout=MAX_DELAY))
        assert proxy.wait_holding(health)
        forwarded = proxy.forwarded(health)
    finally:
        proxy.stop()
    assert isinstance(held.result(), httpx.TransportError)
    assert proxy.forwarded(health) == forwarded  # a request held before the proxy never got there
    mine = f"forwarder-{_address(proxy.url)[1]}"
    assert not [t for t in threading.enumerate() if t.name.startswith(mine)]


class _Background:
    def __init__(self, call: Callable[[], object]) -> None:
        self._outcome: list[object] = []

        def run() -> None:
            try:
                self._outcome.append(call())
            except Exception as exc:
                self._outcome.append(exc)

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def result(self) -> object:
        self._thread.join(timeout=STOP_TIMEOUT * 3)
        assert not self._thread.is_alive(), "the held request never ended"
        (outcome,) = self._outcome
        return outcome


def _get(url: str) -> object:
    try:
        return httpx.get(url)
    except httpx.HTTPError as exc:
        return exc


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _raw_request(url: str, request: bytes) -> bytes:
    with socket.create_connection(_address(url), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(4096)


def _closed_at_once(url: str) -> bool:
    with socket.create_connection(_address(url), timeout=10) as conn:
        conn.sendall(b"GET /health/readiness HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            return conn.recv(4096) == b""
        except ConnectionResetError:
            return True
