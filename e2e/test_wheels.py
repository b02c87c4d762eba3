"""The engine as an operator installs it: the three wheels built, installed with pip into a fresh
virtualenv (their dependencies from the package index, nothing from this workspace), and that
environment's ``vault-plugin-litellm install`` serving a real OpenBao dev server."""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.dists import (
    WORKSPACE,
    Dist,
    DistError,
    build,
    check_alone,
    clean_env,
    new_venv,
    run,
)
from e2e.openbao import Bao, OpenBaoServer, plugin_processes, register_plugin, wait_until

pytestmark = [pytest.mark.openbao, pytest.mark.local_server, pytest.mark.slow]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dist]:
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def venv(dists: dict[str, Dist], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding the three freshly built wheels and their dependencies, installed
    with pip as an operator would."""
    env_dir = new_venv(tmp_path_factory.mktemp("wheels") / "venv", with_pip=True)
    run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install"]
        + ["--disable-pip-version-check", "--quiet"]
        + [str(d.wheel) for d in dists.values()],
        cwd=env_dir,
        env=clean_env(env_dir),
    )
    return env_dir


def test_a_wheel_without_a_file_git_tracks_is_refused(
    dists: dict[str, Dist], tmp_path: Path
) -> None:
    """CI's packaging check (python -m e2e.dists check) refuses a wheel that lost a file."""
    dist = dists["litellm-client"]
    broken = tmp_path / dist.wheel.name
    with zipfile.ZipFile(dist.wheel) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if item.filename != "litellm_client/py.typed":
                dst.writestr(item, src.read(item))
    sdist = shutil.copy(dist.sdist, tmp_path)
    with pytest.raises(DistError, match=r"lacks files git tracks: \['litellm_client/py.typed'\]"):
        check_alone(Dist(dist.package, broken, Path(sdist)), dists, tmp_path)


def test_the_installed_environment_holds_the_wheels_and_no_workspace(venv: Path) -> None:
    probe = (
        "import importlib.util as u, vault_plugin_litellm, litellm_client, vault_plugin_proto;"
        "print(vault_plugin_litellm.__file__);print(litellm_client.__file__);"
        "print(vault_plugin_proto.__file__);"
        "print(u.find_spec('grpc') is None, u.find_spec('litellm') is None)"
    )
    out = run([str(venv / "bin" / "python"), "-I", "-c", probe], cwd=venv, env=clean_env(venv))
    *files, absent = out.splitlines()
    for file in files:
        assert Path(file).is_relative_to(venv), file
        assert not Path(file).is_relative_to(WORKSPACE / "packages"), file
    # The runtime speaks gRPC itself and the client talks HTTP: neither grpcio nor litellm.
    assert absent == "True True"
    version = run([str(venv / "bin" / "vault-plugin-litellm"), "version"], cwd=venv)
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
        out = run(
            [
                str(venv / "bin" / "vault-plugin-litellm"),
                "install",
                "--plugin-dir",
                str(server.plugin_dir),
            ],
            cwd=tmp_path,
            env=clean_env(venv),
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
