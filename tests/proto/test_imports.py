"""Every generated module imports in a fresh interpreter; the message modules never load grpc."""

from __future__ import annotations

import subprocess
import sys

from tests.proto.probe import run_probe


def test_fresh_interpreter_imports_everything_without_warnings() -> None:
    # The probe records the imports' warnings (a gencode/runtime mismatch among them); -W error
    # turns any other warning into a failure.
    report = run_probe(sys.executable, "-W", "error")
    assert report["import_warnings"] == []
    assert report["grpc_after_messages"] == []
    assert report["round_trip"] is True
    assert report["type"] == 1


def test_package_import_alone_loads_no_protobuf_or_grpc() -> None:
    code = (
        "import sys, vault_plugin_proto\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
