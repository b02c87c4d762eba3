"""Proto package ``logical``: types shared with the host's logical layer.

``identity_pb2`` (Entity, Alias, Group, MFA), ``plugin_pb2`` (PluginEnvironment), ``event_pb2``
(Vault-only events) and ``version_pb2`` / ``version_pb2_grpc`` (the ``PluginVersion`` service,
served by the plugin).
"""
