"""The go-plugin services every plugin serves: health, controller and stdio."""

from __future__ import annotations

from collections.abc import AsyncIterator

from google.protobuf import empty_pb2, wrappers_pb2
from vault_plugin_proto.goplugin import grpc_controller_pb2, grpc_stdio_pb2

from ..grpc import RpcError, Server, ServerContext, StatusCode
from .lifecycle import Lifecycle

HEALTH_SERVICES = ("", "plugin")  # go-plugin asks for "plugin"

# grpc.health.v1's two messages have the wire layout of two types protobuf itself ships:
# HealthCheckRequest {string service = 1} is StringValue's, HealthCheckResponse
# {ServingStatus status = 1} is Int32Value's (an enum travels as an int32). Serving them as
# those keeps grpcio-health-checking, and the grpcio it requires, out of the plugin.
HealthCheckRequest = wrappers_pb2.StringValue
HealthCheckResponse = wrappers_pb2.Int32Value
SERVING = 1  # HealthCheckResponse.ServingStatus.SERVING


def register(server: Server, lifecycle: Lifecycle) -> None:
    async def health_check(req: HealthCheckRequest, ctx: ServerContext) -> HealthCheckResponse:
        if req.value not in HEALTH_SERVICES:
            raise RpcError(StatusCode.NOT_FOUND, f"unknown service {req.value!r}")
        return HealthCheckResponse(value=SERVING)

    async def shutdown(
        req: grpc_controller_pb2.Empty, ctx: ServerContext
    ) -> grpc_controller_pb2.Empty:
        # The reply is written before the loop runs the stop, so the host sees success.
        lifecycle.request_stop("the host asked to shut down")
        return grpc_controller_pb2.Empty()

    async def stream_stdio(
        req: empty_pb2.Empty, ctx: ServerContext
    ) -> AsyncIterator[grpc_stdio_pb2.StdioData]:
        # Held open and silent: the host discards this data anyway, and logs go to stderr.
        await lifecycle.stopping.wait()
        nothing: list[grpc_stdio_pb2.StdioData] = []
        for item in nothing:
            yield item

    server.add_unary("/grpc.health.v1.Health/Check", HealthCheckRequest, health_check)
    server.add_unary("/plugin.GRPCController/Shutdown", grpc_controller_pb2.Empty, shutdown)
    server.add_server_stream("/plugin.GRPCStdio/StreamStdio", empty_pb2.Empty, stream_stdio)
