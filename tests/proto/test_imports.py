"""Every generated module imports in a fresh interpreter; the message modules never load grpc."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROBE = Path(__file__).resolve().parent / "probe_installed.py"
TIMING_RUNS = 7


def probe(python: str | Path, *flags: str) -> dict[str, Any]:
    """Run probe_installed.py with ``python`` and return what it reports."""
    result = subprocess.run(
        [str(python), *flags, str(PROBE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_fresh_interpreter_imports_everything_without_warnings() -> None:
    # -W error: a gencode/runtime mismatch warning would fail the import.
    report = probe(sys.executable, "-W", "error")
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


def test_import_time_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Benchmark: prints the median import time of several fresh interpreters (no assertion on
    the time itself, which depends on the machine)."""
    reports = [probe(sys.executable) for _ in range(TIMING_RUNS)]
    messages_ms = statistics.median(r["import_messages_s"] for r in reports) * 1000
    all_ms = statistics.median(r["import_all_s"] for r in reports) * 1000
    with capsys.disabled():
        print(
            f"\nvault_plugin_proto import, median of {TIMING_RUNS} fresh interpreters "
            f"(protobuf {reports[0]['versions']['protobuf']}, "
            f"{reports[0]['protobuf_backend']}): every *_pb2 module {messages_ms:.1f} ms, "
            f"every module incl. *_pb2_grpc and grpc {all_ms:.1f} ms"
        )
