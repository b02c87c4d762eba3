"""Proto package ``plugin``: HashiCorp go-plugin's own services, served by the plugin.

``grpc_broker_pb2`` (``GRPCBroker``: dial-back connection info), ``grpc_controller_pb2``
(``GRPCController``: shutdown) and ``grpc_stdio_pb2`` (``GRPCStdio``: stdout/stderr), each with
its ``_pb2_grpc`` module.
"""
