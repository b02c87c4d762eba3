"""``make demo``: what the project does today, end to end, on this machine.

1. LiteLLM: a key minted per consumer with ``litellm-client``, scoped to one model, capped by
   a budget and bound to an expiry; used; refused on another model; its expiry moved; deleted,
   and refused from then on. Against the proxy named by ``LITELLM_URL`` and
   ``LITELLM_MASTER_KEY`` when they are set, else against the in-project stand-in.
2. OpenBao: a real ``bao server -dev`` with the Python plugin runtime registered (the example
   backend of the tests), a lease issued, renewed and revoked, the revocation reaching the
   plugin process.

The secrets engine that joins the two (a lease per LiteLLM key) is the next milestone.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
from litellm_client import LiteLLMClient, LiteLLMError, new_raw_key

from e2e.openbao import OpenBaoServer, plugin_processes, wait_until
from e2e.plugins import EXAMPLE_NAME, register_example_plugin


def step(text: str) -> None:
    print(f"\n== {text}")


def show(label: str, value: object) -> None:
    print(f"   {label:<28} {value}")


@contextlib.contextmanager
def litellm() -> Iterator[tuple[str, str, str]]:
    url, key = os.environ.get("LITELLM_URL"), os.environ.get("LITELLM_MASTER_KEY")
    if url and key:
        yield url, key, "the proxy at LITELLM_URL"
        return
    from tests.support.litellm_standin import StandIn

    with StandIn(master_key="sk-demo-master-" + uuid.uuid4().hex[:12]) as proxy:
        yield proxy.url, proxy.master_key, "the in-project LiteLLM stand-in"


def chat(url: str, key: str, model: str) -> tuple[int, str]:
    resp = httpx.post(
        f"{url}/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
        timeout=30,
    )
    body = resp.json()
    if resp.status_code == 200:
        return 200, body["choices"][0]["message"]["content"]
    return resp.status_code, body.get("error", {}).get("type", "?")


def litellm_part() -> None:
    with litellm() as (url, master_key, what):
        step(f"LiteLLM: {what} at {url}")
        with LiteLLMClient(url, master_key) as client:
            show("health", client.health().status)
            alias = f"demo-{uuid.uuid4().hex[:8]}"
            key = client.generate_key(
                key=new_raw_key(),
                key_alias=alias,
                models=["fake-gpt"],
                max_budget=1.0,
                duration=timedelta(minutes=10),
                metadata={"issued_by": "make demo"},
            )
            assert key.key is not None
            # Shown the way LiteLLM names keys: never more of a raw key than its last 4.
            show("minted", f"{alias}: sk-...{key.key[-4:]} (token {key.token[:12]}...)")
            show("expires", key.expires)
            status, text = chat(url, key.key, "fake-gpt")
            show("chat on fake-gpt", f"{status} {text!r}")
            status, kind = chat(url, key.key, "fake-other")
            show("chat on fake-other", f"{status} {kind} (not in the key's models)")
            moved = client.update_key(key.token, duration=timedelta(minutes=30))
            show("expiry moved to", moved.expires)
            client.delete_keys([key.token])
            show("after delete, info says", client.key_info(key.token).status)
            status, kind = chat(url, key.key, "fake-gpt")
            show("chat with the deleted key", f"{status} {kind}")
            if status == 200:
                raise SystemExit("a deleted key was still accepted")


def openbao_part() -> None:
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp:
        events = Path(tmp) / "plugin-events.jsonl"
        step("OpenBao: a dev server with the Python plugin runtime")
        server = OpenBaoServer(
            Path(tmp), env={"EXAMPLE_PLUGIN_REVOCATION_LOG": str(events)}, log_level="info"
        ).start()
        try:
            bao = server.client()
            show("server", f"OpenBao {server.version} at {server.addr}")
            launcher = register_example_plugin(bao, server.plugin_dir)
            show("registered", f"{EXAMPLE_NAME} (sha256 {launcher.sha256[:12]}...)")
            bao.ok(bao.write("sys/mounts/demo", {"type": EXAMPLE_NAME}))
            show("plugin process", plugin_processes(launcher.path))
            bao.ok(bao.write("demo/config", {"default_ttl": "1m", "max_ttl": "10m"}))
            issued = bao.read("demo/lease/consumer-a")
            lease_id = issued.body["lease_id"]
            show("lease issued", f"{lease_id} ({issued.body['lease_duration']} s)")
            renewed = bao.write("sys/leases/renew", {"lease_id": lease_id, "increment": 120})
            show("renewed", f"{renewed.body['lease_duration']} s")
            bao.write("sys/leases/revoke", {"lease_id": lease_id})

            def revoked() -> list[str]:
                text = events.read_text() if events.exists() else ""
                return [line for line in text.splitlines() if '"revoke"' in line]

            seen = wait_until(revoked, timeout=15)
            if not seen:
                raise SystemExit("the revocation did not reach the plugin")
            show("revocation seen by plugin", json.loads(seen[0])["lease_id"] or lease_id)
        finally:
            server.stop()
        gone = wait_until(lambda: not plugin_processes(launcher.path), timeout=10)
        show("after server stop", "plugin exited" if gone else "PLUGIN STILL RUNNING")


def main() -> int:
    started = time.monotonic()
    try:
        litellm_part()
        openbao_part()
    except (LiteLLMError, httpx.HTTPError) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
