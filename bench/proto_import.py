"""Benchmark the import of vault-plugin-proto: ``uv run python bench/proto_import.py``.

Prints the median, over several fresh interpreters, of the time to import every ``*_pb2``
message module (what a plugin needs) and every module including the ``*_pb2_grpc`` stubs and
grpc. The probe is the one the tests run (tests/proto/probe_installed.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.proto.probe import run_probe


def summary(reports: list[dict[str, Any]]) -> str:
    messages_ms = statistics.median(r["import_messages_s"] for r in reports) * 1000
    all_ms = statistics.median(r["import_all_s"] for r in reports) * 1000
    first = reports[0]
    return (
        f"vault_plugin_proto import, median of {len(reports)} fresh interpreters "
        f"(protobuf {first['versions']['protobuf']}, {first['protobuf_backend']}): "
        f"every *_pb2 module {messages_ms:.1f} ms, "
        f"every module incl. *_pb2_grpc and grpc {all_ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters (default 9)")
    args = parser.parse_args()
    print(summary([run_probe(sys.executable) for _ in range(args.runs)]))


if __name__ == "__main__":
    main()
