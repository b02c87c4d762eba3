"""Resource limits of one HTTP/2 connection, with the values grpc-go, grpcio and h2 use.

Every number a peer controls has a bound here, and each bound is answered as RFC 9113 or the
gRPC protocol names it:

``max_receive_message`` (4 MiB)
    A gRPC message whose 5-octet prefix declares more is refused as soon as the prefix
    arrives, before its body is buffered: RESOURCE_EXHAUSTED (the default of grpc-go and
    grpcio). The go-plugin runtime raises it for the host (see ``HOST_SERVER_LIMITS``).
``max_header_list`` (64 KiB)
    Advertised as SETTINGS_MAX_HEADER_LIST_SIZE. A header block (HEADERS plus CONTINUATION) is
    capped at this many octets as its frames arrive, and the decoded list (RFC 7541 sizes:
    name + value + 32 per field) at the same number: GOAWAY ENHANCE_YOUR_CALM, as h2 does.
    A compliant encoder never needs more wire octets than the decoded size it may send.
``max_header_frames`` (64)
    Frames one header block may span (HEADERS and its CONTINUATIONs), h2's bound: empty
    CONTINUATION frames cost nothing against the size cap. Beyond it: GOAWAY PROTOCOL_ERROR.
``max_concurrent_streams`` (100)
    Advertised by the server end as SETTINGS_MAX_CONCURRENT_STREAMS; a stream opened beyond
    it is refused with RST_STREAM REFUSED_STREAM (grpc-go clients retry those
    transparently, and never open more than 100 before they learn the limit).
``stream_window`` (1 MiB), ``connection_window`` (4 MiB)
    The receive windows we grant. They are refilled as the gRPC layer takes data, not as it
    arrives: a peer that sends past them gets GOAWAY FLOW_CONTROL_ERROR.
``max_queued_messages`` (256)
    Complete request messages a streaming handler has not read yet; beyond: RESOURCE_EXHAUSTED.
``max_pending_replies`` (1000)
    Frames we owe the peer (PING and SETTINGS ACKs, RST_STREAM, refusals) written while it
    does not read what we send (the transport paused writing). Beyond: GOAWAY
    ENHANCE_YOUR_CALM and close, as nghttp2 does; the write buffer stays bounded.
``max_closed_streams`` (1024)
    Closed streams remembered, to tell a late frame on a stream we reset (ignored, as the RFC
    requires) from a frame on a stream the peer ended (an error).

Buffered memory per connection is therefore at most about ``max_concurrent_streams`` x
``max_receive_message`` for messages being assembled (as with grpc-go), plus the two windows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DEFAULT_MAX_RECEIVE_MESSAGE = 4 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    max_receive_message: int = DEFAULT_MAX_RECEIVE_MESSAGE
    max_header_list: int = 64 << 10
    max_header_frames: int = 64
    max_concurrent_streams: int = 100
    stream_window: int = 1 << 20
    connection_window: int = 4 << 20
    max_queued_messages: int = 256
    max_pending_replies: int = 1000
    max_closed_streams: int = 1024

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            name = item.name
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, not {value!r}")
        for name in ("stream_window", "connection_window"):
            if not 65_535 <= getattr(self, name) <= (1 << 31) - 1:
                raise ValueError(f"Limits.{name} must be within 65535 and 2^31-1")
        if self.max_receive_message > (1 << 32) - 1:
            raise ValueError("Limits.max_receive_message must fit the 32-bit message length")


DEFAULT_LIMITS = Limits()

# The go-plugin host (grpc-go) allows messages of up to 2^31-1 octets both ways, and sends big
# ones in practice: HandleRequest carries the whole HTTP request body, which OpenBao accepts up
# to its listener's max_request_size (32 MiB by default), and OpenAPI documents. 64 MiB leaves
# room for that body and its protobuf envelope while still refusing a 4 GiB prefix at once.
HOST_SERVER_LIMITS = Limits(max_receive_message=64 << 20)
# Broker channels read storage: entries the plugin wrote itself (so within the request limit)
# and key lists, which grow with the mount (a million lease ids is tens of MiB).
BROKER_CHANNEL_LIMITS = Limits(max_receive_message=256 << 20)
