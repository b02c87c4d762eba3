"""HPACK's static Huffman code (RFC 7541, Appendix B), decoding only.

The code is canonical: within each length, codes are consecutive in symbol order, so the bit
length of every symbol (0-255 plus EOS = 256) determines the whole table. The lengths below are
the RFC's; tests check the derived codes against the RFC's published codes and examples.
"""

from __future__ import annotations

import functools

# Code length in bits of each symbol 0..256, in symbol order.
CODE_LENGTHS: tuple[int, ...] = (
    # 0-31: control characters
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    # 32-63: ' ' .. '?'
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    # 64-95: '@' .. '_'
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    # 96-127: '`' .. DEL
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    # 128-255
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    # 256: EOS
    30,
)  # fmt: skip

EOS = 256


class HuffmanError(ValueError):
    pass


def canonical_codes(lengths: tuple[int, ...] = CODE_LENGTHS) -> list[tuple[int, int]]:
    """``(code, length)`` per symbol, assigned canonically from the lengths."""
    order = sorted(range(len(lengths)), key=lambda sym: (lengths[sym], sym))
    codes: list[tuple[int, int]] = [(0, 0)] * len(lengths)
    code = 0
    prev_len = lengths[order[0]]
    for sym in order:
        length = lengths[sym]
        code <<= length - prev_len
        prev_len = length
        codes[sym] = (code, length)
        code += 1
    return codes


@functools.cache
def _codes() -> list[tuple[int, int]]:
    return canonical_codes()


@functools.cache
def _tables() -> tuple[dict[tuple[int, int], int], list[int]]:
    """The decode table keyed by ``(code, length)``, and the lengths that occur.

    Built on first use: most header blocks from grpc-go are indexed fields with no Huffman
    strings at all, and a plugin's start-up should not pay for the table.
    """
    table = {(code, length): sym for sym, (code, length) in enumerate(canonical_codes())}
    return table, sorted(set(CODE_LENGTHS))


def decode(data: bytes) -> bytes:
    """Decode a Huffman-coded HPACK string, enforcing the RFC's padding rules."""
    out = bytearray()
    value = int.from_bytes(data, "big")
    total = len(data) * 8
    pos = 0  # bits consumed
    table, lengths = _tables()
    while total - pos >= lengths[0]:
        for length in lengths:
            if length > total - pos:
                break
            code = (value >> (total - pos - length)) & ((1 << length) - 1)
            sym = table.get((code, length))
            if sym is not None:
                if sym == EOS:
                    raise HuffmanError("EOS symbol inside a Huffman-coded string")
                out.append(sym)
                pos += length
                break
        else:
            break
        if sym is None:
            break
    rest = total - pos
    if rest > 7:
        raise HuffmanError("invalid Huffman code")
    if rest and (value & ((1 << rest) - 1)) != (1 << rest) - 1:
        raise HuffmanError("Huffman padding is not a prefix of EOS")
    return bytes(out)


def encode(data: bytes) -> bytes:
    """Huffman-code ``data`` (used by tests and by peers' encoders we emulate)."""
    acc = 0
    nbits = 0
    codes = _codes()
    for byte in data:
        code, length = codes[byte]
        acc = (acc << length) | code
        nbits += length
    pad = -nbits % 8
    acc = (acc << pad) | ((1 << pad) - 1)
    nbits += pad
    return acc.to_bytes(nbits // 8, "big")
