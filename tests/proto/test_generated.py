"""The committed generated modules: current, listed, and installable at the declared floors."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import vault_plugin_proto
from packaging.requirements import Requirement
from packaging.version import Version

RunGenerate = Callable[..., subprocess.CompletedProcess[str]]


def generated(package_dir: Path, suffix: str) -> list[Path]:
    return sorted((package_dir / "src").rglob(f"*{suffix}"))


def module_name(package_dir: Path, path: Path) -> str:
    return ".".join(path.relative_to(package_dir / "src").with_suffix("").parts)


def copy_package(package_dir: Path, to: Path) -> Path:
    for part in ("proto", "scripts", "src"):
        shutil.copytree(package_dir / part, to / part)
    return to


def test_committed_modules_are_current(run_generate: RunGenerate) -> None:
    result = run_generate("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_check_names_every_stale_module(
    run_generate: RunGenerate, package_dir: Path, tmp_path: Path
) -> None:
    copy = copy_package(package_dir, tmp_path / "pkg")
    src = copy / "src" / "vault_plugin_proto"
    edited = src / "pb" / "backend_pb2.pyi"
    edited.write_text(edited.read_text() + "\n")
    (src / "logical" / "version_pb2_grpc.py").unlink()
    (src / "logical" / "leftover_pb2.py").write_text("")

    result = run_generate("--check", package=copy)

    assert result.returncode == 1
    assert "src/vault_plugin_proto/pb/backend_pb2.pyi (differs)" in result.stderr
    assert "src/vault_plugin_proto/logical/version_pb2_grpc.py (missing)" in result.stderr
    assert "src/vault_plugin_proto/logical/leftover_pb2.py (no longer generated)" in result.stderr
    assert "scripts/generate.py" in result.stderr


def test_regenerating_repairs_a_stale_copy(
    run_generate: RunGenerate, package_dir: Path, tmp_path: Path
) -> None:
    copy = copy_package(package_dir, tmp_path / "pkg")
    src = copy / "src" / "vault_plugin_proto"
    (src / "pb" / "backend_pb2.py").write_text("broken = True\n")
    (src / "logical" / "leftover_pb2.py").write_text("")

    result = run_generate(package=copy)

    assert result.returncode == 0, result.stderr
    assert "wrote src/vault_plugin_proto/pb/backend_pb2.py" in result.stdout
    assert "removed src/vault_plugin_proto/logical/leftover_pb2.py" in result.stdout
    assert (src / "pb" / "backend_pb2.py").read_bytes() == (
        package_dir / "src" / "vault_plugin_proto" / "pb" / "backend_pb2.py"
    ).read_bytes()
    assert (src / "pb" / "__init__.py").is_file(), "hand-written modules must be left alone"
    assert run_generate("--check", package=copy).returncode == 0


def test_grpc_modules_only_for_files_with_services(package_dir: Path) -> None:
    services = {
        name.removesuffix("_pb2")
        for name in (module_name(package_dir, p) for p in generated(package_dir, "_pb2.py"))
        if importlib.import_module(name).DESCRIPTOR.services_by_name
    }
    assert services
    grpc_modules = {
        module_name(package_dir, p).removesuffix("_pb2_grpc")
        for p in generated(package_dir, "_pb2_grpc.py")
    }
    assert grpc_modules == services


def test_module_lists_name_every_generated_module(package_dir: Path) -> None:
    messages = [module_name(package_dir, p) for p in generated(package_dir, "_pb2.py")]
    grpc = [module_name(package_dir, p) for p in generated(package_dir, "_pb2_grpc.py")]
    assert list(vault_plugin_proto.MESSAGE_MODULES) == messages
    assert list(vault_plugin_proto.GRPC_MODULES) == grpc
    stubs = {module_name(package_dir, p) for p in generated(package_dir, "_pb2.pyi")}
    assert stubs == set(messages), "every _pb2 module needs its .pyi"


def test_version_is_the_distributions(package_dir: Path) -> None:
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    assert vault_plugin_proto.__version__ == project["version"]


# -- runtime floors ------------------------------------------------------------------------------


def protobuf_gencode_version(path: Path) -> Version:
    """The version passed to ValidateProtobufRuntimeVersion in a generated *_pb2.py."""
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "ValidateProtobufRuntimeVersion"
        ):
            major, minor, patch, suffix = (ast.literal_eval(a) for a in node.args[1:5])
            return Version(f"{major}.{minor}.{patch}{suffix}")
    raise AssertionError(f"{path} has no ValidateProtobufRuntimeVersion call")


def grpc_generated_version(path: Path) -> Version:
    """GRPC_GENERATED_VERSION of a generated *_pb2_grpc.py: the oldest grpcio it accepts."""
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["GRPC_GENERATED_VERSION"]
            and isinstance(node.value, ast.Constant)
        ):
            return Version(str(node.value.value))
    raise AssertionError(f"{path} has no GRPC_GENERATED_VERSION")


def declared_floors(package_dir: Path) -> dict[str, Version]:
    """The floors of the dependencies and of the ``grpc`` extra."""
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    floors: dict[str, Version] = {}
    for line in [*project["dependencies"], *project["optional-dependencies"]["grpc"]]:
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == ">=", f"{line}: declare a plain floor"
        floors[requirement.name] = Version(spec.version)
    return floors


def test_dependencies_are_the_three_runtimes(package_dir: Path) -> None:
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    # The messages need protobuf alone; the stubs and the health service come with the extra.
    assert {Requirement(line).name for line in project["dependencies"]} == {"protobuf"}
    assert set(project["optional-dependencies"]) == {"grpc"}
    assert set(declared_floors(package_dir)) == {
        "protobuf",
        "grpcio",
        "grpcio-health-checking",
    }


def test_protobuf_floor_is_the_gencode_guard(package_dir: Path) -> None:
    guards = {protobuf_gencode_version(p) for p in generated(package_dir, "_pb2.py")}
    assert len(guards) == 1, f"modules generated by different protoc versions: {guards}"
    # Lower would let pip install a runtime the modules refuse; higher would refuse users for
    # nothing.
    assert declared_floors(package_dir)["protobuf"] == guards.pop()


def test_grpcio_floor_is_the_generated_guard(package_dir: Path) -> None:
    guards = {grpc_generated_version(p) for p in generated(package_dir, "_pb2_grpc.py")}
    assert len(guards) == 1, f"modules generated by different grpcio-tools: {guards}"
    floors = declared_floors(package_dir)
    assert floors["grpcio"] == guards.pop()
    # grpcio-health-checking X requires grpcio>=X, so any other floor is unreachable or too strict.
    assert floors["grpcio-health-checking"] == floors["grpcio"]


def test_guards_hold_for_the_installed_runtimes(package_dir: Path) -> None:
    import grpc
    from google.protobuf import __version__ as protobuf_version

    protobuf_guard = max(protobuf_gencode_version(p) for p in generated(package_dir, "_pb2.py"))
    grpc_guard = max(grpc_generated_version(p) for p in generated(package_dir, "_pb2_grpc.py"))
    assert Version(protobuf_version) >= protobuf_guard
    assert Version(grpc.__version__) >= grpc_guard
