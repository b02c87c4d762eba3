"""HTTP/2 frame layout (RFC 9113 §4, §6): constants and serialisation."""

from __future__ import annotations

import struct
from enum import IntEnum

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADER_SIZE = 9
DEFAULT_MAX_FRAME_SIZE = 16_384
MAX_FRAME_SIZE_LIMIT = (1 << 24) - 1
DEFAULT_WINDOW = 65_535
MAX_WINDOW = (1 << 31) - 1

_HEADER = struct.Struct(">HBBBI")  # 24-bit length split as 16+8 bits, type, flags, stream id


class FrameType(IntEnum):
    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


class Flag:
    END_STREAM = 0x1
    ACK = 0x1
    END_HEADERS = 0x4
    PADDED = 0x8
    PRIORITY = 0x20


class Setting(IntEnum):
    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6


class ErrorCode(IntEnum):
    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


def unpack_header(buf: bytes | bytearray | memoryview, offset: int) -> tuple[int, int, int, int]:
    """``(length, type, flags, stream_id)`` of the frame header at ``offset``."""
    hi, lo, ftype, flags, stream_id = _HEADER.unpack_from(buf, offset)
    return (hi << 8) | lo, ftype, flags, stream_id & 0x7FFF_FFFF


def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    length = len(payload)
    return _HEADER.pack(length >> 8, length & 0xFF, ftype, flags, stream_id) + payload


def settings_frame(settings: dict[Setting, int]) -> bytes:
    payload = b"".join(struct.pack(">HI", key, value) for key, value in settings.items())
    return frame(FrameType.SETTINGS, 0, 0, payload)


SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0)


def parse_settings(payload: bytes) -> list[tuple[int, int]]:
    if len(payload) % 6:
        raise ValueError("SETTINGS payload is not a multiple of 6 octets")
    return [struct.unpack_from(">HI", payload, i) for i in range(0, len(payload), 6)]


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(FrameType.WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    return frame(FrameType.RST_STREAM, 0, stream_id, struct.pack(">I", code))


def goaway(last_stream_id: int, code: int, debug: bytes = b"") -> bytes:
    return frame(FrameType.GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code) + debug)


def strip_padding(flags: int, payload: bytes) -> bytes:
    """Payload without the PADDED framing; raises ValueError when the padding is invalid."""
    if not flags & Flag.PADDED:
        return payload
    if not payload:
        raise ValueError("PADDED frame without a pad length")
    pad = payload[0]
    if pad >= len(payload):
        raise ValueError("padding exceeds the frame payload")
    return payload[1 : len(payload) - pad]
