"""HPACK's static Huffman code (RFC 7541, Appendix B): a linear-time decoder, and an encoder.

The code is canonical: within each length, codes are consecutive in symbol order, so the bit
length of every symbol (0-255 plus EOS = 256) determines the whole table. The lengths below are
the RFC's; tests check the derived codes against the RFC's published codes and examples.

Decoding runs a state machine over 4-bit nibbles (two table look-ups per octet), so its cost
is linear in the input: a peer's long Huffman-coded header cannot stall the event loop (a
55 KB block once took seconds with a decoder that shifted one big integer per symbol).
``bench/hpack_decode.py`` compares it with python-hyper's ``hpack``.
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


class _Table:
    """The decoder as a state machine driven by 4-bit nibbles.

    A state is an internal node of the code tree: the bits read since the last symbol. Each
    (state, nibble) pair has one transition: the next state, and the symbol completed on the
    way, if any. Codes are at least 5 bits long, so a nibble completes at most one symbol, and
    decoding costs two table look-ups per input octet whatever the input: linear time.

    States are stored pre-multiplied by 16 so that ``state + nibble`` indexes the flat lists.
    """

    __slots__ = ("accepting", "bad_padding", "next", "symbol")

    def __init__(self, codes: list[tuple[int, int]]) -> None:
        # The code tree: children[node] = [zero, one]; a leaf is stored as ~symbol (negative).
        children: list[list[int]] = [[0, 0]]
        ones_path = [True]  # whether the node is reached by ones only (a prefix of EOS)
        depth = [0]
        for sym, (code, length) in enumerate(codes):
            node = 0
            for i in range(length - 1, -1, -1):
                bit = (code >> i) & 1
                if i == 0:
                    children[node][bit] = ~sym
                    break
                nxt = children[node][bit]
                if nxt == 0:
                    nxt = len(children)
                    children.append([0, 0])
                    ones_path.append(ones_path[node] and bit == 1)
                    depth.append(depth[node] + 1)
                    children[node][bit] = nxt
                node = nxt
        count = len(children)
        self.next = [0] * (count * 16)
        # -1: no symbol completed; 256 (EOS) makes ``bytearray.append`` fail, which is the
        # error the RFC asks for at no cost on the common path.
        self.symbol = [-1] * (count * 16)
        for state in range(count):
            for nibble in range(16):
                node = state
                emitted = -1
                for i in (3, 2, 1, 0):
                    child = children[node][(nibble >> i) & 1]
                    if child < 0:
                        emitted = ~child
                        node = 0
                        if emitted == EOS:
                            break
                    else:
                        node = child
                index = state * 16 + nibble
                self.next[index] = node * 16
                self.symbol[index] = emitted
        # Where a string may end: on a symbol boundary, or inside at most 7 bits of padding,
        # which must be the start of EOS (all ones).
        self.accepting = frozenset(
            state * 16 for state in range(count) if ones_path[state] and depth[state] < 8
        )
        self.bad_padding = frozenset(
            state * 16 for state in range(count) if not ones_path[state] and depth[state] < 8
        )


@functools.cache
def _table() -> _Table:
    """Built on first use (a few milliseconds): most header blocks from grpc-go are indexed
    fields with no Huffman strings at all, and a plugin's start-up should not pay for it."""
    return _Table(canonical_codes())


def decode(data: bytes | bytearray | memoryview) -> bytes:
    """Decode a Huffman-coded HPACK string, enforcing the RFC's padding rules.

    Linear in ``len(data)``: two table look-ups per octet, no big integers.
    """
    table = _table()
    nxt = table.next
    symbol = table.symbol
    out = bytearray()
    append = out.append
    state = 0
    try:
        for octet in data:
            index = state + (octet >> 4)
            sym = symbol[index]
            if sym >= 0:
                append(sym)
            index = nxt[index] + (octet & 15)
            sym = symbol[index]
            if sym >= 0:
                append(sym)
            state = nxt[index]
    except ValueError:  # append(256): the EOS symbol was decoded
        raise HuffmanError("EOS symbol inside a Huffman-coded string") from None
    if state not in table.accepting:
        if state in table.bad_padding:
            raise HuffmanError("Huffman padding is not a prefix of EOS")
        raise HuffmanError("invalid Huffman code: more than 7 bits of padding")
    return bytes(out)


def encode(data: bytes) -> bytes:
    """Huffman-code ``data`` (used by tests and by peers' encoders we emulate); linear time."""
    out = bytearray()
    acc = 0
    nbits = 0
    codes = _codes()
    for byte in data:
        code, length = codes[byte]
        acc = (acc << length) | code
        nbits += length
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1
    if nbits:  # pad with the most significant bits of EOS (ones)
        out.append(((acc << (8 - nbits)) | ((1 << (8 - nbits)) - 1)) & 0xFF)
    return bytes(out)
