"""HTTP/2 frame layout (RFC 9113 §4, §6) and the gRPC status helpers."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.grpc import frames as fr
from vault_plugin_litellm.sdk.grpc.frames import Flag, FrameType, Setting
from vault_plugin_litellm.sdk.grpc.status import (
    StatusCode,
    decode_message,
    encode_message,
    format_timeout,
    parse_timeout,
)


@settings(max_examples=200)
@given(
    st.binary(max_size=300),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 2**31 - 1),
)
def test_frame_header_round_trip(payload: bytes, ftype: int, flags: int, stream_id: int) -> None:
    wire = fr.frame(ftype, flags, stream_id, payload)
    assert len(wire) == fr.HEADER_SIZE + len(payload)
    assert fr.unpack_header(wire, 0) == (len(payload), ftype, flags, stream_id)
    assert wire[fr.HEADER_SIZE :] == payload


def test_header_layout_and_24_bit_length() -> None:
    wire = fr.frame(FrameType.DATA, Flag.END_STREAM, 3, b"x" * 0x012345)
    assert wire[:9] == bytes.fromhex("012345 00 01 00000003")
    # The reserved bit of the stream id is ignored on receipt (RFC 9113 §4.1).
    assert fr.unpack_header(bytes.fromhex("000000 04 00 80000005"), 0) == (0, 4, 0, 5)
    # Headers are read at an offset, as the connection reads them from its buffer.
    assert fr.unpack_header(b"junk" + wire, 4)[0] == 0x012345


def test_control_frames() -> None:
    assert fr.window_update(7, 1000) == fr.frame(
        FrameType.WINDOW_UPDATE, 0, 7, struct.pack(">I", 1000)
    )
    assert fr.rst_stream(9, fr.ErrorCode.CANCEL)[9:] == b"\x00\x00\x00\x08"
    goaway = fr.goaway(11, fr.ErrorCode.PROTOCOL_ERROR, b"why")
    assert fr.unpack_header(goaway, 0) == (11, FrameType.GOAWAY, 0, 0)
    assert goaway[9:] == struct.pack(">II", 11, 1) + b"why"
    assert bytes.fromhex("000000 04 01 00000000") == fr.SETTINGS_ACK


def test_settings_round_trip() -> None:
    wanted = {
        Setting.INITIAL_WINDOW_SIZE: 1 << 30,
        Setting.MAX_FRAME_SIZE: 16_384,
        Setting.ENABLE_PUSH: 0,
    }
    wire = fr.settings_frame(wanted)
    length, ftype, flags, stream_id = fr.unpack_header(wire, 0)
    assert (length, ftype, flags, stream_id) == (18, FrameType.SETTINGS, 0, 0)
    assert fr.parse_settings(wire[9:]) == [(int(k), v) for k, v in wanted.items()]
    assert fr.parse_settings(b"") == []


@pytest.mark.parametrize("size", [1, 5, 7, 13])
def test_settings_must_be_multiples_of_six(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 6"):
        fr.parse_settings(b"\x00" * size)


@pytest.mark.parametrize(
    ("flags", "payload", "expected"),
    [
        (0, b"\x03abc", b"\x03abc"),  # not PADDED: untouched, even if it looks padded
        (Flag.PADDED, b"\x00abc", b"abc"),
        (Flag.PADDED, b"\x02abc\x00\x00", b"abc"),
        (Flag.PADDED | Flag.END_STREAM, b"\x03\x00\x00\x00", b""),  # all padding
        (Flag.PADDED, b"\x00", b""),
    ],
)
def test_strip_padding(flags: int, payload: bytes, expected: bytes) -> None:
    assert fr.strip_padding(flags, payload) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "without a pad length"),
        (b"\x01", "exceeds"),  # one octet of padding announced, none present
        (b"\x04abc", "exceeds"),
        (b"\xffabc", "exceeds"),
    ],
)
def test_invalid_padding(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fr.strip_padding(Flag.PADDED, payload)


@given(st.binary(max_size=100), st.integers(0, 255))
def test_padding_round_trip(data: bytes, pad: int) -> None:
    padded = bytes([pad]) + data + b"\x00" * pad
    assert fr.strip_padding(Flag.PADDED, padded) == data


# -- gRPC status helpers ------------------------------------------------------------------------
@given(st.text(max_size=200))
def test_status_message_round_trip(message: str) -> None:
    wire = encode_message(message)
    assert wire.isascii()
    assert all(0x20 <= ord(c) <= 0x7E for c in wire)  # a legal header value
    assert decode_message(wire) == message.encode("utf-8", "replace").decode("utf-8")


def test_status_message_percent_encoding() -> None:
    assert encode_message("100% ✓") == "100%25 %E2%9C%93"
    assert encode_message("a\nb") == "a%0Ab"
    assert decode_message("%E2%9C%93 ok") == "✓ ok"


def test_status_code_parse() -> None:
    assert StatusCode.parse("14") is StatusCode.UNAVAILABLE
    assert StatusCode.parse("0") is StatusCode.OK
    assert StatusCode.parse("99") is StatusCode.UNKNOWN  # well formed, unknown to us


@pytest.mark.parametrize(
    "value", ["", "x", " 1", "1 ", "+1", "-1", "1_0", "\u0661", "0x1", "1" * 11]
)
def test_status_code_parse_is_strict(value: str) -> None:
    # int() would take several of these; a grpc-status is plain ASCII decimal.
    with pytest.raises(ValueError, match="malformed grpc-status"):
        StatusCode.parse(value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1S", 1.0),
        ("89999987u", 89.999987),
        ("100m", 0.1),
        ("2H", 7200.0),
        ("3M", 180.0),
        ("5n", 5e-9),
    ],
)
def test_parse_timeout(value: str, seconds: float) -> None:
    assert parse_timeout(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", ["", "S", "1", "1x", "-1S", "123456789S", "1.5S", "²S", "\u0661S", " 1S"]
)
def test_parse_timeout_rejects_malformed_values(value: str) -> None:
    assert parse_timeout(value) is None


@given(st.floats(min_value=0, max_value=10**9, allow_nan=False))
def test_format_timeout_is_valid_and_close(seconds: float) -> None:
    wire = format_timeout(seconds)
    assert len(wire) <= 9
    assert wire[:-1].isdigit()
    assert len(wire[:-1]) <= 8
    parsed = parse_timeout(wire)
    assert parsed is not None
    assert parsed <= seconds + 1e-9
    assert parsed >= seconds * 0.999 - 1e-6  # at most one unit of the chosen scale lost
