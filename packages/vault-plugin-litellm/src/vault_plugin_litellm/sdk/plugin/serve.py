"""``serve()``: make this process an OpenBao / Vault secrets-engine plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..goplugin import PluginContext, main

if TYPE_CHECKING:
    from ..logical import BackendFactory


def register_backend(ctx: PluginContext, factory: BackendFactory | str, version: str) -> None:
    """Serve ``pb.Backend``, multiplexing and the plugin version on ``ctx.server``.

    Runs after the handshake line is written and before the first connection is served, so
    these imports overlap the host's dial and TLS handshake instead of delaying the line.
    """
    from vault_plugin_proto.logical import version_pb2
    from vault_plugin_proto.pluginutil import multiplexing_pb2

    from ..grpc import ServerContext
    from .backend_service import BackendService

    service = BackendService(factory, ctx.broker)
    service.register(ctx.server)
    ctx.lifecycle.on_stop(service.close_all)

    async def multiplexing_support(
        req: multiplexing_pb2.MultiplexingSupportRequest, call: ServerContext
    ) -> multiplexing_pb2.MultiplexingSupportResponse:
        # One process serves every mount: each multiplex_id gets its own instance.
        return multiplexing_pb2.MultiplexingSupportResponse(supported=True)

    async def plugin_version(
        req: version_pb2.Empty, call: ServerContext
    ) -> version_pb2.VersionReply:
        return version_pb2.VersionReply(plugin_version=version)

    ctx.server.add_unary(
        "/pluginutil.multiplexing.PluginMultiplexing/MultiplexingSupport",
        multiplexing_pb2.MultiplexingSupportRequest,
        multiplexing_support,
    )
    ctx.server.add_unary("/logical.PluginVersion/Version", version_pb2.Empty, plugin_version)


def serve(
    factory: BackendFactory | str, *, version: str = "", env: Mapping[str, str] | None = None
) -> int:
    """Serve ``factory``'s backends to the host that started this process.

    ``factory`` may be ``"package.module:attribute"`` to import the backend only when the
    first mount is set up, after the handshake. ``version`` must be semver (or empty): the
    host checks it against the catalog. Returns the exit status for ``sys.exit``.
    """
    return main(lambda ctx: register_backend(ctx, factory, version), env)
