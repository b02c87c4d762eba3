"""The three packages as they are published: sdists and wheels built with ``uv build``, and each
wheel installed *alone* into a clean virtualenv and imported there.

``python -m e2e.dists check`` is CI's packaging check: a wheel missing a module or a data file
(``py.typed``, the ``.pyi`` stubs), a dependency used but not declared, or a sibling that does
not resolve to the wheel just built fails it. ``e2e/test_wheels.py`` builds with :func:`build`
too, for its install-and-serve test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .uv_tool import find_uv

WORKSPACE = Path(__file__).resolve().parent.parent
PACKAGES = ("litellm-client", "vault-plugin-proto", "vault-plugin-litellm")
# Building, creating a virtualenv and installing from the index take minutes on a busy machine.
TIMEOUT = 900
# Modules that may be absent when a package is installed without extras: the grpcio stubs of
# vault-plugin-proto come with its [grpc] extra.
OPTIONAL_IMPORTS: Mapping[str, frozenset[str]] = {
    "vault-plugin-proto": frozenset({"grpc", "grpc_health"}),
}
# Never installed by any of the three (the runtime speaks gRPC itself; the client talks HTTP).
FORBIDDEN = ("grpc", "litellm")


class DistError(RuntimeError):
    pass


@dataclass(frozen=True)
class Dist:
    package: str
    wheel: Path
    sdist: Path

    @property
    def module(self) -> str:
        return self.package.replace("-", "_")

    @property
    def version(self) -> str:
        return self.wheel.name.split("-")[1]


def run(cmd: Sequence[str], *, cwd: Path = WORKSPACE, env: Mapping[str, str] | None = None) -> str:
    """Run ``cmd``; its stdout, or :class:`DistError` with both streams."""
    result = subprocess.run(
        list(cmd),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise DistError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def uv() -> str:
    found = find_uv()
    if found is None:
        raise DistError("uv is needed to build the packages: run `make test`")
    return found


def build(out: Path, packages: Sequence[str] = PACKAGES) -> dict[str, Dist]:
    """``uv build --package`` each (the sdist, then the wheel built *from* it) into ``out``."""
    dists = {}
    for package in packages:
        target = out / package
        run([uv(), "build", "--package", package, "-o", str(target)])
        module = package.replace("-", "_")
        wheels = list(target.glob(f"{module}-*.whl"))
        sdists = list(target.glob(f"{module}-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            raise DistError(f"{package}: expected one wheel and one sdist in {target}")
        dists[package] = Dist(package, wheels[0], sdists[0])
    return dists


def clean_env(venv: Path) -> dict[str, str]:
    """The caller's environment (index and proxy settings included) minus anything that would
    put this workspace on the new interpreter's path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


def new_venv(path: Path, *, with_pip: bool = False) -> Path:
    """A virtualenv of this interpreter's base Python, holding nothing of the workspace."""
    cmd = [sys.executable, "-m", "venv", str(path)]
    run(cmd if with_pip else [*cmd, "--without-pip"], cwd=path.parent)
    return path


# Runs inside the new environment: imports every module of one package and reports.
_PROBE = """
import importlib, importlib.metadata as md, importlib.util, json, pkgutil, sys
package, module = sys.argv[1], sys.argv[2]
optional, forbidden = (set(arg.split(",")) - {""} for arg in sys.argv[3:5])
root = importlib.import_module(module)
imported, absent = [], {}
for info in pkgutil.walk_packages(root.__path__, module + "."):
    try:
        importlib.import_module(info.name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in optional:
            raise
        absent[info.name] = exc.name
    else:
        imported.append(info.name)
def installed(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
print(json.dumps({
    "file": root.__file__,
    "imported": imported,
    "absent": absent,
    "versions": {name: installed(name) for name in sys.argv[5:]},
    "records": {name: md.distribution(name).read_text("RECORD") for name in sys.argv[5:]
                if installed(name)},
    "forbidden": sorted(m for m in forbidden if importlib.util.find_spec(m)),
}))
"""


