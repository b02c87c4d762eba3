"""Proto package ``pb``: the logical backend protocol.

``backend_pb2`` holds the messages; ``backend_pb2_grpc`` the services ``Backend`` (served by the
plugin), ``Storage`` and ``SystemView`` (served by the host), and the Vault-only ``Events`` and
``Observations``.
"""
