"""HPACK (RFC 7541): the Appendix C examples, decoder errors, and properties of the encoder."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.grpc import hpack
from vault_plugin_litellm.sdk.grpc.hpack import Decoder, Header, HPACKError


def dehex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# -- C.1 integers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "prefix", "wire"),
    [
        (10, 5, "0a"),  # C.1.1
        (1337, 5, "1f9a0a"),  # C.1.2
        (42, 8, "2a"),  # C.1.3
        (31, 5, "1f00"),  # exactly the prefix maximum needs a continuation octet
        (127, 7, "7f00"),
        (128, 7, "7f01"),
    ],
)
def test_integer_examples(value: int, prefix: int, wire: str) -> None:
    assert hpack.encode_integer(value, prefix) == dehex(wire)
    assert hpack.decode_integer(dehex(wire), 0, prefix) == (value, len(dehex(wire)))


def test_integer_prefix_ignores_the_flag_bits() -> None:
    # The three high bits of a 5-bit prefix octet belong to the representation, not the value.
    assert hpack.decode_integer(dehex("ff9a0a"), 0, 5) == (1337, 3)
    assert hpack.encode_integer(1337, 5, 0xE0) == dehex("ff9a0a")


@given(st.integers(min_value=0, max_value=2**28), st.integers(min_value=1, max_value=8))
def test_integer_round_trip(value: int, prefix: int) -> None:
    wire = hpack.encode_integer(value, prefix)
    assert hpack.decode_integer(wire + b"\xaa", 0, prefix) == (value, len(wire))


# -- C.2 single representations -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("wire", "header", "table_size"),
    [
        (  # C.2.1 literal with incremental indexing, new name
            "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
            ("custom-key", "custom-header"),
            55,
        ),
        ("040c 2f73 616d 706c 652f 7061 7468", (":path", "/sample/path"), 0),  # C.2.2
        ("1008 7061 7373 776f 7264 0673 6563 7265 74", ("password", "secret"), 0),  # C.2.3
        ("82", (":method", "GET"), 0),  # C.2.4
    ],
)
def test_single_field_examples(wire: str, header: Header, table_size: int) -> None:
    decoder = Decoder()
    assert decoder.decode(dehex(wire)) == [header]
    assert decoder.table_size == table_size


# -- C.3 to C.6 sequences on one connection -----------------------------------------------------
REQUEST_1 = [
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
]
REQUEST_2 = [*REQUEST_1, ("cache-control", "no-cache")]
REQUEST_3 = [
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
]
RESPONSE_1 = [
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
]
RESPONSE_2 = [(":status", "307"), *RESPONSE_1[1:]]
RESPONSE_3 = [
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
]

C3 = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
]
C4 = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
]
C5 = [
    """4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
    2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
    6c65 2e63 6f6d""",
    "4803 3330 37c1 c0bf",
    """88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
    54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
    5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
    3d31""",
]
C6 = [
    """4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
    2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3""",
    "4883 640e ffc1 c0bf",
    """88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
    77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
    9587 3160 65c0 03ed 4ee5 b106 3d50 07""",
]
REQUEST_STEPS = [(REQUEST_1, 57), (REQUEST_2, 110), (REQUEST_3, 164)]
# 256-octet table: the third response evicts all but three entries.
RESPONSE_STEPS = [(RESPONSE_1, 222), (RESPONSE_2, 222), (RESPONSE_3, 215)]


@pytest.mark.parametrize(
    ("blocks", "steps", "table_limit"),
    [
        pytest.param(C3, REQUEST_STEPS, 4096, id="C.3-requests"),
        pytest.param(C4, REQUEST_STEPS, 4096, id="C.4-requests-huffman"),
        pytest.param(C5, RESPONSE_STEPS, 256, id="C.5-responses"),
        pytest.param(C6, RESPONSE_STEPS, 256, id="C.6-responses-huffman"),
    ],
)
def test_appendix_c_sequences(
    blocks: list[str], steps: list[tuple[list[Header], int]], table_limit: int
) -> None:
    decoder = Decoder(max_table_size=table_limit)
    for block, (headers, table_size) in zip(blocks, steps, strict=True):
        assert decoder.decode(dehex(block)) == headers
        assert decoder.table_size == table_size


def test_c5_eviction_leaves_the_newest_entries() -> None:
    decoder = Decoder(max_table_size=256)
    for block in C5:
        decoder.decode(dehex(block))
    # Dynamic indices 62.. are newest first: set-cookie, content-encoding, date.
    assert decoder.decode(dehex("be bf c0")) == [RESPONSE_3[5], RESPONSE_3[4], RESPONSE_3[2]]
    with pytest.raises(HPACKError, match="out of range"):
        decoder.decode(dehex("c1"))


def test_an_entry_larger_than_the_table_empties_it() -> None:
    decoder = Decoder(max_table_size=64)
    decoder.decode(hpack.encode_integer(0, 6, 0x40) + b"\x01a" + b"\x01b")  # 34 octets
    assert decoder.table_size == 34
    big = b"x" * 40
    decoder.decode(b"\x40\x01n" + bytes([len(big)]) + big)  # 73 octets > 64
    assert decoder.table_size == 0
    with pytest.raises(HPACKError):
        decoder.decode(dehex("be"))


def test_table_size_update_evicts_and_is_then_the_limit() -> None:
    decoder = Decoder()
    decoder.decode(dehex(C3[0]) + dehex(C3[1])[3:])  # two entries: 57 + 53
    assert decoder.table_size == 110
    decoder.decode(hpack.encode_integer(60, 5, 0x20))  # room for the newer entry only
    assert decoder.table_size == 53
    assert decoder.decode(dehex("be")) == [("cache-control", "no-cache")]
    decoder.decode(hpack.encode_integer(0, 5, 0x20) + hpack.encode_integer(4096, 5, 0x20))
    assert decoder.table_size == 0


# -- decoder errors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("80", "index 0"),
        ("be", "out of range"),  # dynamic index 62 with an empty table
        ("ff ff ff ff ff ff 0f", "too large"),  # an integer that does not end within 28 bits
        ("ff", "truncated inside an integer"),
        ("40", "truncated before a string"),
        ("41 05 6162", "truncated inside a string"),
        ("0f", "truncated inside an integer"),
        ("3fe21f", "exceeds 4096"),  # size update to 4097
        ("82 20", "after a header field"),
        ("41 81 00", "Huffman"),  # value 0x00: 8 bits that are no code
        ("41 84 ff ff ff ff", "EOS"),
    ],
)
def test_decoder_errors(wire: str, message: str) -> None:
    with pytest.raises(HPACKError, match=message):
        Decoder().decode(dehex(wire))


def test_header_list_size_limit() -> None:
    decoder = Decoder(max_header_list_size=100)
    block = hpack.encode_headers([("a", "x" * 30), ("b", "y" * 30)])  # 63 + 63 octets
    with pytest.raises(HPACKError, match="header list"):
        decoder.decode(block)


# -- the encoder --------------------------------------------------------------------------------
def test_encoder_uses_static_indices_and_never_indexes() -> None:
    assert hpack.encode_headers([(":method", "POST")]) == b"\x83"
    assert hpack.encode_headers([(":status", "200")]) == b"\x88"
    # content-type (static 31) with a literal value, "without indexing": 0000 1111 + 16.
    assert hpack.encode_header("content-type", "x") == b"\x0f\x10\x01x"
    assert hpack.encode_header("grpc-status", "0")[0] == 0  # new name, without indexing
    decoder = Decoder()
    decoder.decode(hpack.encode_headers([("content-type", "x"), ("new-name", "v")]))
    assert decoder.table_size == 0


latin1_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=300)
header_name = st.one_of(
    st.sampled_from([name for name, _ in hpack.STATIC_TABLE]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=40),
)
headers_strategy = st.lists(
    st.tuples(
        header_name,
        st.one_of(st.sampled_from([value for _, value in hpack.STATIC_TABLE]), latin1_text),
    ),
    max_size=20,
)


@settings(max_examples=150)
@given(headers_strategy)
def test_encoder_output_always_decodes_to_the_same_headers(headers: list[Header]) -> None:
    decoder = Decoder()
    assert decoder.decode(hpack.encode_headers(headers)) == headers
    assert decoder.decode(hpack.encode_headers(headers)) == headers  # no state between blocks


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_random_input_raises_nothing_but_hpack_errors(data: bytes) -> None:
    decoder = Decoder()
    with contextlib.suppress(HPACKError):
        decoder.decode(data)
    # Whatever was accepted must leave a consistent table.
    assert 0 <= decoder.table_size <= 4096


@settings(max_examples=150)
@given(st.lists(st.binary(max_size=60), min_size=1, max_size=5))
def test_random_block_sequences_keep_the_table_within_its_limit(blocks: list[bytes]) -> None:
    decoder = Decoder(max_table_size=256)
    for block in blocks:
        try:
            decoder.decode(block)
        except HPACKError:
            continue
        assert decoder.table_size <= 256
