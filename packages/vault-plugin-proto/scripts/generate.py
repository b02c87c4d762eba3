"""Regenerate the committed protobuf / gRPC modules of vault-plugin-proto.

    uv run python packages/vault-plugin-proto/scripts/generate.py            # rewrite src/
    uv run python packages/vault-plugin-proto/scripts/generate.py --check    # exit 1 if stale
    uv run python packages/vault-plugin-proto/scripts/generate.py --descriptor-set out.binpb

Sources are every ``*.proto`` under ``proto/``; each is compiled with the path relative to that
root (``vault_plugin_proto/pb/backend.proto``), so the generated modules land in
``src/vault_plugin_proto/<sub>/`` and import each other as ``vault_plugin_proto.<sub>...``.
The output depends only on the sources and on the grpcio-tools version, pinned below. That
version also sets the package's runtime floors (generated modules refuse older protobuf and
grpcio), so it is kept old on purpose and run in an environment of its own: when the running
interpreter lacks exactly that grpcio-tools, the script re-runs itself through
``uv run --isolated --with``, and the workspace itself stays on the newest protobuf and grpcio.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path

GRPCIO_TOOLS_PIN = "grpcio-tools==1.66.2"
_REEXEC_MARK = "VAULT_PLUGIN_PROTO_GENERATOR_ENV"

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROTO_ROOT = PACKAGE_DIR / "proto"
SRC_ROOT = PACKAGE_DIR / "src"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_sources() -> list[str]:
    """The .proto files to compile, relative to PROTO_ROOT, in a stable order."""
    return sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PROTO_ROOT.rglob("*.proto"))


def is_generated(path: Path) -> bool:
    return path.name.endswith(GENERATED_SUFFIXES)


def generated_files(root: Path) -> dict[str, Path]:
    """Generated modules under ``root``, keyed by their path relative to it."""
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and is_generated(p)
    }


def run_protoc(outputs: Sequence[str]) -> None:
    """Run grpc_tools' bundled protoc over every source with the given output flags."""
    from grpc_tools import protoc  # type: ignore[import-untyped]  # see ensure_generator()

    # grpc_tools ships google/protobuf/*.proto (struct, timestamp, empty) as package data.
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        *outputs,
        *proto_sources(),
    ]
    status = protoc.main(args)
    if status != 0:
        sys.exit(f"protoc failed with status {status}")


def generate_into(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = Path(tmp) / "descriptors.binpb"
        run_protoc(
            [
                f"--python_out={out_dir}",
                f"--pyi_out={out_dir}",
                f"--grpc_python_out={out_dir}",
                f"--descriptor_set_out={descriptors}",
            ]
        )
        from google.protobuf import descriptor_pb2

        fds = descriptor_pb2.FileDescriptorSet.FromString(descriptors.read_bytes())
    # grpc_tools writes a *_pb2_grpc.py for every source; for one without services it holds
    # nothing but an `import grpc`, so it is dropped rather than shipped.
    for fd in fds.file:
        if not fd.service:
            source = out_dir / fd.name
            source.with_name(f"{source.stem}_pb2_grpc.py").unlink()


def stale_files(expected_root: Path, actual_root: Path) -> list[str]:
    """Paths (relative) that differ between freshly generated and committed modules."""
    expected = generated_files(expected_root)
    actual = generated_files(actual_root)
    return [
        name
        for name in sorted(expected.keys() | actual.keys())
        if name not in expected
        or name not in actual
        or not filecmp.cmp(expected[name], actual[name], shallow=False)
    ]


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate_into(fresh)
        differing = stale_files(fresh, SRC_ROOT)
        if not differing:
            print(f"up to date: {len(generated_files(fresh))} generated modules")
            return 0
        committed = generated_files(SRC_ROOT)
        fresh_files = generated_files(fresh)
        for name in differing:
            if name not in committed:
                state = "missing"
            elif name not in fresh_files:
                state = "no longer generated"
            else:
                state = "differs"
            print(f"stale: src/{name} ({state})", file=sys.stderr)
        print(
            f"generated modules are stale (grpcio-tools {metadata.version('grpcio-tools')}); "
            "run: uv run python packages/vault-plugin-proto/scripts/generate.py",
            file=sys.stderr,
        )
        return 1


def write() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate_into(fresh)
        fresh_files = generated_files(fresh)
        for name, committed in generated_files(SRC_ROOT).items():
            if name not in fresh_files:
                committed.unlink()
                print(f"removed src/{name}")
        for name, path in fresh_files.items():
            target = SRC_ROOT / name
            target.parent.mkdir(parents=True, exist_ok=True)
            content = path.read_bytes()
            if not target.exists() or target.read_bytes() != content:
                target.write_bytes(content)
                print(f"wrote src/{name}")
    print(f"{len(fresh_files)} generated modules (grpcio-tools {metadata.version('grpcio-tools')})")
    return 0


def write_descriptor_set(out: Path) -> int:
    run_protoc([f"--descriptor_set_out={out.resolve()}", "--include_imports"])
    return 0


def _has_pinned_generator() -> bool:
    try:
        return metadata.version("grpcio-tools") == GRPCIO_TOOLS_PIN.partition("==")[2]
    except metadata.PackageNotFoundError:
        return False


def ensure_generator(argv: Sequence[str]) -> int | None:
    """Re-run under the pinned grpcio-tools unless this interpreter has it; None = go on."""
    if _has_pinned_generator():
        return None
    if os.environ.get(_REEXEC_MARK):
        sys.exit(f"{GRPCIO_TOOLS_PIN} is still missing after re-running under uv")
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        sys.exit(f"{GRPCIO_TOOLS_PIN} is needed: install uv, or run with it installed")
    cmd = [uv, "run", "--quiet", "--isolated", "--no-project", "--with", GRPCIO_TOOLS_PIN]
    cmd += ["python", str(Path(__file__).resolve()), *argv]
    return subprocess.run(cmd, env={**os.environ, _REEXEC_MARK: "1"}, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    status = ensure_generator(args_list)
    if status is not None:
        return status
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="generate into a temporary directory and exit 1 if src/ differs",
    )
    mode.add_argument(
        "--descriptor-set",
        type=Path,
        metavar="PATH",
        help="write a binary FileDescriptorSet (with imports) of the sources to PATH",
    )
    args = parser.parse_args(args_list)
    if args.check:
        return check()
    if args.descriptor_set is not None:
        return write_descriptor_set(args.descriptor_set)
    return write()


if __name__ == "__main__":
    sys.exit(main())
