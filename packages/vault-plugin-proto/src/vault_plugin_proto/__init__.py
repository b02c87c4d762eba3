"""Protobuf and gRPC stubs of the OpenBao / HashiCorp Vault plugin protocol.

Message classes live in the ``*_pb2`` modules, which import only ``google.protobuf``. Stubs,
servicers and ``add_*Servicer_to_server`` live in the ``*_pb2_grpc`` modules, which import
``grpc`` (installed with the ``grpc`` extra, ``vault-plugin-proto[grpc]``). This module imports
neither, so a runtime that needs only the messages never pays for grpc::

    from vault_plugin_proto.pb import backend_pb2, backend_pb2_grpc

The proto packages (``pb``, ``logical``, ``pluginutil.multiplexing``, ``plugin``) are the
servers' own, because they are part of every gRPC method path; the Python package layout is
this project's. The health service is ``grpc_health.v1`` from grpcio-health-checking (also
with the extra).
"""

__version__ = "0.1.0"

#: Every module holding message classes; importing them never imports grpc.
MESSAGE_MODULES: tuple[str, ...] = (
    "vault_plugin_proto.goplugin.grpc_broker_pb2",
    "vault_plugin_proto.goplugin.grpc_controller_pb2",
    "vault_plugin_proto.goplugin.grpc_stdio_pb2",
    "vault_plugin_proto.logical.event_pb2",
    "vault_plugin_proto.logical.identity_pb2",
    "vault_plugin_proto.logical.plugin_pb2",
    "vault_plugin_proto.logical.version_pb2",
    "vault_plugin_proto.pb.backend_pb2",
    "vault_plugin_proto.pluginutil.multiplexing_pb2",
)

#: Every module holding gRPC stubs and servicers; each imports grpc.
GRPC_MODULES: tuple[str, ...] = (
    "vault_plugin_proto.goplugin.grpc_broker_pb2_grpc",
    "vault_plugin_proto.goplugin.grpc_controller_pb2_grpc",
    "vault_plugin_proto.goplugin.grpc_stdio_pb2_grpc",
    "vault_plugin_proto.logical.version_pb2_grpc",
    "vault_plugin_proto.pb.backend_pb2_grpc",
    "vault_plugin_proto.pluginutil.multiplexing_pb2_grpc",
)

__all__ = ["GRPC_MODULES", "MESSAGE_MODULES", "__version__"]
