"""Exercise an installed vault-plugin-proto from a fresh interpreter; print one JSON object.

Run by the tests with the workspace's interpreter and with clean virtual environments that
hold only the built wheel and its dependencies, so it imports nothing from the tests. Without
the ``grpc`` extra (no grpcio installed) it checks the messages and reports how a stub module
fails; with it, it also serves and calls ``pb.Backend`` over grpc.aio.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import time
import warnings

# The warnings of the imports (a gencode/runtime mismatch, a deprecation) are reported, not
# read off stderr: grpc logs its own connection teardown there, more often on a busy machine.
with warnings.catch_warnings(record=True) as IMPORT_WARNINGS:
    warnings.simplefilter("always")
    started = time.perf_counter()
    import vault_plugin_proto  # the import is what is being timed

    for _name in vault_plugin_proto.MESSAGE_MODULES:
        importlib.import_module(_name)
    messages_done = time.perf_counter()
    GRPC_AFTER_MESSAGES = sorted(m for m in sys.modules if m == "grpc" or m.startswith("grpc."))
    GRPC_INSTALLED = importlib.util.find_spec("grpc") is not None
    if GRPC_INSTALLED:
        for _name in vault_plugin_proto.GRPC_MODULES:
            importlib.import_module(_name)
    all_done = time.perf_counter()

import asyncio
from importlib import metadata
from typing import Any

from google.protobuf.internal import api_implementation
from vault_plugin_proto.pb import backend_pb2

DISTRIBUTIONS = ("protobuf", "grpcio", "grpcio-health-checking")


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def round_trips() -> bool:
    lease = backend_pb2.LeaseOptions(TTL=60 * 10**9, renewable=True)
    lease.issue_time.GetCurrentTime()
    args = backend_pb2.HandleRequestArgs(
        request=backend_pb2.Request(
            path="creds/r1",
            secret=backend_pb2.Secret(lease_options=lease, internal_data="{}"),
            headers={"X-Id": backend_pb2.Header(header=["1"])},
        )
    )
    return backend_pb2.HandleRequestArgs.FromString(args.SerializeToString()) == args


def stub_import_error() -> str:
    """What importing a stub module says when grpcio is missing."""
    try:
        importlib.import_module(vault_plugin_proto.GRPC_MODULES[0])
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


async def call_type() -> int:
    """Serve ``pb.Backend/Type`` with grpc.aio and call it."""
    import grpc
    from vault_plugin_proto.pb import backend_pb2_grpc

    class TypeOnly(backend_pb2_grpc.BackendServicer):
        async def Type(
            self, request: backend_pb2.Empty, context: grpc.aio.ServicerContext[object, object]
        ) -> backend_pb2.TypeReply:
            return backend_pb2.TypeReply(type=1)

    server = grpc.aio.server()
    backend_pb2_grpc.add_BackendServicer_to_server(TypeOnly(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply: backend_pb2.TypeReply = await backend_pb2_grpc.BackendStub(channel).Type(
                backend_pb2.Empty()
            )
            return reply.type
    finally:
        await server.stop(grace=None)


def grpc_part() -> dict[str, Any]:
    if not GRPC_INSTALLED:
        return {"import_all_s": None, "stub_import_error": stub_import_error()}
    from grpc_health.v1 import health_pb2

    return {
        "import_all_s": all_done - started,
        "type": asyncio.run(call_type()),
        "health_service": health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
    }


def main() -> None:
    report = {
        "versions": versions(),
        "protobuf_backend": api_implementation.Type(),
        "module_file": vault_plugin_proto.__file__,
        "import_warnings": [f"{w.category.__name__}: {w.message}" for w in IMPORT_WARNINGS],
        "grpc_after_messages": GRPC_AFTER_MESSAGES,
        "grpc_installed": GRPC_INSTALLED,
        "import_messages_s": messages_done - started,
        "round_trip": round_trips(),
        **grpc_part(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
