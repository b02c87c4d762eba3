"""HPACK's static Huffman code (RFC 7541 Appendix B) as derived from the code lengths."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.grpc import huffman
from vault_plugin_litellm.sdk.grpc.huffman import EOS, HuffmanError, canonical_codes

CODES = canonical_codes()

# (symbol, code, bits) as printed in RFC 7541 Appendix B.
PUBLISHED = [
    (0, 0x1FF8, 13),
    (1, 0x7FFFD8, 23),
    (9, 0xFFFFEA, 24),
    (10, 0x3FFFFFFC, 30),
    (13, 0x3FFFFFFD, 30),
    (22, 0x3FFFFFFE, 30),
    (ord(" "), 0x14, 6),
    (ord("!"), 0x3F8, 10),
    (ord("%"), 0x15, 6),
    (ord("0"), 0x0, 5),
    (ord("<"), 0x7FFC, 15),
    (ord("A"), 0x21, 6),
    (ord("Z"), 0xFD, 8),
    (ord("\\"), 0x7FFF0, 19),
    (ord("a"), 0x3, 5),
    (ord("e"), 0x5, 5),
    (ord("z"), 0x7B, 7),
    (ord("~"), 0x1FFD, 13),
    (127, 0xFFFFFFC, 28),
    (128, 0xFFFE6, 20),
    (129, 0x3FFFD2, 22),
    (255, 0x3FFFFEE, 26),
    (EOS, 0x3FFFFFFF, 30),
]


@pytest.mark.parametrize(("symbol", "code", "bits"), PUBLISHED)
def test_derived_codes_match_the_rfc(symbol: int, code: int, bits: int) -> None:
    assert CODES[symbol] == (code, bits)


def test_the_code_is_complete_and_prefix_free() -> None:
    assert len(CODES) == 257
    # Kraft's equality: a complete prefix code uses the whole code space exactly.
    assert sum(Fraction(1, 2**bits) for _, bits in CODES) == 1
    as_strings = sorted(format(code, f"0{bits}b") for code, bits in CODES)
    for shorter, longer in itertools.pairwise(as_strings):
        assert not longer.startswith(shorter)


@pytest.mark.parametrize(
    ("text", "wire"),
    [  # RFC 7541 C.4 and C.6
        ("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"),
        ("no-cache", "a8eb10649cbf"),
        ("custom-key", "25a849e95ba97d7f"),
        ("custom-value", "25a849e95bb8e8b4bf"),
        ("302", "6402"),
        ("private", "aec3771a4b"),
        ("Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"),
        ("https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"),
        ("gzip", "9bd9ab"),
        ("", ""),
    ],
)
def test_rfc_strings(text: str, wire: str) -> None:
    assert huffman.encode(text.encode()) == bytes.fromhex(wire)
    assert huffman.decode(bytes.fromhex(wire)) == text.encode()


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_round_trip(data: bytes) -> None:
    assert huffman.decode(huffman.encode(data)) == data


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_random_input_decodes_or_raises_huffman_error(data: bytes) -> None:
    try:
        decoded = huffman.decode(data)
    except HuffmanError:
        return
    assert huffman.encode(decoded) == data  # the code is canonical: one valid form per string


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("00", "padding"),  # '0' then three zero bits: padding must be ones
        ("18", "padding"),  # 'a' (00011) then 000
        ("fe", "invalid Huffman code"),  # eight bits that start a longer code
        ("ffff", "invalid Huffman code"),  # 16 ones: more than 7 bits of padding
        ("f1e3c2e5f23a6ba0ab90f4ff ff", "invalid Huffman code"),  # a whole padding octet
        ("ffffffff", "EOS"),  # 30 ones decode to EOS, which may not appear
        ("fffffffc", "EOS"),
    ],
)
def test_invalid_strings(wire: str, message: str) -> None:
    with pytest.raises(HuffmanError, match=message):
        huffman.decode(bytes.fromhex(wire))


def test_padding_of_up_to_seven_ones_is_accepted() -> None:
    for text in (b"a", b"ab", b"abc", b"0", b"&"):
        wire = huffman.encode(text)
        bits = sum(CODES[b][1] for b in text)
        assert len(wire) * 8 - bits < 8
        assert huffman.decode(wire) == text
