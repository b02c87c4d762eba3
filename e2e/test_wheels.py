"""The engine as an operator installs it: the three wheels built, installed with pip into a fresh
virtualenv (their dependencies from the package index, nothing from this workspace), and that
environment's ``vault-plugin-litellm install`` serving a real OpenBao dev server."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.openbao import Bao, OpenBaoServer, plugin_processes, register_plugin, wait_until
from e2e.uv_tool import find_uv

pytestmark = [pytest.mark.openbao, pytest.mark.local_server, pytest.mark.slow]

PACKAGES = ("litellm-client", "vault-plugin-proto", "vault-plugin-litellm")
WORKSPACE = Path(__file__).resolve().parent.parent
# Building, creating a virtualenv and installing from the index take minutes on a busy machine.
INSTALL_TIMEOUT = 900


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clean_env(venv: Path) -> dict[str, str]:
    """The caller's environment (index and proxy settings included) minus anything that would
    put this workspace on the new interpreter's path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding the three freshly built wheels and their dependencies."""
    uv = find_uv()
    if uv is None:
        pytest.fail("uv is needed to build the wheels: run `make test`")
    work = tmp_path_factory.mktemp("wheels")
    dist = work / "dist"
    for package in PACKAGES:
        _run([uv, "build", "--package", package, "-o", str(dist)], cwd=WORKSPACE)
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == [
        "litellm_client",
        "vault_plugin_litellm",
        "vault_plugin_proto",
    ]
    env_dir = work / "venv"
    _run([sys.executable, "-m", "venv", str(env_dir)], cwd=work)
    python = env_dir / "bin" / "python"
    _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
        + [str(w) for w in wheels],
        cwd=work,
        env=_clean_env(env_dir),
    )
    return env_dir


def test_the_installed_environment_holds_the_wheels_and_no_workspace(venv: Path) -> None:
    probe = (
        "import importlib.util as u, vault_plugin_litellm, litellm_client, vault_plugin_proto;"
        "print(vault_plugin_litellm.__file__);print(litellm_client.__file__);"
        "print(vault_plugin_proto.__file__);"
        "print(u.find_spec('grpc') is None, u.find_spec('litellm') is None)"
    )
    out = _run([str(venv / "bin" / "python"), "-I", "-c", probe], cwd=venv, env=_clean_env(venv))
    *files, absent = out.splitlines()
    for file in files:
        assert Path(file).is_relative_to(venv), file
        assert not Path(file).is_relative_to(WORKSPACE / "packages"), file
    # The runtime speaks gRPC itself and the client talks HTTP: neither grpcio nor litellm.
    assert absent == "True True"
    version = _run([str(venv / "bin" / "vault-plugin-litellm"), "version"], cwd=venv)
    assert re.fullmatch(r"v\d+\.\d+\.\d+\S*\n", version)


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[str, str]]:
    from tests.support.litellm_standin import StandIn

    with StandIn(master_key="sk-wheels-" + secrets.token_hex(8)) as standin:
        yield standin.url, standin.master_key


def test_install_register_mount_config_and_creds_on_openbao(
    venv: Path, proxy: tuple[str, str], tmp_path: Path
) -> None:
    url, master_key = proxy
    server = OpenBaoServer(tmp_path / "bao")
    server.start()
    launcher = server.plugin_dir / "litellm"
    try:
        out = _run(
            [
                str(venv / "bin" / "vault-plugin-litellm"),
                "install",
                "--plugin-dir",
                str(server.plugin_dir),
            ],
            cwd=tmp_path,
            env=_clean_env(venv),
        )
        sha256 = re.search(r"^sha256: ([0-9a-f]{64})$", out, re.M)
        assert sha256
        assert sha256[1] == hashlib.sha256(launcher.read_bytes()).hexdigest()
        assert launcher.read_text().splitlines()[0] == f"#!{venv / 'bin' / 'python'} -I"
        version = re.search(r"-version=(\S+) secret litellm", out)
        assert version

        bao = server.client()
        register_plugin(bao, "litellm", sha256[1], "litellm", version=version[1])
        bao.ok(bao.write("sys/mounts/litellm", {"type": "litellm"}))
        # The server runs the plugin with the virtualenv's interpreter, not this workspace's.
        (pid,) = plugin_processes(launcher)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0] == str(venv / "bin" / "python").encode()

        _lifecycle(bao, url, master_key)
    finally:
        server.stop()
    assert wait_until(lambda: not plugin_processes(launcher), timeout=10)


def _lifecycle(bao: Bao, url: str, master_key: str) -> None:
    bao.ok(bao.write("litellm/config", {"url": url, "admin_key": master_key}))
    assert bao.ok(bao.read("litellm/config"))["admin_key_type"] == "master_key"
    bao.ok(bao.write("litellm/roles/app", {"models": ["fake-gpt"], "ttl": "5m"}))
    issued = bao.read("litellm/creds/app")
    assert issued.status == 200, issued.body
    key, lease_id = issued.data["key"], issued.body["lease_id"]
    assert issued.body["lease_duration"] == 300

    def chat(model: str = "fake-gpt") -> int:
        return httpx.post(
            f"{url}/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        ).status_code

    assert chat() == 200
    assert chat("fake-other") == 403
    bao.ok(bao.write("sys/leases/revoke", {"lease_id": lease_id}))
    assert wait_until(lambda: chat() == 401, timeout=20)
