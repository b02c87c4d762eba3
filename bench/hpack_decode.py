"""Benchmark HPACK Huffman decoding: ``uv run python bench/hpack_decode.py``.

Prints microseconds per KiB of Huffman-coded input for our decoder (``sdk.grpc.huffman``) next to
python-hyper's ``hpack`` package, and their ratio, for inputs from 1 KiB to 55 KiB (the size of
the header block that once blocked the event loop for seconds). A linear decoder's us/KiB stays
flat as the input grows. Then the same for whole header blocks (``sdk.grpc.hpack.Decoder``
against ``hpack.Decoder``), and for the short values a host sends on every call.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hpack
from hpack.huffman_table import decode_huffman
from vault_plugin_litellm.sdk.grpc import hpack as ours_hpack
from vault_plugin_litellm.sdk.grpc import huffman

SIZES = (1 << 10, 8 << 10, 55_000)
HEADER_TEXT = b"abcdefghijklmnopqrstuvwxyz0123456789-_./:=ABCDEFXYZ"


def best_seconds(func: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


def corpus(kind: str, size: int, rng: random.Random) -> bytes:
    """About ``size`` octets once Huffman-coded (cut on a symbol boundary)."""
    alphabet = HEADER_TEXT if kind == "header text" else bytes(range(256))
    text = bytes(rng.choice(alphabet) for _ in range(size * 2))  # codes are >= 5 bits
    coded = huffman.encode(text)
    # The code lengths tell where to cut: keep the symbols whose bits fit ``size`` octets.
    lengths = huffman.CODE_LENGTHS
    bits = 0
    for n, octet in enumerate(text):
        bits += lengths[octet]
        if bits > size * 8:
            coded = huffman.encode(text[:n])
            break
    return coded


def row(label: str, size: int, ours: float, theirs: float) -> None:
    kib = size / 1024
    print(
        f"  {label:<14} {size:>7,} B   ours {ours * 1e6 / kib:8.1f} us/KiB   "
        f"hpack {theirs * 1e6 / kib:8.1f} us/KiB   ratio {theirs / ours:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    huffman.decode(b"")  # build the lazy table outside the timings

    print("Huffman strings (decode only; 'ratio' = hpack time / our time)")
    for kind in ("header text", "random octets"):
        for size in SIZES:
            coded = corpus(kind, size, rng)
            assert huffman.decode(coded) == decode_huffman(coded)
            number = max(1, 200_000 // size)
            ours = best_seconds(functools.partial(huffman.decode, coded), number, args.repeat)
            theirs = best_seconds(functools.partial(decode_huffman, coded), number, args.repeat)
            row(kind, len(coded), ours, theirs)

    print("\nHeader blocks (one Huffman-coded literal field, fresh decoder state)")
    for size in SIZES:
        coded = corpus("header text", size - 16, rng)
        block = b"\x00\x05x-big" + ours_hpack.encode_integer(len(coded), 7, 0x80) + coded

        def decode_ours(b: bytes = block) -> object:
            return ours_hpack.Decoder(max_header_list_size=1 << 20).decode(b)

        def decode_theirs(b: bytes = block) -> object:
            return hpack.Decoder(max_header_list_size=1 << 20).decode(b, raw=True)

        number = max(1, 200_000 // size)
        row("block", len(block), best_seconds(decode_ours, number, args.repeat),
            best_seconds(decode_theirs, number, args.repeat))  # fmt: skip

    print("\nPer call: a grpc-timeout value as grpc-go sends it ('89999987u', Huffman-coded)")
    short = huffman.encode(b"89999987u")
    ours = best_seconds(lambda: huffman.decode(short), 50_000, args.repeat)
    theirs = best_seconds(lambda: decode_huffman(short), 50_000, args.repeat)
    print(f"  ours {ours * 1e6:.2f} us   hpack {theirs * 1e6:.2f} us   ratio {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
