"""A small gRPC implementation over HTTP/2 on asyncio, for the go-plugin transport.

Why not grpcio: the host's AutoMTLS certificate is P-521, which grpcio's bundled BoringSSL can
neither offer nor accept a signature for, so TLS must be Python's ``ssl``; relaying decrypted
bytes to a grpcio server costs a hop and thread hand-offs on every call (see
docs/go-plugin-protocol.md §5.4-§5.6 and §9). Speaking HTTP/2 directly in the event loop that
terminates TLS keeps each call to one loop, one thread.

Everything a peer can make it spend is bounded: see :mod:`.limits` for the values and why.
"""

from .channel import Channel, ClientConnection, connect_tcp, connect_unix
from .limits import Limits
from .server import Kind, Server, ServerContext
from .status import RpcError, StatusCode

__all__ = [
    "Channel",
    "ClientConnection",
    "Kind",
    "Limits",
    "RpcError",
    "Server",
    "ServerContext",
    "StatusCode",
    "connect_tcp",
    "connect_unix",
]
