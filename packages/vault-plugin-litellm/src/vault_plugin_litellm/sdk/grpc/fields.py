"""HTTP/2 field rules (RFC 9113 §8.2-§8.3), and the gRPC fields read while checking them.

A request or response that breaks them is *malformed* (§8.1.1): the stream is reset with
PROTOCOL_ERROR, the connection lives on. The rules checked are the RFC's MUSTs, the same set
h2 enforces: field names without upper case, controls, spaces, non-ASCII or a colon past the
first character; values without NUL, CR or LF and without surrounding spaces or tabs; no
connection-specific fields; ``te`` only as ``trailers``; pseudo-header fields known, once
each, before regular fields, only in the header section, and the required ones present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .hpack import Header

_BAD_NAME = re.compile(r"[\x00-\x20A-Z\x7f-\xff]|(?<=.):", re.DOTALL).search
_BAD_VALUE = re.compile(r"[\x00\r\n]|\A[ \t]|[ \t]\Z").search
_CONNECTION_SPECIFIC = frozenset(
    {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"}
)
_REQUEST_PSEUDO = frozenset({":method", ":scheme", ":authority", ":path", ":protocol"})
# Transport fields a handler does not see as metadata.
_NOT_METADATA = frozenset(
    {"content-type", "te", "user-agent", "grpc-accept-encoding", "content-length"}
)

# Fields already found valid. Peers repeat the same fields on every call (grpc-go sends most
# of them from its HPACK table), so checking each distinct field once keeps the per-call cost
# to a set look-up. Bounded: emptied when full.
_checked: set[Header] = set()
_CHECKED_MAX = 1024


class MalformedError(ValueError):
    """A malformed request or response: a stream error of type PROTOCOL_ERROR."""


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def check_field(header: Header) -> None:
    if header in _checked:
        return
    name, value = header
    if not name:
        raise MalformedError("empty field name")
    if _BAD_NAME(name):
        raise MalformedError(f"invalid field name {_show(name)}")
    if _BAD_VALUE(value):
        raise MalformedError(f"invalid value for field {_show(name)}")
    if len(_checked) >= _CHECKED_MAX:
        _checked.clear()
    _checked.add(header)


def _check_regular(name: str, value: str) -> None:
    if name in _CONNECTION_SPECIFIC:
        raise MalformedError(f"connection-specific field {name!r}")
    if name == "te" and value.lower() != "trailers":
        raise MalformedError("te other than 'trailers'")


@dataclass(slots=True)
class Request:
    """What the gRPC server reads from a request's header section."""

    method: str
    path: str
    content_type: str = ""
    timeout: str | None = None
    encoding: str | None = None
    content_length: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def parse_request(headers: list[Header]) -> Request:
    """Check a request header section (§8.3.1) and pick out what gRPC needs."""
    pseudo: dict[str, str] = {}
    regular = False
    host: str | None = None
    out = Request("", "")
    metadata = out.metadata
    checked = _checked
    for header in headers:
        if header not in checked:
            check_field(header)
        name, value = header
        if name[0] == ":":
            if regular:
                raise MalformedError(f"pseudo-header field {name} after a regular field")
            if name not in _REQUEST_PSEUDO:
                raise MalformedError(f"pseudo-header field {_show(name)} in a request")
            if name in pseudo:
                raise MalformedError(f"duplicate {name}")
            pseudo[name] = value
            continue
        regular = True
        _check_regular(name, value)
        if name == "content-type":
            out.content_type = value
        elif name == "grpc-timeout":
            out.timeout = value
        elif name == "grpc-encoding":
            out.encoding = value
        elif name == "host":
            if host is not None:
                raise MalformedError("more than one host field")
            host = value
        elif name == "content-length":
            if not (value.isascii() and value.isdigit()) or (
                out.content_length is not None and out.content_length != int(value)
            ):
                raise MalformedError("invalid content-length")
            out.content_length = int(value)
        elif name not in _NOT_METADATA:
            metadata[name] = value
    _check_request_pseudo(pseudo, host)
    out.method = pseudo[":method"]
    out.path = pseudo.get(":path", "")
    return out


def _check_request_pseudo(pseudo: dict[str, str], host: str | None) -> None:
    method = pseudo.get(":method")
    if method is None:
        raise MalformedError("missing :method")
    if method == "CONNECT" and ":protocol" not in pseudo:
        if ":scheme" in pseudo or ":path" in pseudo:
            raise MalformedError("CONNECT with :scheme or :path")
    else:
        if ":protocol" in pseudo and method != "CONNECT":
            raise MalformedError(":protocol outside CONNECT")
        if ":scheme" not in pseudo or ":path" not in pseudo:
            raise MalformedError("missing :scheme or :path")
        if not pseudo[":path"]:
            raise MalformedError("empty :path")
    authority = pseudo.get(":authority")
    if authority is None and host is None:
        raise MalformedError("neither :authority nor host")
    if authority is not None and host is not None and authority != host:
        raise MalformedError(":authority and host differ")


def parse_response(headers: list[Header]) -> dict[str, str]:
    """Check a response header section (§8.3.2); its fields by name, ``:status`` included."""
    out: dict[str, str] = {}
    regular = False
    checked = _checked
    for header in headers:
        if header not in checked:
            check_field(header)
        name, value = header
        if name[0] == ":":
            if regular:
                raise MalformedError(f"pseudo-header field {name} after a regular field")
            if name != ":status":
                raise MalformedError(f"pseudo-header field {_show(name)} in a response")
            if name in out:
                raise MalformedError("duplicate :status")
        else:
            regular = True
            _check_regular(name, value)
        out[name] = value
    if ":status" not in out:
        raise MalformedError("missing :status")
    return out


def parse_trailers(headers: list[Header]) -> dict[str, str]:
    """Check a trailer section (no pseudo-header fields, §8.1); its fields by name."""
    out: dict[str, str] = {}
    checked = _checked
    for header in headers:
        if header not in checked:
            check_field(header)
        name, value = header
        if name[0] == ":":
            raise MalformedError(f"pseudo-header field {_show(name)} in trailers")
        _check_regular(name, value)
        out[name] = value
    return out
