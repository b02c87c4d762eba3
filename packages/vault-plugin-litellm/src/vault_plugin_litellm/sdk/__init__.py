"""Protocol-generic runtime for OpenBao / HashiCorp Vault plugins written in Python.

Nothing under ``sdk`` knows about LiteLLM, so it can become a package of its own:

- ``sdk.logical``: the host-neutral request/response/storage model every backend speaks;
- ``sdk.framework``: paths, typed fields, leases, WAL, help and OpenAPI (like Go's sdk/framework);
- ``sdk.grpc``: a small asyncio gRPC (HTTP/2) implementation on Python's ``ssl``;
- ``sdk.goplugin``: the go-plugin v5 handshake, AutoMTLS, broker, controller and stdio services;
- ``sdk.plugin``: the bridge between ``pb.Backend`` messages and ``sdk.logical``, and ``serve()``.
"""
