"""The built distributions: what they contain, and that the wheel installs alone and works.

The clean environments are made with uv from its cache (PyPI is reached when the cache lacks a
version), with the messages alone (protobuf only) and with the ``grpc`` extra (grpcio and
grpcio-health-checking too). Each is installed once as the resolver picks today (the newest
releases) and once at exactly the declared floors.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from e2e.uv_tool import find_uv
from tests.proto.probe import run_probe


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


def uv() -> str:
    found = find_uv()
    assert found is not None, (
        "uv is needed to build and to create clean environments: run the tests with "
        "`uv run` or `make test`, which bootstraps it"
    )
    return found


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=cwd,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    run(uv(), "build", "--package", "vault-plugin-proto", "--out-dir", out, cwd=repo_root)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dist(wheel, sdist)


def package_source_files(package_dir: Path) -> set[str]:
    """Every file under src/ (hand-written and generated), as wheel member names."""
    src = package_dir / "src"
    return {
        p.relative_to(src).as_posix()
        for p in src.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_wheel_holds_the_package_and_nothing_else(dist: Dist, package_dir: Path) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = Parser().parsestr(
            wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        )
    tops = {name.split("/")[0] for name in names}
    assert tops == {"vault_plugin_proto", "vault_plugin_proto-0.1.0.dist-info"}
    package_files = {n for n in names if n.startswith("vault_plugin_proto/")}
    assert package_files == package_source_files(package_dir)
    assert "vault_plugin_proto/py.typed" in package_files

    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    assert metadata["Version"] == project["version"]
    requires = sorted(str(Requirement(r)) for r in metadata.get_all("Requires-Dist") or [])
    extra = [f"{d}; extra == 'grpc'" for d in project["optional-dependencies"]["grpc"]]
    declared = [*project["dependencies"], *extra]
    assert requires == sorted(str(Requirement(d)) for d in declared)
    assert metadata.get_all("Provides-Extra") == ["grpc"]


def test_sdist_carries_the_proto_sources_and_generator(dist: Dist, package_dir: Path) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    protos = {p.relative_to(package_dir).as_posix() for p in package_dir.rglob("*.proto")}
    assert protos
    assert protos <= names
    assert {"scripts/generate.py", "README.md", "CHANGELOG.md", "pyproject.toml"} <= names
    assert "src/vault_plugin_proto/pb/backend_pb2.py" in names


def clean_venv(where: Path, *requirements: str | Path) -> Path:
    """A virtual environment holding only ``requirements`` (and their dependencies)."""
    run(uv(), "venv", "--quiet", "--python", sys.executable, where)
    python = where / "bin" / "python"
    run(uv(), "pip", "install", "--quiet", "--python", python, *requirements)
    return python


def probe(python: Path) -> dict[str, Any]:
    return run_probe(python, "-W", "error", cwd=python.parent)


def check_probe(report: dict[str, Any], venv: Path, *, with_grpc: bool) -> None:
    assert Path(report["module_file"]).is_relative_to(venv), "imported the workspace copy"
    assert report["import_warnings"] == []
    assert report["grpc_after_messages"] == []
    assert report["round_trip"] is True
    assert report["grpc_installed"] is with_grpc
    if with_grpc:
        assert report["type"] == 1
        assert report["health_service"] == "grpc.health.v1.Health"
    else:
        # The messages work alone; a stub module says what is missing.
        assert report["versions"]["grpcio"] is None
        assert report["versions"]["grpcio-health-checking"] is None
        assert "No module named 'grpc'" in report["stub_import_error"]


def wheel_requirement(dist: Dist, extra: str) -> str:
    return f"vault-plugin-proto{extra} @ {dist.wheel.as_uri()}"


@pytest.mark.parametrize("extra", ["", "[grpc]"], ids=["messages", "grpc"])
def test_wheel_installs_alone_and_works(dist: Dist, tmp_path: Path, extra: str) -> None:
    venv = tmp_path / "venv"
    python = clean_venv(venv, wheel_requirement(dist, extra))
    report = probe(python)
    check_probe(report, venv, with_grpc=bool(extra))
    print("resolved:", report["versions"])


@pytest.mark.parametrize("extra", ["", "[grpc]"], ids=["messages", "grpc"])
def test_wheel_works_with_the_declared_floors(
    dist: Dist, tmp_path: Path, package_dir: Path, extra: str
) -> None:
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    floors = project["dependencies"] + (project["optional-dependencies"]["grpc"] if extra else [])
    pins = [d.replace(">=", "==") for d in floors]
    venv = tmp_path / "venv"
    python = clean_venv(venv, wheel_requirement(dist, extra), *pins)
    report = probe(python)
    check_probe(report, venv, with_grpc=bool(extra))
    installed = {name: version for name, version in report["versions"].items() if version}
    assert installed == {p.split("==")[0]: p.split("==")[1] for p in pins}
