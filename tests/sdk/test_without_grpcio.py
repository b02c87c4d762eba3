"""The plugin runtime runs without grpcio: its own HTTP/2 stack serves the host, and the
protocol messages need protobuf only (grpcio comes with ``vault-plugin-proto[grpc]``)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement

GRPC_DISTRIBUTIONS = {"grpcio", "grpcio-health-checking"}


def runtime_closure(name: str) -> set[str]:
    """Every distribution ``name`` installs, extras of others left out (as pip resolves it)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for line in metadata.requires(current) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name.lower().replace("_", "-"))
    return seen


def test_installing_the_plugin_brings_no_grpcio() -> None:
    closure = runtime_closure("vault-plugin-litellm")
    assert {"vault-plugin-proto", "protobuf", "litellm-client"} <= closure
    assert not closure & GRPC_DISTRIBUTIONS


def test_the_proto_extra_brings_grpcio() -> None:
    extras = metadata.requires("vault-plugin-proto") or []
    needs = {
        Requirement(line).name
        for line in extras
        if (marker := Requirement(line).marker) and marker.evaluate({"extra": "grpc"})
    }
    assert needs == GRPC_DISTRIBUTIONS


# Every module of the package, imported with grpc unimportable.
NO_GRPC = """
import importlib, importlib.abc, pkgutil, sys

class NoGrpc(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("grpc", "grpc_health"):
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, NoGrpc())
import vault_plugin_litellm as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_every_module_imports_without_grpc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_GRPC], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 40
