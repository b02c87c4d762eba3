"""Proto package ``pluginutil.multiplexing``: ``multiplexing_pb2`` / ``multiplexing_pb2_grpc``
hold the ``PluginMultiplexing`` service, served by the plugin (protocol v5).
"""