def _wheel_record(wheel: Path, module: str) -> set[str]:
    """The RECORD lines of ``wheel`` for the files of ``module`` (path, hash, size)."""
    with zipfile.ZipFile(wheel) as zf:
        (record,) = (n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        lines = zf.read(record).decode().splitlines()
    return {line for line in lines if line.startswith(f"{module}/")}


def _tracked_sources(package: str) -> set[str]:
    """Files git tracks under the package's ``src/``, as paths inside a wheel."""
    src = WORKSPACE / "packages" / package / "src"
    out = run(["git", "ls-files", "-z", "--", str(src)])
    return {str(Path(p).relative_to(src.relative_to(WORKSPACE))) for p in out.split("\0") if p}


def _wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if ".dist-info/" not in n}


def check_alone(dist: Dist, dists: Mapping[str, Dist], work: Path) -> str:
    """Install ``dist``'s wheel alone (its dependencies from the index, its siblings from the
    wheels just built) into a new virtualenv, import every module, and check what came in."""
    missing = _tracked_sources(dist.package) - _wheel_files(dist.wheel)
    if missing:
        raise DistError(f"{dist.wheel.name} lacks files git tracks: {sorted(missing)}")
    venv = new_venv(work / f"venv-{dist.package}")
    python = venv / "bin" / "python"
    started = time.monotonic()
    find_links = [f"--find-links={d.wheel.parent}" for d in dists.values()]
    run(
        [uv(), "pip", "install", "--quiet", "--python", str(python), *find_links, str(dist.wheel)],
        env=clean_env(venv),
    )
    installed_in = time.monotonic() - started
    optional = ",".join(sorted(OPTIONAL_IMPORTS.get(dist.package, ())))
    args = [dist.package, dist.module, optional, ",".join(FORBIDDEN), *PACKAGES]
    probe = run(
        [str(python), "-I", "-c", _PROBE, *args],
        cwd=work,
        env=clean_env(venv),
    )
    report = json.loads(probe)
    if not Path(report["file"]).is_relative_to(venv):
        raise DistError(f"{dist.module} was imported from {report['file']}, not from {venv}")
    if report["forbidden"]:
        raise DistError(f"{dist.package} pulled in {report['forbidden']}")
    if report["absent"] and dist.package not in OPTIONAL_IMPORTS:
        raise DistError(f"{dist.package}: modules failed to import: {report['absent']}")
    for name, version in report["versions"].items():
        if version is None:
            continue
        sibling = dists[name]
        if version != sibling.version:
            raise DistError(f"{name} {version} installed, but {sibling.version} was built")
        # Each of the siblings must be the wheel just built, file for file, not a namesake from
        # the index.
        ours = _wheel_record(sibling.wheel, sibling.module)
        theirs = set(report["records"][name].splitlines())
        if not ours <= theirs:
            raise DistError(f"the installed {name} is not the wheel built in {sibling.wheel}")
    if dist.package == "vault-plugin-litellm":
        version = run([str(venv / "bin" / "vault-plugin-litellm"), "version"], cwd=work)
        if version.strip() != f"v{dist.version}":
            raise DistError(f"vault-plugin-litellm version printed {version.strip()!r}")
    siblings = sorted(n for n, v in report["versions"].items() if v and n != dist.package)
    parts = [
        f"{dist.package} {dist.version}: wheel {dist.wheel.stat().st_size // 1024} KiB",
        f"sdist {dist.sdist.stat().st_size // 1024} KiB",
        f"installed alone in {installed_in:.1f} s"
        + (f" (with the built {', '.join(siblings)})" if siblings else ""),
        f"{len(report['imported'])} modules imported",
    ]
    if report["absent"]:
        parts.append(f"{len(report['absent'])} left to the extra ({optional})")
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.dists", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="build the three, install and import each alone")
    check.add_argument("--out", type=Path, help="keep the build here (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dists-") as tmp:
        out = (args.out or Path(tmp)).resolve()
        out.mkdir(parents=True, exist_ok=True)
        try:
            started = time.monotonic()
            dists = build(out / "dist")
            print(f"built {len(dists)} sdists and wheels in {time.monotonic() - started:.1f} s")
            for dist in dists.values():
                print(check_alone(dist, dists, out))
        except DistError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
