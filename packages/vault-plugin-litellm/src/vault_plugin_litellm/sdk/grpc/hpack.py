"""HPACK header compression (RFC 7541): a full decoder and a stateless encoder.

The decoder keeps the dynamic table the peer's encoder (grpc-go) fills, within the 4,096 octets
we allow, and stops at the header list size we advertise (64 KiB by default: RFC 7541 sizes,
name + value + 32 per field), so a few octets referencing a large table entry again and again
cannot expand into megabytes. Integers are limited to 5 continuation octets. Our encoder never
indexes, so the peer's decoder needs no state from us and we never track its table size;
what we send is a handful of short, mostly constant headers, pre-encoded once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from . import huffman

Header = tuple[str, str]

STATIC_TABLE: tuple[Header, ...] = (
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
)
_STATIC_LEN = len(STATIC_TABLE)
_STATIC_NAME_INDEX: dict[str, int] = {}
for _i, (_name, _) in enumerate(STATIC_TABLE, start=1):
    _STATIC_NAME_INDEX.setdefault(_name, _i)

ENTRY_OVERHEAD = 32  # octets the RFC adds to every dynamic-table entry


class HPACKError(ValueError):
    """The header block cannot be decoded: a connection error (COMPRESSION_ERROR)."""


class HeaderListTooLarge(HPACKError):
    """The decoded header list exceeds the advertised MAX_HEADER_LIST_SIZE (ENHANCE_YOUR_CALM).

    Decoding stops there, so the dynamic table no longer matches the peer's: the connection
    cannot go on.
    """


def decode_integer(data: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    """Read an N-bit-prefix integer at ``pos``; returns ``(value, next_pos)``."""
    mask = (1 << prefix_bits) - 1
    try:
        value = data[pos] & mask
    except IndexError:
        raise HPACKError("header block truncated inside an integer") from None
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while True:
        try:
            byte = data[pos]
        except IndexError:
            raise HPACKError("header block truncated inside an integer") from None
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
        if shift > 28:
            raise HPACKError("HPACK integer too large")


def encode_integer(value: int, prefix_bits: int, first_byte_flags: int = 0) -> bytes:
    mask = (1 << prefix_bits) - 1
    if value < mask:
        return bytes((first_byte_flags | value,))
    out = bytearray((first_byte_flags | mask,))
    value -= mask
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class Decoder:
    """Decodes header blocks in the order the peer sent them, keeping its dynamic table."""

    def __init__(self, max_table_size: int = 4096, max_header_list_size: int = 64 << 10) -> None:
        self._table: deque[Header] = deque()  # newest first: dynamic index 62 is _table[0]
        self._size = 0
        self._limit = max_table_size  # what we advertised; the peer may lower, never exceed
        self._max_size = max_table_size
        self._max_list_size = max_header_list_size

    @property
    def table_size(self) -> int:
        return self._size

    def _lookup(self, index: int) -> Header:
        if 0 < index <= _STATIC_LEN:
            return STATIC_TABLE[index - 1]
        dyn = index - _STATIC_LEN - 1
        if 0 <= dyn < len(self._table):
            return self._table[dyn]
        raise HPACKError(f"header table index {index} out of range")

    def _add(self, header: Header) -> None:
        size = len(header[0]) + len(header[1]) + ENTRY_OVERHEAD
        if size > self._max_size:
            self._table.clear()
            self._size = 0
            return
        self._size += size
        self._table.appendleft(header)
        self._evict()

    def _evict(self) -> None:
        table = self._table
        while self._size > self._max_size:
            name, value = table.pop()
            self._size -= len(name) + len(value) + ENTRY_OVERHEAD

    def _string(self, data: bytes, pos: int) -> tuple[str, int]:
        try:
            huff = data[pos] & 0x80
        except IndexError:
            raise HPACKError("header block truncated before a string") from None
        length, pos = decode_integer(data, pos, 7)
        end = pos + length
        if end > len(data):
            raise HPACKError("header block truncated inside a string")
        raw = data[pos:end]
        if huff:
            try:
                raw = huffman.decode(raw)
            except huffman.HuffmanError as exc:
                raise HPACKError(str(exc)) from None
        return raw.decode("latin-1"), end

    def decode(self, data: bytes) -> list[Header]:
        headers: list[Header] = []
        pos = 0
        end = len(data)
        list_size = 0
        seen_field = False
        while pos < end:
            byte = data[pos]
            if byte & 0x80:  # indexed field
                index, pos = decode_integer(data, pos, 7)
                if index == 0:
                    raise HPACKError("header table index 0")
                header = self._lookup(index)
            elif byte & 0xE0 == 0x20:  # dynamic table size update
                if seen_field:
                    raise HPACKError("table size update after a header field")
                size, pos = decode_integer(data, pos, 5)
                if size > self._limit:
                    raise HPACKError(f"table size update to {size} exceeds {self._limit}")
                self._max_size = size
                self._evict()
                continue
            else:
                indexing = bool(byte & 0x40)
                index, pos = decode_integer(data, pos, 6 if indexing else 4)
                if index:
                    name = self._lookup(index)[0]
                else:
                    name, pos = self._string(data, pos)
                value, pos = self._string(data, pos)
                header = (name, value)
                if indexing:
                    self._add(header)
            seen_field = True
            list_size += len(header[0]) + len(header[1]) + ENTRY_OVERHEAD
            if list_size > self._max_list_size:
                raise HeaderListTooLarge(
                    f"header list larger than the advertised {self._max_list_size} octets"
                )
            headers.append(header)
        return headers


def _string_literal(value: str) -> bytes:
    raw = value.encode("latin-1")
    return encode_integer(len(raw), 7) + raw


def encode_header(name: str, value: str) -> bytes:
    """One header as a literal without indexing (indexed name when the static table has it)."""
    index = _STATIC_NAME_INDEX.get(name)
    if index is not None:
        return encode_integer(index, 4) + _string_literal(value)
    return b"\x00" + _string_literal(name) + _string_literal(value)


def encode_headers(headers: Iterable[Header]) -> bytes:
    out = bytearray()
    for name, value in headers:
        if (name, value) in _STATIC_FULL_INDEX:
            out += encode_integer(_STATIC_FULL_INDEX[(name, value)], 7, 0x80)
        else:
            out += encode_header(name, value)
    return bytes(out)


_STATIC_FULL_INDEX: dict[Header, int] = {
    header: i for i, header in enumerate(STATIC_TABLE, start=1) if header[1]
}
